//! Every sensitive action is audited atomically with its change (issue 12, item 3): the
//! audit row exists exactly when the change does. A refused action writes neither; a commit
//! that fails loses both; a staff read whose audit row cannot be written shows nothing.

mod common;

use common::faulty::{Call, Faults};
use common::*;
use gongji_core::codes::InstitutionKind;
use gongji_store::Write;
use serde_json::json;

/// A small registry behind a fault injector: a Jinan holder (5,000 yuan) with his bound
/// wife, who bought for 100 yuan paid by mutual aid; a Yuncheng holder (2,000 yuan) with a
/// bound resident child, whose premium he may pay today; a Jinan pharmacy.
struct Scene {
    s: Server,
    faults: Faults,
    hj: P,
    hy: P,
    ry: P,
    pharmacy: String,
    b_hj_rj: i64,
    setl: String,
}

async fn scene() -> Scene {
    let mut f = Fixture::new();
    let pharmacy = f.institution(JINAN, InstitutionKind::Pharmacy, 36.6512, 117.1201, true);
    let item = f.item();
    let hj = f.employee(JINAN, 5000);
    let rj = f.resident(JINAN);
    let hy = f.employee(YUNCHENG, 2000);
    let ry = f.resident(YUNCHENG);
    let b_hj_rj = f.bind(&hj, &rj, 12, "2025-01-01", None);
    f.bind(&hy, &ry, 20, "2025-01-01", None);
    let setl = f.buy(&rj, &pharmacy, &item, 100, "2025-10-01 15:30:00");
    let faults = Faults::default();
    let s = f.wrap_store(faults.wrapper()).start().await;
    Scene {
        s,
        faults,
        hj,
        hy,
        ry,
        pharmacy,
        b_hj_rj,
        setl,
    }
}

impl Scene {
    fn audited(&self, action: &str) -> i64 {
        self.s.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
        ))
    }

    fn sessions(&self, kind: &str) -> i64 {
        self.s.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE kind = '{kind}'"
        ))
    }

    /// Sends a sign-in code to `p`'s phone (a minute after the last one) and returns it.
    async fn code_for(&self, p: &P, at: &str) -> String {
        self.s.set_now(at);
        self.s
            .post("/api/v1/auth/sms-code", None, json!({ "phone": p.phone }))
            .await
            .ok();
        self.s.app.auth.sms.last_code(&p.phone).expect("code sent")
    }

    async fn person_sign_in(&self, p: &P, code: &str) -> Resp {
        self.s
            .post(
                "/api/v1/auth/session",
                None,
                json!({ "phone": p.phone, "code": code }),
            )
            .await
    }
}

/// A person's sign-in: its session and its audit row are one commit. Fails on main, where
/// the session was stored beside the ledger and the audit row committed after it: the failed
/// commit left a live session that no audit row records.
#[tokio::test]
async fn a_person_sign_in_and_its_audit_row_commit_together() {
    let sc = scene().await;

    let code = sc.code_for(&sc.hj, NOW).await;
    sc.faults.fail_next(Call::Commit);
    sc.person_sign_in(&sc.hj, &code)
        .await
        .refused(503, "GJ-STORE-IO");
    assert_eq!((sc.sessions("person"), sc.audited("sign_in")), (0, 0));

    // A refused sign-in (wrong code) writes neither.
    let code = sc.code_for(&sc.hj, "2025-10-10 10:01:01").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    sc.person_sign_in(&sc.hj, wrong)
        .await
        .refused(401, "GJ-AUTH-CODE-INVALID");
    assert_eq!((sc.sessions("person"), sc.audited("sign_in")), (0, 0));

    let token = sc.person_sign_in(&sc.hj, &code).await;
    assert!(token.ok()["token"].is_string());
    assert_eq!((sc.sessions("person"), sc.audited("sign_in")), (1, 1));
}

/// A staff sign-in likewise (fails on main: the session outlived its failed audit row).
#[tokio::test]
async fn a_staff_sign_in_and_its_audit_row_commit_together() {
    let sc = scene().await;
    let sign_in = |password: &str| {
        sc.s.post(
            "/api/v1/staff/session",
            None,
            json!({ "username": "clerk1", "password": password }),
        )
    };
    sc.faults.fail_next(Call::Commit);
    sign_in(STAFF_PASSWORD).await.refused(503, "GJ-STORE-IO");
    assert_eq!((sc.sessions("staff"), sc.audited("staff_sign_in")), (0, 0));

    sign_in("wrong horse")
        .await
        .refused(401, "GJ-AUTH-BAD-CREDENTIALS");
    assert_eq!((sc.sessions("staff"), sc.audited("staff_sign_in")), (0, 0));

    sign_in(STAFF_PASSWORD).await.ok();
    assert_eq!((sc.sessions("staff"), sc.audited("staff_sign_in")), (1, 1));
}

/// A till operator's sign-in likewise (fails on main for the same reason).
#[tokio::test]
async fn an_operator_sign_in_and_its_audit_row_commit_together() {
    let sc = scene().await;
    sc.s.add_operator(&sc.pharmacy, "till1", "till password");
    let sign_in = |password: &'static str| {
        gongji_server::service::operators::sign_in(&sc.s.app, &sc.pharmacy, "till1", password)
    };
    sc.faults.fail_next(Call::Commit);
    let failed = sign_in("till password").await;
    assert!(failed.is_err(), "a sign-in whose commit failed is refused");
    assert_eq!(
        (sc.sessions("operator"), sc.audited("operator_sign_in")),
        (0, 0)
    );

    assert!(sign_in("wrong password").await.is_err());
    assert_eq!(
        (sc.sessions("operator"), sc.audited("operator_sign_in")),
        (0, 0)
    );

    assert!(sign_in("till password").await.is_ok());
    assert_eq!(
        (sc.sessions("operator"), sc.audited("operator_sign_in")),
        (1, 1)
    );
}

/// A premium payment and its audit row: whichever commit fails, there are as many audit
/// rows as payments. Fails on main, where the payment committed and then its audit row's own
/// commit failed (a payment no audit row records, answered 503 although the money moved).
#[tokio::test]
async fn a_premium_payment_and_its_audit_row_commit_together() {
    let sc = scene().await;
    let code = sc.code_for(&sc.hy, NOW).await;
    let token = sc.person_sign_in(&sc.hy, &code).await.ok()["token"]
        .as_str()
        .expect("token")
        .to_string();
    let premiums = || sc.s.count("SELECT COUNT(*) FROM premiums");
    let pay = |year: i32, key: &'static str| {
        sc.s.send(
            sc.s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&token))
                .header("idempotency-key", key)
                .json(&json!({ "face_token": "FACE-OK", "relative_psn_no": sc.ry.psn_no, "year": year })),
        )
    };

    // A refused payment writes no audit row.
    pay(2030, "order-0")
        .await
        .refused(422, "GJ-PREMIUM-YEAR-UNKNOWN");
    assert_eq!((premiums(), sc.audited("premium_paid")), (0, 0));

    // The payment's own commit fails: neither.
    sc.faults.fail_next(Call::Commit);
    pay(2026, "order-1").await.refused(503, "GJ-STORE-IO");
    assert_eq!((premiums(), sc.audited("premium_paid")), (0, 0));

    // The commit after the payment's fails: the payment and its row are already one.
    sc.faults.fail_after(Call::Commit, 1);
    let paid = pay(2026, "order-2").await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!((premiums(), sc.audited("premium_paid")), (1, 1));
    sc.faults.clear();
    let row = sc.s.count(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'premium_paid' AND after_state LIKE '%元%'",
    );
    assert_eq!(row, 1, "the row carries the payment's explanation");

    // A replay of the stored answer moves nothing and writes no second row.
    let again = pay(2026, "order-2").await;
    assert_eq!(again.ok()["replayed"], true);
    assert_eq!((premiums(), sc.audited("premium_paid")), (1, 1));
    sc.s.verify_clean().await;
}

/// The fault injector hides nothing of its store: the writer's own store, read through it,
/// lists the premium just paid, as the engine's `Store` and the API's `ReadStore` both ask.
/// Fails on main, where this file's injector forwarded neither call and answered an empty list.
#[tokio::test]
async fn the_fault_injector_answers_what_its_store_holds() {
    use gongji_store::{ReadStore, Store};
    let sc = scene().await;
    let token = sc.s.sign_in(&sc.hy).await;
    let paid =
        sc.s.send(
            sc.s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&token))
                .header("idempotency-key", "order-1")
                .json(&json!({ "face_token": "FACE-OK", "relative_psn_no": sc.ry.psn_no, "year": 2026 })),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);

    let ry = sc.ry.psn_no.clone();
    let (by_store, by_reads) =
        sc.s.app
            .read(move |e| {
                let store = e.store_mut();
                (
                    Store::premium_payments(store, &ry).map(|r| r.len()),
                    ReadStore::premium_payments(store, &ry).map(|r| r.len()),
                )
            })
            .await
            .expect("read");
    assert_eq!((by_store.ok(), by_reads.ok()), (Some(1), Some(1)));
}

/// A 亲情账户 consent given, and its revocation, each commit with the parent's audit row.
/// Fails on main, where the consent was stored beside the ledger and its audit row committed
/// after it: the failed commit left a consent (a code that pays from the parent's account)
/// that no audit row records, and a revocation nobody can trace.
#[tokio::test]
async fn a_proxy_consent_and_its_audit_row_commit_together() {
    use gongji_core::codes::Channel;
    use gongji_server::service::proxy;
    let sc = scene().await;
    let consents = |revoked: bool| {
        sc.s.count(&format!(
            "SELECT COUNT(*) FROM proxy_consents WHERE revoked_at IS {}NULL",
            if revoked { "NOT " } else { "" }
        ))
    };
    let give = || {
        proxy::give(
            &sc.s.app,
            &sc.hj.psn_no,
            &sc.hy.certno,
            &sc.hy.name,
            Channel::Web,
        )
    };

    sc.faults.fail_next(Call::Commit);
    assert!(
        give().await.is_err(),
        "a consent whose commit failed is refused"
    );
    assert_eq!((consents(false), sc.audited("proxy_consent_given")), (0, 0));

    // A refused consent (the name does not match the ID number) writes neither.
    let wrong = proxy::give(
        &sc.s.app,
        &sc.hj.psn_no,
        &sc.hy.certno,
        "王某某",
        Channel::Web,
    )
    .await;
    assert!(wrong.is_err());
    assert_eq!((consents(false), sc.audited("proxy_consent_given")), (0, 0));

    let consent = give().await.expect("consent");
    assert_eq!((consents(false), sc.audited("proxy_consent_given")), (1, 1));

    sc.faults.fail_next(Call::Commit);
    let failed = proxy::revoke(&sc.s.app, &sc.hj.psn_no, &consent.token, Channel::Web).await;
    assert!(
        failed.is_err(),
        "a revocation whose commit failed is refused"
    );
    assert_eq!(
        (consents(true), sc.audited("proxy_consent_revoked")),
        (0, 0)
    );
    assert!(
        proxy::resolve(&sc.s.app, &consent.token)
            .await
            .expect("resolve")
            .is_some(),
        "the code still stands for the parent"
    );

    proxy::revoke(&sc.s.app, &sc.hj.psn_no, &consent.token, Channel::Web)
        .await
        .expect("revoke");
    assert_eq!(
        (consents(true), sc.audited("proxy_consent_revoked")),
        (1, 1)
    );
    sc.s.verify_clean().await;
}

/// A staff read of a person shows nothing unless its audit row was written first. (This held
/// on main as well; kept as the guard of the rule.)
#[tokio::test]
async fn a_staff_read_is_refused_when_its_audit_row_cannot_be_written() {
    let sc = scene().await;
    let clerk = sc.s.staff("clerk1").await;
    let path = format!("/api/v1/staff/persons/{}", sc.hj.psn_no);

    sc.faults
        .fail_commit_holding(|w| matches!(w, Write::Audit(_)));
    let refused = sc.s.get(&path, Some(&clerk)).await;
    refused.refused(503, "GJ-STORE-IO");
    assert!(
        !refused.body.to_string().contains(&sc.hj.psn_no),
        "nothing of the person is shown: {}",
        refused.body
    );
    assert_eq!(sc.audited("staff_read_person"), 0);

    sc.faults
        .fail_commit_holding(|w| matches!(w, Write::Audit(_)));
    sc.s.get(
        &format!("/api/v1/staff/persons?q={}", sc.hj.psn_no),
        Some(&clerk),
    )
    .await
    .refused(503, "GJ-STORE-IO");
    assert_eq!(sc.audited("staff_search_persons"), 0);

    let shown = sc.s.get(&path, Some(&clerk)).await;
    assert_eq!(shown.ok()["psn_no"], sc.hj.psn_no.as_str());
    assert_eq!(sc.audited("staff_read_person"), 1);
}

/// The mutual-aid payments of a binding, which an auditor picks a recovery from, are two
/// persons' records: shown only after their audit row is written. Fails on main, where
/// they were shown with no audit row at all.
#[tokio::test]
async fn a_staff_read_of_a_bindings_payments_is_audited_first() {
    use gongji_server::service::auth::Role;
    use gongji_server::service::staff::{binding_payments, Staff};
    let sc = scene().await;
    let auditor = Staff {
        username: "auditor1".into(),
        role: Role::Auditor,
    };
    sc.faults.fail_next(Call::Commit);
    assert!(
        binding_payments(&sc.s.app, &auditor, sc.b_hj_rj)
            .await
            .is_err(),
        "nothing is shown when the audit row cannot be written"
    );
    assert_eq!(sc.audited("staff_read_payments"), 0);

    let (_, payments) = binding_payments(&sc.s.app, &auditor, sc.b_hj_rj)
        .await
        .expect("payments");
    assert_eq!(payments.len(), 1, "the wife's purchase paid by mutual aid");
    assert_eq!(sc.audited("staff_read_payments"), 1);
    let subject = sc.s.count(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'staff_read_payments'
         AND actor = 'staff:auditor1' AND subject = 'binding:{}'",
        sc.b_hj_rj
    ));
    assert_eq!(subject, 1);
}

/// Suspension, lift, and a recovery case opened and repaid: each change and its audit row
/// are one commit, a refusal writes neither. (The engine wrote these rows in the change's
/// batch on main already; this guards it through the staff API.)
#[tokio::test(flavor = "multi_thread")]
async fn staff_changes_and_their_audit_rows_commit_together() {
    let sc = scene().await;
    let auditor = sc.s.staff("auditor1").await;
    let status = || {
        sc.s.count(&format!(
            "SELECT CASE status WHEN 'active' THEN 0 ELSE 1 END FROM bindings WHERE binding_id = {}",
            sc.b_hj_rj
        ))
    };
    let suspend = format!("/api/v1/staff/bindings/{}/suspend", sc.b_hj_rj);
    let lift = format!("/api/v1/staff/bindings/{}/lift", sc.b_hj_rj);
    let why = json!({ "reason": "亲属关系存疑" });

    sc.faults.fail_next(Call::Commit);
    sc.s.post(&suspend, Some(&auditor), why.clone())
        .await
        .refused(503, "GJ-STORE-IO");
    assert_eq!((status(), sc.audited("suspend")), (0, 0));
    sc.s.post(&lift, Some(&auditor), why.clone())
        .await
        .refused(422, "GJ-BIND-NOT-ACTIVE");
    assert_eq!(sc.audited("lift"), 0);
    sc.s.post(&suspend, Some(&auditor), why.clone()).await.ok();
    assert_eq!((status(), sc.audited("suspend")), (1, 1));

    sc.faults.fail_next(Call::Commit);
    sc.s.post(&lift, Some(&auditor), why.clone())
        .await
        .refused(503, "GJ-STORE-IO");
    assert_eq!((status(), sc.audited("lift")), (1, 0));
    sc.s.post(&lift, Some(&auditor), why).await.ok();
    assert_eq!((status(), sc.audited("lift")), (0, 1));

    let cases = || sc.s.count("SELECT COUNT(*) FROM recovery_cases");
    let open = json!({ "binding_id": sc.b_hj_rj, "setl_id": sc.setl, "amount": "60", "reason": "虚假承诺" });
    sc.faults.fail_next(Call::Commit);
    sc.s.post("/api/v1/staff/recovery-cases", Some(&auditor), open.clone())
        .await
        .refused(503, "GJ-STORE-IO");
    assert_eq!((cases(), sc.audited("recovery_open")), (0, 0));
    sc.s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        json!({ "binding_id": sc.b_hj_rj, "setl_id": sc.setl, "amount": "100.01", "reason": "虚假承诺" }),
    )
    .await
    .refused(422, "GJ-RECOVERY-EXCEEDS-PAYMENT");
    assert_eq!((cases(), sc.audited("recovery_open")), (0, 0));
    let case =
        sc.s.post("/api/v1/staff/recovery-cases", Some(&auditor), open)
            .await;
    let id = case.ok()["case_id"].as_i64().expect("case id");
    assert_eq!((cases(), sc.audited("recovery_open")), (1, 1));

    let repaid = || {
        sc.s.count("SELECT COUNT(*) FROM recovery_cases WHERE status = 'repaid'")
    };
    let repay = format!("/api/v1/staff/recovery-cases/{id}/repaid");
    sc.faults.fail_next(Call::Commit);
    sc.s.post(&repay, Some(&auditor), json!({}))
        .await
        .refused(503, "GJ-STORE-IO");
    assert_eq!((repaid(), sc.audited("recovery_repaid")), (0, 0));
    sc.s.post(&repay, Some(&auditor), json!({})).await.ok();
    assert_eq!((repaid(), sc.audited("recovery_repaid")), (1, 1));
    sc.s.post(&repay, Some(&auditor), json!({}))
        .await
        .refused(422, "GJ-RECOVERY-NOT-OPEN");
    assert_eq!((repaid(), sc.audited("recovery_repaid")), (1, 1));
    sc.s.verify_clean().await;
}
