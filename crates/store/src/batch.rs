//! What a batch writes. Built by the engine after it decided; written by a backend in one
//! storage transaction (group commit), so many requests share one durable commit.

use gongji_core::domain::{Binding, CatalogItem, Institution, Person};
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

#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Person(Person),
    Institution(Institution),
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
