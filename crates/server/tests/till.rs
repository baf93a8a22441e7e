//! `/terminal`, the institution till, over HTTP (issue 10, finding 1): in production nobody
//! uses it without an operator's sign-in; an operator acts as its own institution only,
//! through the same engine path as the signed interface; forms need the CSRF token and our
//! own Origin; the receipt names who paid for the relative, never the holder's balance. The
//! demo keeps an open till under a 演示 banner.

mod common;

use common::{
    form_of, json_field, testid, world, world_in_production, Browser, PageResp, Server, World, P,
};
use serde_json::Value;

const PASSWORD: &str = "till-password-1";

/// Rows that any settlement or cancel would add.
fn ledger(s: &Server) -> (i64, i64, i64) {
    (
        s.count("SELECT COUNT(*) FROM settlements"),
        s.count("SELECT COUNT(*) FROM settlements WHERE cancelled <> 0"),
        s.count("SELECT COUNT(*) FROM journal"),
    )
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The catalog item every world has.
async fn item(s: &Server) -> String {
    s.app
        .read(|e| e.state().catalog.keys().next().cloned())
        .await
        .expect("read")
        .expect("an item")
}

/// Signs an operator in through `/terminal/signin` (double-submit CSRF cookie first).
async fn sign_in(s: &Server, code: &str, username: &str) -> Browser {
    let mut b = Browser::new(&s.base);
    let page = b.get("/terminal/signin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = common::field_value(&page.body, "csrf");
    assert_eq!(b.cookie("gongji_csrf"), Some(csrf.as_str()));
    let page = b
        .post(
            "/terminal/signin",
            &owned(&[
                ("csrf", &csrf),
                ("inst", code),
                ("username", username),
                ("password", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/terminal"));
    assert!(b.cookie("gongji_session").is_some());
    b
}

/// Reads `who` at the till whose page is `page`.
async fn read(b: &mut Browser, page: &PageResp, who: &P) -> PageResp {
    let mut form = form_of(&page.body, "read");
    form.push(("cert_type".into(), "02".into()));
    form.push(("cert_no".into(), who.certno.clone()));
    b.post("/terminal", &form).await
}

/// Adds one line of `item` at `price` yuan.
async fn add(b: &mut Browser, page: &PageResp, item: &str, price: &str) -> PageResp {
    let mut form = form_of(&page.body, "add");
    form.extend(owned(&[("item", item), ("count", "1"), ("price", price)]));
    b.post("/terminal", &form).await
}

/// Settles the cart with own account, then mutual aid.
async fn settle(b: &mut Browser, page: &PageResp) -> PageResp {
    let mut form = form_of(&page.body, "settle");
    form.extend(owned(&[("acct", "2"), ("holder_cert", "")]));
    b.post("/terminal", &form).await
}

/// The form fields a HIS-less attacker would post to settle `who`'s purchase at `inst`.
fn forged_settle(inst: &str, who: &P, item: &str) -> Vec<(String, String)> {
    owned(&[
        ("op", "settle"),
        ("inst", inst),
        ("channel", "1"),
        ("cert_type", "02"),
        ("cert_no", &who.certno),
        ("psn_no", &who.psn_no),
        ("psn_name", &who.name),
        ("insutype", "390"),
        ("insuplc", common::JINAN),
        ("cart", &format!("{item}:1:10000")),
        ("acct", "2"),
    ])
}

fn forged_cancel(inst: &str, who: &P, setl_id: &str, mdtrt_id: &str) -> Vec<(String, String)> {
    owned(&[
        ("op", "cancel"),
        ("inst", inst),
        ("channel", "1"),
        ("cert_type", "02"),
        ("cert_no", &who.certno),
        ("psn_no", &who.psn_no),
        ("psn_name", &who.name),
        ("insuplc", common::JINAN),
        ("setl_id", setl_id),
        ("setl_mdtrt_id", mdtrt_id),
    ])
}

#[tokio::test]
async fn production_till_refuses_everyone_without_an_operator_session() {
    let w = world_in_production().await;
    let s = &w.s;
    let item = item(s).await;
    let before = ledger(s);
    let balances = (s.balance(&w.hj).await, s.balance(&w.rj).await);
    let mut b = Browser::new(&s.base);

    let page = b.get("/terminal").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/terminal/signin"));
    let page = b.get("/terminal/signin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("收费终端登录"));
    assert!(
        !page.body.contains("data-testid=\"demo-till\""),
        "no demo path in production"
    );

    // Reading a person, settling on their account, cancelling another's settlement: all
    // refused before anything is sent, with or without a CSRF cookie of one's own making.
    b.cookies.push(("gongji_csrf".into(), "x".into()));
    let mut read_form = owned(&[
        ("op", "read"),
        ("inst", &w.pharmacy),
        ("cert_type", "02"),
        ("cert_no", &w.rj.certno),
    ]);
    read_form.push(("csrf".into(), "x".into()));
    let mut settle_form = forged_settle(&w.pharmacy, &w.rj, &item);
    settle_form.push(("csrf".into(), "x".into()));
    let mut cancel_form = forged_cancel(&w.pharmacy, &w.rj, &w.setl, &w.setl);
    cancel_form.push(("csrf".into(), "x".into()));
    for form in [read_form, settle_form, cancel_form] {
        let page = b.post("/terminal", &form).await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(!page.body.contains(&w.rj.name), "{}", page.body);
    }
    assert_eq!(ledger(s), before);
    assert_eq!((s.balance(&w.hj).await, s.balance(&w.rj).await), balances);
    s.verify_clean().await;
}

#[tokio::test]
async fn an_operator_acts_only_as_its_own_institution() {
    let w = world_in_production().await;
    let s = &w.s;
    let item = item(s).await;
    // Institution B (the Jinan pharmacy) settles a purchase through the signed interface.
    let drug = format!(
        r#"{{"druginfo":{{"psn_no":"{psn}","mdtrt_cert_type":"02","mdtrt_cert_no":"{cert}","begntime":"2025-10-10 10:00:00","medfee_sumamt":20.00,"insutype":"390","acct_used_flag":"2","med_type":"41","invono":"INV-B-1"}},"drugdetail":[{{"feedetl_sn":"1","rxno":"","rx_circ_flag":"0","fee_ocur_time":"2025-10-10 10:00:00","med_list_codg":"{item}","medins_list_codg":"{item}","det_item_fee_sumamt":20.00,"cnt":1,"pric":20.00}}]}}"#,
        psn = w.rj.psn_no,
        cert = w.rj.certno,
    );
    let answer: Value =
        serde_json::from_str(&s.signed(&w.pharmacy, "2102", &drug).await).expect("answer");
    assert_eq!(answer["infcode"], 0, "{answer}");
    let setl_b = answer["output"]["setlinfo"]["setl_id"]
        .as_str()
        .expect("setl_id")
        .to_string();
    let mdtrt_b = answer["output"]["setlinfo"]["mdtrt_id"]
        .as_str()
        .expect("mdtrt_id")
        .to_string();

    // An operator of institution A (the Zibo pharmacy).
    s.add_operator(&w.zibo_pharmacy, "till-a", PASSWORD);
    let mut a = sign_in(s, &w.zibo_pharmacy, "till-a").await;
    let page = a.get("/terminal").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&w.zibo_pharmacy));
    assert!(!page.body.contains("演示：收费终端"));
    let csrf = common::field_value(&page.body, "csrf");
    let before = ledger(s);
    let balances = (s.balance(&w.hj).await, s.balance(&w.rj).await);

    // Settling as B, and cancelling B's settlement as B: refused, nothing sent.
    for mut form in [
        forged_settle(&w.pharmacy, &w.rj, &item),
        forged_cancel(&w.pharmacy, &w.rj, &setl_b, &mdtrt_b),
    ] {
        form.push(("csrf".into(), csrf.clone()));
        let page = a.post("/terminal", &form).await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("只能以登录操作员所属机构的身份操作"));
        assert!(!page.body.contains("data-testid=\"receipt\""));
    }
    // Cancelling B's settlement as A: the engine refuses it as another institution's.
    let mut form = forged_cancel(&w.zibo_pharmacy, &w.rj, &setl_b, &mdtrt_b);
    form.push(("csrf".into(), csrf.clone()));
    let page = a.post("/terminal", &form).await;
    assert!(
        page.body.contains("GJ-SETL-OTHER-INSTITUTION"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("data-testid=\"cancelled\""));
    assert_eq!(ledger(s), before);
    assert_eq!((s.balance(&w.hj).await, s.balance(&w.rj).await), balances);
    s.verify_clean().await;
}

#[tokio::test]
async fn till_forms_need_our_origin_and_the_csrf_token() {
    // The demo's open till: a form from another site was accepted before.
    let w = world().await;
    let s = &w.s;
    let mut b = Browser::new(&s.base);
    let page = b.get("/terminal").await;
    assert_eq!(page.status, 200);
    let csrf = common::field_value(&page.body, "csrf");
    let mut form = owned(&[
        ("op", "read"),
        ("inst", &w.pharmacy),
        ("cert_type", "02"),
        ("cert_no", &w.rj.certno),
    ]);
    form.push(("csrf".into(), csrf.clone()));
    let r = b
        .client
        .post(format!("{}/terminal", s.base))
        .header("origin", "http://evil.example")
        .form(&form);
    let refused = b.send(r).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.body.contains(&w.rj.name));
    // Without the token, or with another's: refused too.
    let page = b.post("/terminal", &form[..4]).await;
    assert_eq!(page.status, 403);
    let mut wrong = form[..4].to_vec();
    wrong.push(("csrf".into(), "0".repeat(32)));
    assert_eq!(b.post("/terminal", &wrong).await.status, 403);
    // The same form from our page, with its token, reads the person.
    let page = b.post("/terminal", &form).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&w.rj.name));

    // A signed-in operator's forms: the session's token, nothing else.
    let w = world_in_production().await;
    let s = &w.s;
    s.add_operator(&w.pharmacy, "till-1", PASSWORD);
    let mut b = sign_in(s, &w.pharmacy, "till-1").await;
    let page = b.get("/terminal").await;
    let form = form_of(&page.body, "read");
    let cert = owned(&[("cert_type", "02"), ("cert_no", &w.rj.certno)]);
    let without: Vec<_> = form
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .chain(cert.clone())
        .collect();
    let page = b.post("/terminal", &without).await;
    assert_eq!(page.status, 403);
    let mut pre_session = without.clone();
    pre_session.push((
        "csrf".into(),
        b.cookie("gongji_csrf").unwrap_or("").to_string(),
    ));
    assert_eq!(b.post("/terminal", &pre_session).await.status, 403);
    let with: Vec<_> = form.iter().cloned().chain(cert).collect();
    let r = b
        .client
        .post(format!("{}/terminal", s.base))
        .header("origin", "http://evil.example")
        .form(&with);
    assert_eq!(b.send(r).await.status, 403);
    let page = b.post("/terminal", &with).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&w.rj.name));
    s.verify_clean().await;
}

/// A relative's purchase at the till, paid by the holder's account: the receipt's numbers are
/// the signed interface's, and it shows who paid (masked) but no holder's balance.
async fn journey(w: &World, mut b: Browser, start: &str) {
    let s = &w.s;
    let item = item(s).await;
    let page = b.get(start).await;
    assert_eq!(page.status, 200);
    let page = read(&mut b, &page, &w.rj).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let signed: Value = serde_json::from_str(
        &s.signed(
            &w.pharmacy,
            "1101",
            &format!(
                r#"{{"data":{{"mdtrt_cert_type":"02","mdtrt_cert_no":"{c}","card_sn":"","begntime":"2025-10-10 10:00:00","psn_cert_type":"01","certno":"{c}","psn_name":""}}}}"#,
                c = w.rj.certno
            ),
        )
        .await,
    )
    .expect("answer");
    let name = signed["output"]["baseinfo"]["psn_name"]
        .as_str()
        .expect("name");
    assert!(page.body.contains(name), "{}", page.body);
    let insutype = signed["output"]["insuinfo"][0]["insutype"]
        .as_str()
        .expect("insutype")
        .to_string();

    let page = add(&mut b, &page, &item, "100.00").await;
    assert_eq!(testid(&page.body, "cart-total").as_deref(), Some("100.00"));
    // What the signed interface says this purchase comes to (2101 moves nothing).
    let pre = s
        .signed(
            &w.pharmacy,
            "2101",
            &format!(
                r#"{{"druginfo":{{"psn_no":"{psn}","mdtrt_cert_type":"02","mdtrt_cert_no":"{cert}","begntime":"2025-10-10 10:00:00","medfee_sumamt":100.00,"insutype":"{insutype}","acct_used_flag":"2","med_type":"41"}},"drugdetail":[{{"feedetl_sn":"1","rxno":"","rx_circ_flag":"0","fee_ocur_time":"2025-10-10 10:00:00","med_list_codg":"{item}","medins_list_codg":"{item}","det_item_fee_sumamt":100.00,"cnt":1,"pric":100.00}}]}}"#,
                psn = w.rj.psn_no,
                cert = w.rj.certno,
            ),
        )
        .await;
    assert!(pre.contains("\"infcode\":0"), "{pre}");
    let holder_before = s.balance(&w.hj).await;
    let settlements = ledger(s).0;

    let page = settle(&mut b, &page).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-testid=\"receipt\""),
        "{}",
        page.body
    );
    assert_eq!(ledger(s).0, settlements + 1);
    for (id, field) in [
        ("r-medfee", "medfee_sumamt"),
        ("r-fund", "fund_pay_sumamt"),
        ("r-acct", "acct_pay"),
        ("r-cash", "psn_cash_pay"),
    ] {
        assert_eq!(
            testid(&page.body, id),
            Some(json_field(&pre, "setlinfo", field)),
            "{id}"
        );
    }
    let mutual = testid(&page.body, "r-mutual").expect("mutual aid line");
    assert_eq!(mutual, json_field(&pre, "setlinfo", "acct_mulaid_pay"));
    assert_eq!(mutual, "100.00");
    let holder_after = s.balance(&w.hj).await;
    assert_eq!(holder_before.fen() - holder_after.fen(), 10_000);
    // Who paid, masked; not the holder's name, not what is left or kept on the account.
    let holder = testid(&page.body, "r-holder").expect("holder");
    assert!(holder.contains('*'), "{holder}");
    assert!(!page.body.contains(&w.hj.name), "holder's full name shown");
    for amount in [holder_after, holder_before] {
        assert!(
            !page.body.contains(&amount.to_string()),
            "holder balance {amount} shown on the receipt page"
        );
    }
    assert!(!page.body.contains("支付后余额"));

    let page = b.post("/terminal", &form_of(&page.body, "cancel")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-testid=\"cancelled\""),
        "{}",
        page.body
    );
    assert_eq!(s.balance(&w.hj).await, holder_before);
    s.verify_clean().await;
}

#[tokio::test]
async fn an_operators_journey_equals_the_signed_interface_and_hides_the_holders_balance() {
    let w = world_in_production().await;
    w.s.add_operator(&w.pharmacy, "till-1", PASSWORD);
    let b = sign_in(&w.s, &w.pharmacy, "till-1").await;
    journey(&w, b, "/terminal").await;
    // The sign-in is audited under the operator's name.
    let actors =
        w.s.app
            .read(|e| {
                e.store_mut()
                    .audit_log(&gongji_store::read::AuditQuery {
                        action: Some("operator_sign_in".into()),
                        limit: 10,
                        ..Default::default()
                    })
                    .map(|v| v.into_iter().map(|a| a.row.actor).collect::<Vec<_>>())
            })
            .await
            .expect("read")
            .expect("audit");
    assert_eq!(actors, vec![format!("operator:till-1@{}", w.pharmacy)]);
}

#[tokio::test]
async fn the_demo_keeps_an_open_till_under_a_banner() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b.get(&format!("/terminal?inst={}", w.pharmacy)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("演示：收费终端未登录即可使用，正式部署须由本机构操作员登录"),
        "{}",
        page.body
    );
    assert!(b.cookie("gongji_csrf").is_some());
    journey(&w, b, &format!("/terminal?inst={}", w.pharmacy)).await;
}

#[tokio::test]
async fn wrong_passwords_lock_the_operator_out() {
    let w = world_in_production().await;
    let s = &w.s;
    s.add_operator(&w.pharmacy, "till-1", PASSWORD);
    let mut b = Browser::new(&s.base);
    let page = b.get("/terminal/signin").await;
    let csrf = common::field_value(&page.body, "csrf");
    let attempt = |password: &str| {
        owned(&[
            ("csrf", &csrf),
            ("inst", &w.pharmacy),
            ("username", "till-1"),
            ("password", password),
        ])
    };
    // Another institution's code with the right password is not this account.
    let page = b
        .post(
            "/terminal/signin",
            &owned(&[
                ("csrf", &csrf),
                ("inst", &w.zibo_pharmacy),
                ("username", "till-1"),
                ("password", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(page.status, 401);
    for _ in 0..5 {
        let page = b.post("/terminal/signin", &attempt("wrong-password")).await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("GJ-AUTH-BAD-CREDENTIALS"));
    }
    let page = b.post("/terminal/signin", &attempt(PASSWORD)).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(b.cookie("gongji_session").is_none());
    // Sign-in from another site is refused before the password is looked at.
    let r = b
        .client
        .post(format!("{}/terminal/signin", s.base))
        .header("origin", "http://evil.example")
        .form(&attempt(PASSWORD));
    assert_eq!(b.send(r).await.status, 403);
}
