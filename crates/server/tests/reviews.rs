//! Registration and correction requests staff review (R-R7, issue 13 item 5): a person
//! sends a correction of his name, staff reject it with a reason he then reads, he sends it
//! again, staff approve, and the registry holds the new name; a relative's registration is
//! approved into the registry; every step has its audit row; another person neither sees
//! nor decides the request.

mod common;

use common::{world, Browser, PageResp, World, P};

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn person(w: &World, p: &P) -> Browser {
    let token = w.s.sign_in(p).await;
    let mut b = Browser::new(&w.s.base);
    b.cookies.push(("gongji_session".into(), token));
    b
}

async fn clerk(w: &World) -> Browser {
    let token = w.s.staff("clerk1").await;
    let mut b = Browser::new(&w.s.base);
    b.cookies.push(("gongji_session".into(), token));
    b
}

/// The ids of the requests the console lists as waiting, in order.
fn waiting_ids(page: &PageResp) -> Vec<String> {
    page.body
        .split("data-review=\"")
        .skip(1)
        .map(|s| s[..s.find('"').expect("end")].to_string())
        .collect()
}

async fn registered_name(w: &World, psn_no: &str) -> String {
    let p = psn_no.to_string();
    w.s.app
        .read(move |e| {
            e.state()
                .persons
                .get(&p)
                .map(|x| x.name.reveal().to_string())
        })
        .await
        .expect("read")
        .expect("registered")
}

fn audit(w: &World, action: &str) -> i64 {
    w.s.count(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
}

fn valid_certno(first17: &str) -> String {
    format!(
        "{first17}{}",
        gongji_core::idcard::check_char(first17).expect("check digit")
    )
}

#[tokio::test]
async fn a_correction_rejected_with_a_reason_then_sent_again_and_approved_changes_the_registry() {
    let w = world().await;
    let mut me = person(&w, &w.hj).await;
    let mut staff = clerk(&w).await;
    let new_name = "李新华";
    assert_ne!(w.hj.name, new_name);

    let sent = me
        .submit(
            "/h5/requests",
            &form(&[("op", "correct"), ("name", new_name)]),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let mine = me.get("/h5/requests").await;
    assert!(mine.body.contains("待审核"), "{}", mine.body);

    // The console home counts it, and the review tab lists it by name.
    let home = staff.get("/console").await;
    assert!(
        home.body
            .contains("<span class=\"todo-count\">1</span> 待审核的登记与更正申请"),
        "{}",
        home.body
    );
    let list = staff.get("/console/reviews").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&w.hj.name) && list.body.contains(new_name));
    let ids = waiting_ids(&list);
    assert_eq!(ids.len(), 1);

    let reason = "姓名与户口簿不一致，请核对后重新提交";
    let rejected = staff
        .submit(
            "/console/reviews",
            &form(&[("op", "reject"), ("review_id", &ids[0]), ("reason", reason)]),
        )
        .await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    assert_eq!(registered_name(&w, &w.hj.psn_no).await, w.hj.name);

    // He reads the reason in plain Chinese on his own page.
    let mine = me.get("/h5/requests").await;
    assert!(mine.body.contains("未通过"), "{}", mine.body);
    assert!(mine.body.contains(reason), "{}", mine.body);

    // Decided once: a second answer to the same request is refused and changes nothing.
    let again = staff
        .submit(
            "/console/reviews",
            &form(&[("op", "approve"), ("review_id", &ids[0])]),
        )
        .await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("已经审核过"), "{}", again.body);
    assert_eq!(registered_name(&w, &w.hj.psn_no).await, w.hj.name);

    let sent = me
        .submit(
            "/h5/requests",
            &form(&[("op", "correct"), ("name", new_name)]),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let ids = waiting_ids(&staff.get("/console/reviews").await);
    assert_eq!(ids.len(), 1);
    let approved = staff
        .submit(
            "/console/reviews",
            &form(&[("op", "approve"), ("review_id", &ids[0])]),
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(registered_name(&w, &w.hj.psn_no).await, new_name);
    let stored: String =
        w.s.database()
            .connection()
            .query_row(
                "SELECT psn_name FROM persons WHERE psn_no = ?1",
                [&w.hj.psn_no],
                |r| r.get(0),
            )
            .expect("stored");
    assert_eq!(stored, new_name);
    assert!(me.get("/h5/requests").await.body.contains("已通过"));
    assert!(waiting_ids(&staff.get("/console/reviews").await).is_empty());

    assert_eq!(audit(&w, "review_submitted"), 2);
    assert_eq!(audit(&w, "review_rejected"), 1);
    assert_eq!(audit(&w, "review_approved"), 1);
}

#[tokio::test]
async fn an_approved_registration_registers_the_new_resident() {
    let w = world().await;
    let mut me = person(&w, &w.hj).await;
    let mut staff = clerk(&w).await;

    // A wrong check digit is refused before anything is stored, in plain Chinese.
    let first17 = "37010220240301002";
    let good = valid_certno(first17);
    let bad = format!("{first17}{}", if good.ends_with('1') { '2' } else { '1' });
    let refused = me
        .submit(
            "/h5/requests",
            &form(&[
                ("op", "register"),
                ("rname", "王小宝"),
                ("certno", &bad),
                ("region", "370102"),
            ]),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("校验码"), "{}", refused.body);
    assert_eq!(w.s.count("SELECT COUNT(*) FROM review_requests"), 0);

    let sent = me
        .submit(
            "/h5/requests",
            &form(&[
                ("op", "register"),
                ("rname", "王小宝"),
                ("certno", &good),
                ("region", "370102"),
            ]),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let list = staff.get("/console/reviews").await;
    assert!(list.body.contains("王小宝") && list.body.contains(&good));
    let ids = waiting_ids(&list);
    let approved = staff
        .submit(
            "/console/reviews",
            &form(&[("op", "approve"), ("review_id", &ids[0])]),
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let c = good.clone();
    let registered =
        w.s.app
            .read(move |e| e.state().persons.by_certno(&c).cloned())
            .await
            .expect("read")
            .expect("the new resident is registered");
    assert_eq!(registered.name.reveal(), "王小宝");
    assert_eq!(registered.insutype, gongji_core::codes::Insutype::Resident);
    assert_eq!(
        w.s.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'review_approved' AND after_state LIKE '%{}%'",
            registered.psn_no
        )),
        1
    );
}

#[tokio::test]
async fn another_person_neither_sees_nor_decides_a_request() {
    let w = world().await;
    let mut me = person(&w, &w.hj).await;
    let mut other = person(&w, &w.rj).await;
    let sent = me
        .submit(
            "/h5/requests",
            &form(&[("op", "correct"), ("phone", "13912345678")]),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let id: String =
        w.s.database()
            .connection()
            .query_row("SELECT review_id FROM review_requests", [], |r| r.get(0))
            .expect("stored");

    let theirs = other.get("/h5/requests").await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.contains("13912345678"), "{}", theirs.body);

    // A person is sent to the staff sign-in, and the request stays waiting.
    let tried = other
        .submit(
            "/console/reviews",
            &form(&[("op", "approve"), ("review_id", &id)]),
        )
        .await;
    assert_eq!(tried.status, 303, "{}", tried.body);
    assert!(tried
        .location
        .as_deref()
        .unwrap_or("")
        .starts_with("/console"));
    assert_eq!(
        w.s.count("SELECT COUNT(*) FROM review_requests WHERE state = 'pending'"),
        1
    );
    assert_eq!(audit(&w, "review_approved"), 0);
    let p = w.hj.psn_no.clone();
    let phone =
        w.s.app
            .read(move |e| {
                e.state()
                    .persons
                    .get(&p)
                    .map(|x| x.phone.reveal().to_string())
            })
            .await
            .expect("read");
    assert_eq!(phone.as_deref(), Some(w.hj.phone.as_str()));
}

/// Two staff answer one request at the same instant, one approving and one rejecting: the
/// writer lets exactly one of them through, the other is told the request was decided and
/// changes nothing, and the registry agrees with the winner (never a resident registered
/// while his request reads rejected). Raced over several requests, since on a fast machine
/// any one race may happen to run in turn.
#[tokio::test]
async fn two_staff_deciding_one_request_at_once_one_wins_and_the_other_changes_nothing() {
    let w = world().await;
    let mut me = person(&w, &w.hj).await;
    let mut approver = clerk(&w).await;
    let mut rejecter = clerk(&w).await;
    let rounds: i64 = 8;
    for round in 0..rounds {
        let certno = valid_certno(&format!("3701022024030100{round}"));
        let sent = me
            .submit(
                "/h5/requests",
                &form(&[
                    ("op", "register"),
                    ("rname", "王小宝"),
                    ("certno", &certno),
                    ("region", "370102"),
                ]),
            )
            .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        let ids = waiting_ids(&approver.get("/console/reviews").await);
        assert_eq!(ids.len(), 1);
        let approve = form(&[("op", "approve"), ("review_id", &ids[0])]);
        let reject = form(&[
            ("op", "reject"),
            ("review_id", &ids[0]),
            ("reason", "户口簿信息不全"),
        ]);
        let (a, r) = tokio::join!(
            approver.submit("/console/reviews", &approve),
            rejecter.submit("/console/reviews", &reject),
        );
        let won = [a.status, r.status].iter().filter(|s| **s == 303).count();
        assert_eq!(won, 1, "round {round}: {} / {}", a.status, r.status);
        let lost = if a.status == 303 { &r } else { &a };
        assert_eq!(lost.status, 422, "{}", lost.body);
        assert!(lost.body.contains("已经审核过"), "{}", lost.body);

        let c = certno.clone();
        let registered =
            w.s.app
                .read(move |e| e.state().persons.by_certno(&c).is_some())
                .await
                .expect("read");
        let state: String =
            w.s.database()
                .connection()
                .query_row(
                    "SELECT state FROM review_requests WHERE review_id = ?1",
                    [&ids[0]],
                    |row| row.get(0),
                )
                .expect("stored");
        if a.status == 303 {
            assert!(registered, "round {round}");
            assert_eq!(state, "approved");
        } else {
            assert!(!registered, "round {round}: registered while rejected");
            assert_eq!(state, "rejected");
        }
        assert_eq!(
            w.s.count("SELECT COUNT(*) FROM persons WHERE psn_name = '王小宝'")
                + w.s
                    .count("SELECT COUNT(*) FROM review_requests WHERE state = 'rejected'"),
            round + 1,
            "round {round}"
        );
    }
    // One audit row per decision taken, none for the loser.
    assert_eq!(
        audit(&w, "review_approved") + audit(&w, "review_rejected"),
        rounds
    );
}

fn region_codes(body: &serde_json::Value) -> Vec<String> {
    body["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| r["code"].as_str().expect("code").to_string())
        .collect()
}

/// Over REST: a resident of Taiyuan is offered the regions this deployment serves, his own
/// first, each named in Chinese; a region it does not serve is refused before anything is
/// stored; his registration in Zibo is listed for staff, refused a rejection without a
/// reason, approved into the registry, and decided once. Nobody else's list shows it.
#[tokio::test]
async fn over_rest_a_registration_names_a_served_region_and_staff_decide_it_once() {
    use common::{TAIYUAN, ZIBO};
    let w = world().await;
    let me = w.s.sign_in(&w.hs).await;
    let other = w.s.sign_in(&w.hj).await;
    let staff = w.s.staff("clerk1").await;

    let mine = w.s.get("/api/v1/me/requests", Some(&me)).await;
    let body = mine.ok();
    assert_eq!(
        region_codes(body),
        vec![
            TAIYUAN.to_string(),
            common::JINAN.to_string(),
            ZIBO.to_string()
        ]
    );
    assert_eq!(body["regions"][0]["name_zh"], "太原市");
    assert_eq!(body["regions"][2]["name_zh"], "淄博市");
    assert_eq!(body["requests"].as_array().map(Vec::len), Some(0));
    // The H5 form offers the same regions, his own chosen.
    let mut browser = Browser::new(&w.s.base);
    browser.cookies.push(("gongji_session".into(), me.clone()));
    let page = browser.get("/h5/requests").await;
    let at = |code: &str| {
        page.body
            .find(&format!("<option value=\"{code}\""))
            .unwrap_or_else(|| panic!("{code} offered: {}", page.body))
    };
    assert!(at(TAIYUAN) < at(common::JINAN) && at(common::JINAN) < at(ZIBO));
    assert!(page.body.contains(&format!(
        "<option value=\"{TAIYUAN}\" selected>太原市小店区"
    )));
    assert!(page.body.contains("济南市历下区") && page.body.contains("淄博市张店区"));

    let certno = valid_certno("37030320240301002");
    let outside =
        w.s.post(
            "/api/v1/me/requests",
            Some(&me),
            serde_json::json!({
                "kind": "registration", "name": "王小宝", "certno": certno, "region": "110101"
            }),
        )
        .await;
    outside.refused(422, "GJ-REVIEW-REGION-NOT-SERVED");
    assert!(
        outside.body["message_zh"]
            .as_str()
            .unwrap_or("")
            .contains("不在本平台的服务范围内"),
        "{}",
        outside.body
    );
    let on_page = browser
        .submit(
            "/h5/requests",
            &form(&[
                ("op", "register"),
                ("rname", "王小宝"),
                ("certno", &certno),
                ("region", "110101"),
            ]),
        )
        .await;
    assert_eq!(on_page.status, 422, "{}", on_page.body);
    assert!(on_page.body.contains("不在本平台的服务范围内"));
    assert_eq!(w.s.count("SELECT COUNT(*) FROM review_requests"), 0);

    let sent =
        w.s.post(
            "/api/v1/me/requests",
            Some(&me),
            serde_json::json!({
                "kind": "registration", "name": "王小宝", "certno": certno, "region": ZIBO
            }),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["state"], "pending");
    assert_ne!(
        sent.body["certno"],
        certno.as_str(),
        "masked for the applicant"
    );
    let id = sent.body["review_id"].as_str().expect("id").to_string();

    let listed = w.s.get("/api/v1/me/requests", Some(&me)).await;
    assert_eq!(listed.ok()["requests"][0]["review_id"], id.as_str());
    assert_eq!(listed.ok()["requests"][0]["state"], "pending");
    let theirs = w.s.get("/api/v1/me/requests", Some(&other)).await;
    assert_eq!(theirs.ok()["requests"].as_array().map(Vec::len), Some(0));
    // A person cannot read the staff list or decide.
    w.s.get("/api/v1/staff/reviews", Some(&me))
        .await
        .refused(403, "GJ-API-FORBIDDEN");

    let reads = audit(&w, "review_list_read");
    let waiting = w.s.get("/api/v1/staff/reviews", Some(&staff)).await;
    let item = &waiting.ok()["waiting"][0];
    assert_eq!(item["request"]["review_id"], id.as_str());
    assert_eq!(item["request"]["certno"], certno.as_str());
    assert_eq!(item["registered_name"], w.hs.name.as_str());
    assert_eq!(audit(&w, "review_list_read"), reads + 1);

    let decide = |body: serde_json::Value| {
        let id = id.clone();
        let staff = staff.clone();
        let s = &w.s;
        async move {
            s.post(
                &format!("/api/v1/staff/reviews/{id}/decision"),
                Some(&staff),
                body,
            )
            .await
        }
    };
    decide(serde_json::json!({ "decision": "reject", "reason": " " }))
        .await
        .refused(422, "GJ-REVIEW-REASON-MISSING");
    let approved = decide(serde_json::json!({ "decision": "approve" })).await;
    assert_eq!(approved.ok()["state"], "approved");
    let c = certno.clone();
    let registered =
        w.s.app
            .read(move |e| e.state().persons.by_certno(&c).cloned())
            .await
            .expect("read")
            .expect("registered");
    assert_eq!(registered.admdvs.to_string(), ZIBO);
    decide(serde_json::json!({ "decision": "reject", "reason": "重复" }))
        .await
        .refused(422, "GJ-REVIEW-ALREADY-DECIDED");
    assert_eq!(audit(&w, "review_approved"), 1);
    assert_eq!(audit(&w, "review_rejected"), 0);
}

/// Two decisions posted to the REST route at once: one is taken, the other refused with
/// `GJ-REVIEW-ALREADY-DECIDED`, and the person's name is the one the winner left.
#[tokio::test]
async fn over_rest_two_decisions_at_once_one_is_taken() {
    let w = world().await;
    let me = w.s.sign_in(&w.hj).await;
    let clerk = w.s.staff("clerk1").await;
    let admin = w.s.staff("admin1").await;
    for round in 0..4 {
        let new_name = ["李新华", "李新民", "李新国", "李新安"][round];
        let sent =
            w.s.post(
                "/api/v1/me/requests",
                Some(&me),
                serde_json::json!({ "kind": "correction", "name": new_name }),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        let path = format!(
            "/api/v1/staff/reviews/{}/decision",
            sent.body["review_id"].as_str().expect("id")
        );
        let (a, r) = tokio::join!(
            w.s.post(
                &path,
                Some(&clerk),
                serde_json::json!({ "decision": "approve" })
            ),
            w.s.post(
                &path,
                Some(&admin),
                serde_json::json!({ "decision": "reject", "reason": "请携带户口簿到窗口办理" })
            ),
        );
        let taken = [a.status, r.status].iter().filter(|s| **s == 200).count();
        assert_eq!(taken, 1, "round {round}: {} / {}", a.body, r.body);
        let lost = if a.status == 200 { &r } else { &a };
        lost.refused(422, "GJ-REVIEW-ALREADY-DECIDED");
        let name = registered_name(&w, &w.hj.psn_no).await;
        assert_eq!(name == new_name, a.status == 200, "round {round}");
    }
    assert_eq!(
        audit(&w, "review_approved") + audit(&w, "review_rejected"),
        4
    );
}
