//! Collecting agents (issue 13): staff register an agent; its batch of 1,000 payments is
//! answered row by row (matched by ID number, right place, no duplicates, the registry's
//! category and amount) and its daily statement balances to the fen with the postings.

mod common;

use common::{Fixture, JINAN, YUNCHENG};
use gongji_core::Fen;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_1000_payments_is_answered_row_by_row_and_the_statement_balances() {
    let mut f = Fixture::new();
    let residents: Vec<_> = (0..1000).map(|_| f.resident(YUNCHENG)).collect();
    let elsewhere = f.resident(JINAN);
    let s = f.start().await;

    // Only an admin registers an agent; its token is shown once.
    let clerk = s.staff("clerk1").await;
    let body = json!({"agent_id": "VC-001", "name": "盐湖区某村委会", "admdvs": "140802", "kind": "village_committee"});
    s.post("/api/v1/staff/agents", Some(&clerk), body.clone())
        .await
        .refused(403, "GJ-API-FORBIDDEN");
    let admin = s.staff("admin1").await;
    let agent = s.post("/api/v1/staff/agents", Some(&admin), body).await;
    assert_eq!(agent.status, 201, "{}", agent.body);
    let token = agent.body["token"].as_str().unwrap().to_string();

    // Ten of them are on the civil-affairs list (低保): the registry's category, not the agent's.
    let mut list = String::from("certno,category,source_dept,list_date\n");
    for p in &residents[..10] {
        list.push_str(&format!(
            "{},minimum_subsistence,民政局,2025-09-01\n",
            p.certno
        ));
    }
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
    assert_eq!(marked.ok()["marked"], 10, "{}", marked.body);

    let mut csv = String::from("certno,year,amount\n");
    for (i, p) in residents.iter().enumerate() {
        // Line 501 says the agent collected 1.00 yuan: not what is due.
        let amount = if i == 499 { "1.00" } else { "" };
        csv.push_str(&format!("{},2026,{amount}\n", p.certno));
    }
    csv.push_str(&format!("{},2026,\n", residents[0].certno)); // a second payment
    csv.push_str("110101199001011234,2026,\n"); // nobody's ID number
    csv.push_str(&format!("{},2026,\n", elsewhere.certno)); // insured in Jinan
    let send = |csv: String| {
        s.send(
            s.req(
                reqwest::Method::POST,
                "/api/v1/agent/payments?batch=B20251010&year=2026",
                Some(&token),
            )
            .header("content-type", "text/csv")
            .body(csv),
        )
    };
    let started = std::time::Instant::now();
    let report = send(csv.clone()).await;
    let elapsed = started.elapsed();
    let r = report.ok();
    assert_eq!(
        (r["paid"].as_u64(), r["refused"].as_u64()),
        (Some(999), Some(4)),
        "{r}"
    );
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1003);
    let row = |line: u64| rows.iter().find(|x| x["line"] == line).expect("row");
    assert_eq!(row(2)["category"], "minimum_subsistence");
    assert_eq!(row(2)["amount"], "76.00");
    assert_eq!(row(20)["category"], "general");
    let general = Fen::parse_yuan(row(20)["amount"].as_str().unwrap()).unwrap();
    for (line, code) in [
        (501, "GJ-PREMIUM-AMOUNT-MISMATCH"),
        (1002, "GJ-PREMIUM-ALREADY-PAID"),
        (1003, "GJ-UNKNOWN-PERSON"),
        (1004, "GJ-PREMIUM-WRONG-PLACE"),
    ] {
        assert_eq!(row(line)["status"], "refused");
        assert_eq!(row(line)["code"], code, "line {line}: {}", row(line));
    }
    eprintln!("1,003 rows answered in {elapsed:?}");

    // The day's statement: 999 rows, per category, and the postings agree to the fen.
    let st = s
        .get("/api/v1/agent/statement?date=2025-10-10", Some(&token))
        .await;
    let st = st.ok();
    let total = general
        .checked_mul(989)
        .and_then(|g| g.checked_add(Fen::from_yuan(76).checked_mul(10)?))
        .unwrap();
    assert_eq!(st["rows"], 999, "{st}");
    assert_eq!(st["total"], total.to_string());
    assert_eq!(st["postings_total"], total.to_string());
    assert_eq!(st["balanced"], true);
    assert_eq!(
        st["categories"],
        json!([
            {"category": "general", "rows": 989, "total": general.checked_mul(989).unwrap().to_string()},
            {"category": "minimum_subsistence", "rows": 10, "total": "760.00"},
        ])
    );

    // The same batch sent again pays nothing twice.
    let again = send(csv).await;
    let rows = again.ok()["rows"].as_array().unwrap().clone();
    assert_eq!(
        rows.iter().filter(|x| x["status"] == "replayed").count(),
        999
    );
    let st2 = s
        .get("/api/v1/agent/statement?date=2025-10-10", Some(&token))
        .await;
    assert_eq!(st2.ok()["total"], total.to_string());
    // No token, or a staff token, is not an agent.
    s.get("/api/v1/agent/statement?date=2025-10-10", Some(&admin))
        .await
        .refused(401, "GJ-API-UNAUTHENTICATED");
    s.verify_clean().await;
}
