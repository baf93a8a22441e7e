//! The REST API as apps use it: sign-in, my insurance, my family, binding with the notice,
//! the commitment letter and face verification, end dates, limits, unbinding, records,
//! premiums and institutions near me — with every refusal each flow can give, who may do
//! what, and bad input that changes nothing.

mod common;

use common::*;
use gongji_core::pii::mask_name;
use serde_json::{json, Value};

/// Previews the commitment letter and binds with it; returns (preview answer, bind answer).
async fn bind_via_api(
    s: &Server,
    token: &str,
    signature: &str,
    facts: Value,
    face: Option<&str>,
) -> (Resp, Option<Resp>) {
    let preview = s
        .post("/api/v1/me/family/commitment", Some(token), facts.clone())
        .await;
    if preview.status != 200 {
        return (preview, None);
    }
    let mut body = facts;
    body["notice_acknowledged"] = json!(true);
    body["commitment_sha256"] = preview.body["sha256"].clone();
    body["signature"] = json!(signature);
    if let Some(f) = face {
        body["face_token"] = json!(f);
    }
    let bound = s
        .post("/api/v1/me/family/bindings", Some(token), body)
        .await;
    (preview, Some(bound))
}

async fn preview(s: &Server, token: &str, body: Value) -> Resp {
    s.post("/api/v1/me/family/commitment", Some(token), body)
        .await
}

fn facts(p: &P, relationship: &str) -> Value {
    json!({ "relative_certno": p.certno, "relative_name": p.name, "relationship": relationship })
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_sign_in_real_name_rate_limits_and_expiring_sessions() {
    let w = world().await;
    let s = &w.s;

    // Bad and unknown phones.
    s.post("/api/v1/auth/sms-code", None, json!({ "phone": "12345" }))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    // An unknown phone is answered as a registered one; nothing is sent.
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": "13000000000" }),
    )
    .await
    .ok();
    assert!(s.app.auth.sms.last_code("13000000000").is_none());

    // A code, then a resend too soon.
    let sent = s
        .post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": w.hj.phone }),
        )
        .await;
    assert_eq!(sent.ok()["expires_in_secs"], 300);
    assert_eq!(sent.body["phone_masked"].as_str().unwrap().len(), 11);
    let again = s
        .post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": w.hj.phone }),
        )
        .await;
    again.refused(429, "GJ-API-RATE-LIMITED");
    assert!(again.headers.get("retry-after").is_some());
    let code = s.app.auth.sms.last_code(&w.hj.phone).unwrap();

    // Wrong codes use up the attempts; then even the right code is spent.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        s.post(
            "/api/v1/auth/session",
            None,
            json!({ "phone": w.hj.phone, "code": wrong }),
        )
        .await
        .refused(401, "GJ-AUTH-CODE-INVALID");
    }
    s.post(
        "/api/v1/auth/session",
        None,
        json!({ "phone": w.hj.phone, "code": code }),
    )
    .await
    .refused(401, "GJ-AUTH-CODE-INVALID");

    // A new code a minute later signs in; the answer sets the cookie too.
    s.set_now("2025-10-10 10:01:01");
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": w.hj.phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&w.hj.phone).unwrap();
    let signed = s
        .post(
            "/api/v1/auth/session",
            None,
            json!({ "phone": w.hj.phone, "code": code }),
        )
        .await;
    assert_eq!(signed.ok()["psn_no"], w.hj.psn_no.as_str());
    let token = signed.body["token"].as_str().unwrap().to_string();
    let cookie = signed
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("gongji_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // A code works once.
    s.post(
        "/api/v1/auth/session",
        None,
        json!({ "phone": w.hj.phone, "code": code }),
    )
    .await
    .refused(401, "GJ-AUTH-CODE-INVALID");

    // Bearer and cookie both work; nothing is 401.
    assert_eq!(
        s.get("/api/v1/me", Some(&token)).await.ok()["psn_no"],
        w.hj.psn_no.as_str()
    );
    let by_cookie = s
        .send(
            s.req(reqwest::Method::GET, "/api/v1/me", None)
                .header("cookie", format!("gongji_session={token}")),
        )
        .await;
    assert_eq!(by_cookie.ok()["psn_no"], w.hj.psn_no.as_str());
    s.get("/api/v1/me", None)
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");
    s.get("/api/v1/me", Some("not-a-token"))
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");

    // Sessions renew with use and expire after 30 idle minutes.
    s.set_now("2025-10-10 10:30:00");
    s.get("/api/v1/me", Some(&token)).await.ok();
    s.set_now("2025-10-10 10:59:00");
    s.get("/api/v1/me", Some(&token)).await.ok();
    s.set_now("2025-10-10 11:30:00");
    s.get("/api/v1/me", Some(&token))
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");

    // Sign-out ends a session.
    s.set_now("2025-10-10 12:00:00");
    let token = s.sign_in(&w.rj).await;
    assert_eq!(
        s.delete("/api/v1/auth/session", Some(&token)).await.status,
        204
    );
    s.get("/api/v1/me", Some(&token))
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");

    // At most five codes an hour to one phone.
    for minute in 0..5 {
        s.set_now(&format!("2025-10-10 13:{:02}:00", minute * 2));
        s.post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": w.cj.phone }),
        )
        .await
        .ok();
    }
    s.set_now("2025-10-10 13:20:00");
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": w.cj.phone }),
    )
    .await
    .refused(429, "GJ-API-RATE-LIMITED");

    // A phone shared by two persons needs the ID number.
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": w.sh1.phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&w.sh1.phone).unwrap();
    s.post(
        "/api/v1/auth/session",
        None,
        json!({ "phone": w.sh1.phone, "code": code }),
    )
    .await
    .refused(409, "GJ-AUTH-PHONE-SHARED");
    s.set_now("2025-10-10 13:30:00");
    s.post(
        "/api/v1/auth/sms-code",
        None,
        json!({ "phone": w.sh1.phone }),
    )
    .await
    .ok();
    let code = s.app.auth.sms.last_code(&w.sh1.phone).unwrap();
    let r = s
        .post(
            "/api/v1/auth/session",
            None,
            json!({ "phone": w.sh1.phone, "code": code, "certno": w.sh2.certno }),
        )
        .await;
    assert_eq!(r.ok()["psn_no"], w.sh2.psn_no.as_str());

    // Sign-ins are audited.
    let admin = s.staff("admin1").await;
    let log = s
        .get(
            &format!(
                "/api/v1/staff/audit-log?action=sign_in&subject=person:{}",
                w.hj.psn_no
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(log.ok()["entries"].as_array().unwrap().len(), 1);
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn my_insurance_and_my_family() {
    let w = world().await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;
    let me = s.get("/api/v1/me", Some(&hj)).await;
    let me = me.ok();
    assert_eq!(me["insutype"], "310");
    assert_eq!(me["insu_status"], "1");
    assert_eq!(me["admdvs"], "370102");
    assert_eq!(me["certno"], w.hj.certno.as_str());
    assert_eq!(me["policy_id"], "shandong-jinan");
    // 5,000 funded, 100 paid for the wife (the 30 paid and returned nets to zero).
    assert_eq!(me["balance"], "4900.00");
    assert_eq!(me["shareable"], "4900.00");
    assert_eq!(me["this_year"]["year"], 2025);
    assert_eq!(me["this_year"]["mutual_aid_given"], "100.00");
    assert_eq!(me["this_year"]["own_account_spent"], "0.00");

    let rj = s.sign_in(&w.rj).await;
    let me = s.get("/api/v1/me", Some(&rj)).await;
    assert_eq!(me.ok()["this_year"]["settlements"], 1);
    assert_eq!(me.body["this_year"]["medfee_sumamt"], "100.00");
    assert_eq!(me.body["this_year"]["acct_mulaid_pay"], "100.00");
    assert_eq!(me.body["balance"], "0.00");

    let fam = s.get("/api/v1/me/family", Some(&hj)).await;
    let fam = fam.ok();
    let b = &fam["as_holder"][0];
    assert_eq!(b["binding_id"], w.b_hj_rj);
    assert_eq!(b["relative"]["psn_no"], w.rj.psn_no.as_str());
    assert_eq!(b["relative"]["name"], mask_name(&w.rj.name).as_str());
    assert!(b["relative"]["certno"]
        .as_str()
        .unwrap()
        .contains("**********"));
    assert_eq!(b["valid"], true);
    assert_eq!(b["validity"], "valid");
    assert_eq!(b["used_this_month"], "100.00");
    assert_eq!(fam["face_verification_required"], false);
    assert_eq!(fam["limits_allowed"], true);
    assert!(fam["scope_today"]
        .as_array()
        .unwrap()
        .contains(&json!("sibling")));

    let fam = s.get("/api/v1/me/family", Some(&rj)).await;
    assert_eq!(
        fam.ok()["as_relative"][0]["holder"]["psn_no"],
        w.hj.psn_no.as_str()
    );
    assert!(fam.body["as_holder"].as_array().unwrap().is_empty());

    // Valid or invalid by time (R-S9): after its end day a binding is listed as expired.
    s.set_now("2027-01-05 10:00:00");
    let hs = s.sign_in(&w.hs).await;
    let fam = s.get("/api/v1/me/family", Some(&hs)).await;
    let b = &fam.ok()["as_holder"][0];
    assert_eq!(
        (b["valid"].clone(), b["validity"].clone()),
        (json!(false), json!("expired"))
    );
    assert_eq!(fam.body["end_date_only_earlier"], true);
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notice_promises_only_what_the_regions_policy_says() {
    let w = world().await;
    let s = &w.s;
    let text = |r: Resp| r.ok()["text"].as_str().unwrap().to_string();
    let only_earlier = "结束日期只能提前";
    // Shanxi keeps end dates from moving later (R-S9); Zibo accepts a later end date.
    let shanxi = text(s.get("/api/v1/family/notice?admdvs=140105", None).await);
    assert!(shanxi.contains(only_earlier), "{shanxi}");
    let zibo = text(s.get("/api/v1/family/notice?admdvs=370303", None).await);
    assert!(!zibo.contains(only_earlier), "{zibo}");
    assert!(zibo.contains("可以提前，也可以延后"), "{zibo}");
    let public = text(s.get("/api/v1/family/notice", None).await);
    assert!(
        !public.contains(only_earlier) && public.contains("以本地政策为准"),
        "{public}"
    );
    s.get("/api/v1/family/notice?admdvs=37", None)
        .await
        .refused(400, "GJ-API-BAD-REQUEST");

    // The notice shown with a holder's commitment letter is his region's.
    let hz2 = s.sign_in(&w.hz2).await;
    let p = preview(s, &hz2, facts(&w.sz, "20")).await;
    let notice = p.ok()["notice"].as_str().unwrap_or_default().to_string();
    assert!(
        notice.contains("告知书") && !notice.contains(only_earlier),
        "{}",
        p.body
    );
    let hs = s.sign_in(&w.hs).await;
    let p = preview(s, &hs, facts(&w.f1, "51")).await;
    let notice = p.ok()["notice"].as_str().unwrap_or_default().to_string();
    assert!(notice.contains(only_earlier), "{}", p.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn binding_with_notice_commitment_and_face_verification() {
    let w = world().await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;

    // The notice is public.
    let notice = s.get("/api/v1/family/notice", None).await;
    assert!(notice.ok()["text"].as_str().unwrap().contains("告知书"));

    // The relation must fit both ID numbers: the boy is no 女 (daughter), and no 父亲
    // (father) of a holder born decades before him.
    preview(s, &hj, facts(&w.cj, "30"))
        .await
        .refused(422, "GJ-BIND-RELATION-SEX");
    let older = preview(s, &hj, facts(&w.cj, "51")).await;
    older.refused(422, "GJ-BIND-RELATION-AGE");
    assert!(older.body["message_zh"].as_str().unwrap().contains("父亲"));

    // Preview: the eligibility check and the letter, nothing stored.
    let audit_before = s.audit_rows().await;
    let preview = s
        .post(
            "/api/v1/me/family/commitment",
            Some(&hj),
            facts(&w.cj, "20"),
        )
        .await;
    let letter = preview.ok()["letter"].as_str().unwrap().to_string();
    assert!(
        letter.contains("承诺书")
            && letter.contains("是本人的子。")
            && !letter.contains(&w.cj.certno),
        "{letter}"
    );
    let sha = preview.body["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert_eq!(preview.body["face_verification_required"], false);
    assert_eq!(
        s.audit_rows().await,
        audit_before,
        "a preview changes nothing"
    );

    // The notice must be acknowledged, the letter signed, and be the letter shown.
    let mut body = facts(&w.cj, "20");
    body["notice_acknowledged"] = json!(false);
    body["commitment_sha256"] = json!(sha);
    body["signature"] = json!("签名");
    s.post("/api/v1/me/family/bindings", Some(&hj), body.clone())
        .await
        .refused(422, "GJ-BIND-NOTICE-NOT-ACKNOWLEDGED");
    body["notice_acknowledged"] = json!(true);
    body["signature"] = json!("  ");
    s.post("/api/v1/me/family/bindings", Some(&hj), body.clone())
        .await
        .refused(422, "GJ-BIND-COMMITMENT-NOT-SIGNED");
    // The letter is signed by the holder himself, with his name.
    body["signature"] = json!("签名");
    s.post("/api/v1/me/family/bindings", Some(&hj), body.clone())
        .await
        .refused(422, "GJ-BIND-SIGNATURE-NOT-HOLDER");
    body["signature"] = json!(w.hj.name);
    body["commitment_sha256"] = json!("0".repeat(64));
    s.post("/api/v1/me/family/bindings", Some(&hj), body.clone())
        .await
        .refused(409, "GJ-BIND-COMMITMENT-MISMATCH");
    // A letter signed yesterday is not today's letter.
    body["commitment_sha256"] = json!(sha);
    s.set_now("2025-10-11 10:00:00");
    let hj = s.sign_in(&w.hj).await;
    s.post("/api/v1/me/family/bindings", Some(&hj), body.clone())
        .await
        .refused(409, "GJ-BIND-COMMITMENT-MISMATCH");
    s.set_now(NOW);
    assert_eq!(
        s.audit_rows().await,
        audit_before + 1,
        "only the second sign-in was written"
    );

    let bound = s.post("/api/v1/me/family/bindings", Some(&hj), body).await;
    assert_eq!(bound.status, 201, "{}", bound.body);
    let id = bound.body["binding"]["binding_id"].as_i64().unwrap();
    assert_eq!(bound.body["binding"]["relationship"], "20");
    assert_eq!(bound.body["binding"]["channel"], "web");
    assert_eq!(bound.body["commitment_sha256"], sha.as_str());

    // The letter is kept with its hash, for both persons; not for others.
    let kept = s
        .get(
            &format!("/api/v1/me/family/bindings/{id}/commitment"),
            Some(&hj),
        )
        .await;
    assert_eq!(kept.ok()["letter"], letter.as_str());
    assert_eq!(kept.body["sha256"], sha.as_str());
    assert_eq!(kept.body["signature"], w.hj.name);
    let cj = s.sign_in(&w.cj).await;
    // The son sees the binding from his side: the holder is his father or mother, by the
    // holder's ID number; the holder sees 子.
    let fam = s.get("/api/v1/me/family", Some(&cj)).await;
    let mine = &fam.ok()["as_relative"][0];
    let holder_male = (w.hj.certno.as_bytes()[16] - b'0') % 2 == 1;
    assert_eq!(
        mine["holder_to_relative_name"],
        if holder_male { "父亲" } else { "母亲" }
    );
    assert_eq!(mine["relationship_name"], "子");
    s.get(
        &format!("/api/v1/me/family/bindings/{id}/commitment"),
        Some(&cj),
    )
    .await
    .ok();
    let rj = s.sign_in(&w.rj).await;
    s.get(
        &format!("/api/v1/me/family/bindings/{id}/commitment"),
        Some(&rj),
    )
    .await
    .refused(404, "GJ-API-NOT-FOUND");

    // The channel comes from the app's header.
    let hz = s.sign_in(&w.hz).await;
    let sibling = s
        .send(
            s.req(
                reqwest::Method::POST,
                "/api/v1/me/family/commitment",
                Some(&hz),
            )
            .header("x-gongji-channel", "alipay")
            .json(&json!({ "relative_certno": w.sz.certno, "relative_name": w.sz.name, "relationship": "71", "begin": "2023-10-01" })),
        )
        .await;
    sibling.refused(422, "GJ-BIND-RELATIONSHIP-OUT-OF-SCOPE");
    s.send(
        s.req(reqwest::Method::GET, "/api/v1/me", Some(&hz))
            .header("x-gongji-channel", "fax"),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");

    // Zibo asks for the holder's face (R-Z5): none, a rejected one, then the test token.
    let hz2 = s.sign_in(&w.hz2).await;
    let (p, b) = bind_via_api(s, &hz2, &w.hz2.name, facts(&w.sz, "20"), None).await;
    assert!(p.ok()["face_verification_required"].as_bool().unwrap());
    b.unwrap().refused(422, "GJ-BIND-FACE-REQUIRED");
    let (_, b) = bind_via_api(s, &hz2, &w.hz2.name, facts(&w.sz, "20"), Some("FACE-NO")).await;
    b.unwrap().refused(422, "GJ-FACE-REJECTED");
    let (_, b) = bind_via_api(s, &hz2, &w.hz2.name, facts(&w.sz, "20"), Some("FACE-OK")).await;
    assert_eq!(b.unwrap().status, 201);

    // The audit log has the binding with its channel and actor.
    let admin = s.staff("admin1").await;
    let log = s
        .get(
            &format!("/api/v1/staff/audit-log?subject=binding:{id}"),
            Some(&admin),
        )
        .await;
    let e = &log.ok()["entries"][0];
    assert_eq!(
        (
            e["action"].clone(),
            e["actor"].clone(),
            e["channel"].clone()
        ),
        (json!("bind"), json!(w.hj.psn_no), json!("web"))
    );
    assert!(e["after"].as_str().unwrap().contains("status=active"));
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_binding_refusal_reaches_the_app() {
    let w = world().await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;
    let rj = s.sign_in(&w.rj).await;
    let hz = s.sign_in(&w.hz).await;
    let hz2 = s.sign_in(&w.hz2).await;
    let ez = s.sign_in(&w.ez).await;
    let hzp = s.sign_in(&w.hzp).await;
    let hs = s.sign_in(&w.hs).await;
    let audit_before = s.audit_rows().await;

    let cases: Vec<(&str, &String, Value, u16, &str)> = vec![
        (
            "unknown ID",
            &hj,
            json!({ "relative_certno": "370102199001011234", "relative_name": "某人", "relationship": "20" }),
            404,
            "GJ-UNKNOWN-PERSON",
        ),
        (
            "wrong name",
            &hj,
            json!({ "relative_certno": w.cj.certno, "relative_name": "别人", "relationship": "20" }),
            422,
            "GJ-BIND-IDENTITY-MISMATCH",
        ),
        ("self", &hj, facts(&w.hj, "20"), 422, "GJ-BIND-SELF"),
        (
            "resident holder",
            &rj,
            facts(&w.cj, "20"),
            422,
            "GJ-BIND-HOLDER-NOT-EMPLOYEE",
        ),
        (
            "duplicate",
            &hj,
            facts(&w.rj, "12"),
            422,
            "GJ-BIND-DUPLICATE",
        ),
        (
            "other province",
            &hj,
            facts(&w.uy, "20"),
            422,
            "GJ-BIND-DIFFERENT-PROVINCE",
        ),
        (
            "not insured",
            &hj,
            facts(&w.tj, "20"),
            422,
            "GJ-BIND-RELATIVE-NOT-INSURED",
        ),
        (
            "long-term care only",
            &hj,
            facts(&w.xj, "20"),
            422,
            "GJ-BIND-RELATIVE-INSUTYPE",
        ),
        (
            "sibling in Zibo before the national widening (R-N1, 2024)",
            &hz,
            json!({ "relative_certno": w.sz.certno, "relative_name": w.sz.name, "relationship": "71", "begin": "2023-10-01" }),
            422,
            "GJ-BIND-RELATIONSHIP-OUT-OF-SCOPE",
        ),
        (
            "already bound (Zibo)",
            &hz2,
            facts(&w.rz, "20"),
            422,
            "GJ-BIND-RELATIVE-ALREADY-BOUND",
        ),
        (
            "relative is a holder (Zibo)",
            &hz2,
            facts(&w.hz, "10"),
            422,
            "GJ-BIND-RELATIVE-IS-HOLDER",
        ),
        (
            "holder is a relative (Zibo)",
            &ez,
            facts(&w.sz, "20"),
            422,
            "GJ-BIND-HOLDER-IS-RELATIVE",
        ),
        (
            "holder paused (Zibo)",
            &hzp,
            facts(&w.sz, "20"),
            422,
            "GJ-BIND-HOLDER-INSURANCE-INTERRUPTED",
        ),
        (
            "second spouse (Shanxi)",
            &hs,
            facts(&w.s2, "12"),
            422,
            "GJ-BIND-SPOUSE-LIMIT",
        ),
        (
            "public medical (Shanxi)",
            &hs,
            facts(&w.pm, "20"),
            422,
            "GJ-BIND-RELATIVE-PUBLIC-MEDICAL",
        ),
        (
            "end before begin",
            &hj,
            json!({ "relative_certno": w.cj.certno, "relative_name": w.cj.name, "relationship": "20", "begin": "2025-10-10", "end": "2025-10-01" }),
            422,
            "GJ-BIND-END-BEFORE-BEGIN",
        ),
        (
            "negative limit",
            &hj,
            json!({ "relative_certno": w.cj.certno, "relative_name": w.cj.name, "relationship": "20", "limit_per_payment": "-5" }),
            422,
            "GJ-SETL-INVALID-AMOUNT",
        ),
        (
            "bad relationship code",
            &hj,
            facts(&w.cj, "01"),
            400,
            "GJ-API-BAD-REQUEST",
        ),
        (
            "bad date",
            &hj,
            json!({ "relative_certno": w.cj.certno, "relative_name": w.cj.name, "relationship": "20", "begin": "10/10/2025" }),
            400,
            "GJ-API-BAD-REQUEST",
        ),
    ];
    for (what, token, body, status, code) in &cases {
        let r = s
            .post("/api/v1/me/family/commitment", Some(token), body.clone())
            .await;
        assert_eq!((r.status, r.code()), (*status, *code), "{what}: {}", r.body);
    }

    // R-S8: one father; a second father is refused.
    let (_, b) = bind_via_api(s, &hs, &w.hs.name, facts(&w.f1, "51"), None).await;
    assert_eq!(b.unwrap().status, 201);
    let (p, _) = bind_via_api(s, &hs, &w.hs.name, facts(&w.f2, "51"), None).await;
    p.refused(422, "GJ-BIND-PARENT-LIMIT");

    // Only the successful bind wrote anything (its binding, audit row and letter).
    assert_eq!(s.audit_rows().await, audit_before + 1);
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn binding_refusals_of_regional_caps_and_types() {
    // R-N4 caps and other scopes, as a region's policy file could say them.
    let w = world_with(presets_with(|p| match p.id.as_str() {
        "shandong-jinan" => p.binding.max_relatives_per_holder = Some(1),
        "shanxi" => p.binding.max_changes_per_month = Some(1),
        "shandong-zibo" => {
            p.binding.max_holders_per_relative = Some(2);
            p.binding.one_way = false;
        }
        _ => {}
    }))
    .await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;
    let hs = s.sign_in(&w.hs).await;
    let hpm = s.sign_in(&w.hpm).await;
    let bj = s.sign_in(&w.bj).await;
    let hz2 = s.sign_in(&w.hz2).await;
    let ez = s.sign_in(&w.ez).await;
    preview(s, &hj, facts(&w.cj, "20"))
        .await
        .refused(422, "GJ-BIND-TOO-MANY-RELATIVES");
    // One change a month in Shanxi here: the first bind passes, the next is refused.
    let (_, b) = bind_via_api(s, &hs, &w.hs.name, facts(&w.f1, "51"), None).await;
    assert_eq!(b.unwrap().status, 201);
    preview(s, &hs, facts(&w.f2, "52"))
        .await
        .refused(422, "GJ-BIND-TOO-MANY-CHANGES");
    preview(s, &hpm, facts(&w.f1, "51"))
        .await
        .refused(422, "GJ-BIND-HOLDER-PUBLIC-MEDICAL");
    preview(s, &bj, facts(&w.bjr, "20"))
        .await
        .refused(422, "GJ-POLICY-NOT-FOUND");
    // Two holders for RZ are allowed here; a third is not.
    let (_, b) = bind_via_api(s, &hz2, &w.hz2.name, facts(&w.rz, "20"), Some("FACE-OK")).await;
    assert_eq!(b.unwrap().status, 201);
    preview(s, &ez, facts(&w.rz, "20"))
        .await
        .refused(422, "GJ-BIND-TOO-MANY-HOLDERS");
    // Unbinding counts as a change too (R-N4).
    s.post(
        &format!("/api/v1/me/family/bindings/{}/unbind", w.b_hs_rs),
        Some(&hs),
        json!({}),
    )
    .await
    .refused(422, "GJ-BIND-TOO-MANY-CHANGES");
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn end_dates_limits_and_unbinding_belong_to_the_holder() {
    let w = world().await;
    let s = &w.s;
    let hs = s.sign_in(&w.hs).await;
    let rs = s.sign_in(&w.rs).await;
    let hj = s.sign_in(&w.hj).await;
    let rj = s.sign_in(&w.rj).await;
    let end = |id: i64| format!("/api/v1/me/family/bindings/{id}/end");
    let limits = |id: i64| format!("/api/v1/me/family/bindings/{id}/limits");

    // R-S9 in Shanxi: only earlier.
    let r = s
        .put(&end(w.b_hs_rs), Some(&hs), json!({ "end": "2026-06-30" }))
        .await;
    assert_eq!(r.ok()["end"], "2026-06-30");
    s.put(&end(w.b_hs_rs), Some(&hs), json!({ "end": "2026-12-31" }))
        .await
        .refused(422, "GJ-BIND-END-ONLY-EARLIER");
    s.put(&end(w.b_hs_rs), Some(&hs), json!({ "end": "2020-01-01" }))
        .await
        .refused(422, "GJ-BIND-END-BEFORE-BEGIN");
    // The relative may not; others do not see it; unknown ids are not found.
    s.put(&end(w.b_hs_rs), Some(&rs), json!({ "end": "2026-01-31" }))
        .await
        .refused(403, "GJ-API-FORBIDDEN");
    s.put(&end(w.b_hs_rs), Some(&hj), json!({ "end": "2026-01-31" }))
        .await
        .refused(404, "GJ-API-NOT-FOUND");
    s.put(&end(999_999), Some(&hs), json!({ "end": "2026-01-31" }))
        .await
        .refused(404, "GJ-API-NOT-FOUND");
    s.put(
        "/api/v1/me/family/bindings/abc/end",
        Some(&hs),
        json!({ "end": "2026-01-31" }),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    s.put(&end(w.b_hs_rs), None, json!({ "end": "2026-01-31" }))
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");

    // R-S3 limits: the holder sets, the relative may not, other persons do not see it.
    let r = s
        .put(
            &limits(w.b_hj_rj),
            Some(&hj),
            json!({ "per_payment": "50.00", "per_month": "300" }),
        )
        .await;
    assert_eq!(
        (
            r.ok()["limit_per_payment"].clone(),
            r.body["limit_per_month"].clone()
        ),
        (json!("50.00"), json!("300.00"))
    );
    // Per day and per year beside them.
    let r = s
        .put(
            &limits(w.b_hj_rj),
            Some(&hj),
            json!({ "per_payment": "50", "per_day": "100", "per_month": "300", "per_year": "1000" }),
        )
        .await;
    assert_eq!(
        (
            r.ok()["limit_per_day"].clone(),
            r.body["limit_per_year"].clone()
        ),
        (json!("100.00"), json!("1000.00"))
    );
    s.put(
        &limits(w.b_hj_rj),
        Some(&rj),
        json!({ "per_payment": "5000" }),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    s.put(
        &limits(w.b_hj_rj),
        Some(&hs),
        json!({ "per_payment": "5000" }),
    )
    .await
    .refused(404, "GJ-API-NOT-FOUND");
    s.put(
        &limits(w.b_hj_rj),
        Some(&hj),
        json!({ "per_payment": "-1" }),
    )
    .await
    .refused(422, "GJ-SETL-INVALID-AMOUNT");
    s.put(
        &limits(w.b_hj_rj),
        Some(&hj),
        json!({ "per_payment": "1.234" }),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    s.put(&limits(w.b_hj_rj), Some(&hj), json!({ "per_payment": 50 }))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.put(
        &limits(w.b_hj_rj),
        Some(&hj),
        json!({ "per_payment": "50", "extra": 1 }),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    let fam = s.get("/api/v1/me/family", Some(&rj)).await;
    assert_eq!(
        fam.ok()["as_relative"][0]["limit_per_payment"],
        "50.00",
        "refusals changed nothing"
    );
    // Removing limits.
    let r = s
        .put(
            &limits(w.b_hj_rj),
            Some(&hj),
            json!({ "per_payment": null }),
        )
        .await;
    assert!(r.ok()["limit_per_payment"].is_null() && r.body["limit_per_month"].is_null());

    // Unbinding in Zibo needs the holder's face (R-Z5).
    let hz = s.sign_in(&w.hz).await;
    let rz = s.sign_in(&w.rz).await;
    let unbind = format!("/api/v1/me/family/bindings/{}/unbind", w.b_hz_rz);
    s.post(&unbind, Some(&rz), json!({ "face_token": "FACE-OK" }))
        .await
        .refused(403, "GJ-API-FORBIDDEN");
    s.post(&unbind, Some(&hz), json!({}))
        .await
        .refused(422, "GJ-BIND-FACE-REQUIRED");
    s.post(&unbind, Some(&hz), json!({ "face_token": "bad" }))
        .await
        .refused(422, "GJ-FACE-REJECTED");
    let r = s
        .post(&unbind, Some(&hz), json!({ "face_token": "FACE-OK" }))
        .await;
    assert_eq!(
        (r.ok()["status"].clone(), r.body["validity"].clone()),
        (json!("ended"), json!("ended"))
    );
    s.post(&unbind, Some(&hz), json!({ "face_token": "FACE-OK" }))
        .await
        .refused(422, "GJ-BIND-NOT-ACTIVE");
    s.put(
        &format!("/api/v1/me/family/bindings/{}/end", w.b_hz_rz),
        Some(&hz),
        json!({ "end": "2025-12-31" }),
    )
    .await
    .refused(422, "GJ-BIND-NOT-ACTIVE");
    s.put(
        &format!("/api/v1/me/family/bindings/{}/limits", w.b_hz_rz),
        Some(&hz),
        json!({ "per_month": "1" }),
    )
    .await
    .refused(422, "GJ-BIND-NOT-ACTIVE");

    // Staff sessions are not persons.
    let clerk = s.staff("clerk1").await;
    s.put(
        &limits(w.b_hj_rj),
        Some(&clerk),
        json!({ "per_payment": "1" }),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    s.get("/api/v1/me", Some(&clerk))
        .await
        .refused(403, "GJ-API-FORBIDDEN");
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_are_refused_where_the_policy_does_not_offer_them() {
    let w = world_with(presets_with(|p| {
        p.payment.per_relative_limits = false;
        p.payment
            .mutual_aid_uses
            .retain(|u| *u != gongji_core::codes::MutualAidUse::ResidentPremium);
    }))
    .await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;
    s.put(
        &format!("/api/v1/me/family/bindings/{}/limits", w.b_hj_rj),
        Some(&hj),
        json!({ "per_payment": "10" }),
    )
    .await
    .refused(422, "GJ-BIND-LIMITS-NOT-ALLOWED");
    let mut body = facts(&w.cj, "20");
    body["limit_per_month"] = json!("10");
    s.post("/api/v1/me/family/commitment", Some(&hj), body)
        .await
        .refused(422, "GJ-BIND-LIMITS-NOT-ALLOWED");
    let hy = s.sign_in(&w.hy).await;
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026 }),
    )
    .await
    .refused(422, "GJ-PREMIUM-USE-NOT-ALLOWED");
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn records_show_every_movement_newest_first() {
    let w = world().await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;
    let rj = s.sign_in(&w.rj).await;

    // The holder sees what his wife spent from his account, where and when.
    let r = s.get("/api/v1/me/records", Some(&hj)).await;
    let recs = r.ok()["records"].as_array().unwrap().clone();
    let times: Vec<&str> = recs
        .iter()
        .map(|x| x["occurred_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    // Opening, purchase, cancelled purchase and its cancel.
    assert_eq!(recs.len(), 4, "{recs:#?}");
    let paid = recs
        .iter()
        .find(|x| x["kind"] == "settle" && x["amount"] == "-100.00")
        .unwrap();
    assert_eq!(paid["role"], "paid_for_relative");
    assert_eq!(paid["counterpart"]["psn_no"], w.rj.psn_no.as_str());
    assert_eq!(paid["fixmedins_code"], w.pharmacy.as_str());
    assert_eq!(paid["fixmedins_name"], "测试机构1");
    assert_eq!(paid["balance_after"], "4900.00");
    let returned = recs.iter().find(|x| x["kind"] == "cancel").unwrap();
    assert_eq!(returned["amount"], "30.00");
    assert!(returned["cancels_entry"].is_i64());
    let opening = recs.iter().find(|x| x["kind"] == "opening").unwrap();
    assert_eq!(opening["role"], "funding");

    // The wife sees whose account paid, not its balance.
    let r = s.get("/api/v1/me/records?kind=settle", Some(&rj)).await;
    let recs = r.ok()["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs
        .iter()
        .all(|x| x["role"] == "paid_by_holder" && x["balance_after"].is_null()));
    assert_eq!(recs[0]["counterpart"]["psn_no"], w.hj.psn_no.as_str());
    assert_eq!(
        recs[0]["counterpart"]["name"],
        mask_name(&w.hj.name).as_str(),
        "masked"
    );

    // Filters by date and kind, and paging.
    let r = s
        .get(
            "/api/v1/me/records?from=2025-10-02&to=2025-10-02",
            Some(&hj),
        )
        .await;
    assert_eq!(r.ok()["records"].as_array().unwrap().len(), 2);
    let r = s.get("/api/v1/me/records?kind=opening", Some(&hj)).await;
    assert_eq!(r.ok()["records"].as_array().unwrap().len(), 1);
    let r = s
        .get("/api/v1/me/records?limit=1&offset=1", Some(&hj))
        .await;
    assert_eq!(r.ok()["records"].as_array().unwrap().len(), 1);
    let r = s.get("/api/v1/me/records?from=2026-01-01", Some(&hj)).await;
    assert!(r.ok()["records"].as_array().unwrap().is_empty());

    // Bad filters.
    for q in [
        "kind=refund",
        "from=2025-13-01",
        "limit=0",
        "limit=201",
        "limit=x",
        "from=2025-10-05&to=2025-10-01",
        "psn_no=1",
    ] {
        s.get(&format!("/api/v1/me/records?{q}"), Some(&hj))
            .await
            .refused(400, "GJ-API-BAD-REQUEST");
    }
    // No one reads another person's records: there is no such path for persons, and the
    // staff path refuses persons.
    s.get(
        &format!("/api/v1/staff/persons/{}/records", w.hj.psn_no),
        Some(&rj),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    s.get("/api/v1/me/records", None)
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn premiums_for_a_relative_with_every_refusal() {
    let w = world().await;
    let s = &w.s;
    let hy = s.sign_in(&w.hy).await;
    // The demo's development face check is the second factor (issue 13 item 7).
    let pay = |rel: &P, year: i32, _registry_category: &str| json!({ "face_token": "FACE-OK", "relative_psn_no": rel.psn_no, "year": year });

    let opts = s
        .get(
            &format!("/api/v1/me/premium-options?relative_psn_no={}", w.ry.psn_no),
            Some(&hy),
        )
        .await;
    let opts = opts.ok()["options"].as_array().unwrap().clone();
    assert!(opts
        .iter()
        .any(|o| o["year"] == 2026 && o["category"] == "general" && o["amount"] == "380.00"));
    s.get(
        &format!("/api/v1/me/premium-options?relative_psn_no={}", w.uy.psn_no),
        Some(&hy),
    )
    .await
    .refused(404, "GJ-API-NOT-FOUND");

    // Refusals, each changing nothing.
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        pay(&w.uy, 2026, "general"),
    )
    .await
    .refused(422, "GJ-PREMIUM-NOT-BOUND");
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        pay(&w.ey, 2026, "general"),
    )
    .await
    .refused(422, "GJ-PREMIUM-RELATIVE-NOT-RESIDENT");
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        pay(&w.ry, 2030, "general"),
    )
    .await
    .refused(422, "GJ-PREMIUM-YEAR-UNKNOWN");
    // A payer cannot name a category (R-R5).
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026, "category": "vip" }),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        json!({ "face_token": "FACE-OK", "relative_psn_no": "nobody", "year": 2026 }),
    )
    .await
    .refused(404, "GJ-UNKNOWN-PERSON");
    let hyp = s.sign_in(&w.hyp).await;
    s.post(
        "/api/v1/me/premiums",
        Some(&hyp),
        pay(&w.ryp, 2026, "general"),
    )
    .await
    .refused(422, "GJ-BIND-HOLDER-INSURANCE-INTERRUPTED");
    let hy2 = s.sign_in(&w.hy2).await;
    s.post(
        "/api/v1/me/premiums",
        Some(&hy2),
        pay(&w.ry2, 2026, "general"),
    )
    .await
    .refused(422, "GJ-PREMIUM-INSUFFICIENT-BALANCE");
    s.set_now("2025-10-27 10:00:00");
    let hy_late = s.sign_in(&w.hy).await;
    s.post(
        "/api/v1/me/premiums",
        Some(&hy_late),
        pay(&w.ry, 2026, "general"),
    )
    .await
    .refused(422, "GJ-PREMIUM-OUTSIDE-WINDOW");
    s.set_now(NOW);
    assert_eq!(s.balance(&w.hy).await.fen(), 200_000);

    // Paid once with an idempotency key; the retry gets the same receipt and moves nothing.
    let req = || {
        s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&hy))
            .header("idempotency-key", "order-1")
            .header("x-gongji-channel", "wechat")
    };
    let first = s.send(req().json(&pay(&w.ry, 2026, "general"))).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["amount"], "380.00");
    assert_eq!(first.body["holder_balance_after"], "1620.00");
    assert_eq!(first.body["relative"]["psn_no"], w.ry.psn_no.as_str());
    assert!(first.body["explanation"]
        .as_str()
        .unwrap()
        .contains("2026年度"));
    let again = s.send(req().json(&pay(&w.ry, 2026, "general"))).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["receipt_no"], first.body["receipt_no"]);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(s.balance(&w.hy).await.fen(), 162_000);
    // The same key for another order is refused; paying the year again is refused (R-R4).
    s.send(req().json(&pay(&w.uy, 2026, "general")))
        .await
        .refused(409, "GJ-IDEMPOTENCY-MSGID-REUSED");
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        pay(&w.ry, 2026, "general"),
    )
    .await
    .refused(422, "GJ-PREMIUM-ALREADY-PAID");
    assert_eq!(s.balance(&w.hy).await.fen(), 162_000);

    // The holder's and the relative's records show it.
    let r = s.get("/api/v1/me/records?kind=premium", Some(&hy)).await;
    let rec = &r.ok()["records"][0];
    assert_eq!(
        (
            rec["role"].clone(),
            rec["amount"].clone(),
            rec["channel"].clone()
        ),
        (
            json!("premium_for_relative"),
            json!("-380.00"),
            json!("wechat")
        )
    );
    assert_eq!(rec["counterpart"]["psn_no"], w.ry.psn_no.as_str());
    let ry = s.sign_in(&w.ry).await;
    let r = s.get("/api/v1/me/records", Some(&ry)).await;
    let rec = &r.ok()["records"][0];
    assert_eq!(
        (rec["role"].clone(), rec["counterpart"]["psn_no"].clone()),
        (json!("premium_for_me"), json!(w.hy.psn_no))
    );
    s.verify_clean().await;
}

/// Issue 13, item 7: money leaves a holder's account for a relative through REST only with
/// the second factor, as in the H5. A stolen bearer token alone pays nothing; the code is the
/// holder's own, good once; a retry of a paid receipt needs no fresh code.
#[tokio::test(flavor = "multi_thread")]
async fn rest_pays_a_relatives_premium_only_with_the_second_factor() {
    let w = world().await;
    let s = &w.s;
    let hy = s.sign_in(&w.hy).await;
    let order = json!({ "relative_psn_no": w.ry.psn_no, "year": 2026 });
    let with = |field: &str, value: &str| {
        let mut body = order.clone();
        body[field] = json!(value);
        body
    };
    let paid_for_ry = || async {
        s.get(
            &format!("/api/v1/me/premium-options?relative_psn_no={}", w.ry.psn_no),
            Some(&hy),
        )
        .await
        .ok()["options"][0]["already_paid"]
            .clone()
    };

    let r = s
        .post("/api/v1/me/premiums", Some(&hy), order.clone())
        .await;
    r.refused(422, "GJ-SECOND-FACTOR-REQUIRED");
    assert!(r.body["message_zh"].as_str().unwrap().contains("验证码"));
    s.post("/api/v1/me/premiums", Some(&hy), with("sms_code", " "))
        .await
        .refused(422, "GJ-SECOND-FACTOR-REQUIRED");
    s.post("/api/v1/me/premiums", Some(&hy), with("sms_code", "000000"))
        .await
        .refused(401, "GJ-AUTH-CODE-INVALID");
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        with("face_token", "not-a-check"),
    )
    .await
    .refused(422, "GJ-FACE-REJECTED");
    assert_eq!(s.balance(&w.hy).await.fen(), 200_000, "nothing moved");
    assert_eq!(paid_for_ry().await, json!(false));

    // The code goes to the holder's own phone; the demo answers it, labelled.
    let sent = s
        .post("/api/v1/me/premiums/second-factor", Some(&hy), json!({}))
        .await;
    let sent = sent.ok();
    assert!(sent["expires_in_secs"].as_i64().unwrap() > 0, "{sent}");
    let masked = sent["phone_masked"].as_str().unwrap();
    assert!(
        masked.ends_with(&w.hy.phone[7..]) && !masked.contains(&w.hy.phone[3..7]),
        "{sent}"
    );
    let code = sent["demo_code"]
        .as_str()
        .expect("the demo's code")
        .to_string();
    assert_eq!(Some(code.clone()), s.app.auth.sms.last_code(&w.hy.phone));

    // Another holder cannot pay with it: it is not his code.
    let hy2 = s.sign_in(&w.hy2).await;
    let mut other = json!({ "relative_psn_no": w.ry2.psn_no, "year": 2026 });
    other["sms_code"] = json!(code);
    let before = s.balance(&w.hy2).await;
    s.post("/api/v1/me/premiums", Some(&hy2), other)
        .await
        .refused(401, "GJ-AUTH-CODE-INVALID");
    assert_eq!(s.balance(&w.hy2).await, before);

    let pay = |body: Value| {
        s.send(
            s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&hy))
                .header("idempotency-key", "sf-1")
                .json(&body),
        )
    };
    let first = pay(with("sms_code", &code)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["holder_balance_after"], "1620.00");
    // The retry of a paid receipt needs no fresh code and moves nothing.
    let again = pay(order.clone()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["receipt_no"], first.body["receipt_no"]);
    // The code was used up: it pays nothing more, under any key.
    s.post("/api/v1/me/premiums", Some(&hy), with("sms_code", &code))
        .await
        .refused(401, "GJ-AUTH-CODE-INVALID");
    assert_eq!(s.balance(&w.hy).await.fen(), 162_000);
    assert_eq!(paid_for_ry().await, json!(true));

    // An app's developer reads all of it in the OpenAPI document.
    let doc = s.get("/api/v1/openapi.json", None).await;
    let doc = doc.ok();
    for field in ["sms_code", "face_token"] {
        assert!(
            doc["components"]["schemas"]["PremiumIn"]["properties"][field].is_object(),
            "{field}"
        );
    }
    assert!(doc["paths"]["/api/v1/me/premiums/second-factor"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/me/premiums"]["post"]
        .to_string()
        .contains("GJ-SECOND-FACTOR-REQUIRED"));
    s.verify_clean().await;
}

/// Issue 13, item 1: the category and amount come from the registry, never from the payer. A
/// payer who declares the child 特困 (0.00) is refused and nothing moves; the real 380-yuan
/// payment goes through. Staff mark subsidised residents from departments' lists, each row
/// answered with its line; between lists the cheapest category wins.
#[tokio::test(flavor = "multi_thread")]
async fn the_registry_not_the_payer_decides_the_category() {
    let w = world().await;
    let s = &w.s;
    let hy = s.sign_in(&w.hy).await;
    for declared in ["special_hardship", "特困人员"] {
        s.post(
            "/api/v1/me/premiums",
            Some(&hy),
            json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026, "category": declared }),
        )
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    }
    assert_eq!(s.balance(&w.hy).await.fen(), 200_000);
    let opts = s
        .get(
            &format!("/api/v1/me/premium-options?relative_psn_no={}", w.ry.psn_no),
            Some(&hy),
        )
        .await;
    let opts = opts.ok()["options"].as_array().unwrap().clone();
    assert_eq!(opts.len(), 1, "{opts:?}");
    assert_eq!(
        (opts[0]["category"].clone(), opts[0]["amount"].clone()),
        (json!("general"), json!("380.00"))
    );
    let r = s
        .post(
            "/api/v1/me/premiums",
            Some(&hy),
            json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["category"].clone(), r.body["amount"].clone()),
        (json!("general"), json!("380.00"))
    );

    // Two departments' lists name the poor holder's relative; one row per outcome.
    let list = format!(
        "身份证号码,人群类别,来源部门,名单日期\n\
         {ry2},低保对象,民政局,2025-09-20\n\
         {ry2},monitored,乡村振兴局,2025-09-22\n\
         110101199001011234,minimum_subsistence,民政局,2025-09-20\n\
         {ry2},minimum_subsistence,民政局,2025/09/20\n\
         {ry2},vip,民政局,2025-09-20\n\
         {ey},minimum_subsistence,民政局,2025-09-20\n",
        ry2 = w.ry2.certno,
        ey = w.ey.certno
    );
    let clerk = s.staff("clerk1").await;
    let import = |body: String| {
        s.req(
            reqwest::Method::POST,
            "/api/v1/staff/contribution-lists?year=2026",
            Some(&clerk),
        )
        .header("content-type", "text/csv")
        .body(body)
    };
    let r = s.send(import(list)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows: Vec<(u64, String, String)> = r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["line"].as_u64().unwrap(),
                row["status"].as_str().unwrap().to_string(),
                row["code"]
                    .as_str()
                    .or(row["due_amount"].as_str())
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let row = |line: u64, status: &str, what: &str| (line, status.to_string(), what.to_string());
    assert_eq!(
        rows,
        vec![
            row(2, "marked", "76.00"),
            // The 100-yuan list does not raise the 76 the person already qualifies for.
            row(3, "marked", "76.00"),
            row(4, "refused", "GJ-UNKNOWN-PERSON"),
            row(5, "refused", "GJ-CATEGORY-LIST-ROW-INVALID"),
            row(6, "refused", "GJ-PREMIUM-CATEGORY-UNKNOWN"),
            row(7, "refused", "GJ-PREMIUM-RELATIVE-NOT-RESIDENT"),
        ]
    );
    assert_eq!(
        (r.body["marked"].clone(), r.body["refused"].clone()),
        (json!(2), json!(4))
    );
    assert!(
        !r.body.to_string().contains(w.ry2.certno.as_str()),
        "masked"
    );
    // A list in the wrong shape is refused whole; persons cannot import lists.
    s.send(import("psn_no,category\n".into()))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.send(
        s.req(
            reqwest::Method::POST,
            "/api/v1/staff/contribution-lists?year=2026",
            Some(&hy),
        )
        .body("x"),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");

    // The holder pays what the registry says: 76.00, in 低保对象.
    let hy2 = s.sign_in(&w.hy2).await;
    let r = s
        .post(
            "/api/v1/me/premiums",
            Some(&hy2),
            json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry2.psn_no, "year": 2026 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["category"].clone(), r.body["amount"].clone()),
        (json!("minimum_subsistence"), json!("76.00"))
    );
    s.verify_clean().await;
}

/// Issue 13, item 4 (R-R4): a premium is paid only at the relative's insured place, and a
/// second payment for the same person and year is refused before money moves, whichever
/// channel and key it comes with, even when the requests race.
#[tokio::test(flavor = "multi_thread")]
async fn right_place_and_no_duplicate_even_when_payments_race() {
    let w = world().await;
    let s = &w.s;
    let hy = s.sign_in(&w.hy).await;
    let order = |place: &str| json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2026, "insured_place": place });
    // Taiyuan is not where the relative is insured.
    s.post("/api/v1/me/premiums", Some(&hy), order("140100"))
        .await
        .refused(422, "GJ-PREMIUM-WRONG-PLACE");
    assert_eq!(s.balance(&w.hy).await.fen(), 200_000);

    let pay = |key: &'static str, channel: &'static str| {
        s.send(
            s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&hy))
                .header("idempotency-key", key)
                .header("x-gongji-channel", channel)
                .json(&order("140800")),
        )
    };
    let answers = tokio::join!(
        pay("k1", "wechat"),
        pay("k2", "alipay"),
        pay("k3", "wechat"),
        pay("k4", "alipay"),
        pay("k5", "wechat"),
        pay("k6", "alipay"),
    );
    let answers = [
        answers.0, answers.1, answers.2, answers.3, answers.4, answers.5,
    ];
    let paid = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        paid,
        1,
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        r.refused(422, "GJ-PREMIUM-ALREADY-PAID");
    }
    assert_eq!(s.balance(&w.hy).await.fen(), 162_000);
    s.verify_clean().await;
}

/// R-S6: a holder pays a bound employee relative's large-expense supplement and long-term-care
/// premiums from his account where his region allows it; elsewhere he is told why not.
#[tokio::test(flavor = "multi_thread")]
async fn employee_premiums_for_a_relative_where_the_region_allows() {
    let w = world().await;
    let s = &w.s;
    let hy = s.sign_in(&w.hy).await;
    let opts = s
        .get(
            &format!("/api/v1/me/premium-options?relative_psn_no={}", w.ey.psn_no),
            Some(&hy),
        )
        .await;
    let kinds: Vec<(String, String)> = opts.ok()["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().into(),
                o["amount"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("large_expense_premium".to_string(), "120.00".to_string()),
            ("ltc_premium".to_string(), "90.00".to_string())
        ]
    );
    let pay = |kind: &str| json!({ "face_token": "FACE-OK", "relative_psn_no": w.ey.psn_no, "year": 2025, "kind": kind });
    let r = s
        .post(
            "/api/v1/me/premiums",
            Some(&hy),
            pay("large_expense_premium"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["kind"], "large_expense_premium");
    assert_eq!(r.body["holder_balance_after"], "1880.00");
    assert!(r.body["explanation"]
        .as_str()
        .unwrap()
        .contains("2025年度职工大额医疗费用补助120.00元"));
    let r = s
        .post("/api/v1/me/premiums", Some(&hy), pay("ltc_premium"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.post("/api/v1/me/premiums", Some(&hy), pay("ltc_premium"))
        .await
        .refused(422, "GJ-PREMIUM-ALREADY-PAID");
    s.post(
        "/api/v1/me/premiums",
        Some(&hy),
        json!({ "face_token": "FACE-OK", "relative_psn_no": w.ry.psn_no, "year": 2025, "kind": "ltc_premium" }),
    )
    .await
    .refused(422, "GJ-PREMIUM-RELATIVE-NOT-EMPLOYEE");
    assert_eq!(s.balance(&w.hy).await.fen(), 179_000);

    // Zibo lets mutual aid pay the resident premium only: no option, and a clear no.
    let hz = s.sign_in(&w.hz).await;
    let opts = s
        .get(
            &format!("/api/v1/me/premium-options?relative_psn_no={}", w.ez.psn_no),
            Some(&hz),
        )
        .await;
    assert!(opts.ok()["options"].as_array().unwrap().is_empty());
    let r = s
        .post(
            "/api/v1/me/premiums",
            Some(&hz),
            json!({ "face_token": "FACE-OK", "relative_psn_no": w.ez.psn_no, "year": 2025, "kind": "large_expense_premium" }),
        )
        .await;
    r.refused(422, "GJ-PREMIUM-USE-NOT-ALLOWED");
    assert!(r.body["message_zh"]
        .as_str()
        .unwrap()
        .contains("不允许用个人账户共济资金为亲属缴纳职工大额医疗费用补助"));
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn institutions_near_me_without_sign_in() {
    let w = world().await;
    let s = &w.s;
    let r = s
        .get("/api/v1/institutions/near?lat=36.6512&lon=117.1201", None)
        .await;
    let list = r.ok()["institutions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["fixmedins_code"], w.pharmacy.as_str());
    assert_eq!(list[0]["distance_m"], 0);
    assert_eq!(list[1]["fixmedins_code"], w.hospital.as_str());
    // Jinan to Zibo is about 85 km.
    let far = list[2]["distance_m"].as_u64().unwrap();
    assert!((84_000..86_000).contains(&far), "{far}");
    assert!(list[0].get("token").is_none() && list[0].get("paasid").is_none());

    let r = s
        .get(
            "/api/v1/institutions/near?lat=36.6512&lon=117.1201&kind=pharmacy",
            None,
        )
        .await;
    assert_eq!(r.ok()["institutions"].as_array().unwrap().len(), 2);
    let r = s
        .get(
            "/api/v1/institutions/near?lat=36.6512&lon=117.1201&kind=pharmacy&mutual_aid=false",
            None,
        )
        .await;
    assert_eq!(
        r.ok()["institutions"][0]["fixmedins_code"],
        w.zibo_pharmacy.as_str()
    );
    let r = s
        .get(
            "/api/v1/institutions/near?lat=36.6512&lon=117.1201&radius_m=20000",
            None,
        )
        .await;
    assert_eq!(r.ok()["institutions"].as_array().unwrap().len(), 2);
    let r = s
        .get(
            "/api/v1/institutions/near?lat=36.6512&lon=117.1201&limit=1",
            None,
        )
        .await;
    assert_eq!(r.ok()["institutions"].as_array().unwrap().len(), 1);

    for q in [
        "lat=91&lon=117",
        "lat=36&lon=181",
        "lat=abc&lon=117",
        "lon=117",
        "lat=36&lon=117&kind=clinic",
        "lat=36&lon=117&limit=0",
        "lat=36&lon=117&limit=51",
        "lat=36&lon=117&radius_m=-1",
        "lat=NaN&lon=117",
    ] {
        s.get(&format!("/api/v1/institutions/near?{q}"), None)
            .await
            .refused(400, "GJ-API-BAD-REQUEST");
    }
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_json_error_and_changes_nothing() {
    let w = world().await;
    let s = &w.s;
    let hj = s.sign_in(&w.hj).await;
    let audit_before = s.audit_rows().await;
    let balance_before = s.balance(&w.hj).await;

    // Wrong types, missing fields, not JSON, oversize.
    let r = s
        .post(
            "/api/v1/auth/sms-code",
            None,
            json!({ "phone": 13900000001_u64 }),
        )
        .await;
    r.refused(400, "GJ-API-BAD-REQUEST");
    assert!(
        !r.body.to_string().contains("13900000001"),
        "values are not echoed: {}",
        r.body
    );
    s.post("/api/v1/auth/sms-code", None, json!({}))
        .await
        .refused(400, "GJ-API-BAD-REQUEST");
    s.post(
        "/api/v1/me/premiums",
        Some(&hj),
        json!({ "face_token": "FACE-OK", "relative_psn_no": w.rj.psn_no, "year": "2026" }),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    s.post(
        "/api/v1/me/family/bindings",
        Some(&hj),
        json!({ "relative_certno": w.cj.certno }),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    let not_json = s
        .send(
            s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&hj))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    not_json.refused(400, "GJ-API-BAD-REQUEST");
    let no_type = s
        .send(
            s.req(reqwest::Method::POST, "/api/v1/me/premiums", Some(&hj))
                .body("{}"),
        )
        .await;
    no_type.refused(415, "GJ-API-BAD-REQUEST");
    let big = "x".repeat(100 * 1024);
    let r = s
        .post(
            "/api/v1/me/family/commitment",
            Some(&hj),
            json!({ "relative_certno": big, "relative_name": "a", "relationship": "20" }),
        )
        .await;
    r.refused(413, "GJ-API-BODY-TOO-LARGE");

    // Unknown paths and methods are JSON too.
    s.get("/api/v1/nothing-here", None)
        .await
        .refused(404, "GJ-API-NOT-FOUND");
    s.delete("/api/v1/me", Some(&hj))
        .await
        .refused(405, "GJ-API-METHOD-NOT-ALLOWED");
    // Unknown ids.
    s.post(
        "/api/v1/me/family/bindings/424242/unbind",
        Some(&hj),
        json!({}),
    )
    .await
    .refused(404, "GJ-API-NOT-FOUND");
    s.post("/api/v1/me/family/bindings/-1/unbind", Some(&hj), json!({}))
        .await
        .refused(404, "GJ-API-NOT-FOUND");
    s.post(
        "/api/v1/me/family/bindings/99999999999999999999/unbind",
        Some(&hj),
        json!({}),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");

    assert_eq!(s.audit_rows().await, audit_before);
    assert_eq!(s.balance(&w.hj).await, balance_before);
    s.verify_clean().await;
}
