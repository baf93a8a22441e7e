//! The single writer. `execute_batch` decides every request against the in-memory state
//! (each one sees the effects of those before it), then commits all writes in one storage
//! transaction. Only after the commit are the answers released; if it fails, the state is
//! reloaded from the store and every request in the batch gets the error. If the reload
//! fails too, the engine stops: the state it holds ran ahead of a store it can no longer
//! read, so every later request is answered `GJ-WRITER-STOPPED` until the process restarts
//! and loads the store afresh (fail-stop rather than deciding on balances never written).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use gongji_core::allocation::{BindingUsage, HolderFacts};
use gongji_core::binding_rules::{
    credential_use, end_with_insurance, judge_binding, judge_binding_change, judge_limits,
    BindingContext, BindingRequest, CredentialUse, Limits,
};
use gongji_core::codes::{Admdvs, Channel};
use gongji_core::collection::{
    decide_channel_premium, quote_channel_premium, ChannelDecision, ChannelFacts, PaymentChannel,
    Quote,
};
use gongji_core::coverage::{
    coverage_on, decide_bubao, BubaoFacts, Coverage, CoverageFacts, WithheldLine,
};
use gongji_core::domain::{Binding, BindingStatus, Person};
use gongji_core::ledger::{
    floor_breached, opening_postings, LedgerAccount, Posting, PostingRule, PostingSet,
};
use gongji_core::policy::{Policy, PolicySet};
use gongji_core::pooling::FeeLine;
use gongji_core::pooling::SECOND_REIMBURSEMENT_GROUP;
use gongji_core::premium::{
    decide_premium, judge_category_mark, CategoryMark, PremiumFacts, PremiumKind,
};
use gongji_core::recovery::{judge_recovery, repayment_postings, RecoveryFacts};
use gongji_core::second_reimbursement::RefundYear;
use gongji_core::settlement::{
    decide_cancel, decide_settlement, CancelFacts, CancelRefundFacts, SettlementFacts,
};
use gongji_core::{Fen, Refusal};
use gongji_store::{
    AuditRow, BindingUsageDelta, BubaoRow, CommitmentRow, ContributionCategoryRow, FeeRow,
    JournalEntry, PoolUsageDelta, PostingRow, PremiumRow, RecoveryCaseRow, SettlementRow, Store,
    StoredSettlement, VisitRow, WithheldRow, Write, WriteBatch,
};

use crate::command::*;
use crate::state::State;
use crate::token_seal::{self, TokenKey, TokenKeyError};

/// Most requests one storage transaction carries.
pub const BATCH_SIZE_MAX: usize = 4096;

/// Marks, in a settlement's journal summary, the reasons mutual aid paid less than was left.
pub const SUMMARY_WHY: &str = "。共济说明：";

pub struct Engine<S: Store> {
    pub(crate) store: S,
    pub(crate) policies: PolicySet,
    pub(crate) state: State,
    /// Why the engine stopped deciding, once a failed commit could not be followed by a
    /// reload.
    stopped: Option<String>,
    /// Seals gateway tokens before they are written; `None`: written as given.
    token_key: Option<TokenKey>,
}

/// Writes and bookkeeping of the batch being built.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) writes: WriteBatch,
    /// msgid → (request hash, stored response) of entries in this batch.
    msgids: HashMap<String, (Option<String>, Option<String>)>,
    /// Settlements made in this batch, for a cancel in the same batch.
    settlements: HashMap<String, StoredSettlement>,
    /// Settlements cancelled in this batch.
    cancelled: Vec<String>,
    /// The stored answers of the batch's msgids, looked up once before deciding (the store
    /// does not change while a batch is decided, so this is what a lookup per request
    /// would find).
    stored: HashMap<String, gongji_store::StoredAnswer>,
    /// The stored settlements the batch's cancels name, looked up together before deciding.
    stored_settlements: HashMap<String, StoredSettlement>,
    /// Review requests decided in this batch (the store still shows them waiting).
    decided_reviews: std::collections::HashSet<String>,
}

pub(crate) fn fmt_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn fen_add(a: Fen, b: Fen) -> Result<Fen, EngineError> {
    a.checked_add(b)
        .ok_or(EngineError::Refused(Refusal::AmountOverflow))
}

fn fen_neg(a: Fen) -> Result<Fen, EngineError> {
    a.checked_neg()
        .ok_or(EngineError::Refused(Refusal::AmountOverflow))
}

impl<S: Store> Engine<S> {
    pub fn open(mut store: S, policies: PolicySet) -> Result<Engine<S>, EngineError> {
        let state = State::from_snapshot(store.load_snapshot()?);
        Ok(Engine {
            store,
            policies,
            state,
            stopped: None,
            token_key: None,
        })
    }

    /// Gives the engine the key of the gateway tokens at rest (`token_seal.rs`): sealed
    /// tokens are opened into the hot set (the gateway needs them in clear to check
    /// signatures), plaintext ones left by earlier versions or by an import without the key
    /// are sealed in the store now, and every token registered from here on is written
    /// sealed. Returns how many were sealed now. Without a key, a database whose tokens
    /// are sealed is refused (the gateway could not check any signature). A key that opens
    /// none of them is refused before anything is written.
    pub fn use_token_key(&mut self, key: Option<TokenKey>) -> Result<usize, TokenKeyError> {
        let Some(key) = key else {
            if self
                .state
                .institutions
                .values()
                .any(|i| token_seal::is_sealed(&i.token))
            {
                return Err(TokenKeyError::KeyNeeded);
            }
            self.token_key = None;
            return Ok(0);
        };
        let mut opened = Vec::new();
        let mut to_seal = WriteBatch::default();
        for i in self.state.institutions.values() {
            if token_seal::is_sealed(&i.token) {
                opened.push((i.code.clone(), key.open(&i.code, &i.token)?));
            } else {
                let mut sealed = i.clone();
                sealed.token = key
                    .seal(&i.code, &i.token)
                    .ok_or_else(|| TokenKeyError::Store("SM4".into()))?;
                to_seal.push(Write::Institution(sealed));
            }
        }
        let n = to_seal.len();
        if n > 0 {
            self.store
                .commit(&to_seal)
                .map_err(|e| TokenKeyError::Store(e.to_string()))?;
        }
        for (code, token) in opened {
            if let Some(i) = self.state.institutions.get_mut(&code) {
                i.token = token;
            }
        }
        self.token_key = Some(key);
        Ok(n)
    }

    /// An institution as the store keeps it and as the hot set holds it: with a key, its
    /// token sealed in the store and in clear in memory (a token that arrives sealed, from
    /// an export, is opened; if it does not open it stays sealed and the gateway refuses
    /// its signatures).
    fn institution_at_rest(
        &self,
        i: gongji_core::domain::Institution,
    ) -> (
        gongji_core::domain::Institution,
        gongji_core::domain::Institution,
    ) {
        let Some(key) = &self.token_key else {
            return (i.clone(), i);
        };
        let mut stored = i.clone();
        let mut held = i;
        if token_seal::is_sealed(&held.token) {
            if let Ok(token) = key.open(&held.code, &held.token) {
                held.token = token;
            }
        } else if let Some(sealed) = key.seal(&held.code, &held.token) {
            stored.token = sealed;
        }
        (stored, held)
    }

    /// Why the engine has stopped (a failed commit whose reload failed too), if it has.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// After a batch that was not written: the state ran ahead of the store, and the store
    /// is the truth, so the hot set is loaded again (gateway tokens opened with the key as at
    /// start). A reload that fails too stops the engine: it never decides on balances the
    /// store never wrote.
    fn reload_or_stop(&mut self, why: &str) {
        match self.store.load_snapshot() {
            Ok(snapshot) => {
                self.state = State::from_snapshot(snapshot);
                if let Some(key) = &self.token_key {
                    for i in self.state.institutions.values_mut() {
                        if token_seal::is_sealed(&i.token) {
                            if let Ok(token) = key.open(&i.code, &i.token) {
                                i.token = token;
                            }
                        }
                    }
                }
            }
            Err(reload) => self.stopped = Some(format!("{why}; reload: {reload}")),
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Sets a balance in the hot set from a value read from the store. For tools that
    /// deliberately re-read the database before each request (the conventional baseline of
    /// `gongji bench`); the engine itself never needs it.
    pub fn refresh_balance(&mut self, account_key: &str, balance: Fen) {
        self.state.balances.insert(account_key.into(), balance);
    }

    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The store, giving the engine up (tests put a fault injector around it and reopen).
    pub fn into_store(self) -> S {
        self.store
    }

    pub fn policy_for(&self, person: &Person) -> Result<&Policy, EngineError> {
        self.policies
            .for_admdvs(person.admdvs)
            .ok_or(EngineError::Refused(Refusal::NoPolicy))
    }

    /// One request in its own batch.
    pub fn execute(&mut self, request: Request) -> Result<Outcome, EngineError> {
        self.execute_batch(vec![request])
            .pop()
            .unwrap_or(Err(EngineError::Refused(Refusal::InternalUnbalanced)))
    }

    /// Decides every request in order, then commits once.
    pub fn execute_batch(&mut self, requests: Vec<Request>) -> Vec<Result<Outcome, EngineError>> {
        if self.stopped.is_some() {
            return requests
                .iter()
                .map(|_| Err(EngineError::WriterStopped))
                .collect();
        }
        let mut pending = Pending::default();
        let mut results = Vec::with_capacity(requests.len());
        let checkpoint_needed = requests.iter().any(|r| !is_read_only(&r.command));
        let msgids: Vec<&str> = requests.iter().filter_map(|r| r.msgid.as_deref()).collect();
        if !msgids.is_empty() {
            match self.store.answers_for_msgids(&msgids) {
                Ok(stored) => pending.stored = stored,
                Err(e) => {
                    // Every request would have failed on its own lookup.
                    let code = e.to_string();
                    return requests
                        .iter()
                        .map(|_| {
                            Err(EngineError::Store(gongji_store::StoreError::Io(
                                code.clone(),
                            )))
                        })
                        .collect();
                }
            }
        }
        let cancels: Vec<&str> = requests
            .iter()
            .filter_map(|r| match &r.command {
                Command::Cancel(c) => Some(c.setl_id.as_str()),
                _ => None,
            })
            .collect();
        if !cancels.is_empty() {
            // A failed lookup is not fatal here: each cancel then looks its settlement up
            // on its own and gets that lookup's answer.
            if let Ok(found) = self.store.settlements(&cancels) {
                pending.stored_settlements = found;
            }
        }
        for request in requests {
            results.push(self.decide_one(request, &mut pending));
        }
        if !checkpoint_needed || pending.writes.is_empty() {
            return results;
        }
        if let Err(breach) = floors_kept(&pending.writes) {
            // A decision left an account below its floor: a bug, and nothing of the batch
            // is written.
            self.reload_or_stop(&format!("floor breached: {breach}"));
            return results
                .into_iter()
                .map(|r| match r {
                    Ok(Outcome::Replayed { response }) => Ok(Outcome::Replayed { response }),
                    Ok(_) => Err(EngineError::FloorBreached(breach.clone())),
                    Err(e) => Err(e),
                })
                .collect();
        }
        if let Err(e) = self.store.commit(&pending.writes) {
            self.reload_or_stop(&format!("commit: {e}"));
            let code = e.to_string();
            return results
                .into_iter()
                .map(|r| match r {
                    Ok(Outcome::Replayed { response }) => Ok(Outcome::Replayed { response }),
                    Ok(_) => Err(EngineError::Store(gongji_store::StoreError::Io(
                        code.clone(),
                    ))),
                    Err(e) => Err(e),
                })
                .collect();
        }
        results
    }

    fn decide_one(
        &mut self,
        request: Request,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        if let Some(msgid) = &request.msgid {
            if let Some((hash, response)) = pending.msgids.get(msgid) {
                return replay(hash, response, &request.request_hash);
            }
            if let Some(answer) = pending.stored.get(msgid) {
                return replay(
                    &answer.request_hash,
                    &answer.response,
                    &request.request_hash,
                );
            }
        }
        let Request {
            msgid,
            request_hash,
            command,
            render,
            audit,
        } = request;
        let decided = self.decide_command(msgid, request_hash, command, render, pending);
        if let (Ok(outcome), Some(note)) = (&decided, audit) {
            if made_a_change(outcome) {
                let mut row = note.row;
                if let Some(detail) = note.detail {
                    row.after_state = detail(outcome).or(row.after_state);
                }
                pending.writes.push(Write::Audit(row));
            }
        }
        decided
    }

    fn decide_command(
        &mut self,
        msgid: Option<String>,
        request_hash: Option<String>,
        command: Command,
        render: Option<Render>,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        let entry_response = |outcome: &Outcome| render.map(|r| r(outcome));
        match command {
            Command::Settle(mut cmd) => {
                let dry_run = cmd.dry_run;
                let visit_fees = self.attach_visit_fees(&mut cmd)?;
                let visit_id = cmd.mdtrt_id.clone();
                let (outcome, entry, row, usage) = self.settle(cmd)?;
                let withheld = withheld_rows(&row, &outcome.decision.withheld);
                let outcome = Outcome::Settled(Box::new(outcome));
                if dry_run {
                    // Nothing moves, nothing is stored; the answer is rendered by the caller.
                    return Ok(outcome);
                }
                let response = entry_response(&outcome);
                let mut entry = entry;
                entry.msgid = msgid.clone();
                entry.request_hash = request_hash.clone();
                entry.response = response.clone();
                self.apply_entry(&entry);
                for u in &usage.0 {
                    self.state.add_usage(u)?;
                }
                for u in &usage.1 {
                    self.state
                        .add_binding_usage(u.binding_id, &u.month, u.amount)?;
                }
                let mut row = row;
                row.detail = response.clone().unwrap_or_default();
                pending.settlements.insert(
                    row.setl_id.clone(),
                    StoredSettlement {
                        row: row.clone(),
                        entry: entry.clone(),
                        pool_usage: usage.0.clone(),
                        binding_usage: usage.1.clone(),
                    },
                );
                if let Some((_, fees)) = visit_id.and_then(|m| self.state.visits.get_mut(&m)) {
                    for f in fees
                        .iter_mut()
                        .filter(|f| visit_fees.contains(&f.feedetl_sn))
                    {
                        f.setl_id = Some(row.setl_id.clone());
                        pending.writes.push(Write::Fee(f.clone()));
                    }
                }
                if let Outcome::Settled(settled) = &outcome {
                    self.record_quota_spends(settled, pending);
                }
                pending.writes.push(Write::Entry(entry));
                pending.writes.push(Write::Settlement(row));
                for w in withheld {
                    pending.writes.push(Write::Withheld(w));
                }
                for u in usage.0 {
                    pending.writes.push(Write::PoolUsage(u));
                }
                for u in usage.1 {
                    pending.writes.push(Write::BindingUsage(u));
                }
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Cancel(cmd) => {
                let known = pending
                    .settlements
                    .get(&cmd.setl_id)
                    .or_else(|| pending.stored_settlements.get(&cmd.setl_id));
                let stored = match known {
                    Some(s) => s.clone(),
                    None => self
                        .store
                        .settlement(&cmd.setl_id)?
                        .ok_or_else(|| EngineError::UnknownSettlement(cmd.setl_id.clone()))?,
                };
                if stored.row.cancelled || pending.cancelled.contains(&cmd.setl_id) {
                    return Err(EngineError::AlreadyCancelled(cmd.setl_id));
                }
                if stored.row.fixmedins_code != cmd.institution || stored.row.psn_no != cmd.psn_no {
                    return Err(EngineError::SettlementOfOtherInstitution);
                }
                // Its held-back share paid by 补报 would stay paid if the settlement were
                // reversed: only a settlement that held something back (a resident's, the
                // fund paying nothing) can have one.
                if stored.row.fund_pay_sumamt.is_zero()
                    && stored.row.insutype == gongji_core::codes::Insutype::Resident.code()
                {
                    let key = bubao_msgid(&cmd.setl_id);
                    if pending.msgids.contains_key(&key)
                        || self.store.answer_for_msgid(&key)?.is_some()
                    {
                        return Err(Refusal::BubaoPaidNoCancel.into());
                    }
                }
                let (outcome, mut entry, recomputation) = self.cancel(&cmd, &stored)?;
                let outcome = Outcome::Cancelled(Box::new(outcome));
                let response = entry_response(&outcome);
                entry.msgid = msgid.clone();
                entry.request_hash = request_hash.clone();
                entry.response = response.clone();
                self.apply_entry(&entry);
                // The year's second reimbursement brought back to the rule (R-J9): its own
                // entry after the cancel, built on the balances the cancel left.
                let refund_adjustment = match recomputation {
                    Some((set, delta)) => {
                        let recompute = self.new_entry(
                            "refund_recompute",
                            &stored.row.admdvs,
                            Some(&stored.row.psn_no),
                            Some(&cmd.institution),
                            cmd.channel,
                            cmd.at,
                            &set,
                            format!("撤销结算{}后二次报销重新计算", stored.row.setl_id),
                        )?;
                        self.apply_entry(&recompute);
                        let delta = PoolUsageDelta {
                            entry_id: recompute.entry_id,
                            ..delta
                        };
                        Some((recompute, delta))
                    }
                    None => None,
                };
                let returned_usage = stored
                    .pool_usage
                    .iter()
                    .map(|u| {
                        Ok(PoolUsageDelta {
                            entry_id: entry.entry_id,
                            deductible: fen_neg(u.deductible)?,
                            fund: fen_neg(u.fund)?,
                            burden: fen_neg(u.burden)?,
                            ..u.clone()
                        })
                    })
                    .collect::<Result<Vec<_>, EngineError>>()?;
                for u in returned_usage {
                    self.state.add_usage(&u)?;
                    pending.writes.push(Write::PoolUsage(u));
                }
                for u in &stored.binding_usage {
                    let back = fen_neg(u.amount)?;
                    self.state.add_binding_usage(u.binding_id, &u.month, back)?;
                    pending.writes.push(Write::BindingUsage(BindingUsageDelta {
                        entry_id: entry.entry_id,
                        amount: back,
                        ..u.clone()
                    }));
                }
                self.record_quota_refunds(&stored, &entry, cmd.at, pending);
                pending.writes.push(Write::MarkReversed {
                    entry_id: stored.entry.entry_id,
                    reversed_by: entry.entry_id,
                });
                pending.writes.push(Write::Entry(entry));
                if let Some((recompute, delta)) = refund_adjustment {
                    self.state.add_usage(&delta)?;
                    pending.writes.push(Write::Entry(recompute));
                    pending.writes.push(Write::PoolUsage(delta));
                }
                pending.writes.push(Write::SettlementCancelled {
                    setl_id: cmd.setl_id.clone(),
                });
                for (_, fees) in self.state.visits.values_mut() {
                    for f in fees
                        .iter_mut()
                        .filter(|f| f.setl_id.as_deref() == Some(cmd.setl_id.as_str()))
                    {
                        f.setl_id = None;
                        pending.writes.push(Write::Fee(f.clone()));
                    }
                }
                pending.cancelled.push(cmd.setl_id);
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Premium(cmd) => {
                let (paid, mut entry, row) = self.premium(&cmd)?;
                let outcome = Outcome::PremiumPaid(Box::new(paid));
                let response = entry_response(&outcome);
                entry.msgid = msgid.clone();
                entry.request_hash = request_hash.clone();
                entry.response = response.clone();
                self.apply_entry(&entry);
                self.state
                    .premiums_paid
                    .insert((row.relative_psn_no.clone(), row.year, cmd.kind));
                pending.writes.push(Write::Entry(entry));
                pending.writes.push(Write::Premium(row));
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Bubao(cmd) => {
                let (paid, mut entry, row) = self.bubao(&cmd, pending)?;
                let outcome = Outcome::Bubao(Box::new(paid));
                let response = entry_response(&outcome);
                entry.msgid = msgid.clone();
                entry.request_hash = request_hash.clone();
                entry.response = response.clone();
                self.apply_entry(&entry);
                pending.writes.push(Write::Entry(entry));
                pending.writes.push(Write::Bubao(row));
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::ChannelPremium(cmd) => {
                let (paid, mut entry, row) = self.channel_premium(&cmd)?;
                let outcome = Outcome::ChannelPaid(Box::new(paid));
                let response = entry_response(&outcome);
                entry.msgid = msgid.clone();
                entry.request_hash = request_hash.clone();
                entry.response = response.clone();
                self.apply_entry(&entry);
                pending.writes.push(Write::Entry(entry));
                if let Some(row) = row {
                    self.state.premiums_paid.insert((
                        row.relative_psn_no.clone(),
                        row.year,
                        cmd.kind,
                    ));
                    pending.writes.push(Write::Premium(row));
                }
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Recovery(cmd) => {
                let (outcome, entry, writes) = self.recovery(cmd, pending)?;
                let response = entry_response(&outcome);
                match entry {
                    Some(mut entry) => {
                        entry.msgid = msgid.clone();
                        entry.request_hash = request_hash.clone();
                        entry.response = response.clone();
                        self.apply_entry(&entry);
                        pending.writes.push(Write::Entry(entry));
                    }
                    None => {
                        if let Some(m) = &msgid {
                            pending.writes.push(Write::Message {
                                msgid: m.clone(),
                                request_hash: request_hash.clone(),
                                response: response.clone(),
                            });
                        }
                    }
                }
                for w in writes {
                    pending.writes.push(w);
                }
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Bind(_)
            | Command::BindWithCommitment(..)
            | Command::Audit(_)
            | Command::OpenSession(_)
            | Command::PutProxyConsent(_)
            | Command::PutReview(_)
            | Command::DecideReview { .. }
            | Command::ChangeBinding(_)
            | Command::OpenVisit(_)
            | Command::Visit(_)
            | Command::RegisterPerson(_)
            | Command::RegisterInstitution(_)
            | Command::RegisterCatalogItem(_)
            | Command::RegisterAgency(_)
            | Command::MarkCategory(_) => {
                let outcome = self.decide_plain(command, pending)?;
                if let Some(m) = msgid {
                    let response = entry_response(&outcome);
                    pending.writes.push(Write::Message {
                        msgid: m.clone(),
                        request_hash: request_hash.clone(),
                        response: response.clone(),
                    });
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Quota(cmd) => {
                let outcome = Outcome::Quota(Box::new(self.quota(cmd, pending)?));
                if let Some(m) = msgid {
                    let response = entry_response(&outcome);
                    pending.writes.push(Write::Message {
                        msgid: m.clone(),
                        request_hash: request_hash.clone(),
                        response: response.clone(),
                    });
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
            Command::Fund { psn_no, amount, at } => {
                let person = self
                    .state
                    .persons
                    .get(&psn_no)
                    .ok_or_else(|| EngineError::UnknownPerson(psn_no.clone()))?;
                let admdvs = person.admdvs.to_string();
                let set = opening_postings(&psn_no, amount)?;
                let mut entry = self.new_entry(
                    "opening",
                    &admdvs,
                    Some(&psn_no),
                    None,
                    Channel::BatchImport,
                    at,
                    &set,
                    "个人账户划入".into(),
                )?;
                // A zero amount (a registry row restating the balance) has no postings.
                let entry_id = entry.entry_id;
                self.apply_entry(&entry);
                let balance = self
                    .state
                    .balance(&LedgerAccount::Personal(psn_no.clone()).key());
                let outcome = Outcome::Funded { entry_id, balance };
                // Money moved: a retry under the same msgid is answered, never credited twice.
                let response = entry_response(&outcome);
                entry.msgid = msgid.clone();
                entry.request_hash = request_hash.clone();
                entry.response = response.clone();
                pending.writes.push(Write::Entry(entry));
                if let Some(m) = msgid {
                    pending.msgids.insert(m, (request_hash, response));
                }
                Ok(outcome)
            }
        }
    }

    /// A settlement of a visit takes the visit's unsettled fee lines (2204) when the
    /// request carries none. Returns the fee serial numbers it settles.
    fn attach_visit_fees(&self, cmd: &mut SettleCommand) -> Result<Vec<String>, EngineError> {
        let Some(mdtrt_id) = cmd.mdtrt_id.as_ref().filter(|m| !m.is_empty()) else {
            return Ok(Vec::new());
        };
        let Some((visit, fees)) = self.state.visits.get(mdtrt_id) else {
            return if cmd.lines.is_empty() {
                Err(EngineError::UnknownVisit(mdtrt_id.clone()))
            } else {
                Ok(Vec::new())
            };
        };
        if visit.fixmedins_code != cmd.institution || visit.psn_no != cmd.psn_no {
            return Err(EngineError::VisitMismatch);
        }
        if !cmd.lines.is_empty() {
            return Ok(Vec::new());
        }
        let open: Vec<&FeeRow> = fees.iter().filter(|f| f.setl_id.is_none()).collect();
        if open.is_empty() {
            return Err(EngineError::NoFees);
        }
        cmd.lines = open
            .iter()
            .map(|f| FeeLine {
                sn: f.feedetl_sn.clone(),
                item_code: f.med_list_codg.clone(),
                amount: f.amount,
                count_e4: f.count_e4,
                price: f.price,
            })
            .collect();
        Ok(open.iter().map(|f| f.feedetl_sn.clone()).collect())
    }
    /// Registers a person or replaces his registration (the registry import, an approved
    /// online request); an ID number that belongs to someone else is refused.
    fn register_person(&mut self, p: Person, pending: &mut Pending) -> Result<(), EngineError> {
        if let Some(other) = self.state.persons.by_certno(p.certno.reveal()) {
            let other = &other.psn_no;
            if other != &p.psn_no {
                return Err(EngineError::DuplicateRegistration(format!(
                    "证件号码 {} 已属于人员 {other}",
                    p.certno
                )));
            }
        }
        let terminated = p.insu_status == gongji_core::codes::InsuStatus::Terminated;
        let psn_no = p.psn_no.clone();
        pending.writes.push(Write::Person(p.clone()));
        self.state.put_person(p);
        if terminated {
            self.end_bindings_with_insurance(&psn_no, pending);
        }
        Ok(())
    }

    /// A decision on a review request, taken only while the request is still waiting: the
    /// state the store holds now (the writer is its only writer) or, for a request decided
    /// earlier in this batch, that decision.
    fn decide_review(
        &mut self,
        row: gongji_store::reviews::ReviewRow,
        register: Option<Person>,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        use gongji_core::review::{ReviewKind, ReviewState};
        if pending.decided_reviews.contains(&row.review_id) {
            return Err(Refusal::ReviewAlreadyDecided.into());
        }
        let stored = self
            .store
            .review_state(&row.review_id)?
            .ok_or_else(|| EngineError::UnknownReview(row.review_id.clone()))?;
        if ReviewState::parse(&stored) != Some(ReviewState::Pending)
            || ReviewState::parse(&row.state) == Some(ReviewState::Pending)
        {
            return Err(Refusal::ReviewAlreadyDecided.into());
        }
        let approved = ReviewState::parse(&row.state) == Some(ReviewState::Approved);
        let correction = ReviewKind::parse(&row.kind) == Some(ReviewKind::Correction);
        if approved && correction {
            // Applied to the person as the writer holds him now, so a change committed since
            // the request was read is kept.
            let mut p = self
                .state
                .persons
                .get(&row.psn_no)
                .cloned()
                .ok_or_else(|| EngineError::UnknownPerson(row.psn_no.clone()))?;
            if !row.name.is_empty() {
                p.name = gongji_core::pii::PersonName::new(row.name.as_str());
            }
            if !row.phone.is_empty() {
                p.phone = gongji_core::pii::Phone::new(row.phone.as_str());
            }
            self.register_person(p, pending)?;
        } else if let (true, Some(p)) = (approved, register) {
            self.register_person(p, pending)?;
        }
        pending.decided_reviews.insert(row.review_id.clone());
        pending.writes.push(Write::Review(row));
        Ok(Outcome::ReviewStored)
    }

    /// R-S10: where the policy says so, a binding ends for good when either side's
    /// insurance ends; a later re-registration does not revive it.
    fn end_bindings_with_insurance(&mut self, psn_no: &str, pending: &mut Pending) {
        let ids: Vec<i64> = self.state.bindings_of(psn_no).map(|b| b.id).collect();
        for id in ids {
            let Some(before) = self.state.bindings.get(&id).cloned() else {
                continue;
            };
            let ended = self
                .state
                .persons
                .get(&before.holder)
                .and_then(|h| self.policies.for_admdvs(h.admdvs))
                .and_then(|p| end_with_insurance(&before, &p.binding));
            let Some(after) = ended else {
                continue;
            };
            let admdvs = self
                .state
                .persons
                .get(&before.holder)
                .map(|h| h.admdvs.to_string())
                .unwrap_or_default();
            pending.writes.push(Write::Binding {
                binding: after.clone(),
                admdvs,
            });
            pending.writes.push(Write::Audit(AuditRow {
                at: String::new(),
                actor: "system".into(),
                channel: Channel::BatchImport.code().into(),
                action: "end_with_insurance".into(),
                subject: format!("binding:{id}"),
                before_state: Some(describe(&before)),
                after_state: Some(format!(
                    "{}（参保终止，绑定自动解除 R-S10）",
                    describe(&after)
                )),
            }));
            self.state.put_binding(after);
        }
    }

    /// Commands that move no money.
    fn decide_plain(
        &mut self,
        command: Command,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        match command {
            Command::Bind(cmd) => self.bind(cmd, pending),
            Command::BindWithCommitment(cmd, letter) => {
                let channel = cmd.channel;
                let at = cmd.at;
                let outcome = self.bind(cmd, pending)?;
                if let Outcome::Binding(b) = &outcome {
                    let admdvs = self
                        .state
                        .persons
                        .get(&b.holder)
                        .map(|p| p.admdvs.to_string())
                        .unwrap_or_default();
                    pending.writes.push(Write::Commitment(CommitmentRow {
                        binding_id: b.id,
                        holder_psn_no: b.holder.clone(),
                        admdvs,
                        notice_version: letter.notice_version,
                        letter: letter.letter,
                        sha256: letter.sha256,
                        signature: letter.signature,
                        signed_at: fmt_time(at),
                        channel: channel.code().to_string(),
                    }));
                }
                Ok(outcome)
            }
            Command::Audit(row) => {
                pending.writes.push(Write::Audit(row));
                Ok(Outcome::Audited)
            }
            Command::MarkCategory(cmd) => self.mark_category(cmd, pending),
            Command::OpenSession(row) => {
                pending.writes.push(Write::Session(row));
                Ok(Outcome::SessionOpened)
            }
            Command::PutProxyConsent(row) => {
                pending.writes.push(Write::ProxyConsent(row));
                Ok(Outcome::ProxyConsentStored)
            }
            Command::ChangeBinding(cmd) => self.change_binding(cmd, pending),
            Command::OpenVisit(cmd) => self.open_visit(cmd, pending),
            Command::Visit(cmd) => self.change_visit(cmd, pending),
            Command::PutReview(row) => {
                if gongji_core::review::ReviewState::parse(&row.state)
                    != Some(gongji_core::review::ReviewState::Pending)
                {
                    return Err(Refusal::ReviewAlreadyDecided.into());
                }
                pending.writes.push(Write::Review(row));
                Ok(Outcome::ReviewStored)
            }
            Command::DecideReview { row, register } => self.decide_review(row, register, pending),
            Command::RegisterPerson(p) => {
                self.register_person(p, pending)?;
                Ok(Outcome::Registered)
            }
            Command::RegisterInstitution(i) => {
                if let Some(other) = self.state.by_paasid.get(&i.paasid) {
                    if other != &i.code {
                        return Err(EngineError::DuplicateRegistration(format!(
                            "paasid {} 已属于机构 {other}",
                            i.paasid
                        )));
                    }
                }
                let (stored, held) = self.institution_at_rest(i);
                pending.writes.push(Write::Institution(stored));
                self.state.put_institution(held);
                Ok(Outcome::Registered)
            }
            Command::RegisterAgency(a) => {
                pending.writes.push(Write::Agency(a.clone()));
                self.state.agencies.insert(a.code.clone(), a);
                Ok(Outcome::Registered)
            }
            Command::RegisterCatalogItem(c) => {
                pending.writes.push(Write::CatalogItem(c.clone()));
                self.state.catalog.insert(c.code.clone(), c);
                Ok(Outcome::Registered)
            }
            Command::Settle(_)
            | Command::Cancel(_)
            | Command::Premium(_)
            | Command::Bubao(_)
            | Command::ChannelPremium(_)
            | Command::Recovery(_)
            | Command::Quota(_)
            | Command::Fund { .. } => Err(Refusal::InternalUnbalanced.into()),
        }
    }

    fn open_visit(
        &mut self,
        cmd: OpenVisitCommand,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        if !self.state.institutions.contains_key(&cmd.institution) {
            return Err(EngineError::UnknownInstitution(cmd.institution));
        }
        let person = self
            .state
            .persons
            .get(&cmd.psn_no)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.psn_no.clone()))?;
        if !person.is_insured_normally() {
            return Err(Refusal::PersonNotInsured.into());
        }
        let seq = self.state.next_entry_id + self.state.visits.len() as i64;
        let mdtrt_id = format!(
            "{}{}{:06}",
            person.admdvs,
            cmd.at.format("%Y%m%d%H%M%S"),
            seq % 1_000_000
        );
        let mdtrt_id = if self.state.visits.contains_key(&mdtrt_id) {
            format!("{mdtrt_id}{}", self.state.visits.len())
        } else {
            mdtrt_id
        };
        let row = VisitRow {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: cmd.psn_no.clone(),
            fixmedins_code: cmd.institution.clone(),
            admdvs: person.admdvs.to_string(),
            insutype: cmd.insutype.code().to_string(),
            med_type: cmd.med_type.code().to_string(),
            begntime: fmt_time(cmd.begntime),
            status: "open".into(),
            diagnosis: String::new(),
        };
        pending.writes.push(Write::Visit(row.clone()));
        self.state
            .visits
            .insert(mdtrt_id, (row.clone(), Vec::new()));
        Ok(Outcome::Visit(Box::new(row)))
    }

    fn change_visit(
        &mut self,
        cmd: VisitCommand,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        let catalog = &self.state.catalog;
        let (visit, fees) = self
            .state
            .visits
            .get_mut(&cmd.mdtrt_id)
            .ok_or_else(|| EngineError::UnknownVisit(cmd.mdtrt_id.clone()))?;
        if visit.fixmedins_code != cmd.institution || visit.psn_no != cmd.psn_no {
            return Err(EngineError::VisitMismatch);
        }
        match cmd.change {
            VisitChange::Cancel => {
                if fees.iter().any(|f| f.setl_id.is_some()) {
                    return Err(EngineError::VisitMismatch);
                }
                visit.status = "cancelled".into();
                let row = visit.clone();
                pending.writes.push(Write::Visit(row.clone()));
                self.state.visits.remove(&cmd.mdtrt_id);
                Ok(Outcome::Visit(Box::new(row)))
            }
            VisitChange::Info {
                med_type,
                diagnosis,
            } => {
                if let Some(m) = med_type {
                    visit.med_type = m.code().to_string();
                }
                visit.diagnosis = diagnosis;
                pending.writes.push(Write::Visit(visit.clone()));
                Ok(Outcome::Visit(Box::new(visit.clone())))
            }
            VisitChange::UploadFees(lines) => {
                let mut priced = Vec::with_capacity(lines.len());
                for (_, line) in &lines {
                    let item = catalog.get(&line.item_code).ok_or_else(|| {
                        Refusal::UnknownCatalogItem {
                            code: line.item_code.clone(),
                        }
                    })?;
                    if fees
                        .iter()
                        .any(|f| f.feedetl_sn == line.sn && f.setl_id.is_some())
                    {
                        return Err(EngineError::VisitMismatch);
                    }
                    priced.push(gongji_core::pooling::price_line(line, item));
                }
                for (chrg_bchno, line) in lines {
                    let row = FeeRow {
                        mdtrt_id: cmd.mdtrt_id.clone(),
                        feedetl_sn: line.sn.clone(),
                        chrg_bchno,
                        med_list_codg: line.item_code.clone(),
                        amount: line.amount,
                        count_e4: line.count_e4,
                        price: line.price,
                        setl_id: None,
                    };
                    fees.retain(|f| f.feedetl_sn != row.feedetl_sn);
                    fees.push(row.clone());
                    pending.writes.push(Write::Fee(row));
                }
                Ok(Outcome::FeesUploaded(priced))
            }
            VisitChange::CancelFees { chrg_bchno } => {
                let before = fees.len();
                let mut removed = Vec::new();
                fees.retain(|f| {
                    let hit = f.setl_id.is_none()
                        && chrg_bchno.as_ref().is_none_or(|b| &f.chrg_bchno == b);
                    if hit {
                        removed.push(f.feedetl_sn.clone());
                    }
                    !hit
                });
                for sn in removed {
                    pending.writes.push(Write::FeeDelete {
                        mdtrt_id: cmd.mdtrt_id.clone(),
                        feedetl_sn: sn,
                    });
                }
                Ok(Outcome::FeesCancelled {
                    lines: before - fees.len(),
                })
            }
        }
    }

    /// Builds a journal entry for a posting set, computing each balance after.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_entry(
        &mut self,
        kind: &str,
        admdvs: &str,
        psn_no: Option<&str>,
        institution: Option<&str>,
        channel: Channel,
        at: NaiveDateTime,
        set: &PostingSet,
        summary: String,
    ) -> Result<JournalEntry, EngineError> {
        let mut running: HashMap<String, Fen> = HashMap::new();
        let postings = set
            .postings()
            .iter()
            .map(|p| {
                let key = p.account.key();
                let before = *running
                    .entry(key.clone())
                    .or_insert_with(|| self.state.balance(&key));
                let after = fen_add(before, p.amount)?;
                running.insert(key.clone(), after);
                Ok(PostingRow {
                    psn_no: p.account.personal_psn_no().map(str::to_string),
                    account_key: key,
                    amount: p.amount,
                    rule: p.rule.code().to_string(),
                    floor: p.floor,
                    balance_after: after,
                    explanation: p.explanation.clone(),
                })
            })
            .collect::<Result<_, EngineError>>()?;
        let entry_id = self.state.next_entry_id;
        self.state.next_entry_id += 1;
        Ok(JournalEntry {
            entry_id,
            msgid: None,
            kind: kind.to_string(),
            admdvs: admdvs.to_string(),
            psn_no: psn_no.map(str::to_string),
            fixmedins_code: institution.map(str::to_string),
            channel: channel.code().to_string(),
            occurred_at: fmt_time(at),
            reverses_entry: None,
            request_hash: None,
            response: None,
            summary,
            postings,
        })
    }

    /// Takes an entry's balances into the hot set. `new_entry` computed each balance after
    /// with checked arithmetic; the last posting on an account holds its balance now.
    pub(crate) fn apply_entry(&mut self, entry: &JournalEntry) {
        for p in &entry.postings {
            self.state.set_balance(&p.account_key, p.balance_after);
        }
    }

    #[allow(clippy::type_complexity)]
    fn settle(
        &mut self,
        cmd: SettleCommand,
    ) -> Result<
        (
            Settled,
            JournalEntry,
            SettlementRow,
            (Vec<PoolUsageDelta>, Vec<BindingUsageDelta>),
        ),
        EngineError,
    > {
        let state = &self.state;
        let institution = state
            .institutions
            .get(&cmd.institution)
            .ok_or_else(|| EngineError::UnknownInstitution(cmd.institution.clone()))?;
        let patient = state
            .persons
            .get(&cmd.psn_no)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.psn_no.clone()))?;
        let policy = self
            .policies
            .for_admdvs(patient.admdvs)
            .ok_or(EngineError::Refused(Refusal::NoPolicy))?;
        let date = cmd.at.date();
        // The patient's own standing comes first: it is the answer a clerk can act on. A
        // resident's comes from his premiums for the year (R-R2), not a hand-set status.
        let coverage = coverage_on(
            &CoverageFacts {
                person: patient,
                date,
                resident_premium_paid: state.premiums_paid.contains(&(
                    patient.psn_no.clone(),
                    date.year(),
                    PremiumKind::Resident,
                )),
            },
            policy,
        );
        match coverage {
            Coverage::NotCovered { year: None } => return Err(Refusal::PersonNotInsured.into()),
            Coverage::NotCovered { year: Some(year) } => {
                return Err(Refusal::ResidentNotCovered { year }.into())
            }
            Coverage::Covered | Coverage::AwaitingPayment { .. } => {}
        }
        let bindings: Vec<&Binding> = state.holders_of(&patient.psn_no).collect();
        let owner = cmd.credential.as_ref().map(|c| self.credential_owner(c));
        let presented_holder = match credential_use(
            patient,
            owner.as_ref().map(|o| o.as_deref()),
            &bindings,
            date,
            &policy.payment,
        ) {
            CredentialUse::Own => None,
            CredentialUse::Holder(o) => Some(o.to_string()),
            CredentialUse::HolderSuspended => return Err(Refusal::HolderCredentialSuspended.into()),
            CredentialUse::Mismatch => return Err(EngineError::CredentialMismatch),
        };
        let month = format!("{:04}-{:02}", date.year(), date.month());
        let year = date.year().to_string();
        let day = date.format("%Y-%m-%d").to_string();
        let mut holders = Vec::with_capacity(bindings.len());
        for b in bindings {
            let Some(holder) = state.persons.get(&b.holder) else {
                continue;
            };
            let reserve = self
                .policies
                .for_admdvs(holder.admdvs)
                .map_or(Fen::ZERO, |p| p.payment.reserve);
            holders.push(HolderFacts {
                holder,
                balance: state.balance(&LedgerAccount::Personal(holder.psn_no.clone()).key()),
                binding: b,
                reserve,
                used: BindingUsage {
                    today: state.binding_used(b.id, &day),
                    this_month: state.binding_used(b.id, &month),
                    this_year: state.binding_used(b.id, &year),
                },
            });
        }
        let quotas = self.quota_facts(patient, policy, date);
        let usage = state.usage_for(&patient.psn_no, &year, &day);
        let own_key = LedgerAccount::Personal(patient.psn_no.clone()).key();
        let catalog = |code: &str| state.catalog.get(code).cloned();
        let decision = decide_settlement(
            &SettlementFacts {
                patient,
                own_balance: state.balance(&own_key),
                institution,
                med_type: cmd.med_type,
                account_use: cmd.account_use,
                lines: &cmd.lines,
                declared_total: cmd.declared_total,
                date,
                usage: &usage,
                holders,
                quotas,
                presented_holder: presented_holder.as_deref(),
                coverage,
            },
            &catalog,
            policy,
        )?;
        let patient = patient.clone();
        let institution = institution.clone();
        let entry_id_preview = self.state.next_entry_id;
        let setl_id = format!("{}{:012}", patient.admdvs, entry_id_preview);
        let mdtrt_id = cmd
            .mdtrt_id
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| format!("M{}{:012}", patient.admdvs, entry_id_preview));
        let mut summary = format!(
            "{}结算 医疗费{}元：统筹{}元，本人账户{}元，家庭共济{}元，现金{}元",
            institution.name,
            decision.totals.medfee_sumamt,
            decision.totals.fund_pay_sumamt,
            decision.allocation.own,
            decision.totals.acct_mulaid_pay,
            decision.totals.psn_cash_pay
        );
        let withheld_total = Fen::checked_sum(decision.withheld.iter().map(|l| l.amount))
            .ok_or(Refusal::AmountOverflow)?;
        if let (Coverage::AwaitingPayment { year, pay_by }, true) =
            (coverage, withheld_total.is_positive())
        {
            summary.push_str(&format!(
                "。尚未缴纳{year}年度城乡居民医保，统筹基金应付的{withheld_total}元暂由本人支付，{pay_by}前缴费后补报"
            ));
        }
        // Why mutual aid paid less than was left to pay (a limit, an institution without
        // mutual aid…), kept with the entry so the person's records can say it.
        if decision.totals.psn_cash_pay.is_positive() {
            let why: Vec<&str> = decision
                .allocation
                .notes
                .iter()
                .map(String::as_str)
                .filter(|n| !n.starts_with("本人个人账户") && !n.starts_with("其余"))
                .filter(|n| !n.starts_with("家庭共济：") || n.contains("限制"))
                .collect();
            if !why.is_empty() {
                summary.push_str(SUMMARY_WHY);
                summary.push_str(&why.join("；"));
            }
        }
        let entry = if cmd.dry_run {
            JournalEntry {
                entry_id: 0,
                msgid: None,
                kind: "presettle".into(),
                admdvs: String::new(),
                psn_no: None,
                fixmedins_code: None,
                channel: String::new(),
                occurred_at: String::new(),
                reverses_entry: None,
                request_hash: None,
                response: None,
                summary: String::new(),
                postings: Vec::new(),
            }
        } else {
            self.new_entry(
                "settle",
                &patient.admdvs.to_string(),
                Some(&patient.psn_no),
                Some(&institution.code),
                cmd.channel,
                cmd.at,
                &decision.postings,
                summary,
            )?
        };
        let entry_id = entry.entry_id;
        let mut pool = Vec::new();
        // A held-back share counts against the caps now: once paid by 补报 it is what the
        // fund paid for this bill, and a later bill of the same year must see it.
        for line in decision.split.fund_lines.iter().chain(&decision.withheld) {
            for period in [&year, &day] {
                pool.push(PoolUsageDelta {
                    entry_id,
                    psn_no: patient.psn_no.clone(),
                    period: period.clone(),
                    cap_group: line.cap_group.clone(),
                    deductible: if period == &year {
                        decision.split.deductible_applied
                    } else {
                        Fen::ZERO
                    },
                    fund: line.amount,
                    burden: if period == &year
                        && line.cap_group == gongji_core::pooling::SECOND_REIMBURSEMENT_GROUP
                    {
                        decision.split.burden
                    } else {
                        Fen::ZERO
                    },
                });
            }
        }
        // Each draw counts against its binding's day, month and year (R-S3 limits).
        let binding_usage = decision
            .allocation
            .draws
            .iter()
            .flat_map(|d| {
                [&day, &month, &year].map(|period| BindingUsageDelta {
                    entry_id,
                    binding_id: d.binding_id,
                    month: period.clone(),
                    amount: d.amount,
                })
            })
            .collect();
        let t = &decision.totals;
        let row = SettlementRow {
            setl_id: setl_id.clone(),
            entry_id,
            mdtrt_id: mdtrt_id.clone(),
            psn_no: patient.psn_no.clone(),
            fixmedins_code: institution.code.clone(),
            admdvs: patient.admdvs.to_string(),
            insutype: patient.insutype.code().to_string(),
            med_type: cmd.med_type.code().to_string(),
            setl_date: day.clone(),
            medfee_sumamt: t.medfee_sumamt,
            fund_pay_sumamt: t.fund_pay_sumamt,
            acct_pay: t.acct_pay,
            acct_mulaid_pay: t.acct_mulaid_pay,
            psn_cash_pay: t.psn_cash_pay,
            cancelled: false,
            detail: String::new(),
        };
        Ok((
            Settled {
                setl_id,
                mdtrt_id,
                entry_id,
                patient,
                institution,
                decision,
                med_type: cmd.med_type,
                at: cmd.at,
                dry_run: cmd.dry_run,
            },
            entry,
            row,
            (pool, binding_usage),
        ))
    }

    /// Whose credential this is: 02/03 carry the ID number; 01 (e-voucher) carries a token
    /// which in this system is the person's psn_no or ID number.
    pub fn credential_owner(&self, cred: &Credential) -> Option<String> {
        let n = cred.number.trim();
        self.state
            .persons
            .by_certno(n)
            .map(|p| p.psn_no.clone())
            .or_else(|| self.state.persons.contains_key(n).then(|| n.to_string()))
    }

    #[allow(clippy::type_complexity)]
    fn cancel(
        &mut self,
        cmd: &CancelCommand,
        stored: &StoredSettlement,
    ) -> Result<
        (
            Cancelled,
            JournalEntry,
            Option<(PostingSet, PoolUsageDelta)>,
        ),
        EngineError,
    > {
        let patient = self
            .state
            .persons
            .get(&stored.row.psn_no)
            .cloned()
            .ok_or_else(|| EngineError::UnknownPerson(stored.row.psn_no.clone()))?;
        let corrupt = |what: String| gongji_store::StoreError::Corrupt(what);
        let original: Vec<Posting> = stored
            .entry
            .postings
            .iter()
            .map(|p| {
                Ok(Posting {
                    account: LedgerAccount::parse_key(&p.account_key)
                        .ok_or_else(|| corrupt(format!("account key {}", p.account_key)))?,
                    amount: p.amount,
                    rule: PostingRule::parse(&p.rule)
                        .ok_or_else(|| corrupt(format!("posting rule {}", p.rule)))?,
                    floor: p.floor,
                    explanation: p.explanation.clone(),
                })
            })
            .collect::<Result<_, gongji_store::StoreError>>()?;
        let original = PostingSet::new(original).map_err(|_| Refusal::InternalUnbalanced)?;
        // The settlement's own share of the year's second reimbursement, if it had one.
        let refund_share = stored
            .pool_usage
            .iter()
            .find(|u| u.cap_group == SECOND_REIMBURSEMENT_GROUP && is_year(&u.period));
        let rule = self
            .policies
            .for_admdvs(patient.admdvs)
            .and_then(|p| p.second_reimbursement.as_ref());
        let second_reimbursement = match (rule, refund_share) {
            (Some(rule), Some(share)) => {
                let year = self
                    .state
                    .pool_usage
                    .get(&(patient.psn_no.clone(), share.period.clone()))
                    .and_then(|groups| groups.get(SECOND_REIMBURSEMENT_GROUP))
                    .copied()
                    .unwrap_or_default();
                Some(CancelRefundFacts {
                    rule,
                    year: RefundYear {
                        burden: year.burden_year,
                        refunded: year.fund_paid_year,
                    },
                    cancelled: RefundYear {
                        burden: share.burden,
                        refunded: share.fund,
                    },
                })
            }
            _ => None,
        };
        let decision = decide_cancel(&CancelFacts {
            setl_id: &stored.row.setl_id,
            admdvs: patient.admdvs,
            original: &original,
            second_reimbursement,
        })?;
        let summary = format!(
            "撤销结算{}，医疗费{}元原路退回",
            stored.row.setl_id, stored.row.medfee_sumamt
        );
        let mut entry = self.new_entry(
            "cancel",
            &stored.row.admdvs,
            Some(&stored.row.psn_no),
            Some(&cmd.institution),
            cmd.channel,
            cmd.at,
            &decision.reversal,
            summary,
        )?;
        entry.reverses_entry = Some(stored.entry.entry_id);
        let recomputation = refund_share.zip(decision.recomputation).map(|(share, r)| {
            let delta = PoolUsageDelta {
                entry_id: 0,
                psn_no: patient.psn_no.clone(),
                period: share.period.clone(),
                cap_group: SECOND_REIMBURSEMENT_GROUP.into(),
                deductible: Fen::ZERO,
                fund: r.adjustment,
                burden: Fen::ZERO,
            };
            (r.postings, delta)
        });
        let own_key = LedgerAccount::Personal(patient.psn_no.clone()).key();
        let balc = entry
            .postings
            .iter()
            .rev()
            .find(|p| p.account_key == own_key)
            .map(|p| p.balance_after)
            .unwrap_or_else(|| self.state.balance(&own_key));
        let r = &stored.row;
        let second_reimbursement = PostingRule::SecondReimbursement.code();
        let oth_pay = Fen::checked_sum(
            stored
                .entry
                .postings
                .iter()
                .filter(|p| p.rule == second_reimbursement)
                .map(|p| p.amount),
        )
        .and_then(Fen::checked_neg)
        .ok_or(Refusal::AmountOverflow)?;
        Ok((
            Cancelled {
                setl_id: r.setl_id.clone(),
                mdtrt_id: r.mdtrt_id.clone(),
                entry_id: entry.entry_id,
                original_entry_id: stored.entry.entry_id,
                patient,
                medfee_sumamt: r.medfee_sumamt,
                fund_pay_sumamt: r.fund_pay_sumamt,
                oth_pay,
                acct_pay: r.acct_pay,
                acct_mulaid_pay: r.acct_mulaid_pay,
                psn_cash_pay: r.psn_cash_pay,
                balc,
                returned: entry
                    .postings
                    .iter()
                    .map(|p| (p.account_key.clone(), p.amount))
                    .collect(),
                refund_recomputed: recomputation
                    .iter()
                    .flat_map(|(set, _)| set.postings())
                    .map(|p| (p.account.key(), p.amount, p.explanation.clone()))
                    .collect(),
                med_type: gongji_core::codes::MedType::parse(&r.med_type)
                    .unwrap_or(gongji_core::codes::MedType::GeneralOutpatient),
                at: cmd.at,
            },
            entry,
            recomputation,
        ))
    }

    /// 补报 (R-R2): the settlement's held-back fund shares, paid once the resident has paid
    /// for the settlement's year. Facts come from the store and the hot set, never from the
    /// caller.
    fn bubao(
        &mut self,
        cmd: &BubaoCommand,
        pending: &Pending,
    ) -> Result<(BubaoPaid, JournalEntry, BubaoRow), EngineError> {
        let known = pending
            .settlements
            .get(&cmd.setl_id)
            .or_else(|| pending.stored_settlements.get(&cmd.setl_id));
        let stored = match known {
            Some(s) => s.clone(),
            None => self
                .store
                .settlement(&cmd.setl_id)?
                .ok_or_else(|| EngineError::UnknownSettlement(cmd.setl_id.clone()))?,
        };
        let row = &stored.row;
        let corrupt = |what: String| gongji_store::StoreError::Corrupt(what);
        let setl_date = NaiveDate::parse_from_str(&row.setl_date, "%Y-%m-%d")
            .map_err(|_| corrupt(format!("settlement date {}", row.setl_date)))?;
        let admdvs = gongji_core::codes::Admdvs::parse(&row.admdvs)
            .ok_or_else(|| corrupt(format!("admdvs {}", row.admdvs)))?;
        let withheld: Vec<WithheldLine> = self
            .store
            .withheld(&cmd.setl_id)?
            .into_iter()
            .map(|w| WithheldLine {
                fund_pay_type: w.fund_pay_type,
                name_zh: w.name_zh,
                amount: w.amount,
                explanation: w.explanation,
            })
            .collect();
        let year = setl_date.year();
        let paid =
            self.state
                .premiums_paid
                .contains(&(row.psn_no.clone(), year, PremiumKind::Resident));
        let paid_on = if paid {
            Store::premium_payments(&mut self.store, &row.psn_no)?
                .into_iter()
                .find(|p| p.year == year && p.kind == PremiumKind::Resident.code())
                .and_then(|p| NaiveDate::parse_from_str(p.paid_on(), "%Y-%m-%d").ok())
        } else {
            None
        };
        let decision = decide_bubao(&BubaoFacts {
            setl_id: &row.setl_id,
            admdvs,
            setl_date,
            withheld: &withheld,
            cancelled: row.cancelled || pending.cancelled.contains(&cmd.setl_id),
            paid_on,
        })?;
        let paid_on = paid_on.ok_or(Refusal::BubaoNotPaid { year })?;
        let entry = self.new_entry(
            "bubao",
            &row.admdvs,
            Some(&row.psn_no),
            Some(&row.fixmedins_code),
            cmd.channel,
            cmd.at,
            &decision.postings,
            decision.explanation.clone(),
        )?;
        let bubao = BubaoRow {
            setl_id: row.setl_id.clone(),
            entry_id: entry.entry_id,
            psn_no: row.psn_no.clone(),
            admdvs: row.admdvs.clone(),
            year,
            amount: decision.amount,
            paid_on: paid_on.format("%Y-%m-%d").to_string(),
        };
        Ok((
            BubaoPaid {
                setl_id: row.setl_id.clone(),
                entry_id: entry.entry_id,
                psn_no: row.psn_no.clone(),
                setl_date,
                paid_on,
                amount: decision.amount,
                lines: decision
                    .postings
                    .postings()
                    .iter()
                    .map(|p| (p.account.key(), p.amount, p.explanation.clone()))
                    .collect(),
                explanation: decision.explanation,
            },
            entry,
            bubao,
        ))
    }

    fn premium(
        &mut self,
        cmd: &PremiumCommand,
    ) -> Result<(PremiumPaid, JournalEntry, PremiumRow), EngineError> {
        let state = &self.state;
        let holder = state
            .persons
            .get(&cmd.holder)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.holder.clone()))?;
        let relative = state
            .persons
            .get(&cmd.relative)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.relative.clone()))?;
        let holder_policy = self.policy_for(holder)?;
        let relative_policy = self.policy_for(relative)?;
        let date = cmd.at.date();
        let binding = state
            .by_holder
            .get(&holder.psn_no)
            .into_iter()
            .flatten()
            .filter_map(|id| state.bindings.get(id))
            .find(|b| b.relative == relative.psn_no && b.is_valid_on(date));
        let listed: Vec<&str> = state
            .contribution_categories
            .get(&(relative.psn_no.clone(), cmd.year))
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let decision = decide_premium(
            &PremiumFacts {
                holder,
                holder_balance: state
                    .balance(&LedgerAccount::Personal(holder.psn_no.clone()).key()),
                relative,
                binding,
                kind: cmd.kind,
                year: cmd.year,
                listed_categories: &listed,
                date,
                place: cmd.place,
                already_paid: state.premiums_paid.contains(&(
                    relative.psn_no.clone(),
                    cmd.year,
                    cmd.kind,
                )),
            },
            holder_policy,
            relative_policy,
        )?;
        let admdvs = relative.admdvs.to_string();
        let (holder_no, relative_no) = (holder.psn_no.clone(), relative.psn_no.clone());
        let entry = self.new_entry(
            "premium",
            &admdvs,
            Some(&holder_no),
            None,
            cmd.channel,
            cmd.at,
            &decision.postings,
            decision.explanation.clone(),
        )?;
        let row = PremiumRow {
            relative_psn_no: relative_no.clone(),
            year: cmd.year,
            kind: cmd.kind.code().to_string(),
            entry_id: entry.entry_id,
            holder_psn_no: holder_no.clone(),
            category: decision.category.clone(),
            amount: decision.amount,
            channel: PaymentChannel::PersonalAccount.code().to_string(),
            agent_id: None,
            paid_at: None,
        };
        Ok((
            PremiumPaid {
                entry_id: entry.entry_id,
                holder: holder_no,
                relative: relative_no,
                kind: cmd.kind,
                year: cmd.year,
                category: decision.category,
                category_name: decision.category_name,
                amount: decision.amount,
                holder_balance_after: decision.holder_balance_after,
                explanation: decision.explanation,
                at: cmd.at,
            },
            entry,
            row,
        ))
    }

    /// What `psn_no` would pay today through `channel` for `kind` and `year`, or why he may
    /// not be charged: asked before an order is made, so a refusal moves no money (R-R4).
    #[allow(clippy::too_many_arguments)]
    pub fn quote_channel_premium(
        &self,
        psn_no: &str,
        kind: PremiumKind,
        year: i32,
        place: Option<Admdvs>,
        channel: PaymentChannel,
        agent: Option<&str>,
        at: NaiveDateTime,
    ) -> Result<Quote, EngineError> {
        let person = self
            .state
            .persons
            .get(psn_no)
            .ok_or_else(|| EngineError::UnknownPerson(psn_no.to_string()))?;
        let listed = self.listed_categories(psn_no, year);
        let facts = ChannelFacts {
            person,
            kind,
            year,
            listed_categories: &listed,
            paid_on: at.date(),
            place,
            already_paid: self
                .state
                .premiums_paid
                .contains(&(psn_no.to_string(), year, kind)),
            channel,
            agent,
        };
        Ok(quote_channel_premium(&facts, self.policy_for(person)?)?)
    }

    fn listed_categories(&self, psn_no: &str, year: i32) -> Vec<&str> {
        self.state
            .contribution_categories
            .get(&(psn_no.to_string(), year))
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    fn channel_premium(
        &mut self,
        cmd: &ChannelPremiumCommand,
    ) -> Result<(ChannelPaid, JournalEntry, Option<PremiumRow>), EngineError> {
        let person = self
            .state
            .persons
            .get(&cmd.psn_no)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.psn_no.clone()))?;
        let listed = self.listed_categories(&cmd.psn_no, cmd.year);
        let facts = ChannelFacts {
            person,
            kind: cmd.kind,
            year: cmd.year,
            listed_categories: &listed,
            paid_on: cmd.paid_at.date(),
            place: cmd.place,
            already_paid: self.state.premiums_paid.contains(&(
                cmd.psn_no.clone(),
                cmd.year,
                cmd.kind,
            )),
            channel: cmd.channel,
            agent: cmd.agent_id.as_deref(),
        };
        let policy = self.policy_for(person)?;
        if !cmd.money_moved {
            let quote = quote_channel_premium(&facts, policy)?;
            if quote.amount != cmd.amount {
                return Err(Refusal::PremiumAmountMismatch {
                    paid: cmd.amount,
                    due: quote.amount,
                }
                .into());
            }
        }
        let decision = decide_channel_premium(&facts, cmd.amount, policy)?;
        let admdvs = person.admdvs.to_string();
        let (kind, postings, explanation) = match &decision {
            ChannelDecision::Kept(k) => ("premium", &k.postings, &k.explanation),
            ChannelDecision::Refunded(r) => ("premium_refund", &r.postings, &r.explanation),
        };
        let summary = format!(
            "{explanation}（订单{}，交易{}）",
            cmd.order_id, cmd.transaction_id
        );
        let entry = self.new_entry(
            kind,
            &admdvs,
            Some(&cmd.psn_no),
            None,
            cmd.via,
            cmd.at,
            postings,
            summary,
        )?;
        let mut paid = ChannelPaid {
            entry_id: entry.entry_id,
            psn_no: cmd.psn_no.clone(),
            kind: cmd.kind,
            year: cmd.year,
            amount: cmd.amount,
            channel: cmd.channel,
            agent_id: cmd.agent_id.clone(),
            order_id: cmd.order_id.clone(),
            transaction_id: cmd.transaction_id.clone(),
            category: None,
            refund_reason: None,
            explanation: explanation.clone(),
            paid_at: cmd.paid_at,
        };
        let row = match decision {
            ChannelDecision::Kept(k) => {
                paid.category = Some((k.quote.category.clone(), k.quote.category_name));
                Some(PremiumRow {
                    relative_psn_no: cmd.psn_no.clone(),
                    year: cmd.year,
                    kind: cmd.kind.code().to_string(),
                    entry_id: entry.entry_id,
                    holder_psn_no: cmd.psn_no.clone(),
                    category: k.quote.category,
                    amount: k.quote.amount,
                    channel: cmd.channel.code().to_string(),
                    agent_id: cmd.agent_id.clone(),
                    paid_at: Some(cmd.paid_at_text.clone()),
                })
            }
            ChannelDecision::Refunded(r) => {
                paid.refund_reason = Some((r.reason.code().to_string(), r.reason.message_zh()));
                None
            }
        };
        Ok((paid, entry, row))
    }

    /// Records the category a department's list gives a resident for a benefit year (R-R5):
    /// the category must be one of his region's for that year (by code or Chinese name).
    fn mark_category(
        &mut self,
        cmd: MarkCategoryCommand,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        let person = self
            .state
            .persons
            .get(&cmd.psn_no)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.psn_no.clone()))?;
        let key = (cmd.psn_no.clone(), cmd.year);
        let mut listed = self
            .state
            .contribution_categories
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let codes: Vec<&str> = listed.iter().map(String::as_str).collect();
        let policy = self.policy_for(person)?;
        let CategoryMark {
            listed: category,
            due,
        } = judge_category_mark(person, policy, cmd.year, &cmd.category, &codes)?;
        let marked = CategoryMarked {
            psn_no: cmd.psn_no.clone(),
            year: cmd.year,
            category: category.code.clone(),
            category_name: category.name_zh.clone(),
            due_category: due.code.clone(),
            due_name: due.name_zh.clone(),
            due_amount: due.amount,
        };
        pending
            .writes
            .push(Write::ContributionCategory(ContributionCategoryRow {
                psn_no: cmd.psn_no,
                year: cmd.year,
                category: category.code.clone(),
                source_dept: cmd.source_dept,
                list_date: cmd.list_date.format("%Y-%m-%d").to_string(),
                imported_at: cmd.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                imported_by: cmd.staff,
            }));
        if !listed.contains(&marked.category) {
            listed.push(marked.category.clone());
        }
        self.state.contribution_categories.insert(key, listed);
        Ok(Outcome::CategoryMarked(Box::new(marked)))
    }

    /// Judges a bind request against the current state without changing anything: the
    /// eligibility check people can run before they start (R-N5), and the first step of a bind.
    pub fn check_binding(&self, cmd: &BindCommand) -> Result<(), EngineError> {
        let state = &self.state;
        let holder = state
            .persons
            .get(&cmd.holder)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.holder.clone()))?;
        let relative = state
            .persons
            .get(&cmd.relative)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.relative.clone()))?;
        let policy = self.policy_for(holder)?;
        let related: Vec<Binding> = state
            .bindings_of(&holder.psn_no)
            .chain(state.bindings_of(&relative.psn_no))
            .cloned()
            .collect();
        let month = format!("{:04}-{:02}", cmd.at.year(), cmd.at.month());
        let changes = state
            .binding_changes
            .get(&(holder.psn_no.clone(), month))
            .copied()
            .unwrap_or(0);
        judge_binding(
            &BindingRequest {
                holder,
                relative,
                relationship: cmd.relationship,
                begin: cmd.begin,
                end: cmd.end,
                face_verified: cmd.face_verified,
            },
            &BindingContext {
                related: &related,
                holder_changes_this_month: changes,
            },
            &policy.binding,
        )?;
        judge_limits(
            &Limits {
                per_payment: cmd.limit_per_payment,
                per_day: cmd.restored.and_then(|r| r.limit_per_day),
                per_month: cmd.limit_per_month,
                per_year: cmd.restored.and_then(|r| r.limit_per_year),
            },
            false,
            &policy.payment,
        )?;
        Ok(())
    }

    fn bind(&mut self, cmd: BindCommand, pending: &mut Pending) -> Result<Outcome, EngineError> {
        self.check_binding(&cmd)?;
        let holder = self
            .state
            .persons
            .get(&cmd.holder)
            .ok_or_else(|| EngineError::UnknownPerson(cmd.holder.clone()))?;
        let month = format!("{:04}-{:02}", cmd.at.year(), cmd.at.month());
        let admdvs = holder.admdvs.to_string();
        let binding = Binding {
            id: self.state.next_binding_id,
            holder: cmd.holder.clone(),
            relative: cmd.relative.clone(),
            relationship: cmd.relationship,
            begin: cmd.begin,
            end: cmd.end,
            limit_per_payment: cmd.limit_per_payment,
            limit_per_month: cmd.limit_per_month,
            limit_per_day: cmd.restored.and_then(|r| r.limit_per_day),
            limit_per_year: cmd.restored.and_then(|r| r.limit_per_year),
            status: cmd.restored.map_or(BindingStatus::Active, |r| r.status),
            channel: cmd.restored.map_or(cmd.channel, |r| r.channel),
        };
        self.state.next_binding_id += 1;
        if cmd.channel != Channel::BatchImport {
            *self
                .state
                .binding_changes
                .entry((cmd.holder.clone(), month.clone()))
                .or_insert(0) += 1;
            pending.writes.push(Write::BindingChange {
                holder_psn_no: cmd.holder.clone(),
                month,
            });
        }
        pending.writes.push(Write::Binding {
            binding: binding.clone(),
            admdvs,
        });
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(cmd.at),
            actor: cmd.actor,
            channel: cmd.channel.code().into(),
            action: "bind".into(),
            subject: format!("binding:{}", binding.id),
            before_state: None,
            after_state: Some(describe(&binding)),
        }));
        self.state.put_binding(binding.clone());
        Ok(Outcome::Binding(Box::new(binding)))
    }

    fn change_binding(
        &mut self,
        cmd: ChangeBindingCommand,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        let before = self
            .state
            .bindings
            .get(&cmd.binding_id)
            .cloned()
            .ok_or(EngineError::UnknownBinding(cmd.binding_id))?;
        let holder = self
            .state
            .persons
            .get(&before.holder)
            .ok_or_else(|| EngineError::UnknownPerson(before.holder.clone()))?;
        let policy = self.policy_for(holder)?;
        let month = format!("{:04}-{:02}", cmd.at.year(), cmd.at.month());
        let changes = self
            .state
            .binding_changes
            .get(&(before.holder.clone(), month.clone()))
            .copied()
            .unwrap_or(0);
        let after = judge_binding_change(&before, &cmd.change, cmd.at.date(), changes, policy)?;
        let action = cmd.change.action();
        let counts_as_change = cmd.change.counts_as_change();
        let admdvs = holder.admdvs.to_string();
        if counts_as_change {
            *self
                .state
                .binding_changes
                .entry((before.holder.clone(), month.clone()))
                .or_insert(0) += 1;
            pending.writes.push(Write::BindingChange {
                holder_psn_no: before.holder.clone(),
                month,
            });
        }
        let reason = match &cmd.change {
            BindingChange::Suspend { reason } | BindingChange::Lift { reason } => {
                format!(" 原因：{reason}")
            }
            _ => String::new(),
        };
        pending.writes.push(Write::Binding {
            binding: after.clone(),
            admdvs,
        });
        pending.writes.push(Write::Audit(AuditRow {
            at: fmt_time(cmd.at),
            actor: cmd.actor,
            channel: cmd.channel.code().into(),
            action: action.into(),
            subject: format!("binding:{}", after.id),
            before_state: Some(describe(&before)),
            after_state: Some(format!("{}{reason}", describe(&after))),
        }));
        self.state.put_binding(after.clone());
        Ok(Outcome::Binding(Box::new(after)))
    }
}

impl<S: Store> Engine<S> {
    /// Opens a recovery case, or returns a repaid case's money to the holder. Returns the
    /// journal entry when money moves, and the writes that follow it.
    #[allow(clippy::type_complexity)]
    fn recovery(
        &mut self,
        cmd: RecoveryCommand,
        pending: &Pending,
    ) -> Result<(Outcome, Option<JournalEntry>, Vec<Write>), EngineError> {
        match cmd.action {
            RecoveryAction::Open {
                binding_id,
                setl_id,
                amount,
                reason,
            } => {
                let binding = self
                    .state
                    .bindings
                    .get(&binding_id)
                    .cloned()
                    .ok_or(EngineError::UnknownBinding(binding_id))?;
                let stored = match pending.settlements.get(&setl_id) {
                    Some(s) => s.clone(),
                    None => self
                        .store
                        .settlement(&setl_id)?
                        .ok_or_else(|| EngineError::UnknownSettlement(setl_id.clone()))?,
                };
                let drawn = if stored.row.psn_no == binding.relative {
                    // Each draw is counted once per period kind; the month's count is the draw.
                    Fen::checked_sum(
                        stored
                            .binding_usage
                            .iter()
                            .filter(|u| u.binding_id == binding.id && is_month(&u.month))
                            .map(|u| u.amount),
                    )
                    .ok_or(Refusal::AmountOverflow)?
                } else {
                    Fen::ZERO
                };
                let claimed = Fen::checked_sum(
                    self.state
                        .recovery_cases
                        .values()
                        .filter(|c| c.setl_id == setl_id && c.binding_id == binding.id)
                        .map(|c| c.amount),
                )
                .ok_or(Refusal::AmountOverflow)?;
                judge_recovery(&RecoveryFacts {
                    amount,
                    drawn,
                    claimed,
                    settlement_cancelled: stored.row.cancelled
                        || pending.cancelled.contains(&setl_id),
                })?;
                let row = RecoveryCaseRow {
                    case_id: self.state.next_recovery_id,
                    binding_id,
                    holder_psn_no: binding.holder.clone(),
                    relative_psn_no: binding.relative.clone(),
                    setl_id,
                    admdvs: stored.row.admdvs.clone(),
                    amount,
                    reason,
                    status: "open".into(),
                    opened_by: cmd.actor.clone(),
                    opened_at: fmt_time(cmd.at),
                    repaid_by: None,
                    repaid_at: None,
                    repaid_entry_id: None,
                };
                self.state.next_recovery_id += 1;
                let writes = vec![
                    Write::RecoveryCase(row.clone()),
                    Write::Audit(AuditRow {
                        at: fmt_time(cmd.at),
                        actor: cmd.actor,
                        channel: cmd.channel.code().into(),
                        action: "recovery_open".into(),
                        subject: format!("recovery:{}", row.case_id),
                        before_state: None,
                        after_state: Some(describe_case(&row)),
                    }),
                ];
                self.state.recovery_cases.insert(row.case_id, row.clone());
                Ok((Outcome::Recovery(Box::new(row)), None, writes))
            }
            RecoveryAction::Repaid { case_id } => {
                let before = self
                    .state
                    .recovery_cases
                    .get(&case_id)
                    .cloned()
                    .ok_or(EngineError::UnknownRecoveryCase(case_id))?;
                if before.status != "open" {
                    return Err(Refusal::RecoveryNotOpen.into());
                }
                let holder = self
                    .state
                    .persons
                    .get(&before.holder_psn_no)
                    .ok_or_else(|| EngineError::UnknownPerson(before.holder_psn_no.clone()))?;
                let admdvs = holder.admdvs.to_string();
                let set = repayment_postings(&before.holder_psn_no, before.amount, case_id)?;
                let entry = self.new_entry(
                    "recovery",
                    &admdvs,
                    Some(&before.holder_psn_no),
                    None,
                    cmd.channel,
                    cmd.at,
                    &set,
                    format!("追回案件{case_id}：{}元退回户主个人账户", before.amount),
                )?;
                let mut after = before.clone();
                after.status = "repaid".into();
                after.repaid_by = Some(cmd.actor.clone());
                after.repaid_at = Some(fmt_time(cmd.at));
                after.repaid_entry_id = Some(entry.entry_id);
                let writes = vec![
                    Write::RecoveryCase(after.clone()),
                    Write::Audit(AuditRow {
                        at: fmt_time(cmd.at),
                        actor: cmd.actor,
                        channel: cmd.channel.code().into(),
                        action: "recovery_repaid".into(),
                        subject: format!("recovery:{case_id}"),
                        before_state: Some(describe_case(&before)),
                        after_state: Some(describe_case(&after)),
                    }),
                ];
                self.state.recovery_cases.insert(case_id, after.clone());
                Ok((Outcome::Recovery(Box::new(after)), Some(entry), writes))
            }
        }
    }
}

fn describe_case(c: &RecoveryCaseRow) -> String {
    format!(
        "binding={} holder={} relative={} setl_id={} amount={} status={} repaid_entry={} reason={}",
        c.binding_id,
        c.holder_psn_no,
        c.relative_psn_no,
        c.setl_id,
        c.amount,
        c.status,
        c.repaid_entry_id.map_or("-".to_string(), |e| e.to_string()),
        c.reason
    )
}

fn describe(b: &Binding) -> String {
    let limit = |l: Option<Fen>| l.map_or("-".to_string(), |f| f.to_string());
    format!(
        "holder={} relative={} relationship={} begin={} end={} limit_per_payment={} limit_per_day={} limit_per_month={} limit_per_year={} status={}",
        b.holder,
        b.relative,
        b.relationship,
        b.begin,
        b.end.map_or("-".to_string(), |d| d.to_string()),
        limit(b.limit_per_payment),
        limit(b.limit_per_day),
        limit(b.limit_per_month),
        limit(b.limit_per_year),
        b.status.code()
    )
}

/// Every posting of the batch leaves its account at or above its floor (zero for a personal
/// account, the reserve where the posting names one). Checked on the whole batch before it
/// goes to the store, so a bug in a decision stops the batch instead of writing it.
fn floors_kept(writes: &WriteBatch) -> Result<(), String> {
    for w in &writes.writes {
        let Write::Entry(entry) = w else {
            continue;
        };
        for p in &entry.postings {
            if let Some(floor) = floor_breached(p.psn_no.is_some(), p.balance_after, p.floor) {
                return Err(format!(
                    "entry {} would leave {} at {} below its floor {} ({})",
                    entry.entry_id, p.account_key, p.balance_after, floor, p.rule
                ));
            }
        }
    }
    Ok(())
}

/// Usage periods are `YYYY` (a year), `YYYY-MM` (a month) and `YYYY-MM-DD` (a day).
fn is_year(period: &str) -> bool {
    period.len() == 4
}

fn is_month(period: &str) -> bool {
    period.len() == 7
}

/// Whether an outcome changed anything: a replayed answer and a dry run did not, so they
/// carry no audit row of their own.
/// A settlement's held-back fund shares as stored beside it.
fn withheld_rows(
    row: &SettlementRow,
    lines: &[gongji_core::pooling::FundLine],
) -> Vec<WithheldRow> {
    let year = row
        .setl_date
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(0);
    lines
        .iter()
        .zip(0_i64..)
        .map(|(l, seq)| WithheldRow {
            setl_id: row.setl_id.clone(),
            seq,
            entry_id: row.entry_id,
            psn_no: row.psn_no.clone(),
            admdvs: row.admdvs.clone(),
            year,
            setl_date: row.setl_date.clone(),
            fund_pay_type: l.fund_pay_type.clone(),
            name_zh: l.name_zh.clone(),
            amount: l.amount,
            explanation: l.explanation.clone(),
        })
        .collect()
}

fn made_a_change(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Replayed { .. } => false,
        Outcome::Settled(s) => !s.dry_run,
        _ => true,
    }
}

fn is_read_only(c: &Command) -> bool {
    matches!(c, Command::Settle(s) if s.dry_run)
}

fn replay(
    stored_hash: &Option<String>,
    stored_response: &Option<String>,
    request_hash: &Option<String>,
) -> Result<Outcome, EngineError> {
    if stored_hash != request_hash {
        return Err(EngineError::MsgidReused);
    }
    Ok(Outcome::Replayed {
        response: stored_response.clone().unwrap_or_default(),
    })
}
