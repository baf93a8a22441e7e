//! A settlement end to end: fund, own account, mutual aid, cash, and postings that balance.

mod fixtures;

use std::collections::HashMap;

use fixtures::*;
use gongji_core::allocation::{BindingUsage, HolderFacts};
use gongji_core::codes::{
    AccountUse, ChargeLevel, HospitalLevel, InstitutionKind, Insutype, MedType,
};
use gongji_core::domain::{CatalogItem, Institution};
use gongji_core::money::BasisPoints;
use gongji_core::pooling::FeeLine;
use gongji_core::settlement::{decide_settlement, SettlementFacts};
use gongji_core::Fen;

/// A Taiyuan relative's class-A purchase at a pharmacy, paid with the holder's card:
/// (the bill, the relative's own balance, the holder's balance), in yuan.
type Scenario = (i64, i64, i64);

/// (fund, own account, mutual aid, cash), in yuan.
fn check(scenario: Scenario, expected: (i64, i64, i64, i64)) {
    let (bill, own_balance, holder_balance) = scenario;
    let policy = policy(TAIYUAN);
    let holder = person("H1", TAIYUAN, Insutype::Employee);
    let patient = person("R1", TAIYUAN, Insutype::Employee);
    let b = binding(1, &holder, &patient, "2025-01-01");
    let pharmacy = Institution {
        kind: InstitutionKind::Pharmacy,
        ..hospital(TAIYUAN, HospitalLevel::Primary)
    };
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
    let usage = HashMap::new();
    let d = decide_settlement(
        &SettlementFacts {
            patient: &patient,
            own_balance: yuan(own_balance),
            institution: &pharmacy,
            med_type: MedType::PharmacyPurchase,
            account_use: AccountUse::OwnThenMutualAid,
            lines: &lines,
            declared_total: Some(yuan(bill)),
            date: day("2025-03-03"),
            usage: &usage,
            holders: vec![HolderFacts {
                holder: &holder,
                balance: yuan(holder_balance),
                binding: &b,
                reserve: policy.payment.reserve,
                used: BindingUsage::default(),
            }],
            quotas: Vec::new(),
            presented_holder: Some("H1"),
        },
        &catalog,
        &policy,
    )
    .expect("a settlement");
    let t = &d.totals;
    let (fund, own, aid, cash) = expected;
    assert_eq!(
        (
            t.fund_pay_sumamt,
            d.allocation.own,
            t.acct_mulaid_pay,
            t.psn_cash_pay
        ),
        (yuan(fund), yuan(own), yuan(aid), yuan(cash))
    );
    assert!(t.identities_hold(), "{t:?}");
    assert_eq!(
        Fen::checked_sum(d.postings.postings().iter().map(|p| p.amount)),
        Some(Fen::ZERO)
    );
}

#[test]
fn a_pharmacy_bill_paid_by_own_account_then_the_holder_then_cash() {
    check((300, 100, 1_500), (0, 100, 200, 0));
    check((300, 0, 1_100), (0, 0, 100, 200));
    check((300, 500, 0), (0, 300, 0, 0));
}
