//! Cross-province mutual aid by quota (R-N3, issue 14), engine to engine: a holder insured
//! in Shandong (province A, 37) grants a quota to his relative insured in Shanxi (B, 14).
//! Two engines on two SQLite files are driven in-process the way the transport drives
//! them (each step repeated as a retry would repeat it), through the whole journey: bind,
//! reserve, credit, confirm, spend at a pharmacy in B, return on unbind. Either engine may
//! be dropped and reopened at every step boundary; the step is then run again.

mod common;

use std::path::PathBuf;

use chrono::NaiveDateTime;
use common::{at, day, presets_with, yuan, World, YANTAI, YUNCHENG};
use gongji_core::codes::{AccountUse, Channel, ChargeLevel, Relationship};
use gongji_core::policy::PolicySet;
use gongji_core::Fen;
use gongji_engine::quota::{
    figures_of_snapshot, pair_figures, peer_error_is_final, QuotaAnswer, QuotaBindCommand,
    QuotaBindingStatus, QuotaCommand, QuotaParties, QuotaPosition, SentState,
};
use gongji_engine::{Command, EngineError, Outcome, Request, Settled};
use gongji_store::SqliteStore;

/// Every preset joined cross-province aid on 2026-01-01.
fn open_policies() -> PolicySet {
    let mut policies = presets_with("shandong", |_| {}).policies().to_vec();
    for p in &mut policies {
        p.binding.cross_province_from = Some(day("2026-01-01"));
    }
    PolicySet::new(policies)
}

/// One province: its engine over a database file that outlives the engine.
struct Province {
    world: Option<World>,
    path: PathBuf,
    policies: PolicySet,
}

impl Province {
    fn new(dir: &tempfile::TempDir, name: &str, policies: PolicySet) -> Province {
        let path = dir.path().join(format!("{name}.db"));
        let store = SqliteStore::open(&path).expect("store");
        Province {
            world: Some(World::with_store(store, policies.clone())),
            path,
            policies,
        }
    }

    fn w(&mut self) -> &mut World {
        self.world.as_mut().expect("engine open")
    }

    /// The process dies and starts again: everything in memory is gone, the file stays.
    fn restart(&mut self) {
        self.world = None;
        let store = SqliteStore::open(&self.path).expect("reopen");
        self.world = Some(World::with_store(store, self.policies.clone()));
    }

    fn run(&mut self, cmd: QuotaCommand) -> Result<QuotaAnswer, EngineError> {
        match self.w().execute(Request::new(Command::Quota(cmd)))? {
            Outcome::Quota(a) => Ok(*a),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A request a person or clerk made once: a retry carries the same msgid.
    fn run_once(&mut self, msgid: &str, cmd: Command) -> Outcome {
        self.w()
            .execute(Request::new(cmd).with_msgid(msgid, msgid))
            .unwrap_or_else(|e| panic!("{msgid}: {e}"))
    }

    fn count(&mut self, sql: &str) -> i64 {
        self.w()
            .engine
            .store_mut()
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .expect(sql)
    }
}

struct Journey {
    a: Province,
    b: Province,
    parties: QuotaParties,
    pharmacy: String,
    item: String,
    _dir: tempfile::TempDir,
}

const HOLDER_START: i64 = yuan(1000);
const RELATIVE_OWN: i64 = yuan(20);
const GRANT: i64 = yuan(300);
const BILL: i64 = yuan(100);

fn t(on: &str) -> NaiveDateTime {
    at(on)
}

impl Journey {
    fn new() -> Journey {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = Province::new(&dir, "shandong", open_policies());
        let mut b = Province::new(&dir, "shanxi", open_policies());
        let holder = a.w().employee(YANTAI, HOLDER_START);
        let relative = b.w().employee(YUNCHENG, RELATIVE_OWN);
        let pharmacy = b.w().pharmacy(YUNCHENG);
        let item = b.w().item(ChargeLevel::ClassA, 0);
        Journey {
            a,
            b,
            parties: QuotaParties {
                holder_province: 37,
                holder_psn_no: holder,
                relative_province: 14,
                relative_psn_no: relative,
            },
            pharmacy,
            item,
            _dir: dir,
        }
    }

    fn bind_cmd(&self) -> QuotaBindCommand {
        QuotaBindCommand {
            parties: self.parties.clone(),
            relationship: Relationship::from_code(10).expect("spouse"),
            begin: day("2026-03-01"),
            end: None,
            channel: Channel::WeChat,
            actor: self.parties.holder_psn_no.clone(),
            at: t("2026-03-01"),
        }
    }

    /// The steps of the journey, in order. Each can run again after a crash: a person's
    /// own request carries a msgid; the transport's steps read what is waiting and ask
    /// again, as the retry driver does.
    fn step(&mut self, n: usize) {
        match n {
            // Bind: B checked and records its copy, then A records the holder's.
            0 => {
                let p = self.parties.clone();
                self.b
                    .w()
                    .engine
                    .quota_check_relative(&p, day("2026-03-01"))
                    .expect("B allows");
                let cmd = self.bind_cmd();
                answer_binding(self.b.run(QuotaCommand::BindIn(cmd.clone())));
                answer_binding(self.a.run(QuotaCommand::BindOut(cmd)));
            }
            // The holder grants 300 yuan.
            1 => {
                let cmd = QuotaCommand::Reserve {
                    parties: self.parties.clone(),
                    amount: Fen::from_fen(GRANT),
                    channel: Channel::WeChat,
                    actor: self.parties.holder_psn_no.clone(),
                    at: t("2026-03-02"),
                };
                self.a.run_once("grant-1", Command::Quota(cmd));
            }
            // Send: A's outbox to B (B's answer is lost on the way back).
            2 => {
                for row in self.a.w().engine.quota_outbox() {
                    self.b
                        .run(QuotaCommand::Credit {
                            parties: row.parties.clone(),
                            transfer_id: row.transfer_id.clone(),
                            amount: row.amount,
                            at: t("2026-03-02"),
                        })
                        .expect("B answers");
                }
            }
            // Confirm: asked again, B answers the first result; A confirms.
            3 => self.deliver_grants(),
            // The relative buys 100 yuan of medicine at a pharmacy in B.
            4 => {
                let mut cmd = self.b.w().bill(
                    &self.parties.relative_psn_no,
                    &self.pharmacy,
                    &[(&self.item, BILL)],
                    "2026-03-05",
                );
                cmd.account_use = AccountUse::OwnThenMutualAid;
                self.b.run_once("spend-1", Command::Settle(cmd));
            }
            // The holder ends the binding in A.
            5 => {
                let cmd = QuotaCommand::EndOut {
                    parties: self.parties.clone(),
                    channel: Channel::WeChat,
                    actor: self.parties.holder_psn_no.clone(),
                    at: t("2026-03-10"),
                };
                self.a.run_once("unbind-1", Command::Quota(cmd));
            }
            // A tells B; B ends its copy and takes what is left out for return.
            6 => {
                for b in self.a.w().engine.quota_endings() {
                    self.b
                        .run(QuotaCommand::EndIn {
                            parties: b.parties.clone(),
                            at: t("2026-03-10"),
                        })
                        .expect("B ends");
                }
            }
            // Asked again, B answers Ended; A marks its copy ended.
            7 => {
                for b in self.a.w().engine.quota_endings() {
                    let ended = self.b.run(QuotaCommand::EndIn {
                        parties: b.parties.clone(),
                        at: t("2026-03-10"),
                    });
                    assert!(matches!(ended, Ok(QuotaAnswer::Ended { .. })), "{ended:?}");
                    self.a
                        .run(QuotaCommand::EndConfirmed {
                            parties: b.parties.clone(),
                            at: t("2026-03-10"),
                        })
                        .expect("A ends");
                }
            }
            // B's outbox (the return) to A; A's answer is lost.
            8 => {
                for row in self.b.w().engine.quota_outbox() {
                    self.a
                        .run(QuotaCommand::ReturnCredit {
                            parties: row.parties.clone(),
                            transfer_id: row.transfer_id.clone(),
                            amount: row.amount,
                            at: t("2026-03-10"),
                        })
                        .expect("A answers");
                }
            }
            // Asked again, A answers the first result; B confirms.
            9 => {
                for row in self.b.w().engine.quota_outbox() {
                    let answer = self.a.run(QuotaCommand::ReturnCredit {
                        parties: row.parties.clone(),
                        transfer_id: row.transfer_id.clone(),
                        amount: row.amount,
                        at: t("2026-03-10"),
                    });
                    assert!(
                        matches!(answer, Ok(QuotaAnswer::Applied { .. })),
                        "{answer:?}"
                    );
                    self.b
                        .run(QuotaCommand::Confirm {
                            transfer_id: row.transfer_id.clone(),
                            at: t("2026-03-10"),
                        })
                        .expect("B confirms");
                }
            }
            _ => unreachable!(),
        }
    }

    fn deliver_grants(&mut self) {
        for row in self.a.w().engine.quota_outbox() {
            let answer = self.b.run(QuotaCommand::Credit {
                parties: row.parties.clone(),
                transfer_id: row.transfer_id.clone(),
                amount: row.amount,
                at: t("2026-03-02"),
            });
            let next = match answer {
                Ok(QuotaAnswer::Applied { .. }) => QuotaCommand::Confirm {
                    transfer_id: row.transfer_id.clone(),
                    at: t("2026-03-02"),
                },
                Ok(QuotaAnswer::Refused { row: refused, .. }) => QuotaCommand::Release {
                    transfer_id: row.transfer_id.clone(),
                    reason: refused.refusal_zh.unwrap_or_default(),
                    at: t("2026-03-02"),
                },
                other => panic!("B answered {other:?}"),
            };
            self.a.run(next).expect("A settles its outbox row");
        }
    }

    /// Both sides' records agree, and every fen of the holder's is where they say.
    fn conservation(&mut self) -> QuotaPosition {
        let holders = self.a.w().engine.quota_holder_figures();
        let relatives = self.b.w().engine.quota_relative_figures();
        let checks = pair_figures(37, 14, &holders, &relatives);
        assert_eq!(checks.len(), 1, "{checks:?}");
        checks[0].result.clone().expect("conservation holds")
    }
}

const STEPS: usize = 10;

#[track_caller]
fn answer_binding(got: Result<QuotaAnswer, EngineError>) {
    match got {
        Ok(QuotaAnswer::Binding(b)) => assert_eq!(b.status, QuotaBindingStatus::Active),
        other => panic!("expected a binding, got {other:?}"),
    }
}

/// The journey's end as the holder and his relative see it, the same however often it
/// was interrupted.
fn assert_journey_done(j: &mut Journey) {
    let holder = j.parties.holder_psn_no.clone();
    let relative = j.parties.relative_psn_no.clone();
    // The relative's own 20 yuan paid first, the quota the other 80 (R-S4, R-N3).
    let quota_spent = BILL - RELATIVE_OWN;
    assert_eq!(j.b.w().balance(&relative), 0);
    assert_eq!(
        j.b.w().engine.quota_remaining(&j.parties),
        Fen::ZERO,
        "the unused 220 yuan went back"
    );
    assert_eq!(
        j.a.w().balance(&holder),
        HOLDER_START - quota_spent,
        "the holder has all but what was spent for his relative, to the fen"
    );
    // What A still counts as out is exactly what was spent in B (settled between the two
    // provinces' funds, not through the holder).
    assert_eq!(
        j.a.w().engine.quota_out(&j.parties),
        Fen::from_fen(quota_spent)
    );
    assert_eq!(
        j.conservation(),
        QuotaPosition {
            granting: Fen::ZERO,
            remaining: Fen::ZERO,
            spent: Fen::from_fen(quota_spent),
            returning: Fen::ZERO,
        }
    );
    // `verify --peer` may read a database without an engine: the same figures.
    use gongji_store::Store as _;
    let snapshot = j.a.w().engine.store_mut().load_snapshot().expect("A");
    assert_eq!(
        figures_of_snapshot(snapshot).0,
        j.a.w().engine.quota_holder_figures()
    );
    let snapshot = j.b.w().engine.store_mut().load_snapshot().expect("B");
    assert_eq!(
        figures_of_snapshot(snapshot).1,
        j.b.w().engine.quota_relative_figures()
    );
    // Nothing was applied twice, nothing is left in flight.
    assert_eq!(
        j.a.count("SELECT COUNT(*) FROM journal WHERE kind = 'quota_grant'"),
        1
    );
    assert_eq!(
        j.b.count("SELECT COUNT(*) FROM journal WHERE kind = 'quota_credit'"),
        1
    );
    assert_eq!(
        j.b.count("SELECT COUNT(*) FROM journal WHERE kind = 'settle'"),
        1
    );
    assert_eq!(
        j.b.count("SELECT COUNT(*) FROM journal WHERE kind = 'quota_return'"),
        1
    );
    assert_eq!(
        j.a.count("SELECT COUNT(*) FROM journal WHERE kind = 'quota_return_credit'"),
        1
    );
    assert!(j.a.w().engine.quota_outbox().is_empty());
    assert!(j.b.w().engine.quota_outbox().is_empty());
    assert!(j.a.w().engine.quota_endings().is_empty());
    // Where the quota was spent, for the holder's records.
    let spends = j.b.w().engine.quota_spends(&j.parties);
    assert_eq!(spends.len(), 1);
    assert_eq!(spends[0].amount, Fen::from_fen(quota_spent));
    assert_eq!(spends[0].fixmedins_code, j.pharmacy);
    assert_eq!(spends[0].at, "2026-03-05 10:00:00");
    j.a.w().verify();
    j.b.w().verify();
}

#[test]
fn the_quota_goes_to_b_pays_there_and_comes_back_to_the_fen() {
    let mut j = Journey::new();
    for n in 0..STEPS {
        j.step(n);
        if n == 3 {
            // Granted: 300 yuan out of the holder's account, in the relative's quota.
            assert_eq!(
                j.a.w().balance(&j.parties.holder_psn_no),
                HOLDER_START - GRANT
            );
            assert_eq!(
                j.b.w().engine.quota_remaining(&j.parties),
                Fen::from_fen(GRANT)
            );
            let sent = j.a.w().engine.quota_holder_figures();
            assert_eq!(sent[0].side.grants_sent[0].state, SentState::Confirmed);
        }
        if n == 4 {
            assert_eq!(
                j.b.w().engine.quota_remaining(&j.parties),
                Fen::from_fen(GRANT - (BILL - RELATIVE_OWN))
            );
        }
    }
    assert_journey_done(&mut j);
}

#[test]
fn a_crash_of_either_province_at_any_step_loses_nothing_and_applies_nothing_twice() {
    for crash_b in [false, true] {
        for crash_after in 0..STEPS {
            let mut j = Journey::new();
            for n in 0..STEPS {
                j.step(n);
                if n == crash_after {
                    if crash_b {
                        j.b.restart();
                    } else {
                        j.a.restart();
                    }
                    // The step's caller never heard back: it runs the step again.
                    j.step(n);
                }
            }
            assert_journey_done(&mut j);
        }
    }
}

#[test]
fn b_refuses_a_grant_once_and_for_all_and_a_gives_it_back() {
    let mut j = Journey::new();
    // B's copy of the binding never arrived: B refuses the credit.
    let cmd = j.bind_cmd();
    answer_binding(j.a.run(QuotaCommand::BindOut(cmd)));
    j.step(1);
    let row = j.a.w().engine.quota_outbox().remove(0);
    let credit = QuotaCommand::Credit {
        parties: j.parties.clone(),
        transfer_id: row.transfer_id.clone(),
        amount: row.amount,
        at: t("2026-03-02"),
    };
    let first = j.b.run(credit.clone());
    match &first {
        Ok(QuotaAnswer::Refused { row, replayed }) => {
            assert!(!replayed);
            assert_eq!(row.refusal_code.as_deref(), Some("GJ-QUOTA-NOT-BOUND"));
        }
        other => panic!("{other:?}"),
    }
    // B's copy arrives late; the same transfer is still refused (A may have released it).
    answer_binding(j.b.run(QuotaCommand::BindIn(j.bind_cmd())));
    j.b.restart();
    assert!(matches!(
        j.b.run(credit),
        Ok(QuotaAnswer::Refused { replayed: true, .. })
    ));
    j.deliver_grants();
    assert_eq!(j.a.w().balance(&j.parties.holder_psn_no), HOLDER_START);
    assert_eq!(j.b.w().engine.quota_remaining(&j.parties), Fen::ZERO);
    let released = j.a.w().engine.quota_sent(&row.transfer_id).expect("row");
    assert_eq!(released.state, SentState::Released);
    assert_eq!(
        j.conservation(),
        QuotaPosition {
            granting: Fen::ZERO,
            remaining: Fen::ZERO,
            spent: Fen::ZERO,
            returning: Fen::ZERO,
        }
    );
}

#[test]
fn the_same_transfer_id_with_another_amount_is_refused_and_moves_nothing() {
    let mut j = Journey::new();
    for n in 0..4 {
        j.step(n);
    }
    let id = j.a.w().engine.quota_holder_figures()[0].side.grants_sent[0]
        .id
        .clone();
    let got = j.b.run(QuotaCommand::Credit {
        parties: j.parties.clone(),
        transfer_id: id,
        amount: Fen::from_fen(GRANT + 1),
        at: t("2026-03-02"),
    });
    let err = got.expect_err("refused");
    assert_eq!(err.code(), "GJ-QUOTA-TRANSFER-MISMATCH");
    // Not a "no" A may release on: B holds this transfer already.
    assert!(!peer_error_is_final(&err));
    assert_eq!(
        j.b.w().engine.quota_remaining(&j.parties),
        Fen::from_fen(GRANT)
    );
}

#[test]
fn a_grant_keeps_the_holders_reserve_and_a_closed_province_refuses_to_bind() {
    // Shanxi keeps a reserve of 1000 yuan; a Shanxi holder with 1200 may grant 200.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = Province::new(&dir, "shanxi", open_policies());
    let mut a = Province::new(&dir, "shandong", open_policies());
    let holder = b.w().employee(YUNCHENG, yuan(1200));
    let relative = a.w().employee(YANTAI, 0);
    let parties = QuotaParties {
        holder_province: 14,
        holder_psn_no: holder,
        relative_province: 37,
        relative_psn_no: relative,
    };
    let bind = QuotaBindCommand {
        parties: parties.clone(),
        relationship: Relationship::from_code(10).expect("spouse"),
        begin: day("2026-03-01"),
        end: None,
        channel: Channel::WeChat,
        actor: "holder".into(),
        at: t("2026-03-01"),
    };
    answer_binding(b.run(QuotaCommand::BindOut(bind.clone())));
    let reserve = |amount| QuotaCommand::Reserve {
        parties: parties.clone(),
        amount: Fen::from_fen(amount),
        channel: Channel::WeChat,
        actor: "holder".into(),
        at: t("2026-03-02"),
    };
    common::refused(b.run(reserve(yuan(201))), "GJ-QUOTA-INSUFFICIENT-BALANCE");
    assert!(matches!(
        b.run(reserve(yuan(200))),
        Ok(QuotaAnswer::Sent(_))
    ));

    // A province that has not joined refuses its end of the binding.
    let mut policies = gongji_policy::presets().policies().to_vec();
    for p in &mut policies {
        p.binding.cross_province_from = None;
    }
    let closed = PolicySet::new(policies);
    let mut shut = Province::new(&dir, "shandong-closed", closed);
    let relative = shut.w().employee(YANTAI, 0);
    let mut cmd = bind;
    cmd.parties.relative_psn_no = relative;
    common::refused(shut.run(QuotaCommand::BindIn(cmd)), "GJ-QUOTA-NOT-ALLOWED");
}

#[test]
fn a_cancel_gives_the_quota_back_and_the_spend_log_says_so() {
    let mut j = Journey::new();
    for n in 0..5 {
        j.step(n);
    }
    let settled: Settled = {
        let mut cmd = j.b.w().bill(
            &j.parties.relative_psn_no,
            &j.pharmacy,
            &[(&j.item, yuan(50))],
            "2026-03-06",
        );
        cmd.account_use = AccountUse::OwnThenMutualAid;
        j.b.w().settle(cmd).expect("settled")
    };
    assert_eq!(
        settled.decision.allocation.quota_draws[0].amount,
        Fen::from_fen(yuan(50))
    );
    let before = j.b.w().engine.quota_remaining(&j.parties);
    j.b.w().cancel(&settled, "2026-03-06").expect("cancelled");
    assert_eq!(
        j.b.w().engine.quota_remaining(&j.parties),
        before.checked_add(Fen::from_fen(yuan(50))).expect("sum")
    );
    let log: Vec<i64> =
        j.b.w()
            .engine
            .quota_spends(&j.parties)
            .iter()
            .map(|s| s.amount.fen())
            .collect();
    assert_eq!(log, vec![BILL - RELATIVE_OWN, yuan(50), -yuan(50)]);
    j.b.restart();
    assert_eq!(j.b.w().engine.quota_spends(&j.parties).len(), 3);
    assert_eq!(j.conservation().spent, Fen::from_fen(BILL - RELATIVE_OWN));
}
