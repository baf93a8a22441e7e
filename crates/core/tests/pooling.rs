//! The pooled fund and the second reimbursement (R-R6, R-J9), one scenario per line.

mod fixtures;

use std::collections::HashMap;

use fixtures::*;
use gongji_core::codes::{ChargeLevel, HospitalLevel, Insutype, MedType};
use gongji_core::domain::CatalogItem;
use gongji_core::money::BasisPoints;
use gongji_core::pooling::{
    split_bill, FeeLine, PoolUsage, PoolingFacts, SECOND_REIMBURSEMENT_GROUP,
};

/// A Jinan employee's class-A bill at a level-3 hospital: (kind of care, the bill in yuan,
/// the year's compliant burden and refunds so far in yuan).
type Scenario = (MedType, i64, (i64, i64));

/// (pooled fund, second reimbursement), in yuan.
fn check(scenario: Scenario, expected: (i64, i64)) {
    let (med_type, bill, (burden, refunded)) = scenario;
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
        amount: yuan(bill),
        count_e4: 10_000,
        price: yuan(bill),
    }];
    let usage = HashMap::from([(
        SECOND_REIMBURSEMENT_GROUP.to_string(),
        PoolUsage {
            burden_year: yuan(burden),
            fund_paid_year: yuan(refunded),
            ..PoolUsage::default()
        },
    )]);
    let split = split_bill(
        &lines,
        &catalog,
        &PoolingFacts {
            insutype: Insutype::Employee,
            med_type,
            level: HospitalLevel::Level3,
            usage: &usage,
        },
        &policy(JINAN),
    )
    .expect("a split");
    let (fund, refund) = expected;
    assert_eq!(
        (split.pooled_fund, split.second_reimbursement),
        (yuan(fund), yuan(refund)),
        "{:?}",
        split.fund_lines
    );
    assert_eq!(
        split.fund_total().checked_add(split.personal_burden()),
        Some(split.medfee_sumamt)
    );
}

#[test]
fn general_outpatient_is_pooled_without_second_reimbursement() {
    check((MedType::GeneralOutpatient, 300, (0, 0)), (50, 0));
}

#[test]
fn chronic_care_is_refunded_on_the_year_as_a_whole() {
    let chronic = MedType::ChronicSpecialOutpatient;
    check((chronic, 12_000, (0, 0)), (0, 0));
    check((chronic, 10_000, (12_000, 0)), (0, 6_000));
    // The year was refunded 6,000 on a burden that no longer deserves it: nothing more
    // until the burden catches up.
    check((chronic, 1_000, (10_000, 6_000)), (0, 0));
    check((chronic, 20_000, (10_000, 6_000)), (0, 4_800));
}
