//! What a batch writes. Built by the engine after it decided; written by a backend in one
//! storage transaction (group commit), so many requests share one durable commit.

use chrono::NaiveDate;
use gongji_core::codes::Relationship;
use gongji_core::domain::{Agency, Binding, CatalogItem, Institution, Person};
use gongji_core::quota::{Direction, QuotaBindingStatus, QuotaParties, QuotaSide, SentState};
use gongji_core::Fen;

/// One line of a journal entry's postings, with the balance it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostingRow {
    pub account_key: String,
    /// The person owning the account, for personal accounts.
    pub psn_no: Option<String>,
    pub amount: Fen,
    pub rule: String,
    pub floor: Option<Fen>,
    pub balance_after: Fen,
    pub explanation: String,
}

/// A money-moving request and its postings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub entry_id: i64,
    pub msgid: Option<String>,
    /// `settle`, `cancel`, `premium`, `opening`, `recovery`.
    pub kind: String,
    pub admdvs: String,
    pub psn_no: Option<String>,
    pub fixmedins_code: Option<String>,
    pub channel: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub occurred_at: String,
    pub reverses_entry: Option<i64>,
    pub request_hash: Option<String>,
    /// The answer given, replayed byte for byte for a repeated msgid.
    pub response: Option<String>,
    /// One line for records pages, in Chinese.
    pub summary: String,
    pub postings: Vec<PostingRow>,
}

/// The settlement facts kept for reports and reconciliation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRow {
    pub setl_id: String,
    pub entry_id: i64,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub admdvs: String,
    pub insutype: String,
    pub med_type: String,
    /// `yyyy-MM-dd`.
    pub setl_date: String,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
    pub cancelled: bool,
    /// The decision's detail as JSON text (setlinfo and setldetail), for replies and receipts.
    pub detail: String,
}

/// Usage counters move with settlements and their cancels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolUsageDelta {
    /// The journal entry that caused it, so a cancel can take it back exactly.
    pub entry_id: i64,
    pub psn_no: String,
    /// `2025` for the year, `2025-03-01` for a day.
    pub period: String,
    pub cap_group: String,
    pub deductible: Fen,
    pub fund: Fen,
    pub burden: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingUsageDelta {
    pub entry_id: i64,
    pub binding_id: i64,
    /// `YYYY-MM`.
    pub month: String,
    pub amount: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PremiumRow {
    pub relative_psn_no: String,
    pub year: i32,
    /// `resident_premium`, `large_expense_premium` or `ltc_premium` (R-S6).
    pub kind: String,
    pub entry_id: i64,
    /// The person whose money paid: the holder for a personal account (R-Y2), the person
    /// himself for outside money he paid (R-J5) or an agent paid for him.
    pub holder_psn_no: String,
    pub category: String,
    pub amount: Fen,
    /// Where the money came from: `personal_account`, `wechat`, `alipay`, `unionpay`, `pos`,
    /// `bank_app`, `agent`, `dev` (`gongji_core::collection::PaymentChannel::code`).
    pub channel: String,
    /// The collecting agent; `None` unless `channel` is `agent`.
    pub agent_id: Option<String>,
    /// The tax collection time the channel's notification carries (RFC 3339); `None`: the
    /// journal entry's time.
    pub paid_at: Option<String>,
}

/// One fund's share of a settlement held back while the resident had not yet paid for the
/// year (R-R2), written with the settlement; the 补报 job pays it once he has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithheldRow {
    pub setl_id: String,
    /// 0, 1, 2, ... within the settlement.
    pub seq: i64,
    /// The settlement's journal entry.
    pub entry_id: i64,
    pub psn_no: String,
    pub admdvs: String,
    /// The benefit year.
    pub year: i32,
    /// `yyyy-MM-dd`.
    pub setl_date: String,
    pub fund_pay_type: String,
    pub name_zh: String,
    pub amount: Fen,
    pub explanation: String,
}

/// A settlement's held-back share paid retroactively (补报), at most once per settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BubaoRow {
    pub setl_id: String,
    /// The 补报's own journal entry.
    pub entry_id: i64,
    pub psn_no: String,
    pub admdvs: String,
    pub year: i32,
    pub amount: Fen,
    /// `yyyy-MM-dd`, when the premium that made him covered was paid.
    pub paid_on: String,
}

/// A contribution category a department's list gives a person for a benefit year (R-R5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionCategoryRow {
    pub psn_no: String,
    pub year: i32,
    pub category: String,
    /// The department whose list it is (民政局, 乡村振兴局...).
    pub source_dept: String,
    /// `YYYY-MM-DD`, the list's date.
    pub list_date: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub imported_at: String,
    pub imported_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub channel: String,
    pub action: String,
    pub subject: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
}

/// A recovery case (追回, R-S7): an improper mutual-aid payment claimed back for the holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryCaseRow {
    pub case_id: i64,
    pub binding_id: i64,
    pub holder_psn_no: String,
    pub relative_psn_no: String,
    /// The improper payment.
    pub setl_id: String,
    /// The relative's division (where the money was spent).
    pub admdvs: String,
    pub amount: Fen,
    pub reason: String,
    /// `open`, `repaid`.
    pub status: String,
    pub opened_by: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub opened_at: String,
    pub repaid_by: Option<String>,
    pub repaid_at: Option<String>,
    /// The journal entry that returned the money to the holder.
    pub repaid_entry_id: Option<i64>,
}

/// A signed commitment letter (承诺书, R-S7), kept with the binding it was signed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentRow {
    pub binding_id: i64,
    pub holder_psn_no: String,
    pub admdvs: String,
    pub notice_version: String,
    /// The letter exactly as shown and signed.
    pub letter: String,
    /// SHA-256 of `letter`'s UTF-8 bytes, lowercase hex.
    pub sha256: String,
    /// The holder's signature as the channel captured it.
    pub signature: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub signed_at: String,
    pub channel: String,
}

/// A visit (就诊) opened by 2201.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitRow {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub admdvs: String,
    pub insutype: String,
    pub med_type: String,
    pub begntime: String,
    /// `open`, `cancelled`.
    pub status: String,
    pub diagnosis: String,
}

/// A fee line uploaded by 2204.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeRow {
    pub mdtrt_id: String,
    pub feedetl_sn: String,
    pub chrg_bchno: String,
    pub med_list_codg: String,
    pub amount: Fen,
    pub count_e4: i64,
    pub price: Fen,
    /// The settlement that paid it; `None` while unsettled.
    pub setl_id: Option<String>,
}

/// A cross-province binding (R-N3) as one side keeps it: A (the holder's province) and B
/// (the relative's) each hold a copy, keyed by the four parties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaBindingRow {
    pub parties: QuotaParties,
    /// Which end this province keeps.
    pub side: QuotaSide,
    pub relationship: Relationship,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub status: QuotaBindingStatus,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
    pub updated_at: String,
}

/// A transfer this province sent (its outbox row): a grant on A, a return on B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaSentRow {
    /// Given by the sender, unique across provinces (it starts with the sender's province).
    pub transfer_id: String,
    pub direction: Direction,
    pub parties: QuotaParties,
    pub amount: Fen,
    pub state: SentState,
    /// The entry that took the amount out on this side.
    pub entry_id: i64,
    /// The entry that put it back when the peer refused.
    pub release_entry_id: Option<i64>,
    /// Deliveries tried so far, and why the last one failed.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
    pub updated_at: String,
}

/// A transfer this province received (its dedup row): a grant on B, a return on A. One
/// row per transfer id, whether it was applied or refused for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaAppliedRow {
    pub transfer_id: String,
    pub direction: Direction,
    pub parties: QuotaParties,
    pub amount: Fen,
    /// The entry that applied it; `None` when refused.
    pub entry_id: Option<i64>,
    /// The refusal's code and Chinese message, when refused.
    pub refusal_code: Option<String>,
    pub refusal_zh: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub at: String,
}

/// A settlement in B that drew on a quota (positive), or its cancel (negative): what B
/// reports to the holder's province.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaSpendRow {
    pub entry_id: i64,
    pub setl_id: String,
    pub parties: QuotaParties,
    pub fixmedins_code: String,
    pub amount: Fen,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub at: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Person(Person),
    Institution(Institution),
    /// Insert or replace a medical-insurance agency (经办机构).
    Agency(Agency),
    CatalogItem(CatalogItem),
    /// Insert or replace a binding (the id is the engine's).
    Binding {
        binding: Binding,
        admdvs: String,
    },
    BindingChange {
        holder_psn_no: String,
        month: String,
    },
    Entry(JournalEntry),
    Settlement(SettlementRow),
    SettlementCancelled {
        setl_id: String,
    },
    MarkReversed {
        entry_id: i64,
        reversed_by: i64,
    },
    PoolUsage(PoolUsageDelta),
    BindingUsage(BindingUsageDelta),
    Premium(PremiumRow),
    /// A settlement's held-back fund share (R-R2); insert only.
    Withheld(WithheldRow),
    /// A 补报; insert only, once per settlement.
    Bubao(BubaoRow),
    /// Insert, or take the newer list date of the same department's list.
    ContributionCategory(ContributionCategoryRow),
    PremiumRefund {
        relative_psn_no: String,
        year: i32,
    },
    Audit(AuditRow),
    Visit(VisitRow),
    /// Insert or replace a fee line.
    Fee(FeeRow),
    FeeDelete {
        mdtrt_id: String,
        feedetl_sn: String,
    },
    /// Insert or replace a recovery case (追回).
    RecoveryCase(RecoveryCaseRow),
    /// A signed commitment letter (承诺书); insert only.
    Commitment(CommitmentRow),
    /// A sign-in session (not engine state), written in the batch so the sign-in's audit
    /// row commits with it; insert only.
    Session(crate::read::SessionRow),
    /// Insert or replace one side's copy of a cross-province binding.
    QuotaBinding(QuotaBindingRow),
    /// Insert or replace an outbox row (its state, attempts and last error change).
    QuotaSent(QuotaSentRow),
    /// Insert only: a second row for one transfer id is a conflict, and the batch fails.
    QuotaApplied(QuotaAppliedRow),
    /// Insert only.
    QuotaSpend(QuotaSpendRow),
    /// A 亲情账户 consent, or its revocation (the row of the same token), written in the
    /// batch so the parent's audit row commits with it.
    ProxyConsent(crate::read::ProxyConsentRow),
    /// A review request (R-R7), or its decision (the row of the same id), written in the
    /// batch so its audit row, and an approval's registry change, commit with it.
    Review(crate::reviews::ReviewRow),
    /// The answer to a message that moved no money.
    Message {
        msgid: String,
        request_hash: Option<String>,
        response: Option<String>,
    },
}

/// Writes committed together, or not at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteBatch {
    pub writes: Vec<Write>,
}

impl WriteBatch {
    pub fn push(&mut self, w: Write) {
        self.writes.push(w);
    }

    pub fn extend(&mut self, other: WriteBatch) {
        self.writes.extend(other.writes);
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }
}
