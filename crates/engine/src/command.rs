//! What callers ask the engine to do, and what it answers.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::{AccountUse, Admdvs, CertType, Channel, Insutype, MedType, Relationship};
use gongji_core::collection::PaymentChannel;
use gongji_core::domain::{Agency, Binding, BindingStatus, CatalogItem, Institution, Person};
use gongji_core::pooling::{FeeLine, PricedLine};
use gongji_core::premium::PremiumKind;
use gongji_core::settlement::SettlementDecision;
use gongji_core::{Fen, Refusal};
use gongji_store::read::{ProxyConsentRow, SessionRow};
use gongji_store::{AuditRow, RecoveryCaseRow, StoreError, VisitRow};

/// A credential presented at an institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub cert_type: CertType,
    pub number: String,
}

#[derive(Clone, Debug)]
pub struct SettleCommand {
    pub institution: String,
    pub psn_no: String,
    /// The credential presented; its owner may be a holder of the patient (R-S12).
    pub credential: Option<Credential>,
    pub med_type: MedType,
    pub account_use: AccountUse,
    pub lines: Vec<FeeLine>,
    pub declared_total: Option<Fen>,
    /// The visit; generated when empty (pharmacy purchases have none).
    pub mdtrt_id: Option<String>,
    pub channel: Channel,
    pub at: NaiveDateTime,
    /// Pre-settlement: decide and answer, move nothing.
    pub dry_run: bool,
}

#[derive(Clone, Debug)]
pub struct CancelCommand {
    pub institution: String,
    pub setl_id: String,
    pub psn_no: String,
    pub channel: Channel,
    pub at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct PremiumCommand {
    pub holder: String,
    pub relative: String,
    pub kind: PremiumKind,
    pub year: i32,
    /// The insured place the payer chose (参保缴费地), when the channel asks for one (R-R4).
    pub place: Option<Admdvs>,
    pub channel: Channel,
    pub at: NaiveDateTime,
}

/// A premium paid with outside money, as the channel's signed notification confirms it
/// (R-J5, a collecting agent): kept as the person's premium, or, when it cannot be kept (a
/// second payment, another amount than due), recorded and refunded.
#[derive(Clone, Debug)]
pub struct ChannelPremiumCommand {
    pub psn_no: String,
    pub kind: PremiumKind,
    pub year: i32,
    /// What the channel collected.
    pub amount: Fen,
    pub channel: PaymentChannel,
    /// The collecting agent, for [`PaymentChannel::Agent`].
    pub agent_id: Option<String>,
    /// The place the payment was made at (the order's, the agent's region) (R-R4).
    pub place: Option<Admdvs>,
    /// The tax collection time the notification carries; the window is judged on it.
    pub paid_at: NaiveDateTime,
    /// `paid_at` as the notification wrote it (RFC 3339), stored with the premium.
    pub paid_at_text: String,
    pub order_id: String,
    /// The provider's transaction id (idempotency is the request's msgid).
    pub transaction_id: String,
    /// Where the confirmation came in (the journal entry's channel).
    pub via: Channel,
    pub at: NaiveDateTime,
    /// Whether the money has moved already (a provider's notification): then a payment the
    /// rules refuse is recorded and refunded. An agent's batch row has not (the agent still
    /// holds the cash): it is refused and nothing is written.
    pub money_moved: bool,
}

/// A channel's payment recorded.
#[derive(Clone, Debug)]
pub struct ChannelPaid {
    pub entry_id: i64,
    pub psn_no: String,
    pub kind: PremiumKind,
    pub year: i32,
    pub amount: Fen,
    pub channel: PaymentChannel,
    pub agent_id: Option<String>,
    pub order_id: String,
    pub transaction_id: String,
    /// The category paid in, when kept.
    pub category: Option<(String, String)>,
    /// Why it was not kept, when refunded: the refusal's code and Chinese message.
    pub refund_reason: Option<(String, String)>,
    pub explanation: String,
    pub paid_at: NaiveDateTime,
}

impl ChannelPaid {
    pub fn kept(&self) -> bool {
        self.refund_reason.is_none()
    }
}

/// The agency marks a person's contribution category for a benefit year from another
/// department's list (R-R5).
#[derive(Clone, Debug)]
pub struct MarkCategoryCommand {
    pub psn_no: String,
    pub year: i32,
    /// A category of the person's region for that year: its code or its Chinese name.
    pub category: String,
    pub source_dept: String,
    pub list_date: NaiveDate,
    pub staff: String,
    pub at: NaiveDateTime,
}

/// A list's category recorded, and what the person now pays for the year.
#[derive(Clone, Debug)]
pub struct CategoryMarked {
    pub psn_no: String,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    /// The category paid in after this list: the cheapest of all lists and `general`.
    pub due_category: String,
    pub due_name: String,
    pub due_amount: Fen,
}

#[derive(Clone, Debug)]
pub struct BindCommand {
    pub holder: String,
    pub relative: String,
    pub relationship: Relationship,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub limit_per_payment: Option<Fen>,
    pub limit_per_month: Option<Fen>,
    pub face_verified: bool,
    pub channel: Channel,
    pub actor: String,
    pub at: NaiveDateTime,
    /// A binding read back from an exported registry keeps the status and channel it had
    /// there; `None` for a new binding (active, made through `channel`).
    pub restored: Option<RestoredBinding>,
}

/// The state an exported binding had, restored on import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoredBinding {
    pub status: BindingStatus,
    pub channel: Channel,
    /// The per-day and per-year limits (R-S3), which a new binding sets only later.
    pub limit_per_day: Option<Fen>,
    pub limit_per_year: Option<Fen>,
}

pub use gongji_core::binding_rules::{BindingChange, Limits};

#[derive(Clone, Debug)]
pub struct ChangeBindingCommand {
    pub binding_id: i64,
    pub change: BindingChange,
    pub channel: Channel,
    pub actor: String,
    pub at: NaiveDateTime,
}

/// The commitment letter (承诺书) a holder signed for the binding he asks for (R-S7).
#[derive(Clone, Debug)]
pub struct SignedCommitment {
    pub notice_version: String,
    /// The letter exactly as shown to the holder.
    pub letter: String,
    /// SHA-256 of the letter's UTF-8 bytes, lowercase hex.
    pub sha256: String,
    pub signature: String,
}

/// Recovery (追回) of an improper mutual-aid payment (R-S7).
#[derive(Clone, Debug)]
pub enum RecoveryAction {
    /// Open a case for (part of) what `setl_id` drew from the binding's holder.
    Open {
        binding_id: i64,
        setl_id: String,
        amount: Fen,
        reason: String,
    },
    /// The money was repaid: it returns to the holder's account by postings.
    Repaid { case_id: i64 },
}

#[derive(Clone, Debug)]
pub struct RecoveryCommand {
    pub action: RecoveryAction,
    pub channel: Channel,
    pub actor: String,
    pub at: NaiveDateTime,
}

/// 2201: a visit opens.
#[derive(Clone, Debug)]
pub struct OpenVisitCommand {
    pub institution: String,
    pub psn_no: String,
    pub insutype: Insutype,
    pub med_type: MedType,
    pub begntime: NaiveDateTime,
    pub at: NaiveDateTime,
}

/// Changes to an open visit (2202, 2203, 2204, 2205).
#[derive(Clone, Debug)]
pub enum VisitChange {
    Cancel,
    Info {
        med_type: Option<MedType>,
        diagnosis: String,
    },
    /// (chrg_bchno, line)
    UploadFees(Vec<(String, FeeLine)>),
    /// `None` = every unsettled line ("0000").
    CancelFees {
        chrg_bchno: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct VisitCommand {
    pub institution: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub change: VisitChange,
    pub at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub enum Command {
    Settle(SettleCommand),
    Cancel(CancelCommand),
    Premium(PremiumCommand),
    ChannelPremium(ChannelPremiumCommand),
    MarkCategory(MarkCategoryCommand),
    Bind(BindCommand),
    ChangeBinding(ChangeBindingCommand),
    OpenVisit(OpenVisitCommand),
    Visit(VisitCommand),
    /// A binding and its signed commitment letter, kept together or not at all (R-S7).
    BindWithCommitment(BindCommand, SignedCommitment),
    Recovery(RecoveryCommand),
    /// Records an audit row that goes with no other change (a staff read of a person's
    /// record, a staff search): committed before what was read is shown.
    Audit(AuditRow),
    /// Stores a sign-in session (only its token's SHA-256). Sessions are not engine state;
    /// they go through the batch so the sign-in's audit row commits with them.
    OpenSession(SessionRow),
    /// Stores a 亲情账户 consent or its revocation (not engine state); through the batch so
    /// the parent's audit row commits with it.
    PutProxyConsent(ProxyConsentRow),
    /// A new review request (R-R7, not engine state), through the batch so its audit row
    /// commits with it. Only a waiting request is put this way; a decision is `DecideReview`.
    PutReview(gongji_store::reviews::ReviewRow),
    /// Staff's decision on a review request: `row` as decided. The writer reads the request's
    /// stored state in its own batch and refuses the decision unless it is still waiting
    /// (`GJ-REVIEW-ALREADY-DECIDED`), so of two staff deciding at once one wins and the
    /// other changes nothing. An approved correction is applied to the person as the writer
    /// holds him; an approved registration registers `register`, the new resident. The
    /// registry change commits with the row and its audit row or not at all.
    DecideReview {
        row: gongji_store::reviews::ReviewRow,
        register: Option<Person>,
    },
    RegisterPerson(Person),
    RegisterInstitution(Institution),
    RegisterCatalogItem(CatalogItem),
    /// A medical-insurance agency (经办机构) for the nearby page; moves no money.
    RegisterAgency(Agency),
    /// A step of the cross-province quota protocol (R-N3), see `quota.rs`.
    Quota(crate::quota::QuotaCommand),
    /// 补报 (R-R2): pays a settlement's held-back fund share once the resident has paid for
    /// the year. Sent with msgid `bubao_msgid(setl_id)`, so it is paid once however often
    /// the job runs.
    Bubao(BubaoCommand),
    /// Money entering a personal account from outside (import, employer transfer).
    Fund {
        psn_no: String,
        amount: Fen,
        at: NaiveDateTime,
    },
}

#[derive(Clone, Debug)]
pub struct BubaoCommand {
    pub setl_id: String,
    pub channel: Channel,
    pub at: NaiveDateTime,
}

/// The msgid of a settlement's 补报: one per settlement.
pub fn bubao_msgid(setl_id: &str) -> String {
    format!("bubao:{setl_id}")
}

/// A held-back share paid (补报).
#[derive(Clone, Debug)]
pub struct BubaoPaid {
    pub setl_id: String,
    pub entry_id: i64,
    pub psn_no: String,
    pub setl_date: NaiveDate,
    pub paid_on: NaiveDate,
    pub amount: Fen,
    /// One line per posting: the fund's share or the payment to the person, and why.
    pub lines: Vec<(String, Fen, String)>,
    pub explanation: String,
}

/// A settlement decided (and, unless a dry run, committed).
#[derive(Clone, Debug)]
pub struct Settled {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub entry_id: i64,
    pub patient: Person,
    pub institution: Institution,
    pub decision: SettlementDecision,
    pub med_type: MedType,
    pub at: NaiveDateTime,
    pub dry_run: bool,
}

#[derive(Clone, Debug)]
pub struct Cancelled {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub entry_id: i64,
    pub original_entry_id: i64,
    pub patient: Person,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    /// The part of `fund_pay_sumamt` that was the second reimbursement (R-J9), which the
    /// settlement answered as `oth_pay`; the rest was the pooled fund (`hifp_pay`).
    pub oth_pay: Fen,
    pub acct_pay: Fen,
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
    /// The patient's own balance after the money came back.
    pub balc: Fen,
    /// (account key, amount returned) for every posting reversed.
    pub returned: Vec<(String, Fen)>,
    /// (account key, amount, why) of the second reimbursement recomputed on the settlements
    /// that stay (R-J9); empty when the refunds already agree with the rule.
    pub refund_recomputed: Vec<(String, Fen, String)>,
    pub med_type: MedType,
    pub at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct PremiumPaid {
    pub entry_id: i64,
    pub holder: String,
    pub relative: String,
    pub kind: PremiumKind,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: Fen,
    pub holder_balance_after: Fen,
    pub explanation: String,
    pub at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Settled(Box<Settled>),
    Cancelled(Box<Cancelled>),
    PremiumPaid(Box<PremiumPaid>),
    Bubao(Box<BubaoPaid>),
    ChannelPaid(Box<ChannelPaid>),
    CategoryMarked(Box<CategoryMarked>),
    Binding(Box<Binding>),
    Recovery(Box<RecoveryCaseRow>),
    Audited,
    SessionOpened,
    ProxyConsentStored,
    ReviewStored,
    Registered,
    Visit(Box<VisitRow>),
    /// 2204: each uploaded line as the catalog prices it.
    FeesUploaded(Vec<PricedLine>),
    FeesCancelled {
        lines: usize,
    },
    Funded {
        entry_id: i64,
        balance: Fen,
    },
    /// A step of the cross-province quota protocol, see `quota.rs`.
    Quota(Box<crate::quota::QuotaAnswer>),
    /// The same msgid and request as before: the first answer, as stored.
    Replayed {
        response: String,
    },
}

/// Renders the answer to store with a money-moving entry, so a replay returns it unchanged.
pub type Render = Box<dyn FnOnce(&Outcome) -> String + Send>;

/// Completes an audit row from what was decided (a premium's explanation).
pub type AuditDetail = Box<dyn FnOnce(&Outcome) -> Option<String> + Send>;

/// The audit row of a sensitive action, carried by its request so that it is written in the
/// same batch as the change, and only when the change is made: a refusal, a replay of a
/// stored answer and a dry run write none, and a failed commit loses both together.
pub struct AuditNote {
    pub row: AuditRow,
    /// Sets the row's `after_state` from the outcome, when given.
    pub detail: Option<AuditDetail>,
}

/// A command with its idempotency key.
pub struct Request {
    pub msgid: Option<String>,
    /// A hash of the request's meaning; the same msgid with another hash is refused.
    pub request_hash: Option<String>,
    pub command: Command,
    pub render: Option<Render>,
    /// The audit row that commits with the change, or not at all.
    pub audit: Option<AuditNote>,
}

impl Request {
    pub fn new(command: Command) -> Request {
        Request {
            msgid: None,
            request_hash: None,
            command,
            render: None,
            audit: None,
        }
    }

    pub fn with_msgid(
        mut self,
        msgid: impl Into<String>,
        request_hash: impl Into<String>,
    ) -> Request {
        self.msgid = Some(msgid.into());
        self.request_hash = Some(request_hash.into());
        self
    }

    pub fn with_render(mut self, render: Render) -> Request {
        self.render = Some(render);
        self
    }

    /// Writes `row` with the change, in the same batch, only when the change is made.
    pub fn with_audit(mut self, row: AuditRow) -> Request {
        self.audit = Some(AuditNote { row, detail: None });
        self
    }

    /// As [`Request::with_audit`], the row's `after_state` taken from the outcome.
    pub fn with_audit_detail(mut self, row: AuditRow, detail: AuditDetail) -> Request {
        self.audit = Some(AuditNote {
            row,
            detail: Some(detail),
        });
        self
    }
}

/// Why the engine did not do what was asked. Nothing was changed.
#[derive(Debug)]
pub enum EngineError {
    Refused(Refusal),
    UnknownPerson(String),
    UnknownInstitution(String),
    UnknownSettlement(String),
    UnknownBinding(i64),
    UnknownRecoveryCase(i64),
    UnknownReview(String),
    CredentialMismatch,
    AlreadyCancelled(String),
    SettlementOfOtherInstitution,
    MsgidReused,
    UnknownVisit(String),
    VisitMismatch,
    NoFees,
    DuplicateRegistration(String),
    /// A decision would have left an account below its floor: a bug, caught before the
    /// batch was written; nothing of the batch was.
    FloorBreached(String),
    Store(StoreError),
    /// A commit failed and the state could not be reloaded from the store after it: the
    /// writer no longer knows what the store holds, so it decides nothing until restarted.
    WriterStopped,
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Refused(r) => r.code(),
            EngineError::UnknownPerson(_) => "GJ-UNKNOWN-PERSON",
            EngineError::UnknownInstitution(_) => "GJ-UNKNOWN-INSTITUTION",
            EngineError::UnknownSettlement(_) => "GJ-UNKNOWN-SETTLEMENT",
            EngineError::UnknownBinding(_) => "GJ-UNKNOWN-BINDING",
            EngineError::UnknownRecoveryCase(_) => "GJ-UNKNOWN-RECOVERY-CASE",
            EngineError::UnknownReview(_) => "GJ-UNKNOWN-REVIEW",
            EngineError::CredentialMismatch => "GJ-SETL-CREDENTIAL-MISMATCH",
            EngineError::AlreadyCancelled(_) => "GJ-SETL-ALREADY-CANCELLED",
            EngineError::SettlementOfOtherInstitution => "GJ-SETL-OTHER-INSTITUTION",
            EngineError::MsgidReused => "GJ-IDEMPOTENCY-MSGID-REUSED",
            EngineError::UnknownVisit(_) => "GJ-UNKNOWN-VISIT",
            EngineError::VisitMismatch => "GJ-VISIT-MISMATCH",
            EngineError::NoFees => "GJ-SETL-NO-FEES",
            EngineError::DuplicateRegistration(_) => "GJ-IMPORT-DUPLICATE",
            EngineError::FloorBreached(_) => "GJ-ENGINE-FLOOR-BREACHED",
            EngineError::Store(e) => e.code(),
            EngineError::WriterStopped => "GJ-WRITER-STOPPED",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            EngineError::Refused(r) => r.message_zh(),
            EngineError::UnknownPerson(_) => "查无此参保人员，请核对人员编号或证件号码。".into(),
            EngineError::UnknownInstitution(_) => "查无此定点医药机构，请核对机构编码。".into(),
            EngineError::UnknownSettlement(_) => "查无此结算记录，请核对结算ID。".into(),
            EngineError::UnknownBinding(_) => "查无此共济绑定。".into(),
            EngineError::UnknownRecoveryCase(_) => "查无此追回案件，请核对案件编号。".into(),
            EngineError::UnknownReview(_) => "查无此申请，请核对申请编号。".into(),
            EngineError::CredentialMismatch => {
                "出示的凭证既不是患者本人的，也不属于为其绑定共济的户主，请核对凭证。".into()
            }
            EngineError::AlreadyCancelled(_) => "该笔结算已经撤销，不能重复撤销。".into(),
            EngineError::SettlementOfOtherInstitution => {
                "该笔结算不属于本机构或不属于该人员，不能撤销。".into()
            }
            EngineError::MsgidReused => {
                "报文ID已使用过且内容不同，请为新交易生成新的报文ID。".into()
            }
            EngineError::UnknownVisit(_) => "查无此就诊记录（mdtrt_id），或该就诊已撤销。".into(),
            EngineError::VisitMismatch => "就诊记录不属于本机构或该人员，或已结算不能修改。".into(),
            EngineError::NoFees => "该就诊没有待结算的费用明细，请先上传费用明细（2204）。".into(),
            EngineError::DuplicateRegistration(what) => format!("重复的记录：{what}"),
            EngineError::FloorBreached(_) => {
                "系统内部校验发现账户将低于保留额，本批业务均未执行，请联系系统管理员。".into()
            }
            EngineError::Store(_) => "系统暂时无法保存，本笔业务未执行，请稍后重试。".into(),
            EngineError::WriterStopped => "结算服务暂停，请稍后再试；已通知运维。".into(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            EngineError::Refused(r) => r.message_en(),
            EngineError::UnknownPerson(p) => format!("Unknown person {p}."),
            EngineError::UnknownInstitution(i) => format!("Unknown institution {i}."),
            EngineError::UnknownSettlement(s) => format!("Unknown settlement {s}."),
            EngineError::UnknownBinding(b) => format!("Unknown binding {b}."),
            EngineError::UnknownRecoveryCase(c) => format!("Unknown recovery case {c}."),
            EngineError::UnknownReview(r) => format!("Unknown review request {r}."),
            EngineError::CredentialMismatch => "The credential belongs neither to the patient nor to a holder bound to the patient.".into(),
            EngineError::AlreadyCancelled(s) => format!("Settlement {s} is already cancelled."),
            EngineError::SettlementOfOtherInstitution => "The settlement belongs to another institution or person.".into(),
            EngineError::MsgidReused => "The msgid was used before with a different request.".into(),
            EngineError::UnknownVisit(m) => format!("Unknown or cancelled visit {m}."),
            EngineError::VisitMismatch => "The visit belongs to another institution or person.".into(),
            EngineError::NoFees => "The visit has no unsettled fee details.".into(),
            EngineError::DuplicateRegistration(what) => format!("Duplicate record: {what}"),
            EngineError::FloorBreached(what) => {
                format!("Internal check failed, nothing of the batch was done: {what}")
            }
            EngineError::Store(e) => format!("Storage failure: {e}"),
            EngineError::WriterStopped => "Settlement is paused after a storage failure; try again later (operations have been alerted).".into(),
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message_zh())
    }
}

impl std::error::Error for EngineError {}

impl From<Refusal> for EngineError {
    fn from(r: Refusal) -> EngineError {
        EngineError::Refused(r)
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> EngineError {
        EngineError::Store(e)
    }
}

impl From<gongji_core::money::Overflow> for EngineError {
    fn from(_: gongji_core::money::Overflow) -> EngineError {
        EngineError::Refused(Refusal::AmountOverflow)
    }
}
