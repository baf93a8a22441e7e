//! Cross-province mutual aid between two real `gongji serve` processes (issue 14): Shandong
//! (37) and Shanxi (14), two databases on loopback, the calls between them SM2-signed. The
//! holder's province binds across, grants a quota, the relative spends it at a pharmacy in
//! Shanxi through the institution interface, the holder ends the binding and the rest comes
//! back; `gongji province check` finds every fen, and the holder's account is what it was
//! less what was spent.

mod support;

use gongji_store::testing;
use serde_json::json;
use support::provinces::{self, bind_body, settled, Province, Window, HOLDER, RELATIVE};
use support::{one, person, ITEM_A, YC_PHARM};

#[test]
fn a_quota_crosses_to_shanxi_is_spent_at_a_pharmacy_there_and_the_rest_comes_home() {
    journey(Province::new("14"));
}

/// The same with Shanxi's books on PostgreSQL (skipped without PostgreSQL unless CI=true).
#[test]
fn the_same_journey_with_one_province_on_postgres() {
    let Some(cluster) = testing::shared_or_skip("the_same_journey_with_one_province_on_postgres")
    else {
        return;
    };
    let url = cluster.create_db("two_provinces_b");
    journey(Province::on_postgres("14", &url));
}

fn journey(b: Province) {
    let a = Province::new("37");
    a.knows(&b);
    b.knows(&a);
    let server_a = a.serve(None);
    let server_b = b.serve(None);
    let wa = Window::sign_in(&server_a.base);
    let wb = Window::sign_in(&server_b.base);
    let before = a.env.balances()["psn:YT-H1"];

    let bound = wa
        .post(&format!("/staff/persons/{HOLDER}/quotas"), bind_body("14"))
        .expect("bind");
    assert_eq!(bound.status, 201, "{}", bound.body);
    assert_eq!(bound.body["relative_psn_no"], RELATIVE);
    assert_eq!(
        wb.quota_of(RELATIVE).map(|q| q.0),
        Some("active".to_string()),
        "the binding exists in Shanxi too"
    );

    let granted = wa
        .post(
            &format!("/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/grant"),
            json!({"amount": "300.00"}),
        )
        .expect("grant");
    assert_eq!(granted.status, 200, "{}", granted.body);
    settled(&wa, &wb);
    assert_eq!(wb.quota_of(RELATIVE), Some(("active".to_string(), 30_000)));
    assert_eq!(wa.quota_of(HOLDER), Some(("active".to_string(), 30_000)));

    // The relative buys medicine at a pharmacy in Yuncheng, Shanxi (2102).
    let relative = person(RELATIVE);
    let (setl, _) = server_b.buy(
        &YC_PHARM,
        &relative,
        &relative.certno(),
        "2",
        &one(ITEM_A, "80.00"),
    );
    let spent = 30_000 - wb.quota_of(RELATIVE).expect("quota").1;
    assert!(spent > 0, "the relative paid from the quota");
    assert_eq!(
        spent, setl.acct,
        "what the pharmacy's answer paid from accounts came out of the quota"
    );

    let ended = wa
        .post(
            &format!("/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/end"),
            json!({}),
        )
        .expect("end");
    assert_eq!(ended.status, 200, "{}", ended.body);
    settled(&wa, &wb);
    assert_eq!(wa.quota_of(HOLDER).map(|q| q.0), Some("ended".to_string()));
    assert_eq!(wb.quota_of(RELATIVE).map(|q| q.1), Some(0));

    let (code, out) = provinces::check(&a);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("守恒"), "{out}");
    drop(server_a);
    drop(server_b);
    assert_eq!(
        a.env.balances()["psn:YT-H1"],
        before - spent,
        "the holder has everything back but what was spent in Shanxi"
    );
    a.verify();
    b.verify();
}
