//! Lowering a cross-province quota once (issue 14): province A asks B to take part of a
//! holder's quota out and send it back. The answer can be lost after B took it out, and the
//! person can click twice; every repeat of one lowering carries its id, and B takes the
//! amount out once. Two servers in one process, each with its own books (the transport's
//! in-memory ledger), and between A and B a relay that can lose B's answers to a lowering.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{Fixture, Server, P};
use gongji_core::ledger::LedgerAccount;
use gongji_core::quota::QuotaParties;
use gongji_core::Fen;
use gongji_nhsa::open_envelope::{signing_key_from_bytes, SigningKey};
use gongji_server::peer::client::{self, CallError};
use gongji_server::peer::ledger::QuotaLedger;
use gongji_server::peer::memory::MemoryLedger;
use gongji_server::peer::service::{self, BindAsk};
use gongji_server::peer::{conservation, outbox, wire, Peer, Peers};
use serde_json::json;

const A: u32 = 37;
const B: u32 = 14;

fn key(seed: u8) -> SigningKey {
    signing_key_from_bytes(&[seed; 32]).expect("key")
}

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y)
}

/// Stands between A and B: passes every call on to B and B's answer back, except that it
/// drops B's answer to the next `lose` lowerings (B has acted; A hears a 502).
struct Relay {
    to: String,
    lose: AtomicU32,
    lowerings: AtomicU32,
}

async fn relay(
    State(r): State<Arc<Relay>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut ask = reqwest::Client::new().request(method, format!("{}{}", r.to, uri.path()));
    for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
        ask = ask.header(name, value);
    }
    let Ok(answer) = ask.body(body).send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if uri.path() == wire::PATH_LOWER {
        r.lowerings.fetch_add(1, Ordering::SeqCst);
        let lost = r
            .lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if lost {
            return StatusCode::BAD_GATEWAY.into_response();
        }
    }
    let status = StatusCode::from_u16(answer.status().as_u16()).expect("status");
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        out.insert(name.clone(), value.clone());
    }
    let bytes = answer.bytes().await.expect("answer body");
    (status, out, bytes).into_response()
}

struct Provinces {
    a: Server,
    a_books: Arc<MemoryLedger>,
    b_books: Arc<MemoryLedger>,
    relay: Arc<Relay>,
    holder: P,
    parties: QuotaParties,
    _b: Server,
}

/// A holder in A with 1000 yuan has granted 300 to a relative in B, delivered; A reaches B
/// through the relay; both outbox drivers run.
async fn granted_300() -> Provinces {
    let mut fa = Fixture::new();
    let holder = fa.employee("370100", 1000);
    let mut fb = Fixture::new();
    let relative = fb.employee("140100", 0);
    let listen = || async {
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
    };
    let (la, lb, lr) = (listen().await, listen().await, listen().await);
    let url = |l: &tokio::net::TcpListener| format!("http://{}", l.local_addr().expect("addr"));
    let relay_state = Arc::new(Relay {
        to: url(&lb),
        lose: AtomicU32::new(0),
        lowerings: AtomicU32::new(0),
    });
    let a_books =
        Arc::new(MemoryLedger::new(A).with_person(&holder.certno, &holder.psn_no, yuan(1000)));
    let b_books =
        Arc::new(MemoryLedger::new(B).with_person(&relative.certno, &relative.psn_no, Fen::ZERO));
    let peer = |code, url: String, seed| Peer {
        code,
        url,
        key: key(seed).verifying_key().clone(),
    };
    let peers_a = Peers::new(A, key(1), vec![peer(B, url(&lr), 2)]).with_ledger(a_books.clone());
    let peers_b = Peers::new(B, key(2), vec![peer(A, url(&la), 1)]).with_ledger(b_books.clone());
    let a = fa.start_on(la, |app| app.with_peers(peers_a)).await;
    let b = fb.start_on(lb, |app| app.with_peers(peers_b)).await;
    let router = axum::Router::new()
        .fallback(relay)
        .with_state(relay_state.clone());
    tokio::spawn(async move { axum::serve(lr, router).await });
    for s in [&a, &b] {
        let peers = s.app.peers.clone().expect("peers");
        tokio::spawn(outbox::drive(peers, s.app.peer_wake.clone()));
    }
    let parties = service::bind(
        &a.app,
        &BindAsk {
            holder_psn_no: holder.psn_no.clone(),
            province: B,
            relative_certno: relative.certno.clone(),
            relative_name: relative.name.clone(),
            relationship: "10".to_string(),
            begin: "2026-01-01".to_string(),
        },
    )
    .await
    .expect("bind");
    service::grant(&a.app, &parties, yuan(300))
        .await
        .expect("grant");
    let p = Provinces {
        a,
        a_books,
        b_books,
        relay: relay_state,
        holder,
        parties,
        _b: b,
    };
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(300));
    p
}

impl Provinces {
    fn left_in_b(&self) -> Fen {
        self.b_books.balance(&self.parties.quota())
    }

    fn holders_account(&self) -> Fen {
        self.a_books
            .balance(&LedgerAccount::Personal(self.holder.psn_no.clone()))
    }

    /// Calls B's lowering route as A signs it, with this body.
    async fn ask_b(&self, body: serde_json::Value) -> Result<wire::StateOut, CallError> {
        let peers = self.a.app.peers.clone().expect("peers");
        client::call(&reqwest::Client::new(), &peers, B, wire::PATH_LOWER, &body).await
    }

    fn lowering(&self, amount: &str, lower_id: Option<&str>) -> serde_json::Value {
        let mut body = json!({
            "holder_psn_no": self.parties.holder_psn_no,
            "relative_psn_no": self.parties.relative_psn_no,
            "amount": amount,
        });
        if let Some(id) = lower_id {
            body["lower_id"] = json!(id);
        }
        body
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

/// `gongji province check`'s figures: every holder conserved to the fen.
async fn conserved(p: &Provinces) {
    let checks = conservation::check(
        A,
        &p.a_books.figures(B).await.expect("figures"),
        B,
        &p.b_books.figures(A).await.expect("figures"),
    );
    assert_eq!(checks.len(), 1);
    for c in &checks {
        assert!(c.outcome.is_ok(), "{c:?}");
    }
}

#[tokio::test]
async fn the_same_lowering_sent_twice_lowers_once_and_a_caller_without_an_id_still_lowers() {
    let p = granted_300().await;
    let first = p
        .ask_b(p.lowering("50.00", Some("37L0001")))
        .await
        .expect("lowered");
    let again = p
        .ask_b(p.lowering("50.00", Some("37L0001")))
        .await
        .expect("the first answer again");
    assert_eq!(first.amount.as_deref(), Some("50.00"));
    assert_eq!(
        (again.amount.as_deref(), &again.transfer_id),
        (Some("50.00"), &first.transfer_id),
        "the repeat is answered with the first answer"
    );
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(250), "50 taken out once, not 100");
    assert_eq!(p.holders_account(), yuan(750), "1000 − 300 + 50");
    conserved(&p).await;

    // A province that does not send an id yet lowers as it always did: each call once.
    p.ask_b(p.lowering("10.00", None)).await.expect("lowered");
    p.ask_b(p.lowering("10.00", None)).await.expect("lowered");
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(230));
    assert_eq!(p.holders_account(), yuan(770));
    conserved(&p).await;
}

#[tokio::test]
async fn the_same_lowering_id_with_another_amount_is_refused_and_changes_nothing() {
    let p = granted_300().await;
    p.ask_b(p.lowering("50.00", Some("37L0002")))
        .await
        .expect("lowered");
    let refused = p
        .ask_b(p.lowering("60.00", Some("37L0002")))
        .await
        .expect_err("another amount under the same id");
    let CallError::Refused { body, .. } = refused else {
        panic!("a refusal, not a failure to retry: {refused:?}");
    };
    assert_eq!(body.code, "GJ-IDEMPOTENCY-MSGID-REUSED");
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(250));
    assert_eq!(p.holders_account(), yuan(750));
    conserved(&p).await;
}

#[tokio::test]
async fn a_lost_answer_is_asked_again_with_the_same_id_and_the_quota_is_lowered_once() {
    let p = granted_300().await;
    p.relay.lose.store(1, Ordering::SeqCst);
    let taken = service::lower(&p.a.app, &p.parties, yuan(50), &service::new_lower_id(A))
        .await
        .expect("lowered after asking again");
    assert_eq!(taken, yuan(50));
    assert_eq!(p.relay.lowerings.load(Ordering::SeqCst), 2, "asked twice");
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(250));
    assert_eq!(p.holders_account(), yuan(750));
    conserved(&p).await;
}

#[tokio::test]
async fn when_the_other_province_never_answers_the_person_is_told_and_confirming_again_lowers_once()
{
    let p = granted_300().await;
    p.relay.lose.store(u32::MAX, Ordering::SeqCst);
    let id = service::new_lower_id(A);
    let e = service::lower(&p.a.app, &p.parties, yuan(50), &id)
        .await
        .expect_err("no answer");
    assert_eq!(e.code(), "GJ-PEER-UNREACHABLE");
    assert!(
        e.message_zh().contains("联系不上家人所在的省份")
            && e.message_zh().contains("最多只减一次"),
        "{}",
        e.message_zh()
    );
    assert_eq!(
        p.relay.lowerings.load(Ordering::SeqCst),
        service::LOWER_TRIES,
        "a bounded number of tries"
    );
    assert_eq!(p.left_in_b(), yuan(250), "B took it out once");

    p.relay.lose.store(0, Ordering::SeqCst);
    let taken = service::lower(&p.a.app, &p.parties, yuan(50), &id)
        .await
        .expect("answered now");
    assert_eq!(taken, yuan(50), "the first answer");
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(250));
    assert_eq!(p.holders_account(), yuan(750));
    conserved(&p).await;
}

/// The holder confirms a lowering in the H5; the other province's answer is lost, and the
/// page asks him to confirm the same lowering again; he does, twice (a double tap): the
/// quota is lowered once.
#[tokio::test]
async fn a_lowering_confirmed_again_and_twice_in_the_h5_lowers_once() {
    let p = granted_300().await;
    let token = p.a.sign_in(&p.holder).await;
    let post = |form: Vec<(String, String)>| {
        p.a.client
            .post(format!("{}/h5/quotas", p.a.base))
            .header("cookie", format!("gongji_session={token}"))
            .form(&form)
            .send()
    };
    let ask = vec![
        ("csrf".to_string(), common::csrf_of(&token)),
        ("op".to_string(), "lower".to_string()),
        ("province".to_string(), format!("{B:02}")),
        ("relative".to_string(), p.parties.relative_psn_no.clone()),
        ("amount".to_string(), "50".to_string()),
    ];
    let page = post(ask).await.expect("ask").text().await.expect("html");
    let confirmation = page
        .split(r#"data-testid="quota-confirm""#)
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .unwrap_or_else(|| panic!("a confirmation step: {page}"));
    let mut form = Vec::new();
    for name in [
        "csrf",
        "op",
        "province",
        "relative",
        "amount",
        "confirmed",
        "lower_id",
    ] {
        let value = common::field_value(confirmation, name);
        if !value.is_empty() {
            form.push((name.to_string(), value));
        }
    }
    let lower_id = common::field_value(confirmation, "lower_id");
    assert!(lower_id.starts_with("37L"), "{confirmation}");

    // The other province's answers are lost: the person is told, and asked to confirm the
    // same lowering again.
    p.relay.lose.store(u32::MAX, Ordering::SeqCst);
    let unanswered = post(form.clone())
        .await
        .expect("confirm")
        .text()
        .await
        .expect("html");
    assert!(
        unanswered.contains("不能确定额度是否已减少"),
        "{unanswered}"
    );
    let again = unanswered
        .split(r#"data-testid="quota-confirm""#)
        .nth(1)
        .unwrap_or_else(|| panic!("the same confirmation again: {unanswered}"));
    assert_eq!(common::field_value(again, "lower_id"), lower_id);
    p.relay.lose.store(0, Ordering::SeqCst);

    for _ in 0..2 {
        let done = post(form.clone())
            .await
            .expect("confirm")
            .text()
            .await
            .expect("html");
        assert!(done.contains("家人那边的额度已减少50.00元"), "{done}");
    }
    settled(&p).await;
    assert_eq!(p.left_in_b(), yuan(250), "lowered once");
    assert_eq!(p.holders_account(), yuan(750));
    conserved(&p).await;
}
