//! The auditor: an institution's-eye bookkeeping of every personal account, kept from the
//! answers alone.
//!
//! It reads each acknowledged answer as the rendered text an institution receives (the same
//! text a replay returns), re-derives every balance from the amounts in it and checks them
//! against its own arithmetic: no account below zero, no holder below the reserve the answer
//! states, a cancel returns exactly what its settlement took, a replay repeats the first
//! answer word for word, no settlement is acknowledged twice. It never asks gongji-core to
//! decide anything.

use std::collections::{BTreeMap, BTreeSet};

use gongji_core::codes::AccountUse;
use gongji_engine::{Command, Outcome, RecoveryAction};

/// A settlement the auditor has seen acknowledged.
#[derive(Clone, Debug)]
pub struct Setl {
    pub patient: String,
    pub institution: String,
    pub own: i64,
    /// (holder, binding id, amount).
    pub draws: Vec<(String, i64, i64)>,
    pub cancelled: bool,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub holder: String,
    pub binding_id: i64,
    pub setl_id: String,
    pub amount: i64,
    pub repaid: bool,
}

#[derive(Default)]
pub struct Auditor {
    /// psn_no → fen in the personal account.
    pub balances: BTreeMap<String, i64>,
    pub settlements: BTreeMap<String, Setl>,
    pub cases: BTreeMap<i64, Case>,
    /// msgid → the answer first acknowledged.
    pub answers: BTreeMap<String, String>,
    /// Money that came in from outside (funding, repaid recoveries) and went out (to
    /// institutions and premiums), for the conservation check.
    inflow: i64,
    outflow: i64,
    opening: i64,
}

/// What an institution receives: the answer flattened to text (stored and replayed as is).
pub fn render(o: &Outcome) -> String {
    match o {
        Outcome::Settled(s) => {
            let a = &s.decision.allocation;
            let t = &s.decision.totals;
            let draws: Vec<String> = a
                .draws
                .iter()
                .map(|d| {
                    format!(
                        "{}:{}:{}:{}:{}",
                        d.holder,
                        d.binding_id,
                        d.amount.fen(),
                        d.reserve.fen(),
                        d.balance_after.fen()
                    )
                })
                .collect();
            format!(
                "S|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                s.setl_id,
                s.patient.psn_no,
                s.institution.code,
                a.own.fen(),
                draws.join(","),
                a.cash.fen(),
                t.fund_pay_sumamt.fen(),
                t.hosp_part_amt.fen(),
                t.medfee_sumamt.fen(),
                t.acct_pay.fen(),
                t.balc.fen()
            )
        }
        Outcome::Cancelled(c) => {
            let list = |v: Vec<(String, i64)>| {
                v.iter()
                    .map(|(k, a)| format!("{k}={a}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "C|{}|{}|{}|{}",
                c.setl_id,
                list(
                    c.returned
                        .iter()
                        .map(|(k, a)| (k.clone(), a.fen()))
                        .collect()
                ),
                list(
                    c.refund_recomputed
                        .iter()
                        .map(|(k, a, _)| (k.clone(), a.fen()))
                        .collect()
                ),
                c.balc.fen()
            )
        }
        Outcome::PremiumPaid(p) => format!(
            "P|{}|{}|{}",
            p.holder,
            p.amount.fen(),
            p.holder_balance_after.fen()
        ),
        Outcome::Funded { balance, .. } => format!("F|{}", balance.fen()),
        Outcome::Recovery(r) => format!(
            "R|{}|{}|{}|{}|{}|{}",
            r.case_id,
            r.status,
            r.holder_psn_no,
            r.binding_id,
            r.setl_id,
            r.amount.fen()
        ),
        Outcome::Binding(b) => format!("B|{}|{}|{}|{:?}", b.id, b.holder, b.relative, b.status),
        other => format!("O|{other:?}"),
    }
}

fn num(field: Option<&str>, what: &str) -> Result<i64, String> {
    field
        .ok_or_else(|| format!("answer lacks {what}"))?
        .parse()
        .map_err(|_| format!("{what} is not a number"))
}

/// `psn:X=5,fund:..=-5` → the personal accounts' amounts by psn_no.
fn personal_amounts(list: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (key, amount) = item
            .rsplit_once('=')
            .ok_or_else(|| format!("bad posting {item}"))?;
        if let Some(psn) = key.strip_prefix("psn:") {
            *out.entry(psn.to_string()).or_insert(0) += num(Some(amount), "amount")?;
        }
    }
    out.retain(|_, a| *a != 0);
    Ok(out)
}

impl Auditor {
    pub fn new(opening: BTreeMap<String, i64>) -> Auditor {
        let total = opening.values().sum();
        Auditor {
            balances: opening,
            opening: total,
            ..Auditor::default()
        }
    }

    pub fn balance(&self, psn_no: &str) -> i64 {
        self.balances.get(psn_no).copied().unwrap_or(0)
    }

    fn add(&mut self, psn_no: &str, amount: i64) -> Result<i64, String> {
        let b = self.balances.entry(psn_no.to_string()).or_insert(0);
        *b += amount;
        if *b < 0 {
            return Err(format!("{psn_no} would hold {} fen: below zero", *b));
        }
        Ok(*b)
    }

    /// Takes an acknowledged answer to `command` into the books, checking it first.
    pub fn acknowledge(
        &mut self,
        msgid: &str,
        command: &Command,
        response: &str,
    ) -> Result<(), String> {
        if let Some(first) = self.answers.get(msgid) {
            return Err(format!(
                "msgid {msgid} acknowledged twice: first {first:?}, now {response:?}"
            ));
        }
        self.book(command, response)
            .map_err(|e| format!("answer {response:?} to {msgid}: {e}"))?;
        self.answers.insert(msgid.to_string(), response.to_string());
        Ok(())
    }

    fn book(&mut self, command: &Command, response: &str) -> Result<(), String> {
        let f: Vec<&str> = response.split('|').collect();
        let field = |i: usize| f.get(i).copied();
        match (command, field(0)) {
            (Command::Settle(cmd), Some("S")) => {
                let setl_id = field(1).unwrap_or_default().to_string();
                let patient = field(2).unwrap_or_default().to_string();
                if patient != cmd.psn_no || field(3) != Some(cmd.institution.as_str()) {
                    return Err("settled for another patient or institution".into());
                }
                if cmd.dry_run {
                    return Err("a pre-settlement was acknowledged as a settlement".into());
                }
                if self.settlements.contains_key(&setl_id) {
                    return Err(format!("settlement {setl_id} acknowledged twice"));
                }
                let own = num(field(4), "own")?;
                let mut draws = Vec::new();
                for d in field(5)
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                {
                    let p: Vec<&str> = d.split(':').collect();
                    let holder = p.first().copied().unwrap_or_default().to_string();
                    let binding = num(p.get(1).copied(), "binding")?;
                    let amount = num(p.get(2).copied(), "draw")?;
                    let reserve = num(p.get(3).copied(), "reserve")?;
                    let after = num(p.get(4).copied(), "balance after")?;
                    draws.push((holder, binding, amount, reserve, after));
                }
                let cash = num(field(6), "cash")?;
                let fund = num(field(7), "fund")?;
                let hosp = num(field(8), "hospital part")?;
                let medfee = num(field(9), "total")?;
                let acct_pay = num(field(10), "acct_pay")?;
                let balc = num(field(11), "balc")?;
                let aid: i64 = draws.iter().map(|d| d.2).sum();
                if own < 0 || cash < 0 || fund < 0 || draws.iter().any(|d| d.2 <= 0) {
                    return Err("a negative part".into());
                }
                if acct_pay != own + aid {
                    return Err(format!("acct_pay {acct_pay} is not own {own} + aid {aid}"));
                }
                if medfee != fund + acct_pay + cash + hosp {
                    return Err(format!(
                        "total {medfee} is not fund {fund} + accounts {acct_pay} + cash {cash} + hospital {hosp}"
                    ));
                }
                // (Whether acct_used_flag 1 lets mutual aid follow is the region's policy, and
                // a holder's card presented asks for it: only "cash only" is absolute.)
                if cmd.account_use == AccountUse::CashOnly && acct_pay != 0 {
                    return Err("cash only, yet an account paid".into());
                }
                let left = self.add(&patient, -own)?;
                if left != balc {
                    return Err(format!("balc {balc}, but the books say {left}"));
                }
                for (holder, _, amount, reserve, after) in &draws {
                    if holder == &patient {
                        return Err("the patient drew on himself".into());
                    }
                    let left = self.add(holder, -amount)?;
                    if left != *after {
                        return Err(format!("{holder} left with {after}, books say {left}"));
                    }
                    if left < *reserve || *reserve < 0 {
                        return Err(format!("{holder} drawn below the reserve {reserve}"));
                    }
                }
                self.outflow += own + aid;
                self.settlements.insert(
                    setl_id,
                    Setl {
                        patient,
                        institution: cmd.institution.clone(),
                        own,
                        draws: draws.into_iter().map(|d| (d.0, d.1, d.2)).collect(),
                        cancelled: false,
                    },
                );
                Ok(())
            }
            (Command::Cancel(cmd), Some("C")) => {
                let setl_id = field(1).unwrap_or_default();
                if setl_id != cmd.setl_id {
                    return Err("cancelled another settlement".into());
                }
                let Some(s) = self.settlements.get(setl_id).cloned() else {
                    return Err(format!("cancelled {setl_id}, never acknowledged"));
                };
                if s.cancelled {
                    return Err(format!("{setl_id} cancelled twice"));
                }
                let mut taken: BTreeMap<String, i64> = BTreeMap::new();
                *taken.entry(s.patient.clone()).or_insert(0) += s.own;
                for (holder, _, amount) in &s.draws {
                    *taken.entry(holder.clone()).or_insert(0) += amount;
                }
                taken.retain(|_, a| *a != 0);
                let returned = personal_amounts(field(2).unwrap_or_default())?;
                if returned != taken {
                    return Err(format!(
                        "returned {returned:?}, the settlement took {taken:?}"
                    ));
                }
                let recomputed = personal_amounts(field(3).unwrap_or_default())?;
                for (psn, amount) in returned.iter().chain(&recomputed) {
                    self.add(psn, *amount)?;
                }
                let back: i64 = returned.values().chain(recomputed.values()).sum();
                self.outflow -= back;
                if num(field(4), "balc")? != self.balance(&s.patient) {
                    return Err("balc after the cancel disagrees with the books".into());
                }
                if let Some(s) = self.settlements.get_mut(setl_id) {
                    s.cancelled = true;
                }
                Ok(())
            }
            (Command::Premium(cmd), Some("P")) => {
                if field(1) != Some(cmd.holder.as_str()) {
                    return Err("another holder paid".into());
                }
                let amount = num(field(2), "premium")?;
                if amount < 0 {
                    return Err("a negative premium".into());
                }
                let left = self.add(&cmd.holder, -amount)?;
                if left != num(field(3), "balance after")? {
                    return Err(format!("holder's balance after disagrees: books {left}"));
                }
                self.outflow += amount;
                Ok(())
            }
            (Command::Fund { psn_no, amount, .. }, Some("F")) => {
                let now = self.add(psn_no, amount.fen())?;
                self.inflow += amount.fen();
                if now != num(field(1), "balance")? {
                    return Err(format!("funded balance disagrees: books {now}"));
                }
                Ok(())
            }
            (Command::Recovery(cmd), Some("R")) => {
                let case_id = num(field(1), "case")?;
                let status = field(2).unwrap_or_default();
                match &cmd.action {
                    RecoveryAction::Open {
                        binding_id,
                        setl_id,
                        amount,
                        ..
                    } => {
                        let Some(s) = self.settlements.get(setl_id) else {
                            return Err(format!("a case on {setl_id}, never acknowledged"));
                        };
                        if s.cancelled {
                            return Err("a case on a cancelled settlement".into());
                        }
                        let drawn: i64 = s
                            .draws
                            .iter()
                            .filter(|d| d.1 == *binding_id)
                            .map(|d| d.2)
                            .sum();
                        let claimed: i64 = self
                            .cases
                            .values()
                            .filter(|c| &c.setl_id == setl_id && c.binding_id == *binding_id)
                            .map(|c| c.amount)
                            .sum();
                        if amount.fen() <= 0 || amount.fen() > drawn - claimed {
                            return Err(format!(
                                "a case of {} on {drawn} drawn, {claimed} claimed",
                                amount.fen()
                            ));
                        }
                        if status != "open" || self.cases.contains_key(&case_id) {
                            return Err("not a new open case".into());
                        }
                        let holder = s
                            .draws
                            .iter()
                            .find(|d| d.1 == *binding_id)
                            .map(|d| d.0.clone())
                            .unwrap_or_default();
                        if field(3) != Some(holder.as_str()) {
                            return Err("a case against someone who did not pay".into());
                        }
                        self.cases.insert(
                            case_id,
                            Case {
                                holder,
                                binding_id: *binding_id,
                                setl_id: setl_id.clone(),
                                amount: amount.fen(),
                                repaid: false,
                            },
                        );
                        Ok(())
                    }
                    RecoveryAction::Repaid { case_id: asked } => {
                        let Some(case) = self.cases.get(asked).cloned() else {
                            return Err(format!("case {asked} repaid, never opened"));
                        };
                        if case.repaid || status != "repaid" || case_id != *asked {
                            return Err(format!("case {asked} repaid twice or not repaid"));
                        }
                        self.add(&case.holder, case.amount)?;
                        self.inflow += case.amount;
                        if let Some(c) = self.cases.get_mut(asked) {
                            c.repaid = true;
                        }
                        Ok(())
                    }
                }
            }
            (Command::Bind(_) | Command::ChangeBinding(_), Some("B")) => Ok(()),
            (_, kind) => Err(format!("an answer of kind {kind:?} to this request")),
        }
    }

    /// The books balance: what is in the accounts is what was there, plus what came in,
    /// minus what went out.
    pub fn conserved(&self) -> Result<(), String> {
        let held: i64 = self.balances.values().sum();
        let expected = self.opening + self.inflow - self.outflow;
        if held != expected {
            return Err(format!(
                "accounts hold {held}, opening {} + in {} - out {} = {expected}",
                self.opening, self.inflow, self.outflow
            ));
        }
        Ok(())
    }

    /// Settlements as the auditor knows them: setl_id → cancelled.
    pub fn settlement_states(&self) -> BTreeMap<String, bool> {
        self.settlements
            .iter()
            .map(|(id, s)| (id.clone(), s.cancelled))
            .collect()
    }

    pub fn nonzero_balances(&self) -> BTreeMap<String, i64> {
        self.balances
            .iter()
            .filter(|(_, b)| **b != 0)
            .map(|(k, b)| (k.clone(), *b))
            .collect()
    }

    /// Acknowledged settlements with at least one draw, for recovery cases.
    pub fn drawn_settlements(&self) -> Vec<(String, i64, i64)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (id, s) in &self.settlements {
            for (_, binding, amount) in &s.draws {
                if !s.cancelled && seen.insert((id.clone(), *binding)) {
                    out.push((id.clone(), *binding, *amount));
                }
            }
        }
        out
    }
}
