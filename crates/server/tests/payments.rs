//! Premiums paid with outside money through a payment provider (issue 13, items 2 and 4):
//! a fake provider on 127.0.0.1 that signs its notifications and checks Gongji's refund calls
//! the way a real one does (WeChat Pay v3's shape, HMAC-SHA256 under a shared secret), and
//! delivers notifications late, twice and out of order. Two orders for the same premium both
//! paid at the provider: one is kept, the other recorded and refunded, in either order.

mod common;

use std::sync::Arc;

use common::fake_payment::{deliver, FakeProvider};
use common::{world, world_configured, Server, World, P};
use gongji_core::premium::PremiumKind;
use gongji_server::deployment::Deployment;
use gongji_server::service::collection::{self, NewOrder};
use gongji_server::service::providers::NotConfiguredPayment;
use gongji_server::service::ServiceError;
use serde_json::{json, Value};

async fn with_provider(fake: &FakeProvider) -> World {
    let provider = fake.payment();
    world_configured(gongji_policy::presets(), move |app| {
        app.with_payment(Arc::new(provider))
    })
    .await
}

async fn order(s: &Server, token: &str, p: &P) -> Value {
    let r = s
        .post(
            "/api/v1/me/premium-orders",
            Some(token),
            json!({ "psn_no": p.psn_no, "year": 2026 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn premium_income(s: &Server) -> i64 {
    s.app
        .read(|e| e.state().balance("premium:140802:390").fen())
        .await
        .expect("read")
}

/// Acceptance (issue 13, R-R4): two orders for the same person and year, both paid at the
/// provider, every notification delivered twice, in both orders: one payment is kept, the
/// other is recorded and refunded once, never both kept; a third order is refused before
/// money moves.
#[tokio::test(flavor = "multi_thread")]
async fn two_orders_paid_twice_keep_one_and_refund_one_in_either_order() {
    for b_first in [false, true] {
        let fake = FakeProvider::start().await;
        let w = with_provider(&fake).await;
        let s = &w.s;
        let uy = s.sign_in(&w.uy).await;
        let a = order(s, &uy, &w.uy).await;
        let b = order(s, &uy, &w.uy).await;
        assert!(a["pay_url"].as_str().unwrap().starts_with(&fake.base));
        assert!(a["confirmed"].is_null(), "a real provider confirms later");
        let fen = gongji_core::Fen::parse_yuan(a["amount"].as_str().unwrap())
            .unwrap()
            .fen();
        let income_before = premium_income(s).await;
        let paid_a = || {
            FakeProvider::notification(
                a["order_id"].as_str().unwrap(),
                "4200A",
                fen,
                "2025-10-10T10:01:00+08:00",
            )
        };
        let paid_b = || {
            FakeProvider::notification(
                b["order_id"].as_str().unwrap(),
                "4200B",
                fen,
                "2025-10-10T10:02:00+08:00",
            )
        };
        let (first, second) = if b_first {
            (paid_b(), paid_a())
        } else {
            (paid_a(), paid_b())
        };
        let kept = deliver(s, first.clone()).await;
        assert_eq!(kept.ok()["status"], "kept", "{}", kept.body);
        assert_eq!(kept.body["year"], 2026);
        let refunded = deliver(s, second.clone()).await;
        assert_eq!(refunded.ok()["status"], "refunded", "{}", refunded.body);
        assert_eq!(refunded.body["refund_code"], "GJ-PREMIUM-ALREADY-PAID");
        // Duplicated and late deliveries of both: the first answers, nothing moves again.
        s.set_now("2026-01-05 08:00:00");
        for n in [second, first] {
            let again = deliver(s, n).await;
            assert_eq!(again.ok()["replayed"], true, "{}", again.body);
        }
        assert_eq!(premium_income(s).await - income_before, fen, "kept once");
        assert_eq!(
            fake.refund_numbers().len(),
            1,
            "one refund, asked with one number"
        );
        let r = fake.refunds.lock().unwrap()[0].clone();
        assert_eq!(r["amount"]["refund"], fen);
        let refunded_txn = if b_first { "4200A" } else { "4200B" };
        assert_eq!(r["transaction_id"], refunded_txn);
        // A third order is refused before money moves.
        s.set_now("2025-10-11 09:00:00");
        let uy = s.sign_in(&w.uy).await;
        s.post(
            "/api/v1/me/premium-orders",
            Some(&uy),
            json!({ "year": 2026 }),
        )
        .await
        .refused(422, "GJ-PREMIUM-ALREADY-PAID");
        s.verify_clean().await;
    }
}

/// Acceptance (issue 13, R-R4) across two channels: a resident's own order at the payment
/// provider and his holder's payment from a personal account, for the same year. Whichever
/// lands first is kept; the account payment after a kept channel payment is refused before
/// money moves, and a channel payment after the account paid is refunded. Never both kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_channel_payment_and_a_holders_account_payment_are_never_both_kept() {
    for account_first in [true, false] {
        let fake = FakeProvider::start().await;
        let w = with_provider(&fake).await;
        let s = &w.s;
        let ry = s.sign_in(&w.ry).await;
        let hy = s.sign_in(&w.hy).await;
        let o = order(s, &ry, &w.ry).await;
        let fen = gongji_core::Fen::parse_yuan(o["amount"].as_str().unwrap())
            .unwrap()
            .fen();
        let income_before = premium_income(s).await;
        let holder_before = s.balance(&w.hy).await.fen();
        let notification = || {
            FakeProvider::notification(
                o["order_id"].as_str().unwrap(),
                "4200R",
                fen,
                "2025-10-10T10:01:00+08:00",
            )
        };
        let by_account = json!({
            "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026
        });
        if account_first {
            let paid = s.post("/api/v1/me/premiums", Some(&hy), by_account).await;
            assert_eq!(paid.status, 201, "{}", paid.body);
            let late = deliver(s, notification()).await;
            assert_eq!(late.ok()["status"], "refunded", "{}", late.body);
            assert_eq!(
                fake.refund_numbers().len(),
                1,
                "the channel's money goes back"
            );
            assert_eq!(s.balance(&w.hy).await.fen(), holder_before - fen);
        } else {
            let kept = deliver(s, notification()).await;
            assert_eq!(kept.ok()["status"], "kept", "{}", kept.body);
            s.post("/api/v1/me/premiums", Some(&hy), by_account)
                .await
                .refused(422, "GJ-PREMIUM-ALREADY-PAID");
            assert_eq!(s.balance(&w.hy).await.fen(), holder_before, "nothing moved");
            assert!(fake.refund_numbers().is_empty());
        }
        assert_eq!(premium_income(s).await - income_before, fen, "kept once");
        s.verify_clean().await;
    }
}

/// A notification with a bad signature, for an unknown order or for another amount than
/// its order's is refused with its code, changes nothing, and is audited.
#[tokio::test(flavor = "multi_thread")]
async fn forged_unknown_and_wrong_amount_notifications_are_refused_and_audited() {
    let fake = FakeProvider::start().await;
    let w = with_provider(&fake).await;
    let s = &w.s;
    let uy = s.sign_in(&w.uy).await;
    let a = order(s, &uy, &w.uy).await;
    let id = a["order_id"].as_str().unwrap().to_string();
    let income = premium_income(s).await;
    let audited = s.audit_rows().await;

    let (headers, mut body) = FakeProvider::notification(&id, "T1", 1, "2025-10-10T10:01:00+08:00");
    body.push(b' ');
    deliver(s, (headers, body))
        .await
        .refused(401, "GJ-PAY-BAD-SIGNATURE");
    deliver(
        s,
        FakeProvider::notification(
            "GJP-NO-SUCH-ORDER",
            "T2",
            38_000,
            "2025-10-10T10:01:00+08:00",
        ),
    )
    .await
    .refused(404, "GJ-PAY-UNKNOWN-ORDER");
    deliver(
        s,
        FakeProvider::notification(&id, "T3", 1, "2025-10-10T10:01:00+08:00"),
    )
    .await
    .refused(422, "GJ-PAY-AMOUNT-MISMATCH");
    assert_eq!(premium_income(s).await, income, "nothing moved");
    assert_eq!(s.audit_rows().await, audited + 3, "each refusal audited");
    assert!(fake.refunds.lock().unwrap().is_empty());
}

/// The demo's provider (演示) pays at once: the order answers with the payment kept, for
/// which year and category, and the person's premium is recorded with its channel.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_provider_pays_at_once() {
    let w = world().await;
    let s = &w.s;
    let uy = s.sign_in(&w.uy).await;
    let a = order(s, &uy, &w.uy).await;
    let c = &a["confirmed"];
    assert_eq!(c["status"], "kept", "{a}");
    assert_eq!(
        (c["channel"].clone(), c["year"].clone()),
        (json!("dev"), json!(2026))
    );
    assert!(
        c["explanation"].as_str().unwrap().contains("2026年度"),
        "{c}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM premiums WHERE channel = 'dev' AND paid_at IS NOT NULL"),
        1
    );
    s.verify_clean().await;
}

/// Production without a payment provider makes no order, and says so in Chinese; the
/// development provider is refused there too.
#[tokio::test(flavor = "multi_thread")]
async fn production_without_a_provider_refuses_orders() {
    for configured in [false, true] {
        let w = world_configured(gongji_policy::presets(), move |app| {
            let app = app.with_deployment(Deployment::production());
            if configured {
                app
            } else {
                app.with_payment(Arc::new(NotConfiguredPayment))
            }
        })
        .await;
        let e = collection::create_order(
            &w.s.app,
            &w.uy.psn_no,
            NewOrder {
                psn_no: w.uy.psn_no.clone(),
                kind: PremiumKind::Resident,
                year: 2026,
            },
            gongji_core::codes::Channel::Web,
        )
        .await
        .expect_err("no order");
        assert!(matches!(e, ServiceError::PaymentNotConfigured), "{e}");
        assert!(
            e.message_zh().contains("在线缴费服务未配置"),
            "{}",
            e.message_zh()
        );
        assert_eq!(
            w.s.count("SELECT COUNT(*) FROM payment_orders"),
            0,
            "nothing written"
        );
    }
}
