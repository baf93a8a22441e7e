//! A relative's premium paid from the holder's account: the resident premium (R-R1, R-R2,
//! R-R4, R-S2) and the employee large-expense supplement and long-term-care premiums (R-S6).

mod fixtures;

use fixtures::*;
use gongji_core::codes::{Admdvs, Insutype};
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
    /// The categories the agency's lists give the relative for the year (R-R5).
    listed: &'a [&'a str],
    on: &'a str,
    /// The insured place the payer chose, if the channel asks.
    place: Option<&'a str>,
    already_paid: bool,
}

/// A Yuncheng holder pays a resident child's 2024 premium in October 2023.
const RESIDENT_2024: Scenario<'static> = Scenario {
    region: YUNCHENG,
    kind: PremiumKind::Resident,
    relative: Insutype::Resident,
    balance: 2_000,
    year: 2024,
    listed: &[],
    on: "2023-10-10",
    place: None,
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
            listed_categories: s.listed,
            date: day(s.on),
            place: s.place.map(|p| Admdvs::parse(p).expect("admdvs")),
            already_paid: s.already_paid,
        },
        &policy,
        &policy,
    )
}

/// The amount paid in fen, or the refusal's code.
fn check(s: Scenario<'_>, expected: Result<i64, &str>) {
    let got = decide(s).map(|d| d.amount.fen()).map_err(|r| r.code());
    assert_eq!(got, expected, "{:?} {:?} on {}", s.kind, s.listed, s.on);
}

#[test]
fn the_registry_category_decides_the_amount_and_the_reserve_stays() {
    // Nobody's list names the child: the general rate.
    check(RESIDENT_2024, Ok(38_000));
    check(
        Scenario {
            listed: &["monitored"],
            ..RESIDENT_2024
        },
        Ok(10_000),
    );
    // A category the year does not know is no discount.
    check(
        Scenario {
            listed: &["vip"],
            ..RESIDENT_2024
        },
        Ok(38_000),
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

/// R-R1: Yuncheng's 2024 table (seed 004), every category, exactly.
#[test]
fn yuncheng_2024_table_for_every_category() {
    for (category, fen) in [
        ("general", 38_000),
        ("special_hardship", 0),
        ("returned_to_poverty", 3_800),
        ("monitored", 10_000),
        ("minimum_subsistence", 7_600),
        ("disabled_elderly_minor", 19_000),
    ] {
        check(
            Scenario {
                listed: &[category],
                ..RESIDENT_2024
            },
            Ok(fen),
        );
    }
}

/// R-R5: when departments' lists disagree, the person pays in the cheapest category any of
/// them gives, whatever order the lists came in.
#[test]
fn between_lists_the_cheapest_category_wins() {
    for listed in [
        &["monitored", "minimum_subsistence"][..],
        &["minimum_subsistence", "monitored"][..],
        &["disabled_elderly_minor", "minimum_subsistence", "vip"][..],
    ] {
        check(
            Scenario {
                listed,
                ..RESIDENT_2024
            },
            Ok(7_600),
        );
    }
    check(
        Scenario {
            listed: &["returned_to_poverty", "special_hardship"],
            ..RESIDENT_2024
        },
        Ok(0),
    );
}

/// R-R2: 1 Sep – 25 Dec, payments on days 1–25 only; the 2024 year extended to 25 Feb 2024 by
/// a dated amendment; 2025 has no extension.
#[test]
fn the_window_its_dated_extension_and_the_days_1_to_25() {
    let on = |on: &'static str| Scenario {
        on,
        ..RESIDENT_2024
    };
    let outside = Err("GJ-PREMIUM-OUTSIDE-WINDOW");
    check(on("2023-08-31"), outside);
    check(on("2023-09-01"), Ok(38_000));
    check(on("2023-10-25"), Ok(38_000));
    check(on("2023-10-26"), outside);
    check(on("2023-11-30"), outside);
    check(on("2023-12-25"), Ok(38_000));
    check(on("2023-12-26"), outside);
    // Inside the extension the days 1–25 rule still holds.
    check(on("2024-01-01"), Ok(38_000));
    check(on("2024-01-26"), outside);
    check(on("2024-02-25"), Ok(38_000));
    check(on("2024-02-26"), outside);
    check(on("2024-03-01"), outside);
    let next = |on: &'static str| Scenario {
        year: 2025,
        on,
        ..RESIDENT_2024
    };
    check(next("2024-12-25"), Ok(38_000));
    check(next("2025-01-05"), outside);
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

/// The extension is an amendment with a date: before the day it takes effect, the days after
/// the original window are refused; from it on, they are accepted.
#[test]
fn an_extension_counts_only_from_the_day_it_takes_effect() {
    use gongji_core::policy::WindowExtension;
    use gongji_core::premium::in_window;
    let policy = policy(YUNCHENG);
    let mut year = policy
        .contribution
        .as_ref()
        .and_then(|c| c.year(2024))
        .cloned()
        .expect("2024");
    assert_eq!(
        year.extensions,
        vec![WindowExtension {
            from: day("2023-12-26"),
            to: day("2024-02-25")
        }]
    );
    year.extensions = vec![WindowExtension {
        from: day("2024-01-10"),
        to: day("2024-02-25"),
    }];
    assert!(!in_window(&year, day("2024-01-05")));
    assert!(in_window(&year, day("2024-01-10")));
    assert!(in_window(&year, day("2024-02-25")));
    year.extensions.clear();
    assert!(!in_window(&year, day("2024-01-10")));
}

/// The year being collected: in the autumn window it is next year's, in an extension the
/// year extended, between seasons none.
#[test]
fn the_year_being_collected_is_the_one_whose_season_spans_the_day() {
    use gongji_core::premium::year_being_collected;
    let policy = policy(YUNCHENG);
    let years = &policy.contribution.as_ref().expect("contribution").years;
    let check = |date: &str, expected: Option<i32>| {
        assert_eq!(year_being_collected(years, day(date)), expected, "{date}");
    };
    check("2023-10-10", Some(2024));
    check("2024-02-25", Some(2024));
    check("2024-06-01", None);
    check("2025-10-26", Some(2026));
}

/// R-R4: a premium is paid only at the relative's insured place; the city is the place (a
/// county of it will do).
#[test]
fn only_at_the_insured_place() {
    let at = |place: &'static str| Scenario {
        place: Some(place),
        ..RESIDENT_2024
    };
    check(at("140800"), Ok(38_000));
    check(at("140802"), Ok(38_000));
    check(at("140100"), Err("GJ-PREMIUM-WRONG-PLACE"));
    check(at("370100"), Err("GJ-PREMIUM-WRONG-PLACE"));
    check(
        Scenario {
            place: Some("140100"),
            ..LARGE_EXPENSE_2024
        },
        Err("GJ-PREMIUM-WRONG-PLACE"),
    );
}
