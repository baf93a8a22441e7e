//! The writer seen from the server (issue 11): reads of the store run beside it, not on it;
//! once it has stopped (a failed commit whose reload failed), the health check is red and
//! nothing is decided or shown from its state; and a refusal has one HTTP status, on the
//! API and on the pages alike.

mod common;

use common::faulty::{Call, Faults};
use common::*;
use gongji_core::codes::{AccountUse, Channel, InstitutionKind, MedType};
use gongji_core::pooling::FeeLine;
use gongji_core::Fen;
use gongji_engine::{Command, EngineError, Outcome, Request, SettleCommand};
use reqwest::Method;

/// A person with 100 yuan, a pharmacy and a drug, in Jinan.
struct Shop {
    patient: P,
    pharmacy: String,
    item: String,
}

fn shop(f: &mut Fixture) -> Shop {
    Shop {
        patient: f.employee(JINAN, 100),
        pharmacy: f.institution(JINAN, InstitutionKind::Pharmacy, 36.65, 117.0, true),
        item: f.item(),
    }
}

impl Shop {
    fn purchase(&self, yuan: i64) -> Request {
        let amount = Fen::from_yuan(yuan);
        Request::new(Command::Settle(SettleCommand {
            institution: self.pharmacy.clone(),
            psn_no: self.patient.psn_no.clone(),
            credential: None,
            med_type: MedType::PharmacyPurchase,
            account_use: AccountUse::OwnAccount,
            lines: vec![FeeLine {
                sn: "1".into(),
                item_code: self.item.clone(),
                amount,
                count_e4: 10_000,
                price: amount,
            }],
            declared_total: None,
            mdtrt_id: None,
            channel: Channel::Window,
            at: time(NOW),
            dry_run: false,
        }))
    }
}

fn code_of(r: Result<Outcome, EngineError>) -> String {
    match r {
        Ok(o) => format!("went through: {o:?}"),
        Err(e) => e.code().to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Reads beside the writer.

/// A staff report that is still running (held inside its reader) does not hold a settlement
/// back: the settlement is answered, and durable, while the report waits. When reports ran
/// on the writer's thread, the settlement waited for the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_still_running_does_not_hold_back_a_settlement() {
    let mut f = Fixture::new();
    let shop = shop(&mut f);
    let faults = Faults::default();
    let gate = faults.gate(Call::MutualAidReport);
    let s = f.wrap_store(faults.wrapper()).start().await;
    assert!(
        s.app.reader_source().is_some(),
        "a file database has readers"
    );
    let token = s.staff("admin1").await;

    let report = tokio::spawn(
        s.req(
            Method::GET,
            "/api/v1/staff/reports/mutual-aid?from=2025-10-01&to=2025-10-31",
            Some(&token),
        )
        .send(),
    );
    gate.arrived().await;

    // The bound only keeps a failing run from hanging; nothing here measures time.
    let settled = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        s.app.submit(shop.purchase(30)),
    )
    .await
    .expect("the settlement was answered while the report was still running");
    assert!(
        matches!(settled, Ok(Outcome::Settled(_))),
        "{}",
        code_of(settled)
    );
    assert!(!report.is_finished(), "the report is still held");
    assert_eq!(s.balance(&shop.patient).await, Fen::from_yuan(70));

    gate.release();
    let answer = report.await.expect("report task").expect("report answer");
    assert_eq!(answer.status(), 200);
    s.verify_clean().await;
}

// ---------------------------------------------------------------------------------------
// Fail-stop.

/// A commit fails and so does the reload after it: `/healthz` turns 503 and says why, every
/// later settlement is refused with GJ-WRITER-STOPPED, and the person's own page (whose
/// balance would come from the stopped writer's memory) answers 503 with that code instead
/// of a balance the store never wrote.
#[tokio::test]
async fn a_writer_that_cannot_reload_stops_and_the_health_check_says_so() {
    let mut f = Fixture::new();
    let shop = shop(&mut f);
    let faults = Faults::default();
    let s = f.wrap_store(faults.wrapper()).start().await;
    let token = s.sign_in(&shop.patient).await;
    let health = s.get("/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, Some("ok")));

    faults.fail_next(Call::Commit);
    faults.fail_next(Call::LoadSnapshot);
    assert_eq!(
        code_of(s.app.submit(shop.purchase(30)).await),
        "GJ-STORE-IO"
    );

    let health = s.get("/healthz", None).await;
    assert_eq!(health.status, 503, "{}", health.body);
    let why = health.body.as_str().unwrap_or_default();
    assert!(
        why.contains("结算服务暂停") && why.contains("reload"),
        "{why}"
    );
    assert_eq!(
        code_of(s.app.submit(shop.purchase(1)).await),
        "GJ-WRITER-STOPPED"
    );
    s.get("/api/v1/me", Some(&token))
        .await
        .refused(503, "GJ-WRITER-STOPPED");
}

// ---------------------------------------------------------------------------------------
// One status per refusal.

/// A phone two registry persons share needs the ID number: the API answers 409, and so does
/// the sign-in page (it answered 422 when the pages had a status map of their own).
#[tokio::test]
async fn a_refusal_has_the_same_status_on_the_pages_as_in_the_api() {
    let w = world().await;
    let s = &w.s;
    let phone = w.sh1.phone.clone();
    s.post(
        "/api/v1/auth/sms-code",
        None,
        serde_json::json!({ "phone": phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&phone).expect("code sent");
    s.post(
        "/api/v1/auth/session",
        None,
        serde_json::json!({ "phone": phone, "code": code }),
    )
    .await
    .refused(409, "GJ-AUTH-PHONE-SHARED");

    // The code is used up by that attempt: a fresh one for the page.
    s.set_now("2025-10-10 10:05:00");
    s.post(
        "/api/v1/auth/sms-code",
        None,
        serde_json::json!({ "phone": phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&phone).expect("code sent");
    let page = s
        .client
        .post(format!("{}/h5/signin", s.base))
        .header("cookie", "gongji_csrf=00112233445566778899aabbccddeeff")
        .form(&[
            ("op", "signin"),
            ("phone", &phone),
            ("code", &code),
            ("csrf", "00112233445566778899aabbccddeeff"),
        ])
        .send()
        .await
        .expect("page");
    let status = page.status().as_u16();
    let body = page.text().await.expect("body");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("GJ-AUTH-PHONE-SHARED"), "{body}");
}
