//! The REST API as bureau staff use it: sign-in, person search and audited reads,
//! suspension, recovery cases with the role model, reports, the audit log; and the OpenAPI
//! document checked against the router.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_with_lockout() {
    let w = world().await;
    let s = &w.s;
    let bad = json!({ "username": "clerk1", "password": "wrong password" });
    s.post(
        "/api/v1/staff/session",
        None,
        json!({ "username": "nobody", "password": "x" }),
    )
    .await
    .refused(401, "GJ-AUTH-BAD-CREDENTIALS");
    for _ in 0..5 {
        s.post("/api/v1/staff/session", None, bad.clone())
            .await
            .refused(401, "GJ-AUTH-BAD-CREDENTIALS");
    }
    // Locked, even with the right password, until the lock ends.
    s.post(
        "/api/v1/staff/session",
        None,
        json!({ "username": "clerk1", "password": STAFF_PASSWORD }),
    )
    .await
    .refused(429, "GJ-API-RATE-LIMITED");
    s.set_now("2025-10-10 10:16:00");
    let r = s
        .post(
            "/api/v1/staff/session",
            None,
            json!({ "username": "clerk1", "password": STAFF_PASSWORD }),
        )
        .await;
    assert_eq!(
        (r.ok()["kind"].clone(), r.body["role"].clone()),
        (json!("staff"), json!("clerk"))
    );
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn persons_are_searched_and_read_with_an_audit_trail() {
    let w = world().await;
    let s = &w.s;
    let clerk = s.staff("clerk1").await;
    let r = s
        .get(
            &format!("/api/v1/staff/persons?q={}", w.hj.certno),
            Some(&clerk),
        )
        .await;
    let found = r.ok()["persons"].as_array().unwrap().clone();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["psn_no"], w.hj.psn_no.as_str());
    assert!(
        found[0]["certno"].as_str().unwrap().contains('*'),
        "search results are masked"
    );
    let r = s
        .get(
            &format!("/api/v1/staff/persons?q={}", w.hj.phone),
            Some(&clerk),
        )
        .await;
    assert_eq!(r.ok()["persons"].as_array().unwrap().len(), 1);
    s.get("/api/v1/staff/persons?q=", Some(&clerk))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.get("/api/v1/staff/persons", Some(&clerk))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");

    let r = s
        .get(
            &format!("/api/v1/staff/persons/{}", w.hj.psn_no),
            Some(&clerk),
        )
        .await;
    let d = r.ok();
    assert_eq!(
        d["certno"],
        w.hj.certno.as_str(),
        "an authorised read shows the full ID number"
    );
    assert_eq!(d["balance"], "4900.00");
    assert_eq!(
        d["as_holder"][0]["relative"]["psn_no"],
        w.rj.psn_no.as_str()
    );
    assert_eq!(d["as_holder"][0]["used_this_month"], "100.00");
    assert_eq!(d["this_year"]["mutual_aid_given"], "100.00");
    let r = s
        .get(
            &format!("/api/v1/staff/persons/{}/records?kind=settle", w.hj.psn_no),
            Some(&clerk),
        )
        .await;
    assert_eq!(
        r.ok()["records"].as_array().unwrap().len(),
        2,
        "the purchase and the cancelled one"
    );
    s.get("/api/v1/staff/persons/nobody", Some(&clerk))
        .await
        .refused(404, "GJ-API-NOT-FOUND");
    s.get("/api/v1/staff/persons/nobody/records", Some(&clerk))
        .await
        .refused(404, "GJ-API-NOT-FOUND");

    // Every read of a person is in the audit log: who, when, which person.
    let auditor = s.staff("auditor1").await;
    let r = s
        .get(
            &format!("/api/v1/staff/audit-log?subject=person:{}", w.hj.psn_no),
            Some(&auditor),
        )
        .await;
    let actions: Vec<String> = r.ok()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "staff:clerk1")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["staff_read_records", "staff_read_person"]);
    let r = s
        .get(
            "/api/v1/staff/audit-log?action=staff_search_persons",
            Some(&auditor),
        )
        .await;
    assert_eq!(r.ok()["entries"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["entries"][0]["channel"], "console");

    // Clerks do not read the audit log; persons do not reach staff paths; no session is 401.
    s.get("/api/v1/staff/audit-log", Some(&clerk))
        .await
        .refused(403, "GJ-API-FORBIDDEN");
    let hj = s.sign_in(&w.hj).await;
    s.get(
        &format!("/api/v1/staff/persons?q={}", w.rj.psn_no),
        Some(&hj),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    s.get(&format!("/api/v1/staff/persons/{}", w.rj.psn_no), None)
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");
    s.get("/api/v1/staff/audit-log?limit=500", Some(&auditor))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn suspension_and_lifting_with_reasons() {
    let w = world().await;
    let s = &w.s;
    let clerk = s.staff("clerk1").await;
    let suspend = format!("/api/v1/staff/bindings/{}/suspend", w.b_hj_rj);
    let lift = format!("/api/v1/staff/bindings/{}/lift", w.b_hj_rj);
    s.post(&suspend, Some(&clerk), json!({ "reason": "  " }))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.post(&suspend, Some(&clerk), json!({}))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.post(&suspend, Some(&clerk), json!({ "reason": "x".repeat(501) }))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.post(&lift, Some(&clerk), json!({ "reason": "not suspended" }))
        .await
        .refused(422, "GJ-BIND-NOT-ACTIVE");
    let r = s
        .post(
            &suspend,
            Some(&clerk),
            json!({ "reason": "亲属关系存疑，待核查" }),
        )
        .await;
    assert_eq!(
        (r.ok()["status"].clone(), r.body["valid"].clone()),
        (json!("suspended"), json!(false))
    );
    s.post(&suspend, Some(&clerk), json!({ "reason": "again" }))
        .await
        .refused(422, "GJ-BIND-NOT-ACTIVE");
    s.post(
        "/api/v1/staff/bindings/777777/suspend",
        Some(&clerk),
        json!({ "reason": "x" }),
    )
    .await
    .refused(404, "GJ-UNKNOWN-BINDING");

    // The holder and relative see it as suspended.
    let rj = s.sign_in(&w.rj).await;
    let fam = s.get("/api/v1/me/family", Some(&rj)).await;
    assert_eq!(fam.ok()["as_relative"][0]["validity"], "suspended");
    // Persons cannot suspend.
    s.post(&suspend, Some(&rj), json!({ "reason": "x" }))
        .await
        .refused(403, "GJ-API-FORBIDDEN");

    let r = s
        .post(&lift, Some(&clerk), json!({ "reason": "核查无误" }))
        .await;
    assert_eq!(r.ok()["status"], "active");

    // Suspending a holder suspends each of his active bindings.
    let r = s
        .post(
            &format!("/api/v1/staff/persons/{}/suspend", w.hy.psn_no),
            Some(&clerk),
            json!({ "reason": "冒名参保核查" }),
        )
        .await;
    let ids: BTreeSet<i64> = r.ok()["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["binding_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from([w.b_hy_ry, w.b_hy_ey]));
    s.post(
        "/api/v1/staff/persons/nobody/suspend",
        Some(&clerk),
        json!({ "reason": "x" }),
    )
    .await
    .refused(404, "GJ-API-NOT-FOUND");

    // The audit log has before and after, with the reason.
    let admin = s.staff("admin1").await;
    let r = s
        .get(
            &format!("/api/v1/staff/audit-log?subject=binding:{}", w.b_hj_rj),
            Some(&admin),
        )
        .await;
    let entries = r.ok()["entries"].as_array().unwrap().clone();
    let suspended = entries.iter().find(|e| e["action"] == "suspend").unwrap();
    assert_eq!(suspended["actor"], "staff:clerk1");
    assert!(suspended["before"]
        .as_str()
        .unwrap()
        .contains("status=active"));
    assert!(suspended["after"]
        .as_str()
        .unwrap()
        .contains("status=suspended 原因：亲属关系存疑，待核查"));
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_cases_return_money_to_the_holder() {
    let w = world().await;
    let s = &w.s;
    let clerk = s.staff("clerk1").await;
    let auditor = s.staff("auditor1").await;
    let case = |binding: i64, setl: &str, amount: &str| json!({ "binding_id": binding, "setl_id": setl, "amount": amount, "reason": "虚假承诺，违规共济" });

    // The role model: clerks do not open cases; persons do not reach them.
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&clerk),
        case(w.b_hj_rj, &w.setl, "60"),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    let hj = s.sign_in(&w.hj).await;
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&hj),
        case(w.b_hj_rj, &w.setl, "60"),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    s.post(
        "/api/v1/staff/recovery-cases",
        None,
        case(w.b_hj_rj, &w.setl, "60"),
    )
    .await
    .refused(401, "GJ-API-UNAUTHENTICATED");

    // Every refusal of opening.
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(w.b_hj_rj, &w.setl, "0"),
    )
    .await
    .refused(422, "GJ-RECOVERY-INVALID-AMOUNT");
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(w.b_hj_rj, &w.setl, "abc"),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(w.b_hj_rj, &w.setl_cancelled, "10"),
    )
    .await
    .refused(422, "GJ-RECOVERY-SETTLEMENT-CANCELLED");
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(w.b_hy_ry, &w.setl, "10"),
    )
    .await
    .refused(422, "GJ-RECOVERY-NOT-MUTUAL-AID");
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(w.b_hj_rj, "NOSUCH", "10"),
    )
    .await
    .refused(404, "GJ-UNKNOWN-SETTLEMENT");
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(888_888, &w.setl, "10"),
    )
    .await
    .refused(404, "GJ-UNKNOWN-BINDING");
    s.post(
        "/api/v1/staff/recovery-cases",
        Some(&auditor),
        case(w.b_hj_rj, &w.setl, "100.01"),
    )
    .await
    .refused(422, "GJ-RECOVERY-EXCEEDS-PAYMENT");

    let opened = s
        .post(
            "/api/v1/staff/recovery-cases",
            Some(&auditor),
            case(w.b_hj_rj, &w.setl, "60"),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let id = opened.body["case_id"].as_i64().unwrap();
    assert_eq!(
        (opened.body["status"].clone(), opened.body["amount"].clone()),
        (json!("open"), json!("60.00"))
    );
    // Only 40 of the 100 remain claimable.
    let r = s
        .post(
            "/api/v1/staff/recovery-cases",
            Some(&auditor),
            case(w.b_hj_rj, &w.setl, "50"),
        )
        .await;
    r.refused(422, "GJ-RECOVERY-EXCEEDS-PAYMENT");
    assert!(r.body["message_zh"].as_str().unwrap().contains("40.00"));

    // The window records the repayment: 60 yuan back into the holder's account.
    let before = s.balance(&w.hj).await;
    let r = s
        .post(
            &format!("/api/v1/staff/recovery-cases/{id}/repaid"),
            Some(&clerk),
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["status"], "repaid");
    assert!(r.body["repaid_entry_id"].is_i64());
    assert_eq!(s.balance(&w.hj).await.fen() - before.fen(), 6_000);
    s.post(
        &format!("/api/v1/staff/recovery-cases/{id}/repaid"),
        Some(&clerk),
        json!({}),
    )
    .await
    .refused(422, "GJ-RECOVERY-NOT-OPEN");
    s.post(
        "/api/v1/staff/recovery-cases/4242/repaid",
        Some(&clerk),
        json!({}),
    )
    .await
    .refused(404, "GJ-UNKNOWN-RECOVERY-CASE");
    s.post(
        "/api/v1/staff/recovery-cases/x/repaid",
        Some(&clerk),
        json!({}),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    assert_eq!(s.balance(&w.hj).await.fen() - before.fen(), 6_000, "once");

    // Lists, and the holder's records show the money returned.
    let r = s
        .get("/api/v1/staff/recovery-cases?status=repaid", Some(&clerk))
        .await;
    assert_eq!(r.ok()["cases"][0]["case_id"], id);
    let r = s
        .get("/api/v1/staff/recovery-cases?status=open", Some(&clerk))
        .await;
    assert!(r.ok()["cases"].as_array().unwrap().is_empty());
    let r = s
        .get(
            &format!("/api/v1/staff/recovery-cases?psn_no={}", w.rj.psn_no),
            Some(&clerk),
        )
        .await;
    assert_eq!(r.ok()["cases"].as_array().unwrap().len(), 1);
    s.get("/api/v1/staff/recovery-cases?status=lost", Some(&clerk))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    let r = s.get("/api/v1/me/records?kind=recovery", Some(&hj)).await;
    let rec = &r.ok()["records"][0];
    assert_eq!(
        (rec["role"].clone(), rec["amount"].clone()),
        (json!("recovery"), json!("60.00"))
    );

    // Audit: opened by the auditor, repaid by the clerk, with before and after.
    let admin = s.staff("admin1").await;
    let r = s
        .get(
            &format!("/api/v1/staff/audit-log?subject=recovery:{id}"),
            Some(&admin),
        )
        .await;
    let actions: Vec<(String, String)> = r.ok()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("recovery_repaid".to_string(), "staff:clerk1".to_string()),
            ("recovery_open".to_string(), "staff:auditor1".to_string())
        ]
    );
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_aid_reports_as_json_and_csv() {
    let w = world().await;
    let s = &w.s;
    let hy = s.sign_in(&w.hy).await;
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026 }),
    )
    .await
    .ok();
    let clerk = s.staff("clerk1").await;
    let r = s
        .get(
            "/api/v1/staff/reports/mutual-aid?from=2025-10-01&to=2025-10-31",
            Some(&clerk),
        )
        .await;
    let rows = r.ok()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[0]["admdvs"], "370102");
    assert_eq!(rows[0]["day"], "2025-10-01");
    assert_eq!(rows[0]["kind"], "2");
    assert_eq!(
        (
            rows[0]["uses"].clone(),
            rows[0]["persons"].clone(),
            rows[0]["amount"].clone()
        ),
        (json!(1), json!(1), json!("100.00"))
    );
    assert_eq!(
        (
            rows[1]["kind"].clone(),
            rows[1]["amount"].clone(),
            rows[1]["admdvs"].clone()
        ),
        (json!("premium"), json!("380.00"), json!("140802"))
    );
    let r = s
        .get(
            "/api/v1/staff/reports/mutual-aid?from=2025-10-01&to=2025-10-31&admdvs=14",
            Some(&clerk),
        )
        .await;
    assert_eq!(r.ok()["rows"].as_array().unwrap().len(), 1);

    let csv = s
        .get(
            "/api/v1/staff/reports/mutual-aid.csv?from=2025-10-01&to=2025-10-31",
            Some(&clerk),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("mutual-aid-20251001-20251031.csv"));
    let text = csv.body.as_str().unwrap().trim_start_matches('\u{feff}');
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "admdvs,day,kind,kind_name,uses,persons,amount");
    assert_eq!(lines[1], "370102,2025-10-01,2,定点零售药店,1,1,100.00");
    assert_eq!(lines.len(), 3);

    for q in [
        "from=2025-10-31&to=2025-10-01",
        "from=2024-01-01&to=2025-12-31",
        "from=x&to=2025-10-01",
        "to=2025-10-01",
        "from=2025-10-01&to=2025-10-02&admdvs=ab",
    ] {
        s.get(
            &format!("/api/v1/staff/reports/mutual-aid?{q}"),
            Some(&clerk),
        )
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    }
    s.get(
        "/api/v1/staff/reports/mutual-aid.csv?from=2025-10-01&to=2025-10-31",
        Some(&hy),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    s.get(
        "/api/v1/staff/reports/mutual-aid?from=2025-10-01&to=2025-10-31",
        None,
    )
    .await
    .refused(401, "GJ-API-UNAUTHENTICATED");
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_exactly_the_routes() {
    let w = world().await;
    let doc = w.s.get("/api/v1/openapi.json", None).await;
    let doc = doc.ok();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let open_routes = gongji_server::api::open_envelope_doc::routes();
    let routed: BTreeSet<String> = gongji_server::api::routes()
        .into_iter()
        .chain(open_routes.iter().cloned())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes without documentation: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    assert_eq!(
        routed.len(),
        gongji_server::api::table().len() + open_routes.len(),
        "no route twice"
    );

    // Every listed route is really served (none answers the API's own 404).
    for (method, path) in gongji_server::api::routes() {
        let concrete = path.replace("{id}", "1").replace("{psn_no}", "x");
        let r = w.s.send(w.s.req(method.clone(), &concrete, None)).await;
        assert!(
            !(r.status == 404
                && r.code() == "GJ-API-NOT-FOUND"
                && r.body["message_en"] == "No such API path.")
                && r.status != 405,
            "{method} {concrete} is not routed: {} {}",
            r.status,
            r.body
        );
    }
    // The envelope routes are served (a bodyless request is refused by the envelope's own
    // check), and described with their envelopes, their data and every refusal code.
    for (method, path) in &open_routes {
        let r = w.s.send(w.s.req(method.clone(), path, None)).await;
        assert_eq!((r.status, r.code()), (400, "GJ-OPEN-MALFORMED"), "{path}");
        let op = &doc["paths"][path.as_str()]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/OpenRequestEnvelope",
            "{path}"
        );
        let described = op["responses"].to_string();
        for code in [
            "GJ-OPEN-MALFORMED",
            "GJ-OPEN-UNSUPPORTED",
            "GJ-OPEN-UNDECRYPTABLE",
            "GJ-OPEN-BAD-SIGNATURE",
            "GJ-OPEN-PARTNER-UNKNOWN",
            "GJ-OPEN-PARTNER-INACTIVE",
            "GJ-OPEN-PARTNER-UNUSABLE",
            "GJ-OPEN-STALE-TIMESTAMP",
            "GJ-OPEN-REPLAYED",
            "GJ-OPEN-NOT-CONFIGURED",
        ] {
            assert!(described.contains(code), "{path} does not describe {code}");
        }
        assert!(described.contains("OpenAnswerEnvelope"), "{path}");
    }
    for schema in [
        "OpenRequestEnvelope",
        "OpenAnswerEnvelope",
        "OpenPersonData",
        "OpenRecordsData",
        "MeOut",
        "FamilyOut",
        "RecordsOut",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is not described"
        );
    }
    // Error answers and security schemes are described.
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["securitySchemes"]["cookie"].is_object());
}
