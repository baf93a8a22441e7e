//! A relative's resident premium paid from the holder's account (R-R1, R-R2, R-R4, R-S2).

mod fixtures;

use fixtures::*;
use gongji_core::codes::Insutype;
use gongji_core::premium::{decide_premium, PremiumFacts};

/// A Yuncheng holder pays a bound child's 2024 premium: (the holder's balance in yuan, the
/// category, the day, already paid this year).
type Scenario<'a> = (i64, &'a str, &'a str, bool);

/// The amount paid in fen, or the refusal's code.
fn check(scenario: Scenario<'_>, expected: Result<i64, &str>) {
    let (balance, category, on, already_paid) = scenario;
    let policy = policy(YUNCHENG);
    let holder = person("H1", YUNCHENG, Insutype::Employee);
    let child = person("R1", YUNCHENG, Insutype::Resident);
    let b = binding(1, &holder, &child, "2023-08-01");
    let got = decide_premium(
        &PremiumFacts {
            holder: &holder,
            holder_balance: yuan(balance),
            relative: &child,
            binding: Some(&b),
            year: 2024,
            category_code: category,
            date: day(on),
            already_paid,
        },
        &policy,
        &policy,
    )
    .map(|d| d.amount.fen())
    .map_err(|r| r.code());
    assert_eq!(got, expected, "{category} on {on}");
}

#[test]
fn the_category_decides_the_amount_and_the_reserve_stays() {
    check((2_000, "general", "2023-10-10", false), Ok(38_000));
    check((2_000, "monitored", "2023-10-10", false), Ok(10_000));
    check(
        (2_000, "vip", "2023-10-10", false),
        Err("GJ-PREMIUM-CATEGORY-UNKNOWN"),
    );
    // Only 100 yuan above the 1,000-yuan reserve.
    check(
        (1_100, "general", "2023-10-10", false),
        Err("GJ-PREMIUM-INSUFFICIENT-BALANCE"),
    );
    check(
        (2_000, "general", "2023-10-10", true),
        Err("GJ-PREMIUM-ALREADY-PAID"),
    );
}
