//! What the transport needs of the quota's books, on either side, as one trait: the routes,
//! the pages and the outbox driver call it; the engine implements it over its tables
//! (`engine_ledger.rs`), and [`super::memory::MemoryLedger`] over plain maps for the
//! transport's own tests.
//!
//! Every step a peer may repeat is idempotent by its transfer id (a binding's by its
//! parties): the transport calls again after any error or crash, and the books answer the
//! first result without applying twice.

use gongji_core::quota::{Direction, HolderSide, QuotaParties, RelativeSide};
use gongji_core::Fen;

use crate::service::ServiceResult;

/// One quota transfer as both sides know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Given by the sender; starts with its province.
    pub id: String,
    pub direction: Direction,
    pub parties: QuotaParties,
    pub amount: Fen,
}

/// What the receiving side did with a transfer, the first time and on every repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Applied,
    /// Refused for good by the receiver's rules: the sender releases.
    Refused {
        code: String,
        message_zh: String,
    },
}

/// The binding a holder asks for, as both sides record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossBinding {
    pub parties: QuotaParties,
    /// The national relationship code (holder → relative).
    pub relationship: String,
    /// `yyyy-MM-dd`.
    pub begin: String,
}

/// Where one cross-province binding stands, for the pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaView {
    pub parties: QuotaParties,
    /// This province keeps the holder's end.
    pub holder_side: bool,
    pub relationship: String,
    /// `active`, `ending`, `ended`.
    pub status: String,
    /// On A: granted and not yet back (`QuotaOut`); on B: what is left to spend.
    pub amount: Fen,
}

/// B's record of a settlement that drew on a quota (negative: its cancel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spending {
    pub setl_id: String,
    pub fixmedins_code: String,
    /// The institution's name as B's registry has it, so A's holder is not shown a code.
    pub fixmedins_name: Option<String>,
    pub amount: Fen,
    /// `yyyy-MM-dd HH:mm:ss`, B's local time.
    pub at: String,
}

/// What the peer asked by certificate number answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EligibilityAsk {
    pub holder_province: u32,
    pub holder_psn_no: String,
    pub relative_certno: String,
    pub relative_name: String,
    pub relationship: String,
    /// `yyyy-MM-dd`.
    pub on: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligible {
    pub relative_psn_no: String,
}

/// Which step an outbox row waits to have answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// A reserved a grant; B has not yet answered its credit.
    Grant,
    /// B took unused quota out; A has not yet answered its credit back.
    Return,
    /// A ended a binding; B has not yet ended its copy.
    End,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Grant => "grant",
            StepKind::Return => "return",
            StepKind::End => "end",
        }
    }

    /// What staff read in the console.
    pub fn name_zh(self) -> &'static str {
        match self {
            StepKind::Grant => "划出额度",
            StepKind::Return => "退回额度",
            StepKind::End => "解除绑定",
        }
    }
}

/// A step this side must still have answered by a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxStep {
    pub kind: StepKind,
    /// The transfer (Grant, Return); `None` for End.
    pub transfer: Option<Transfer>,
    pub parties: QuotaParties,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub since: String,
}

impl OutboxStep {
    /// The province that must answer.
    pub fn peer(&self, own: u32) -> u32 {
        if self.parties.holder_province == own {
            self.parties.relative_province
        } else {
            self.parties.holder_province
        }
    }

    /// The id the receiver deduplicates by.
    pub fn id(&self) -> String {
        match &self.transfer {
            Some(t) => t.id.clone(),
            None => format!(
                "end:{:02}:{}:{}",
                self.parties.holder_province,
                self.parties.holder_psn_no,
                self.parties.relative_psn_no
            ),
        }
    }
}

/// This side's books about quotas with one peer.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Holders insured here with quotas in the peer (this side as A), by holder.
    pub holders: Vec<(String, HolderSide)>,
    /// Quotas kept here for holders in the peer (this side as B), by holder.
    pub relatives: Vec<(String, RelativeSide)>,
}

/// The quota's books as the transport sees them. A refusal by the rules is an error with
/// its core code (`GJ-QUOTA-...`) where the caller is a person, and a [`Verdict`] where the
/// caller is a peer, which must not retry it.
#[axum::async_trait]
pub trait QuotaLedger: Send + Sync + 'static {
    /// B: may this relative (by ID number) receive quotas from a holder in the asking
    /// province? Changes nothing.
    async fn eligibility(&self, ask: &EligibilityAsk) -> ServiceResult<Eligible>;

    /// B: records its copy of the binding; a repeat answers the same.
    async fn bind_in(&self, binding: &CrossBinding) -> ServiceResult<()>;

    /// B: credit a grant once per id.
    async fn credit(&self, transfer: &Transfer) -> ServiceResult<Verdict>;

    /// A: credit a return back to the holder once per id.
    async fn return_credit(&self, transfer: &Transfer) -> ServiceResult<Verdict>;

    /// B: the holder (through A) lowers the quota by `amount`, or to nothing (`None`):
    /// takes it out and writes the return's outbox row. `None` when nothing was left.
    /// With a `lower_id`, once per id: a repeat answers the first answer and takes nothing
    /// more; the same id with other parties or another amount is
    /// `GJ-IDEMPOTENCY-MSGID-REUSED` and changes nothing.
    async fn lower(
        &self,
        parties: &QuotaParties,
        amount: Option<Fen>,
        lower_id: Option<&str>,
    ) -> ServiceResult<Option<Transfer>>;

    /// B: ends its copy of the binding and takes what is left out for return; a repeat
    /// answers the same.
    async fn end_in(&self, parties: &QuotaParties) -> ServiceResult<()>;

    /// Either: what this side did with a transfer it received, if it did.
    async fn lookup(&self, transfer_id: &str) -> ServiceResult<Option<(Fen, Verdict)>>;

    /// B: where and when a quota was spent, oldest first.
    async fn spends(&self, parties: &QuotaParties) -> ServiceResult<Vec<Spending>>;

    /// Either: this side's books about quotas with `peer`.
    async fn figures(&self, peer: u32) -> ServiceResult<Figures>;

    /// A: records the holder's end of the binding (after B's `bind_in`).
    async fn bind_out(&self, binding: &CrossBinding) -> ServiceResult<()>;

    /// A: the holder grants (or raises by) `amount`: reserved, and the grant's outbox row
    /// written with it.
    async fn reserve(&self, parties: &QuotaParties, amount: Fen) -> ServiceResult<Transfer>;

    /// A: the holder ends the binding; it stays ending until B confirms.
    async fn end_out(&self, parties: &QuotaParties) -> ServiceResult<()>;

    /// Either: the cross-province bindings where `psn_no` is the holder or the relative.
    async fn quotas_of(&self, psn_no: &str) -> ServiceResult<Vec<QuotaView>>;

    /// Either: every step waiting for a peer's answer, oldest first.
    async fn outbox(&self) -> ServiceResult<Vec<OutboxStep>>;

    /// The peer applied the transfer this side sent.
    async fn confirm(&self, transfer_id: &str) -> ServiceResult<()>;

    /// The peer refused the transfer this side sent: the amount goes back where it came from.
    async fn release(&self, transfer_id: &str, reason: &str) -> ServiceResult<()>;

    /// A: B answered that it ended its copy.
    async fn end_confirmed(&self, parties: &QuotaParties) -> ServiceResult<()>;

    /// A delivery failed; counted, with why, for the console.
    async fn note_attempt(&self, step: &OutboxStep, error: &str) -> ServiceResult<()>;
}
