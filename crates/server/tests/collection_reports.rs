//! Collection reports (issue 13, item 8): residents' premiums of a benefit year against the
//! year before, per region, category, channel and agent, to the fen, as JSON, as CSV and as a
//! console page with a chart; and the console's list of collecting agents (item 2).

mod common;

use common::{form_of, Browser, Fixture, Server, P, STAFF_PASSWORD, YUNCHENG};
use serde_json::{json, Value};

/// A staff member signed in to the console's pages.
async fn console(s: &Server, username: &str) -> Browser {
    let mut b = Browser::new(&s.base);
    let page = b
        .submit(
            "/console/signin",
            &[
                ("username".to_string(), username.to_string()),
                ("password".to_string(), STAFF_PASSWORD.to_string()),
                ("next".to_string(), "/console".to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    b
}

async fn agent_pays(s: &Server, token: &str, batch: &str, year: i32, who: &[&P]) {
    let mut csv = String::from("certno,year,amount\n");
    for p in who {
        csv.push_str(&format!("{},{year},\n", p.certno));
    }
    let r = s
        .send(
            s.req(
                reqwest::Method::POST,
                &format!("/api/v1/agent/payments?batch={batch}&year={year}"),
                Some(token),
            )
            .header("content-type", "text/csv")
            .body(csv),
        )
        .await;
    assert_eq!(
        r.ok()["paid"].as_u64(),
        Some(who.len() as u64),
        "{}",
        r.body
    );
}

async fn holder_pays(s: &Server, token: &str, relative: &P, year: i32) {
    let r = s
        .post(
            "/api/v1/me/premiums",
            Some(token),
            json!({ "face_token": "FACE-OK", "relative_psn_no": relative.psn_no, "year": year }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn line<'a>(report: &'a Value, group: &str) -> &'a Value {
    report["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["group"] == group)
        .unwrap_or_else(|| panic!("no group {group:?} in {report}"))
}

fn figures(l: &Value) -> (i64, &str, i64, &str, i64, &str) {
    (
        l["persons"].as_i64().unwrap(),
        l["amount"].as_str().unwrap(),
        l["prev_persons"].as_i64().unwrap(),
        l["prev_amount"].as_str().unwrap(),
        l["persons_change"].as_i64().unwrap(),
        l["amount_change"].as_str().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_is_reported_per_group_against_the_year_before_to_the_fen() {
    let mut f = Fixture::new();
    let holder = f.employee(YUNCHENG, 20_000);
    let (r1, r2) = (f.resident(YUNCHENG), f.resident(YUNCHENG));
    f.bind(&holder, &r1, 20, "2024-01-01", None);
    f.bind(&holder, &r2, 20, "2024-01-01", None);
    let (a1, a2, a3) = (
        f.resident(YUNCHENG),
        f.resident(YUNCHENG),
        f.resident(YUNCHENG),
    );
    let s = f.start().await;
    let admin = s.staff("admin1").await;
    let clerk = s.staff("clerk1").await;

    // Benefit year 2025, collected in October 2024: the holder pays for r1, the agent for
    // a1 and a2.
    s.set_now("2024-10-10 10:00:00");
    let agent = s
        .post(
            "/api/v1/staff/agents",
            Some(&admin),
            json!({"agent_id": "VC-001", "name": "盐湖区某村委会", "admdvs": "140802", "kind": "village_committee"}),
        )
        .await;
    assert_eq!(agent.status, 201, "{}", agent.body);
    let token = agent.body["token"].as_str().unwrap().to_string();
    let holder_2024 = s.sign_in(&holder).await;
    holder_pays(&s, &holder_2024, &r1, 2025).await;
    agent_pays(&s, &token, "B2024", 2025, &[&a1, &a2]).await;

    // Benefit year 2026, collected in October 2025: a1 is on the 低保 list (76.00).
    s.set_now("2025-10-10 10:00:00");
    let list = format!(
        "certno,category,source_dept,list_date\n{},minimum_subsistence,民政局,2025-09-01\n",
        a1.certno
    );
    let marked = s
        .send(
            s.req(
                reqwest::Method::POST,
                "/api/v1/staff/contribution-lists?year=2026",
                Some(&admin),
            )
            .header("content-type", "text/csv")
            .body(list),
        )
        .await;
    assert_eq!(marked.ok()["marked"], 1, "{}", marked.body);
    let citizen = s.sign_in(&holder).await;
    holder_pays(&s, &citizen, &r1, 2026).await;
    holder_pays(&s, &citizen, &r2, 2026).await;
    agent_pays(&s, &token, "B2025", 2026, &[&a1, &a2, &a3]).await;

    let report = |by: &'static str| {
        let s = &s;
        let clerk = clerk.clone();
        async move {
            let r = s
                .get(
                    &format!("/api/v1/staff/reports/collection?year=2026&by={by}"),
                    Some(&clerk),
                )
                .await;
            r.ok().clone()
        }
    };
    let by_channel = report("channel").await;
    assert_eq!(
        (
            by_channel["year"].as_i64(),
            by_channel["prev_year"].as_i64()
        ),
        (Some(2026), Some(2025))
    );
    assert_eq!(
        figures(line(&by_channel, "agent")),
        (3, "836.00", 2, "760.00", 1, "76.00")
    );
    assert_eq!(line(&by_channel, "agent")["name"], "代收点");
    assert_eq!(
        figures(line(&by_channel, "personal_account")),
        (2, "760.00", 1, "380.00", 1, "380.00")
    );
    assert_eq!(line(&by_channel, "personal_account")["name"], "个人账户");
    assert_eq!(
        figures(&by_channel["total"]),
        (5, "1596.00", 3, "1140.00", 2, "456.00")
    );

    let by_category = report("category").await;
    assert_eq!(
        figures(line(&by_category, "general")),
        (4, "1520.00", 3, "1140.00", 1, "380.00")
    );
    assert_eq!(line(&by_category, "general")["name"], "普通人群");
    assert_eq!(
        figures(line(&by_category, "minimum_subsistence")),
        (1, "76.00", 0, "0.00", 1, "76.00")
    );
    assert_eq!(
        line(&by_category, "minimum_subsistence")["name"],
        "低保对象"
    );

    // Each agent's takings are read by those who manage agents, not at the window.
    s.get(
        "/api/v1/staff/reports/collection?year=2026&by=agent",
        Some(&clerk),
    )
    .await
    .refused(403, "GJ-API-FORBIDDEN");
    let by_agent = s
        .get(
            "/api/v1/staff/reports/collection?year=2026&by=agent",
            Some(&admin),
        )
        .await
        .ok()
        .clone();
    assert_eq!(
        figures(line(&by_agent, "VC-001")),
        (3, "836.00", 2, "760.00", 1, "76.00")
    );
    assert_eq!(line(&by_agent, "VC-001")["name"], "盐湖区某村委会");
    assert_eq!(
        figures(line(&by_agent, "")),
        (2, "760.00", 1, "380.00", 1, "380.00")
    );

    let by_region = report("region").await;
    assert_eq!(by_region["lines"].as_array().unwrap().len(), 1);
    assert_eq!(
        figures(line(&by_region, YUNCHENG)),
        (5, "1596.00", 3, "1140.00", 2, "456.00")
    );

    // The year before against its own year before: 2024 had nothing.
    let earlier = s
        .get(
            "/api/v1/staff/reports/collection?year=2025&by=channel",
            Some(&clerk),
        )
        .await;
    assert_eq!(
        figures(line(earlier.ok(), "agent")),
        (2, "760.00", 0, "0.00", 2, "760.00")
    );

    // The CSV: a BOM, Chinese headers, exact amounts, the total last.
    let csv = s
        .req(
            reqwest::Method::GET,
            "/api/v1/staff/reports/collection.csv?year=2026&by=category",
            Some(&clerk),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let bytes = csv.bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "参保类别代码,参保类别,2026年缴费人数,2026年缴费金额（元）,2025年缴费人数,2025年缴费金额（元）,人数增减,金额增减（元）"
    );
    assert!(
        rows.contains(&"general,普通人群,4,1520.00,3,1140.00,1,380.00"),
        "{text}"
    );
    assert!(
        rows.contains(&"minimum_subsistence,低保对象,1,76.00,0,0.00,1,76.00"),
        "{text}"
    );
    assert_eq!(rows.last(), Some(&",合计,5,1596.00,3,1140.00,2,456.00"));

    // Bad requests and callers who are not staff are refused.
    s.get(
        "/api/v1/staff/reports/collection?year=2026&by=mood",
        Some(&clerk),
    )
    .await
    .refused(400, "GJ-API-BAD-REQUEST");
    let refused = s
        .get(
            "/api/v1/staff/reports/collection?year=2026&by=region",
            Some(&citizen),
        )
        .await;
    assert!(matches!(refused.status, 401 | 403), "{}", refused.body);
    s.get("/api/v1/staff/reports/collection?year=2026&by=region", None)
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");

    // The console page: Chinese names, this year against the last in a chart, the CSV link.
    let mut b = console(&s, "clerk1").await;
    let page = b.get("/console/collection?year=2026&by=channel").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "居民医保缴费进度",
        "代收点",
        "个人账户",
        "2026年缴费人数",
        "836.00",
        "data-testid=\"chart-collection\"",
        "bar-prev",
        "/console/collection.csv?year=2026",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    assert!(page.body.contains("<svg"), "no chart");
    assert!(
        !page.body.contains("value=\"agent\""),
        "a clerk is not offered the report by agent"
    );
    let page = b.get("/console/collection?year=2026&by=category").await;
    assert!(page.body.contains("低保对象") && page.body.contains("普通人群"));
    // Without a year the page opens on the year being collected (the clock is in the
    // 2026 window, in October 2025), not on the calendar year.
    let page = b.get("/console/collection?by=channel").await;
    assert!(
        page.body.contains("2026年缴费人数") && page.body.contains("836.00"),
        "{}",
        page.body
    );
    let csv = b.get("/console/collection.csv?year=2026&by=category").await;
    assert_eq!(csv.status, 200);
    assert!(csv
        .body
        .contains("general,普通人群,4,1520.00,3,1140.00,1,380.00"));
    s.verify_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_lists_agents_with_today_and_only_an_admin_registers_one() {
    let mut f = Fixture::new();
    let (a1, a2) = (f.resident(YUNCHENG), f.resident(YUNCHENG));
    let s = f.start().await;

    // A clerk does not manage agents: no tab, the page and the form are refused.
    let mut clerk = console(&s, "clerk1").await;
    let home = clerk.get("/console").await;
    assert!(!home.body.contains("/console/agents"));
    let page = clerk.get("/console/agents").await;
    assert_eq!(page.status, 403, "{}", page.body);

    let mut admin = console(&s, "admin1").await;
    let page = admin.get("/console/agents").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("还没有登记代收点"));
    let mut form = form_of(&page.body, "add");
    for (k, v) in [
        ("agent_id", "BANK-7"),
        ("name", "盐湖区农商银行网点"),
        ("admdvs", "140802"),
        ("kind", "bank_branch"),
    ] {
        form.push((k.to_string(), v.to_string()));
    }
    let added = admin.post("/console/agents", &form).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("接口令牌只显示这一次"));
    let token = added
        .body
        .split("<code>")
        .nth(1)
        .and_then(|t| t.split("</code>").next())
        .expect("token shown")
        .to_string();
    assert!(token.starts_with("agt_"));

    // The clerk's post of the same form is refused and registers nothing.
    let mut clerk_form = form_of(&page.body, "add");
    clerk_form.retain(|(k, _)| k != "csrf");
    let clerk_page = clerk.get("/console").await;
    let csrf = common::field_value(&clerk_page.body, "csrf");
    clerk_form.push(("csrf".into(), csrf));
    clerk_form.extend(
        [
            ("agent_id", "X-1"),
            ("name", "某校"),
            ("admdvs", "140802"),
            ("kind", "school"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let refused = clerk.post("/console/agents", &clerk_form).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // The agent pays two premiums today; the list shows them, balanced.
    agent_pays(&s, &token, "B1", 2026, &[&a1, &a2]).await;
    let page = admin.get("/console/agents").await;
    assert!(page.body.contains("盐湖区农商银行网点"));
    assert!(page.body.contains("银行网点"));
    assert!(page.body.contains("760.00"), "{}", page.body);
    assert!(page.body.contains("相符"));
    assert!(!page.body.contains("X-1"));
    assert!(!page.body.contains(&token), "the token is shown once only");
    s.verify_clean().await;
}
