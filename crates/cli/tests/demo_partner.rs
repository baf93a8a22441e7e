//! The 国密 envelope tried on a laptop (issue 12): `gongji demo` makes a platform SM2 key and
//! one app partner labelled 演示 beside its database and serves `/open/v1` with them, and
//! `gongji partner demo-request` sends one signed, encrypted request and prints the answer
//! decrypted. `gongji serve` on the same database never uses the demo's key.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn demo_request(db: &Path, url: &str, psn_no: &str) -> (Option<i32>, String) {
    let out = Command::new(GONGJI)
        .args([
            "partner",
            "demo-request",
            "--db",
            db.to_str().expect("utf-8"),
            "--url",
            url,
            "--psn-no",
            psn_no,
        ])
        .output()
        .expect("run gongji partner demo-request");
    (
        out.status.code(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

#[test]
fn the_demo_serves_its_app_partner_in_the_envelope_and_serve_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let built = Command::new(GONGJI)
        .args(["demo", "--db", db.to_str().expect("utf-8"), "--no-serve"])
        .output()
        .expect("run gongji demo");
    assert!(built.status.success(), "{}", text(&built.stderr));
    let platform_key = dir.path().join("demo.db.open-platform.key");
    let partner_file = dir.path().join("demo.db.open-demo-app.json");
    assert!(
        platform_key.exists() && partner_file.exists(),
        "{}",
        text(&built.stdout)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&platform_key, &partner_file] {
            let mode = std::fs::metadata(f).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is private", f.display());
        }
    }
    let psn_no: String = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row(
            "SELECT psn_no FROM persons ORDER BY psn_no LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a demo person");

    let demo = Server::launch(&[
        "demo",
        "--db",
        db.to_str().expect("utf-8"),
        "--no-build",
        "--addr",
        "127.0.0.1:0",
    ]);
    let url = format!("http://{}", demo.addr());
    let (code, out) = demo_request(&db, &url, &psn_no);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("\"encData\""),
        "the request is encrypted: {out}"
    );
    assert!(
        out.contains("平台签名有效 / the platform's signature verifies: 0"),
        "{out}"
    );
    assert!(
        out.contains(&format!("\"psn_no\": \"{psn_no}\"")) && out.contains("\"balance\""),
        "the answer decrypted: {out}"
    );
    let log = demo.stop().join("\n");
    assert!(
        log.contains("partner demo-request --db") && log.contains("GJDEMOAPP0000001"),
        "the demo says how to try it: {log}"
    );
    assert!(log.contains("/open/v1 的演示平台密钥"), "{log}");

    // Production on the same file: the demo's key is not used, the interface is closed.
    let prod = Server::launch(&[
        "serve",
        "--db",
        db.to_str().expect("utf-8"),
        "--addr",
        "127.0.0.1:0",
    ]);
    let (code, out) = demo_request(&db, &format!("http://{}", prod.addr()), &psn_no);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("GJ-OPEN-NOT-CONFIGURED"), "{out}");
    prod.stop();
}
