//! Reads for people, staff and reports: a person's records, the year's totals, phone and
//! person lookups, the mutual-aid report, staff accounts, recovery cases, commitment letters
//! and the audit log.
//!
//! A separate trait from [`Store`], so a backend implements the engine's writes and loads
//! first and these reads when it serves the REST API. Every list is bounded by a named
//! maximum; nothing here writes, except `add_staff` and `add_operator`, which `gongji staff
//! add` and `gongji operator add` call on rows the engine does not keep in memory (staff and
//! operator rows are not engine state), and the sign-in sessions (`insert_session` ...), which
//! are not engine state either: every server process on the database reads and writes them
//! directly, so a session survives a restart and a sign-out ends it everywhere.

use std::sync::Arc;

use gongji_core::pii::PiiField;
use gongji_core::Fen;
use rusqlite::{params, OptionalExtension, ToSql};

use crate::batch::{AuditRow, CommitmentRow, RecoveryCaseRow};
use crate::payments::{self, AgentPostingRow, AgentRow, PaymentOrderRow};
pub use crate::reviews::ReviewRow;
use crate::rows::{
    agent_of, audit_row_of, bubao_of, proxy_consent_of, recovery_case_of, review_of, withheld_of,
    Cols,
};
use crate::sqlite::{io, SqliteStore};
use crate::{Store, StoreError};

/// Most rows any list read returns.
pub const PAGE_SIZE_MAX: u32 = 200;
/// Most rows a report returns (days × divisions × institution kinds).
pub const REPORT_ROWS_MAX: u32 = 10_000;

/// A person's records (R-J1, issue 4): every movement of their own account, and the
/// mutual-aid and premium payments others' accounts made for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordQuery {
    pub psn_no: String,
    /// `yyyy-MM-dd`, inclusive.
    pub from: Option<String>,
    /// `yyyy-MM-dd`, inclusive.
    pub to: Option<String>,
    /// A journal kind: `settle`, `cancel`, `premium`, `opening`, `recovery`.
    pub kind: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// One posting seen from a person's records, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    pub entry_id: i64,
    pub seq: i64,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub occurred_at: String,
    pub kind: String,
    pub rule: String,
    /// Whose personal account the posting moved.
    pub account_psn_no: String,
    pub amount: Fen,
    pub balance_after: Fen,
    pub explanation: String,
    pub summary: String,
    /// The person the entry is about: the patient of a settlement, the holder of a premium.
    pub entry_psn_no: Option<String>,
    pub fixmedins_code: Option<String>,
    pub fixmedins_name: Option<String>,
    pub channel: String,
    /// For premium entries: whom the premium was paid for.
    pub premium_for: Option<String>,
    pub reverses_entry: Option<i64>,
    pub reversed_by: Option<i64>,
}

/// What a person's money did in a year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YearTotals {
    /// Settlements of the person (cancelled ones excluded).
    pub settlements: i64,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    /// Paid from personal accounts, own and mutual aid.
    pub acct_pay: Fen,
    /// Of which others' accounts paid by mutual aid.
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
    /// Net outflow of the person's own account for their own care.
    pub own_account_spent: Fen,
    /// Net outflow of the person's own account for relatives' care (as holder).
    pub mutual_aid_given: Fen,
    /// Premiums the person's account paid for relatives.
    pub premiums_paid: Fen,
}

/// The mutual-aid report: uses by division, day and institution kind, net of cancelled
/// settlements (left out) and of repaid recoveries (subtracted from their settlement's row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    /// `yyyy-MM-dd`, inclusive.
    pub from: String,
    pub to: String,
    /// A division prefix: `37` a province, `3703` a city, `370303` a district; empty = all.
    pub admdvs_prefix: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    pub admdvs: String,
    /// `yyyy-MM-dd`.
    pub day: String,
    /// `fixmedins_type` (`1` medical, `2` pharmacy) or `premium` for premiums paid.
    pub kind: String,
    pub uses: i64,
    /// Distinct persons whose costs or premiums mutual aid paid.
    pub persons: i64,
    pub amount: Fen,
}

/// How the collection report (issue 13) groups the residents' premiums of a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionGroup {
    /// The insured person's division (`persons.admdvs`).
    Region,
    /// The contribution category the premium was paid in.
    Category,
    /// The payment channel (`premiums.channel`).
    Channel,
    /// The collecting agent; empty for payments no agent made.
    Agent,
}

impl CollectionGroup {
    pub const ALL: &'static [CollectionGroup] = &[
        CollectionGroup::Region,
        CollectionGroup::Category,
        CollectionGroup::Channel,
        CollectionGroup::Agent,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            CollectionGroup::Region => "region",
            CollectionGroup::Category => "category",
            CollectionGroup::Channel => "channel",
            CollectionGroup::Agent => "agent",
        }
    }

    pub fn parse(code: &str) -> Option<CollectionGroup> {
        Self::ALL.iter().copied().find(|g| g.code() == code.trim())
    }
}

/// One group's residents' premiums of one benefit year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionRow {
    pub year: i32,
    /// The division, category, channel or agent code; empty when the premium has none.
    pub group: String,
    /// Distinct persons paid for.
    pub persons: i64,
    pub amount: Fen,
}

/// The collection report of a benefit year and the year before, per group (both backends:
/// the placeholders are the year and the grouping's code). Only kept premiums have rows; a
/// refunded duplicate has none.
macro_rules! collection_report_sql {
    ($year:literal, $by:literal) => {
        concat!(
            "SELECT CAST(pr.year AS BIGINT) AS yr,
                    CASE ",
            $by,
            " WHEN 'region' THEN COALESCE(p.admdvs, '')
                        WHEN 'category' THEN pr.category
                        WHEN 'channel' THEN pr.channel
                        ELSE COALESCE(pr.agent_id, '') END AS grp,
                    COUNT(DISTINCT pr.relative_psn_no) AS persons,
                    CAST(SUM(pr.amount_fen) AS BIGINT) AS amount
             FROM premiums pr LEFT JOIN persons p ON p.psn_no = pr.relative_psn_no
             WHERE pr.kind = 'resident_premium' AND (pr.year = ",
            $year,
            " OR pr.year = ",
            $year,
            " - 1)
             GROUP BY yr, grp"
        )
    };
}
pub(crate) const SQL_COLLECTION_REPORT: &str = collection_report_sql!("?1", "?2");
pub(crate) const PG_COLLECTION_REPORT: &str = collection_report_sql!("$1", "$2");

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRow {
    pub username: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// `clerk`, `auditor`, `admin`.
    pub role: String,
    pub created_at: String,
}

/// A till operator: signs in to `/terminal` and acts as its institution only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorRow {
    pub fixmedins_code: String,
    pub username: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub created_at: String,
}

/// An app partner of the 国密 envelope (`gongji partner add`): who it is, the channel its
/// requests are recorded under (R-Y5), its secret as stored (sealed `sm4gcm:...` under the
/// token key, or as given without one) and its SM2 public key (`04`‖x‖y hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPartnerRow {
    pub app_code: String,
    pub name: String,
    /// `wechat`, `alipay` or `aishandong`.
    pub channel: String,
    pub app_secret: String,
    pub public_key: String,
    pub active: bool,
    pub created_at: String,
}

/// A sign-in session as stored: the SHA-256 of its token (never the token), whose it is,
/// and its times (`yyyy-MM-dd HH:mm:ss` of the server clock).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRow {
    /// Hex SHA-256 of the bearer token.
    pub token_sha256: String,
    /// `person`, `staff` or `operator`.
    pub kind: String,
    pub psn_no: Option<String>,
    /// A staff member's or a till operator's username.
    pub username: Option<String>,
    /// A staff member's role.
    pub role: Option<String>,
    /// A till operator's institution.
    pub fixmedins_code: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

/// 亲情账户 (E6): a parent's consent that one child may show his e-voucher (`token`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConsentRow {
    pub token: String,
    pub parent_psn_no: String,
    pub child_psn_no: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub given_at: String,
    pub revoked_at: Option<String>,
}

/// One payment a holder's account made for a relative by mutual aid (not cancelled): what
/// a recovery case (追回) is opened against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutualAidPaymentRow {
    pub setl_id: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub occurred_at: String,
    pub fixmedins_code: String,
    /// What the holder's account paid (positive).
    pub amount: Fen,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryQuery {
    /// `open` or `repaid`; `None` = both.
    pub status: Option<String>,
    /// Cases where this person is the holder or the relative.
    pub psn_no: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub subject: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub audit_id: i64,
    pub row: AuditRow,
}

/// Reads behind the REST API and the pages.
/// One premium paid for a person (R-R7): what, how much, through which channel, when, by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PremiumPayment {
    pub relative_psn_no: String,
    pub year: i32,
    /// `resident_premium`, `large_expense_premium`, `ltc_premium`.
    pub kind: String,
    pub entry_id: i64,
    /// Who paid: the holder whose account paid, or the person himself.
    pub payer_psn_no: String,
    pub category: String,
    pub amount: Fen,
    /// `personal_account`, `wechat`, `alipay`, `unionpay`, `pos`, `bank_app`, `agent`, `dev`.
    pub channel: String,
    /// The collecting agent, for `agent` payments.
    pub agent_id: Option<String>,
    /// When it was paid: the provider's payment time (RFC 3339) or the journal entry's
    /// (`yyyy-MM-dd HH:mm:ss`); both begin with the date.
    pub paid_at: String,
}

impl PremiumPayment {
    /// The day it was paid, `yyyy-MM-dd`.
    pub fn paid_on(&self) -> &str {
        self.paid_at.get(..10).unwrap_or(&self.paid_at)
    }
}

/// A settlement whose fund shares were held back (R-R2) and not yet paid by 补报.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithheldSettlement {
    pub setl_id: String,
    pub psn_no: String,
    pub admdvs: String,
    pub year: i32,
    pub setl_date: String,
    pub cancelled: bool,
    /// In seq order.
    pub lines: Vec<crate::batch::WithheldRow>,
}

impl WithheldSettlement {
    /// Groups rows read in (setl_id, seq) order, each with its settlement's cancel flag.
    pub(crate) fn group(rows: Vec<(crate::batch::WithheldRow, bool)>) -> Vec<WithheldSettlement> {
        let mut out: Vec<WithheldSettlement> = Vec::new();
        for (row, cancelled) in rows {
            match out.last_mut() {
                Some(last) if last.setl_id == row.setl_id => last.lines.push(row),
                _ => out.push(WithheldSettlement {
                    setl_id: row.setl_id.clone(),
                    psn_no: row.psn_no.clone(),
                    admdvs: row.admdvs.clone(),
                    year: row.year,
                    setl_date: row.setl_date.clone(),
                    cancelled,
                    lines: vec![row],
                }),
            }
        }
        out
    }
}

/// One settlement of a person whose pooled-fund share was held back (R-R2), and what 补报
/// made of it: what he reads on /h5/payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonBubao {
    pub setl_id: String,
    /// `yyyy-MM-dd`.
    pub setl_date: String,
    pub fixmedins_code: String,
    pub year: i32,
    pub held: Fen,
    pub cancelled: bool,
    /// What 补报 paid, once it has.
    pub paid: Option<Fen>,
}

/// One held-back fund line as `SQL_BUBAO_OF_PERSON` reads it: setl_id, setl_date,
/// fixmedins_code, year, the line's amount, cancelled, what 补报 paid.
pub(crate) type PersonBubaoLine = (String, String, String, i32, Fen, bool, Option<Fen>);

impl PersonBubao {
    /// Groups rows read in (setl_id, seq) order.
    pub(crate) fn group(rows: Vec<PersonBubaoLine>) -> Result<Vec<PersonBubao>, StoreError> {
        let mut out: Vec<PersonBubao> = Vec::new();
        for (setl_id, setl_date, fixmedins_code, year, amount, cancelled, paid) in rows {
            match out.last_mut() {
                Some(last) if last.setl_id == setl_id => {
                    last.held = last.held.checked_add(amount).ok_or_else(|| {
                        StoreError::Corrupt(format!("held-back share of {setl_id} overflows"))
                    })?;
                }
                _ => out.push(PersonBubao {
                    setl_id,
                    setl_date,
                    fixmedins_code,
                    year,
                    held: amount,
                    cancelled,
                    paid,
                }),
            }
        }
        Ok(out)
    }
}

/// A person's held-back settlements with what 补报 paid, newest first (both backends).
pub(crate) const SQL_BUBAO_OF_PERSON: &str = "SELECT w.setl_id, w.setl_date, s.fixmedins_code,
        w.year, w.amount_fen, s.cancelled, b.amount_fen
    FROM pool_withheld w JOIN settlements s ON s.setl_id = w.setl_id
        LEFT JOIN bubao b ON b.setl_id = w.setl_id
    WHERE w.psn_no = $1
    ORDER BY w.setl_date DESC, w.setl_id, w.seq";

/// The select of a premium payment (both backends, `premium_payments`): the channel, the
/// agent and the collection time the channel's notification carried (migration 0025), or
/// the journal's time for a payment from a personal account.
#[macro_export]
#[doc(hidden)]
macro_rules! premium_payment_select {
    () => {
        "SELECT pr.relative_psn_no, pr.year, pr.kind, pr.entry_id, pr.holder_psn_no, pr.category,
                pr.amount_fen,
                pr.channel, pr.agent_id, COALESCE(pr.paid_at, j.occurred_at)
         FROM premiums pr JOIN journal j ON j.entry_id = pr.entry_id"
    };
}

/// The held-back shares not yet paid by 补报, with their settlement's cancel flag, oldest
/// first (both backends).
pub(crate) const SQL_BUBAO_CANDIDATES: &str = "SELECT w.setl_id, w.seq, w.entry_id, w.psn_no,
        w.admdvs, w.year, w.setl_date, w.fund_pay_type, w.name_zh, w.amount_fen, w.explanation,
        s.cancelled
    FROM pool_withheld w JOIN settlements s ON s.setl_id = w.setl_id
    WHERE NOT EXISTS (SELECT 1 FROM bubao b WHERE b.setl_id = w.setl_id)
    ORDER BY w.setl_date, w.setl_id, w.seq";

/// No method has a default: a store that wraps another (the tests' fault injector) must
/// forward each one, or it would answer empty where the real store has rows.
pub trait ReadStore {
    fn records(&mut self, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError>;
    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<YearTotals, StoreError>;
    /// Persons registered with this phone number (real-name check of SMS sign-in).
    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError>;
    /// Persons whose psn_no, ID number, phone or exact name is `text`.
    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError>;
    fn mutual_aid_report(&mut self, q: &ReportQuery) -> Result<Vec<ReportRow>, StoreError>;
    fn staff(&mut self, username: &str) -> Result<Option<StaffRow>, StoreError>;
    fn operator(
        &mut self,
        fixmedins_code: &str,
        username: &str,
    ) -> Result<Option<OperatorRow>, StoreError>;
    /// The app partner registered under `app_code`, active or not.
    fn app_partner(&mut self, app_code: &str) -> Result<Option<AppPartnerRow>, StoreError>;
    fn recovery_cases(&mut self, q: &RecoveryQuery) -> Result<Vec<RecoveryCaseRow>, StoreError>;
    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError>;
    /// Newest first.
    fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// Stores a new session (a token hash already stored is a `Conflict`).
    fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError>;
    /// The session whose token hashes to `token_sha256`, expired or not.
    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError>;
    /// Records use of a session: its last-seen time and its new idle expiry.
    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError>;
    /// Ends a session (sign-out); ending one that is gone is not an error.
    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError>;
    /// Deletes the sessions expired at `now`; returns how many.
    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError>;
    /// The consents where `psn_no` is the parent or the child, newest first.
    fn proxy_consents(&mut self, psn_no: &str) -> Result<Vec<ProxyConsentRow>, StoreError>;
    fn proxy_consent(&mut self, token: &str) -> Result<Option<ProxyConsentRow>, StoreError>;
    /// The review requests `psn_no` made (R-R7), newest first.
    fn reviews_of(&mut self, psn_no: &str) -> Result<Vec<ReviewRow>, StoreError>;
    fn review(&mut self, review_id: &str) -> Result<Option<ReviewRow>, StoreError>;
    /// The requests waiting for staff, oldest first.
    fn pending_reviews(&mut self) -> Result<Vec<ReviewRow>, StoreError>;
    /// The holder's mutual-aid payments for the relative, newest first, at most a page.
    fn mutual_aid_payments(
        &mut self,
        holder_psn_no: &str,
        relative_psn_no: &str,
    ) -> Result<Vec<MutualAidPaymentRow>, StoreError>;
    /// Every premium paid for `psn_no`, newest first (R-R7).
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError>;
    /// Settlements whose held-back fund shares 补报 has not paid yet (R-R2).
    fn bubao_candidates(&mut self) -> Result<Vec<WithheldSettlement>, StoreError>;
    /// The latest 补报 paid, newest first.
    fn bubao_paid(&mut self, limit: u32) -> Result<Vec<crate::batch::BubaoRow>, StoreError>;
    /// `psn_no`'s settlements whose fund share was held back, paid by 补报 or not, newest
    /// first (R-R2).
    fn bubao_of_person(&mut self, psn_no: &str) -> Result<Vec<PersonBubao>, StoreError>;
    /// Stores a new payment order; an order id used before is an error.
    fn put_payment_order(&mut self, row: &PaymentOrderRow) -> Result<(), StoreError>;
    fn payment_order(&mut self, order_id: &str) -> Result<Option<PaymentOrderRow>, StoreError>;
    /// Registers a collecting agent; an id or token used before is an error.
    fn put_agent(&mut self, row: &AgentRow) -> Result<(), StoreError>;
    /// Residents' premiums of benefit year `year` and of the year before, per group.
    fn collection_report(
        &mut self,
        year: i32,
        by: CollectionGroup,
    ) -> Result<Vec<CollectionRow>, StoreError>;
    fn agents(&mut self) -> Result<Vec<AgentRow>, StoreError>;
    fn agent_by_token(&mut self, token_sha256: &str) -> Result<Option<AgentRow>, StoreError>;
    /// The postings on `account_key` (an agent's clearing account) of entries made in
    /// `[from, to)` (`yyyy-MM-dd HH:mm:ss` texts), with the premiums they paid.
    fn agent_postings(
        &mut self,
        account_key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<AgentPostingRow>, StoreError>;
    /// Where to open more read-only connections on this same database, so that reads run
    /// beside the writer instead of on its thread. `None` when there is no second way in
    /// (an in-memory database).
    fn reader_source(&self) -> Option<Arc<dyn ReaderSource>>;
}

/// A backend the server can run on: the engine's store and the API's reads.
pub trait FullStore: Store + ReadStore {}

impl<T: Store + ReadStore + ?Sized> FullStore for T {}

/// Opens read-only connections on a writer's database (SQLite: the same file, which WAL
/// lets readers share with the writer; PostgreSQL: `connect_reader`).
pub trait ReaderSource: Send + Sync {
    fn open_reader(&self) -> Result<Box<dyn ReadStore + Send>, StoreError>;
}

impl<T: ReadStore + ?Sized> ReadStore for Box<T> {
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError> {
        (**self).premium_payments(psn_no)
    }
    fn bubao_candidates(&mut self) -> Result<Vec<WithheldSettlement>, StoreError> {
        (**self).bubao_candidates()
    }
    fn bubao_paid(&mut self, limit: u32) -> Result<Vec<crate::batch::BubaoRow>, StoreError> {
        (**self).bubao_paid(limit)
    }
    fn bubao_of_person(&mut self, psn_no: &str) -> Result<Vec<PersonBubao>, StoreError> {
        (**self).bubao_of_person(psn_no)
    }
    fn reader_source(&self) -> Option<Arc<dyn ReaderSource>> {
        (**self).reader_source()
    }
    fn records(&mut self, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError> {
        (**self).records(q)
    }
    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<YearTotals, StoreError> {
        (**self).year_totals(psn_no, year)
    }
    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError> {
        (**self).persons_by_phone(phone)
    }
    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        (**self).search_persons(text, limit)
    }
    fn mutual_aid_report(&mut self, q: &ReportQuery) -> Result<Vec<ReportRow>, StoreError> {
        (**self).mutual_aid_report(q)
    }
    fn staff(&mut self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        (**self).staff(username)
    }
    fn operator(
        &mut self,
        fixmedins_code: &str,
        username: &str,
    ) -> Result<Option<OperatorRow>, StoreError> {
        (**self).operator(fixmedins_code, username)
    }
    fn app_partner(&mut self, app_code: &str) -> Result<Option<AppPartnerRow>, StoreError> {
        (**self).app_partner(app_code)
    }
    fn recovery_cases(&mut self, q: &RecoveryQuery) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        (**self).recovery_cases(q)
    }
    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError> {
        (**self).commitment(binding_id)
    }
    fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        (**self).audit_log(q)
    }
    fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError> {
        (**self).insert_session(row)
    }
    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        (**self).session(token_sha256)
    }
    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        (**self).touch_session(token_sha256, last_seen_at, expires_at)
    }
    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        (**self).delete_session(token_sha256)
    }
    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError> {
        (**self).delete_expired_sessions(now)
    }
    fn proxy_consents(&mut self, psn_no: &str) -> Result<Vec<ProxyConsentRow>, StoreError> {
        (**self).proxy_consents(psn_no)
    }
    fn proxy_consent(&mut self, token: &str) -> Result<Option<ProxyConsentRow>, StoreError> {
        (**self).proxy_consent(token)
    }
    fn reviews_of(&mut self, psn_no: &str) -> Result<Vec<ReviewRow>, StoreError> {
        (**self).reviews_of(psn_no)
    }
    fn review(&mut self, review_id: &str) -> Result<Option<ReviewRow>, StoreError> {
        (**self).review(review_id)
    }
    fn pending_reviews(&mut self) -> Result<Vec<ReviewRow>, StoreError> {
        (**self).pending_reviews()
    }
    fn mutual_aid_payments(
        &mut self,
        holder_psn_no: &str,
        relative_psn_no: &str,
    ) -> Result<Vec<MutualAidPaymentRow>, StoreError> {
        (**self).mutual_aid_payments(holder_psn_no, relative_psn_no)
    }
    fn put_payment_order(&mut self, row: &PaymentOrderRow) -> Result<(), StoreError> {
        (**self).put_payment_order(row)
    }
    fn payment_order(&mut self, order_id: &str) -> Result<Option<PaymentOrderRow>, StoreError> {
        (**self).payment_order(order_id)
    }
    fn put_agent(&mut self, row: &AgentRow) -> Result<(), StoreError> {
        (**self).put_agent(row)
    }
    fn agents(&mut self) -> Result<Vec<AgentRow>, StoreError> {
        (**self).agents()
    }
    fn collection_report(
        &mut self,
        year: i32,
        by: CollectionGroup,
    ) -> Result<Vec<CollectionRow>, StoreError> {
        (**self).collection_report(year, by)
    }
    fn agent_by_token(&mut self, token_sha256: &str) -> Result<Option<AgentRow>, StoreError> {
        (**self).agent_by_token(token_sha256)
    }
    fn agent_postings(
        &mut self,
        account_key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<AgentPostingRow>, StoreError> {
        (**self).agent_postings(account_key, from, to)
    }
}

/// A list's `LIMIT`: at least 1, at most [`PAGE_SIZE_MAX`].
pub(crate) fn page_size(limit: u32) -> i64 {
    i64::from(limit.clamp(1, PAGE_SIZE_MAX))
}

const RECORD_COLUMNS: &str =
    "p.entry_id, p.seq, p.account_key, p.amount_fen, p.rule, p.balance_after_fen,
    p.explanation, j.kind, j.occurred_at, j.psn_no, j.fixmedins_code, j.channel, j.summary,
    j.reverses_entry, j.reversed_by";

impl SqliteStore {
    /// Creates or replaces a staff account (`gongji staff add`).
    pub fn add_staff(&mut self, row: &StaffRow) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "INSERT INTO staff (username, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
                     role = excluded.role",
                params![row.username, row.password_hash, row.role, row.created_at],
            )
            .map(|_| ())
            .map_err(io)
    }

    /// Registers an app partner, or replaces its name, channel, secret, key and flag
    /// (`gongji partner add`).
    pub fn add_app_partner(&mut self, row: &AppPartnerRow) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "INSERT INTO app_partners
                     (app_code, name, channel, app_secret, public_key, active, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (app_code) DO UPDATE SET name = excluded.name,
                     channel = excluded.channel, app_secret = excluded.app_secret,
                     public_key = excluded.public_key, active = excluded.active",
                params![
                    row.app_code,
                    row.name,
                    row.channel,
                    row.app_secret,
                    row.public_key,
                    i64::from(row.active),
                    row.created_at
                ],
            )
            .map(|_| ())
            .map_err(io)
    }

    /// Creates a till operator, or replaces its password (`gongji operator add`).
    pub fn add_operator(&mut self, row: &OperatorRow) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "INSERT INTO operators (fixmedins_code, username, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (fixmedins_code, username)
                 DO UPDATE SET password_hash = excluded.password_hash",
                params![
                    row.fixmedins_code,
                    row.username,
                    row.password_hash,
                    row.created_at
                ],
            )
            .map(|_| ())
            .map_err(io)
    }

    pub(crate) fn recovery_case_rows(
        &self,
        tail: &str,
        args: &[&dyn ToSql],
    ) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        let sql = format!(
            concat!(
                "SELECT ",
                crate::row_columns!(recovery_case),
                " FROM recovery_cases {}"
            ),
            tail
        );
        let mut stmt = self.connection().prepare(&sql).map_err(io)?;
        let rows = stmt.query_map(args, |r| recovery_case_of(r)).map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }
}

impl ReadStore for SqliteStore {
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError> {
        crate::sqlite::premium_payments(self.connection(), psn_no)
    }

    fn bubao_candidates(&mut self) -> Result<Vec<WithheldSettlement>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(SQL_BUBAO_CANDIDATES)
            .map_err(io)?;
        let rows = st
            .query_map([], |r| Ok((withheld_of(r)?, r.flag(11)?)))
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        Ok(WithheldSettlement::group(rows))
    }

    fn bubao_paid(&mut self, limit: u32) -> Result<Vec<crate::batch::BubaoRow>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(bubao),
                " FROM bubao ORDER BY entry_id DESC LIMIT ?1"
            ))
            .map_err(io)?;
        let rows = st.query_map(params![limit], |r| bubao_of(r)).map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn bubao_of_person(&mut self, psn_no: &str) -> Result<Vec<PersonBubao>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(SQL_BUBAO_OF_PERSON)
            .map_err(io)?;
        let rows = st
            .query_map(params![psn_no], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    Fen::from_fen(r.get(4)?),
                    r.get::<_, i64>(5)? != 0,
                    r.get::<_, Option<i64>>(6)?.map(Fen::from_fen),
                ))
            })
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        PersonBubao::group(rows)
    }

    fn reader_source(&self) -> Option<Arc<dyn ReaderSource>> {
        self.readers()
    }
    fn records(&mut self, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError> {
        let account = format!("psn:{}", q.psn_no);
        // Four indexed branches: my account's postings; others' accounts paying for my
        // settlements (mutual aid and its reversals); others' accounts paying my premiums;
        // and, for a relative, the settlements no account paid (cash only), so her records
        // can say why mutual aid paid nothing.
        let sql = format!(
            "SELECT r.*, i.fixmedins_name,
                    (SELECT pr.relative_psn_no FROM premiums pr WHERE pr.entry_id = r.entry_id)
             FROM (
                SELECT {RECORD_COLUMNS} FROM postings p JOIN journal j ON j.entry_id = p.entry_id
                WHERE p.account_key = ?1
                UNION ALL
                SELECT {RECORD_COLUMNS} FROM journal j JOIN postings p ON p.entry_id = j.entry_id
                WHERE j.psn_no = ?2 AND j.kind IN ('settle', 'cancel')
                  AND p.account_key LIKE 'psn:%' AND p.account_key <> ?1
                UNION ALL
                SELECT {RECORD_COLUMNS} FROM premiums pr JOIN journal j ON j.entry_id = pr.entry_id
                     JOIN postings p ON p.entry_id = j.entry_id
                WHERE pr.relative_psn_no = ?2 AND p.account_key LIKE 'psn:%' AND p.account_key <> ?1
                UNION ALL
                SELECT {RECORD_COLUMNS} FROM journal j JOIN postings p ON p.entry_id = j.entry_id
                WHERE j.psn_no = ?2 AND j.kind = 'settle' AND p.account_key = 'cash'
                  AND EXISTS (SELECT 1 FROM bindings b WHERE b.relative_psn_no = ?2)
                  AND NOT EXISTS (SELECT 1 FROM postings q WHERE q.entry_id = j.entry_id
                                  AND q.account_key LIKE 'psn:%')
             ) r
             LEFT JOIN institutions i ON i.fixmedins_code = r.fixmedins_code
             WHERE (?3 IS NULL OR substr(r.occurred_at, 1, 10) >= ?3)
               AND (?4 IS NULL OR substr(r.occurred_at, 1, 10) <= ?4)
               AND (?5 IS NULL OR r.kind = ?5)
             ORDER BY r.occurred_at DESC, r.entry_id DESC, r.seq DESC
             LIMIT ?6 OFFSET ?7"
        );
        let mut stmt = self.connection().prepare_cached(&sql).map_err(io)?;
        let rows = stmt
            .query_map(
                params![
                    account,
                    q.psn_no,
                    q.from,
                    q.to,
                    q.kind,
                    page_size(q.limit),
                    i64::from(q.offset)
                ],
                |r| {
                    let key: String = r.get(2)?;
                    Ok(RecordRow {
                        entry_id: r.get(0)?,
                        seq: r.get(1)?,
                        account_psn_no: key.strip_prefix("psn:").unwrap_or(&key).to_string(),
                        amount: Fen::from_fen(r.get(3)?),
                        rule: r.get(4)?,
                        balance_after: Fen::from_fen(r.get(5)?),
                        explanation: r.get(6)?,
                        kind: r.get(7)?,
                        occurred_at: r.get(8)?,
                        entry_psn_no: r.get(9)?,
                        fixmedins_code: r.get(10)?,
                        channel: r.get(11)?,
                        summary: r.get(12)?,
                        reverses_entry: r.get(13)?,
                        reversed_by: r.get(14)?,
                        fixmedins_name: r.get(15)?,
                        premium_for: r.get(16)?,
                    })
                },
            )
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn year_totals(&mut self, psn_no: &str, year: i32) -> Result<YearTotals, StoreError> {
        let year_prefix = format!("{year:04}-%");
        let conn = self.connection();
        let mut t = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(medfee_sumamt), 0), COALESCE(SUM(fund_pay_sumamt), 0),
                        COALESCE(SUM(acct_pay), 0), COALESCE(SUM(acct_mulaid_pay), 0),
                        COALESCE(SUM(psn_cash_pay), 0)
                 FROM settlements WHERE psn_no = ?1 AND cancelled = 0 AND setl_date LIKE ?2",
                params![psn_no, year_prefix],
                |r| {
                    Ok(YearTotals {
                        settlements: r.get(0)?,
                        medfee_sumamt: Fen::from_fen(r.get(1)?),
                        fund_pay_sumamt: Fen::from_fen(r.get(2)?),
                        acct_pay: Fen::from_fen(r.get(3)?),
                        acct_mulaid_pay: Fen::from_fen(r.get(4)?),
                        psn_cash_pay: Fen::from_fen(r.get(5)?),
                        ..YearTotals::default()
                    })
                },
            )
            .map_err(io)?;
        let (own, given, premiums) = conn
            .query_row(
                "SELECT
                    COALESCE(SUM(CASE WHEN j.psn_no = ?2 AND j.kind IN ('settle', 'cancel')
                                      THEN -p.amount_fen ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN j.psn_no <> ?2 AND j.kind IN ('settle', 'cancel')
                                      THEN -p.amount_fen ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN j.kind = 'premium' THEN -p.amount_fen ELSE 0 END), 0)
                 FROM postings p JOIN journal j ON j.entry_id = p.entry_id
                 WHERE p.account_key = ?1 AND j.occurred_at LIKE ?3",
                params![format!("psn:{psn_no}"), psn_no, year_prefix],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .map_err(io)?;
        t.own_account_spent = Fen::from_fen(own);
        t.mutual_aid_given = Fen::from_fen(given);
        t.premiums_paid = Fen::from_fen(premiums);
        Ok(t)
    }

    fn persons_by_phone(&mut self, phone: &str) -> Result<Vec<String>, StoreError> {
        // Encrypted at rest, a phone number is found by its keyed hash.
        let (sql, phone) = match self.privacy_mode()?.key() {
            Some(k) => (
                "SELECT psn_no FROM persons WHERE phone_lookup = ?1 ORDER BY psn_no LIMIT ?2",
                k.lookup(PiiField::Phone, phone),
            ),
            None => (
                "SELECT psn_no FROM persons WHERE phone = ?1 ORDER BY psn_no LIMIT ?2",
                phone.to_string(),
            ),
        };
        let mut stmt = self.connection().prepare_cached(sql).map_err(io)?;
        let rows = stmt
            .query_map(params![phone, i64::from(PAGE_SIZE_MAX)], |r| r.get(0))
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn search_persons(&mut self, text: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let text = text.trim();
        // Encrypted at rest, ID and phone numbers are found by their keyed hashes.
        let (sql, certno, phone) = match self.privacy_mode()?.key() {
            Some(k) => (
                "SELECT psn_no FROM persons
                 WHERE psn_no = ?1 OR certno_lookup = ?2 OR phone_lookup = ?3 OR psn_name = ?1
                 ORDER BY psn_no LIMIT ?4",
                k.lookup(PiiField::CertNo, text),
                k.lookup(PiiField::Phone, text),
            ),
            None => (
                "SELECT psn_no FROM persons
                 WHERE psn_no = ?1 OR certno = ?2 OR phone = ?3 OR psn_name = ?1
                 ORDER BY psn_no LIMIT ?4",
                text.to_ascii_uppercase(),
                text.to_string(),
            ),
        };
        let mut stmt = self.connection().prepare_cached(sql).map_err(io)?;
        let rows = stmt
            .query_map(params![text, certno, phone, page_size(limit)], |r| r.get(0))
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn mutual_aid_report(&mut self, q: &ReportQuery) -> Result<Vec<ReportRow>, StoreError> {
        let prefix = format!("{}%", q.admdvs_prefix);
        let mut stmt = self
            .connection()
            .prepare_cached(
                "SELECT admdvs, day, kind, uses, persons, amount FROM (
                    SELECT s.admdvs AS admdvs, s.setl_date AS day,
                           COALESCE(i.fixmedins_type, '?') AS kind, COUNT(*) AS uses,
                           COUNT(DISTINCT s.psn_no) AS persons,
                           SUM(s.acct_mulaid_pay - COALESCE((SELECT SUM(rc.amount_fen)
                               FROM recovery_cases rc
                               WHERE rc.setl_id = s.setl_id AND rc.status = 'repaid'), 0)) AS amount
                    FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code
                    WHERE s.cancelled = 0 AND s.acct_mulaid_pay > 0
                      AND s.setl_date >= ?1 AND s.setl_date <= ?2 AND s.admdvs LIKE ?3
                    GROUP BY s.admdvs, s.setl_date, i.fixmedins_type
                    UNION ALL
                    SELECT j.admdvs AS admdvs, substr(j.occurred_at, 1, 10) AS day,
                           'premium' AS kind, COUNT(*) AS uses,
                           COUNT(DISTINCT pr.relative_psn_no) AS persons, SUM(pr.amount_fen) AS amount
                    FROM premiums pr JOIN journal j ON j.entry_id = pr.entry_id
                    WHERE substr(j.occurred_at, 1, 10) >= ?1 AND substr(j.occurred_at, 1, 10) <= ?2
                      AND j.admdvs LIKE ?3
                    GROUP BY j.admdvs, substr(j.occurred_at, 1, 10)
                 ) r
                 ORDER BY day, admdvs, kind LIMIT ?4",
            )
            .map_err(io)?;
        let rows = stmt
            .query_map(
                params![q.from, q.to, prefix, i64::from(REPORT_ROWS_MAX)],
                |r| {
                    Ok(ReportRow {
                        admdvs: r.get(0)?,
                        day: r.get(1)?,
                        kind: r.get(2)?,
                        uses: r.get(3)?,
                        persons: r.get(4)?,
                        amount: Fen::from_fen(r.get(5)?),
                    })
                },
            )
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn staff(&mut self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        self.connection()
            .query_row(
                "SELECT username, password_hash, role, created_at FROM staff WHERE username = ?1",
                [username],
                |r| {
                    Ok(StaffRow {
                        username: r.get(0)?,
                        password_hash: r.get(1)?,
                        role: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(io)
    }

    fn operator(
        &mut self,
        fixmedins_code: &str,
        username: &str,
    ) -> Result<Option<OperatorRow>, StoreError> {
        self.connection()
            .query_row(
                "SELECT fixmedins_code, username, password_hash, created_at FROM operators
                 WHERE fixmedins_code = ?1 AND username = ?2",
                [fixmedins_code, username],
                |r| {
                    Ok(OperatorRow {
                        fixmedins_code: r.get(0)?,
                        username: r.get(1)?,
                        password_hash: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(io)
    }

    fn app_partner(&mut self, app_code: &str) -> Result<Option<AppPartnerRow>, StoreError> {
        self.connection()
            .query_row(
                "SELECT app_code, name, channel, app_secret, public_key, active, created_at
                 FROM app_partners WHERE app_code = ?1",
                [app_code],
                |r| {
                    Ok(AppPartnerRow {
                        app_code: r.get(0)?,
                        name: r.get(1)?,
                        channel: r.get(2)?,
                        app_secret: r.get(3)?,
                        public_key: r.get(4)?,
                        active: r.get::<_, i64>(5)? != 0,
                        created_at: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(io)
    }

    fn recovery_cases(&mut self, q: &RecoveryQuery) -> Result<Vec<RecoveryCaseRow>, StoreError> {
        self.recovery_case_rows(
            "WHERE (?1 IS NULL OR status = ?1)
               AND (?2 IS NULL OR holder_psn_no = ?2 OR relative_psn_no = ?2)
             ORDER BY case_id DESC LIMIT ?3 OFFSET ?4",
            &[
                &q.status,
                &q.psn_no,
                &page_size(q.limit),
                &i64::from(q.offset),
            ],
        )
    }

    fn commitment(&mut self, binding_id: i64) -> Result<Option<CommitmentRow>, StoreError> {
        self.connection()
            .query_row(
                "SELECT binding_id, holder_psn_no, admdvs, notice_version, letter, sha256, signature,
                        signed_at, channel
                 FROM commitments WHERE binding_id = ?1",
                [binding_id],
                |r| {
                    Ok(CommitmentRow {
                        binding_id: r.get(0)?,
                        holder_psn_no: r.get(1)?,
                        admdvs: r.get(2)?,
                        notice_version: r.get(3)?,
                        letter: r.get(4)?,
                        sha256: r.get(5)?,
                        signature: r.get(6)?,
                        signed_at: r.get(7)?,
                        channel: r.get(8)?,
                    })
                },
            )
            .optional()
            .map_err(io)
    }

    fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare_cached(concat!(
                "SELECT ",
                crate::row_columns!(audit),
                " FROM audit_log
                 WHERE (?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR actor = ?2)
                   AND (?3 IS NULL OR action = ?3)
                 ORDER BY audit_id DESC LIMIT ?4 OFFSET ?5"
            ))
            .map_err(io)?;
        let rows = stmt
            .query_map(
                params![
                    q.subject,
                    q.actor,
                    q.action,
                    page_size(q.limit),
                    i64::from(q.offset)
                ],
                |r| {
                    Ok(AuditEntry {
                        audit_id: r.get(0)?,
                        row: audit_row_of(r)?,
                    })
                },
            )
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn proxy_consents(&mut self, psn_no: &str) -> Result<Vec<ProxyConsentRow>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(
                "SELECT token, parent_psn_no, child_psn_no, given_at, revoked_at FROM proxy_consents
                 WHERE parent_psn_no = ?1 OR child_psn_no = ?1
                 ORDER BY given_at DESC, token LIMIT ?2",
            )
            .map_err(io)?;
        let rows = st
            .query_map(params![psn_no, page_size(PAGE_SIZE_MAX)], |r| {
                proxy_consent_of(r)
            })
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn put_payment_order(&mut self, row: &PaymentOrderRow) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(payments::SQL_PUT_ORDER)
            .and_then(|mut st| {
                st.execute(params![
                    row.order_id,
                    row.provider,
                    row.channel,
                    row.psn_no,
                    row.payer_psn_no,
                    row.agent_id,
                    row.year,
                    row.kind,
                    row.category,
                    row.amount.fen(),
                    row.created_at
                ])
            })
            .map(|_| ())
            .map_err(io)
    }

    fn payment_order(&mut self, order_id: &str) -> Result<Option<PaymentOrderRow>, StoreError> {
        self.connection()
            .prepare_cached(payments::SQL_ORDER)
            .and_then(|mut st| {
                st.query_row([order_id], |r| {
                    Ok(PaymentOrderRow {
                        order_id: r.get(0)?,
                        provider: r.get(1)?,
                        channel: r.get(2)?,
                        psn_no: r.get(3)?,
                        payer_psn_no: r.get(4)?,
                        agent_id: r.get(5)?,
                        year: r.get(6)?,
                        kind: r.get(7)?,
                        category: r.get(8)?,
                        amount: Fen::from_fen(r.get(9)?),
                        created_at: r.get(10)?,
                    })
                })
                .optional()
            })
            .map_err(io)
    }

    fn put_agent(&mut self, row: &AgentRow) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(payments::SQL_PUT_AGENT)
            .and_then(|mut st| {
                st.execute(params![
                    row.agent_id,
                    row.name,
                    row.admdvs,
                    row.kind,
                    row.token_sha256,
                    row.added_by,
                    row.added_at
                ])
            })
            .map(|_| ())
            .map_err(io)
    }

    fn agents(&mut self) -> Result<Vec<AgentRow>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(payments::SQL_AGENTS)
            .map_err(io)?;
        let rows = st.query_map([], |r| agent_of(r)).map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn collection_report(
        &mut self,
        year: i32,
        by: CollectionGroup,
    ) -> Result<Vec<CollectionRow>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(SQL_COLLECTION_REPORT)
            .map_err(io)?;
        let rows = st
            .query_map(params![year, by.code()], |r| {
                Ok(CollectionRow {
                    year: i32::try_from(r.get::<_, i64>(0)?).unwrap_or(year),
                    group: r.get(1)?,
                    persons: r.get(2)?,
                    amount: Fen::from_fen(r.get(3)?),
                })
            })
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn agent_by_token(&mut self, token_sha256: &str) -> Result<Option<AgentRow>, StoreError> {
        self.connection()
            .prepare_cached(payments::SQL_AGENT_BY_TOKEN)
            .and_then(|mut st| st.query_row([token_sha256], |r| agent_of(r)).optional())
            .map_err(io)
    }

    fn agent_postings(
        &mut self,
        account_key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<AgentPostingRow>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(payments::SQL_AGENT_POSTINGS)
            .map_err(io)?;
        let rows = st
            .query_map(params![account_key, from, to], |r| {
                Ok(AgentPostingRow {
                    entry_id: r.get(0)?,
                    entry_kind: r.get(1)?,
                    occurred_at: r.get(2)?,
                    posting: Fen::from_fen(r.get(3)?),
                    psn_no: r.get(4)?,
                    category: r.get(5)?,
                    premium_amount: r.get::<_, Option<i64>>(6)?.map(Fen::from_fen),
                    paid_at: r.get(7)?,
                })
            })
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn reviews_of(&mut self, psn_no: &str) -> Result<Vec<ReviewRow>, StoreError> {
        let mode = self.privacy_mode()?;
        let mut st = self
            .connection()
            .prepare_cached(crate::reviews::SQL_OF_PERSON)
            .map_err(io)?;
        let rows = st
            .query_map(params![psn_no, crate::reviews::LIST_MAX], |r| review_of(r))
            .map_err(io)?;
        rows.map(|r| crate::reviews::opened(&mode, r.map_err(io)?))
            .collect()
    }

    fn review(&mut self, review_id: &str) -> Result<Option<ReviewRow>, StoreError> {
        let mode = self.privacy_mode()?;
        self.connection()
            .prepare_cached(crate::reviews::SQL_ONE)
            .and_then(|mut st| st.query_row([review_id], |r| review_of(r)).optional())
            .map_err(io)?
            .map(|r| crate::reviews::opened(&mode, r))
            .transpose()
    }

    fn pending_reviews(&mut self) -> Result<Vec<ReviewRow>, StoreError> {
        let mode = self.privacy_mode()?;
        let mut st = self
            .connection()
            .prepare_cached(crate::reviews::SQL_PENDING)
            .map_err(io)?;
        let rows = st
            .query_map(params![crate::reviews::LIST_MAX], |r| review_of(r))
            .map_err(io)?;
        rows.map(|r| crate::reviews::opened(&mode, r.map_err(io)?))
            .collect()
    }

    fn proxy_consent(&mut self, token: &str) -> Result<Option<ProxyConsentRow>, StoreError> {
        self.connection()
            .prepare_cached(
                "SELECT token, parent_psn_no, child_psn_no, given_at, revoked_at FROM proxy_consents
                 WHERE token = ?1",
            )
            .and_then(|mut st| st.query_row([token], |r| proxy_consent_of(r)).optional())
            .map_err(io)
    }

    fn mutual_aid_payments(
        &mut self,
        holder_psn_no: &str,
        relative_psn_no: &str,
    ) -> Result<Vec<MutualAidPaymentRow>, StoreError> {
        let mut st = self
            .connection()
            .prepare_cached(
                "SELECT s.setl_id, j.occurred_at, s.fixmedins_code, -SUM(p.amount_fen)
                 FROM postings p JOIN journal j ON j.entry_id = p.entry_id
                      JOIN settlements s ON s.entry_id = p.entry_id
                 WHERE p.account_key = ?1 AND s.psn_no = ?2 AND s.cancelled = 0
                 GROUP BY s.setl_id, j.occurred_at, s.fixmedins_code
                 HAVING SUM(p.amount_fen) < 0
                 ORDER BY j.occurred_at DESC, s.setl_id LIMIT ?3",
            )
            .map_err(io)?;
        let account = gongji_core::ledger::LedgerAccount::Personal(holder_psn_no.to_string()).key();
        let rows = st
            .query_map(
                params![account, relative_psn_no, page_size(PAGE_SIZE_MAX)],
                |r| {
                    Ok(MutualAidPaymentRow {
                        setl_id: r.get(0)?,
                        occurred_at: r.get(1)?,
                        fixmedins_code: r.get(2)?,
                        amount: Fen::from_fen(r.get(3)?),
                    })
                },
            )
            .map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError> {
        crate::sqlite::insert_session(self.connection(), row)
    }

    fn session(&mut self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        self.connection()
            .prepare_cached(
                "SELECT token_sha256, kind, psn_no, username, role, fixmedins_code, created_at,
                        last_seen_at, expires_at
                 FROM sessions WHERE token_sha256 = ?1",
            )
            .and_then(|mut st| {
                st.query_row([token_sha256], |r| {
                    Ok(SessionRow {
                        token_sha256: r.get(0)?,
                        kind: r.get(1)?,
                        psn_no: r.get(2)?,
                        username: r.get(3)?,
                        role: r.get(4)?,
                        fixmedins_code: r.get(5)?,
                        created_at: r.get(6)?,
                        last_seen_at: r.get(7)?,
                        expires_at: r.get(8)?,
                    })
                })
                .optional()
            })
            .map_err(io)
    }

    fn touch_session(
        &mut self,
        token_sha256: &str,
        last_seen_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached(
                "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE token_sha256 = ?1",
            )
            .and_then(|mut st| st.execute(params![token_sha256, last_seen_at, expires_at]))
            .map(|_| ())
            .map_err(io)
    }

    fn delete_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached("DELETE FROM sessions WHERE token_sha256 = ?1")
            .and_then(|mut st| st.execute([token_sha256]))
            .map(|_| ())
            .map_err(io)
    }

    fn delete_expired_sessions(&mut self, now: &str) -> Result<u64, StoreError> {
        self.connection()
            .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")
            .and_then(|mut st| st.execute([now]))
            .map(|n| n as u64)
            .map_err(io)
    }
}
