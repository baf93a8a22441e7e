//! A cross-province quota (R-N3): each step decided on its own side, by transfer id, and the
//! two sides' records checked for conservation.

mod fixtures;

use std::collections::HashMap;

use fixtures::yuan;
use gongji_core::ledger::{LedgerAccount, PostingSet};
use gongji_core::quota::*;
use gongji_core::Fen;

/// One thing that happens to the quota, in the order it happens.
#[derive(Clone, Copy)]
enum Step {
    /// The holder grants (or raises by) this many yuan; A reserves it.
    Grant(&'static str, i64),
    /// A's request to credit reaches B (again, when repeated).
    Deliver(&'static str),
    /// B's "credited" reaches A.
    Confirm(&'static str),
    /// B refused; A releases the reservation.
    Release(&'static str),
    /// The relative spends this many yuan of the quota at a pharmacy in B.
    Spend(i64),
    /// B takes this much (or, with `None`, everything left) out to return it.
    Return(&'static str, Option<i64>),
    /// B's return reaches A (again, when repeated).
    DeliverReturn(&'static str),
    /// A's "returned" reaches B.
    ConfirmReturn(&'static str),
}

/// Two provinces' books for one holder (in 37, Shandong) and one relative (in 14, Shanxi).
struct Provinces {
    parties: QuotaParties,
    a_balances: HashMap<LedgerAccount, Fen>,
    b_balances: HashMap<LedgerAccount, Fen>,
    a: HolderSide,
    b: RelativeSide,
}

impl Provinces {
    fn new(holder_balance: i64) -> Provinces {
        let parties = QuotaParties {
            holder_province: 37,
            holder_psn_no: "H1".into(),
            relative_province: 14,
            relative_psn_no: "R1".into(),
        };
        let mut a_balances = HashMap::new();
        a_balances.insert(LedgerAccount::Personal("H1".into()), yuan(holder_balance));
        Provinces {
            parties,
            a_balances,
            b_balances: HashMap::new(),
            a: HolderSide::default(),
            b: RelativeSide::default(),
        }
    }

    fn balance(books: &HashMap<LedgerAccount, Fen>, account: &LedgerAccount) -> Fen {
        books.get(account).copied().unwrap_or(Fen::ZERO)
    }

    fn post(books: &mut HashMap<LedgerAccount, Fen>, set: &PostingSet) {
        for p in set.postings() {
            let now = Self::balance(books, &p.account)
                .checked_add(p.amount)
                .unwrap();
            if let Some(floor) = p.floor {
                assert!(now >= floor, "{} below its floor", p.account);
            }
            books.insert(p.account.clone(), now);
        }
    }

    fn sent_grant(&mut self, id: &str) -> &mut SentTransfer {
        self.a.grants_sent.iter_mut().find(|s| s.id == id).unwrap()
    }

    fn sent_return(&mut self, id: &str) -> &mut SentTransfer {
        self.b.returns_sent.iter_mut().find(|s| s.id == id).unwrap()
    }

    fn run(&mut self, step: Step) -> Result<(), String> {
        let p = self.parties.clone();
        match step {
            Step::Grant(id, amount) => {
                let set = decide_reserve(&ReserveFacts {
                    parties: &p,
                    allowed: true,
                    holder_balance: Self::balance(
                        &self.a_balances,
                        &LedgerAccount::Personal("H1".into()),
                    ),
                    reserve: yuan(100),
                    amount: yuan(amount),
                })
                .map_err(|r| r.code().to_string())?;
                Self::post(&mut self.a_balances, &set);
                self.a.grants_sent.push(SentTransfer {
                    id: id.into(),
                    amount: yuan(amount),
                    state: SentState::Reserved,
                });
            }
            Step::Deliver(id) => {
                let amount = self.sent_grant(id).amount;
                let before = self.b.grants_applied.iter().find(|g| g.id == id).cloned();
                let credit = decide_credit(&CreditFacts {
                    parties: &p,
                    allowed: true,
                    transfer_id: id,
                    amount,
                    applied_before: before.as_ref(),
                })
                .map_err(|r| r.code().to_string())?;
                if let Credit::Apply(set) = credit {
                    Self::post(&mut self.b_balances, &set);
                    self.b.grants_applied.push(AppliedTransfer {
                        id: id.into(),
                        amount,
                    });
                }
            }
            Step::Confirm(id) => self.sent_grant(id).state = SentState::Confirmed,
            Step::Release(id) => {
                let sent = self.sent_grant(id).clone();
                let set = decide_release(&p, &sent).map_err(|r| r.code().to_string())?;
                Self::post(&mut self.a_balances, &set);
                self.sent_grant(id).state = SentState::Released;
            }
            Step::Spend(amount) => {
                let left = Self::balance(&self.b_balances, &p.quota());
                assert!(left >= yuan(amount), "the test spends only what is left");
                self.b_balances
                    .insert(p.quota(), left.checked_sub(yuan(amount)).unwrap());
                self.b.spent = self.b.spent.checked_add(yuan(amount)).unwrap();
            }
            Step::Return(id, amount) => {
                let remaining = Self::balance(&self.b_balances, &p.quota());
                let decided = decide_return(&ReturnFacts {
                    parties: &p,
                    remaining,
                    amount: amount.map(yuan),
                })
                .map_err(|r| r.code().to_string())?;
                if let Some((amount, set)) = decided {
                    Self::post(&mut self.b_balances, &set);
                    self.b.returns_sent.push(SentTransfer {
                        id: id.into(),
                        amount,
                        state: SentState::Reserved,
                    });
                }
            }
            Step::DeliverReturn(id) => {
                let amount = self.sent_return(id).amount;
                let before = self.a.returns_applied.iter().find(|r| r.id == id).cloned();
                let credit = decide_return_credit(&p, id, amount, before.as_ref())
                    .map_err(|r| r.code().to_string())?;
                if let Credit::Apply(set) = credit {
                    Self::post(&mut self.a_balances, &set);
                    self.a.returns_applied.push(AppliedTransfer {
                        id: id.into(),
                        amount,
                    });
                }
            }
            Step::ConfirmReturn(id) => self.sent_return(id).state = SentState::Confirmed,
        }
        // Each side reads its account's balance from its own books, as `verify --peer` would.
        self.a.quota_out = Self::balance(&self.a_balances, &p.quota_out());
        self.b.quota = Self::balance(&self.b_balances, &p.quota());
        Ok(())
    }
}

/// What a journey ends with, in yuan: the holder's own balance, then the quota's money by
/// where it is (granting, remaining in B, spent in B, returning).
#[derive(Debug, PartialEq, Eq)]
struct Ending {
    holder: i64,
    granting: i64,
    remaining: i64,
    spent: i64,
    returning: i64,
}

const fn ends(holder: i64, granting: i64, remaining: i64, spent: i64, returning: i64) -> Ending {
    Ending {
        holder,
        granting,
        remaining,
        spent,
        returning,
    }
}

/// Runs the steps on a holder with 1,000 yuan (reserve 100) and checks where the money
/// ends, or the first refusal's code. Conservation must hold after every step.
fn check(steps: &[Step], expected: Result<Ending, &str>) {
    let mut books = Provinces::new(1_000);
    let mut outcome = Ok(());
    for step in steps {
        outcome = books.run(*step);
        if outcome.is_err() {
            break;
        }
        let position = check_conservation(&books.a, &books.b)
            .unwrap_or_else(|d| panic!("conservation broke: {d:?}"));
        let holder = Provinces::balance(&books.a_balances, &LedgerAccount::Personal("H1".into()));
        let total = [
            holder,
            position.granting,
            position.remaining,
            position.spent,
            position.returning,
        ]
        .into_iter()
        .try_fold(Fen::ZERO, |a, b| a.checked_add(b))
        .unwrap();
        assert_eq!(total, yuan(1_000), "a fen was lost or created");
    }
    let got = outcome.map(|()| {
        let p = check_conservation(&books.a, &books.b).unwrap();
        let y = |f: Fen| f.fen() / 100;
        Ending {
            holder: y(Provinces::balance(
                &books.a_balances,
                &LedgerAccount::Personal("H1".into()),
            )),
            granting: y(p.granting),
            remaining: y(p.remaining),
            spent: y(p.spent),
            returning: y(p.returning),
        }
    });
    assert_eq!(
        got.as_ref().map_err(String::as_str),
        expected.as_ref().map_err(|e| *e)
    );
}

use Step::*;

#[test]
fn a_quota_is_granted_spent_and_the_rest_returned() {
    check(&[Grant("g1", 300)], Ok(ends(700, 300, 0, 0, 0)));
    check(
        &[Grant("g1", 300), Deliver("g1")],
        Ok(ends(700, 0, 300, 0, 0)),
    );
    check(
        &[Grant("g1", 300), Deliver("g1"), Confirm("g1"), Spend(120)],
        Ok(ends(700, 0, 180, 120, 0)),
    );
    check(
        &[
            Grant("g1", 300),
            Deliver("g1"),
            Confirm("g1"),
            Spend(120),
            Return("r1", None),
        ],
        Ok(ends(700, 0, 0, 120, 180)),
    );
    check(
        &[
            Grant("g1", 300),
            Deliver("g1"),
            Confirm("g1"),
            Spend(120),
            Return("r1", None),
            DeliverReturn("r1"),
            ConfirmReturn("r1"),
        ],
        Ok(ends(880, 0, 0, 120, 0)),
    );
}

#[test]
fn a_step_repeated_after_a_crash_applies_once() {
    check(
        &[
            Grant("g1", 300),
            Deliver("g1"),
            Deliver("g1"),
            Confirm("g1"),
            Deliver("g1"),
        ],
        Ok(ends(700, 0, 300, 0, 0)),
    );
    check(
        &[
            Grant("g1", 300),
            Deliver("g1"),
            Return("r1", Some(100)),
            DeliverReturn("r1"),
            DeliverReturn("r1"),
        ],
        Ok(ends(800, 0, 200, 0, 0)),
    );
}

#[test]
fn a_refused_grant_gives_the_reservation_back_exactly() {
    check(
        &[Grant("g1", 300), Release("g1")],
        Ok(ends(1_000, 0, 0, 0, 0)),
    );
    check(
        &[Grant("g1", 300), Release("g1"), Release("g1")],
        Err("GJ-QUOTA-TRANSFER-NOT-PENDING"),
    );
}

#[test]
fn a_grant_keeps_the_reserve_and_a_return_what_is_left() {
    // 1,000 yuan with a 100-yuan reserve: 900 can go, 901 cannot.
    check(&[Grant("g1", 900)], Ok(ends(100, 900, 0, 0, 0)));
    check(&[Grant("g1", 901)], Err("GJ-QUOTA-INSUFFICIENT-BALANCE"));
    check(&[Grant("g1", 0)], Err("GJ-QUOTA-INVALID-AMOUNT"));
    check(
        &[
            Grant("g1", 300),
            Deliver("g1"),
            Spend(250),
            Return("r1", Some(60)),
        ],
        Err("GJ-QUOTA-EXCEEDS-REMAINING"),
    );
    // Ending a fully spent quota returns nothing and sends nothing.
    check(
        &[
            Grant("g1", 300),
            Deliver("g1"),
            Spend(300),
            Return("r1", None),
        ],
        Ok(ends(700, 0, 0, 300, 0)),
    );
}

#[test]
fn a_province_that_has_not_joined_refuses_both_ways() {
    let parties = Provinces::new(1_000).parties;
    let grant = decide_reserve(&ReserveFacts {
        parties: &parties,
        allowed: false,
        holder_balance: yuan(1_000),
        reserve: yuan(100),
        amount: yuan(10),
    });
    assert_eq!(grant.map_err(|r| r.code()), Err("GJ-QUOTA-NOT-ALLOWED"));
    let credit = decide_credit(&CreditFacts {
        parties: &parties,
        allowed: false,
        transfer_id: "g1",
        amount: yuan(10),
        applied_before: None,
    });
    assert_eq!(credit.map_err(|r| r.code()), Err("GJ-QUOTA-NOT-ALLOWED"));
}

#[test]
fn a_transfer_id_reused_with_another_amount_is_never_applied() {
    let parties = Provinces::new(1_000).parties;
    let before = AppliedTransfer {
        id: "g1".into(),
        amount: yuan(300),
    };
    let again = decide_credit(&CreditFacts {
        parties: &parties,
        allowed: true,
        transfer_id: "g1",
        amount: yuan(400),
        applied_before: Some(&before),
    });
    assert_eq!(
        again.map_err(|r| r.code()),
        Err("GJ-QUOTA-TRANSFER-MISMATCH")
    );
}

fn sent(id: &str, amount: i64, state: SentState) -> SentTransfer {
    SentTransfer {
        id: id.into(),
        amount: yuan(amount),
        state,
    }
}

fn applied(id: &str, amount: i64) -> AppliedTransfer {
    AppliedTransfer {
        id: id.into(),
        amount: yuan(amount),
    }
}

#[test]
fn records_that_disagree_are_named() {
    let a = |grants: Vec<SentTransfer>, quota_out: i64| HolderSide {
        quota_out: yuan(quota_out),
        grants_sent: grants,
        returns_applied: vec![],
    };
    let b = |grants: Vec<AppliedTransfer>, quota: i64| RelativeSide {
        quota: yuan(quota),
        spent: Fen::ZERO,
        grants_applied: grants,
        returns_sent: vec![],
    };
    // B credited a grant that A released: money created.
    assert_eq!(
        check_conservation(
            &a(vec![sent("g1", 300, SentState::Released)], 0),
            &b(vec![applied("g1", 300)], 300)
        ),
        Err(Discrepancy::CreditedWithoutGrant { id: "g1".into() })
    );
    // A confirmed a grant B never credited: money lost.
    assert_eq!(
        check_conservation(
            &a(vec![sent("g1", 300, SentState::Confirmed)], 300),
            &b(vec![], 0)
        ),
        Err(Discrepancy::ConfirmedNotCredited { id: "g1".into() })
    );
    // The same transfer with two amounts.
    assert_eq!(
        check_conservation(
            &a(vec![sent("g1", 300, SentState::Confirmed)], 300),
            &b(vec![applied("g1", 301)], 301)
        ),
        Err(Discrepancy::AmountsDiffer {
            id: "g1".into(),
            sent: yuan(300),
            applied: yuan(301),
        })
    );
    // B's quota account edited by hand.
    assert_eq!(
        check_conservation(
            &a(vec![sent("g1", 300, SentState::Confirmed)], 300),
            &b(vec![applied("g1", 300)], 500)
        ),
        Err(Discrepancy::LedgerDisagrees {
            side: "relative",
            balance: yuan(500),
            records: yuan(300),
        })
    );
}

#[test]
fn quota_accounts_keep_their_keys() {
    let parties = Provinces::new(1_000).parties;
    for account in [parties.quota_out(), parties.quota(), parties.peer()] {
        assert_eq!(
            LedgerAccount::parse_key(&account.key()),
            Some(account.clone())
        );
    }
    assert_eq!(parties.quota().key(), "quota:37:H1/R1");
    assert!(parties.quota().has_zero_floor());
    assert_eq!(LedgerAccount::parse_key("peer:99"), None);
}

mod any_order {
    use super::*;
    use proptest::prelude::*;

    /// A step of a random journey; indexes pick among the transfers made so far, so any
    /// order of deliveries, repeats (a retry after a crash) and refusals can be drawn.
    #[derive(Clone, Debug)]
    enum Draw {
        Grant(i64),
        Deliver(usize),
        Confirm(usize),
        Release(usize),
        Spend(i64),
        Return(Option<i64>),
        DeliverReturn(usize),
        ConfirmReturn(usize),
    }

    fn draw() -> impl Strategy<Value = Draw> {
        prop_oneof![
            (1i64..400).prop_map(Draw::Grant),
            any::<usize>().prop_map(Draw::Deliver),
            any::<usize>().prop_map(Draw::Confirm),
            any::<usize>().prop_map(Draw::Release),
            (1i64..200).prop_map(Draw::Spend),
            proptest::option::of(1i64..200).prop_map(Draw::Return),
            any::<usize>().prop_map(Draw::DeliverReturn),
            any::<usize>().prop_map(Draw::ConfirmReturn),
        ]
    }

    const IDS: [&str; 12] = [
        "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11",
    ];

    proptest! {
        /// Whatever arrives in whatever order, however often: no fen is lost or created,
        /// the two sides' records agree, and no account goes below its floor.
        #[test]
        fn conservation_holds_in_any_order(draws in proptest::collection::vec(draw(), 1..40)) {
            let mut books = Provinces::new(1_000);
            let (mut grants, mut returns) = (0usize, 0usize);
            for d in draws {
                let grant = |i: usize| (grants > 0).then(|| IDS[i % grants]);
                let ret = |i: usize| (returns > 0).then(|| IDS[6 + i % returns]);
                let step = match d {
                    Draw::Grant(y) if grants < 6 => { grants += 1; Some(Step::Grant(IDS[grants - 1], y)) }
                    Draw::Grant(_) => None,
                    Draw::Deliver(i) => grant(i).filter(|id| books.sent_grant(id).state != SentState::Released).map(Step::Deliver),
                    Draw::Confirm(i) => grant(i).filter(|id| books.b.grants_applied.iter().any(|g| g.id == *id)).map(Step::Confirm),
                    Draw::Release(i) => grant(i).filter(|id| !books.b.grants_applied.iter().any(|g| g.id == *id)).map(Step::Release),
                    Draw::Spend(y) => {
                        let left = Provinces::balance(&books.b_balances, &books.parties.quota());
                        (left >= yuan(y)).then_some(Step::Spend(y))
                    }
                    Draw::Return(y) if returns < 6 => { returns += 1; Some(Step::Return(IDS[5 + returns], y)) }
                    Draw::Return(_) => None,
                    Draw::DeliverReturn(i) => ret(i).filter(|id| books.b.returns_sent.iter().any(|r| r.id == *id)).map(Step::DeliverReturn),
                    Draw::ConfirmReturn(i) => ret(i).filter(|id| books.a.returns_applied.iter().any(|r| r.id == *id)).map(Step::ConfirmReturn),
                };
                let Some(step) = step else { continue };
                // A refusal (too much, a release already answered) changes nothing.
                let _ = books.run(step);
                // A refused grant or an empty return recorded no transfer: forget its id.
                grants = books.a.grants_sent.len();
                returns = books.b.returns_sent.len();
                let position = check_conservation(&books.a, &books.b);
                prop_assert!(position.is_ok(), "{position:?}");
                let p = position.unwrap();
                let holder = Provinces::balance(&books.a_balances, &LedgerAccount::Personal("H1".into()));
                let total = Fen::checked_sum([holder, p.granting, p.remaining, p.spent, p.returning].into_iter());
                prop_assert_eq!(total, Some(yuan(1_000)));
            }
        }
    }
}

/// Spending in B goes through the allocation rule itself (own account first, then the
/// quota), cancels reverse the settlement's postings, the receiver keeps a refusal for
/// good, and any delivery may arrive again after a crash: conservation holds throughout.
mod spent_through_settlements {
    use super::*;
    use gongji_core::allocation::{allocate, AllocationFacts, QuotaFacts};
    use gongji_core::codes::{AccountUse, HospitalLevel, Insutype, MutualAidUse};
    use gongji_core::ledger::{Posting, PostingRule};
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Draw {
        Grant(i64),
        /// A's request to credit grant i reaches B (again, when it did before).
        Deliver(usize),
        /// B's answer to grant i reaches A: confirm, or release if B refused it.
        Answer(usize),
        /// B stops taking new grants (its copy of the binding is missing, say), or takes
        /// them again (it arrived).
        CloseB,
        OpenB,
        /// The relative pays a bill of this many yuan at a pharmacy in B.
        Settle(i64),
        /// Settlement i is cancelled (2208).
        Cancel(usize),
        Return(Option<i64>),
        DeliverReturn(usize),
        ConfirmReturn(usize),
        /// A process restarts and the transport sends again the last message it sent, even
        /// if its answer has since been acted on (a message delayed in the network).
        Replay,
    }

    fn draw() -> impl Strategy<Value = Draw> {
        prop_oneof![
            (1i64..400).prop_map(Draw::Grant),
            any::<usize>().prop_map(Draw::Deliver),
            any::<usize>().prop_map(Draw::Answer),
            Just(Draw::CloseB),
            Just(Draw::OpenB),
            (1i64..150).prop_map(Draw::Settle),
            any::<usize>().prop_map(Draw::Cancel),
            proptest::option::of(1i64..200).prop_map(Draw::Return),
            any::<usize>().prop_map(Draw::DeliverReturn),
            any::<usize>().prop_map(Draw::ConfirmReturn),
            Just(Draw::Replay),
        ]
    }

    struct World {
        books: Provinces,
        /// Grant ids B refused, for good (its dedup row says so).
        refused: Vec<String>,
        open: bool,
        relative_own: Fen,
        /// Each settlement's postings, and whether it was cancelled.
        settlements: Vec<(PostingSet, bool)>,
        /// The last transfer the transport sent (a grant, or a return) and its id, sent
        /// again on `Replay`.
        last: Option<(Direction, String)>,
    }

    impl World {
        fn deliver(&mut self, id: &str) {
            let p = self.books.parties.clone();
            let amount = self.books.sent_grant(id).amount;
            let before = self
                .books
                .b
                .grants_applied
                .iter()
                .find(|g| g.id == id)
                .cloned();
            if self.refused.iter().any(|r| r == id) {
                return;
            }
            match decide_credit(&CreditFacts {
                parties: &p,
                allowed: self.open,
                transfer_id: id,
                amount,
                applied_before: before.as_ref(),
            }) {
                Ok(Credit::Apply(set)) => {
                    Provinces::post(&mut self.books.b_balances, &set);
                    self.books.b.grants_applied.push(AppliedTransfer {
                        id: id.into(),
                        amount,
                    });
                }
                Ok(Credit::AlreadyApplied) => {}
                Err(_) => self.refused.push(id.to_string()),
            }
        }

        fn settle(&mut self, bill: i64) {
            let p = self.books.parties.clone();
            let relative = fixtures::person("R1", fixtures::TAIYUAN, Insutype::Employee);
            let mut policy = fixtures::policy(fixtures::TAIYUAN);
            policy.payment.mutual_aid_follows_own_account = true;
            let pharmacy = fixtures::hospital(fixtures::TAIYUAN, HospitalLevel::Primary);
            let remaining = Provinces::balance(&self.books.b_balances, &p.quota());
            let allocation = allocate(
                &AllocationFacts {
                    patient: &relative,
                    own_balance: self.relative_own,
                    amount: yuan(bill),
                    account_use: AccountUse::OwnThenMutualAid,
                    holders: Vec::new(),
                    quotas: vec![QuotaFacts {
                        parties: &p,
                        remaining,
                        since: fixtures::day("2026-01-01"),
                        in_force: true,
                    }],
                    date: fixtures::day("2026-03-05"),
                    pooled_fund_paid: false,
                    institution: Some(&pharmacy),
                    presented_holder: None,
                    purpose: MutualAidUse::MedicalCost,
                },
                &policy,
            )
            .expect("allocated");
            let line = |account, amount: Fen, rule| Posting {
                account,
                amount,
                rule,
                floor: None,
                explanation: String::new(),
            };
            let mut postings = vec![
                line(
                    LedgerAccount::Personal("R1".into()),
                    allocation.own.checked_neg().unwrap(),
                    PostingRule::OwnAccount,
                ),
                line(
                    LedgerAccount::Cash,
                    allocation.cash.checked_neg().unwrap(),
                    PostingRule::Cash,
                ),
                line(
                    LedgerAccount::Institution("P1".into()),
                    yuan(bill),
                    PostingRule::InstitutionReceivable,
                ),
            ];
            for d in &allocation.quota_draws {
                postings.push(line(
                    d.parties.quota(),
                    d.amount.checked_neg().unwrap(),
                    PostingRule::Quota,
                ));
            }
            let set = PostingSet::new(postings).expect("balanced");
            self.apply_settlement(&set);
            self.relative_own = self.relative_own.checked_sub(allocation.own).unwrap();
            self.settlements.push((set, false));
        }

        /// A settlement's (or its reversal's) quota postings count as spent in B.
        fn apply_settlement(&mut self, set: &PostingSet) {
            let quota = self.books.parties.quota();
            Provinces::post(&mut self.books.b_balances, set);
            let drawn = set.net_for(&quota).unwrap().checked_neg().unwrap();
            self.books.b.spent = self.books.b.spent.checked_add(drawn).unwrap();
        }

        fn run(&mut self, d: Draw) {
            let grant = |books: &Provinces, i: usize| {
                let n = books.a.grants_sent.len();
                (n > 0).then(|| books.a.grants_sent[i % n].id.clone())
            };
            let ret = |books: &Provinces, i: usize| {
                let n = books.b.returns_sent.len();
                (n > 0).then(|| books.b.returns_sent[i % n].id.clone())
            };
            match d {
                Draw::Grant(y) => {
                    let id = format!("37G{:012}", self.books.a.grants_sent.len());
                    let _ = self.books.run(Step::Grant(leak(id), y));
                }
                Draw::Deliver(i) => {
                    if let Some(id) = grant(&self.books, i) {
                        if self.books.sent_grant(&id).state != SentState::Released {
                            self.deliver(&id);
                            self.last = Some((Direction::Grant, id));
                        }
                    }
                }
                Draw::Answer(i) => {
                    if let Some(id) = grant(&self.books, i) {
                        let credited = self.books.b.grants_applied.iter().any(|g| g.id == id);
                        if credited {
                            let _ = self.books.run(Step::Confirm(leak(id)));
                        } else if self.refused.contains(&id) {
                            let _ = self.books.run(Step::Release(leak(id)));
                        }
                    }
                }
                Draw::CloseB => self.open = false,
                Draw::OpenB => self.open = true,
                Draw::Settle(y) => self.settle(y),
                Draw::Cancel(i) => {
                    let n = self.settlements.len();
                    if n > 0 && !self.settlements[i % n].1 {
                        let back = self.settlements[i % n].0.reversed("撤销").unwrap();
                        self.apply_settlement(&back);
                        self.relative_own = self
                            .relative_own
                            .checked_add(
                                back.net_for(&LedgerAccount::Personal("R1".into())).unwrap(),
                            )
                            .unwrap();
                        self.settlements[i % n].1 = true;
                    }
                }
                Draw::Return(y) => {
                    let id = format!("14R{:012}", self.books.b.returns_sent.len());
                    let _ = self.books.run(Step::Return(leak(id), y));
                }
                Draw::DeliverReturn(i) => {
                    if let Some(id) = ret(&self.books, i) {
                        let _ = self.books.run(Step::DeliverReturn(leak(id.clone())));
                        self.last = Some((Direction::Return, id));
                    }
                }
                Draw::ConfirmReturn(i) => {
                    if let Some(id) = ret(&self.books, i) {
                        if self.books.a.returns_applied.iter().any(|r| r.id == id) {
                            let _ = self.books.run(Step::ConfirmReturn(leak(id)));
                        }
                    }
                }
                Draw::Replay => match self.last.clone() {
                    Some((Direction::Grant, id)) => self.deliver(&id),
                    Some((Direction::Return, id)) => {
                        let _ = self.books.run(Step::DeliverReturn(leak(id)));
                    }
                    None => {}
                },
            }
            let p = self.books.parties.clone();
            self.books.a.quota_out = Provinces::balance(&self.books.a_balances, &p.quota_out());
            self.books.b.quota = Provinces::balance(&self.books.b_balances, &p.quota());
        }
    }

    /// The steps' ids are `&'static str`; a test's handful of ids may live for the run.
    fn leak(id: String) -> &'static str {
        Box::leak(id.into_boxed_str())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn conservation_holds_with_settlements_cancels_refusals_and_replays(
            draws in proptest::collection::vec(draw(), 1..60),
            own in 0i64..100,
        ) {
            let mut w = World {
                books: Provinces::new(1_000),
                refused: Vec::new(),
                open: true,
                relative_own: yuan(own),
                settlements: Vec::new(),
                last: None,
            };
            w.books.b_balances.insert(LedgerAccount::Personal("R1".into()), yuan(own));
            for d in draws {
                w.run(d);
                let position = check_conservation(&w.books.a, &w.books.b);
                prop_assert!(position.is_ok(), "{position:?}");
                let p = position.unwrap();
                let holder = Provinces::balance(&w.books.a_balances, &LedgerAccount::Personal("H1".into()));
                let total = Fen::checked_sum([holder, p.granting, p.remaining, p.spent, p.returning].into_iter());
                prop_assert_eq!(total, Some(yuan(1_000)), "a fen was lost or created");
                // Each grant credited at most once, whatever was sent again.
                let mut ids: Vec<&str> = w.books.b.grants_applied.iter().map(|g| g.id.as_str()).collect();
                ids.sort_unstable();
                let n = ids.len();
                ids.dedup();
                prop_assert_eq!(ids.len(), n);
                // B's books balance: what it owes A is what the quota holds and what was spent.
                let b_sum = Fen::checked_sum(w.books.b_balances.values().copied());
                prop_assert_eq!(b_sum, Some(yuan(own)));
            }
        }
    }
}
