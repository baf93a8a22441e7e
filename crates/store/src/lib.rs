//! The durable ledger. The database is the truth: the engine loads a [`Snapshot`] at start,
//! decides in memory, and hands back a [`WriteBatch`] that a backend commits in one
//! transaction before anyone is told it happened.

pub mod batch;
pub mod chain;
mod codec;
pub mod payments;
pub mod postgres;
pub mod privacy;
mod quota;
pub mod read;
pub mod reviews;
mod rows;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;
mod walbuf;

use std::collections::HashMap;
use std::fmt;

use gongji_core::domain::{Agency, Binding, CatalogItem, Institution, Person};
use gongji_core::pooling::PoolUsage;
use gongji_core::Fen;

pub use self::postgres::PgStore;
pub use batch::{
    AuditRow, BindingUsageDelta, BubaoRow, CommitmentRow, ContributionCategoryRow, FeeRow,
    JournalEntry, PoolUsageDelta, PostingRow, PremiumRow, QuotaAppliedRow, QuotaBindingRow,
    QuotaSentRow, QuotaSpendRow, RecoveryCaseRow, SettlementRow, VisitRow, WithheldRow, Write,
    WriteBatch,
};
pub use chain::{ChainAlg, ChainSummary, Checkpoint};
pub use read::{FullStore, ReadStore, ReaderSource};
pub use sqlite::SqliteStore;
pub use verify::{VerifyReport, Violation};

/// A storage failure. One code per kind.
#[derive(Debug)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    Io(String),
    /// A stored row does not decode: the database was changed behind our back.
    Corrupt(String),
    /// A uniqueness rule of the schema refused a write (e.g. a msgid seen before).
    Conflict(String),
    /// Persons' ID and phone numbers cannot be read or written with the key given.
    Privacy(privacy::PrivacyError),
}

/// The codes of the personal-data key (`privacy::PrivacyError`): unreadable, not 64 hex
/// digits, not the database's key, none given for encrypted data.
pub const CODE_PRIVACY_KEY_MISSING: &str = "GJ-PRIVACY-KEY-MISSING";
pub const CODE_PRIVACY_KEY_MALFORMED: &str = "GJ-PRIVACY-KEY-MALFORMED";
pub const CODE_PRIVACY_KEY_WRONG: &str = "GJ-PRIVACY-KEY-WRONG";
pub const CODE_PRIVACY_KEY_NEEDED: &str = "GJ-PRIVACY-KEY-NEEDED";

impl From<privacy::PrivacyError> for StoreError {
    fn from(e: privacy::PrivacyError) -> StoreError {
        StoreError::Privacy(e)
    }
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io(_) => "GJ-STORE-IO",
            StoreError::Corrupt(_) => "GJ-STORE-CORRUPT",
            StoreError::Conflict(_) => "GJ-STORE-CONFLICT",
            StoreError::Privacy(e) => e.code(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = match self {
            StoreError::Io(m) | StoreError::Corrupt(m) | StoreError::Conflict(m) => m,
            StoreError::Privacy(e) => return e.fmt(f),
        };
        write!(f, "{}: {detail}", self.code())
    }
}

impl std::error::Error for StoreError {}

/// Everything the engine keeps in memory, as loaded from the database.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub persons: Vec<Person>,
    /// account_key → balance.
    pub balances: HashMap<String, Fen>,
    pub bindings: Vec<Binding>,
    pub institutions: Vec<Institution>,
    /// The medical-insurance agencies (经办机构), for the nearby page.
    pub agencies: Vec<Agency>,
    pub catalog: Vec<CatalogItem>,
    /// (psn_no, period) → cap_group → usage; period is a year (`2025`) or a day (`2025-03-01`).
    pub pool_usage: HashMap<(String, String), HashMap<String, PoolUsage>>,
    /// (binding_id, `YYYY-MM`) → amount drawn.
    pub binding_usage: HashMap<(i64, String), Fen>,
    /// (relative psn_no, year, kind) of premiums paid; kind as `PremiumKind::code`.
    pub premiums_paid: Vec<(String, i32, String)>,
    /// (psn_no, year, category) the agency's lists give (R-R5).
    pub contribution_categories: Vec<(String, i32, String)>,
    /// (holder psn_no, `YYYY-MM`) → bind/unbind operations.
    pub binding_changes: HashMap<(String, String), u32>,
    /// Open visits and their fee lines.
    pub visits: Vec<VisitRow>,
    pub fees: Vec<FeeRow>,
    pub max_entry_id: i64,
    pub max_binding_id: i64,
    pub max_audit_id: i64,
    /// Every recovery case (追回), open and repaid.
    pub recovery_cases: Vec<RecoveryCaseRow>,
    /// Cross-province quotas (R-N3): both sides' bindings, outbox and dedup rows, and the
    /// spend log.
    pub quota_bindings: Vec<QuotaBindingRow>,
    pub quota_sent: Vec<QuotaSentRow>,
    pub quota_applied: Vec<QuotaAppliedRow>,
    pub quota_spends: Vec<QuotaSpendRow>,
}

/// A stored answer to a msgid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The journal entry, when the message moved money.
    pub entry_id: Option<i64>,
    pub request_hash: Option<String>,
    pub response: Option<String>,
}

/// What 3201 compares: an institution's settlements over a date range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcileQuery {
    pub fixmedins_code: String,
    pub insutype: String,
    /// `yyyy-MM-dd`, inclusive.
    pub begin: String,
    pub end: String,
    /// Count settlements that were later cancelled too (refd_setl_flag 1).
    pub include_cancelled: bool,
    /// The medical types (`med_type`) of the clearing type reconciled (3201 `clr_type`).
    pub med_types: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileTotals {
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    pub count: i64,
}

impl ReconcileTotals {
    /// Adds one medical type's totals (the stores sum per `med_type`, the query keeps those
    /// of its clearing type).
    pub(crate) fn add(&mut self, other: &ReconcileTotals) -> Result<(), StoreError> {
        let overflow = || StoreError::Corrupt("reconcile totals overflow".into());
        self.medfee_sumamt = self
            .medfee_sumamt
            .checked_add(other.medfee_sumamt)
            .ok_or_else(overflow)?;
        self.fund_pay_sumamt = self
            .fund_pay_sumamt
            .checked_add(other.fund_pay_sumamt)
            .ok_or_else(overflow)?;
        self.acct_pay = self
            .acct_pay
            .checked_add(other.acct_pay)
            .ok_or_else(overflow)?;
        self.count = self.count.checked_add(other.count).ok_or_else(overflow)?;
        Ok(())
    }
}

/// A stored settlement with everything a cancel must take back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSettlement {
    pub row: SettlementRow,
    pub entry: JournalEntry,
    pub pool_usage: Vec<batch::PoolUsageDelta>,
    pub binding_usage: Vec<batch::BindingUsageDelta>,
}

/// A backend. Only the engine's single writer calls `commit`; reads may come from anywhere.
///
/// Every method that answers data must be written by each implementation: a wrapper (a
/// fault injector, the bench's baseline) that forgot one would otherwise answer empty
/// behind its caller's back. The two many-at-once reads keep a default because it asks the
/// implementation's own one-at-a-time method, so it answers the same, only slower.
pub trait Store: Send {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError>;
    /// Writes the batch in one transaction, durably, or nothing.
    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError>;
    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError>;
    /// The stored answers of many msgids at once (the engine asks once per batch; on
    /// PostgreSQL that is two round trips instead of two per request). A msgid without a
    /// stored answer is absent from the map.
    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        let mut out = HashMap::new();
        for m in msgids {
            if let Some(a) = self.answer_for_msgid(m)? {
                out.insert((*m).to_string(), a);
            }
        }
        Ok(out)
    }
    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError>;
    /// The stored state of a review request (R-R7), `None` when there is none. The writer
    /// asks it inside its batch, so two staff deciding one request at once cannot both find
    /// it waiting.
    fn review_state(&mut self, review_id: &str) -> Result<Option<String>, StoreError>;
    /// Many settlements at once (the cancels of a batch; on PostgreSQL four queries instead
    /// of four per cancel). Unknown ids are absent from the map.
    fn settlements(
        &mut self,
        setl_ids: &[&str],
    ) -> Result<HashMap<String, StoredSettlement>, StoreError> {
        let mut out = HashMap::new();
        for id in setl_ids {
            if let Some(s) = self.settlement(id)? {
                out.insert((*id).to_string(), s);
            }
        }
        Ok(out)
    }
    fn verify(&mut self) -> Result<VerifyReport, StoreError>;
    /// `verify`, and each hash chain must pass through its checkpoints (a signed anchor's
    /// heads, `gongji verify --anchor`).
    fn verify_with(&mut self, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError>;
    fn reconcile(&mut self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError>;
    /// A settlement's fund shares held back until the resident paid (R-R2), in seq order;
    /// empty when it held nothing back.
    fn withheld(&mut self, setl_id: &str) -> Result<Vec<batch::WithheldRow>, StoreError>;
    /// Every premium paid for `psn_no`, newest first (R-R7).
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<read::PremiumPayment>, StoreError>;
    /// Applies the deployment's personal-data key (`None`: persons' ID and phone numbers
    /// are stored in clear), checked against the database's before anything is read or
    /// written (`privacy.rs`).
    fn use_privacy(
        &mut self,
        key: Option<privacy::PrivacyKey>,
    ) -> Result<privacy::PrivacyStatus, StoreError>;
    /// Seals the persons still stored in clear, `batch` per transaction, calling
    /// `progress(done, total)` after each batch; returns how many were sealed.
    fn seal_plaintext_persons(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError>;
}

/// One request in its own transaction with row locks: the conventional way to write a
/// ledger, kept for the baseline of `gongji bench` (the engine never uses it). Between
/// `begin` and `write_and_commit` (or `rollback`), the `Store` reads of the same
/// connection run inside the transaction.
pub trait ConventionalTx: Store {
    /// Begins a transaction: `BEGIN` on PostgreSQL; `BEGIN IMMEDIATE` on SQLite, which
    /// takes the database's write lock at once (SQLite has no row locks).
    fn begin(&mut self) -> Result<(), StoreError>;
    /// Locks the rows of these accounts for the rest of the transaction and returns their
    /// stored balances (PostgreSQL: `SELECT ... ORDER BY account_key FOR UPDATE`).
    fn lock_accounts(
        &mut self,
        account_keys: &[String],
    ) -> Result<HashMap<String, Fen>, StoreError>;
    /// Writes the batch inside the open transaction and commits it, durably.
    fn write_and_commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError>;
    /// Ends the open transaction without writing.
    fn rollback(&mut self);
}

impl<T: Store + ?Sized> Store for Box<T> {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        (**self).load_snapshot()
    }
    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        (**self).commit(batch)
    }
    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        (**self).answer_for_msgid(msgid)
    }
    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        (**self).answers_for_msgids(msgids)
    }
    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        (**self).settlement(setl_id)
    }
    fn review_state(&mut self, review_id: &str) -> Result<Option<String>, StoreError> {
        (**self).review_state(review_id)
    }
    fn settlements(
        &mut self,
        setl_ids: &[&str],
    ) -> Result<HashMap<String, StoredSettlement>, StoreError> {
        (**self).settlements(setl_ids)
    }
    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        (**self).verify()
    }
    fn verify_with(&mut self, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
        (**self).verify_with(anchors)
    }
    fn reconcile(&mut self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        (**self).reconcile(q)
    }
    fn withheld(&mut self, setl_id: &str) -> Result<Vec<batch::WithheldRow>, StoreError> {
        (**self).withheld(setl_id)
    }
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<read::PremiumPayment>, StoreError> {
        Store::premium_payments(&mut **self, psn_no)
    }
    fn use_privacy(
        &mut self,
        key: Option<privacy::PrivacyKey>,
    ) -> Result<privacy::PrivacyStatus, StoreError> {
        (**self).use_privacy(key)
    }
    fn seal_plaintext_persons(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        (**self).seal_plaintext_persons(batch, progress)
    }
}
