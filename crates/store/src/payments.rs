//! What the collection of premiums through payment channels keeps beside the journal
//! (migration 0025): the orders made with providers and the collecting agents. Whether an
//! order was paid, kept or refunded is the journal's, never a column here.

use gongji_core::Fen;

/// An order made with a payment provider, before any money moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentOrderRow {
    pub order_id: String,
    /// The provider's code (`dev`, `test`, `hmac`...).
    pub provider: String,
    /// `gongji_core::collection::PaymentChannel::code`.
    pub channel: String,
    /// Whose premium it pays.
    pub psn_no: String,
    /// The signed-in person who made it (himself, or a holder for a relative).
    pub payer_psn_no: Option<String>,
    pub agent_id: Option<String>,
    pub year: i32,
    /// `gongji_core::premium::PremiumKind::code`.
    pub kind: String,
    /// The registry's category when the order was made.
    pub category: String,
    /// What is owed: the registry's amount, never the payer's.
    pub amount: Fen,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
}

/// A collecting agent (代收点) registered by staff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRow {
    pub agent_id: String,
    pub name: String,
    /// The region it collects in; it pays only for persons insured there (R-R4).
    pub admdvs: String,
    /// `village_committee`, `bank_branch`, `school`, `other`.
    pub kind: String,
    /// SHA-256 of its API token, lowercase hex.
    pub token_sha256: String,
    pub added_by: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub added_at: String,
}

/// A posting on an agent's clearing account, with the premium it paid (none for a refund).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPostingRow {
    pub entry_id: i64,
    /// The journal entry's kind: `premium` or `premium_refund`.
    pub entry_kind: String,
    /// The journal entry's time, `yyyy-MM-dd HH:mm:ss`.
    pub occurred_at: String,
    /// The posting on the agent's clearing account (negative: money collected).
    pub posting: Fen,
    pub psn_no: Option<String>,
    pub category: Option<String>,
    /// The premium row's amount, for a kept premium.
    pub premium_amount: Option<Fen>,
    /// The tax collection time the payment carried (RFC 3339).
    pub paid_at: Option<String>,
}

pub(crate) const SQL_PUT_ORDER: &str = "INSERT INTO payment_orders (order_id, provider, channel,
        psn_no, payer_psn_no, agent_id, year, kind, category, amount_fen, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
pub(crate) const SQL_ORDER: &str = "SELECT order_id, provider, channel, psn_no, payer_psn_no,
        agent_id, year, kind, category, amount_fen, created_at
    FROM payment_orders WHERE order_id = ?1";
pub(crate) const SQL_PUT_AGENT: &str = "INSERT INTO collecting_agents (agent_id, name, admdvs,
        kind, token_sha256, added_by, added_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
pub(crate) const SQL_AGENTS: &str = "SELECT agent_id, name, admdvs, kind, token_sha256,
        added_by, added_at
    FROM collecting_agents ORDER BY agent_id";
pub(crate) const SQL_AGENT_BY_TOKEN: &str = "SELECT agent_id, name, admdvs, kind, token_sha256,
        added_by, added_at
    FROM collecting_agents WHERE token_sha256 = ?1";
pub(crate) const SQL_AGENT_POSTINGS: &str = "SELECT j.entry_id, j.kind, j.occurred_at,
        p.amount_fen, pr.relative_psn_no, pr.category, pr.amount_fen, pr.paid_at
    FROM postings p
    JOIN journal j ON j.entry_id = p.entry_id
    LEFT JOIN premiums pr ON pr.entry_id = p.entry_id
    WHERE p.account_key = ?1 AND j.occurred_at >= ?2 AND j.occurred_at < ?3
    ORDER BY j.entry_id";

// The same statements in PostgreSQL's placeholders.
pub(crate) const PG_PUT_ORDER: &str = "INSERT INTO payment_orders (order_id, provider, channel,
        psn_no, payer_psn_no, agent_id, year, kind, category, amount_fen, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub(crate) const PG_ORDER: &str = "SELECT order_id, provider, channel, psn_no, payer_psn_no,
        agent_id, year, kind, category, amount_fen, created_at
    FROM payment_orders WHERE order_id = $1";
pub(crate) const PG_PUT_AGENT: &str = "INSERT INTO collecting_agents (agent_id, name, admdvs,
        kind, token_sha256, added_by, added_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const PG_AGENTS: &str = "SELECT agent_id, name, admdvs, kind, token_sha256,
        added_by, added_at
    FROM collecting_agents ORDER BY agent_id";
pub(crate) const PG_AGENT_BY_TOKEN: &str = "SELECT agent_id, name, admdvs, kind, token_sha256,
        added_by, added_at
    FROM collecting_agents WHERE token_sha256 = $1";
pub(crate) const PG_AGENT_POSTINGS: &str = "SELECT j.entry_id, j.kind, j.occurred_at,
        p.amount_fen, pr.relative_psn_no, pr.category, pr.amount_fen, pr.paid_at
    FROM postings p
    JOIN journal j ON j.entry_id = p.entry_id
    LEFT JOIN premiums pr ON pr.entry_id = p.entry_id
    WHERE p.account_key = $1 AND j.occurred_at >= $2 AND j.occurred_at < $3
    ORDER BY j.entry_id";
