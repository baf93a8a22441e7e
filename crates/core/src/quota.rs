//! Cross-province mutual aid through a quota (R-N3, DESIGN 12).
//!
//! Each province runs its own database, and nothing spans two of them in one transaction.
//! A quota therefore moves in idempotent steps, each keyed by a transfer id that the
//! sending province gives it:
//!
//! 1. the holder's province A **reserves** the amount: the holder's account pays into
//!    "held in B for this holder" (`QuotaOut`), above the holder's reserve;
//! 2. A asks B to **credit** it: B moves it from "owed to A" (`Peer`) into the relative's
//!    quota account (`Quota`), once per transfer id however often A asks;
//! 3. A **confirms** when B answers that it credited, or **releases** the reservation
//!    when B refuses;
//! 4. a **return** (the binding ends, or the holder lowers the quota) runs the same way in
//!    the other direction: B takes the amount out of the quota, A credits it back to the
//!    holder once per transfer id.
//!
//! This module decides each step from the facts a side has and checks, over both sides'
//! records, that nothing was lost or created on the way (`check_conservation`). The
//! engines store the postings and keep the outboxes; the rules are here.

use chrono::NaiveDate;

use crate::ledger::{LedgerAccount, Posting, PostingRule, PostingSet};
use crate::money::Fen;
use crate::policy::BindingPolicy;
use crate::refusal::Refusal;

/// Which way a transfer moves money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the holder's province A to the relative's province B: a quota granted.
    Grant,
    /// From B back to A: unused quota returned.
    Return,
}

impl Direction {
    pub fn code(self) -> &'static str {
        match self {
            Direction::Grant => "grant",
            Direction::Return => "return",
        }
    }

    pub fn parse(code: &str) -> Option<Direction> {
        [Direction::Grant, Direction::Return]
            .into_iter()
            .find(|d| d.code() == code)
    }
}

/// Where a transfer stands on the side that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SentState {
    /// Taken out on this side; the peer has not yet answered.
    Reserved,
    /// The peer answered that it applied the transfer.
    Confirmed,
    /// The peer refused it; the reservation went back.
    Released,
}

impl SentState {
    pub fn code(self) -> &'static str {
        match self {
            SentState::Reserved => "reserved",
            SentState::Confirmed => "confirmed",
            SentState::Released => "released",
        }
    }

    pub fn parse(code: &str) -> Option<SentState> {
        [
            SentState::Reserved,
            SentState::Confirmed,
            SentState::Released,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// Which end of a cross-province binding a province keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaSide {
    /// Province A: the holder is insured here.
    Holder,
    /// Province B: the relative is insured here.
    Relative,
}

impl QuotaSide {
    pub fn code(self) -> &'static str {
        match self {
            QuotaSide::Holder => "holder",
            QuotaSide::Relative => "relative",
        }
    }

    pub fn parse(code: &str) -> Option<QuotaSide> {
        [QuotaSide::Holder, QuotaSide::Relative]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// Where a cross-province binding stands on one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaBindingStatus {
    Active,
    /// On A: the holder ended it; B has not yet said that it ended its side (and sent back
    /// what was left).
    Ending,
    Ended,
}

impl QuotaBindingStatus {
    pub fn code(self) -> &'static str {
        match self {
            QuotaBindingStatus::Active => "active",
            QuotaBindingStatus::Ending => "ending",
            QuotaBindingStatus::Ended => "ended",
        }
    }

    pub fn parse(code: &str) -> Option<QuotaBindingStatus> {
        [
            QuotaBindingStatus::Active,
            QuotaBindingStatus::Ending,
            QuotaBindingStatus::Ended,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// One transfer as the side that sent it records it (its outbox row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentTransfer {
    pub id: String,
    pub amount: Fen,
    pub state: SentState,
}

/// One transfer as the side that received and applied it records it (its dedup row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedTransfer {
    pub id: String,
    pub amount: Fen,
}

/// The quota's three ledger accounts for one holder and one relative across two provinces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaParties {
    /// The holder's province (2 digits, e.g. 37).
    pub holder_province: u32,
    pub holder_psn_no: String,
    /// The relative's province.
    pub relative_province: u32,
    pub relative_psn_no: String,
}

impl QuotaParties {
    /// On A: what the holder has granted to B and not had back.
    pub fn quota_out(&self) -> LedgerAccount {
        LedgerAccount::QuotaOut {
            province: self.relative_province,
            holder: self.holder_psn_no.clone(),
        }
    }

    /// On B: what the relative may still spend of this holder's quota.
    pub fn quota(&self) -> LedgerAccount {
        LedgerAccount::Quota {
            province: self.holder_province,
            holder: self.holder_psn_no.clone(),
            relative: self.relative_psn_no.clone(),
        }
    }

    /// On B: what B owes A for quotas it holds (goes negative as quotas come in).
    pub fn peer(&self) -> LedgerAccount {
        LedgerAccount::Peer(self.holder_province)
    }

    fn holder_account(&self) -> LedgerAccount {
        LedgerAccount::Personal(self.holder_psn_no.clone())
    }
}

/// Whether a region takes part in cross-province mutual aid on `on` (a dated switch in its
/// policy; without it R-Y3/R-S5 stay the rule).
pub fn cross_province_open(policy: &BindingPolicy, on: NaiveDate) -> bool {
    policy.cross_province_from.is_some_and(|from| from <= on)
}

/// What one side knows when a cross-province binding is recorded (or checked) there.
#[derive(Clone, Debug)]
pub struct QuotaBindFacts<'a> {
    pub parties: &'a QuotaParties,
    /// The end this province keeps: the holder's (A) or the relative's (B).
    pub side: QuotaSide,
    /// This side's person (the holder on A, the relative on B), as registered here.
    pub person_province: u32,
    pub person_insured: bool,
    /// The person's insurance type is one this side's policy lets hold (A) or receive (B).
    pub insutype_allowed: bool,
    /// This side's policy (for the person's region).
    pub policy: &'a BindingPolicy,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    /// The day it is asked.
    pub on: NaiveDate,
}

/// A cross-province binding may be recorded on this side: the two are in different
/// provinces, this side's person is insured here normally with an insurance type the policy
/// lets take part, and this side's policy has joined by the binding's start (or today, if
/// later). Each side checks its own end; neither can see the other's registry.
pub fn judge_quota_bind(f: &QuotaBindFacts<'_>) -> Result<(), Refusal> {
    let p = f.parties;
    let own_province = match f.side {
        QuotaSide::Holder => p.holder_province,
        QuotaSide::Relative => p.relative_province,
    };
    if f.person_province != own_province {
        return Err(Refusal::QuotaWrongProvince);
    }
    if p.holder_province == p.relative_province {
        // Inside one province a binding is the ordinary one (R-Y3), not a quota.
        return Err(Refusal::QuotaNotAllowed);
    }
    if f.end.is_some_and(|end| end < f.begin) {
        return Err(Refusal::EndBeforeBegin);
    }
    if !cross_province_open(f.policy, f.begin.max(f.on)) {
        return Err(Refusal::QuotaNotAllowed);
    }
    if !f.person_insured {
        return Err(match f.side {
            QuotaSide::Holder => Refusal::HolderInsuranceInterrupted,
            QuotaSide::Relative => Refusal::RelativeNotInsured,
        });
    }
    if !f.insutype_allowed {
        return Err(match f.side {
            QuotaSide::Holder => Refusal::HolderNotEmployee,
            QuotaSide::Relative => Refusal::RelativeInsutypeNotAllowed,
        });
    }
    Ok(())
}

/// What a side keeps of a binding, for the steps that need it in force.
#[derive(Clone, Copy, Debug)]
pub struct BindingInForce {
    pub status: QuotaBindingStatus,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// A grant may be reserved (A) or credited (B) only under a binding in force on `on`, in a
/// region whose policy is open to cross-province aid that day.
pub fn judge_binding_in_force(
    binding: Option<&BindingInForce>,
    policy: &BindingPolicy,
    on: NaiveDate,
) -> Result<(), Refusal> {
    let in_force = binding.is_some_and(|b| {
        b.status == QuotaBindingStatus::Active && b.begin <= on && b.end.is_none_or(|e| on <= e)
    });
    if !in_force {
        return Err(Refusal::QuotaNotBound);
    }
    if !cross_province_open(policy, on) {
        return Err(Refusal::QuotaNotAllowed);
    }
    Ok(())
}

/// The id of a transfer: the sending province, `G` (grant) or `R` (return), and the
/// sender's journal entry that took the amount out, so ids never collide across provinces.
pub fn transfer_id(sender_province: u32, direction: Direction, entry_id: i64) -> String {
    let letter = match direction {
        Direction::Grant => 'G',
        Direction::Return => 'R',
    };
    format!("{sender_province:02}{letter}{entry_id:012}")
}

/// A received transfer id names the province that must have sent it and its direction.
pub fn check_transfer_id(
    id: &str,
    parties: &QuotaParties,
    direction: Direction,
) -> Result<(), Refusal> {
    let sender = match direction {
        Direction::Grant => parties.holder_province,
        Direction::Return => parties.relative_province,
    };
    let prefix = transfer_id(sender, direction, 0);
    let head = prefix.get(..3).unwrap_or_default();
    let tail = id.get(3..).unwrap_or_default();
    if id.len() > 64
        || !id.starts_with(head)
        || tail.is_empty()
        || !tail.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Refusal::QuotaBadTransferId);
    }
    Ok(())
}

/// A return A receives can never be more than A holds out for the holder: more would
/// create money on the way back.
pub fn check_return_fits(quota_out: Fen, amount: Fen) -> Result<(), Refusal> {
    if amount > quota_out {
        return Err(Refusal::QuotaExceedsRemaining {
            remaining: quota_out.max(Fen::ZERO),
        });
    }
    Ok(())
}

/// What a holder's quotas for several relatives in one province add up to: A keeps one
/// `QuotaOut` per holder and province, so B's sides are merged before they are checked.
pub fn merge_relative_sides<'a>(
    sides: impl IntoIterator<Item = &'a RelativeSide>,
) -> Result<RelativeSide, Discrepancy> {
    let mut out = RelativeSide::default();
    for s in sides {
        out.quota = out
            .quota
            .checked_add(s.quota)
            .ok_or(Discrepancy::Overflow)?;
        out.spent = out
            .spent
            .checked_add(s.spent)
            .ok_or(Discrepancy::Overflow)?;
        out.grants_applied.extend(s.grants_applied.iter().cloned());
        out.returns_sent.extend(s.returns_sent.iter().cloned());
    }
    Ok(out)
}

/// What A knows when the holder grants or raises a quota.
#[derive(Clone, Debug)]
pub struct ReserveFacts<'a> {
    pub parties: &'a QuotaParties,
    /// Both provinces' policies allow cross-province mutual aid on this day.
    pub allowed: bool,
    pub holder_balance: Fen,
    /// The holder's region's reserve: the grant may not take the account below it.
    pub reserve: Fen,
    pub amount: Fen,
}

/// Step 1 on A: the holder's account pays into `QuotaOut`, keeping the reserve.
pub fn decide_reserve(f: &ReserveFacts<'_>) -> Result<PostingSet, Refusal> {
    if !f.allowed {
        return Err(Refusal::QuotaNotAllowed);
    }
    positive_amount(f.amount)?;
    let available = f
        .holder_balance
        .checked_sub(f.reserve)
        .ok_or(Refusal::AmountOverflow)?
        .max(Fen::ZERO);
    if f.amount > available {
        return Err(Refusal::QuotaInsufficientBalance { available });
    }
    let p = f.parties;
    let why = format!(
        "省际共济额度{}元划往{}省，供家人在当地使用",
        f.amount, p.relative_province
    );
    two_postings(
        (p.holder_account(), Some(f.reserve)),
        (p.quota_out(), None),
        f.amount,
        &why,
    )
}

/// Step 3 on A when B refused: the reservation goes back to the holder, exactly.
pub fn decide_release(parties: &QuotaParties, sent: &SentTransfer) -> Result<PostingSet, Refusal> {
    if sent.state != SentState::Reserved {
        return Err(Refusal::QuotaTransferNotPending);
    }
    let why = format!("对方省份未接收额度{}元，退回本人账户", sent.amount);
    two_postings(
        (parties.quota_out(), None),
        (parties.holder_account(), None),
        sent.amount,
        &why,
    )
}

/// What B decides when A asks it to credit a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credit {
    /// Apply these postings and record the transfer as applied.
    Apply(PostingSet),
    /// This transfer id was applied before with the same amount: answer "credited" again,
    /// write nothing.
    AlreadyApplied,
}

/// What B knows when A asks it to credit a transfer.
#[derive(Clone, Debug)]
pub struct CreditFacts<'a> {
    pub parties: &'a QuotaParties,
    /// B's policy allows it and the relative is insured in B on this day.
    pub allowed: bool,
    pub transfer_id: &'a str,
    pub amount: Fen,
    /// The transfer with this id that B applied before, if any.
    pub applied_before: Option<&'a AppliedTransfer>,
}

/// Step 2 on B: credit the relative's quota, once per transfer id.
pub fn decide_credit(f: &CreditFacts<'_>) -> Result<Credit, Refusal> {
    if let Some(before) = f.applied_before {
        return if before.id == f.transfer_id && before.amount == f.amount {
            Ok(Credit::AlreadyApplied)
        } else {
            Err(Refusal::QuotaTransferMismatch)
        };
    }
    if !f.allowed {
        return Err(Refusal::QuotaNotAllowed);
    }
    positive_amount(f.amount)?;
    let p = f.parties;
    let why = format!(
        "收到{}省划入的省际共济额度{}元",
        p.holder_province, f.amount
    );
    two_postings((p.peer(), None), (p.quota(), None), f.amount, &why).map(Credit::Apply)
}

/// What B knows when the holder lowers or ends a quota.
#[derive(Clone, Debug)]
pub struct ReturnFacts<'a> {
    pub parties: &'a QuotaParties,
    /// What is left of the quota in B.
    pub remaining: Fen,
    /// `None` returns everything left (the binding ended).
    pub amount: Option<Fen>,
}

/// Step 4 on B: take the unused amount out of the quota, to be sent back to A.
/// Returning nothing (an empty quota on unbind) is not a transfer: `Ok(None)`.
pub fn decide_return(f: &ReturnFacts<'_>) -> Result<Option<(Fen, PostingSet)>, Refusal> {
    let amount = match f.amount {
        None if f.remaining.is_zero() => return Ok(None),
        None => f.remaining,
        Some(a) => {
            positive_amount(a)?;
            if a > f.remaining {
                return Err(Refusal::QuotaExceedsRemaining {
                    remaining: f.remaining,
                });
            }
            a
        }
    };
    let p = f.parties;
    let why = format!("省际共济额度未用完的{amount}元退回{}省", p.holder_province);
    two_postings((p.quota(), Some(Fen::ZERO)), (p.peer(), None), amount, &why)
        .map(|set| Some((amount, set)))
}

/// Step 4 on A: credit a returned amount back to the holder, once per transfer id.
pub fn decide_return_credit(
    parties: &QuotaParties,
    transfer_id: &str,
    amount: Fen,
    applied_before: Option<&AppliedTransfer>,
) -> Result<Credit, Refusal> {
    if let Some(before) = applied_before {
        return if before.id == transfer_id && before.amount == amount {
            Ok(Credit::AlreadyApplied)
        } else {
            Err(Refusal::QuotaTransferMismatch)
        };
    }
    positive_amount(amount)?;
    let why = format!(
        "{}省退回的省际共济额度{amount}元回到本人账户",
        parties.relative_province
    );
    two_postings(
        (parties.quota_out(), None),
        (parties.holder_account(), None),
        amount,
        &why,
    )
    .map(Credit::Apply)
}

/// Step 4 on B when A refused a return: the amount goes back into the quota it came from.
pub fn decide_return_release(
    parties: &QuotaParties,
    sent: &SentTransfer,
) -> Result<PostingSet, Refusal> {
    if sent.state != SentState::Reserved {
        return Err(Refusal::QuotaTransferNotPending);
    }
    let why = format!(
        "{}省未接收退回的额度{}元，额度恢复",
        parties.holder_province, sent.amount
    );
    two_postings(
        (parties.peer(), None),
        (parties.quota(), None),
        sent.amount,
        &why,
    )
}

/// Everything A holds about one holder's quota in one province B.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolderSide {
    /// The balance of `QuotaOut` for this holder and B.
    pub quota_out: Fen,
    /// Grants A sent (its outbox, every state).
    pub grants_sent: Vec<SentTransfer>,
    /// Returns from B that A applied.
    pub returns_applied: Vec<AppliedTransfer>,
}

/// Everything B holds about one holder's quota for one relative.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelativeSide {
    /// The balance of `Quota` for this holder and relative.
    pub quota: Fen,
    /// What settlements in B drew from the quota, net of cancels.
    pub spent: Fen,
    /// Grants from A that B applied.
    pub grants_applied: Vec<AppliedTransfer>,
    /// Returns B sent (its outbox, every state).
    pub returns_sent: Vec<SentTransfer>,
}

/// The money of one quota, split by where it is, when both sides agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaPosition {
    /// Reserved on A, not yet credited on B.
    pub granting: Fen,
    /// Credited on B and still unspent.
    pub remaining: Fen,
    /// Spent in B.
    pub spent: Fen,
    /// Taken out on B, not yet back on A.
    pub returning: Fen,
}

/// Where the two sides' records disagree: money lost or created on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discrepancy {
    /// B credited a grant A does not have, or released.
    CreditedWithoutGrant {
        id: String,
    },
    /// A confirmed a grant B never credited.
    ConfirmedNotCredited {
        id: String,
    },
    /// A applied a return B does not have, or released.
    ReturnedWithoutSend {
        id: String,
    },
    /// B confirmed a return A never applied.
    ConfirmedNotReturned {
        id: String,
    },
    /// The two sides record different amounts for one transfer.
    AmountsDiffer {
        id: String,
        sent: Fen,
        applied: Fen,
    },
    /// A side's account balance is not what its own transfer records add up to.
    LedgerDisagrees {
        side: &'static str,
        balance: Fen,
        records: Fen,
    },
    Overflow,
}

/// R-N3's promise, checked over both databases: every fen the holder granted is either on
/// its way, unspent in B, spent in B, or on its way back; and each side's account equals
/// what its own records say.
pub fn check_conservation(a: &HolderSide, b: &RelativeSide) -> Result<QuotaPosition, Discrepancy> {
    for applied in &b.grants_applied {
        match a.grants_sent.iter().find(|s| s.id == applied.id) {
            Some(s) if s.state != SentState::Released => same_amount(s, applied)?,
            _ => {
                return Err(Discrepancy::CreditedWithoutGrant {
                    id: applied.id.clone(),
                })
            }
        }
    }
    for sent in &a.grants_sent {
        if sent.state == SentState::Confirmed && !b.grants_applied.iter().any(|g| g.id == sent.id) {
            return Err(Discrepancy::ConfirmedNotCredited {
                id: sent.id.clone(),
            });
        }
    }
    for applied in &a.returns_applied {
        match b.returns_sent.iter().find(|s| s.id == applied.id) {
            Some(s) if s.state != SentState::Released => same_amount(s, applied)?,
            _ => {
                return Err(Discrepancy::ReturnedWithoutSend {
                    id: applied.id.clone(),
                })
            }
        }
    }
    for sent in &b.returns_sent {
        if sent.state == SentState::Confirmed && !a.returns_applied.iter().any(|r| r.id == sent.id)
        {
            return Err(Discrepancy::ConfirmedNotReturned {
                id: sent.id.clone(),
            });
        }
    }

    let live_grants = a
        .grants_sent
        .iter()
        .filter(|s| s.state != SentState::Released);
    let granted = sum(live_grants.clone().map(|s| s.amount))?;
    let returned_on_a = sum(a.returns_applied.iter().map(|r| r.amount))?;
    let a_records = granted
        .checked_sub(returned_on_a)
        .ok_or(Discrepancy::Overflow)?;
    if a_records != a.quota_out {
        return Err(Discrepancy::LedgerDisagrees {
            side: "holder",
            balance: a.quota_out,
            records: a_records,
        });
    }

    let credited = sum(b.grants_applied.iter().map(|g| g.amount))?;
    let live_returns = b
        .returns_sent
        .iter()
        .filter(|s| s.state != SentState::Released);
    let returned_from_b = sum(live_returns.clone().map(|s| s.amount))?;
    let b_records = credited
        .checked_sub(returned_from_b)
        .ok_or(Discrepancy::Overflow)?;
    let held_in_b = b.quota.checked_add(b.spent).ok_or(Discrepancy::Overflow)?;
    if b_records != held_in_b {
        return Err(Discrepancy::LedgerDisagrees {
            side: "relative",
            balance: held_in_b,
            records: b_records,
        });
    }

    let granting = sum(live_grants
        .filter(|s| !b.grants_applied.iter().any(|g| g.id == s.id))
        .map(|s| s.amount))?;
    let returning = sum(live_returns
        .filter(|s| !a.returns_applied.iter().any(|r| r.id == s.id))
        .map(|s| s.amount))?;
    Ok(QuotaPosition {
        granting,
        remaining: b.quota,
        spent: b.spent,
        returning,
    })
}

fn same_amount(sent: &SentTransfer, applied: &AppliedTransfer) -> Result<(), Discrepancy> {
    if sent.amount == applied.amount {
        Ok(())
    } else {
        Err(Discrepancy::AmountsDiffer {
            id: sent.id.clone(),
            sent: sent.amount,
            applied: applied.amount,
        })
    }
}

fn sum(amounts: impl Iterator<Item = Fen>) -> Result<Fen, Discrepancy> {
    Fen::checked_sum(amounts).ok_or(Discrepancy::Overflow)
}

fn positive_amount(amount: Fen) -> Result<(), Refusal> {
    if amount.is_negative() || amount.is_zero() || amount > Fen::INPUT_MAX {
        Err(Refusal::QuotaInvalidAmount)
    } else {
        Ok(())
    }
}

/// `amount` leaves `from` (keeping its floor) and arrives in `to`.
fn two_postings(
    from: (LedgerAccount, Option<Fen>),
    to: (LedgerAccount, Option<Fen>),
    amount: Fen,
    why: &str,
) -> Result<PostingSet, Refusal> {
    let out = amount.checked_neg().ok_or(Refusal::AmountOverflow)?;
    PostingSet::new(vec![
        Posting {
            account: from.0,
            amount: out,
            rule: PostingRule::Quota,
            floor: from.1,
            explanation: why.to_string(),
        },
        Posting {
            account: to.0,
            amount,
            rule: PostingRule::Quota,
            floor: to.1,
            explanation: why.to_string(),
        },
    ])
    .map_err(|_| Refusal::InternalUnbalanced)
}
