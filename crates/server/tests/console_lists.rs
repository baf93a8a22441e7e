//! `/console/lists` (issue 13, item 1): a clerk uploads a department's contribution-category
//! list as a file and reads what became of every row, refused rows first, to the fen; the
//! same list again changes nothing; a file over the pages' limit gets a plain Chinese answer.

mod common;

use common::{csrf_of, world, Browser, Server, STAFF_PASSWORD};

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

/// The page's form as a browser sends it: multipart, the CSRF field, the year and the file.
async fn upload(b: &mut Browser, year: &str, file: &[u8]) -> common::PageResp {
    let boundary = "----gongji-test-boundary-7d3f";
    let csrf = csrf_of(b.cookie("gongji_session").expect("signed in"));
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf.as_str()), ("year", year)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"民政局名单.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = b
        .client
        .post(format!("{}/console/lists", b.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    b.send(req).await
}

/// The text of the table row of file line `line` (tags stripped, spaces squeezed).
fn row_text(body: &str, line: u64) -> String {
    let start = body
        .find(&format!("<tr data-line=\"{line}\""))
        .unwrap_or_else(|| panic!("no row for line {line}"));
    let end = start + body[start..].find("</tr>").expect("row end");
    let mut text = String::new();
    let mut in_tag = false;
    for c in body[start..end].chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn testid(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("data-testid=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id}"));
    let start = at + body[at..].find('>').expect("tag end") + 1;
    let end = start + body[start..].find('<').expect("text end");
    body[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clerk_uploads_a_list_and_reads_every_row() {
    let w = world().await;
    let s = &w.s;
    let mut clerk = console(s, "clerk1").await;

    let page = clerk.get("/console/lists").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("导入缴费人群名单"), "{}", page.body);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(page.body.contains("href=\"/console/lists\""), "the tab");

    let ry2 = &w.ry2.certno;
    let list = format!(
        "身份证号码,人群类别,来源部门,名单日期\n\
         {ry2},低保对象,民政局,2025-09-20\n\
         {ry2},monitored,乡村振兴局,2025-09-22\n\
         110101199001011234,minimum_subsistence,民政局,2025-09-20\n\
         {ry2},minimum_subsistence,民政局,2025/09/20\n\
         {ry2},minimum_subsistence,民政局,2025-09-20\n"
    );
    let audited =
        || s.count("SELECT COUNT(*) FROM audit_log WHERE action = 'contribution_list_imported'");
    assert_eq!(audited(), 0);
    let done = upload(&mut clerk, "2026", list.as_bytes()).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let b = &done.body;
    assert_eq!(
        testid(b, "list-counts"),
        "2026年度：共读到 5 行，新标识 2 行，原已在名单中 1 行，未通过 2 行。"
    );
    assert_eq!(
        testid(b, "list-sources"),
        "名单来源：乡村振兴局（名单日期 2025-09-22）；民政局（名单日期 2025-09-20）"
    );
    // Refused rows first, then the rest in the file's order.
    let order: Vec<u64> = b
        .match_indices("<tr data-line=\"")
        .map(|(i, m)| {
            let rest = &b[i + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(order, vec![4, 5, 2, 3, 6]);
    let masked = gongji_core::pii::mask_certno(ry2);
    let name = gongji_core::pii::mask_name(&w.ry2.name);
    assert_eq!(
        row_text(b, 2),
        format!("第 2 行 {masked} {name} 低保对象 76.00 元 低保对象 已标识")
    );
    // The 100-yuan list does not raise the 76 the person already qualifies for.
    assert_eq!(
        row_text(b, 3),
        format!("第 3 行 {masked} {name} 乡村振兴部门监测对象 76.00 元 低保对象 已标识")
    );
    let nobody = gongji_core::pii::mask_certno("110101199001011234");
    assert!(
        row_text(b, 4).starts_with(&format!(
            "第 4 行 {nobody} minimum_subsistence 未通过 查无此参保人员"
        )),
        "{}",
        row_text(b, 4)
    );
    assert!(
        row_text(b, 4).ends_with("GJ-UNKNOWN-PERSON"),
        "{}",
        row_text(b, 4)
    );
    let bad = row_text(b, 5);
    assert!(
        bad.contains("未通过") && bad.contains("2025/09/20"),
        "{bad}"
    );
    assert!(bad.ends_with("GJ-CATEGORY-LIST-ROW-INVALID"), "{bad}");
    assert_eq!(
        row_text(b, 6),
        format!("第 6 行 {masked} {name} 低保对象 76.00 元 低保对象 原已在名单中，未变")
    );
    assert!(
        !b.contains(ry2.as_str()),
        "the whole ID number is never shown"
    );
    assert_eq!(audited(), 1, "audited as the REST import is");

    // The same list again: nothing new.
    let again = upload(&mut clerk, "2026", list.as_bytes()).await;
    assert_eq!(
        testid(&again.body, "list-counts"),
        "2026年度：共读到 5 行，新标识 0 行，原已在名单中 3 行，未通过 2 行。"
    );

    // A file over the pages' limit is answered in plain words, and nothing is imported.
    let mut big = String::from("身份证号码,人群类别,来源部门,名单日期\n");
    while big.len() <= gongji_nhsa::BODY_BYTES_MAX {
        big.push_str(&format!("{ry2},低保对象,民政局,2025-09-20\n"));
    }
    let too_big = upload(&mut clerk, "2026", big.as_bytes()).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    assert!(
        too_big
            .body
            .contains("文件太大，没有导入。一次最多 1 兆，请把名单分成几个文件，分别导入。"),
        "{}",
        too_big.body
    );
    assert_eq!(audited(), 2, "the big file imported nothing");

    // No file chosen: said so, in Chinese.
    let none = upload(&mut clerk, "2026", b"").await;
    assert_eq!(none.status, 400);
    assert!(none.body.contains("请先选择要导入的名单文件。"));
}
