//! Who pays the personal burden (R-S4, R-S2, R-S3, R-S12), one scenario per line.

mod fixtures;

use fixtures::*;
use gongji_core::allocation::{
    allocate, Allocation, AllocationFacts, BindingUsage, HolderFacts, LimitKind, MutualAidStop,
};
use gongji_core::binding_rules::Limits;
use gongji_core::codes::{AccountUse, Insutype, MutualAidUse};
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
