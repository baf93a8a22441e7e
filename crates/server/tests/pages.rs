//! The pages of people and staff over HTTP, without a browser: sign-in by SMS code with the
//! session cookie, the bind journey by plain forms (notice, letter, signature, face step),
//! a refusal in plain Chinese, the premium form, the staff console's report and CSV, and
//! forms posted from another site. The browser tests (`scripts/browser-test.sh`) drive the
//! same pages in Chromium; these run with `cargo test`.

mod common;

use common::{world, P};
use gongji_core::pii::mask_name;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

/// A client that does not follow redirects, keeps its cookies (the session's and the
/// sign-in forms' CSRF cookie) and, like a browser submitting the page's own form, sends the
/// hidden `csrf` field of the last page it was shown.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
    csrf_cookie: Option<String>,
    csrf: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    content_type: String,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            cookie: None,
            csrf_cookie: None,
            csrf: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookies: Vec<String> = [&self.cookie, &self.csrf_cookie]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let req = if cookies.is_empty() {
            req
        } else {
            req.header(COOKIE, cookies.join("; "))
        };
        let resp = req.send().await.expect("http");
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().expect("cookie");
            if let Some(pair) = v.split(';').next() {
                if pair.starts_with("gongji_session=") {
                    self.cookie = (pair != "gongji_session=").then(|| pair.to_string());
                    // Another session: its forms carry another token.
                    self.csrf = None;
                }
                if pair.starts_with("gongji_csrf=") {
                    self.csrf_cookie = Some(pair.to_string());
                }
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().expect("location").to_string());
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().expect("type").to_string())
            .unwrap_or_default();
        let body = resp.text().await.expect("body");
        if body.contains("name=\"csrf\" value=\"") {
            self.csrf = Some(hidden(&body, "csrf"));
        }
        Page {
            status,
            location,
            content_type,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    /// The hidden `csrf` field the form at `path` carries: from the last page shown, or
    /// from the page that shows such forms.
    async fn csrf_for(&mut self, path: &str) -> String {
        if self.csrf.is_none() {
            let page = if path.starts_with("/h5/signin") {
                "/h5/signin"
            } else if path.starts_with("/console") {
                "/console"
            } else {
                "/h5"
            };
            self.get(page).await;
        }
        self.csrf.clone().unwrap_or_default()
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let owned: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.post_owned(path, &owned).await
    }

    async fn post_owned(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let mut form = form.to_vec();
        if !form.iter().any(|(k, _)| k == "csrf") {
            form.push(("csrf".into(), self.csrf_for(path).await));
        }
        let r = self.client.post(format!("{}{path}", self.base)).form(&form);
        self.send(r).await
    }

    async fn sign_in(&mut self, app: &gongji_server::App, p: &P) {
        let page = self
            .post("/h5/signin", &[("op", "code"), ("phone", &p.phone)])
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let code = app.auth.sms.last_code(&p.phone).expect("code sent");
        assert!(
            page.body.contains("演示环境验证码：") && page.body.contains(&code),
            "the demo page shows the code"
        );
        let page = self
            .post(
                "/h5/signin",
                &[
                    ("op", "signin"),
                    ("phone", &p.phone),
                    ("code", &code),
                    ("next", "/h5/family"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/h5/family"));
        assert!(self.cookie.is_some(), "session cookie set");
    }
}

/// The value of the hidden field `name` in a page.
fn hidden(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = body.find(&needle).expect(name) + needle.len();
    let end = body[start..].find('"').expect("end of value");
    body[start..start + end].to_string()
}

const PAGE_BYTES_MAX: usize = 200 * 1024;

#[tokio::test]
async fn sign_in_by_sms_code_sets_the_session_cookie() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b.get("/h5").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/h5/signin?next=%2Fh5"));
    // An unknown phone is answered as a registered one (nothing is sent); a wrong code is
    // refused with its code.
    let page = b
        .post("/h5/signin", &[("op", "code"), ("phone", "13000000000")])
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("f-code"), "{}", page.body);
    assert!(w.s.app.auth.sms.last_code("13000000000").is_none());
    b.post("/h5/signin", &[("op", "code"), ("phone", &w.hj.phone)])
        .await;
    let page = b
        .post(
            "/h5/signin",
            &[("op", "signin"), ("phone", &w.hj.phone), ("code", "000000")],
        )
        .await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("GJ-AUTH-CODE-INVALID"));
    assert!(b.cookie.is_none());
    // A code asked again too soon: the sign-in form stays, the limit explained.
    let page = b
        .post("/h5/signin", &[("op", "resend"), ("phone", &w.hj.phone)])
        .await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("GJ-API-RATE-LIMITED") && page.body.contains("f-code"));

    let mut b = Browser::new(&w.s.base);
    w.s.set_now("2025-10-10 10:05:00");
    b.sign_in(&w.s.app, &w.hz).await;
    let page = b.get("/h5").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("3000.00"), "the balance");
    assert!(page.len_ok());
    // The same cookie is a session of the API too.
    let page = b.get("/api/v1/me").await;
    assert!(page.body.contains(&w.hz.psn_no));
    // Signing out ends it.
    let page = b.post("/h5/signout", &[]).await;
    assert_eq!(page.status, 303);
    assert!(b.cookie.is_none());
    w.s.verify_clean().await;
}

impl Page {
    fn len_ok(&self) -> bool {
        self.body.len() < PAGE_BYTES_MAX
    }
}

#[tokio::test]
async fn a_relative_bound_elsewhere_is_refused_in_plain_chinese() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hz2).await;
    let page = b
        .post(
            "/h5/family/bind",
            &[
                ("op", "check"),
                ("name", &w.rz.name),
                ("certno", &w.rz.certno),
                ("relationship", "20"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-BIND-RELATIVE-ALREADY-BOUND"));
    assert!(page
        .body
        .contains("这位亲属已被其他职工绑定为共济关系人，本地规定一位亲属只能由一位户主绑定。"));
    assert!(page.body.contains("您可以这样做"), "what to do next");
    // A wrong name is refused too, and nothing is bound.
    let page = b
        .post(
            "/h5/family/bind",
            &[
                ("op", "check"),
                ("name", "张三"),
                ("certno", &w.sz.certno),
                ("relationship", "20"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-BIND-"), "{}", page.body);
    let fam = b.get("/api/v1/me/family").await;
    assert!(fam.body.contains("\"as_holder\":[]"), "{}", fam.body);
    w.s.verify_clean().await;
}

#[tokio::test]
async fn the_bind_journey_by_plain_forms_with_the_face_step() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hz2).await;
    let facts = [
        ("name", w.sz.name.as_str()),
        ("certno", w.sz.certno.as_str()),
        ("relationship", "20"),
        ("limit_payment", "80"),
    ];
    let with = |extra: &[(&'static str, String)]| -> Vec<(String, String)> {
        facts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .collect()
    };
    // Step 1 → 2: eligible, the notice.
    let page = b
        .post_owned("/h5/family/bind", &with(&[("op", "check".into())]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("个人账户家庭共济告知书"));
    // Not ticking the notice is explained.
    let page = b
        .post_owned("/h5/family/bind", &with(&[("op", "notice".into())]))
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-BIND-NOTICE-NOT-ACKNOWLEDGED") || page.body.contains("告知书"));
    // Step 2 → 3: the letter and its hash.
    let page = b
        .post_owned(
            "/h5/family/bind",
            &with(&[("op", "notice".into()), ("ack", "1".into())]),
        )
        .await;
    assert!(page.body.contains("家庭共济关系承诺书"));
    let sha = hidden(&page.body, "sha");
    assert_eq!(sha.len(), 64);
    // Step 3 → 4: Zibo asks for the face check (R-Z5).
    let signed = [
        ("op", "sign".to_string()),
        ("ack", "1".to_string()),
        ("sha", sha.clone()),
        ("signature", w.hz2.name.clone()),
    ];
    let page = b.post_owned("/h5/family/bind", &with(&signed)).await;
    assert!(page.body.contains("id=\"s4-h\""), "face step");
    let token = hidden(&page.body, "face_token");
    // A failed check is explained and binds nothing.
    let mut failed = signed.to_vec();
    failed[0].1 = "face".into();
    failed.push(("face_token", "wrong".into()));
    let page = b.post_owned("/h5/family/bind", &with(&failed)).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-FACE-REJECTED"));
    // Step 4 → 5: bound, with the limit.
    let mut ok = signed.to_vec();
    ok[0].1 = "face".into();
    ok.push(("face_token", token));
    let page = b.post_owned("/h5/family/bind", &with(&ok)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-testid=\"bound\""));
    let fam = b.get("/api/v1/me/family").await;
    assert!(
        fam.body.contains(&w.sz.psn_no) && fam.body.contains("\"limit_per_payment\":\"80.00\"")
    );
    // The same letter signed again is a second binding of the same pair: refused.
    let page = b.post_owned("/h5/family/bind", &with(&ok)).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-BIND-"));
    w.s.verify_clean().await;
}

#[tokio::test]
async fn limits_end_date_and_unbind_by_forms() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hj).await;
    let path = format!("/h5/family/{}", w.b_hj_rj);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    let page = b
        .post(
            &path,
            &[
                ("op", "limits"),
                ("limit_payment", "12.5"),
                ("limit_day", "23.4"),
                ("limit_month", ""),
                ("limit_year", "3456"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let page = b.get(page.location.as_deref().expect("back")).await;
    assert!(page.body.contains("12.50"));
    assert!(page.body.contains("每日限额") && page.body.contains("23.40"));
    assert!(page.body.contains("每年限额") && page.body.contains("3456.00"));
    let page = b
        .post(&path, &[("op", "limits"), ("limit_payment", "-1")])
        .await;
    assert_eq!(page.status, 422);
    // The relative sees the binding but may not change it.
    let mut r = Browser::new(&w.s.base);
    r.sign_in(&w.s.app, &w.rj).await;
    let page = r
        .post(&path, &[("op", "limits"), ("limit_payment", "1")])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-API-FORBIDDEN"));
    // Unbinding needs the tick box.
    let page = b.post(&path, &[("op", "unbind")]).await;
    assert_eq!(page.status, 422);
    let page = b.post(&path, &[("op", "unbind"), ("confirm", "1")]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/h5/family?done=unbound"));
    w.s.verify_clean().await;
}

#[tokio::test]
async fn an_end_date_moves_only_earlier_in_shanxi() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hs).await;
    let path = format!("/h5/family/{}", w.b_hs_rs);
    let page = b.get(&path).await;
    assert!(
        page.body.contains("max=\"2026-12-31\""),
        "the date field stops at the end"
    );
    let page = b.post(&path, &[("op", "end"), ("end", "2027-06-30")]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("GJ-BIND-END-ONLY-EARLIER"));
    assert!(page.body.contains("共济结束日期只能提前，不能延后。"));
    let page = b.post(&path, &[("op", "end"), ("end", "2026-06-30")]).await;
    assert_eq!(page.status, 303);
    let page = b.get(page.location.as_deref().expect("back")).await;
    assert!(page.body.contains("2025-01-01 – 2026-06-30"));
    w.s.verify_clean().await;
}

/// Asks for the second factor on the confirmation step, as the holder's tap on 获取验证码
/// does; the code the development sender kept (the page shows it beside 演示).
async fn second_factor(
    b: &mut Browser,
    w: &common::World,
    relative: &str,
    choice: &str,
    key: &str,
) -> String {
    let page = b
        .post(
            "/h5/premium",
            &[
                ("relative", relative),
                ("choice", choice),
                ("key", key),
                ("op", "code"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-testid=\"code-sent\""),
        "{}",
        page.body
    );
    let code =
        w.s.app
            .auth
            .sms
            .last_code(&w.hy.phone)
            .expect("a code was sent");
    assert!(page.body.contains(&code), "the demo shows the code");
    code
}

/// Paying my own resident premium (R-J5): a confirmation step with payee, year, category and
/// amount; the demo's provider (演示) pays at once and the answer says what was paid for which
/// year; that year is not offered again.
#[tokio::test]
async fn a_resident_pays_his_own_premium_with_the_demo_provider() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.uy).await;
    let page = b.get("/h5/premium/self").await;
    assert!(
        page.body.contains("/h5/premium/self?year=2026"),
        "{}",
        page.body
    );
    let page = b.get("/h5/premium/self?year=2026").await;
    let confirm = page
        .body
        .split("data-testid=\"self-confirm\"")
        .nth(1)
        .expect("a confirmation step");
    for shown in [
        "data-testid=\"confirm-year\">2026<",
        "普通人群",
        mask_name(&w.uy.name).as_str(),
    ] {
        assert!(confirm.contains(shown), "{shown} in {confirm}");
    }
    let page = b.post("/h5/premium/self", &[("year", "2026")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let paid = page
        .body
        .split("data-testid=\"self-paid\"")
        .nth(1)
        .expect("paid");
    assert!(paid.contains("2026年度城乡居民医保"), "{paid}");
    assert!(
        !page.body.contains("/h5/premium/self?year=2026"),
        "paid, not offered again"
    );
    let again = b.post("/h5/premium/self", &[("year", "2026")]).await;
    assert_eq!(again.status, 422, "{}", again.body);
    w.s.verify_clean().await;
}

#[tokio::test]
async fn a_premium_paid_by_form_once_even_when_sent_twice() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hy).await;
    let page = b
        .get(&format!("/h5/premium?relative={}", w.ry.psn_no))
        .await;
    assert!(page.body.contains("380.00"), "{}", page.body);
    // No category to pick: the page shows the registry's and its amount (R-R5).
    assert!(!page.body.contains("type=\"radio\""), "{}", page.body);
    let choice = "2026:resident_premium";
    assert!(!page.body.contains("data-testid=\"premium-confirm\""));
    // Before money leaves: payee, year, category and amount (issue 13 item 7).
    let page = b
        .get(&format!(
            "/h5/premium?relative={}&choice={choice}",
            w.ry.psn_no
        ))
        .await;
    let confirm = page
        .body
        .split("data-testid=\"premium-confirm\"")
        .nth(1)
        .expect("a confirmation step");
    for shown in [
        "data-testid=\"confirm-year\">2026<",
        "普通人群",
        "data-testid=\"confirm-amount\">380.00<",
        mask_name(&w.ry.name).as_str(),
    ] {
        assert!(confirm.contains(shown), "{shown} in {confirm}");
    }
    let key = hidden(&page.body, "key");
    let before = w.s.balance(&w.hy).await;
    // Without the second factor no money leaves the account (issue 13 item 7).
    let page = b
        .post(
            "/h5/premium",
            &[
                ("relative", w.ry.psn_no.as_str()),
                ("choice", choice),
                ("key", key.as_str()),
                ("sms_code", "000000"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("data-testid=\"premium-confirm\""));
    assert_eq!(w.s.balance(&w.hy).await, before, "nothing moved");
    let code = second_factor(&mut b, &w, &w.ry.psn_no, choice, &key).await;
    let form = [
        ("relative", w.ry.psn_no.as_str()),
        ("choice", choice),
        ("key", key.as_str()),
        ("sms_code", code.as_str()),
    ];
    let page = b.post("/h5/premium", &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-testid=\"premium-receipt\""));
    let again = b.post("/h5/premium", &form).await;
    assert!(again.body.contains("这笔缴费此前已经完成"));
    assert_eq!(
        w.s.balance(&w.hy).await,
        before
            .checked_sub(gongji_core::Fen::from_yuan(380))
            .expect("fen")
    );
    w.s.verify_clean().await;
}

/// Issue 13 item 7: 用刷脸确认 beside the SMS code. The demo's development face check pays;
/// a failed face check pays nothing and shows the confirmation again.
#[tokio::test]
async fn the_face_check_confirms_a_premium_in_the_demo() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hy).await;
    let choice = "2026:resident_premium";
    let page = b
        .get(&format!(
            "/h5/premium?relative={}&choice={choice}",
            w.ry.psn_no
        ))
        .await;
    let face = page
        .body
        .split("data-testid=\"premium-face\"")
        .nth(1)
        .expect("the face check beside the code");
    assert!(face.contains("用刷脸确认"), "{face}");
    assert!(
        face.contains("value=\"FACE-OK\""),
        "the development token: {face}"
    );
    let key = hidden(&page.body, "key");
    let before = w.s.balance(&w.hy).await;
    let form = |token: &'static str| {
        [
            ("relative", w.ry.psn_no.clone()),
            ("choice", choice.to_string()),
            ("key", key.clone()),
            ("op", "face".to_string()),
            ("face_token", token.to_string()),
        ]
    };
    let failed = form("demo-failed-check");
    let failed: Vec<(&str, &str)> = failed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = b.post("/h5/premium", &failed).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("人脸核验未通过"), "{}", page.body);
    assert!(page.body.contains("data-testid=\"premium-confirm\""));
    assert_eq!(w.s.balance(&w.hy).await, before, "nothing moved");
    let passed = form("FACE-OK");
    let passed: Vec<(&str, &str)> = passed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = b.post("/h5/premium", &passed).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-testid=\"premium-receipt\""));
    assert!(page.body.contains("2026"), "{}", page.body);
    assert_eq!(
        w.s.balance(&w.hy).await,
        before
            .checked_sub(gongji_core::Fen::from_yuan(380))
            .expect("fen")
    );
    w.s.verify_clean().await;
}

/// R-S6: beside the resident premium, the page offers an employee relative's large-expense
/// supplement and long-term-care premiums where the holder's region allows them.
#[tokio::test]
async fn the_premium_page_offers_an_employee_relatives_premiums() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    b.sign_in(&w.s.app, &w.hy).await;
    let page = b
        .get(&format!("/h5/premium?relative={}", w.ey.psn_no))
        .await;
    assert!(page.body.contains("职工大额医疗费用补助"), "{}", page.body);
    assert!(page.body.contains("长期护理保险") && page.body.contains("120.00"));
    let choice = "2025:large_expense_premium";
    let page = b
        .get(&format!(
            "/h5/premium?relative={}&choice={choice}",
            w.ey.psn_no
        ))
        .await;
    let key = hidden(&page.body, "key");
    let code = second_factor(&mut b, &w, &w.ey.psn_no, choice, &key).await;
    let form = [
        ("relative", w.ey.psn_no.as_str()),
        ("choice", choice),
        ("key", key.as_str()),
        ("sms_code", code.as_str()),
    ];
    let page = b.post("/h5/premium", &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("2025年度职工大额医疗费用补助120.00元"));
    w.s.verify_clean().await;
}

#[tokio::test]
async fn staff_console_report_csv_and_roles() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b.get("/console/reports").await;
    assert_eq!(page.status, 303);
    let page = b
        .post(
            "/console/signin",
            &[
                ("username", "admin1"),
                ("password", common::STAFF_PASSWORD),
                ("next", "/console/reports?from=2025-10-01&to=2025-10-31"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let page = b.get(page.location.as_deref().expect("next")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<svg class=\"chart\""), "charts");
    assert!(page.body.contains("100.00"), "the mutual aid of 2025-10-01");
    assert!(page.len_ok());
    let csv = b
        .get("/console/reports.csv?from=2025-10-01&to=2025-10-31")
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv
        .body
        .contains("admdvs,day,kind,kind_name,uses,persons,amount"));
    // The person page is audited; suspend needs a reason.
    let page = b.get(&format!("/console/persons/{}", w.hj.psn_no)).await;
    assert!(page.body.contains(&w.hj.name));
    let page = b
        .post(
            &format!("/console/bindings/{}", w.b_hj_rj),
            &[("op", "suspend"), ("reason", ""), ("back", &w.hj.psn_no)],
        )
        .await;
    assert_eq!(page.status, 400);
    let log = b
        .get(&format!("/console/audit?subject=person:{}", w.hj.psn_no))
        .await;
    assert!(log.body.contains("staff_read_person"));
    // A clerk is shown no recovery form, and the service refuses one anyway.
    let mut c = Browser::new(&w.s.base);
    c.post(
        "/console/signin",
        &[("username", "clerk1"), ("password", common::STAFF_PASSWORD)],
    )
    .await;
    let page = c.get("/console/recovery").await;
    assert!(page.body.contains("data-testid=\"open-not-allowed\""));
    let page = c
        .post(
            "/console/recovery",
            &[
                ("op", "open"),
                ("binding_id", &w.b_hj_rj.to_string()),
                ("setl_id", &w.setl),
                ("amount", "1"),
                ("reason", "x"),
            ],
        )
        .await;
    assert!(page.body.contains("GJ-API-FORBIDDEN"));
    // A person's session is not a staff session.
    let mut p = Browser::new(&w.s.base);
    p.sign_in(&w.s.app, &w.hj).await;
    assert_eq!(p.get("/console/reports").await.status, 303);
    w.s.verify_clean().await;
}

#[tokio::test]
async fn nearby_and_forms_from_other_sites() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b
        .get("/nearby?lat=36.6512&lon=117.1201&kind=pharmacy&radius=10")
        .await;
    assert_eq!(page.status, 200);
    let first = page.body.find("data-code=\"").expect("a list");
    assert!(page.body[first..].starts_with(&format!("data-code=\"{}\"", w.pharmacy)));
    assert!(page.body.contains("<svg class=\"map\""));
    let page = b.get("/nearby?lat=x&lon=1").await;
    assert!(page.body.contains("data-testid=\"error\""));
    // A form posted from another site is refused before anything happens.
    let r = b
        .client
        .post(format!("{}/h5/signin", b.base))
        .header(ORIGIN, "http://evil.example")
        .form(&[("op", "code"), ("phone", w.hj.phone.as_str())]);
    let page = b.send(r).await;
    assert_eq!(page.status, 403);
    assert!(w.s.app.auth.sms.last_code(&w.hj.phone).is_none());
}
