//! Random populations and random sequences of settlements, pre-settlements, cancels and
//! retries through the real engine, checked against an independent model of every balance
//! (the auditor), the store's `verify` and the ledger's conservation laws.

mod common;

use std::collections::BTreeMap;

use chrono::Datelike;
use common::*;
use gongji_core::codes::{AccountUse, ChargeLevel, HospitalLevel, MedType};
use gongji_core::ledger::LedgerAccount;
use gongji_core::policy::SecondReimbursement;
use gongji_core::second_reimbursement::FUND_PAY_TYPE;
use gongji_core::Fen;
use gongji_engine::{CancelCommand, Command, EngineError, Outcome, Render, Request, SettleCommand};
use gongji_store::SqliteStore;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Link {
    begin_day: i64,
    per_payment: Option<i64>,
    per_month: Option<i64>,
}

#[derive(Clone, Debug)]
struct Population {
    region: &'static str,
    /// Holders' balances in fen.
    holders: Vec<i64>,
    /// Relatives: (employee-insured, own balance in fen).
    relatives: Vec<(bool, i64)>,
    /// `links[h * 3 + r]`: a binding of relative `r` to holder `h`.
    links: Vec<Option<Link>>,
}

#[derive(Clone, Debug)]
struct Visit {
    /// Three times in four a relative, else a holder (taken modulo their number).
    patient: usize,
    /// 0 pharmacy (41), 1 primary clinic (11), 2 level-3 hospital (14).
    site: usize,
    /// (item: 0 class A, 1 class B with 10% self-paid, 2 class C; amount in fen).
    lines: Vec<(usize, i64)>,
    /// acct_used_flag 0, 1 or 2.
    use_flag: u8,
    /// 0 no credential, 1 the patient's own card, 2.. a holder's card.
    card: usize,
    day: i64,
}

#[derive(Clone, Debug)]
enum Op {
    Settle(Visit),
    Presettle(Visit),
    /// Settle, cancel at once, settle the same again: the cancel restores everything.
    SettleCancelResettle(Visit),
    Cancel(usize),
    /// Money into a personal account (employer transfer): (person, fen).
    Fund(usize, i64),
    Replay(usize),
    ReuseMsgid(usize),
}

fn population() -> impl Strategy<Value = Population> {
    let link = (
        0i64..60,
        option::of(0i64..=50_000),
        option::of(0i64..=100_000),
    )
        .prop_map(|(begin_day, per_payment, per_month)| Link {
            begin_day,
            per_payment,
            per_month,
        });
    (
        prop_oneof![Just(JINAN), Just(YUNCHENG)],
        vec(0i64..=1_000_000, 1..=3),
        vec((any::<bool>(), 0i64..=50_000), 1..=3),
        vec(option::weighted(0.7, link), 9),
    )
        .prop_map(|(region, holders, relatives, links)| Population {
            region,
            holders,
            relatives,
            links,
        })
}

fn visit() -> impl Strategy<Value = Visit> {
    // Mostly everyday bills; sometimes a large one, so the second reimbursement (R-J9) and
    // the annual caps come into play.
    let amount = prop_oneof![9 => 0i64..=150_000, 1 => 1_000_000i64..=3_000_000];
    (
        0usize..24,
        0usize..3,
        vec((0usize..3, amount), 1..=3),
        0u8..3,
        0usize..5,
        0i64..90,
    )
        .prop_map(|(patient, site, lines, use_flag, card, day)| Visit {
            patient,
            site,
            lines,
            use_flag,
            card,
            day,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => visit().prop_map(Op::Settle),
        1 => visit().prop_map(Op::Presettle),
        1 => visit().prop_map(Op::SettleCancelResettle),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => (any::<usize>(), 0i64..=100_000).prop_map(|(p, fen)| Op::Fund(p, fen)),
        1 => any::<usize>().prop_map(Op::Replay),
        1 => any::<usize>().prop_map(Op::ReuseMsgid),
    ]
}

fn date(offset_days: i64) -> String {
    (day("2025-03-01") + chrono::Duration::days(offset_days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The answer stored with a money-moving entry and replayed for its msgid.
fn render() -> Render {
    Box::new(|o: &Outcome| match o {
        Outcome::Settled(s) => format!("settled {} {:?}", s.setl_id, s.decision.totals),
        Outcome::Cancelled(c) => format!("cancelled {} by {}", c.setl_id, c.entry_id),
        other => format!("{other:?}"),
    })
}

/// The auditor's own reading of R-J9 for one person's year: the compliant personal burden of
/// the live settlements and the second reimbursement paid on it so far, net of clawbacks and
/// top-ups.
#[derive(Clone, Copy, Debug, Default)]
struct RefundLedger {
    burden: i64,
    refunded: i64,
}

/// R-J9 as the policy states it: the part of the year's burden inside each tier, at the tier's
/// ratio.
fn owed(sr: &SecondReimbursement, burden: i64) -> i64 {
    sr.tiers
        .iter()
        .map(|t| {
            let in_tier = burden.min(t.up_to.fen()) - t.above.fen();
            Fen::from_fen(in_tier.max(0)).share(t.ratio).fen()
        })
        .sum()
}

/// A request already answered: what to send again, and the answer given.
struct Answered {
    msgid: String,
    hash: String,
    command: Command,
    response: String,
}

struct Run {
    w: World,
    holders: Vec<String>,
    relatives: Vec<String>,
    sites: [String; 3],
    items: [String; 3],
    /// The auditor's own balances, moved only by the postings the engine answered with.
    model: BTreeMap<String, i64>,
    settled: Vec<(gongji_engine::Settled, bool)>,
    /// R-J9 by (person, year), over the live settlements.
    refunds: BTreeMap<(String, i32), RefundLedger>,
    answered: Vec<Answered>,
    next_msgid: u64,
}

impl Run {
    fn new(pop: &Population) -> Result<Run, TestCaseError> {
        let mut w = World::new();
        let region = pop.region;
        let holders: Vec<String> = pop.holders.iter().map(|b| w.employee(region, *b)).collect();
        let relatives: Vec<String> = pop
            .relatives
            .iter()
            .map(|(employee, b)| {
                if *employee {
                    w.employee(region, *b)
                } else {
                    w.resident(region)
                }
            })
            .collect();
        let limits_allowed = w
            .engine
            .policies()
            .for_admdvs(w.person_of(&holders[0]).admdvs)
            .expect("policy")
            .payment
            .per_relative_limits;
        for (h, holder) in holders.iter().enumerate() {
            for (r, relative) in relatives.iter().enumerate() {
                let Some(link) = &pop.links[h * 3 + r] else {
                    continue;
                };
                let begin = (day("2025-01-01") + chrono::Duration::days(link.begin_day))
                    .format("%Y-%m-%d")
                    .to_string();
                let mut cmd = w.bind_cmd(holder, relative, 21, &begin);
                if limits_allowed {
                    cmd.limit_per_payment = link.per_payment.map(Fen::from_fen);
                    cmd.limit_per_month = link.per_month.map(Fen::from_fen);
                }
                let bound = w.run_bind(cmd);
                prop_assert!(bound.is_ok(), "bind refused: {:?}", bound.err());
            }
        }
        let sites = [
            w.pharmacy(region),
            w.hospital(region, HospitalLevel::Primary),
            w.hospital(region, HospitalLevel::Level3),
        ];
        let items = [
            w.item(ChargeLevel::ClassA, 0),
            w.item(ChargeLevel::ClassB, 1_000),
            w.item(ChargeLevel::ClassC, 0),
        ];
        let model = w.balances();
        Ok(Run {
            w,
            holders,
            relatives,
            sites,
            items,
            model,
            settled: Vec::new(),
            refunds: BTreeMap::new(),
            answered: Vec::new(),
            next_msgid: 0,
        })
    }

    fn command(&self, v: &Visit, dry_run: bool) -> SettleCommand {
        let group = match v.patient % 4 {
            0 => &self.holders,
            _ => &self.relatives,
        };
        let patient = &group[v.patient / 4 % group.len()];
        let med_type = [
            MedType::PharmacyPurchase,
            MedType::GeneralOutpatient,
            MedType::ChronicSpecialOutpatient,
        ][v.site];
        let lines: Vec<(&str, i64)> = v
            .lines
            .iter()
            .map(|(item, fen)| (self.items[*item].as_str(), *fen))
            .collect();
        let mut cmd = self
            .w
            .visit(patient, &self.sites[v.site], med_type, &lines, &date(v.day));
        cmd.account_use = [
            AccountUse::CashOnly,
            AccountUse::OwnAccount,
            AccountUse::OwnThenMutualAid,
        ][usize::from(v.use_flag)];
        cmd.credential = match v.card {
            0 => None,
            1 => self.w.card(patient),
            n => self.w.card(&self.holders[(n - 2) % self.holders.len()]),
        };
        cmd.dry_run = dry_run;
        cmd
    }

    /// The second reimbursement rule a settlement falls under, if any, and its compliant
    /// personal burden (what the patient bears within scope: `inscp_scp_amt - hifp_pay`).
    fn refund_rule(&self, s: &gongji_engine::Settled) -> Option<(SecondReimbursement, i64)> {
        let sr = self
            .w
            .engine
            .policies()
            .for_admdvs(s.patient.admdvs)?
            .second_reimbursement
            .clone()?;
        if sr.insutype != s.patient.insutype || !sr.med_types.contains(&s.med_type) {
            return None;
        }
        let t = &s.decision.totals;
        Some((sr, t.inscp_scp_amt.fen() - t.hifp_pay.fen()))
    }

    fn msgid(&mut self) -> String {
        self.next_msgid += 1;
        format!("MSG{:08}", self.next_msgid)
    }

    fn apply(&mut self, postings: &[(String, i64)]) {
        for (key, fen) in postings {
            *self.model.entry(key.clone()).or_insert(0) += fen;
        }
        self.model.retain(|_, b| *b != 0);
    }

    /// The engine, the store and the auditor agree, and money is conserved.
    fn audit(&mut self) -> Result<(), TestCaseError> {
        self.w.verify();
        let balances = self.w.balances();
        prop_assert_eq!(&balances, &self.model, "engine and auditor disagree");
        let personal: i64 = balances
            .iter()
            .filter(|(k, _)| k.starts_with("psn:"))
            .map(|(_, b)| *b)
            .sum();
        let outside: i64 = balances
            .iter()
            .filter(|(k, _)| {
                ["cash", "funding"].contains(&k.as_str())
                    || ["fund:", "premium:", "inst:"]
                        .iter()
                        .any(|p| k.starts_with(p))
            })
            .map(|(_, b)| *b)
            .sum();
        prop_assert_eq!(
            personal + outside,
            0,
            "money appeared or vanished: {:?}",
            balances
        );
        Ok(())
    }

    /// Settles with a fresh msgid; `None` if refused (then nothing moved).
    fn settle(&mut self, v: &Visit) -> Result<Option<gongji_engine::Settled>, TestCaseError> {
        let cmd = self.command(v, false);
        let msgid = self.msgid();
        let hash = format!("{cmd:?}");
        let before = self.w.balances();
        let request = Request::new(Command::Settle(cmd.clone()))
            .with_msgid(msgid.clone(), hash.clone())
            .with_render(render());
        match self.w.execute(request) {
            Ok(Outcome::Settled(s)) => {
                assert_settlement_sound(&s);
                let reserve_of = |psn: &str| {
                    let person = self.w.person_of(psn);
                    self.w
                        .engine
                        .policies()
                        .for_admdvs(person.admdvs)
                        .unwrap()
                        .payment
                        .reserve
                };
                for d in &s.decision.allocation.draws {
                    prop_assert_eq!(d.reserve, reserve_of(&d.holder));
                    prop_assert!(d.balance_after >= d.reserve);
                }
                // R-J9: the settlement refunds what the year's burden now deserves, less what
                // the year was already refunded.
                let oth_pay = s.decision.totals.oth_pay.fen();
                match self.refund_rule(&s) {
                    Some((sr, burden)) => {
                        let year = (s.patient.psn_no.clone(), s.at.year());
                        let y = self.refunds.entry(year).or_default();
                        y.burden += burden;
                        let due = (owed(&sr, y.burden) - y.refunded).max(0);
                        prop_assert_eq!(oth_pay, due, "second reimbursement of {}", s.setl_id);
                        y.refunded += oth_pay;
                    }
                    None => prop_assert_eq!(oth_pay, 0, "no second reimbursement here"),
                }
                let postings: Vec<(String, i64)> = s
                    .decision
                    .postings
                    .postings()
                    .iter()
                    .map(|p| (p.account.key(), p.amount.fen()))
                    .collect();
                self.apply(&postings);
                self.answered.push(Answered {
                    msgid,
                    hash,
                    command: Command::Settle(cmd),
                    response: format!("settled {} {:?}", s.setl_id, s.decision.totals),
                });
                self.settled.push((*s.clone(), false));
                self.audit()?;
                Ok(Some(*s))
            }
            Ok(other) => Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            Err(e) => {
                prop_assert_eq!(
                    e.code(),
                    "GJ-SETL-CREDENTIAL-MISMATCH",
                    "{}",
                    e.message_en()
                );
                prop_assert_eq!(self.w.balances(), before);
                Ok(None)
            }
        }
    }

    fn fund(&mut self, person: usize, fen: i64) -> Result<(), TestCaseError> {
        let employees: Vec<String> = self
            .holders
            .iter()
            .chain(&self.relatives)
            .filter(|p| self.w.person_of(p).is_employee())
            .cloned()
            .collect();
        let psn_no = employees[person % employees.len()].clone();
        let command = Command::Fund {
            psn_no: psn_no.clone(),
            amount: Fen::from_fen(fen),
            at: at("2025-03-01"),
        };
        let msgid = self.msgid();
        let hash = format!("{command:?}");
        let request = Request::new(command.clone())
            .with_msgid(msgid.clone(), hash.clone())
            .with_render(render());
        match self.w.execute(request) {
            Ok(outcome @ Outcome::Funded { .. }) => {
                self.apply(&[
                    (format!("psn:{psn_no}"), fen),
                    ("funding".to_string(), -fen),
                ]);
                self.answered.push(Answered {
                    msgid,
                    hash,
                    command,
                    response: format!("{outcome:?}"),
                });
                self.audit()
            }
            other => Err(TestCaseError::fail(format!("funding answered {other:?}"))),
        }
    }

    fn cancel(&mut self, index: usize) -> Result<(), TestCaseError> {
        let (s, already) = self.settled[index].clone();
        let cmd = CancelCommand {
            institution: s.institution.code.clone(),
            setl_id: s.setl_id.clone(),
            psn_no: s.patient.psn_no.clone(),
            channel: gongji_core::codes::Channel::Window,
            at: s.at,
        };
        let reversed: Vec<(String, i64)> = s
            .decision
            .postings
            .postings()
            .iter()
            .map(|p| (p.account.key(), -p.amount.fen()))
            .collect();
        let msgid = self.msgid();
        let hash = format!("{cmd:?}");
        let before = self.w.balances();
        let request = Request::new(Command::Cancel(cmd.clone()))
            .with_msgid(msgid.clone(), hash.clone())
            .with_render(render());
        match (self.w.execute(request), already) {
            (Ok(Outcome::Cancelled(c)), false) => {
                let mut returned: Vec<(String, i64)> = c
                    .returned
                    .iter()
                    .map(|(k, f)| (k.clone(), f.fen()))
                    .collect();
                returned.sort();
                let mut expected = reversed.clone();
                expected.sort();
                prop_assert_eq!(returned, expected, "a cancel returns every posting exactly");
                // R-J9 on the settlements that stay: what their burden deserves less what
                // they were refunded is clawed back from (or topped up to) the patient, in
                // cash, through the fund that paid the refunds.
                let mut recomputed_expected: Vec<(String, i64)> = Vec::new();
                if let Some((sr, burden)) = self.refund_rule(&s) {
                    let year = (s.patient.psn_no.clone(), s.at.year());
                    let y = self.refunds.entry(year).or_default();
                    y.burden -= burden;
                    y.refunded -= s.decision.totals.oth_pay.fen();
                    let delta = owed(&sr, y.burden) - y.refunded;
                    if delta != 0 {
                        let fund = LedgerAccount::PoolFund {
                            admdvs: s.patient.admdvs,
                            fund_pay_type: FUND_PAY_TYPE.into(),
                        };
                        recomputed_expected = vec![(fund.key(), -delta), ("cash".into(), delta)];
                    }
                    y.refunded += delta;
                }
                let mut recomputed: Vec<(String, i64)> = c
                    .refund_recomputed
                    .iter()
                    .map(|(k, f, _)| (k.clone(), f.fen()))
                    .collect();
                recomputed.sort();
                recomputed_expected.sort();
                prop_assert_eq!(
                    &recomputed,
                    &recomputed_expected,
                    "the second reimbursement recomputed after cancelling {}",
                    s.setl_id
                );
                self.apply(&reversed);
                self.apply(&recomputed);
                self.settled[index].1 = true;
                self.answered.push(Answered {
                    msgid,
                    hash,
                    command: Command::Cancel(cmd),
                    response: format!("cancelled {} by {}", c.setl_id, c.entry_id),
                });
                self.audit()
            }
            (Err(e), true) => {
                prop_assert_eq!(e.code(), "GJ-SETL-ALREADY-CANCELLED");
                prop_assert_eq!(self.w.balances(), before);
                Ok(())
            }
            (other, _) => Err(TestCaseError::fail(format!(
                "cancel (already cancelled: {already}) answered {other:?}"
            ))),
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Settle(v) => {
                self.settle(v)?;
            }
            Op::Presettle(v) => {
                let before = self.w.balances();
                match self.w.settle(self.command(v, true)) {
                    Ok(s) => prop_assert!(s.dry_run),
                    Err(e) => prop_assert_eq!(e.code(), "GJ-SETL-CREDENTIAL-MISMATCH"),
                }
                prop_assert_eq!(self.w.balances(), before, "a pre-settlement moves nothing");
            }
            Op::SettleCancelResettle(v) => {
                let before = self.w.balances();
                if let Some(first) = self.settle(v)? {
                    let index = self.settled.len() - 1;
                    self.cancel(index)?;
                    prop_assert_eq!(
                        self.w.balances(),
                        before,
                        "the cancel restores every balance"
                    );
                    let again = self.settle(v)?.expect("the same request settles again");
                    prop_assert_eq!(paid(&again), paid(&first));
                    prop_assert_eq!(&again.decision.totals, &first.decision.totals);
                }
            }
            Op::Fund(p, fen) => self.fund(*p, *fen)?,
            Op::Cancel(i) => {
                if !self.settled.is_empty() {
                    self.cancel(i % self.settled.len())?;
                }
            }
            Op::Replay(i) => {
                if !self.answered.is_empty() {
                    let a = &self.answered[i % self.answered.len()];
                    let request = Request::new(a.command.clone())
                        .with_msgid(a.msgid.clone(), a.hash.clone())
                        .with_render(render());
                    let want = a.response.clone();
                    let before = self.w.balances();
                    match self.w.execute(request) {
                        Ok(Outcome::Replayed { response }) => prop_assert_eq!(response, want),
                        other => {
                            return Err(TestCaseError::fail(format!("replay answered {other:?}")))
                        }
                    }
                    prop_assert_eq!(self.w.balances(), before, "a replay moves nothing");
                }
            }
            Op::ReuseMsgid(i) => {
                if !self.answered.is_empty() {
                    let a = &self.answered[i % self.answered.len()];
                    let request = Request::new(a.command.clone())
                        .with_msgid(a.msgid.clone(), format!("{}-changed", a.hash));
                    let before = self.w.balances();
                    match self.w.execute(request) {
                        Err(EngineError::MsgidReused) => {}
                        other => {
                            return Err(TestCaseError::fail(format!("reuse answered {other:?}")))
                        }
                    }
                    prop_assert_eq!(self.w.balances(), before, "a refused request moves nothing");
                }
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_ledger_holds_under_random_settlements_cancels_and_retries(
        pop in population(),
        ops in vec(op(), 1..25),
    ) {
        let mut run = Run::new(&pop)?;
        run.audit()?;
        for op in &ops {
            run.step(op)?;
        }
    }
}

/// Idempotency survives a restart: the msgid's answer is read back from the database.
#[test]
fn a_retry_after_a_restart_is_answered_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gongji.db");
    let open = || SqliteStore::open(&path).expect("database file");
    let mut w = World::with_store(open(), gongji_policy::presets());
    let holder = w.employee(JINAN, yuan(500));
    let child = w.resident(JINAN);
    w.bind(&holder, &child, 21, "2025-01-01").unwrap();
    let shop = w.pharmacy(JINAN);
    let a = w.item(ChargeLevel::ClassA, 0);
    let cmd = w.bill(&child, &shop, &[(&a, yuan(120))], "2025-03-01");
    let request = |hash: &str| {
        Request::new(Command::Settle(cmd.clone()))
            .with_msgid("MSG-RESTART", hash)
            .with_render(render())
    };
    let first = match w.execute(request("h1")).unwrap() {
        Outcome::Settled(s) => format!("settled {} {:?}", s.setl_id, s.decision.totals),
        other => panic!("{other:?}"),
    };
    assert_eq!(w.balance(&holder), yuan(380));
    drop(w);

    let mut w = World::with_store(open(), gongji_policy::presets());
    assert_eq!(w.balance(&holder), yuan(380));
    match w.execute(request("h1")).unwrap() {
        Outcome::Replayed { response } => assert_eq!(response, first),
        other => panic!("{other:?}"),
    }
    refused(w.execute(request("h2")), "GJ-IDEMPOTENCY-MSGID-REUSED");
    assert_eq!(w.balance(&holder), yuan(380));
    w.verify();
}
