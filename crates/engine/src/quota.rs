//! Cross-province mutual aid in the engine (R-N3, issue 14): both ends of the quota
//! protocol, stored atomically with their postings. A province is "A" for the holders
//! insured in it and "B" for the relatives insured in it, so every engine runs both ends.
//! The rules (what each step posts, when it is refused, conservation) are
//! `gongji_core::quota`; this module looks the facts up, stores, and answers.
//!
//! # How the transport drives it
//!
//! Every step is a [`Command::Quota`] carrying a [`QuotaCommand`], run like any other
//! command (`Engine::execute(Request::new(..))`, or `EngineHandle::call` on the writer
//! thread). It answers `Outcome::Quota(Box<QuotaAnswer>)`. Each step commits in one
//! storage transaction with its journal entry (chained like every entry) and its outbox
//! or dedup row, so a crash between two steps loses nothing and the retry of a step is
//! answered from what was stored.
//!
//! ```text
//!  A (holder's province)                         B (relative's province)
//!  ─────────────────────                         ───────────────────────
//!  check: Engine::quota_check_holder              check: Engine::quota_check_relative
//!  BindOut   (record, no money)     ── bind ──▶   BindIn   (record, no money)
//!  Reserve   → Sent{Reserved}       ── credit ─▶  Credit   → Applied | Refused
//!  Confirm   (answer was Applied)                 (repeats answer the first result)
//!  Release   (answer was Refused)
//!                                                 ReturnReserve → Sent{Reserved}
//!  ReturnCredit → Applied | Refused ◀─ return ──
//!                                                 Confirm / Release (by transfer id)
//!  EndOut    → binding Ending       ── end ───▶   EndIn → binding Ended + its return
//!  EndConfirmed (B answered Ended)
//! ```
//!
//! - **Transfer ids** are made by the sender: `{province:02}G{entry:012}` for a grant (A's
//!   reserve entry), `{province:02}R{entry:012}` for a return (B's). The receiver keeps one
//!   row per id (`quota_applied`, UNIQUE): a repeat with the same amount answers the first
//!   result (`replayed: true`) and moves nothing; the same id with another amount is
//!   `GJ-QUOTA-TRANSFER-MISMATCH`.
//! - **Bind B first.** Send `BindIn` to B and have its `Binding` answer before the first
//!   `Reserve`: a `Credit` for a binding B does not keep is refused for good
//!   (`GJ-QUOTA-NOT-BOUND`) and the grant released.
//! - **Requests a person makes once** (`Reserve` on A; `ReturnReserve` on B when the holder
//!   lowers a quota from A) are not idempotent by themselves: send them with
//!   `Request::with_msgid` (and `with_render` to get the first answer back on a repeat).
//!   The transport sends `ReturnReserve` under `quota-lower:{A}:{holder}:{lower_id}`, the
//!   id A made when the person confirmed (`gongji_server::peer::engine_ledger`); a
//!   lowering from a caller without an id runs bare, as before ids were sent.
//!   Every other step is idempotent on its own.
//! - **A refusal by the peer is an answer, not an error.** `Credit`/`ReturnCredit` that
//!   the rules refuse record the refusal under the transfer id and answer
//!   [`QuotaAnswer::Refused`] (again on every repeat); the sender then runs `Release`.
//!   Any `Err(EngineError)` from a peer step (store failure, writer stopped) is not a
//!   refusal: the sender keeps the row Reserved and retries. [`peer_error_is_final`]
//!   says which errors a sender may treat as a final "no".
//! - **Confirm and Release** find the outbox row by transfer id, on either side. Both are
//!   idempotent: confirming a Confirmed row (releasing a Released one) answers the row as
//!   it is; the other way round is `GJ-QUOTA-TRANSFER-NOT-PENDING`.
//! - **Retry driver**: `Engine::quota_outbox()` lists the Reserved rows (both
//!   directions, oldest first) and `Engine::quota_endings()` the bindings A ended that B
//!   has not confirmed. `NoteAttempt` records a failed delivery (attempts, last error).
//! - **Conservation** (`gongji verify --peer`, `gongji province check`): `Engine::quota_holder_figures()` on A and
//!   `Engine::quota_relative_figures()` on B give what `check_conservation` needs (or
//!   [`figures_of_snapshot`] on a store's `load_snapshot()`, without an engine); pair them
//!   with [`pair_figures`], which merges a holder's relatives in one province first. A's
//!   `QuotaOut` keeps what was spent in B (B's `Peer(A)` owes it): conservation is
//!   own + granting + remaining + spent + returning = what the holder had.
//! - **Spending in B** needs nothing from the transport: a settlement for a relative with
//!   quotas draws on them after his own account (see `gongji_core::allocation`), and the
//!   spend log (`Engine::quota_spends`) is what B reports to A.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::allocation::QuotaFacts;
use gongji_core::codes::{Admdvs, Channel, Relationship};
use gongji_core::domain::Person;
use gongji_core::ledger::{LedgerAccount, PostingSet};
use gongji_core::policy::Policy;
use gongji_core::quota::{
    check_return_fits, check_transfer_id, decide_credit, decide_release, decide_reserve,
    decide_return, decide_return_credit, decide_return_release, judge_binding_in_force,
    judge_quota_bind, merge_relative_sides, transfer_id, BindingInForce, Credit, CreditFacts,
    QuotaBindFacts, ReserveFacts, ReturnFacts,
};
use gongji_core::{Fen, Refusal};
use gongji_store::{AuditRow, JournalEntry, Snapshot, Store, StoredSettlement, Write};

pub use gongji_core::quota::{
    check_conservation, AppliedTransfer, Direction, Discrepancy, HolderSide, QuotaBindingStatus,
    QuotaParties, QuotaPosition, QuotaSide, RelativeSide, SentState, SentTransfer,
};
pub use gongji_store::{QuotaAppliedRow, QuotaBindingRow, QuotaSentRow, QuotaSpendRow};

use crate::command::{EngineError, Settled};
use crate::engine::{fmt_time, Engine, Pending};

/// A cross-province binding to record on one side.
#[derive(Clone, Debug)]
pub struct QuotaBindCommand {
    pub parties: QuotaParties,
    pub relationship: Relationship,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub channel: Channel,
    /// Who asked (the holder's psn_no, a clerk, or `peer:{province}` for B's copy).
    pub actor: String,
    pub at: NaiveDateTime,
}

/// One step of the quota protocol.
#[derive(Clone, Debug)]
pub enum QuotaCommand {
    /// A: records the holder's cross-province binding (no money). The holder must be
    /// insured here and both provinces' policies must allow it on `begin`; B's own check is
    /// `BindIn`, which the transport asks before this (or right after, ending it on "no").
    BindOut(QuotaBindCommand),
    /// B: records its copy of the binding (no money), after checking the relative is
    /// insured here and B's policy allows cross-province aid. A repeat answers the row.
    BindIn(QuotaBindCommand),
    /// A: the holder grants (or raises by) `amount`: his account pays into `QuotaOut`,
    /// keeping his region's reserve, and an outbox row (Reserved, a new transfer id) is
    /// written with it. Answers [`QuotaAnswer::Sent`]: send it to B.
    Reserve {
        parties: QuotaParties,
        amount: Fen,
        channel: Channel,
        actor: String,
        at: NaiveDateTime,
    },
    /// B: A asks to credit a grant. Answers `Applied` or `Refused`, the first time and on
    /// every repeat.
    Credit {
        parties: QuotaParties,
        transfer_id: String,
        amount: Fen,
        at: NaiveDateTime,
    },
    /// B: the holder lowers the quota by `amount` (`None`: everything left). Takes it out of
    /// the quota into `Peer(A)` with an outbox row (Reserved). Answers `Sent`, or
    /// `NothingToReturn` when `None` finds an empty quota.
    ReturnReserve {
        parties: QuotaParties,
        amount: Option<Fen>,
        channel: Channel,
        actor: String,
        at: NaiveDateTime,
    },
    /// A: B returns money: `QuotaOut` → the holder's account, once per transfer id.
    /// Answers `Applied` or `Refused`, the first time and on every repeat.
    ReturnCredit {
        parties: QuotaParties,
        transfer_id: String,
        amount: Fen,
        at: NaiveDateTime,
    },
    /// Either side: the peer applied the transfer this side sent. Answers `Sent`.
    Confirm {
        transfer_id: String,
        at: NaiveDateTime,
    },
    /// Either side: the peer refused the transfer this side sent; the amount goes back
    /// where it came from (the holder's account on A, the quota on B). Answers `Sent`.
    Release {
        transfer_id: String,
        reason: String,
        at: NaiveDateTime,
    },
    /// A: the holder ends the binding. It stays `Ending` (no new grants) until B confirms;
    /// what is left in B comes back as a return. Answers `Binding`.
    EndOut {
        parties: QuotaParties,
        channel: Channel,
        actor: String,
        at: NaiveDateTime,
    },
    /// B: ends its copy and, in the same transaction, takes everything left out for
    /// return. A repeat answers the same (the return made the first time, if any).
    /// Answers `Ended`.
    EndIn {
        parties: QuotaParties,
        at: NaiveDateTime,
    },
    /// A: B answered that it ended its copy. Answers `Binding` (now Ended).
    EndConfirmed {
        parties: QuotaParties,
        at: NaiveDateTime,
    },
    /// Either side: a delivery of an outbox row failed; counted, with why. Answers `Sent`.
    NoteAttempt {
        transfer_id: String,
        error: Option<String>,
        at: NaiveDateTime,
    },
}

/// What a quota step answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaAnswer {
    /// The binding as this side now keeps it.
    Binding(QuotaBindingRow),
    /// The outbox row as it now stands.
    Sent(QuotaSentRow),
    /// `ReturnReserve` of everything left found nothing left: no transfer.
    NothingToReturn,
    /// B ended its copy; the return of what was left, if anything was.
    Ended {
        binding: QuotaBindingRow,
        ret: Option<QuotaSentRow>,
    },
    /// The transfer is applied on this side; `replayed`: it was before, nothing moved now.
    Applied {
        row: QuotaAppliedRow,
        replayed: bool,
    },
    /// This side refused the transfer for good (its row says why); the sender releases.
    Refused {
        row: QuotaAppliedRow,
        replayed: bool,
    },
}

/// One holder's quotas in one other province, as A keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderFigures {
    pub holder_province: u32,
    pub holder_psn_no: String,
    pub relative_province: u32,
    pub side: HolderSide,
}

/// One quota (holder, relative), as B keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelativeFigures {
    pub parties: QuotaParties,
    pub side: RelativeSide,
}

/// Both sides' figures from a database's snapshot, without starting an engine (for a
/// command that reads a province's database directly): what A keeps of its holders'
/// quotas, and what B keeps of its relatives'.
pub fn figures_of_snapshot(snap: Snapshot) -> (Vec<HolderFigures>, Vec<RelativeFigures>) {
    let balances = snap.balances;
    let book = QuotaBook::from_rows(
        snap.quota_bindings,
        snap.quota_sent,
        snap.quota_applied,
        snap.quota_spends,
    );
    let balance = |key: &str| balances.get(key).copied().unwrap_or(Fen::ZERO);
    (book.holder_figures(balance), book.relative_figures(balance))
}

/// One holder's conservation across two provinces, as [`pair_figures`] checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCheck {
    pub holder_province: u32,
    pub holder_psn_no: String,
    pub relative_province: u32,
    pub result: Result<QuotaPosition, Discrepancy>,
}

/// Whether an error a peer answered is a final "no" (on a transfer: the sender may
/// release; on a bind or a check: the holder is told no). Passing failures are not: a store
/// that could not write, a stopped writer, a batch stopped by a floor check; the sender
/// keeps its row and tries again. Nor is `GJ-QUOTA-TRANSFER-MISMATCH`: the peer holds this
/// id with another amount, and releasing could create money; staff must look.
pub fn peer_error_is_final(e: &EngineError) -> bool {
    !matches!(
        e,
        EngineError::Store(_)
            | EngineError::WriterStopped
            | EngineError::FloorBreached(_)
            | EngineError::Refused(Refusal::QuotaTransferMismatch)
    )
}

/// Checks every holder of A against B's records of his quotas: `holders` from A's
/// `quota_holder_figures`, `relatives` from B's `quota_relative_figures` (B's quotas of
/// one holder are merged first, since A keeps one `QuotaOut` per holder and province).
/// Holders A does not send to B's province are left out; a quota B keeps for a holder A
/// does not know is a discrepancy.
pub fn pair_figures(
    holder_province: u32,
    relative_province: u32,
    holders: &[HolderFigures],
    relatives: &[RelativeFigures],
) -> Vec<PeerCheck> {
    let mut b_sides: BTreeMap<&str, Vec<&RelativeSide>> = BTreeMap::new();
    for r in relatives.iter().filter(|r| {
        r.parties.holder_province == holder_province
            && r.parties.relative_province == relative_province
    }) {
        b_sides
            .entry(r.parties.holder_psn_no.as_str())
            .or_default()
            .push(&r.side);
    }
    let empty = HolderSide::default();
    let a_sides: BTreeMap<&str, &HolderSide> = holders
        .iter()
        .filter(|h| {
            h.holder_province == holder_province && h.relative_province == relative_province
        })
        .map(|h| (h.holder_psn_no.as_str(), &h.side))
        .collect();
    let mut holders_seen: Vec<&str> = a_sides.keys().copied().collect();
    holders_seen.extend(b_sides.keys().copied().filter(|h| !a_sides.contains_key(h)));
    holders_seen.sort_unstable();
    holders_seen
        .into_iter()
        .map(|holder| {
            let a = a_sides.get(holder).copied().unwrap_or(&empty);
            let b = b_sides.get(holder).map(Vec::as_slice).unwrap_or_default();
            PeerCheck {
                holder_province,
                holder_psn_no: holder.to_string(),
                relative_province,
                result: merge_relative_sides(b.iter().copied())
                    .and_then(|b| check_conservation(a, &b)),
            }
        })
        .collect()
}

type Key = (u32, String, u32, String);

fn key(p: &QuotaParties) -> Key {
    (
        p.holder_province,
        p.holder_psn_no.clone(),
        p.relative_province,
        p.relative_psn_no.clone(),
    )
}

/// The quota rows in memory, loaded with the rest of the hot set and kept in step with
/// every batch (a failed commit reloads them with everything else).
#[derive(Clone, Debug, Default)]
pub struct QuotaBook {
    bindings: BTreeMap<Key, QuotaBindingRow>,
    /// Relative psn_no → the keys of his quotas kept here (B).
    by_relative: HashMap<String, Vec<Key>>,
    sent: HashMap<String, QuotaSentRow>,
    applied: HashMap<String, QuotaAppliedRow>,
    spends: BTreeMap<Key, Vec<QuotaSpendRow>>,
}

impl QuotaBook {
    pub fn from_rows(
        bindings: Vec<QuotaBindingRow>,
        sent: Vec<QuotaSentRow>,
        applied: Vec<QuotaAppliedRow>,
        spends: Vec<QuotaSpendRow>,
    ) -> QuotaBook {
        let mut book = QuotaBook::default();
        for b in bindings {
            book.put_binding(b);
        }
        for r in sent {
            book.sent.insert(r.transfer_id.clone(), r);
        }
        for r in applied {
            book.applied.insert(r.transfer_id.clone(), r);
        }
        for r in spends {
            book.spends.entry(key(&r.parties)).or_default().push(r);
        }
        book
    }

    fn put_binding(&mut self, b: QuotaBindingRow) {
        let k = key(&b.parties);
        if b.side == QuotaSide::Relative {
            let keys = self
                .by_relative
                .entry(b.parties.relative_psn_no.clone())
                .or_default();
            if !keys.contains(&k) {
                keys.push(k.clone());
            }
        }
        self.bindings.insert(k, b);
    }

    pub fn binding(&self, parties: &QuotaParties) -> Option<&QuotaBindingRow> {
        self.bindings.get(&key(parties))
    }

    /// B: the quotas kept here for this relative.
    pub fn quotas_of(&self, relative: &str) -> impl Iterator<Item = &QuotaBindingRow> {
        self.by_relative
            .get(relative)
            .into_iter()
            .flatten()
            .filter_map(|k| self.bindings.get(k))
    }

    /// B: what settlements drew on one quota, net of cancels.
    fn add_spend(&mut self, row: QuotaSpendRow) {
        self.spends.entry(key(&row.parties)).or_default().push(row);
    }

    /// A: for every holder and every province his quotas went to, what
    /// `check_conservation` needs from A.
    pub fn holder_figures(&self, balance: impl Fn(&str) -> Fen) -> Vec<HolderFigures> {
        let book = self;
        let mut out: BTreeMap<(u32, String, u32), HolderSide> = BTreeMap::new();
        let group = |p: &QuotaParties| {
            (
                p.holder_province,
                p.holder_psn_no.clone(),
                p.relative_province,
            )
        };
        for b in book
            .bindings
            .values()
            .filter(|b| b.side == QuotaSide::Holder)
        {
            out.entry(group(&b.parties)).or_default();
        }
        for r in book
            .sent
            .values()
            .filter(|r| r.direction == Direction::Grant)
        {
            out.entry(group(&r.parties))
                .or_default()
                .grants_sent
                .push(sent_transfer(r));
        }
        for r in book
            .applied
            .values()
            .filter(|r| r.direction == Direction::Return && r.refusal_code.is_none())
        {
            out.entry(group(&r.parties))
                .or_default()
                .returns_applied
                .push(applied_transfer(r));
        }
        out.into_iter()
            .map(|((hp, holder, rp), mut side)| {
                side.quota_out = balance(
                    &LedgerAccount::QuotaOut {
                        province: rp,
                        holder: holder.clone(),
                    }
                    .key(),
                );
                side.grants_sent.sort_by(|a, b| a.id.cmp(&b.id));
                side.returns_applied.sort_by(|a, b| a.id.cmp(&b.id));
                HolderFigures {
                    holder_province: hp,
                    holder_psn_no: holder,
                    relative_province: rp,
                    side,
                }
            })
            .collect()
    }

    /// B: for every quota (holder, relative) kept here, what `check_conservation` needs
    /// from B.
    pub fn relative_figures(&self, balance: impl Fn(&str) -> Fen) -> Vec<RelativeFigures> {
        let book = self;
        let mut out: BTreeMap<Key, (QuotaParties, RelativeSide)> = BTreeMap::new();
        fn slot<'a>(
            out: &'a mut BTreeMap<Key, (QuotaParties, RelativeSide)>,
            p: &QuotaParties,
        ) -> &'a mut RelativeSide {
            &mut out
                .entry(key(p))
                .or_insert_with(|| (p.clone(), RelativeSide::default()))
                .1
        }
        for b in book
            .bindings
            .values()
            .filter(|b| b.side == QuotaSide::Relative)
        {
            slot(&mut out, &b.parties);
        }
        for r in book
            .applied
            .values()
            .filter(|r| r.direction == Direction::Grant && r.refusal_code.is_none())
        {
            slot(&mut out, &r.parties)
                .grants_applied
                .push(applied_transfer(r));
        }
        for r in book
            .sent
            .values()
            .filter(|r| r.direction == Direction::Return)
        {
            slot(&mut out, &r.parties)
                .returns_sent
                .push(sent_transfer(r));
        }
        for spends in book.spends.values() {
            if let Some(first) = spends.first() {
                slot(&mut out, &first.parties);
            }
        }
        out.into_values()
            .map(|(parties, mut side)| {
                side.quota = balance(&parties.quota().key());
                side.spent = book.spent(&parties).unwrap_or(Fen::ZERO);
                side.grants_applied.sort_by(|a, b| a.id.cmp(&b.id));
                side.returns_sent.sort_by(|a, b| a.id.cmp(&b.id));
                RelativeFigures { parties, side }
            })
            .collect()
    }

    pub fn spent(&self, parties: &QuotaParties) -> Option<Fen> {
        Fen::checked_sum(
            self.spends
                .get(&key(parties))
                .into_iter()
                .flatten()
                .map(|s| s.amount),
        )
    }
}

fn in_force(b: &QuotaBindingRow) -> BindingInForce {
    BindingInForce {
        status: b.status,
        begin: b.begin,
        end: b.end,
    }
}

fn sent_transfer(r: &QuotaSentRow) -> SentTransfer {
    SentTransfer {
        id: r.transfer_id.clone(),
        amount: r.amount,
        state: r.state,
    }
}

fn applied_transfer(r: &QuotaAppliedRow) -> AppliedTransfer {
    AppliedTransfer {
        id: r.transfer_id.clone(),
        amount: r.amount,
    }
}

/// The answer to a transfer id received before: the first result, if the request is the
/// same one.
fn replay(
    before: &QuotaAppliedRow,
    parties: &QuotaParties,
    direction: Direction,
    amount: Fen,
) -> Result<QuotaAnswer, EngineError> {
    if before.direction != direction || before.amount != amount || &before.parties != parties {
        return Err(Refusal::QuotaTransferMismatch.into());
    }
    let row = before.clone();
    Ok(if row.refusal_code.is_some() {
        QuotaAnswer::Refused {
            row,
            replayed: true,
        }
    } else {
        QuotaAnswer::Applied {
            row,
            replayed: true,
        }
    })
}

impl<S: Store> Engine<S> {
    /// A: whether this holder may bind a relative in `parties.relative_province` on `on`
    /// (insured here, this province's policy open to cross-province aid). Changes nothing.
    pub fn quota_check_holder(
        &self,
        parties: &QuotaParties,
        on: NaiveDate,
    ) -> Result<(), EngineError> {
        self.quota_check(QuotaSide::Holder, parties, on, None, on)
            .map(|_| ())
    }

    /// B: whether this relative may receive a quota from `parties.holder_province` on `on`
    /// (insured here, this province's policy open to cross-province aid). Changes nothing.
    pub fn quota_check_relative(
        &self,
        parties: &QuotaParties,
        on: NaiveDate,
    ) -> Result<(), EngineError> {
        self.quota_check(QuotaSide::Relative, parties, on, None, on)
            .map(|_| ())
    }

    /// Both sides: the outbox rows still waiting for the peer's answer (Reserved), oldest
    /// first: what the retry driver sends again.
    pub fn quota_outbox(&self) -> Vec<QuotaSentRow> {
        let mut rows: Vec<QuotaSentRow> = self
            .state
            .quota
            .sent
            .values()
            .filter(|r| r.state == SentState::Reserved)
            .cloned()
            .collect();
        rows.sort_by_key(|r| r.entry_id);
        rows
    }

    /// A: the bindings the holder ended that B has not yet confirmed ended.
    pub fn quota_endings(&self) -> Vec<QuotaBindingRow> {
        self.state
            .quota
            .bindings
            .values()
            .filter(|b| b.side == QuotaSide::Holder && b.status == QuotaBindingStatus::Ending)
            .cloned()
            .collect()
    }

    /// Both sides: one outbox row by transfer id.
    pub fn quota_sent(&self, transfer_id: &str) -> Option<QuotaSentRow> {
        self.state.quota.sent.get(transfer_id).cloned()
    }

    /// Both sides: what this side received under a transfer id (applied or refused).
    pub fn quota_applied(&self, transfer_id: &str) -> Option<QuotaAppliedRow> {
        self.state.quota.applied.get(transfer_id).cloned()
    }

    /// Both sides: the bindings this province keeps where `psn_no` is the holder or the
    /// relative.
    pub fn quota_bindings_of(&self, psn_no: &str) -> Vec<QuotaBindingRow> {
        self.state
            .quota
            .bindings
            .values()
            .filter(|b| b.parties.holder_psn_no == psn_no || b.parties.relative_psn_no == psn_no)
            .cloned()
            .collect()
    }

    /// B: what is left of one quota.
    pub fn quota_remaining(&self, parties: &QuotaParties) -> Fen {
        self.state.balance(&parties.quota().key())
    }

    /// A: what the holder has out in `parties.relative_province` (granted, not returned).
    pub fn quota_out(&self, parties: &QuotaParties) -> Fen {
        self.state.balance(&parties.quota_out().key())
    }

    /// B: where and when one quota was spent (and cancels, negative), oldest first.
    pub fn quota_spends(&self, parties: &QuotaParties) -> Vec<QuotaSpendRow> {
        self.state
            .quota
            .spends
            .get(&key(parties))
            .cloned()
            .unwrap_or_default()
    }

    /// A: for every holder and every province his quotas went to, what
    /// `check_conservation` needs from A.
    pub fn quota_holder_figures(&self) -> Vec<HolderFigures> {
        self.state
            .quota
            .holder_figures(|key| self.state.balance(key))
    }

    /// B: for every quota (holder, relative) kept here, what `check_conservation` needs
    /// from B.
    pub fn quota_relative_figures(&self) -> Vec<RelativeFigures> {
        self.state
            .quota
            .relative_figures(|key| self.state.balance(key))
    }

    /// This side's person of a binding, judged for a cross-province binding from `begin`.
    fn quota_check(
        &self,
        side: QuotaSide,
        parties: &QuotaParties,
        begin: NaiveDate,
        end: Option<NaiveDate>,
        on: NaiveDate,
    ) -> Result<&Person, EngineError> {
        let psn_no = match side {
            QuotaSide::Holder => &parties.holder_psn_no,
            QuotaSide::Relative => &parties.relative_psn_no,
        };
        let person = self
            .state
            .persons
            .get(psn_no)
            .ok_or_else(|| EngineError::UnknownPerson(psn_no.clone()))?;
        let policy = self.policy_for(person)?;
        let allowed_types = match side {
            QuotaSide::Holder => &policy.binding.holder_insutypes,
            QuotaSide::Relative => &policy.binding.relative_insutypes,
        };
        judge_quota_bind(&QuotaBindFacts {
            parties,
            side,
            person_province: person.admdvs.province(),
            person_insured: person.is_insured_normally(),
            insutype_allowed: allowed_types.contains(&person.insutype),
            policy: &policy.binding,
            begin,
            end,
            on,
        })?;
        Ok(person)
    }

    pub(crate) fn quota(
        &mut self,
        cmd: QuotaCommand,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        match cmd {
            QuotaCommand::BindOut(c) => self.quota_bind(c, QuotaSide::Holder, pending),
            QuotaCommand::BindIn(c) => self.quota_bind(c, QuotaSide::Relative, pending),
            QuotaCommand::Reserve {
                parties,
                amount,
                channel,
                actor,
                at,
            } => self.quota_reserve(&parties, amount, channel, actor, at, pending),
            QuotaCommand::Credit {
                parties,
                transfer_id,
                amount,
                at,
            } => self.quota_receive(
                Direction::Grant,
                &parties,
                &transfer_id,
                amount,
                at,
                pending,
            ),
            QuotaCommand::ReturnCredit {
                parties,
                transfer_id,
                amount,
                at,
            } => self.quota_receive(
                Direction::Return,
                &parties,
                &transfer_id,
                amount,
                at,
                pending,
            ),
            QuotaCommand::ReturnReserve {
                parties,
                amount,
                channel,
                actor,
                at,
            } => Ok(
                match self.quota_return(&parties, amount, channel, &actor, at, pending)? {
                    Some(row) => QuotaAnswer::Sent(row),
                    None => QuotaAnswer::NothingToReturn,
                },
            ),
            QuotaCommand::Confirm { transfer_id, at } => {
                self.quota_confirm(&transfer_id, at, pending)
            }
            QuotaCommand::Release {
                transfer_id,
                reason,
                at,
            } => self.quota_release(&transfer_id, reason, at, pending),
            QuotaCommand::EndOut {
                parties,
                channel,
                actor,
                at,
            } => self.quota_end_out(&parties, channel, actor, at, pending),
            QuotaCommand::EndIn { parties, at } => self.quota_end_in(&parties, at, pending),
            QuotaCommand::EndConfirmed { parties, at } => {
                let before = self
                    .state
                    .quota
                    .binding(&parties)
                    .filter(|b| b.side == QuotaSide::Holder)
                    .cloned()
                    .ok_or(Refusal::QuotaNotBound)?;
                if before.status == QuotaBindingStatus::Ended {
                    return Ok(QuotaAnswer::Binding(before));
                }
                let mut after = before;
                after.status = QuotaBindingStatus::Ended;
                after.updated_at = fmt_time(at);
                self.put_quota_binding(after.clone(), pending);
                Ok(QuotaAnswer::Binding(after))
            }
            QuotaCommand::NoteAttempt {
                transfer_id,
                error,
                at,
            } => {
                let mut row = self
                    .state
                    .quota
                    .sent
                    .get(&transfer_id)
                    .cloned()
                    .ok_or(Refusal::QuotaUnknownTransfer)?;
                row.attempts = row.attempts.saturating_add(1);
                row.last_error = error;
                row.updated_at = fmt_time(at);
                self.put_quota_sent(row.clone(), pending);
                Ok(QuotaAnswer::Sent(row))
            }
        }
    }

    fn put_quota_binding(&mut self, row: QuotaBindingRow, pending: &mut Pending) {
        pending.writes.push(Write::QuotaBinding(row.clone()));
        self.state.quota.put_binding(row);
    }

    fn put_quota_sent(&mut self, row: QuotaSentRow, pending: &mut Pending) {
        pending.writes.push(Write::QuotaSent(row.clone()));
        self.state.quota.sent.insert(row.transfer_id.clone(), row);
    }

    fn admdvs_of(&self, psn_no: &str) -> Result<String, EngineError> {
        self.state
            .persons
            .get(psn_no)
            .map(|p| p.admdvs.to_string())
            .ok_or_else(|| EngineError::UnknownPerson(psn_no.to_string()))
    }

    fn quota_bind(
        &mut self,
        c: QuotaBindCommand,
        side: QuotaSide,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        self.quota_check(side, &c.parties, c.begin, c.end, c.at.date())?;
        let before = self.state.quota.binding(&c.parties).cloned();
        if let Some(b) = &before {
            if b.status != QuotaBindingStatus::Ended {
                // Bound already (a repeat, or B's copy asked again): the row as it is.
                return Ok(QuotaAnswer::Binding(b.clone()));
            }
        }
        let now = fmt_time(c.at);
        let row = QuotaBindingRow {
            parties: c.parties,
            side,
            relationship: c.relationship,
            begin: c.begin,
            end: c.end,
            status: QuotaBindingStatus::Active,
            created_at: now.clone(),
            updated_at: now,
        };
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(c.at),
            actor: c.actor,
            channel: c.channel.code().into(),
            action: match side {
                QuotaSide::Holder => "quota_bind_out",
                QuotaSide::Relative => "quota_bind_in",
            }
            .into(),
            subject: quota_subject(&row.parties),
            before_state: before.as_ref().map(describe_binding),
            after_state: Some(describe_binding(&row)),
        }));
        self.put_quota_binding(row.clone(), pending);
        Ok(QuotaAnswer::Binding(row))
    }

    /// Takes `amount` out on this side by `set` and writes the outbox row that sends it.
    #[allow(clippy::too_many_arguments)]
    fn quota_send(
        &mut self,
        direction: Direction,
        parties: &QuotaParties,
        amount: Fen,
        set: &PostingSet,
        channel: Channel,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaSentRow, EngineError> {
        let (sender_province, psn_no, kind) = match direction {
            Direction::Grant => (
                parties.holder_province,
                &parties.holder_psn_no,
                "quota_grant",
            ),
            Direction::Return => (
                parties.relative_province,
                &parties.relative_psn_no,
                "quota_return",
            ),
        };
        let admdvs = self.admdvs_of(psn_no)?;
        let id = transfer_id(sender_province, direction, self.state.next_entry_id);
        let summary = match direction {
            Direction::Grant => format!(
                "省际共济额度{amount}元划往{}省（划拨编号{id}）",
                parties.relative_province
            ),
            Direction::Return => format!(
                "省际共济额度{amount}元退回{}省（划拨编号{id}）",
                parties.holder_province
            ),
        };
        let entry = self.new_entry(kind, &admdvs, Some(psn_no), None, channel, at, set, summary)?;
        let now = fmt_time(at);
        let row = QuotaSentRow {
            transfer_id: id,
            direction,
            parties: parties.clone(),
            amount,
            state: SentState::Reserved,
            entry_id: entry.entry_id,
            release_entry_id: None,
            attempts: 0,
            last_error: None,
            created_at: now.clone(),
            updated_at: now,
        };
        self.apply_entry(&entry);
        pending.writes.push(Write::Entry(entry));
        self.put_quota_sent(row.clone(), pending);
        Ok(row)
    }

    fn quota_reserve(
        &mut self,
        parties: &QuotaParties,
        amount: Fen,
        channel: Channel,
        actor: String,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        let on = at.date();
        let binding = self
            .state
            .quota
            .binding(parties)
            .filter(|b| b.side == QuotaSide::Holder)
            .map(in_force);
        let (begin, end) = binding.map_or((on, None), |b| (b.begin, b.end));
        let holder = self.quota_check(QuotaSide::Holder, parties, begin, end, on)?;
        let policy = self.policy_for(holder)?;
        judge_binding_in_force(binding.as_ref(), &policy.binding, on)?;
        let set = decide_reserve(&ReserveFacts {
            parties,
            allowed: true,
            holder_balance: self
                .state
                .balance(&LedgerAccount::Personal(holder.psn_no.clone()).key()),
            reserve: policy.payment.reserve,
            amount,
        })?;
        let row = self.quota_send(
            Direction::Grant,
            parties,
            amount,
            &set,
            channel,
            at,
            pending,
        )?;
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(at),
            actor,
            channel: channel.code().into(),
            action: "quota_reserve".into(),
            subject: quota_subject(parties),
            before_state: None,
            after_state: Some(describe_sent(&row)),
        }));
        Ok(QuotaAnswer::Sent(row))
    }

    /// B lowers or empties a quota: the amount leaves it for A, with its outbox row.
    fn quota_return(
        &mut self,
        parties: &QuotaParties,
        amount: Option<Fen>,
        channel: Channel,
        actor: &str,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<Option<QuotaSentRow>, EngineError> {
        if self
            .state
            .quota
            .binding(parties)
            .is_none_or(|b| b.side != QuotaSide::Relative)
        {
            return Err(Refusal::QuotaNotBound.into());
        }
        let Some((amount, set)) = decide_return(&ReturnFacts {
            parties,
            remaining: self.quota_remaining(parties),
            amount,
        })?
        else {
            return Ok(None);
        };
        let row = self.quota_send(
            Direction::Return,
            parties,
            amount,
            &set,
            channel,
            at,
            pending,
        )?;
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(at),
            actor: actor.to_string(),
            channel: channel.code().into(),
            action: "quota_return".into(),
            subject: quota_subject(parties),
            before_state: None,
            after_state: Some(describe_sent(&row)),
        }));
        Ok(Some(row))
    }

    /// The receiving end of a transfer: B credits a grant, A credits a return. Once per
    /// transfer id; a refusal is recorded as the answer for good.
    fn quota_receive(
        &mut self,
        direction: Direction,
        parties: &QuotaParties,
        id: &str,
        amount: Fen,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        check_transfer_id(id, parties, direction)?;
        if let Some(before) = self.state.quota.applied.get(id) {
            return replay(before, parties, direction, amount);
        }
        let decided = match direction {
            Direction::Grant => self.judge_credit(parties, id, amount, at.date()),
            Direction::Return => self.judge_return_credit(parties, id, amount),
        };
        let mut row = QuotaAppliedRow {
            transfer_id: id.to_string(),
            direction,
            parties: parties.clone(),
            amount,
            entry_id: None,
            refusal_code: None,
            refusal_zh: None,
            at: fmt_time(at),
        };
        let answer = match decided {
            Ok(Credit::Apply(set)) => {
                let (psn_no, kind, summary) = match direction {
                    Direction::Grant => (
                        &parties.relative_psn_no,
                        "quota_credit",
                        format!(
                            "收到{}省划入的省际共济额度{amount}元（划拨编号{id}）",
                            parties.holder_province
                        ),
                    ),
                    Direction::Return => (
                        &parties.holder_psn_no,
                        "quota_return_credit",
                        format!(
                            "{}省退回的省际共济额度{amount}元回到本人账户（划拨编号{id}）",
                            parties.relative_province
                        ),
                    ),
                };
                let admdvs = self.admdvs_of(psn_no)?;
                let entry = self.new_entry(
                    kind,
                    &admdvs,
                    Some(psn_no),
                    None,
                    Channel::BatchImport,
                    at,
                    &set,
                    summary,
                )?;
                row.entry_id = Some(entry.entry_id);
                self.apply_entry(&entry);
                pending.writes.push(Write::Entry(entry));
                QuotaAnswer::Applied {
                    row: row.clone(),
                    replayed: false,
                }
            }
            // Not reached: nothing was applied under this id (looked up above).
            Ok(Credit::AlreadyApplied) => return Err(Refusal::QuotaTransferMismatch.into()),
            Err(refusal) => {
                row.refusal_code = Some(refusal.code().to_string());
                row.refusal_zh = Some(refusal.message_zh());
                QuotaAnswer::Refused {
                    row: row.clone(),
                    replayed: false,
                }
            }
        };
        pending.writes.push(Write::QuotaApplied(row.clone()));
        self.state
            .quota
            .applied
            .insert(row.transfer_id.clone(), row);
        Ok(answer)
    }

    fn judge_credit(
        &self,
        parties: &QuotaParties,
        id: &str,
        amount: Fen,
        on: NaiveDate,
    ) -> Result<Credit, Refusal> {
        let binding = self
            .state
            .quota
            .binding(parties)
            .filter(|b| b.side == QuotaSide::Relative)
            .map(in_force);
        let Some(b) = binding else {
            return Err(Refusal::QuotaNotBound);
        };
        let relative = match self.quota_check(QuotaSide::Relative, parties, b.begin, b.end, on) {
            Ok(r) => r,
            Err(EngineError::Refused(r)) => return Err(r),
            Err(_) => return Err(Refusal::RelativeNotInsured),
        };
        let policy = self.policy_for(relative).map_err(|_| Refusal::NoPolicy)?;
        judge_binding_in_force(Some(&b), &policy.binding, on)?;
        decide_credit(&CreditFacts {
            parties,
            allowed: true,
            transfer_id: id,
            amount,
            applied_before: None,
        })
    }

    fn judge_return_credit(
        &self,
        parties: &QuotaParties,
        id: &str,
        amount: Fen,
    ) -> Result<Credit, Refusal> {
        // A return is taken back whatever became of the binding since: the money is the
        // holder's.
        if self
            .state
            .quota
            .binding(parties)
            .is_none_or(|b| b.side != QuotaSide::Holder)
            || !self.state.persons.contains_key(&parties.holder_psn_no)
        {
            return Err(Refusal::QuotaNotBound);
        }
        check_return_fits(self.quota_out(parties), amount)?;
        decide_return_credit(parties, id, amount, None)
    }

    fn quota_confirm(
        &mut self,
        id: &str,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        let mut row = self
            .state
            .quota
            .sent
            .get(id)
            .cloned()
            .ok_or(Refusal::QuotaUnknownTransfer)?;
        match row.state {
            SentState::Confirmed => Ok(QuotaAnswer::Sent(row)),
            SentState::Released => Err(Refusal::QuotaTransferNotPending.into()),
            SentState::Reserved => {
                row.state = SentState::Confirmed;
                row.last_error = None;
                row.updated_at = fmt_time(at);
                self.put_quota_sent(row.clone(), pending);
                Ok(QuotaAnswer::Sent(row))
            }
        }
    }

    fn quota_release(
        &mut self,
        id: &str,
        reason: String,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        let mut row = self
            .state
            .quota
            .sent
            .get(id)
            .cloned()
            .ok_or(Refusal::QuotaUnknownTransfer)?;
        match row.state {
            SentState::Released => return Ok(QuotaAnswer::Sent(row)),
            SentState::Confirmed => return Err(Refusal::QuotaTransferNotPending.into()),
            SentState::Reserved => {}
        }
        let sent = sent_transfer(&row);
        let (set, psn_no, summary) = match row.direction {
            Direction::Grant => (
                decide_release(&row.parties, &sent)?,
                row.parties.holder_psn_no.clone(),
                format!(
                    "{}省未接收省际共济额度{}元，退回本人账户（划拨编号{id}）：{reason}",
                    row.parties.relative_province, row.amount
                ),
            ),
            Direction::Return => (
                decide_return_release(&row.parties, &sent)?,
                row.parties.relative_psn_no.clone(),
                format!(
                    "{}省未接收退回的额度{}元，额度恢复（划拨编号{id}）：{reason}",
                    row.parties.holder_province, row.amount
                ),
            ),
        };
        let admdvs = self.admdvs_of(&psn_no)?;
        let entry = self.new_entry(
            "quota_release",
            &admdvs,
            Some(&psn_no),
            None,
            Channel::BatchImport,
            at,
            &set,
            summary,
        )?;
        row.state = SentState::Released;
        row.release_entry_id = Some(entry.entry_id);
        row.last_error = Some(reason);
        row.updated_at = fmt_time(at);
        self.apply_entry(&entry);
        pending.writes.push(Write::Entry(entry));
        self.put_quota_sent(row.clone(), pending);
        Ok(QuotaAnswer::Sent(row))
    }

    fn quota_end_out(
        &mut self,
        parties: &QuotaParties,
        channel: Channel,
        actor: String,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        let before = self
            .state
            .quota
            .binding(parties)
            .filter(|b| b.side == QuotaSide::Holder)
            .cloned()
            .ok_or(Refusal::QuotaNotBound)?;
        if before.status != QuotaBindingStatus::Active {
            return Ok(QuotaAnswer::Binding(before));
        }
        let after = ended(&before, QuotaBindingStatus::Ending, at);
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(at),
            actor,
            channel: channel.code().into(),
            action: "quota_unbind".into(),
            subject: quota_subject(parties),
            before_state: Some(describe_binding(&before)),
            after_state: Some(describe_binding(&after)),
        }));
        self.put_quota_binding(after.clone(), pending);
        Ok(QuotaAnswer::Binding(after))
    }

    fn quota_end_in(
        &mut self,
        parties: &QuotaParties,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) -> Result<QuotaAnswer, EngineError> {
        let before = self
            .state
            .quota
            .binding(parties)
            .filter(|b| b.side == QuotaSide::Relative)
            .cloned()
            .ok_or(Refusal::QuotaNotBound)?;
        if before.status == QuotaBindingStatus::Ended {
            return Ok(QuotaAnswer::Ended {
                binding: before,
                ret: None,
            });
        }
        let after = ended(&before, QuotaBindingStatus::Ended, at);
        let actor = format!("peer:{:02}", parties.holder_province);
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(at),
            actor: actor.clone(),
            channel: Channel::BatchImport.code().into(),
            action: "quota_unbind".into(),
            subject: quota_subject(parties),
            before_state: Some(describe_binding(&before)),
            after_state: Some(describe_binding(&after)),
        }));
        self.put_quota_binding(after.clone(), pending);
        let ret = self.quota_return(parties, None, Channel::BatchImport, &actor, at, pending)?;
        Ok(QuotaAnswer::Ended {
            binding: after,
            ret,
        })
    }
}

/// The binding ended today (or on its own end date, if that came first).
fn ended(b: &QuotaBindingRow, status: QuotaBindingStatus, at: NaiveDateTime) -> QuotaBindingRow {
    let today = at.date();
    let mut after = b.clone();
    after.status = status;
    after.end = Some(b.end.map_or(today, |e| e.min(today)));
    after.updated_at = fmt_time(at);
    after
}

fn quota_subject(p: &QuotaParties) -> String {
    format!(
        "quota:{:02}:{}/{:02}:{}",
        p.holder_province, p.holder_psn_no, p.relative_province, p.relative_psn_no
    )
}

fn describe_binding(b: &QuotaBindingRow) -> String {
    format!(
        "side={} relationship={} begin={} end={} status={}",
        b.side.code(),
        b.relationship,
        b.begin,
        b.end.map_or("-".to_string(), |d| d.to_string()),
        b.status.code()
    )
}

fn describe_sent(r: &QuotaSentRow) -> String {
    format!(
        "transfer={} direction={} amount={} state={}",
        r.transfer_id,
        r.direction.code(),
        r.amount,
        r.state.code()
    )
}

/// Spending in B: the quotas a settlement may draw on, and the spend log it leaves.
impl<S: Store> Engine<S> {
    /// The quotas kept here for `patient`, with what is left of each and whether it may
    /// pay today.
    pub(crate) fn quota_facts<'a>(
        &'a self,
        patient: &Person,
        policy: &Policy,
        on: NaiveDate,
    ) -> Vec<QuotaFacts<'a>> {
        self.state
            .quota
            .quotas_of(&patient.psn_no)
            .map(|b| QuotaFacts {
                parties: &b.parties,
                remaining: self.state.balance(&b.parties.quota().key()),
                since: b.begin,
                in_force: judge_binding_in_force(Some(&in_force(b)), &policy.binding, on).is_ok(),
            })
            .collect()
    }

    /// Each quota a settlement drew on gets a line in the spend log: what B tells the
    /// holder's province about where and when his quota was spent.
    pub(crate) fn record_quota_spends(&mut self, settled: &Settled, pending: &mut Pending) {
        for draw in &settled.decision.allocation.quota_draws {
            let row = QuotaSpendRow {
                entry_id: settled.entry_id,
                setl_id: settled.setl_id.clone(),
                parties: draw.parties.clone(),
                fixmedins_code: settled.institution.code.clone(),
                amount: draw.amount,
                at: fmt_time(settled.at),
            };
            pending.writes.push(Write::QuotaSpend(row.clone()));
            self.state.quota.add_spend(row);
        }
    }

    /// A cancel gives each quota back what the settlement took from it (its reversal
    /// posts it back); the spend log records the refund as a negative line.
    pub(crate) fn record_quota_refunds(
        &mut self,
        stored: &StoredSettlement,
        cancel: &JournalEntry,
        at: NaiveDateTime,
        pending: &mut Pending,
    ) {
        let Some(relative_province) = Admdvs::parse(&stored.row.admdvs).map(|a| a.province())
        else {
            return;
        };
        for p in &cancel.postings {
            let Some(LedgerAccount::Quota {
                province,
                holder,
                relative,
            }) = LedgerAccount::parse_key(&p.account_key)
            else {
                continue;
            };
            let Some(amount) = p.amount.checked_neg() else {
                continue;
            };
            let row = QuotaSpendRow {
                entry_id: cancel.entry_id,
                setl_id: stored.row.setl_id.clone(),
                parties: QuotaParties {
                    holder_province: province,
                    holder_psn_no: holder,
                    relative_province,
                    relative_psn_no: relative,
                },
                fixmedins_code: stored.row.fixmedins_code.clone(),
                amount,
                at: fmt_time(at),
            };
            pending.writes.push(Write::QuotaSpend(row.clone()));
            self.state.quota.add_spend(row);
        }
    }
}
