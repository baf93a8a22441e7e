//! Premiums paid with outside money (R-J5, collecting agents; issue 13): the amount is the
//! registry's, the money comes from the channel's clearing account, and a second payment
//! for the same person and year is refused before money moves, or refunded when a channel
//! collected it anyway, never kept twice (R-R4).

mod fixtures;

use fixtures::*;
use gongji_core::codes::{Admdvs, Insutype};
use gongji_core::collection::{
    decide_channel_premium, quote_channel_premium, ChannelDecision, ChannelFacts, PaymentChannel,
};
use gongji_core::domain::Person;
use gongji_core::ledger::LedgerAccount;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;

fn facts<'a>(person: &'a Person, listed: &'a [&'a str], on: &str) -> ChannelFacts<'a> {
    ChannelFacts {
        person,
        kind: PremiumKind::Resident,
        year: 2024,
        listed_categories: listed,
        paid_on: day(on),
        place: None,
        already_paid: false,
        channel: PaymentChannel::Wechat,
        agent: None,
    }
}

/// (account key, fen) of a decision's postings.
fn postings(d: &ChannelDecision) -> Vec<(String, i64)> {
    let set = match d {
        ChannelDecision::Kept(k) => &k.postings,
        ChannelDecision::Refunded(r) => &r.postings,
    };
    set.postings()
        .iter()
        .map(|p| (p.account.key(), p.amount.fen()))
        .collect()
}

#[test]
fn a_resident_pays_his_own_premium_from_the_channel_not_an_account() {
    let policy = policy(YUNCHENG);
    let me = person("R1", YUNCHENG, Insutype::Resident);
    let f = facts(&me, &[], "2023-10-10");
    assert_eq!(
        quote_channel_premium(&f, &policy).unwrap().amount.fen(),
        38_000
    );
    let kept = decide_channel_premium(&f, Fen::from_fen(38_000), &policy).unwrap();
    assert!(matches!(kept, ChannelDecision::Kept(_)));
    assert_eq!(
        postings(&kept),
        vec![
            ("clearing:wechat".to_string(), -38_000),
            (format!("premium:{YUNCHENG}:390"), 38_000),
        ]
    );
    // An agent's money comes from its own clearing account, so its statement balances.
    let agent = ChannelFacts {
        channel: PaymentChannel::Agent,
        agent: Some("VC-001"),
        ..f
    };
    let kept = decide_channel_premium(&agent, Fen::from_fen(38_000), &policy).unwrap();
    assert_eq!(
        postings(&kept)[0],
        ("clearing:agent:VC-001".to_string(), -38_000)
    );
    assert_eq!(
        LedgerAccount::parse_key("clearing:agent:VC-001"),
        Some(LedgerAccount::ChannelClearing {
            channel: PaymentChannel::Agent,
            agent: Some("VC-001".into())
        })
    );
}

#[test]
fn a_second_payment_is_refused_before_money_moves_and_refunded_after() {
    let policy = policy(YUNCHENG);
    let me = person("R1", YUNCHENG, Insutype::Resident);
    let paid = ChannelFacts {
        already_paid: true,
        ..facts(&me, &[], "2023-10-10")
    };
    assert_eq!(
        quote_channel_premium(&paid, &policy).unwrap_err().code(),
        "GJ-PREMIUM-ALREADY-PAID"
    );
    let d = decide_channel_premium(&paid, Fen::from_fen(38_000), &policy).unwrap();
    let ChannelDecision::Refunded(r) = &d else {
        panic!("a second payment is never kept: {d:?}");
    };
    assert_eq!(r.reason.code(), "GJ-PREMIUM-ALREADY-PAID");
    // Nothing reaches the premium income: the channel's collection and its refund.
    assert_eq!(
        postings(&d),
        vec![
            ("clearing:wechat".to_string(), -38_000),
            ("refunded:wechat".to_string(), 38_000),
        ]
    );
}

#[test]
fn the_payer_cannot_pay_a_cheaper_amount_and_nothing_due_is_no_order() {
    let policy = policy(YUNCHENG);
    let me = person("R1", YUNCHENG, Insutype::Resident);
    let f = facts(&me, &[], "2023-10-10");
    // The 特困 rate declared by the payer: the channel collected 0.00... refused outright,
    // and a cheaper sum than the registry's category is refunded, not kept.
    assert!(decide_channel_premium(&f, Fen::ZERO, &policy).is_err());
    let d = decide_channel_premium(&f, Fen::from_fen(10_000), &policy).unwrap();
    let ChannelDecision::Refunded(r) = d else {
        panic!("a cheaper amount is never kept");
    };
    assert_eq!(r.reason.code(), "GJ-PREMIUM-AMOUNT-MISMATCH");
    // The registry lists him as 特困: his premium is the government's, no order is made.
    let listed = ["special_hardship"];
    let f = facts(&me, &listed, "2023-10-10");
    assert_eq!(
        quote_channel_premium(&f, &policy).unwrap_err().code(),
        "GJ-PREMIUM-NOTHING-DUE"
    );
}

#[test]
fn the_window_is_judged_on_the_collection_time_and_the_place_is_the_persons() {
    let policy = policy(YUNCHENG);
    let me = person("R1", YUNCHENG, Insutype::Resident);
    // Collected on 20 December, inside the window: kept, whenever it is delivered.
    let f = facts(&me, &[], "2023-12-20");
    assert!(matches!(
        decide_channel_premium(&f, Fen::from_fen(38_000), &policy).unwrap(),
        ChannelDecision::Kept(_)
    ));
    // Collected on 27 December (after the 25th): refunded.
    let late = facts(&me, &[], "2023-12-27");
    assert!(matches!(
        decide_channel_premium(&late, Fen::from_fen(38_000), &policy).unwrap(),
        ChannelDecision::Refunded(_)
    ));
    let elsewhere = ChannelFacts {
        place: Some(Admdvs::parse("370100").unwrap()),
        ..f
    };
    assert_eq!(
        quote_channel_premium(&elsewhere, &policy)
            .unwrap_err()
            .code(),
        "GJ-PREMIUM-WRONG-PLACE"
    );
}
