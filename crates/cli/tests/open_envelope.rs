//! An app partner (a WeChat mini-program) through the 国密 envelope, against the real
//! binary (issue 12, item 4): staff register it with `gongji partner add`, `gongji serve`
//! (production config) answers its signed, encrypted requests in the same envelope, signed
//! with the platform's key, and refuses a tampered signature, a stale timestamp, a replay,
//! an unknown and a deactivated partner with their codes. The partner's channel is on the
//! audit row each request writes (R-Y5).

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use gongji_nhsa::open_envelope::{self, OpenEnvelope, SigningKey, VerifyingKey};
use gongji_store::testing;
use serde_json::{json, Value};
use support::*;

const APP_CODE: &str = "GJAPP0000000000000000000000000A1";
const APP_SECRET: &str = "GJSECRET00000000000000000000000B";
/// The partner's own SM2 key (the platform only ever sees its public half).
const PARTNER_KEY: &str = "76985ef5257593758b0fbc09fafe186b4e05507c0908eab83cdf0e4ed95972b2";
const TOKEN_KEY: &str = "00112233445566778899aabbccddeeff";

/// `gongji partner add` with the secret on standard input; what it printed.
fn partner_add(env: &Env, extra: &[&str]) -> String {
    partner_add_to(env, &["--db", env.db.to_str().expect("utf-8")], extra)
}

/// The same on the database `target` names (`["--database", url]` for PostgreSQL).
fn partner_add_to(env: &Env, target: &[&str], extra: &[&str]) -> String {
    let dir = env.dir.path();
    let mut args = vec!["partner".to_string(), "add".into()];
    args.extend(target.iter().map(|a| a.to_string()));
    args.extend([
        "--app-code".into(),
        APP_CODE.into(),
        "--name".into(),
        "共济测试小程序".into(),
        "--channel".into(),
        "wechat".into(),
        "--public-key".into(),
        path(&dir.join("partner.pub")),
        "--secret-stdin".into(),
        "--token-key".into(),
        path(&dir.join("token.key")),
        "--platform-key".into(),
        path(&dir.join("platform.key")),
    ]);
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut child = Command::new(GONGJI)
        .args(&args)
        .env("RUST_LOG", "warn")
        .env_remove("GONGJI_DATABASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongji partner add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{APP_SECRET}\n").as_bytes())
        .expect("secret");
    let out = child.wait_with_output().expect("partner add");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "partner add failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8").to_string()
}

fn partner_key() -> SigningKey {
    open_envelope::signing_key_from_hex(PARTNER_KEY).expect("partner key")
}

/// A request as the partner signs it: `data` encrypted into `encData`. The crate signs
/// deterministically, so two requests of the same data in the same second would carry the
/// same signature (a replay): a `nonce` field, signed like every field, tells them apart.
fn request(app_code: &str, timestamp: i64, data: &Value) -> Value {
    static SENT: AtomicU64 = AtomicU64::new(0);
    let nonce = SENT.fetch_add(1, Ordering::Relaxed).to_string();
    let sealed = open_envelope::seal(
        &[
            ("appCode", Value::from(app_code)),
            ("timestamp", Value::from(timestamp)),
            ("nonce", Value::from(nonce)),
        ],
        Some(data),
        APP_SECRET,
        &partner_key(),
    )
    .expect("seal");
    Value::Object(sealed)
}

fn post(srv: &Server, service: &str, body: &Value) -> (u16, Value) {
    let a = srv.post(
        &format!("/open/v1/{service}"),
        &[],
        body.to_string().into_bytes(),
    );
    let v: Value = serde_json::from_slice(&a.bytes)
        .unwrap_or_else(|_| panic!("JSON answer, got {}: {}", a.status, a.text()));
    (a.status, v)
}

/// Opens a signed answer with the platform's public key: its `code` and decrypted data.
fn opened(answer: &Value, platform: &VerifyingKey) -> (String, Option<Value>) {
    let envelope = OpenEnvelope::parse(answer.to_string().as_bytes()).expect("an envelope");
    assert_eq!(envelope.app_code(), APP_CODE);
    let data = envelope
        .open(APP_SECRET, platform)
        .unwrap_or_else(|e| panic!("the answer verifies with the platform's key: {e}: {answer}"));
    let code = envelope.field("code").expect("code");
    (
        code,
        data.map(|d| serde_json::from_str(&d).expect("data JSON")),
    )
}

fn audit_rows(env: &Env) -> Vec<(String, String, String, String)> {
    let c = env.sql();
    let mut s = c
        .prepare(
            "SELECT actor, channel, action, subject FROM audit_log WHERE actor LIKE 'app:%'
             ORDER BY audit_id",
        )
        .expect("prepare");
    let rows = s
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[test]
fn a_registered_partner_is_served_in_the_envelope_and_refused_when_it_should_be() {
    let env = Env::new();
    let dir = env.dir.path();
    std::fs::write(
        dir.join("partner.pub"),
        open_envelope::verifying_key_hex(partner_key().verifying_key()),
    )
    .expect("public key file");
    std::fs::write(dir.join("token.key"), format!("{TOKEN_KEY}\n")).expect("token key");

    let printed = partner_add(&env, &[]);
    let platform_key = open_envelope::signing_key_from_hex(
        &std::fs::read_to_string(dir.join("platform.key")).expect("generated platform key"),
    )
    .expect("platform key");
    let platform_public = platform_key.verifying_key().clone();
    assert!(
        printed.contains(&open_envelope::verifying_key_hex(&platform_public)),
        "the platform's public key is printed for the partner: {printed}"
    );
    let stored: String = env
        .sql()
        .query_row(
            "SELECT app_secret FROM app_partners WHERE app_code = ?1",
            [APP_CODE],
            |r| r.get(0),
        )
        .expect("partner row");
    assert!(
        stored.starts_with("sm4gcm:") && !stored.contains(APP_SECRET),
        "the secret is sealed at rest: {stored}"
    );

    std::fs::write(
        dir.join("gongji.toml"),
        "[institutions]\ntoken_key_file = \"token.key\"\n\n[open_api]\nplatform_key_file = \"platform.key\"\n",
    )
    .expect("config");
    let srv = Server::start_on(
        &[
            "--config",
            &path(&dir.join("gongji.toml")),
            "--db",
            &path(&env.db),
        ],
        NOW,
    );
    let holder = person("ZB-H1");
    let relative = person("ZB-R1");
    let person_data = json!({ "psn_no": holder.psn_no });

    // My insurance: the balance the institution interface reports too.
    let (status, answer) = post(&srv, "me", &request(APP_CODE, unix_now(), &person_data));
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.get("data").is_none(),
        "data travels encrypted: {answer}"
    );
    let (code, data) = opened(&answer, &platform_public);
    assert_eq!(code, "0");
    let me = data.expect("my insurance");
    assert_eq!(me["psn_no"], holder.psn_no.as_str());
    assert_eq!(me["certno"], holder.certno().as_str());
    assert_eq!(
        me["balance"],
        yuan(srv.balance(&ZB_PHARM, &holder)).as_str(),
        "{me}"
    );

    // My family: the holder's binding with the relative.
    let (status, answer) = post(&srv, "family", &request(APP_CODE, unix_now(), &person_data));
    assert_eq!(status, 200, "{answer}");
    let (_, family) = opened(&answer, &platform_public);
    let family = family.expect("family");
    let relatives: Vec<&str> = family["as_holder"]
        .as_array()
        .expect("as_holder")
        .iter()
        .filter_map(|b| b["relative"]["psn_no"].as_str())
        .collect();
    assert_eq!(relatives, vec![relative.psn_no.as_str()], "{family}");

    // My records, with a filter.
    let (status, answer) = post(
        &srv,
        "records",
        &request(
            APP_CODE,
            unix_now(),
            &json!({ "psn_no": holder.psn_no, "limit": 5 }),
        ),
    );
    assert_eq!(status, 200, "{answer}");
    let (_, records) = opened(&answer, &platform_public);
    assert!(records.expect("records")["records"].is_array());

    // A service error after the check is answered signed, with the service's code.
    let (status, answer) = post(
        &srv,
        "me",
        &request(APP_CODE, unix_now(), &json!({ "psn_no": "NO-SUCH-PERSON" })),
    );
    assert_eq!(status, 404, "{answer}");
    let (code, data) = opened(&answer, &platform_public);
    assert_eq!((code.as_str(), data), ("GJ-API-NOT-FOUND", None));

    let served = audit_rows(&env);
    let subject = format!("person:{}", holder.psn_no);
    let actor = format!("app:{APP_CODE}");
    assert_eq!(
        served,
        ["open_me", "open_family", "open_records"]
            .iter()
            .map(|a| (
                actor.clone(),
                "wechat".to_string(),
                a.to_string(),
                subject.clone()
            ))
            .collect::<Vec<_>>(),
        "each request is audited under the partner's channel"
    );

    // A tampered signature: the same request with one byte of signData changed.
    let mut tampered = request(APP_CODE, unix_now(), &person_data);
    let mut sig = tampered["signData"].as_str().expect("signData").to_string();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(0..1, flipped);
    tampered["signData"] = Value::from(sig);
    let (status, answer) = post(&srv, "me", &tampered);
    assert_eq!(status, 401, "{answer}");
    assert_eq!(opened(&answer, &platform_public).0, "GJ-OPEN-BAD-SIGNATURE");

    // A stale timestamp, correctly signed.
    let stale = request(APP_CODE, unix_now() - 1_000, &person_data);
    let (status, answer) = post(&srv, "me", &stale);
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        opened(&answer, &platform_public).0,
        "GJ-OPEN-STALE-TIMESTAMP"
    );

    // A replay: a request that was served, sent again as it was.
    let once = request(APP_CODE, unix_now(), &person_data);
    assert_eq!(post(&srv, "me", &once).0, 200);
    let (status, answer) = post(&srv, "me", &once);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(opened(&answer, &platform_public).0, "GJ-OPEN-REPLAYED");

    // An unregistered appCode: refused unsigned (there is no secret to sign with).
    let (status, answer) = post(
        &srv,
        "me",
        &request("GJAPP0000000000000000000000000Z9", unix_now(), &person_data),
    );
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["code"], "GJ-OPEN-PARTNER-UNKNOWN");
    assert!(answer.get("signData").is_none());

    // Signed before a restart, sent after it: the process before may have served it, and
    // its replay store is gone.
    let before_restart = request(APP_CODE, unix_now(), &person_data);
    let srv = srv.restart(NOW);
    let (status, answer) = post(&srv, "me", &before_restart);
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        opened(&answer, &platform_public).0,
        "GJ-OPEN-STALE-TIMESTAMP"
    );

    // Deactivated by staff, while the server runs: refused from the next request on.
    partner_add(&env, &["--inactive"]);
    let (status, answer) = post(&srv, "me", &request(APP_CODE, unix_now(), &person_data));
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "GJ-OPEN-PARTNER-INACTIVE");

    assert_eq!(
        audit_rows(&env).len(),
        served.len() + 1,
        "refusals write nothing (the one more row is the replayed request's first, served, send)"
    );
    srv.stop();
    env.verify();
}

/// The same partner on PostgreSQL: registered with `partner add --database`, served by
/// `serve --database`, deactivated while it serves.
#[test]
fn a_partner_is_served_on_postgres() {
    let Some(cluster) = testing::shared_or_skip("a_partner_is_served_on_postgres") else {
        return;
    };
    let url = cluster.create_db("open_envelope");
    let env = Env::new();
    let dir = env.dir.path();
    let registry = dir.join("registry-export");
    for args in [
        vec!["export", "--db", &path(&env.db), &path(&registry)],
        vec!["import", "--database", &url, &path(&registry)],
    ] {
        let out = Command::new(GONGJI)
            .args(&args)
            .env("RUST_LOG", "warn")
            .env_remove("GONGJI_DATABASE")
            .output()
            .expect("run gongji");
        // 3: rows refused, as on SQLite (the paused holder ZB-H2 cannot bind again).
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "gongji {args:?}: {out:?}"
        );
    }
    std::fs::write(
        dir.join("partner.pub"),
        open_envelope::verifying_key_hex(partner_key().verifying_key()),
    )
    .expect("public key file");
    std::fs::write(dir.join("token.key"), format!("{TOKEN_KEY}\n")).expect("token key");
    partner_add_to(&env, &["--database", &url], &[]);
    let platform_public = open_envelope::signing_key_from_hex(
        &std::fs::read_to_string(dir.join("platform.key")).expect("platform key"),
    )
    .expect("platform key")
    .verifying_key()
    .clone();
    std::fs::write(
        dir.join("gongji.toml"),
        "[institutions]\ntoken_key_file = \"token.key\"\n\n[open_api]\nplatform_key_file = \"platform.key\"\n",
    )
    .expect("config");
    let srv = Server::start_on(
        &[
            "--config",
            &path(&dir.join("gongji.toml")),
            "--database",
            &url,
        ],
        NOW,
    );
    let holder = person("ZB-H1");
    let data = json!({ "psn_no": holder.psn_no });
    let (status, answer) = post(&srv, "me", &request(APP_CODE, unix_now(), &data));
    assert_eq!(status, 200, "{answer}");
    let (code, me) = opened(&answer, &platform_public);
    assert_eq!(code, "0");
    assert_eq!(me.expect("my insurance")["psn_no"], holder.psn_no.as_str());

    partner_add_to(&env, &["--database", &url], &["--inactive"]);
    let (status, answer) = post(&srv, "me", &request(APP_CODE, unix_now(), &data));
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "GJ-OPEN-PARTNER-INACTIVE");
    srv.stop();
}
