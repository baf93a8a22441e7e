//! Premiums paid with outside money through a channel (R-J5, collecting agents; issue 13),
//! end to end through the engine and its store: kept once, a second payment refunded with a
//! record, a repeated notification replayed, an agent's row refused before money moves.

mod common;

use common::*;
use gongji_core::codes::Channel;
use gongji_core::collection::PaymentChannel;
use gongji_core::premium::PremiumKind;
use gongji_core::Fen;
use gongji_engine::{ChannelPaid, ChannelPremiumCommand, Command, Outcome, Request};

fn time(text: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("test time")
}

fn notified(psn_no: &str, channel: PaymentChannel, txn: &str, paid_on: &str, on: &str) -> Request {
    let paid_at = time(paid_on);
    Request::new(Command::ChannelPremium(ChannelPremiumCommand {
        psn_no: psn_no.to_string(),
        kind: PremiumKind::Resident,
        year: 2024,
        amount: Fen::from_fen(38_000),
        channel,
        agent_id: None,
        place: None,
        paid_at,
        paid_at_text: format!("{}+08:00", paid_at.format("%Y-%m-%dT%H:%M:%S")),
        order_id: format!("GJP-{txn}"),
        transaction_id: txn.to_string(),
        via: Channel::Web,
        at: time(on),
        money_moved: true,
    }))
    .with_msgid(format!("pay:test:{txn}"), format!("h-{txn}"))
}

fn paid(w: &mut World, r: Request) -> ChannelPaid {
    match w.execute(r).expect("recorded") {
        Outcome::ChannelPaid(p) => *p,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_premium_paid_through_two_channels_is_kept_once_and_refunded_once() {
    let mut w = World::new();
    let kid = w.resident(YUNCHENG);
    let first = paid(
        &mut w,
        notified(
            &kid,
            PaymentChannel::Wechat,
            "T1",
            "2023-10-10 09:00:00",
            "2023-10-10 09:00:05",
        ),
    );
    assert!(first.kept(), "{first:?}");
    assert_eq!(w.account("premium:140802:390"), 38_000);
    assert_eq!(w.account("clearing:wechat"), -38_000);

    // The same transaction delivered again: the first answer, nothing moves.
    let again = w
        .execute(notified(
            &kid,
            PaymentChannel::Wechat,
            "T1",
            "2023-10-10 09:00:00",
            "2023-10-10 09:05:00",
        ))
        .unwrap();
    assert!(matches!(again, Outcome::Replayed { .. }), "{again:?}");

    // A second payment through another channel, collected anyway: recorded and refunded.
    let second = paid(
        &mut w,
        notified(
            &kid,
            PaymentChannel::Alipay,
            "T2",
            "2023-10-10 09:01:00",
            "2023-10-10 09:01:02",
        ),
    );
    assert!(!second.kept());
    assert_eq!(
        second.refund_reason.as_ref().map(|(c, _)| c.as_str()),
        Some("GJ-PREMIUM-ALREADY-PAID")
    );
    assert_eq!(w.account("premium:140802:390"), 38_000, "never both kept");
    assert_eq!(w.account("clearing:alipay"), -38_000);
    assert_eq!(w.account("refunded:alipay"), 38_000);

    // A holder paying from his account now is refused before money moves.
    let holder = w.employee(YUNCHENG, 5_000);
    w.bind(&holder, &kid, 10, "2023-08-01").unwrap();
    refused(
        w.premium(&holder, &kid, 2024, "general", "2023-10-11"),
        "GJ-PREMIUM-ALREADY-PAID",
    );
    w.verify();
}

#[test]
fn a_late_notification_counts_from_its_collection_time_and_an_agent_row_is_refused() {
    let mut w = World::new();
    let kid = w.resident(YUNCHENG);
    // Paid on 24 December, delivered on 3 January after the window closed: kept.
    let late = paid(
        &mut w,
        notified(
            &kid,
            PaymentChannel::Unionpay,
            "L1",
            "2023-12-24 20:00:00",
            "2024-01-03 08:00:00",
        ),
    );
    assert!(late.kept(), "{late:?}");
    // An agent's row has moved no money yet: a second payment is refused, nothing written.
    let mut agent = notified(
        &kid,
        PaymentChannel::Agent,
        "A1",
        "2023-12-24 21:00:00",
        "2023-12-24 21:00:00",
    );
    if let Command::ChannelPremium(c) = &mut agent.command {
        c.money_moved = false;
        c.agent_id = Some("VC-001".into());
    }
    refused(w.execute(agent), "GJ-PREMIUM-ALREADY-PAID");
    assert_eq!(w.account("clearing:agent:VC-001"), 0);
    w.verify();
}
