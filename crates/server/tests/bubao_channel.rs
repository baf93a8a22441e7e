//! 补报 (R-R2, issue 13) end to end through a premium paid by a payment CHANNEL: a Yuncheng
//! resident unpaid for 2026 sees a clinic on 10 January (the pooled fund pays nothing yet),
//! orders his premium on 20 February and the provider's signed notification confirms it,
//! carrying the payment time 2026-02-20 — on time, or arriving late on 23 February. A second
//! order paid through the same provider is refunded. The 补报 job, run twice and again after
//! a restart, pays the fund's share of the 10 January bill exactly once, as its own journal
//! entry, and the resident reads it in plain words on /h5/payments; a 补报 that cannot be
//! made says why there too.

mod common;

use std::sync::Arc;

use common::fake_payment::{deliver, FakeProvider};
use common::{
    day, form_of, presets_with, testid, time, world_configured, Browser, Server, World, P,
};
use gongji_core::codes::{AccountUse, Admdvs, Channel, HospitalLevel, InstitutionKind, MedType};
use gongji_core::domain::Institution;
use gongji_core::policy::PolicySet;
use gongji_core::policy::WindowExtension;
use gongji_core::pooling::FeeLine;
use gongji_core::Fen;
use gongji_engine::{Command, Outcome, Request, SettleCommand};
use serde_json::{json, Value};

const CLINIC: &str = "H14080200077";
const CLINIC_NAME: &str = "运城市盐湖区测试卫生院";
/// The Yuncheng resident outpatient fund, which pays 60% of a class-A bill at a clinic.
const OUTPATIENT_FUND: &str = "fund:140802:390102";

/// The provider's signed notification that `order` was paid at `success_time`.
fn notification(order: &Value, txn: &str, success_time: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let fen = Fen::parse_yuan(order["amount"].as_str().expect("amount"))
        .expect("yuan")
        .fen();
    FakeProvider::notification(
        order["order_id"].as_str().expect("order id"),
        txn,
        fen,
        success_time,
    )
}

/// Yuncheng's coverage comes from payments from 2026, and 2026's collection is extended to
/// 25 February as 2024's was: a resident may pay after 1 January.
fn policies() -> PolicySet {
    presets_with(|p| {
        if let Some(c) = p.contribution.as_mut() {
            c.coverage_from_payments = Some(2026);
            for y in c.years.iter_mut().filter(|y| y.year == 2026) {
                y.extensions.push(WindowExtension {
                    from: day("2025-12-26"),
                    to: day("2026-02-25"),
                });
            }
        }
    })
}

async fn world(fake: &FakeProvider) -> World {
    let provider = fake.payment();
    world_configured(policies(), move |app| app.with_payment(Arc::new(provider))).await
}

async fn open_clinic(s: &Server) {
    s.app
        .submit(Request::new(Command::RegisterInstitution(Institution {
            code: CLINIC.into(),
            name: CLINIC_NAME.into(),
            kind: InstitutionKind::Medical,
            level: HospitalLevel::Primary,
            admdvs: Admdvs::parse("140802").expect("admdvs"),
            lat: 35.0,
            lon: 111.0,
            mutual_aid: true,
            paasid: "paas-yc-bubao".into(),
            token: "token-yc-bubao".into(),
            contact: Default::default(),
        })))
        .await
        .expect("clinic");
}

/// A 60-yuan class-A outpatient bill of `p` at the clinic at `at`; its settlement id and
/// what the pooled fund held back.
async fn visit(s: &Server, p: &P, at: &str) -> (String, Fen) {
    let item = s
        .app
        .read(|e| {
            e.state()
                .catalog
                .keys()
                .find(|c| c.starts_with("ITEM"))
                .cloned()
        })
        .await
        .expect("read")
        .expect("an item");
    let settled = s
        .app
        .submit(Request::new(Command::Settle(SettleCommand {
            institution: CLINIC.into(),
            psn_no: p.psn_no.clone(),
            credential: None,
            med_type: MedType::GeneralOutpatient,
            account_use: AccountUse::OwnAccount,
            lines: vec![FeeLine {
                sn: "1".into(),
                item_code: item,
                amount: Fen::from_yuan(60),
                count_e4: 10_000,
                price: Fen::from_yuan(60),
            }],
            declared_total: None,
            mdtrt_id: None,
            channel: Channel::Window,
            at: time(at),
            dry_run: false,
        })))
        .await
        .expect("settled while awaiting payment");
    let Outcome::Settled(settled) = settled else {
        panic!("{settled:?}")
    };
    let split = &settled.decision.split;
    assert_eq!(
        split.fund_pay_sumamt,
        Fen::ZERO,
        "the pool pays nothing yet"
    );
    assert_eq!(
        split.psn_part_amt,
        Fen::from_yuan(60),
        "he pays the whole bill"
    );
    let held = Fen::checked_sum(settled.decision.withheld.iter().map(|l| l.amount)).expect("sum");
    (settled.setl_id, held)
}

async fn order(s: &Server, token: &str) -> Value {
    let r = s
        .post(
            "/api/v1/me/premium-orders",
            Some(token),
            json!({ "year": 2026 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn console(s: &Server) -> Browser {
    let mut b = Browser::new(&s.base);
    let page = b
        .submit(
            "/console/signin",
            &[
                ("username".to_string(), "clerk1".to_string()),
                ("password".to_string(), common::STAFF_PASSWORD.to_string()),
                ("next".to_string(), "/console".to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    b
}

/// Runs the 补报 job from the console, signed in anew (the clock moves by weeks); the
/// results block.
async fn run_job(s: &Server) -> String {
    let b = &mut console(s).await;
    let page = b.get("/console/bubao").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = b.post("/console/bubao", &form_of(&page.body, "run")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
        .split("data-testid=\"bubao-results\"")
        .nth(1)
        .and_then(|r| r.split("</section>").next())
        .unwrap_or("")
        .to_string()
}

async fn fund(s: &Server) -> Fen {
    s.app
        .read(|e| e.state().balance(OUTPATIENT_FUND))
        .await
        .expect("read")
}

/// What the resident reads on /h5/payments.
async fn h5_payments(s: &Server, p: &P) -> String {
    let token = s.sign_in(p).await;
    let mut h5 = Browser::new(&s.base);
    h5.cookies.push(("gongji_session".into(), token));
    let page = h5.get("/h5/payments").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

/// The journal's 补报 entries for `setl_id`: (account, amount in fen, explanation) per line.
fn bubao_lines(s: &Server, setl_id: &str) -> Vec<(String, i64, String)> {
    let db = s.database();
    let mut st = db
        .connection()
        .prepare(
            "SELECT p.account_key, p.amount_fen, p.explanation FROM postings p
             JOIN bubao b ON b.entry_id = p.entry_id
             JOIN journal j ON j.entry_id = p.entry_id
             WHERE b.setl_id = ?1 AND j.kind = 'bubao' ORDER BY p.seq",
        )
        .expect("prepare");
    let rows = st
        .query_map([setl_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    rows
}

async fn journey(late: bool) {
    let fake = FakeProvider::start().await;
    let w = world(&fake).await;
    let s = &w.s;
    open_clinic(s).await;
    let fund_before = fund(s).await;

    // 10 January: UY has not paid for 2026; the pool's share of his bill is held back.
    s.set_now("2026-01-10 10:00:00");
    let (setl_id, held) = visit(s, &w.uy, "2026-01-10 10:00:00").await;
    assert_eq!(held, Fen::from_yuan(36), "60% of the class-A bill");
    assert_eq!(fund(s).await, fund_before, "the pool paid nothing");
    let before = run_job(s).await;
    assert!(before.contains("GJ-BUBAO-NOT-PAID"), "{before}");

    // 20 February: two orders (a second tab, a second try); the provider is paid for both.
    s.set_now("2026-02-20 09:55:00");
    let uy = s.sign_in(&w.uy).await;
    let first = order(s, &uy).await;
    let second = order(s, &uy).await;
    if late {
        // The provider's notifications reach Gongji three days later, still carrying the
        // time the money moved.
        s.set_now("2026-02-23 08:00:00");
    } else {
        s.set_now("2026-02-20 10:01:00");
    }
    let kept = deliver(
        s,
        notification(&first, "4200BUBAO1", "2026-02-20T10:00:00+08:00"),
    )
    .await;
    assert_eq!(kept.ok()["status"], "kept", "{}", kept.body);
    let refunded = deliver(
        s,
        notification(&second, "4200BUBAO2", "2026-02-20T10:03:00+08:00"),
    )
    .await;
    assert_eq!(refunded.ok()["status"], "refunded", "{}", refunded.body);
    let again = deliver(
        s,
        notification(&first, "4200BUBAO1", "2026-02-20T10:00:00+08:00"),
    )
    .await;
    assert_eq!(again.ok()["replayed"], true, "{}", again.body);
    assert_eq!(fake.refunds.lock().expect("refunds").len(), 1);

    // The job, twice: the first run pays the held-back 36.00 yuan, dated by the payment
    // time the notification carried, not by when it arrived; the second pays nothing.
    s.set_now("2026-02-24 09:00:00");
    let results = run_job(s).await;
    assert!(results.contains("已补报 36.00元"), "{results}");
    assert!(results.contains("2026-02-20缴费后"), "{results}");
    assert!(!results.contains("2026-02-23缴费后"), "{results}");
    let results = run_job(s).await;
    assert!(
        !results.contains("已补报"),
        "a second run pays nothing: {results}"
    );
    assert_eq!(fund(s).await, fund_before.checked_sub(held).expect("fen"));

    // Its own journal entry, explained line by line: the fund pays 36.00, the resident gets
    // 36.00 back, each line naming the 10 January bill and the 20 February payment.
    let lines = bubao_lines(s, &setl_id);
    assert_eq!(
        lines
            .iter()
            .map(|(a, f, _)| (a.as_str(), *f))
            .collect::<Vec<_>>(),
        vec![(OUTPATIENT_FUND, -3600), ("cash", 3600)],
        "{lines:?}"
    );
    for (_, _, why) in &lines {
        assert!(why.contains("2026-01-10"), "{why}");
        assert!(why.contains(&setl_id), "{why}");
        assert!(why.contains("2026-02-20缴费后"), "{why}");
    }
    s.verify_clean().await;

    // After a restart the job finds nothing more to pay.
    let World { s, uy: person, .. } = w;
    let s = s.restart().await;
    let results = run_job(&s).await;
    assert!(!results.contains("已补报"), "after a restart: {results}");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM bubao WHERE setl_id = '{setl_id}'"
        )),
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM journal WHERE kind = 'bubao'"),
        1,
        "one 补报 entry however often the job ran"
    );
    assert_eq!(fund(&s).await, fund_before.checked_sub(held).expect("fen"));
    s.verify_clean().await;

    // The resident reads it in plain words.
    let page = h5_payments(&s, &person).await;
    assert_eq!(
        testid(&page, "bubao-paid").as_deref(),
        Some(format!("补报：2026年1月10日 在{CLINIC_NAME}的费用，基金补付 36.00 元").as_str()),
        "{page}"
    );
}

/// Acceptance (issue 13, R-R2): paid through a channel on 20 February, notified at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_channel_premium_paid_on_20_february_brings_the_10_january_bill_back_once() {
    journey(false).await;
}

/// The same, with the provider's notification arriving on 23 February carrying 20 February.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_notification_dates_the_payment_by_the_time_it_carries() {
    journey(true).await;
}

/// A bill waiting for the resident's payment says what to do and by when; once the
/// collection closed without a payment kept (a notification carrying a time after the
/// window is refunded, not kept), the 补报 is refused with the reason in plain words.
#[tokio::test(flavor = "multi_thread")]
async fn the_resident_is_told_why_a_bubao_is_not_paid() {
    let fake = FakeProvider::start().await;
    let w = world(&fake).await;
    let s = &w.s;
    open_clinic(s).await;
    s.set_now("2026-01-12 10:00:00");
    visit(s, &w.uy, "2026-01-12 10:00:00").await;

    // While the collection is open: pay, and the fund's share follows.
    let page = h5_payments(s, &w.uy).await;
    let waiting = testid(&page, "bubao-waiting").expect("a waiting 补报");
    assert!(waiting.contains("2026年1月12日"), "{waiting}");
    assert!(waiting.contains("36.00"), "{waiting}");
    assert!(waiting.contains("2026年2月25日"), "{waiting}");

    // He orders on 25 February, but the money moves only on 26 February, after the window:
    // the payment is refunded, and the bill cannot be brought back.
    s.set_now("2026-02-25 23:50:00");
    let uy = s.sign_in(&w.uy).await;
    let late_order = order(s, &uy).await;
    s.set_now("2026-02-26 00:10:00");
    let answer = deliver(
        s,
        notification(&late_order, "4200LATE", "2026-02-26T00:05:00+08:00"),
    )
    .await;
    assert_eq!(answer.ok()["status"], "refunded", "{}", answer.body);
    let page = h5_payments(s, &w.uy).await;
    let refused = testid(&page, "bubao-refused").expect("a refused 补报");
    assert!(refused.contains("2026年1月12日"), "{refused}");
    assert!(refused.contains("不能补报"), "{refused}");
    assert!(refused.contains("2026年2月25日"), "{refused}");
    assert!(testid(&page, "bubao-waiting").is_none(), "{page}");
}
