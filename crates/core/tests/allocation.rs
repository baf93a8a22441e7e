//! Who pays the personal burden (R-S4, R-S2, R-S3, R-S12), one scenario per line.

mod fixtures;

use fixtures::*;
use gongji_core::allocation::{
    allocate, Allocation, AllocationFacts, BindingUsage, HolderFacts, LimitKind, MutualAidStop,
    QuotaFacts,
};
use gongji_core::binding_rules::Limits;
use gongji_core::codes::{AccountUse, Insutype, MutualAidUse};
use gongji_core::quota::QuotaParties;
use gongji_core::Fen;

/// A Taiyuan relative with an own balance, paying with the holder's card (R-S12), and the
/// holder's balance, limits and what the binding carried so far; all in yuan.
#[derive(Default)]
struct Scenario {
    own_balance: i64,
    burden: i64,
    holder_balance: i64,
    limits: Limits,
    used: BindingUsage,
}

/// (own account, mutual aid, cash), in yuan.
fn check(s: Scenario, expected: (i64, i64, i64)) {
    let got = run(s);
    let (own, aid, cash) = expected;
    assert_eq!(
        (got.own, got.mutual_aid_total(), got.cash),
        (yuan(own), yuan(aid), yuan(cash)),
        "{:?}",
        got.notes
    );
}

fn run(s: Scenario) -> Allocation {
    let policy = policy(TAIYUAN);
    let holder = person("H1", TAIYUAN, Insutype::Employee);
    let relative = person("R1", TAIYUAN, Insutype::Employee);
    let mut b = binding(1, &holder, &relative, "2025-01-01");
    b.limit_per_payment = s.limits.per_payment;
    b.limit_per_day = s.limits.per_day;
    b.limit_per_month = s.limits.per_month;
    b.limit_per_year = s.limits.per_year;
    allocate(
        &AllocationFacts {
            patient: &relative,
            own_balance: yuan(s.own_balance),
            amount: yuan(s.burden),
            account_use: AccountUse::OwnThenMutualAid,
            holders: vec![HolderFacts {
                holder: &holder,
                balance: yuan(s.holder_balance),
                binding: &b,
                reserve: policy.payment.reserve,
                used: s.used,
            }],
            quotas: Vec::new(),
            date: day("2025-03-03"),
            pooled_fund_paid: false,
            institution: None,
            presented_holder: Some("H1"),
            purpose: MutualAidUse::MedicalCost,
        },
        &policy,
    )
    .expect("an allocation")
}

/// Why mutual aid left the rest to cash is said in words a cashier can repeat (issue 15).
#[test]
fn the_limit_that_stopped_mutual_aid_is_named() {
    let got = run(Scenario {
        own_balance: 0,
        burden: 100,
        holder_balance: 1_500,
        limits: Limits {
            per_payment: limit(30),
            ..Limits::default()
        },
        ..Scenario::default()
    });
    assert_eq!(
        got.stop,
        Some(MutualAidStop::Limit(LimitKind::PerPayment, yuan(30)))
    );
    assert_eq!(
        got.stop.map(|s| s.text_zh()).as_deref(),
        Some("超出户主设置的单笔限额30.00元")
    );
    // Paid in full by the holder: nothing to explain.
    let got = run(Scenario {
        own_balance: 0,
        burden: 20,
        holder_balance: 1_500,
        ..Scenario::default()
    });
    assert_eq!(got.stop, None);
}

fn limit(y: i64) -> Option<Fen> {
    Some(yuan(y))
}

#[test]
fn own_account_first_then_the_holder_above_the_reserve_then_cash() {
    let base = || Scenario {
        holder_balance: 1_500,
        ..Scenario::default()
    };
    check(
        Scenario {
            own_balance: 100,
            burden: 300,
            ..base()
        },
        (100, 200, 0),
    );
    // Only the 500 above the 1,000-yuan reserve is shared (R-S2).
    check(
        Scenario {
            burden: 800,
            ..base()
        },
        (0, 500, 300),
    );
    check(
        Scenario {
            burden: 800,
            holder_balance: 900,
            ..base()
        },
        (0, 0, 800),
    );
}

#[test]
fn every_limit_the_holder_set_holds() {
    let rich = || Scenario {
        burden: 1_000,
        holder_balance: 20_000,
        ..Scenario::default()
    };
    let limits = |l: Limits| Scenario {
        limits: l,
        ..rich()
    };
    check(
        limits(Limits {
            per_payment: limit(200),
            ..Limits::default()
        }),
        (0, 200, 800),
    );
    check(
        Scenario {
            used: BindingUsage {
                today: yuan(250),
                ..BindingUsage::default()
            },
            ..limits(Limits {
                per_day: limit(300),
                ..Limits::default()
            })
        },
        (0, 50, 950),
    );
    check(
        Scenario {
            used: BindingUsage {
                this_month: yuan(200),
                ..BindingUsage::default()
            },
            ..limits(Limits {
                per_payment: limit(200),
                per_month: limit(300),
                ..Limits::default()
            })
        },
        (0, 100, 900),
    );
    check(
        Scenario {
            used: BindingUsage {
                this_year: yuan(500),
                ..BindingUsage::default()
            },
            ..limits(Limits {
                per_year: limit(500),
                ..Limits::default()
            })
        },
        (0, 0, 1_000),
    );
}

/// A Jinan relative's purchase at a Jinan pharmacy with quotas from holders in Shanxi (14)
/// and a holder in Jinan; amounts in yuan.
struct QuotaScenario {
    own_balance: i64,
    burden: i64,
    /// (holder, remaining, binding began, in force).
    quotas: Vec<(&'static str, i64, &'static str, bool)>,
    local_holder_balance: i64,
    account_use: AccountUse,
    pooled_fund_paid: bool,
    /// The region keeps mutual aid out of settlements the pooled fund pays in (R-Z6).
    excludes_pooled: bool,
}

impl Default for QuotaScenario {
    fn default() -> Self {
        QuotaScenario {
            own_balance: 0,
            burden: 0,
            quotas: Vec::new(),
            local_holder_balance: 0,
            account_use: AccountUse::OwnThenMutualAid,
            pooled_fund_paid: false,
            excludes_pooled: false,
        }
    }
}

/// (own account, [(quota's holder, paid)], holder in Jinan, cash), in yuan.
#[track_caller]
fn check_quota(s: QuotaScenario, expected: (i64, Vec<(&str, i64)>, i64, i64)) {
    let mut policy = policy(JINAN);
    policy.binding.cross_province_from = Some(day("2026-01-01"));
    policy.payment.mutual_aid_excludes_pooled_settlements = s.excludes_pooled;
    let patient = person("R1", JINAN, Insutype::Employee);
    let holder = person("H1", JINAN, Insutype::Employee);
    let b = binding(1, &holder, &patient, "2025-01-01");
    let parties: Vec<QuotaParties> = s
        .quotas
        .iter()
        .map(|(h, ..)| QuotaParties {
            holder_province: 14,
            holder_psn_no: (*h).to_string(),
            relative_province: 37,
            relative_psn_no: "R1".into(),
        })
        .collect();
    let pharmacy = hospital(JINAN, gongji_core::codes::HospitalLevel::Primary);
    let got = allocate(
        &AllocationFacts {
            patient: &patient,
            own_balance: yuan(s.own_balance),
            amount: yuan(s.burden),
            account_use: s.account_use,
            holders: vec![HolderFacts {
                holder: &holder,
                balance: yuan(s.local_holder_balance),
                binding: &b,
                reserve: policy.payment.reserve,
                used: BindingUsage::default(),
            }],
            quotas: s
                .quotas
                .iter()
                .zip(&parties)
                .map(|((_, remaining, since, in_force), parties)| QuotaFacts {
                    parties,
                    remaining: yuan(*remaining),
                    since: day(since),
                    in_force: *in_force,
                })
                .collect(),
            date: day("2026-03-05"),
            pooled_fund_paid: s.pooled_fund_paid,
            institution: Some(&pharmacy),
            presented_holder: None,
            purpose: MutualAidUse::MedicalCost,
        },
        &policy,
    )
    .expect("an allocation");
    let quota_paid: Vec<(&str, i64)> = got
        .quota_draws
        .iter()
        .map(|d| {
            let h = s
                .quotas
                .iter()
                .find(|q| q.0 == d.parties.holder_psn_no)
                .map_or("?", |q| q.0);
            (h, d.amount.fen() / 100)
        })
        .collect();
    let local: i64 = got.draws.iter().map(|d| d.amount.fen()).sum::<i64>() / 100;
    let (own, quotas, holder, cash) = expected;
    assert_eq!(
        (got.own, quota_paid, local, got.cash),
        (yuan(own), quotas, holder, yuan(cash)),
        "{:?}",
        got.notes
    );
    let quota_sum: i64 = got.quota_draws.iter().map(|d| d.amount.fen()).sum();
    assert_eq!(
        got.mutual_aid_total().fen(),
        quota_sum + local * 100,
        "acct_mulaid_pay counts what quotas paid"
    );
}

/// R-N3 in B: the relative's own account first, then his quotas oldest first (each down to
/// zero), then holders insured here, then cash.
#[test]
fn own_account_then_quotas_oldest_first_then_holders_here_then_cash() {
    let q = |quotas, own, burden, local| QuotaScenario {
        own_balance: own,
        burden,
        quotas,
        local_holder_balance: local,
        ..QuotaScenario::default()
    };
    check_quota(
        q(vec![("Q1", 300, "2026-02-01", true)], 20, 100, 0),
        (20, vec![("Q1", 80)], 0, 0),
    );
    check_quota(
        q(
            vec![
                ("NEW", 50, "2026-02-01", true),
                ("OLD", 30, "2026-01-15", true),
            ],
            0,
            100,
            0,
        ),
        (0, vec![("OLD", 30), ("NEW", 50)], 0, 20),
    );
    check_quota(
        q(vec![("Q1", 30, "2026-02-01", true)], 10, 100, 500),
        (10, vec![("Q1", 30)], 60, 0),
    );
    check_quota(
        q(vec![("Q1", 300, "2026-02-01", true)], 200, 100, 500),
        (100, vec![], 0, 0),
    );
    check_quota(
        q(vec![("Q1", 0, "2026-02-01", true)], 0, 100, 0),
        (0, vec![], 0, 100),
    );
    // A quota whose binding is not in force today pays nothing.
    check_quota(
        q(vec![("Q1", 300, "2026-02-01", false)], 0, 100, 0),
        (0, vec![], 0, 100),
    );
}

/// What keeps mutual aid from paying keeps a quota from paying too.
#[test]
fn a_quota_pays_only_where_mutual_aid_may() {
    let quota = vec![("Q1", 300, "2026-02-01", true)];
    check_quota(
        QuotaScenario {
            burden: 100,
            quotas: quota.clone(),
            account_use: AccountUse::CashOnly,
            ..QuotaScenario::default()
        },
        (0, vec![], 0, 100),
    );
    let pooled = |excludes_pooled| QuotaScenario {
        burden: 100,
        quotas: quota.clone(),
        pooled_fund_paid: true,
        excludes_pooled,
        ..QuotaScenario::default()
    };
    check_quota(pooled(false), (0, vec![("Q1", 100)], 0, 0));
    check_quota(pooled(true), (0, vec![], 0, 100));
}
