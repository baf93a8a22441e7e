//! Provinces as peers (issue 14), two servers in one test process, each with its own books
//! (the transport's in-memory ledger): signed calls both ways, the whole quota journey
//! through the outbox driver, a refusal that releases, a peer that is down and comes back,
//! and calls that are refused before they touch anything.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, Server};
use gongji_core::ledger::LedgerAccount;
use gongji_core::quota::QuotaParties;
use gongji_core::Fen;
use gongji_nhsa::open_envelope::{signing_key_from_bytes, SigningKey};
use gongji_nhsa::peer_auth::{
    self, SignedRequest, HEADER_NONCE, HEADER_PROVINCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
use gongji_server::peer::ledger::{Figures, QuotaLedger};
use gongji_server::peer::memory::MemoryLedger;
use gongji_server::peer::service::{self, BindAsk};
use gongji_server::peer::{conservation, outbox, wire, Peer, Peers};

const A: u32 = 37;
const B: u32 = 44;
const HOLDER: &str = "37000000000000000001";
const RELATIVE: &str = "44000000000000000009";
const RELATIVE_CERTNO: &str = "440103199001011234";

fn key(seed: u8) -> SigningKey {
    signing_key_from_bytes(&[seed; 32]).expect("key")
}

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y)
}

struct Provinces {
    a: Server,
    b: Server,
    a_books: Arc<MemoryLedger>,
    b_books: Arc<MemoryLedger>,
}

/// Province `code`'s neighbour at `url`, whose answers `seed`'s key signs.
fn peer(code: u32, url: String, seed: u8) -> Peer {
    Peer {
        code,
        url,
        key: key(seed).verifying_key().clone(),
    }
}

/// Province A (key 1) serving registry `fa` with books `a_books`, and province B (key 2)
/// serving `fb` with `b_books`, each knowing the other; each runs its outbox driver when
/// `drive`.
async fn two_provinces(
    (fa, a_books): (Fixture, MemoryLedger),
    (fb, b_books): (Fixture, MemoryLedger),
    drive: bool,
) -> Provinces {
    let la = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url_a = format!("http://{}", la.local_addr().expect("addr"));
    let url_b = format!("http://{}", lb.local_addr().expect("addr"));
    let a_books = Arc::new(a_books);
    let b_books = Arc::new(b_books);
    let peers_a = Peers::new(A, key(1), vec![peer(B, url_b, 2)]).with_ledger(a_books.clone());
    let peers_b = Peers::new(B, key(2), vec![peer(A, url_a, 1)]).with_ledger(b_books.clone());
    let a = fa.start_on(la, |app| app.with_peers(peers_a)).await;
    let b = fb.start_on(lb, |app| app.with_peers(peers_b)).await;
    for s in [&a, &b].into_iter().filter(|_| drive) {
        let peers = s.app.peers.clone().expect("peers");
        tokio::spawn(outbox::drive(peers, s.app.peer_wake.clone()));
    }
    Provinces {
        a,
        b,
        a_books,
        b_books,
    }
}

/// Two provinces with the holder's 1,000 yuan in A's books and `b_books` in B.
async fn provinces_driven(b_books: MemoryLedger, drive: bool) -> Provinces {
    let a_books = MemoryLedger::new(A).with_person("370102198001011234", HOLDER, yuan(1000));
    two_provinces((Fixture::new(), a_books), (Fixture::new(), b_books), drive).await
}

async fn provinces(b_books: MemoryLedger) -> Provinces {
    provinces_driven(b_books, true).await
}

fn insured_in_b() -> MemoryLedger {
    MemoryLedger::new(B).with_person(RELATIVE_CERTNO, RELATIVE, Fen::ZERO)
}

fn bind_ask() -> BindAsk {
    BindAsk {
        holder_psn_no: HOLDER.to_string(),
        province: B,
        relative_certno: RELATIVE_CERTNO.to_string(),
        relative_name: "张三".to_string(),
        relationship: "10".to_string(),
        begin: "2026-01-01".to_string(),
    }
}

/// Waits until both outboxes are empty (the drivers delivered everything).
async fn settled(p: &Provinces) {
    for _ in 0..200 {
        let a = p.a_books.outbox().await.expect("outbox");
        let b = p.b_books.outbox().await.expect("outbox");
        if a.is_empty() && b.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("steps still waiting after 5 s");
}

async fn figures(books: &MemoryLedger, peer: u32) -> Figures {
    books.figures(peer).await.expect("figures")
}

async fn conserved(p: &Provinces) -> Vec<conservation::HolderCheck> {
    let checks = conservation::check(
        A,
        &figures(&p.a_books, B).await,
        B,
        &figures(&p.b_books, A).await,
    );
    for c in &checks {
        assert!(c.outcome.is_ok(), "{c:?}");
    }
    checks
}

#[tokio::test]
async fn a_quota_goes_to_the_relatives_province_is_spent_there_and_comes_back() {
    let p = provinces(insured_in_b()).await;
    let parties = service::bind(&p.a.app, &bind_ask()).await.expect("bind");
    assert_eq!(
        parties.relative_psn_no, RELATIVE,
        "B found the relative by ID number"
    );

    service::grant(&p.a.app, &parties, yuan(300))
        .await
        .expect("grant");
    settled(&p).await;
    let holder = LedgerAccount::Personal(HOLDER.to_string());
    assert_eq!(p.a_books.balance(&holder), yuan(700));
    assert_eq!(p.a_books.balance(&parties.quota_out()), yuan(300));
    assert_eq!(p.b_books.balance(&parties.quota()), yuan(300));

    p.b_books
        .spend(&parties, "S1", yuan(120))
        .expect("spend in B");
    let spends = service::spends(&p.a.app, &parties).await.expect("spends");
    assert_eq!(spends.len(), 1, "the holder sees where his quota was spent");
    assert_eq!(spends[0].amount, yuan(120));

    let taken = service::lower(&p.a.app, &parties, yuan(50), &service::new_lower_id(A))
        .await
        .expect("lower");
    assert_eq!(taken, yuan(50));
    settled(&p).await;
    assert_eq!(p.a_books.balance(&holder), yuan(750));
    assert_eq!(p.b_books.balance(&parties.quota()), yuan(130));

    service::end(&p.a.app, &parties).await.expect("end");
    settled(&p).await;
    assert_eq!(
        p.a_books.balance(&holder),
        yuan(880),
        "1000 − 300 granted + 50 lowered + 130 returned on unbind"
    );
    assert_eq!(p.b_books.balance(&parties.quota()), Fen::ZERO);
    assert_eq!(
        p.a_books.balance(&parties.quota_out()),
        yuan(120),
        "what was spent in B"
    );
    let views = service::quotas_of(&p.a.app, HOLDER).await.expect("views");
    assert_eq!(views[0].status, "ended");

    let checks = conserved(&p).await;
    let position = checks[0].outcome.as_ref().expect("conserved");
    assert_eq!(position.spent, yuan(120));
    assert_eq!(position.remaining, Fen::ZERO);
    assert_eq!(position.granting, Fen::ZERO);
    assert_eq!(position.returning, Fen::ZERO);
}

#[tokio::test]
async fn a_refused_credit_releases_the_reservation_to_the_fen() {
    let p = provinces(insured_in_b().closed()).await;
    // A binds by hand: B's policy is closed, so B would refuse the binding too.
    let parties = QuotaParties {
        holder_province: A,
        holder_psn_no: HOLDER.to_string(),
        relative_province: B,
        relative_psn_no: RELATIVE.to_string(),
    };
    p.a_books
        .bind_out(&gongji_server::peer::ledger::CrossBinding {
            parties: parties.clone(),
            relationship: "10".to_string(),
            begin: "2026-01-01".to_string(),
        })
        .await
        .expect("bind out");
    let refused = service::bind(&p.a.app, &bind_ask())
        .await
        .expect_err("closed");
    assert_eq!(refused.code(), "GJ-PEER-REFUSED");
    assert!(
        refused.message_zh().contains("尚未开通跨省共济"),
        "{}",
        refused.message_zh()
    );

    service::grant(&p.a.app, &parties, yuan(300))
        .await
        .expect("reserved");
    settled(&p).await;
    assert_eq!(
        p.a_books
            .balance(&LedgerAccount::Personal(HOLDER.to_string())),
        yuan(1000),
        "B refused: the 300 are back"
    );
    assert_eq!(p.a_books.balance(&parties.quota_out()), Fen::ZERO);
    conserved(&p).await;
}

#[tokio::test]
async fn a_grant_waits_for_a_province_that_is_down_and_lands_once_when_it_is_back() {
    // The steps are sent by hand here, so that no driver delivers them behind the test.
    let p = provinces_driven(insured_in_b(), false).await;
    let parties = service::bind(&p.a.app, &bind_ask()).await.expect("bind");
    let a_peers = p.a.app.peers.clone().expect("peers");
    // The same province A, pointed at an address where nobody answers.
    let dead = Peers::new(
        A,
        key(1),
        vec![peer(B, "http://127.0.0.1:9".to_string(), 2)],
    )
    .with_ledger(p.a_books.clone());
    let t = p
        .a_books
        .reserve(&parties, yuan(100))
        .await
        .expect("reserve");
    let http = reqwest::Client::new();
    let step = p.a_books.outbox().await.expect("outbox").remove(0);
    let failed = outbox::send(&http, &dead, &step).await;
    assert_eq!(failed, Err("GJ-PEER-UNREACHABLE".to_string()));
    assert_eq!(
        p.a_books.outbox().await.expect("outbox").len(),
        1,
        "still waiting"
    );
    assert_eq!(p.b_books.balance(&parties.quota()), Fen::ZERO);

    // Delivered twice (the answer lost the first time): credited once.
    outbox::send(&http, &a_peers, &step)
        .await
        .expect("delivered");
    let again: Result<wire::StateOut, _> = gongji_server::peer::client::call(
        &http,
        &a_peers,
        B,
        wire::PATH_CREDIT,
        &wire::TransferIn::of(step.transfer.as_ref().expect("transfer")),
    )
    .await;
    assert_eq!(again.expect("answered").state, "credited");
    assert_eq!(p.b_books.balance(&parties.quota()), yuan(100));
    assert_eq!(t.amount, yuan(100));
    settled(&p).await;
    conserved(&p).await;
}

fn signed_headers(
    req: reqwest::RequestBuilder,
    key: &SigningKey,
    signed: &SignedRequest<'_>,
) -> reqwest::RequestBuilder {
    let signature = peer_auth::sign_request(key, signed);
    req.header(HEADER_PROVINCE, signed.from)
        .header(HEADER_TIMESTAMP, signed.timestamp.to_string())
        .header(HEADER_NONCE, signed.nonce)
        .header(HEADER_SIGNATURE, signature)
        .header("content-type", "application/json")
        .body(signed.body.to_vec())
}

/// The credit the signing test sends: 100 yuan of A's holder for B's relative.
const CREDIT_BODY: &[u8] = br#"{"transfer_id":"37G000000000001","holder_psn_no":"37000000000000000001","relative_psn_no":"44000000000000000009","amount":"100.00"}"#;

/// That credit sent to `b` as province `from` to province `to`, signed with `seed`'s key at
/// `timestamp` with `nonce`.
async fn signed_credit(
    b: &Server,
    seed: u8,
    (from, to): (&str, &str),
    timestamp: i64,
    nonce: &str,
) -> common::Resp {
    let path = wire::PATH_CREDIT;
    let req = b.client.post(format!("{}{path}", b.base));
    let signed = SignedRequest {
        method: "POST",
        path,
        from,
        to,
        timestamp,
        nonce,
        body: CREDIT_BODY,
    };
    b.send(signed_headers(req, &key(seed), &signed)).await
}

#[tokio::test]
async fn calls_not_signed_by_a_peer_now_and_once_are_refused_with_stable_codes() {
    let p = provinces(insured_in_b()).await;
    let url = format!("{}{}", p.b.base, wire::PATH_CREDIT);
    let now = chrono::Utc::now().timestamp() + 1;

    let plain =
        p.b.send(p.b.client.post(&url).body(CREDIT_BODY.to_vec()))
            .await;
    plain.refused(400, "GJ-PEER-MALFORMED");

    let forged = signed_credit(&p.b, 9, ("37", "44"), now, "n1").await;
    forged.refused(401, "GJ-PEER-BAD-SIGNATURE");

    let stranger = signed_credit(&p.b, 9, ("45", "44"), now, "n2").await;
    stranger.refused(401, "GJ-PEER-UNKNOWN-PROVINCE");

    let stale = signed_credit(&p.b, 1, ("37", "44"), now - 600, "n3").await;
    stale.refused(401, "GJ-PEER-STALE-TIMESTAMP");

    let elsewhere = signed_credit(&p.b, 1, ("37", "45"), now, "n4").await;
    elsewhere.refused(401, "GJ-PEER-BAD-SIGNATURE");

    // A signed credit for a binding B does not know: B's rules still decide on it.
    let first = signed_credit(&p.b, 1, ("37", "44"), now, "n5").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let replay = signed_credit(&p.b, 1, ("37", "44"), now, "n5").await;
    replay.refused(401, "GJ-PEER-REPLAYED");
    assert_eq!(
        p.b_books.balance(&LedgerAccount::Quota {
            province: A,
            holder: HOLDER.to_string(),
            relative: RELATIVE.to_string(),
        }),
        yuan(100),
        "credited once"
    );
    assert!(
        first.headers.contains_key(HEADER_SIGNATURE),
        "B signs its answers"
    );
}

#[tokio::test]
async fn staff_see_a_grant_in_flight_on_the_console_and_in_the_api_until_it_lands() {
    let p = provinces_driven(insured_in_b(), false).await;
    let parties = service::bind(&p.a.app, &bind_ask()).await.expect("bind");
    let t = p
        .a_books
        .reserve(&parties, yuan(300))
        .await
        .expect("reserve");
    let token = p.a.staff("clerk1").await;
    let page =
        p.a.client
            .get(format!("{}/console/transfers", p.a.base))
            .header("cookie", format!("gongji_session={token}"))
            .send()
            .await
            .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("跨省划转"), "{html}");
    assert!(html.contains(&t.id) && html.contains("300.00") && html.contains("划出额度"));
    let api =
        p.a.client
            .get(format!("{}/api/v1/staff/quota-transfers", p.a.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("api");
    let body: serde_json::Value = api.json().await.expect("json");
    assert_eq!(body["transfers"][0]["transfer_id"], t.id.as_str());

    let a_peers = p.a.app.peers.clone().expect("peers");
    let step = p.a_books.outbox().await.expect("outbox").remove(0);
    outbox::send(&reqwest::Client::new(), &a_peers, &step)
        .await
        .expect("delivered");
    let html =
        p.a.client
            .get(format!("{}/console/transfers", p.a.base))
            .header("cookie", format!("gongji_session={token}"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
    assert!(html.contains("目前没有在途的跨省划转"), "{html}");
}

/// The holder binds, grants and ends in the H5 of province A, each after a confirmation
/// step; the relative sees the quota in the H5 of province B.
#[tokio::test]
async fn the_holder_grants_in_the_h5_after_confirming_and_the_relative_sees_it_at_home() {
    let mut fa = Fixture::new();
    let holder = fa.employee("370100", 1000);
    let mut fb = Fixture::new();
    let relative = fb.employee("140100", 0);
    let a_books = MemoryLedger::new(A).with_person(&holder.certno, &holder.psn_no, yuan(1000));
    let b_books = MemoryLedger::new(B).with_person(&relative.certno, &relative.psn_no, Fen::ZERO);
    let Provinces {
        a,
        b,
        a_books,
        b_books,
    } = two_provinces((fa, a_books), (fb, b_books), false).await;
    let token = a.sign_in(&holder).await;
    let post = |fields: Vec<(&'static str, String)>| {
        let mut form = fields;
        form.push(("csrf", common::csrf_of(&token)));
        a.client
            .post(format!("{}/h5/quotas", a.base))
            .header("cookie", format!("gongji_session={token}"))
            .form(&form)
    };
    let text = |r: reqwest::Response| async move { r.text().await.expect("html") };

    let bind = vec![
        ("op", "bind".to_string()),
        ("province", "44".to_string()),
        ("certno", relative.certno.clone()),
        ("name", relative.name.clone()),
        ("relationship", "10".to_string()),
    ];
    let asked = text(post(bind.clone()).send().await.expect("bind")).await;
    assert!(
        asked.contains("请确认") && asked.contains("确认办理"),
        "{asked}"
    );
    assert!(
        a_books
            .quotas_of(&holder.psn_no)
            .await
            .expect("views")
            .is_empty(),
        "nothing done before the confirmation"
    );
    let mut confirmed = bind;
    confirmed.push(("confirmed", "1".to_string()));
    let done = text(post(confirmed).send().await.expect("bind")).await;
    assert!(done.contains("已绑定"), "{done}");

    let grant = vec![
        ("op", "grant".to_string()),
        ("province", "44".to_string()),
        ("relative", relative.psn_no.clone()),
        ("amount", "300".to_string()),
        ("confirmed", "1".to_string()),
    ];
    let done = text(post(grant).send().await.expect("grant")).await;
    assert!(done.contains("已从您的个人账户划出300.00元"), "{done}");
    let peers = a.app.peers.clone().expect("peers");
    let step = a_books.outbox().await.expect("outbox").remove(0);
    outbox::send(&reqwest::Client::new(), &peers, &step)
        .await
        .expect("delivered");

    let holders_page = || async {
        a.client
            .get(format!("{}/h5/quotas", a.base))
            .header("cookie", format!("gongji_session={token}"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html")
    };
    let page = holders_page().await;
    assert!(
        page.contains("<option value=\"44\">广东省</option>"),
        "the bind form offers the joined province by name: {page}"
    );
    assert!(
        page.contains(r#"<select id="q-relationship" name="relationship""#)
            && page.contains(r#"<option value="52">母亲</option>"#),
        "the relationship is chosen by name: {page}"
    );
    let line = page
        .split(r#"data-testid="quota""#)
        .nth(1)
        .expect("the quota line");
    assert!(
        line.contains("<dd>广东省</dd>") && line.contains("<dd>您的家人</dd>"),
        "the quota line names the province and the relative, not codes: {line}"
    );
    assert!(line.contains("家人还没有用过这笔额度"), "{line}");
    let english = a
        .client
        .get(format!("{}/h5/quotas?lang=en", a.base))
        .header("cookie", format!("gongji_session={token}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        english.contains("<option value=\"44\">Guangdong</option>")
            && english.contains("<dd>Guangdong</dd>")
            && !english.contains("广东"),
        "the English page names the province in English: {english}"
    );

    let parties = QuotaParties {
        holder_province: A,
        holder_psn_no: holder.psn_no.clone(),
        relative_province: B,
        relative_psn_no: relative.psn_no.clone(),
    };
    b_books
        .spend(&parties, "S1", yuan(120))
        .expect("spend in B");
    let page = holders_page().await;
    let spent: Vec<&str> = page
        .split(r#"data-testid="quota-spend">"#)
        .skip(1)
        .collect();
    assert_eq!(spent.len(), 1, "{page}");
    assert!(
        spent[0].starts_with("对方省份的定点机构 用了120.00元"),
        "the holder sees where his quota was spent and how much: {}",
        spent[0]
    );
    b_books
        .spend(&parties, "S1", yuan(-120))
        .expect("the purchase cancelled in B");
    let page = holders_page().await;
    assert!(
        page.contains("对方省份的定点机构 退回120.00元（已取消购买）"),
        "a cancelled purchase shows as returned: {page}"
    );

    let rtoken = b.sign_in(&relative).await;
    let home = b
        .client
        .get(format!("{}/h5/quotas", b.base))
        .header("cookie", format!("gongji_session={rtoken}"))
        .send()
        .await
        .expect("page");
    let home = home.text().await.expect("html");
    assert!(
        home.contains("外省家人划给我的额度") && home.contains("300.00"),
        "{home}"
    );
}

/// The other province does not answer: the holder's page still opens, with his quota, and
/// says in plain Chinese that the spending cannot be seen now.
#[tokio::test]
async fn the_holders_page_opens_and_says_so_when_the_other_province_cannot_be_reached() {
    let mut fa = Fixture::new();
    let holder = fa.employee("370100", 1000);
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url_b = format!("http://{}", gone.local_addr().expect("addr"));
    drop(gone);
    let a_books =
        Arc::new(MemoryLedger::new(A).with_person(&holder.certno, &holder.psn_no, yuan(1000)));
    a_books
        .bind_out(&gongji_server::peer::ledger::CrossBinding {
            parties: QuotaParties {
                holder_province: A,
                holder_psn_no: holder.psn_no.clone(),
                relative_province: B,
                relative_psn_no: RELATIVE.to_string(),
            },
            relationship: "10".to_string(),
            begin: "2026-01-01".to_string(),
        })
        .await
        .expect("bound");
    let peers_a = Peers::new(A, key(1), vec![peer(B, url_b, 2)]).with_ledger(a_books.clone());
    let a = fa.start_with(|app| app.with_peers(peers_a)).await;
    let token = a.sign_in(&holder).await;
    let page = a
        .client
        .get(format!("{}/h5/quotas", a.base))
        .header("cookie", format!("gongji_session={token}"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("暂时查不到对方省份的使用记录，请稍后再看")
            && html.contains("<dd>广东省</dd>"),
        "{html}"
    );
}
