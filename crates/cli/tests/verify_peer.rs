//! `gongji verify --peer` and a lowering sent twice, between two real `gongji serve`
//! processes (issue 14): Shandong (37) keeps the holder, Shanxi (14) the relative. The
//! window lowers the quota and the app repeats the request with the same Idempotency-Key
//! (its answer was lost): Shanxi takes the amount out once. `gongji verify --peer 14` then
//! checks Shandong's own database and, as `gongji province check` does, every fen across
//! the two; with Shanxi gone it cannot, and says so with a status that is not 0.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::provinces::{
    self, bind_body, settled, Province, Window, HOLDER, RELATIVE, STAFF, STAFF_PASSWORD,
};
use support::{Server, GONGJI};

/// `gongji verify` of province A's database with these further arguments: exit code and
/// output.
fn verify(a: &Province, more: &[&str]) -> (i32, String) {
    let db = a.env.db.to_str().expect("utf-8");
    let config = a.config.to_str().expect("utf-8");
    let out = std::process::Command::new(GONGJI)
        .args(["verify", "--db", db, "--config", config])
        .args(more)
        .output()
        .expect("run gongji verify");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A lowering at province A's window, sent as an app sends it with an Idempotency-Key.
fn lower(base: &str, key: &str, amount: &str) -> (u16, Value) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let signed_in: Value = http
        .post(format!("{base}/api/v1/staff/session"))
        .json(&json!({"username": STAFF, "password": STAFF_PASSWORD}))
        .send()
        .and_then(|r| r.json())
        .expect("sign in");
    let token = signed_in["token"].as_str().expect("token");
    let r = http
        .post(format!(
            "{base}/api/v1/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/lower"
        ))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "amount": amount }))
        .send()
        .expect("lower");
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn gongji(args: &[&str]) {
    let out = std::process::Command::new(GONGJI)
        .args(args)
        .output()
        .expect("run gongji");
    assert!(out.status.success(), "gongji {args:?}: {out:?}");
}

/// Two provinces serving, the holder bound to the relative across and 300 granted,
/// delivered.
fn granted_300() -> (Province, Province, Server, Server) {
    let a = Province::new("37");
    let b = Province::new("14");
    a.knows(&b);
    b.knows(&a);
    let server_a = a.serve(None);
    let server_b = b.serve(None);
    let wa = Window::sign_in(&server_a.base);
    let wb = Window::sign_in(&server_b.base);
    let bound = wa
        .post(&format!("/staff/persons/{HOLDER}/quotas"), bind_body("14"))
        .expect("bind");
    assert_eq!(bound.status, 201, "{}", bound.body);
    let granted = wa
        .post(
            &format!("/staff/persons/{HOLDER}/quotas/14/{RELATIVE}/grant"),
            json!({"amount": "300.00"}),
        )
        .expect("grant");
    assert_eq!(granted.status, 200, "{}", granted.body);
    settled(&wa, &wb);
    (a, b, server_a, server_b)
}

#[test]
fn a_lowering_repeated_with_its_key_lowers_once_and_verify_peer_finds_every_fen() {
    let (a, _b, server_a, server_b) = granted_300();
    for _ in 0..2 {
        let (status, body) = lower(&server_a.base, "app-lower-1", "50.00");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["amount"], "50.00", "{body}");
    }
    let (status, body) = lower(&server_a.base, "app-lower-1", "60.00");
    assert_eq!(status, 422, "the same key for another amount: {body}");
    assert!(
        body["message_zh"]
            .as_str()
            .is_some_and(|m| m.contains("GJ-IDEMPOTENCY-MSGID-REUSED")),
        "{body}"
    );
    let wa = Window::sign_in(&server_a.base);
    let wb = Window::sign_in(&server_b.base);
    settled(&wa, &wb);
    assert_eq!(
        wb.quota_of(RELATIVE),
        Some(("active".to_string(), 25_000)),
        "Shanxi took 50 out once"
    );
    assert_eq!(wa.quota_of(HOLDER), Some(("active".to_string(), 25_000)));

    let (code, out) = verify(&a, &["--peer", "14"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("用时") && out.contains("守恒 / conserved") && out.contains(HOLDER),
        "the local check, then the holder's quota across: {out}"
    );
    let (code, out) = verify(&a, &["--peers"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = provinces::check(&a);
    assert_eq!(code, 0, "`province check` still answers: {out}");

    drop(server_b);
    let (code, out) = verify(&a, &["--peer", "14"]);
    assert_ne!(code, 0, "Shanxi cannot be asked: {out}");
    assert!(out.contains("GJ-PEER-UNREACHABLE"), "{out}");
}

/// Shandong is restored from a backup taken before a lowering Shanxi made and sent back:
/// each database is sound on its own, and only the check across finds the 50 yuan.
#[test]
fn verify_peer_fails_when_a_province_was_restored_from_before_a_lowering() {
    let (a, _b, server_a, server_b) = granted_300();
    let db = a.env.db.to_str().expect("utf-8");
    let backup = a.env.dir.path().join("before-lowering.db");
    let backup = backup.to_str().expect("utf-8");
    gongji(&["backup", "--db", db, backup]);
    let (status, body) = lower(&server_a.base, "app-lower-2", "50.00");
    assert_eq!(status, 200, "{body}");
    settled(
        &Window::sign_in(&server_a.base),
        &Window::sign_in(&server_b.base),
    );
    drop(server_a);
    gongji(&["restore", backup, "--db", db, "--force"]);
    let server_a = a.serve(None);

    let (code, out) = verify(&a, &[]);
    assert_eq!(code, 0, "Shandong alone is sound: {out}");
    let (code, out) = verify(&a, &["--peer", "14"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("不守恒 / NOT conserved"), "{out}");
    drop(server_a);
}
