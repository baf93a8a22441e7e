//! A [`QuotaLedger`] over plain maps, deciding with the core's quota rules: the transport's
//! own tests run on it, with no engine behind. It forgets everything when dropped, so it
//! stands in for no province's books outside tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use gongji_core::ledger::{LedgerAccount, PostingSet};
use gongji_core::quota::{
    self, AppliedTransfer, Credit, CreditFacts, Direction, HolderSide, QuotaParties, RelativeSide,
    ReserveFacts, ReturnFacts, SentState, SentTransfer,
};
use gongji_core::{Fen, Refusal};

use super::ledger::{
    CrossBinding, EligibilityAsk, Eligible, Figures, OutboxStep, QuotaLedger, QuotaView, Spending,
    StepKind, Transfer, Verdict,
};
use crate::service::{ServiceError, ServiceResult};

struct SentRow {
    transfer: Transfer,
    state: SentState,
    attempts: u32,
    last_error: Option<String>,
}

struct BindingRow {
    binding: CrossBinding,
    holder_side: bool,
    status: &'static str,
}

#[derive(Default)]
struct Books {
    balances: HashMap<LedgerAccount, Fen>,
    sent: Vec<SentRow>,
    applied: Vec<(Transfer, Verdict)>,
    bindings: Vec<BindingRow>,
    spends: Vec<(QuotaParties, Spending)>,
    /// ID number → person number, of the persons insured here.
    insured: HashMap<String, String>,
    next_id: u64,
    /// Lowerings applied, by holder and lowering id: what was asked and answered.
    lowered: HashMap<String, LowerRow>,
}

struct LowerRow {
    parties: QuotaParties,
    amount: Option<Fen>,
    answer: Option<Transfer>,
}

pub struct MemoryLedger {
    province: u32,
    /// Both provinces allow cross-province quotas (the dated policy switch).
    allowed: bool,
    books: Mutex<Books>,
}

fn poisoned<T>(_: T) -> ServiceError {
    ServiceError::Engine(gongji_engine::EngineError::WriterStopped)
}

fn apply(books: &mut Books, set: &PostingSet) -> ServiceResult<()> {
    for p in set.postings() {
        let now = books.balances.get(&p.account).copied().unwrap_or(Fen::ZERO);
        let after = now.checked_add(p.amount).ok_or(Refusal::AmountOverflow)?;
        books.balances.insert(p.account.clone(), after);
    }
    Ok(())
}

fn verdict_of(r: &Refusal) -> Verdict {
    Verdict::Refused {
        code: r.code().to_string(),
        message_zh: r.message_zh(),
    }
}

impl MemoryLedger {
    pub fn new(province: u32) -> MemoryLedger {
        MemoryLedger {
            province,
            allowed: true,
            books: Mutex::new(Books::default()),
        }
    }

    /// The policy switch off: grants are refused, and credits answered "refused".
    pub fn closed(mut self) -> MemoryLedger {
        self.allowed = false;
        self
    }

    pub fn with_person(self, certno: &str, psn_no: &str, balance: Fen) -> MemoryLedger {
        if let Ok(mut b) = self.books.lock() {
            b.insured.insert(certno.to_string(), psn_no.to_string());
            b.balances
                .insert(LedgerAccount::Personal(psn_no.to_string()), balance);
        }
        self
    }

    fn books(&self) -> ServiceResult<MutexGuard<'_, Books>> {
        self.books.lock().map_err(poisoned)
    }

    /// The balance of any ledger account (zero when it never moved).
    pub fn balance(&self, account: &LedgerAccount) -> Fen {
        self.books
            .lock()
            .ok()
            .and_then(|b| b.balances.get(account).copied())
            .unwrap_or(Fen::ZERO)
    }

    /// B: a settlement draws `amount` on a quota (what the engine's allocation does).
    pub fn spend(&self, parties: &QuotaParties, setl_id: &str, amount: Fen) -> ServiceResult<()> {
        let mut b = self.books()?;
        let account = parties.quota();
        let left = b.balances.get(&account).copied().unwrap_or(Fen::ZERO);
        let after = left.checked_sub(amount).ok_or(Refusal::AmountOverflow)?;
        if after.is_negative() {
            return Err(Refusal::QuotaExceedsRemaining { remaining: left }.into());
        }
        b.balances.insert(account, after);
        b.spends.push((
            parties.clone(),
            Spending {
                setl_id: setl_id.to_string(),
                fixmedins_code: "P00000000001".to_string(),
                fixmedins_name: None,
                amount,
                at: String::new(),
            },
        ));
        Ok(())
    }

    fn next_id(&self, b: &mut Books, letter: char) -> String {
        b.next_id += 1;
        format!("{:02}{letter}{:012}", self.province, b.next_id)
    }

    fn receive(
        &self,
        b: &mut Books,
        transfer: &Transfer,
        decide: impl FnOnce(Option<&AppliedTransfer>) -> Result<Credit, Refusal>,
    ) -> ServiceResult<Verdict> {
        let before = b.applied.iter().find(|(t, _)| t.id == transfer.id);
        if let Some((t, v)) = before {
            if matches!(v, Verdict::Refused { .. }) {
                return if t.amount == transfer.amount {
                    Ok(v.clone())
                } else {
                    Ok(verdict_of(&Refusal::QuotaTransferMismatch))
                };
            }
        }
        let before = before.map(|(t, _)| AppliedTransfer {
            id: t.id.clone(),
            amount: t.amount,
        });
        match decide(before.as_ref()) {
            Ok(Credit::AlreadyApplied) => Ok(Verdict::Applied),
            Ok(Credit::Apply(set)) => {
                apply(b, &set)?;
                b.applied.push((transfer.clone(), Verdict::Applied));
                Ok(Verdict::Applied)
            }
            Err(Refusal::QuotaTransferMismatch) => Ok(verdict_of(&Refusal::QuotaTransferMismatch)),
            Err(r) => {
                let v = verdict_of(&r);
                b.applied.push((transfer.clone(), v.clone()));
                Ok(v)
            }
        }
    }

    fn take_out(
        &self,
        b: &mut Books,
        parties: &QuotaParties,
        amount: Option<Fen>,
    ) -> ServiceResult<Option<Transfer>> {
        let remaining = b
            .balances
            .get(&parties.quota())
            .copied()
            .unwrap_or(Fen::ZERO);
        let Some((amount, set)) = quota::decide_return(&ReturnFacts {
            parties,
            remaining,
            amount,
        })?
        else {
            return Ok(None);
        };
        apply(b, &set)?;
        let transfer = Transfer {
            id: self.next_id(b, 'R'),
            direction: Direction::Return,
            parties: parties.clone(),
            amount,
        };
        b.sent.push(SentRow {
            transfer: transfer.clone(),
            state: SentState::Reserved,
            attempts: 0,
            last_error: None,
        });
        Ok(Some(transfer))
    }
}

#[axum::async_trait]
impl QuotaLedger for MemoryLedger {
    async fn eligibility(&self, ask: &EligibilityAsk) -> ServiceResult<Eligible> {
        if !self.allowed {
            return Err(Refusal::QuotaNotAllowed.into());
        }
        let b = self.books()?;
        b.insured
            .get(&ask.relative_certno)
            .map(|psn_no| Eligible {
                relative_psn_no: psn_no.clone(),
            })
            .ok_or(ServiceError::NotFound("参保人"))
    }

    async fn bind_in(&self, binding: &CrossBinding) -> ServiceResult<()> {
        if !self.allowed {
            return Err(Refusal::QuotaNotAllowed.into());
        }
        let mut b = self.books()?;
        if !b
            .bindings
            .iter()
            .any(|r| !r.holder_side && r.binding.parties == binding.parties)
        {
            b.bindings.push(BindingRow {
                binding: binding.clone(),
                holder_side: false,
                status: "active",
            });
        }
        Ok(())
    }

    async fn credit(&self, t: &Transfer) -> ServiceResult<Verdict> {
        let mut b = self.books()?;
        let allowed = self.allowed;
        self.receive(&mut b, t, |before| {
            quota::decide_credit(&CreditFacts {
                parties: &t.parties,
                allowed,
                transfer_id: &t.id,
                amount: t.amount,
                applied_before: before,
            })
        })
    }

    async fn return_credit(&self, t: &Transfer) -> ServiceResult<Verdict> {
        let mut b = self.books()?;
        self.receive(&mut b, t, |before| {
            quota::decide_return_credit(&t.parties, &t.id, t.amount, before)
        })
    }

    async fn lower(
        &self,
        parties: &QuotaParties,
        amount: Option<Fen>,
        lower_id: Option<&str>,
    ) -> ServiceResult<Option<Transfer>> {
        let mut b = self.books()?;
        let Some(id) = lower_id else {
            return self.take_out(&mut b, parties, amount);
        };
        let key = format!(
            "{:02}:{}:{id}",
            parties.holder_province, parties.holder_psn_no
        );
        if let Some(before) = b.lowered.get(&key) {
            if before.parties != *parties || before.amount != amount {
                return Err(ServiceError::Engine(
                    gongji_engine::EngineError::MsgidReused,
                ));
            }
            return Ok(before.answer.clone());
        }
        let answer = self.take_out(&mut b, parties, amount)?;
        b.lowered.insert(
            key,
            LowerRow {
                parties: parties.clone(),
                amount,
                answer: answer.clone(),
            },
        );
        Ok(answer)
    }

    async fn end_in(&self, parties: &QuotaParties) -> ServiceResult<()> {
        let mut b = self.books()?;
        let Some(at) = b
            .bindings
            .iter()
            .position(|r| !r.holder_side && r.binding.parties == *parties)
        else {
            return Err(ServiceError::NotFound("跨省共济绑定"));
        };
        if b.bindings[at].status == "ended" {
            return Ok(());
        }
        self.take_out(&mut b, parties, None)?;
        b.bindings[at].status = "ended";
        Ok(())
    }

    async fn lookup(&self, transfer_id: &str) -> ServiceResult<Option<(Fen, Verdict)>> {
        let b = self.books()?;
        Ok(b.applied
            .iter()
            .find(|(t, _)| t.id == transfer_id)
            .map(|(t, v)| (t.amount, v.clone())))
    }

    async fn spends(&self, parties: &QuotaParties) -> ServiceResult<Vec<Spending>> {
        let b = self.books()?;
        Ok(b.spends
            .iter()
            .filter(|(p, _)| p == parties)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn figures(&self, peer: u32) -> ServiceResult<Figures> {
        let b = self.books()?;
        let own = self.province;
        let mut holders: HashMap<String, HolderSide> = HashMap::new();
        let mut relatives: HashMap<String, RelativeSide> = HashMap::new();
        for row in &b.sent {
            let p = &row.transfer.parties;
            let sent = SentTransfer {
                id: row.transfer.id.clone(),
                amount: row.transfer.amount,
                state: row.state,
            };
            match row.transfer.direction {
                Direction::Grant if p.holder_province == own && p.relative_province == peer => {
                    holders
                        .entry(p.holder_psn_no.clone())
                        .or_default()
                        .grants_sent
                        .push(sent)
                }
                Direction::Return if p.relative_province == own && p.holder_province == peer => {
                    relatives
                        .entry(p.holder_psn_no.clone())
                        .or_default()
                        .returns_sent
                        .push(sent)
                }
                _ => {}
            }
        }
        for (t, v) in &b.applied {
            if *v != Verdict::Applied {
                continue;
            }
            let p = &t.parties;
            let applied = AppliedTransfer {
                id: t.id.clone(),
                amount: t.amount,
            };
            match t.direction {
                Direction::Grant if p.relative_province == own && p.holder_province == peer => {
                    relatives
                        .entry(p.holder_psn_no.clone())
                        .or_default()
                        .grants_applied
                        .push(applied)
                }
                Direction::Return if p.holder_province == own && p.relative_province == peer => {
                    holders
                        .entry(p.holder_psn_no.clone())
                        .or_default()
                        .returns_applied
                        .push(applied)
                }
                _ => {}
            }
        }
        for (holder, side) in holders.iter_mut() {
            side.quota_out = b
                .balances
                .get(&LedgerAccount::QuotaOut {
                    province: peer,
                    holder: holder.clone(),
                })
                .copied()
                .unwrap_or(Fen::ZERO);
        }
        for (account, balance) in &b.balances {
            if let LedgerAccount::Quota {
                province, holder, ..
            } = account
            {
                if *province == peer {
                    let side = relatives.entry(holder.clone()).or_default();
                    side.quota = side
                        .quota
                        .checked_add(*balance)
                        .ok_or(Refusal::AmountOverflow)?;
                }
            }
        }
        for (p, s) in &b.spends {
            if p.holder_province == peer {
                let side = relatives.entry(p.holder_psn_no.clone()).or_default();
                side.spent = side
                    .spent
                    .checked_add(s.amount)
                    .ok_or(Refusal::AmountOverflow)?;
            }
        }
        let mut holders: Vec<_> = holders.into_iter().collect();
        holders.sort_by(|x, y| x.0.cmp(&y.0));
        let mut relatives: Vec<_> = relatives.into_iter().collect();
        relatives.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(Figures { holders, relatives })
    }

    async fn bind_out(&self, binding: &CrossBinding) -> ServiceResult<()> {
        if !self.allowed {
            return Err(Refusal::QuotaNotAllowed.into());
        }
        let mut b = self.books()?;
        if !b
            .bindings
            .iter()
            .any(|r| r.holder_side && r.binding.parties == binding.parties)
        {
            b.bindings.push(BindingRow {
                binding: binding.clone(),
                holder_side: true,
                status: "active",
            });
        }
        Ok(())
    }

    async fn reserve(&self, parties: &QuotaParties, amount: Fen) -> ServiceResult<Transfer> {
        let mut b = self.books()?;
        let active = b
            .bindings
            .iter()
            .any(|r| r.holder_side && r.binding.parties == *parties && r.status == "active");
        if !active {
            return Err(ServiceError::NotFound("跨省共济绑定"));
        }
        let holder = LedgerAccount::Personal(parties.holder_psn_no.clone());
        let balance = b.balances.get(&holder).copied().unwrap_or(Fen::ZERO);
        let set = quota::decide_reserve(&ReserveFacts {
            parties,
            allowed: self.allowed,
            holder_balance: balance,
            reserve: Fen::ZERO,
            amount,
        })?;
        apply(&mut b, &set)?;
        let transfer = Transfer {
            id: self.next_id(&mut b, 'G'),
            direction: Direction::Grant,
            parties: parties.clone(),
            amount,
        };
        b.sent.push(SentRow {
            transfer: transfer.clone(),
            state: SentState::Reserved,
            attempts: 0,
            last_error: None,
        });
        Ok(transfer)
    }

    async fn end_out(&self, parties: &QuotaParties) -> ServiceResult<()> {
        let mut b = self.books()?;
        match b
            .bindings
            .iter_mut()
            .find(|r| r.holder_side && r.binding.parties == *parties)
        {
            Some(r) if r.status == "active" => {
                r.status = "ending";
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound("跨省共济绑定")),
        }
    }

    async fn quotas_of(&self, psn_no: &str) -> ServiceResult<Vec<QuotaView>> {
        let b = self.books()?;
        Ok(b.bindings
            .iter()
            .filter(|r| {
                let p = &r.binding.parties;
                (r.holder_side && p.holder_psn_no == psn_no)
                    || (!r.holder_side && p.relative_psn_no == psn_no)
            })
            .map(|r| {
                let p = &r.binding.parties;
                let account = if r.holder_side {
                    p.quota_out()
                } else {
                    p.quota()
                };
                QuotaView {
                    parties: p.clone(),
                    holder_side: r.holder_side,
                    relationship: r.binding.relationship.clone(),
                    status: r.status.to_string(),
                    amount: b.balances.get(&account).copied().unwrap_or(Fen::ZERO),
                }
            })
            .collect())
    }

    async fn outbox(&self) -> ServiceResult<Vec<OutboxStep>> {
        let b = self.books()?;
        let mut steps: Vec<OutboxStep> = b
            .sent
            .iter()
            .filter(|r| r.state == SentState::Reserved)
            .map(|r| OutboxStep {
                kind: match r.transfer.direction {
                    Direction::Grant => StepKind::Grant,
                    Direction::Return => StepKind::Return,
                },
                transfer: Some(r.transfer.clone()),
                parties: r.transfer.parties.clone(),
                attempts: r.attempts,
                last_error: r.last_error.clone(),
                since: String::new(),
            })
            .collect();
        steps.extend(
            b.bindings
                .iter()
                .filter(|r| r.holder_side && r.status == "ending")
                .map(|r| OutboxStep {
                    kind: StepKind::End,
                    transfer: None,
                    parties: r.binding.parties.clone(),
                    attempts: 0,
                    last_error: None,
                    since: String::new(),
                }),
        );
        Ok(steps)
    }

    async fn confirm(&self, transfer_id: &str) -> ServiceResult<()> {
        let mut b = self.books()?;
        let row = b
            .sent
            .iter_mut()
            .find(|r| r.transfer.id == transfer_id)
            .ok_or(ServiceError::NotFound("额度划转"))?;
        match row.state {
            SentState::Reserved => row.state = SentState::Confirmed,
            SentState::Confirmed => {}
            SentState::Released => return Err(Refusal::QuotaTransferNotPending.into()),
        }
        Ok(())
    }

    async fn release(&self, transfer_id: &str, _reason: &str) -> ServiceResult<()> {
        let mut b = self.books()?;
        let Some(at) = b.sent.iter().position(|r| r.transfer.id == transfer_id) else {
            return Err(ServiceError::NotFound("额度划转"));
        };
        let row = &b.sent[at];
        match row.state {
            SentState::Released => return Ok(()),
            SentState::Confirmed => return Err(Refusal::QuotaTransferNotPending.into()),
            SentState::Reserved => {}
        }
        let sent = SentTransfer {
            id: row.transfer.id.clone(),
            amount: row.transfer.amount,
            state: row.state,
        };
        let parties = row.transfer.parties.clone();
        let set = match row.transfer.direction {
            Direction::Grant => quota::decide_release(&parties, &sent)?,
            // A return A refused goes back into the quota: the postings of a credit from A.
            Direction::Return => match quota::decide_credit(&CreditFacts {
                parties: &parties,
                allowed: true,
                transfer_id: &sent.id,
                amount: sent.amount,
                applied_before: None,
            })? {
                Credit::Apply(set) => set,
                Credit::AlreadyApplied => return Err(Refusal::QuotaTransferNotPending.into()),
            },
        };
        apply(&mut b, &set)?;
        b.sent[at].state = SentState::Released;
        Ok(())
    }

    async fn end_confirmed(&self, parties: &QuotaParties) -> ServiceResult<()> {
        let mut b = self.books()?;
        if let Some(r) = b
            .bindings
            .iter_mut()
            .find(|r| r.holder_side && r.binding.parties == *parties)
        {
            r.status = "ended";
        }
        Ok(())
    }

    async fn note_attempt(&self, step: &OutboxStep, error: &str) -> ServiceResult<()> {
        let mut b = self.books()?;
        let id = step.id();
        if let Some(r) = b.sent.iter_mut().find(|r| r.transfer.id == id) {
            r.attempts = r.attempts.saturating_add(1);
            r.last_error = Some(error.to_string());
        }
        Ok(())
    }
}
