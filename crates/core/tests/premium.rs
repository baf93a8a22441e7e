//! A relative's premium paid from the holder's account: the resident premium (R-R1, R-R2,
//! R-R4, R-S2) and the employee large-expense supplement and long-term-care premiums (R-S6).

mod fixtures;

use fixtures::*;
use gongji_core::codes::Insutype;
use gongji_core::premium::{decide_premium, PremiumDecision, PremiumFacts, PremiumKind};
use gongji_core::Refusal;

/// A holder pays a bound child's premium; both live in `region`.
#[derive(Clone, Copy)]
struct Scenario<'a> {
    region: &'a str,
    kind: PremiumKind,
    /// The child's insurance.
    relative: Insutype,
    /// The holder's balance in yuan.
    balance: i64,
    year: i32,
    category: &'a str,
    on: &'a str,
    already_paid: bool,
}

/// A Yuncheng holder pays a resident child's 2024 premium in October 2023.
const RESIDENT_2024: Scenario<'static> = Scenario {
    region: YUNCHENG,
    kind: PremiumKind::Resident,
    relative: Insutype::Resident,
    balance: 2_000,
    year: 2024,
    category: "general",
    on: "2023-10-10",
    already_paid: false,
};

/// A Yuncheng holder pays an employee child's 2024 large-expense supplement in March 2024.
const LARGE_EXPENSE_2024: Scenario<'static> = Scenario {
    kind: PremiumKind::LargeExpense,
    relative: Insutype::Employee,
    on: "2024-03-10",
    ..RESIDENT_2024
};

fn decide(s: Scenario<'_>) -> Result<PremiumDecision, Refusal> {
    let policy = policy(s.region);
    let holder = person("H1", s.region, Insutype::Employee);
    let child = person("R1", s.region, s.relative);
    let b = binding(1, &holder, &child, "2023-08-01");
    decide_premium(
        &PremiumFacts {
            holder: &holder,
            holder_balance: yuan(s.balance),
            relative: &child,
            binding: Some(&b),
            kind: s.kind,
            year: s.year,
            category_code: s.category,
            date: day(s.on),
            already_paid: s.already_paid,
        },
        &policy,
        &policy,
    )
}

/// The amount paid in fen, or the refusal's code.
fn check(s: Scenario<'_>, expected: Result<i64, &str>) {
    let got = decide(s).map(|d| d.amount.fen()).map_err(|r| r.code());
    assert_eq!(got, expected, "{:?} {} on {}", s.kind, s.category, s.on);
}

#[test]
fn the_category_decides_the_amount_and_the_reserve_stays() {
    check(RESIDENT_2024, Ok(38_000));
    check(
        Scenario {
            category: "monitored",
            ..RESIDENT_2024
        },
        Ok(10_000),
    );
    check(
        Scenario {
            category: "vip",
            ..RESIDENT_2024
        },
        Err("GJ-PREMIUM-CATEGORY-UNKNOWN"),
    );
    // Only 100 yuan above the 1,000-yuan reserve.
    check(
        Scenario {
            balance: 1_100,
            ..RESIDENT_2024
        },
        Err("GJ-PREMIUM-INSUFFICIENT-BALANCE"),
    );
    check(
        Scenario {
            already_paid: true,
            ..RESIDENT_2024
        },
        Err("GJ-PREMIUM-ALREADY-PAID"),
    );
}

#[test]
fn a_holder_pays_an_employee_relatives_large_expense_and_care_premiums_where_allowed() {
    // Yuncheng (Shanxi) lets mutual aid pay both (R-S6); the amounts are the preset's.
    check(LARGE_EXPENSE_2024, Ok(12_000));
    check(
        Scenario {
            kind: PremiumKind::LongTermCare,
            ..LARGE_EXPENSE_2024
        },
        Ok(9_000),
    );
    let d = decide(LARGE_EXPENSE_2024).expect("paid");
    assert!(
        d.explanation
            .contains("2024年度职工大额医疗费用补助120.00元"),
        "{}",
        d.explanation
    );
    // They are employees' premiums, paid once a year, on the days they are collected.
    check(
        Scenario {
            relative: Insutype::Resident,
            ..LARGE_EXPENSE_2024
        },
        Err("GJ-PREMIUM-RELATIVE-NOT-EMPLOYEE"),
    );
    check(
        Scenario {
            already_paid: true,
            ..LARGE_EXPENSE_2024
        },
        Err("GJ-PREMIUM-ALREADY-PAID"),
    );
    check(
        Scenario {
            on: "2024-12-28",
            ..LARGE_EXPENSE_2024
        },
        Err("GJ-PREMIUM-OUTSIDE-COLLECTION"),
    );
    check(
        Scenario {
            year: 2030,
            ..LARGE_EXPENSE_2024
        },
        Err("GJ-PREMIUM-YEAR-UNKNOWN"),
    );
    // Only 50 yuan above the reserve.
    check(
        Scenario {
            balance: 1_050,
            ..LARGE_EXPENSE_2024
        },
        Err("GJ-PREMIUM-INSUFFICIENT-BALANCE"),
    );
}

#[test]
fn a_region_that_does_not_allow_it_refuses_with_a_chinese_reason() {
    // Jinan lets mutual aid pay the resident premium only.
    for kind in [PremiumKind::LargeExpense, PremiumKind::LongTermCare] {
        let s = Scenario {
            region: JINAN,
            kind,
            ..LARGE_EXPENSE_2024
        };
        check(s, Err("GJ-PREMIUM-USE-NOT-ALLOWED"));
        let why = decide(s).map(|_| ()).unwrap_err().message_zh();
        assert!(
            why.contains("不允许") && why.contains(kind.name_zh()),
            "{why}"
        );
    }
}
