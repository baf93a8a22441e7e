//! A resident's coverage from his premiums (R-R2), the settlement that holds the pooled
//! fund's share back until he pays, and the 补报 that pays it once he has.

mod fixtures;

use std::collections::HashMap;

use fixtures::*;
use gongji_core::codes::{AccountUse, ChargeLevel, HospitalLevel, InsuStatus, Insutype, MedType};
use gongji_core::coverage::{
    bubao_standing, coverage_on, decide_bubao, BubaoFacts, BubaoStanding, BubaoStandingFacts,
    Coverage, CoverageFacts, WithheldLine,
};
use gongji_core::domain::CatalogItem;
use gongji_core::ledger::LedgerAccount;
use gongji_core::money::BasisPoints;
use gongji_core::policy::Policy;
use gongji_core::pooling::FeeLine;
use gongji_core::settlement::{decide_settlement, SettlementDecision, SettlementFacts};
use gongji_core::Fen;

/// Yuncheng with its collection moved here from benefit year 2024 (the preset says 2027).
fn yuncheng_from_2024() -> Policy {
    let mut p = policy(YUNCHENG);
    if let Some(c) = p.contribution.as_mut() {
        c.coverage_from_payments = Some(2024);
    }
    p
}

/// A Yuncheng person on a day: (insurance, registry status, premium for the year paid).
type Scenario<'a> = (Insutype, InsuStatus, &'a str, bool);

fn check(policy: &Policy, scenario: Scenario<'_>, expected: Coverage) {
    let (insutype, status, on, paid) = scenario;
    let person = gongji_core::domain::Person {
        insu_status: status,
        ..person("R1", YUNCHENG, insutype)
    };
    let got = coverage_on(
        &CoverageFacts {
            person: &person,
            date: day(on),
            resident_premium_paid: paid,
        },
        policy,
    );
    assert_eq!(
        got, expected,
        "{insutype:?} {status:?} on {on}, paid {paid}"
    );
}

#[test]
fn a_resident_who_paid_is_covered_the_whole_year() {
    let p = yuncheng_from_2024();
    let normal = InsuStatus::Normal;
    check(
        &p,
        (Insutype::Resident, normal, "2024-01-02", true),
        Coverage::Covered,
    );
    check(
        &p,
        (Insutype::Resident, normal, "2024-12-31", true),
        Coverage::Covered,
    );
}

#[test]
fn before_paying_inside_the_extended_window_he_awaits_payment() {
    let p = yuncheng_from_2024();
    let normal = InsuStatus::Normal;
    let awaiting = Coverage::AwaitingPayment {
        year: 2024,
        pay_by: day("2024-02-25"),
    };
    check(
        &p,
        (Insutype::Resident, normal, "2024-01-10", false),
        awaiting,
    );
    check(
        &p,
        (Insutype::Resident, normal, "2024-02-25", false),
        awaiting,
    );
    // The window closed without a payment: not covered for the year.
    check(
        &p,
        (Insutype::Resident, normal, "2024-02-26", false),
        Coverage::NotCovered { year: Some(2024) },
    );
    // 2025 has no extension: the window ended on 2024-12-25.
    check(
        &p,
        (Insutype::Resident, normal, "2025-01-10", false),
        Coverage::NotCovered { year: Some(2025) },
    );
}

#[test]
fn a_hand_set_status_does_not_make_an_unpaid_resident_covered() {
    // The registry says 正常参保; without a premium for a year collected here he is not.
    let p = yuncheng_from_2024();
    check(
        &p,
        (Insutype::Resident, InsuStatus::Normal, "2024-06-01", false),
        Coverage::NotCovered { year: Some(2024) },
    );
}

#[test]
fn years_before_the_collection_moved_here_and_employees_keep_the_registry() {
    let preset = policy(YUNCHENG);
    let normal = InsuStatus::Normal;
    check(
        &preset,
        (Insutype::Resident, normal, "2026-06-01", false),
        Coverage::Covered,
    );
    check(
        &preset,
        (Insutype::Resident, normal, "2027-06-01", false),
        Coverage::NotCovered { year: Some(2027) },
    );
    check(
        &preset,
        (Insutype::Employee, normal, "2027-06-01", false),
        Coverage::Covered,
    );
    check(
        &preset,
        (
            Insutype::Resident,
            InsuStatus::Terminated,
            "2026-06-01",
            true,
        ),
        Coverage::NotCovered { year: None },
    );
}

/// A 100-yuan class-A outpatient bill of a Yuncheng resident at a primary clinic.
fn settle(coverage: Coverage) -> Result<SettlementDecision, gongji_core::Refusal> {
    let policy = yuncheng_from_2024();
    let patient = person("R1", YUNCHENG, Insutype::Resident);
    let clinic = hospital(YUNCHENG, HospitalLevel::Primary);
    let item = CatalogItem {
        code: "A1".into(),
        name: "甲类药品".into(),
        level: ChargeLevel::ClassA,
        price_cap: None,
        selfpay_prop: BasisPoints::ZERO,
    };
    let catalog = |code: &str| (code == "A1").then(|| item.clone());
    let lines = [FeeLine {
        sn: "1".into(),
        item_code: "A1".into(),
        amount: yuan(60),
        count_e4: 10_000,
        price: yuan(60),
    }];
    let usage = HashMap::new();
    decide_settlement(
        &SettlementFacts {
            patient: &patient,
            own_balance: Fen::ZERO,
            institution: &clinic,
            med_type: MedType::GeneralOutpatient,
            account_use: AccountUse::OwnThenMutualAid,
            lines: &lines,
            declared_total: Some(yuan(60)),
            date: day("2024-01-10"),
            usage: &usage,
            holders: Vec::new(),
            quotas: Vec::new(),
            presented_holder: None,
            coverage,
        },
        &catalog,
        &policy,
    )
}

#[test]
fn awaiting_payment_the_fund_share_is_held_back_and_the_person_pays_it() {
    let covered = settle(Coverage::Covered).expect("covered");
    // 60 yuan class A at 60%: the fund pays 36.
    assert_eq!(covered.totals.hifp_pay, yuan(36));
    let awaiting = settle(Coverage::AwaitingPayment {
        year: 2024,
        pay_by: day("2024-02-25"),
    })
    .expect("settled awaiting payment");
    let t = &awaiting.totals;
    assert_eq!((t.fund_pay_sumamt, t.psn_cash_pay), (Fen::ZERO, yuan(60)));
    assert!(t.identities_hold(), "{t:?}");
    let held: Vec<Fen> = awaiting.withheld.iter().map(|l| l.amount).collect();
    assert_eq!(held, vec![yuan(36)]);
    assert!(awaiting
        .postings
        .postings()
        .iter()
        .all(|p| !matches!(p.account, LedgerAccount::PoolFund { .. })));
    let refused = settle(Coverage::NotCovered { year: Some(2024) })
        .map(|_| ())
        .map_err(|r| r.code());
    assert_eq!(refused, Err("GJ-SETL-RESIDENT-NOT-COVERED"));
}

fn withheld_36() -> Vec<WithheldLine> {
    vec![WithheldLine {
        fund_pay_type: "390102".into(),
        name_zh: "居民门诊统筹（基层医疗机构）".into(),
        amount: yuan(36),
        explanation: "甲类60元×60%".into(),
    }]
}

#[test]
fn bubao_pays_the_held_back_share_from_the_fund_to_the_person_explained() {
    let lines = withheld_36();
    let facts = BubaoFacts {
        setl_id: "S1",
        admdvs: gongji_core::codes::Admdvs::parse(YUNCHENG).expect("admdvs"),
        setl_date: day("2024-01-10"),
        withheld: &lines,
        cancelled: false,
        paid_on: Some(day("2024-02-20")),
    };
    let d = decide_bubao(&facts).expect("bubao");
    assert_eq!(d.amount, yuan(36));
    let fund = d
        .postings
        .postings()
        .iter()
        .find(|p| matches!(p.account, LedgerAccount::PoolFund { .. }))
        .expect("a fund line");
    assert_eq!(fund.amount, yuan(-36));
    assert_eq!(d.postings.net_for(&LedgerAccount::Cash), Some(yuan(36)));
    for p in d.postings.postings() {
        for said in ["2024-01-10", "S1", "2024-02-20", "2024年度"] {
            assert!(p.explanation.contains(said), "{said} in {}", p.explanation);
        }
    }
    let code = |f: BubaoFacts<'_>| decide_bubao(&f).map(|_| ()).map_err(|r| r.code());
    assert_eq!(
        code(BubaoFacts {
            paid_on: None,
            ..facts.clone()
        }),
        Err("GJ-BUBAO-NOT-PAID")
    );
    assert_eq!(
        code(BubaoFacts {
            cancelled: true,
            ..facts.clone()
        }),
        Err("GJ-BUBAO-SETTLEMENT-CANCELLED")
    );
    assert_eq!(
        code(BubaoFacts {
            withheld: &[],
            ..facts
        }),
        Err("GJ-BUBAO-NOTHING-WITHHELD")
    );
}

/// What the resident is told of a bill held back on 10 January 2024 (extended window: 25
/// February): paid back, due at the next run, waiting for his payment, or never and why.
#[test]
fn a_held_back_bill_stands_paid_due_awaiting_or_refused_with_the_reason() {
    let p = yuncheng_from_2024();
    let standing = |cancelled, paid, premium_paid, today: &str| {
        bubao_standing(
            &BubaoStandingFacts {
                setl_date: day("2024-01-10"),
                cancelled,
                paid,
                premium_paid,
                today: day(today),
            },
            &p,
        )
    };
    let pay_by = day("2024-02-25");
    assert_eq!(
        standing(false, true, true, "2024-03-01"),
        BubaoStanding::Paid
    );
    assert_eq!(
        standing(false, false, true, "2024-02-21"),
        BubaoStanding::Due
    );
    assert_eq!(
        standing(false, false, false, "2024-02-25"),
        BubaoStanding::AwaitingPayment { pay_by }
    );
    assert_eq!(
        standing(false, false, false, "2024-02-26"),
        BubaoStanding::CollectionClosed {
            pay_by: Some(pay_by)
        }
    );
    assert_eq!(
        standing(true, false, true, "2024-02-21"),
        BubaoStanding::Cancelled
    );
}
