//! The pages of the people at the window (issue 15): the till a cashier uses, the console a
//! bureau clerk uses, and 亲情账户 (E6), over HTTP as a browser without JavaScript sends them.

mod common;

use common::{form_of, testid, world, Browser, PageResp, World, P};
use gongji_core::codes::ChargeLevel;
use gongji_core::domain::CatalogItem;
use gongji_core::{BasisPoints, Fen};
use gongji_engine::{Command, Request};
use gongji_server::service::auth::Role;
use gongji_server::service::staff::{self, Staff};

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn register_item(w: &World, code: &str, name: &str, cap: Option<i64>) {
    w.s.app
        .submit(Request::new(Command::RegisterCatalogItem(CatalogItem {
            code: code.into(),
            name: name.into(),
            level: ChargeLevel::ClassA,
            price_cap: cap.map(Fen::from_fen),
            selfpay_prop: BasisPoints::ZERO,
        })))
        .await
        .expect("item");
}

async fn first_item(w: &World) -> String {
    w.s.app
        .read(|e| {
            e.state()
                .catalog
                .keys()
                .find(|c| c.starts_with("ITEM"))
                .cloned()
        })
        .await
        .expect("read")
        .expect("an item")
}

/// The demo's open till at `inst`, with `who` read by ID number.
async fn till_with(w: &World, inst: &str, who: &P) -> (Browser, PageResp) {
    let mut b = Browser::new(&w.s.base);
    let page = b.get(&format!("/terminal?inst={inst}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = form_of(&page.body, "read");
    form.extend(owned(&[("cert_type", "02"), ("cert_no", &who.certno)]));
    let page = b.post("/terminal", &form).await;
    assert!(
        page.body.contains("data-testid=\"person\""),
        "{}",
        page.body
    );
    (b, page)
}

async fn add(b: &mut Browser, page: &PageResp, item: &str, count: &str, price: &str) -> PageResp {
    let mut form = form_of(&page.body, "add");
    form.extend(owned(&[("item", item), ("count", count), ("price", price)]));
    b.post("/terminal", &form).await
}

async fn settle(b: &mut Browser, page: &PageResp, holder_cert: &str) -> PageResp {
    let mut form = form_of(&page.body, "settle");
    form.extend(owned(&[("acct", "2"), ("holder_cert", holder_cert)]));
    b.post("/terminal", &form).await
}

/// The text a person reads: the page without its tags (links keep their addresses apart).
fn visible(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn clerk() -> Staff {
    Staff {
        username: "clerk1".into(),
        role: Role::Clerk,
    }
}

#[tokio::test]
async fn a_pharmacy_till_offers_no_ct_or_stent_and_a_hospital_till_does() {
    let w = world().await;
    register_item(&w, "002103000010000", "X线计算机体层(CT)平扫", Some(15_000)).await;
    register_item(
        &w,
        "C0108020020100201032",
        "冠状动脉药物洗脱支架",
        Some(70_000),
    )
    .await;
    register_item(&w, "XJ01CAA040E001010104327", "阿莫西林胶囊", None).await;
    let (mut b, page) = till_with(&w, &w.pharmacy, &w.rj).await;
    assert!(page.body.contains("阿莫西林胶囊"));
    assert!(!page.body.contains("(CT)平扫"), "no CT at a pharmacy");
    assert!(
        !page.body.contains("药物洗脱支架"),
        "no stent at a pharmacy"
    );
    // A form naming the CT anyway is refused and nothing is added.
    let page = add(&mut b, &page, "002103000010000", "1", "150").await;
    assert!(testid(&page.body, "error").is_some(), "{}", page.body);
    assert!(!page.body.contains("data-testid=\"cart\""));
    let (_, page) = till_with(&w, &w.hospital, &w.rj).await;
    assert!(page.body.contains("(CT)平扫") && page.body.contains("药物洗脱支架"));
}

#[tokio::test]
async fn the_till_keeps_the_cashiers_choice_after_an_error_and_empties_the_cart_after_a_cancel() {
    let w = world().await;
    let item = first_item(&w).await;
    let (mut b, page) = till_with(&w, &w.pharmacy, &w.hj).await;
    // A count of 0 is refused; the item, the count and the price typed stay in the form.
    let page = add(&mut b, &page, &item, "0", "12.50").await;
    assert!(testid(&page.body, "error").is_some(), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("<option value=\"{item}\" selected>")),
        "the item stays chosen"
    );
    assert!(
        page.body.contains("value=\"0\" required"),
        "the count stays"
    );
    assert!(page.body.contains("value=\"12.50\""), "the price stays");
    // Settled and cancelled: the next bill starts empty.
    let page = add(&mut b, &page, &item, "1", "12.50").await;
    let page = settle(&mut b, &page, "").await;
    assert!(
        page.body.contains("data-testid=\"receipt\""),
        "{}",
        page.body
    );
    let page = b.post("/terminal", &form_of(&page.body, "cancel")).await;
    assert!(
        page.body.contains("data-testid=\"cancelled\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("data-testid=\"cart\""),
        "the cancelled bill's lines are gone"
    );
    assert_eq!(testid(&page.body, "cart-total"), None);
}

#[tokio::test]
async fn a_suspended_holders_card_is_refused_in_plain_chinese() {
    let w = world().await;
    let item = first_item(&w).await;
    staff::suspend(&w.s.app, &clerk(), w.b_hj_rj, "核查中：疑似冒用")
        .await
        .expect("suspend");
    let (mut b, page) = till_with(&w, &w.pharmacy, &w.rj).await;
    let page = add(&mut b, &page, &item, "1", "20").await;
    let page = settle(&mut b, &page, &w.hj.certno).await;
    let error = testid(&page.body, "error").expect("an error");
    assert!(error.contains("共济已被医保经办机构暂停"), "{error}");
    assert!(
        !error.contains("GJ-"),
        "the code is in its own small line: {error}"
    );
    assert!(!page.body.to_lowercase().contains("credential mismatch"));
    assert!(page.body.contains("咨询时请提供"));
    // The cart is still there to settle another way.
    assert!(page.body.contains("data-testid=\"cart\""));
}

#[tokio::test]
async fn the_receipt_says_why_mutual_aid_did_not_pay() {
    let w = world().await;
    let item = first_item(&w).await;
    // The Zibo pharmacy has not opened mutual aid; rj has no money of his own.
    let (mut b, page) = till_with(&w, &w.zibo_pharmacy, &w.rj).await;
    let page = add(&mut b, &page, &item, "1", "20").await;
    let page = settle(&mut b, &page, "").await;
    assert!(
        page.body.contains("data-testid=\"receipt\""),
        "{}",
        page.body
    );
    assert_eq!(
        testid(&page.body, "r-stop").as_deref(),
        Some("未用共济的原因：本机构未开通共济")
    );
}

/// The relative whose holder's account paid nothing finds the payment in her records with the
/// reason, although no account of anyone moved (all cash), and not among her messages, which
/// tell of account payments.
#[tokio::test]
async fn a_payment_mutual_aid_did_not_join_is_in_the_relatives_records_with_why() {
    let w = world().await;
    let item = first_item(&w).await;
    let (mut b, page) = till_with(&w, &w.zibo_pharmacy, &w.rj).await;
    let page = add(&mut b, &page, &item, "1", "20").await;
    let page = settle(&mut b, &page, "").await;
    assert!(page.body.contains("data-testid=\"receipt\""));
    let token = w.s.sign_in(&w.rj).await;
    let mut r = Browser::new(&w.s.base);
    r.cookies.push(("gongji_session".into(), token));
    let records = r.get("/h5/records").await;
    assert_eq!(records.status, 200);
    let story = testid(&records.body, "story").expect("the payment is listed");
    assert!(story.contains("20.00 元都是现金支付"), "{story}");
    assert_eq!(
        testid(&records.body, "why").as_deref(),
        Some("家人账户没有全部支付的原因：本机构未开通共济")
    );
    let messages = r.get("/h5/messages").await;
    assert!(!messages.body.contains("都是现金支付"));
}

/// A staff member signed in to the console's pages.
async fn console(w: &World, username: &str) -> Browser {
    let mut b = Browser::new(&w.s.base);
    let page = b
        .submit(
            "/console/signin",
            &owned(&[
                ("username", username),
                ("password", common::STAFF_PASSWORD),
                ("next", "/console"),
            ]),
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(b.cookie("gongji_session").is_some());
    b
}

#[tokio::test]
async fn the_console_starts_with_the_work_waiting_and_names_people() {
    let w = world().await;
    staff::suspend(&w.s.app, &clerk(), w.b_hj_rj, "核查中：疑似冒用")
        .await
        .expect("suspend");
    let mut b = console(&w, "auditor1").await;
    let page = b.get("/console").await;
    assert_eq!(page.status, 200);
    let pending = &page.body[page.body.find("data-testid=\"pending\"").expect("pending")..];
    // How much waits, by kind, each a link to its list.
    let at = page
        .body
        .find("data-testid=\"pending-counts\"")
        .expect("the counts");
    let counts = visible(&page.body[at..at + page.body[at..].find("</ul>").expect("end")]);
    assert!(counts.contains("1 已暂停的共济"), "{counts}");
    assert!(counts.contains("0 未结的追回案件"), "{counts}");
    assert!(pending.contains("核查中：疑似冒用"), "why");
    assert!(pending.contains("2025-10-10 10:00:00"), "when");
    assert!(pending.contains("经办人员 clerk1"), "by whom");
    assert!(!page.body.contains("staff:clerk1"));
    assert!(
        !visible(pending).contains(&w.hj.psn_no),
        "a name, not a person number"
    );

    // The person's page: the suspension said, its forms folded until used.
    let page = b.get(&format!("/console/persons/{}", w.hj.psn_no)).await;
    let said = testid(&page.body, "suspension").expect("the suspension is shown");
    assert!(said.contains("核查中：疑似冒用"), "{said}");
    assert!(page.body.contains("<details class=\"fold\">"));
    assert!(!page.body.contains("staff:clerk1"));
}

#[tokio::test]
async fn a_recovery_is_opened_by_picking_one_of_the_holders_payments() {
    let w = world().await;
    let mut b = console(&w, "auditor1").await;
    // Without a binding chosen there is nothing to type a settlement number into.
    let page = b.get("/console/recovery").await;
    assert!(!page.body.contains("name=\"setl_id\" type=\"text\""));
    assert!(page.body.contains("data-testid=\"pick-first\""));
    let page = b
        .get(&format!("/console/recovery?binding={}", w.b_hj_rj))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let payments = &page.body[page.body.find("data-testid=\"payments\"").expect("a list")..];
    assert!(payments.contains(&format!(
        "type=\"radio\" name=\"setl_id\" value=\"{}\"",
        w.setl
    )));
    assert!(
        !payments.contains(&w.setl_cancelled),
        "a cancelled payment is not offered"
    );
    let page = b
        .submit(
            "/console/recovery",
            &owned(&[
                ("op", "open"),
                ("binding_id", &w.b_hj_rj.to_string()),
                ("setl_id", &w.setl),
                ("amount", "40"),
                ("reason", "冒用"),
            ]),
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = b.get("/console/recovery").await;
    let cases = &page.body[page.body.find("data-testid=\"cases\"").expect("cases")..];
    let cases = visible(cases);
    assert!(!cases.contains(&w.hj.psn_no) && !cases.contains(&w.rj.psn_no));
    assert!(cases.contains("经办人员 auditor1"));
}

#[tokio::test]
async fn report_dates_in_the_wrong_order_are_refused_and_regions_are_picked() {
    let w = world().await;
    let mut b = console(&w, "admin1").await;
    let page = b
        .get("/console/reports?from=2025-10-09&to=2025-10-01")
        .await;
    assert!(
        page.body.contains("开始日期不能晚于结束日期"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("from 不能晚于 to"));
    let page = b
        .get("/console/reports?from=2025-10-01&to=2025-10-09")
        .await;
    assert!(page.body.contains("max=\"2025-10-09\""), "from ≤ to");
    assert!(page.body.contains("min=\"2025-10-01\""), "to ≥ from");
    assert!(page
        .body
        .contains("<select id=\"f-admdvs\" name=\"admdvs\">"));
    assert!(
        page.body.contains("<option value=\"3701\">"),
        "济南市 by name"
    );
    assert!(page.body.contains("济南市"));
}

#[tokio::test]
async fn the_report_is_net_of_cancellations_and_recoveries() {
    let w = world().await;
    let mut b = console(&w, "admin1").await;
    let url = "/console/reports?from=2025-10-01&to=2025-10-09&admdvs=3701";
    let before = testid(&b.get(url).await.body, "total-amount").expect("total");
    // The cancelled purchase of 2025-10-02 is not counted; the 100.00 of 2025-10-01 is.
    assert_eq!(before, "100.00");
    let auditor = Staff {
        username: "admin1".into(),
        role: Role::Admin,
    };
    let case = staff::open_recovery(
        &w.s.app,
        &auditor,
        staff::RecoveryOpening {
            binding_id: w.b_hj_rj,
            setl_id: w.setl.clone(),
            amount: Fen::from_yuan(40),
            reason: "冒用".into(),
        },
    )
    .await
    .expect("open");
    staff::record_repayment(&w.s.app, &auditor, case.case_id)
        .await
        .expect("repaid");
    let after = testid(&b.get(url).await.body, "total-amount").expect("total");
    assert_eq!(after, "60.00", "100.00 paid, 40.00 recovered");
}

#[tokio::test]
async fn the_audit_log_reads_in_chinese_with_a_chinese_filter() {
    let w = world().await;
    staff::suspend(&w.s.app, &clerk(), w.b_hj_rj, "核查")
        .await
        .expect("suspend");
    let mut b = console(&w, "admin1").await;
    let page = b.get("/console/audit?action=suspend").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("<option value=\"suspend\" selected>暂停共济</option>"));
    assert_eq!(
        testid(&page.body, "audit-action").as_deref(),
        Some("暂停共济")
    );
    assert!(page.body.contains("经办人员 clerk1"));
    assert!(page.body.contains(&format!("共济绑定 #{}", w.b_hj_rj)));
    assert!(!page.body.contains("<code>suspend</code>"));
    // The stored codes wait folded in each row's details; the rows read in words.
    let page = b.get("/console/audit").await;
    let mut table =
        page.body[page.body.find("data-testid=\"audit\"").expect("audit")..].to_string();
    while let (Some(a), Some(z)) = (table.find("<details>"), table.find("</details>")) {
        table.replace_range(a..z + "</details>".len(), "");
    }
    let shown = visible(&table);
    assert!(
        shown.contains("查看参保人信息") || shown.contains("暂停共济"),
        "{shown}"
    );
    assert!(
        !shown.contains("staff:") && !shown.contains("staff_"),
        "{shown}"
    );
}

/// A person signed in to the H5 pages (the session made through the API's SMS sign-in).
async fn h5(w: &World, who: &P) -> Browser {
    let token = w.s.sign_in(who).await;
    let mut b = Browser::new(&w.s.base);
    b.cookies.push(("gongji_session".into(), token));
    b
}

async fn audit_actions(w: &World, action: &str) -> usize {
    let action = action.to_string();
    w.s.app
        .read(move |e| {
            e.store_mut()
                .audit_log(&gongji_store::read::AuditQuery {
                    action: Some(action),
                    limit: 50,
                    ..Default::default()
                })
                .map(|v| v.len())
        })
        .await
        .expect("read")
        .expect("audit")
}

/// The till, with a person read by e-voucher code.
async fn till_by_voucher(w: &World, inst: &str, code: &str) -> (Browser, PageResp) {
    let mut b = Browser::new(&w.s.base);
    let page = b.get(&format!("/terminal?inst={inst}")).await;
    let mut form = form_of(&page.body, "read");
    form.extend(owned(&[("cert_type", "01"), ("cert_no", code)]));
    let page = b.post("/terminal", &form).await;
    (b, page)
}

#[tokio::test]
async fn a_child_shows_a_parents_e_voucher_with_consent_and_the_parent_pays() {
    let w = world().await;
    let item = first_item(&w).await;
    let (parent, child) = (&w.hz, &w.cj);
    // The parent, signed in, consents; the page says how this differs from mutual aid.
    let mut pb = h5(&w, parent).await;
    let page = pb.get("/h5/proxy").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let difference = testid(&page.body, "proxy-difference").expect("one sentence");
    assert!(difference.contains("家庭共济") && difference.contains("本人账户"));
    let page = pb
        .submit(
            "/h5/proxy",
            &owned(&[
                ("op", "give"),
                ("name", &child.name),
                ("certno", &child.certno),
                ("consent", "yes"),
            ]),
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(audit_actions(&w, "proxy_consent_given").await, 1);

    // The child sees the code to show; someone the parent did not name sees none.
    let mut cb = h5(&w, child).await;
    let code = testid(&cb.get("/h5/proxy").await.body, "proxy-code").expect("a code");
    let mut other = h5(&w, &w.rj).await;
    assert_eq!(
        testid(&other.get("/h5/proxy").await.body, "proxy-code"),
        None
    );

    // At the till the code reads the parent, and the parent's own account pays.
    let (parent_before, child_before) = (w.s.balance(parent).await, w.s.balance(child).await);
    let (mut b, page) = till_by_voucher(&w, &w.pharmacy, &code).await;
    assert!(
        page.body.contains("data-testid=\"person\""),
        "{}",
        page.body
    );
    assert!(testid(&page.body, "proxy-note").is_some());
    let page = add(&mut b, &page, &item, "1", "20").await;
    let mut form = form_of(&page.body, "settle");
    form.extend(owned(&[("acct", "2")]));
    let page = b.post("/terminal", &form).await;
    assert!(
        page.body.contains("data-testid=\"receipt\""),
        "{}",
        page.body
    );
    assert!(testid(&page.body, "receipt-proxy").is_some());
    assert_eq!(
        testid(&page.body, "r-mutual-total").as_deref(),
        Some("0.00")
    );
    assert_eq!(
        w.s.balance(parent).await,
        parent_before.checked_sub(Fen::from_yuan(20)).expect("fen")
    );
    assert_eq!(w.s.balance(child).await, child_before);
    assert_eq!(audit_actions(&w, "proxy_used").await, 1);

    // Withdrawn: the same code reads nobody.
    let page = pb.get("/h5/proxy").await;
    let token = common::field_value(&page.body, "token");
    let page = pb
        .submit("/h5/proxy", &owned(&[("op", "revoke"), ("token", &token)]))
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(audit_actions(&w, "proxy_consent_revoked").await, 1);
    let (_, page) = till_by_voucher(&w, &w.pharmacy, &code).await;
    assert!(!page.body.contains("data-testid=\"person\""));
    assert!(testid(&page.body, "error")
        .expect("refused")
        .contains("已取消授权"));
    w.s.verify_clean().await;
}

#[tokio::test]
async fn a_code_without_consent_reads_nobody_and_only_the_parent_revokes() {
    let w = world().await;
    let (_, page) = till_by_voucher(&w, &w.pharmacy, "QQ0123456789ABCDEF").await;
    assert!(!page.body.contains("data-testid=\"person\""));
    assert!(testid(&page.body, "error").is_some());
    // The child cannot withdraw (nor see the token of) the parent's consent.
    let mut pb = h5(&w, &w.hz).await;
    pb.submit(
        "/h5/proxy",
        &owned(&[
            ("op", "give"),
            ("name", &w.cj.name),
            ("certno", &w.cj.certno),
            ("consent", "yes"),
        ]),
    )
    .await;
    let token = common::field_value(&pb.get("/h5/proxy").await.body, "token");
    assert!(!token.is_empty());
    let mut cb = h5(&w, &w.cj).await;
    let page = cb
        .submit("/h5/proxy", &owned(&[("op", "revoke"), ("token", &token)]))
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(audit_actions(&w, "proxy_consent_revoked").await, 0);
    // Without ticking the consent nothing is given.
    let page = pb
        .submit(
            "/h5/proxy",
            &owned(&[
                ("op", "give"),
                ("name", &w.cj.name),
                ("certno", &w.cj.certno),
            ]),
        )
        .await;
    assert_eq!(page.status, 422);
}
