//! The citizens' pages as a person reads them (issue 15): every page's visible text scanned
//! for developer words and for English on a Chinese page; the citizens' menu without the
//! staff's sites; the site's own 404 page; sign-in errors in Chinese with the tries left and
//! the code's validity; a mistyped ID number said to be one; residents told who can bind
//! them instead of being offered what would be refused; records and messages in plain words;
//! the reason of a suspension; 关怀模式 kept per device.

mod common;

use common::{testid, world, Browser, PageResp, World, P};
use serde_json::json;

/// Words that mean nothing to the person at the window: interface fields and numbers, file
/// names, checksums, placeholders, code tables. `GJ-` codes belong only in the small
/// "咨询时请提供" line, which the scan leaves out.
const FORBIDDEN: &[&str] = &[
    "opter_type",
    "1101",
    "setl_id",
    "psn_no",
    "admdvs",
    "SHA-256",
    "SHA256",
    "校验码",
    ".toml",
    "policies/",
    "占位值",
    "家庭关系代码",
    "版本",
    "GJ-",
    "统筹0.00元",
    "2000-01-01",
    "phone must",
];

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The element that starts at `open` (its `<`), through its matching close tag.
fn element_end(html: &str, open: usize) -> usize {
    let name: String = html[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let (start_tag, end_tag) = (format!("<{name}"), format!("</{name}>"));
    let mut depth = 0usize;
    let mut i = open;
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with(&end_tag) {
            depth -= 1;
            if depth == 0 {
                return i + end_tag.len();
            }
            i += end_tag.len();
        } else if rest.starts_with(&start_tag)
            && rest[start_tag.len()..].starts_with([' ', '>', '\n'])
        {
            depth += 1;
            i += start_tag.len();
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    html.len()
}

/// What a person reads on a page: the text and the labels a screen reader speaks, without the
/// scripts, the parts written in English on purpose (`lang="en"`: the language switch) and the
/// "咨询时请提供" line.
fn visible_text(html: &str) -> String {
    let mut html = html.to_string();
    for marker in [
        "<script",
        "<style",
        " lang=\"en\"",
        "class=\"consult\"",
        // The demo's own notice of the code it sent (six digits, like a region code).
        "data-testid=\"demo-code-box\"",
    ] {
        while let Some(at) = html.find(marker) {
            let open = html[..=at].rfind('<').unwrap_or(at);
            let end = element_end(&html, open);
            html.replace_range(open..end, " ");
        }
    }
    let mut out = String::new();
    let mut rest = html.as_str();
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let gt = rest[lt..].find('>').map_or(rest.len(), |g| lt + g + 1);
        let tag = &rest[lt..gt];
        for attr in ["aria-label=\"", "placeholder=\"", "alt=\"", "title=\""] {
            if let Some(a) = tag.find(attr) {
                let v = &tag[a + attr.len()..];
                out.push(' ');
                out.push_str(&v[..v.find('"').unwrap_or(v.len())]);
            }
        }
        out.push(' ');
        rest = &rest[gt..];
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
}

/// Runs of Latin letters (two or more) in a text.
fn english_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .map(str::to_string)
        .collect()
}

/// Six digits standing alone: an administrative-division (region) code.
fn region_codes(text: &str) -> Vec<String> {
    let is_run = |c: char| c.is_ascii_digit() || c == '*' || c == '.';
    text.split(|c: char| !is_run(c))
        .filter(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Everything wrong with a Chinese page as a person reads it.
fn problems(what: &str, html: &str) -> Vec<String> {
    let text = visible_text(html);
    let mut found = Vec::new();
    for w in FORBIDDEN {
        if text.contains(w) {
            let at = text.find(w).unwrap_or(0);
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(20)
                .map_or(0, |(i, _)| i);
            let ctx: String = text[from..].chars().take(50).collect();
            found.push(format!("{what}: jargon {w:?} in “{}”", ctx.trim()));
        }
    }
    let english = english_words(&text);
    if !english.is_empty() {
        found.push(format!("{what}: English on a Chinese page: {english:?}"));
    }
    let codes = region_codes(&text);
    if !codes.is_empty() {
        found.push(format!("{what}: region codes {codes:?}"));
    }
    found
}

/// A browser signed in as `p` (the API's session is the pages' session too).
async fn signed_in(w: &World, p: &P) -> Browser {
    let token = w.s.sign_in(p).await;
    let mut b = Browser::new(&w.s.base);
    b.cookies.push(("gongji_session".into(), token));
    b
}

fn main_nav(html: &str) -> &str {
    let start = html.find("class=\"mainnav\"").expect("main navigation");
    let end = html[start..]
        .find("</nav>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[tokio::test]
async fn every_citizen_page_speaks_plain_chinese() {
    let w = world().await;
    let mut pages: Vec<(String, PageResp)> = Vec::new();
    let mut anon = Browser::new(&w.s.base);
    let guide = anon.get("/guide").await;
    let mut paths: Vec<String> = vec![
        "/".into(),
        "/guide".into(),
        "/nearby".into(),
        "/nearby?city=370300&kind=pharmacy".into(),
        "/nearby?city=370300&kind=agency".into(),
        "/nearby?lat=x&lon=1".into(),
        "/h5/signin".into(),
        "/no-such-page".into(),
        "/h5/nothing-here".into(),
    ];
    let mut rest = guide.body.as_str();
    while let Some(at) = rest.find("href=\"/guide/") {
        let v = &rest[at + 6..];
        let path = &v[..v.find('"').unwrap_or(0)];
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_string());
        }
        rest = &v[1..];
    }
    assert!(paths.len() > 10, "every region's guide: {paths:?}");
    for p in &paths {
        let page = anon.get(p).await;
        pages.push((p.clone(), page));
    }
    // Sign-in errors.
    let page = anon
        .submit("/h5/signin", &form(&[("op", "code"), ("phone", "1380013")]))
        .await;
    pages.push(("sign-in, short phone".into(), page));
    anon.submit(
        "/h5/signin",
        &form(&[("op", "code"), ("phone", &w.hz.phone)]),
    )
    .await;
    let page = anon
        .submit(
            "/h5/signin",
            &form(&[("op", "signin"), ("phone", &w.hz.phone), ("code", "000000")]),
        )
        .await;
    pages.push(("sign-in, wrong code".into(), page));

    // A holder, a relative, and a refusal.
    for (who, p, extra) in [
        ("holder", &w.hj, vec![format!("/h5/family/{}", w.b_hj_rj)]),
        ("relative", &w.rj, vec![format!("/h5/family/{}", w.b_hj_rj)]),
        (
            "yuncheng holder",
            &w.hy,
            vec![format!("/h5/premium?relative={}", w.ry.psn_no)],
        ),
    ] {
        let mut b = signed_in(&w, p).await;
        for path in [
            "/h5",
            "/h5/family",
            "/h5/family/bind",
            "/h5/records",
            "/h5/messages",
            "/h5/proxy",
            "/h5/requests",
            "/h5/payments",
            "/h5/premium/self",
            "/h5/quotas",
        ]
        .into_iter()
        .map(str::to_string)
        .chain(extra)
        {
            let page = b.get(&path).await;
            if page.status == 303 {
                continue;
            }
            pages.push((format!("{who} {path}"), page));
        }
    }
    for added in ["/h5/payments", "/h5/premium/self", "/h5/requests"] {
        assert!(
            pages.iter().any(|(k, _)| k.ends_with(added)),
            "{added} was scanned"
        );
    }
    let mut b = signed_in(&w, &w.hz2).await;
    let page = b
        .submit(
            "/h5/family/bind",
            &form(&[
                ("op", "check"),
                ("name", &w.rz.name),
                ("certno", &w.rz.certno),
                ("relationship", "20"),
            ]),
        )
        .await;
    assert_eq!(page.status, 422);
    pages.push(("bind refused".into(), page));
    let page = b
        .submit(
            "/h5/family/bind",
            &form(&[
                ("op", "check"),
                ("name", &w.sz.name),
                ("certno", &w.sz.certno),
                ("relationship", "20"),
            ]),
        )
        .await;
    pages.push(("bind notice".into(), page));

    let mut all = Vec::new();
    for (what, page) in &pages {
        assert!(
            page.body.contains("<html lang=\"zh-CN\""),
            "{what}: a Chinese page ({})",
            page.status
        );
        all.extend(problems(what, &page.body));
    }
    assert!(
        all.is_empty(),
        "{} problems:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[tokio::test]
async fn the_citizens_menu_offers_only_citizens_things() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    for path in ["/", "/guide", "/nearby", "/h5/signin", "/no-such-page"] {
        let page = b.get(path).await;
        let nav = main_nav(&page.body);
        assert!(
            !nav.contains("/terminal") && !nav.contains("/console"),
            "{path}: the citizens' menu links to a staff site: {nav}"
        );
        assert!(nav.contains("href=\"/h5\"") && nav.contains("href=\"/nearby\""));
    }
    let home = b.get("/").await;
    assert!(
        !home.body.contains("href=\"/terminal\"") && !home.body.contains("href=\"/console\""),
        "the home page sends no one to the staff's sites"
    );
    // The staff's sites are there at their own addresses, with their own menu.
    let till = b.get("/terminal/signin").await;
    assert_eq!(till.status, 200);
    assert!(!main_nav(&till.body).contains("href=\"/h5\""));
    let console = b.get("/console").await;
    assert_eq!(console.status, 200);
    assert!(!main_nav(&console.body).contains("href=\"/h5\""));
}

/// Where this platform has joined no other province, the quota page says so and offers no
/// form to fill in for nothing.
#[tokio::test]
async fn without_other_provinces_the_quota_page_offers_no_form() {
    let w = world().await;
    let mut b = signed_in(&w, &w.hy).await;
    let page = b.get("/h5/quotas").await;
    assert!(
        page.body.contains("data-testid=\"error\""),
        "the page says why: {}",
        page.body
    );
    assert!(
        !page.body.contains("data-testid=\"quota-bind\""),
        "no bind form when there is no province to choose"
    );
}

#[tokio::test]
async fn an_unknown_address_gets_the_sites_own_404_page() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b.get("/h5/no-such-thing").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("data-testid=\"error-page\""));
    assert!(page.body.contains("页面不存在"));
    assert!(page.body.contains("href=\"/\""), "a way back home");
    assert!(page.body.contains("/static/app.css"), "in the site's style");
    // The API keeps its JSON answer.
    let api = b.get("/api/v1/no-such-thing").await;
    assert_eq!(api.status, 404);
    assert!(api.body.starts_with('{'));
}

#[tokio::test]
async fn sign_in_errors_are_chinese_with_tries_left_and_the_code_stays() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b
        .submit(
            "/h5/signin",
            &form(&[("op", "code"), ("phone", "1380013800")]),
        )
        .await;
    assert_eq!(page.status, 400);
    let text = visible_text(&page.body);
    assert!(text.contains("请输入11位手机号码"), "{text}");
    assert!(
        !text.contains("phone must"),
        "no English on the Chinese page"
    );

    let page = b
        .submit(
            "/h5/signin",
            &form(&[("op", "code"), ("phone", &w.hj.phone)]),
        )
        .await;
    assert!(page.body.contains("f-code"));
    assert!(
        page.body.contains("验证码在 10:05 前有效"),
        "the time the code is valid until, without a script"
    );
    assert!(page.body.contains("data-secs=\"300\""), "the countdown");
    let page = b
        .submit(
            "/h5/signin",
            &form(&[("op", "signin"), ("phone", &w.hj.phone), ("code", "000000")]),
        )
        .await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("还可以再试4次"), "tries left");
    assert!(page.body.contains("f-code"), "the code box stays");
    // Asked again for a code while the one sent is valid: the box stays.
    let page = b
        .submit(
            "/h5/signin",
            &form(&[("op", "code"), ("phone", &w.hj.phone)]),
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("f-code"), "the code box stays");
    // A phone no one registered counts down alike: nothing tells it apart.
    let mut u = Browser::new(&w.s.base);
    u.submit(
        "/h5/signin",
        &form(&[("op", "code"), ("phone", "13000000000")]),
    )
    .await;
    let page = u
        .submit(
            "/h5/signin",
            &form(&[
                ("op", "signin"),
                ("phone", "13000000000"),
                ("code", "000000"),
            ]),
        )
        .await;
    assert!(page.body.contains("还可以再试4次"));
    // Five wrong tries spend the code: a new one is needed, said so.
    for _ in 0..3 {
        b.submit(
            "/h5/signin",
            &form(&[("op", "signin"), ("phone", &w.hj.phone), ("code", "000000")]),
        )
        .await;
    }
    let page = b
        .submit(
            "/h5/signin",
            &form(&[("op", "signin"), ("phone", &w.hj.phone), ("code", "000000")]),
        )
        .await;
    assert!(
        page.body.contains("请重新获取验证码"),
        "{}",
        visible_text(&page.body)
    );
}

#[tokio::test]
async fn a_mistyped_id_number_is_said_to_be_one() {
    let w = world().await;
    let mut b = signed_in(&w, &w.hz2).await;
    let mut wrong = w.sz.certno.clone();
    let last = wrong.pop().expect("18 characters");
    wrong.push(if last == '1' { '2' } else { '1' });
    let page = b
        .submit(
            "/h5/family/bind",
            &form(&[
                ("op", "check"),
                ("name", &w.sz.name),
                ("certno", &wrong),
                ("relationship", "20"),
            ]),
        )
        .await;
    let text = visible_text(&page.body);
    assert!(text.contains("身份证号码的最后一位不对"), "{text}");
    assert!(!text.contains("查无此参保人员"));
}

#[tokio::test]
async fn a_resident_is_told_who_can_bind_her_instead_of_being_refused() {
    let w = world().await;
    let mut b = signed_in(&w, &w.rj).await;
    let family = b.get("/h5/family").await;
    assert!(
        !family.body.contains("data-testid=\"bind-new\""),
        "no +绑定家人"
    );
    assert!(family.body.contains("请参加职工医保的子女绑定您"));
    let account = b.get("/h5").await;
    assert!(!account.body.contains("href=\"/h5/family/bind\""));
    assert!(
        !account.body.contains("href=\"/h5/premium\""),
        "no premium for others"
    );
    assert!(account.body.contains("请参加职工医保的子女绑定您"));
    let bind = b.get("/h5/family/bind").await;
    assert_eq!(bind.status, 303);
    assert_eq!(bind.location.as_deref(), Some("/h5/family"));
    // A holder is offered both.
    let mut h = signed_in(&w, &w.hj).await;
    let family = h.get("/h5/family").await;
    assert!(family.body.contains("data-testid=\"bind-new\""));
    assert!(h.get("/h5").await.body.contains("href=\"/h5/premium\""));
}

#[tokio::test]
async fn records_and_messages_say_who_where_and_whose_account() {
    let w = world().await;
    let mut h = signed_in(&w, &w.hj).await;
    let page = h.get("/h5/records").await;
    assert!(page.body.contains("<details"), "the filters folded away");
    let text = visible_text(&page.body);
    assert!(!text.contains("期初"), "no opening-balance line: {text}");
    assert!(
        text.contains("在测试机构") && text.contains("从您的账户支付了"),
        "{text}"
    );
    let messages = h.get("/h5/messages").await;
    let text = visible_text(&messages.body);
    assert!(
        text.contains("从您的账户支付了"),
        "the holder is told: {text}"
    );
    // The relative: money paid for her is not her money going out.
    let mut r = signed_in(&w, &w.rj).await;
    let page = r.get("/h5/records").await;
    let row = page
        .body
        .split("<tr ")
        .find(|r| r.contains("data-role=\"paid_by_holder\"") && r.contains("为您支付了"))
        .expect("a payment by the holder");
    assert!(
        row.contains("amt-other"),
        "not shown as her own outflow: {row}"
    );
    assert!(!row.contains(">-"), "no minus sign: {row}");
    assert!(row.contains("的账户为您支付了"), "{row}");
}

#[tokio::test]
async fn the_holder_sees_why_the_bureau_suspended_a_binding() {
    let w = world().await;
    let clerk = w.s.staff("clerk1").await;
    w.s.post(
        &format!("/api/v1/staff/bindings/{}/suspend", w.b_hj_rj),
        Some(&clerk),
        json!({ "reason": "亲属关系证明材料待核实" }),
    )
    .await
    .ok();
    let mut h = signed_in(&w, &w.hj).await;
    let page = h.get(&format!("/h5/family/{}", w.b_hj_rj)).await;
    assert!(page.body.contains("data-testid=\"suspension\""));
    let text = visible_text(&page.body);
    assert!(
        text.contains("亲属关系证明材料待核实"),
        "the clerk's reason: {text}"
    );
    assert!(text.contains("医保经办机构"), "what to do");
}

#[tokio::test]
async fn care_mode_is_kept_per_device_and_simplifies_the_home_page() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let home = b.get("/").await;
    assert!(
        home.body.contains("href=\"/care?on=1&amp;next=%2F\"") || home.body.contains("/care?on=1")
    );
    let on = b.get("/care?on=1&next=%2Fnearby").await;
    assert_eq!(on.status, 303);
    assert_eq!(on.location.as_deref(), Some("/nearby"));
    assert_eq!(b.cookie("care"), Some("1"));
    let home = b.get("/").await;
    assert!(home.body.contains("<html lang=\"zh-CN\" class=\"care\">"));
    assert!(home.body.contains("data-testid=\"care-home\""));
    let tiles = home.body.matches("class=\"care-tile\"").count();
    assert_eq!(tiles, 4, "the four things an older person does");
    let off = b.get("/care?on=0&next=%2F").await;
    assert_eq!(off.status, 303);
    assert!(!b.get("/").await.body.contains("class=\"care\""));
    // Only our own pages as the way back.
    let away = b.get("/care?on=1&next=https%3A%2F%2Fevil.example").await;
    assert_eq!(away.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn nearby_follows_the_position_searches_by_name_and_opens_the_map_apps() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    // Located in Zibo, the city box says Zibo; no coordinate boxes are shown to people.
    let page = b.get("/nearby?lat=36.8131&lon=118.0549").await;
    assert!(
        page.body.contains("<option value=\"370300\" selected>"),
        "the city follows the position"
    );
    assert!(!page.body.contains("id=\"f-lat\"") && !page.body.contains("id=\"f-lon\""));
    assert!(!page.body.contains("geo:"), "no geo: link");
    // Address, telephone and opening hours from the registry.
    let text = visible_text(&page.body);
    assert!(text.contains("地址：历下区测试路"), "{text}");
    assert!(text.contains("营业时间：每天 08:00–21:00"));
    assert!(page.body.contains("href=\"tel:0531880"));
    // Navigation in the forms the map apps document.
    let page = b
        .get("/nearby?lat=36.6512&lon=117.1201&kind=pharmacy")
        .await;
    for prefix in [
        "https://uri.amap.com/marker?position=117.120100,36.651200&#38;name=",
        "https://api.map.baidu.com/marker?location=36.651200,117.120100&#38;title=",
        "https://apis.map.qq.com/uri/v1/marker?marker=coord:36.651200,117.120100;title:",
    ] {
        let at = page.body.find("uri.amap").unwrap_or(0);
        assert!(
            page.body.contains(prefix),
            "{prefix} in {}",
            &page.body[at..(at + 300).min(page.body.len())]
        );
    }
    // A name search lists only the institutions whose name has those characters.
    let all = b.get("/nearby?city=370100&radius=100").await;
    let names = |body: &str| -> Vec<String> {
        body.split("class=\"inst-name\">")
            .skip(1)
            .map(|s| s[..s.find('<').unwrap_or(0)].to_string())
            .collect()
    };
    let every = names(&all.body);
    assert!(every.len() >= 2, "{every:?}");
    let wanted = every[0].clone();
    let found = b
        .get(&format!(
            "/nearby?city=370100&radius=100&q={}",
            wanted
                .bytes()
                .map(|c| format!("%{c:02X}"))
                .collect::<String>()
        ))
        .await;
    assert_eq!(names(&found.body), vec![wanted]);
}

/// R-J6: the agencies (经办机构) are found beside the institutions, by name too, with their
/// address, telephone, office hours and the map apps' links; they are not offered where only
/// a kind of institution or mutual aid is asked for.
#[tokio::test]
async fn nearby_lists_the_agencies_with_their_contacts_and_map_links() {
    let w = world().await;
    let mut b = Browser::new(&w.s.base);
    let page = b.get("/nearby?city=370300").await;
    let agency = testid(&page.body, "agency");
    assert_eq!(agency.as_deref(), Some("办理参保、共济绑定，当面咨询"));
    let text = visible_text(&page.body);
    assert!(text.contains("淄博市医疗保障服务中心"), "{text}");
    assert!(text.contains("地址：张店区人民西路1号"));
    assert!(text.contains("办公时间：周一至周五 09:00–17:00"));
    assert!(page.body.contains("href=\"tel:05333170000\""));
    assert!(page
        .body
        .contains("https://uri.amap.com/marker?position=118.050000,36.820000&#38;name="));
    // Searched by name.
    let found = b
        .get("/nearby?city=370300&q=%E5%8C%BB%E7%96%97%E4%BF%9D%E9%9A%9C")
        .await;
    let text = visible_text(&found.body);
    assert!(text.contains("淄博市医疗保障服务中心"), "{text}");
    assert!(!found.body.contains(&w.zibo_pharmacy));
    // Only the agencies, or none where a kind of institution or mutual aid is asked.
    let only = b.get("/nearby?city=370300&kind=agency").await;
    assert!(only.body.contains("淄博市医疗保障服务中心"));
    assert!(!only.body.contains(&w.zibo_pharmacy));
    for path in [
        "/nearby?city=370300&kind=pharmacy",
        "/nearby?city=370300&aid=1",
    ] {
        assert!(
            !b.get(path).await.body.contains("淄博市医疗保障服务中心"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_records_say_why_mutual_aid_paid_less() {
    let mut f = common::Fixture::new();
    let pharmacy = f.institution(
        common::JINAN,
        gongji_core::codes::InstitutionKind::Pharmacy,
        36.65,
        117.12,
        true,
    );
    let item = f.item();
    let holder = f.employee(common::JINAN, 500);
    let relative = f.resident(common::JINAN);
    f.bind_limited(&holder, &relative, 12, 30);
    f.buy(&relative, &pharmacy, &item, 100, "2025-10-01 15:30:00");
    let s = f.start().await;
    let token = s.sign_in(&relative).await;
    let mut b = Browser::new(&s.base);
    b.cookies.push(("gongji_session".into(), token));
    let page = b.get("/h5/records").await;
    let text = visible_text(&page.body);
    assert!(
        text.contains("超出户主设置的单笔限额30.00元"),
        "the limit is said: {} {:?} {}",
        page.status,
        page.location,
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    assert!(!text.contains("R-S3"), "no rule references");
    let messages = visible_text(&b.get("/h5/messages").await.body);
    assert!(
        messages.contains("超出户主设置的单笔限额30.00元"),
        "{messages}"
    );
}
