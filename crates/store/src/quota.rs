//! The cross-province quota's rows (R-N3) as both backends store them: the statements
//! (SQLite numbers its parameters `?1`, PostgreSQL `$1`; otherwise the same) and the
//! decoding of what they read back, so the two backends cannot drift apart.

use gongji_core::codes::Relationship;
use gongji_core::quota::{Direction, QuotaBindingStatus, QuotaParties, QuotaSide, SentState};
use gongji_core::Fen;

use crate::batch::{QuotaAppliedRow, QuotaBindingRow, QuotaSentRow, QuotaSpendRow};
use crate::codec;
use crate::StoreError;

macro_rules! both {
    ($sqlite:ident, $pg:ident, $head:literal, $n:tt, $tail:literal) => {
pub(crate) const $sqlite: &str = concat!($head, both!(@q $n), $tail);
pub(crate) const $pg: &str = concat!($head, both!(@d $n), $tail);
    };
    (@q 9) => {
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    };
    (@d 9) => {
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    };
    (@q 11) => {
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    };
    (@d 11) => {
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    };
    (@q 14) => {
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    };
    (@d 14) => {
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    };
}

both!(
    BINDING_SQLITE,
    BINDING_PG,
    "INSERT INTO quota_bindings (holder_province, holder_psn_no, relative_province,
         relative_psn_no, side, relationship, begin_date, end_date, status, created_at,
         updated_at) ",
    11,
    " ON CONFLICT (holder_province, holder_psn_no, relative_province, relative_psn_no)
      DO UPDATE SET side = excluded.side, relationship = excluded.relationship,
         begin_date = excluded.begin_date, end_date = excluded.end_date,
         status = excluded.status, updated_at = excluded.updated_at"
);

both!(
    SENT_SQLITE,
    SENT_PG,
    "INSERT INTO quota_sent (transfer_id, direction, holder_province, holder_psn_no,
         relative_province, relative_psn_no, amount_fen, state, entry_id, release_entry_id,
         attempts, last_error, created_at, updated_at) ",
    14,
    " ON CONFLICT (transfer_id) DO UPDATE SET state = excluded.state,
         release_entry_id = excluded.release_entry_id, attempts = excluded.attempts,
         last_error = excluded.last_error, updated_at = excluded.updated_at"
);

both!(
    APPLIED_SQLITE,
    APPLIED_PG,
    "INSERT INTO quota_applied (transfer_id, direction, holder_province, holder_psn_no,
         relative_province, relative_psn_no, amount_fen, entry_id, refusal_code, refusal_zh,
         applied_at) ",
    11,
    ""
);

both!(
    SPEND_SQLITE,
    SPEND_PG,
    "INSERT INTO quota_spends (entry_id, setl_id, holder_province, holder_psn_no,
         relative_province, relative_psn_no, fixmedins_code, amount_fen, spent_at) ",
    9,
    ""
);

macro_rules! sent_cols {
    () => {
        "SELECT transfer_id, direction, holder_province, holder_psn_no, relative_province,
             relative_psn_no, amount_fen, state, entry_id, release_entry_id, attempts,
             last_error, created_at, updated_at
         FROM quota_sent"
    };
}
macro_rules! applied_cols {
    () => {
        "SELECT transfer_id, direction, holder_province, holder_psn_no, relative_province,
             relative_psn_no, amount_fen, entry_id, refusal_code, refusal_zh, applied_at
         FROM quota_applied"
    };
}
macro_rules! spend_cols {
    () => {
        "SELECT entry_id, setl_id, holder_province, holder_psn_no, relative_province,
             relative_psn_no, fixmedins_code, amount_fen, spent_at
         FROM quota_spends"
    };
}

/// Read back in the column order of the inserts.
pub(crate) const SELECT_BINDINGS: &str = "SELECT holder_province, holder_psn_no,
        relative_province, relative_psn_no, side, relationship, begin_date, end_date, status,
        created_at, updated_at
    FROM quota_bindings ORDER BY holder_province, holder_psn_no, relative_province,
        relative_psn_no";
pub(crate) const SELECT_SENT: &str = concat!(sent_cols!(), " ORDER BY entry_id, transfer_id");
pub(crate) const SELECT_APPLIED: &str =
    concat!(applied_cols!(), " ORDER BY applied_at, transfer_id");
pub(crate) const SELECT_SPENDS: &str = concat!(
    spend_cols!(),
    " ORDER BY entry_id, holder_province, holder_psn_no, relative_province, relative_psn_no"
);

/// The rows the journal entries `$1..=$2` record, for the chain (see `chain.rs`).
pub(crate) const SENT_OF_ENTRIES_SQLITE: &str =
    concat!(sent_cols!(), " WHERE entry_id >= ?1 AND entry_id <= ?2");
pub(crate) const SENT_OF_ENTRIES_PG: &str =
    concat!(sent_cols!(), " WHERE entry_id >= $1 AND entry_id <= $2");
pub(crate) const APPLIED_OF_ENTRIES_SQLITE: &str =
    concat!(applied_cols!(), " WHERE entry_id >= ?1 AND entry_id <= ?2");
pub(crate) const APPLIED_OF_ENTRIES_PG: &str =
    concat!(applied_cols!(), " WHERE entry_id >= $1 AND entry_id <= $2");
pub(crate) const SPENDS_OF_ENTRIES_SQLITE: &str =
    concat!(spend_cols!(), " WHERE entry_id >= ?1 AND entry_id <= ?2");
pub(crate) const SPENDS_OF_ENTRIES_PG: &str =
    concat!(spend_cols!(), " WHERE entry_id >= $1 AND entry_id <= $2");

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

fn province(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v)
        .ok()
        .filter(|p| (11..=82).contains(p))
        .ok_or_else(|| corrupt("province", &v.to_string()))
}

pub(crate) fn parties(hp: i64, h: String, rp: i64, r: String) -> Result<QuotaParties, StoreError> {
    Ok(QuotaParties {
        holder_province: province(hp)?,
        holder_psn_no: h,
        relative_province: province(rp)?,
        relative_psn_no: r,
    })
}

fn direction(s: &str) -> Result<Direction, StoreError> {
    Direction::parse(s).ok_or_else(|| corrupt("quota direction", s))
}

/// The columns of `quota_bindings`, in `SELECT_BINDINGS` order.
pub(crate) struct BindingCols {
    pub parties: QuotaParties,
    pub side: String,
    pub relationship: String,
    pub begin: String,
    pub end: Option<String>,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn binding(c: BindingCols) -> Result<QuotaBindingRow, StoreError> {
    Ok(QuotaBindingRow {
        parties: c.parties,
        side: QuotaSide::parse(&c.side).ok_or_else(|| corrupt("quota side", &c.side))?,
        relationship: Relationship::parse(&c.relationship)
            .ok_or_else(|| corrupt("relationship", &c.relationship))?,
        begin: codec::date(&c.begin)?,
        end: c.end.as_deref().map(codec::date).transpose()?,
        status: QuotaBindingStatus::parse(&c.status)
            .ok_or_else(|| corrupt("quota binding status", &c.status))?,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

/// The columns of `quota_sent`, in `SELECT_SENT` order.
pub(crate) struct SentCols {
    pub transfer_id: String,
    pub direction: String,
    pub parties: QuotaParties,
    pub amount: i64,
    pub state: String,
    pub entry_id: i64,
    pub release_entry_id: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn sent(c: SentCols) -> Result<QuotaSentRow, StoreError> {
    Ok(QuotaSentRow {
        direction: direction(&c.direction)?,
        state: SentState::parse(&c.state).ok_or_else(|| corrupt("quota state", &c.state))?,
        attempts: u32::try_from(c.attempts)
            .map_err(|_| corrupt("attempts", &c.attempts.to_string()))?,
        transfer_id: c.transfer_id,
        parties: c.parties,
        amount: Fen::from_fen(c.amount),
        entry_id: c.entry_id,
        release_entry_id: c.release_entry_id,
        last_error: c.last_error,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

/// The columns of `quota_applied`, in `SELECT_APPLIED` order.
pub(crate) struct AppliedCols {
    pub transfer_id: String,
    pub direction: String,
    pub parties: QuotaParties,
    pub amount: i64,
    pub entry_id: Option<i64>,
    pub refusal_code: Option<String>,
    pub refusal_zh: Option<String>,
    pub at: String,
}

pub(crate) fn applied(c: AppliedCols) -> Result<QuotaAppliedRow, StoreError> {
    Ok(QuotaAppliedRow {
        direction: direction(&c.direction)?,
        transfer_id: c.transfer_id,
        parties: c.parties,
        amount: Fen::from_fen(c.amount),
        entry_id: c.entry_id,
        refusal_code: c.refusal_code,
        refusal_zh: c.refusal_zh,
        at: c.at,
    })
}

/// The columns of `SELECT_SPENDS`.
pub(crate) struct SpendCols {
    pub entry_id: i64,
    pub setl_id: String,
    pub parties: QuotaParties,
    pub fixmedins_code: String,
    pub amount: i64,
    pub at: String,
}

pub(crate) fn spend(c: SpendCols) -> QuotaSpendRow {
    QuotaSpendRow {
        entry_id: c.entry_id,
        setl_id: c.setl_id,
        parties: c.parties,
        fixmedins_code: c.fixmedins_code,
        amount: Fen::from_fen(c.amount),
        at: c.at,
    }
}
