//! `gongji serve --config` as a bureau runs it (issue 10, Build 1 and 6): slow and half-sent
//! requests are closed, connections are capped, TLS from the config, `/metrics` locked, the
//! config's errors named by line, and `gongji demo` as the only mode with conveniences.
//! Against the real binary over loopback.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Server, GONGJI};

/// A fresh directory with `gongji.toml` holding `config`; the database is `gongji.db` there.
fn deployment(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("gongji.toml"), config).expect("write config");
    dir
}

fn serve(dir: &Path) -> Server {
    let config = dir.join("gongji.toml");
    let db = dir.join("gongji.db");
    Server::launch(&[
        "serve",
        "--config",
        config.to_str().expect("utf-8"),
        "--db",
        db.to_str().expect("utf-8"),
        "--addr",
        "127.0.0.1:0",
    ])
}

/// Sends a whole GET on a new connection and waits up to `wait` for the status line.
fn get(addr: &str, path: &str, headers: &str, wait: Duration) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    read_answer(&mut s)
}

fn read_answer(s: &mut impl Read) -> Result<String, String> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if answer.is_empty() => return Err(format!("read: {e}")),
            Err(_) => break,
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// True once the server has closed `s` (end of file or reset); false if it is still open
/// after `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Finding 5: 200 connections that send half a request line and stall are all closed by the
/// server after the header timeout (2 s here); beyond `max_connections` (50) connections wait
/// unserved; a normal request is served; a request whose body stalls is answered 408 after
/// the request timeout. On main (axum::serve) the half-sent connections stayed open and the
/// waiting request was served at once.
#[test]
fn half_sent_requests_are_closed_and_connections_are_capped() {
    let dir = deployment(
        "[http]\nheader_read_timeout_secs = 2\nrequest_timeout_secs = 3\nidle_timeout_secs = 60\nmax_connections = 50\n",
    );
    let srv = serve(dir.path());
    let addr = srv.addr().to_string();
    assert!(
        get(&addr, "/healthz", "", Duration::from_secs(5))
            .expect("served")
            .contains("200 OK"),
        "a normal request is served"
    );

    let started = Instant::now();
    let mut stalled: Vec<TcpStream> = (0..200)
        .map(|i| {
            let mut s = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connect {i}: {e}"));
            s.write_all(b"GET /healthz HT")
                .expect("half a request line");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // The 201st connection sends a whole request: beyond the 50 served, it waits.
    let mut queued = TcpStream::connect(&addr).expect("connect");
    write!(
        queued,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    queued
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let early = queued.read(&mut buf);
    assert!(
        matches!(&early, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "with 50 connections served and 200 stalled, a new connection waits: {early:?}"
    );

    // Every stalled connection is closed by the server: 4 rounds of 50 at 2 s each.
    let mut still_open = 0;
    for s in &mut stalled {
        let left = Duration::from_secs(30).saturating_sub(started.elapsed());
        if !closed_within(s, left) {
            still_open += 1;
        }
    }
    let all_closed_after = started.elapsed();
    assert_eq!(
        still_open, 0,
        "half-sent requests still open after {all_closed_after:?}"
    );
    assert!(
        all_closed_after >= Duration::from_secs(2),
        "closed by the timeout, not at once: {all_closed_after:?}"
    );

    // The waiting request is served once the stalled ones are gone.
    queued
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let answer = read_answer(&mut queued).expect("the queued request is answered");
    assert!(answer.contains("200 OK"), "{answer}");
    let t = Instant::now();
    let answer = get(&addr, "/healthz", "", Duration::from_secs(5)).expect("served");
    assert!(answer.contains("200 OK"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(2), "served at once again");

    // A body that stalls: 408 after the request timeout, not a connection held forever.
    let mut slow = TcpStream::connect(&addr).expect("connect");
    write!(
        slow,
        "POST /fsi/api/rsfComIfsService/callService HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"infno\":"
    )
    .expect("write");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let t = Instant::now();
    let answer = read_answer(&mut slow).expect("answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());

    eprintln!(
        "200 half-sent connections (limit 50, header timeout 2 s) all closed after {all_closed_after:?}"
    );
    srv.stop();
}

/// `[tls]` in the config: the server speaks HTTPS with that certificate (a client that
/// trusts it gets an answer) and nothing in clear text on that port.
#[test]
fn tls_from_the_config() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("self-signed certificate");
    let dir = deployment("[tls]\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n");
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).expect("write cert");
    std::fs::write(
        dir.path().join("key.pem"),
        certified.key_pair.serialize_pem(),
    )
    .expect("write key");
    let srv = serve(dir.path());
    assert!(srv.base.starts_with("https://"), "{}", srv.base);
    let addr = srv.addr().to_string();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(certified.cert.der().clone())
        .expect("trust the certificate");
    // The server's provider (see gongji_server::http::tls_acceptor).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(client), name).expect("client");
    let tcp = TcpStream::connect(&addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("HTTPS request");
    let answer = read_answer(&mut tls).expect("HTTPS answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    let plain = get(&addr, "/healthz", "", Duration::from_secs(5)).unwrap_or_default();
    assert!(
        !plain.contains("200 OK"),
        "clear text is not served: {plain}"
    );
    srv.stop();
}

/// Finding 7 (metrics): in production `/metrics` needs the config's token on the public
/// address (401 without it, 404 when no token is configured) and is open on the admin
/// address; the demo keeps it open and says so.
#[test]
fn metrics_are_locked_in_production_and_labelled_in_the_demo() {
    let dir =
        deployment("[metrics]\ntoken_file = \"metrics-token\"\nadmin_addr = \"127.0.0.1:0\"\n");
    std::fs::write(dir.path().join("metrics-token"), "t0ken-for-prometheus\n").expect("token");
    let srv = serve(dir.path());
    let addr = srv.addr().to_string();
    let wait = Duration::from_secs(5);
    // An unsigned call, refused and counted: the metrics then have a sample to show.
    let mut s = TcpStream::connect(&addr).expect("connect");
    write!(
        s,
        "POST /fsi/api/rsfComIfsService/callService HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    .expect("write");
    let refused = read_answer(&mut s).expect("answer");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    let anonymous = get(&addr, "/metrics", "", wait).expect("answer");
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    assert!(!anonymous.contains("gongji_requests_total"), "{anonymous}");
    let wrong = get(&addr, "/metrics", "Authorization: Bearer t0ken\r\n", wait).expect("answer");
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let right = get(
        &addr,
        "/metrics",
        "Authorization: Bearer t0ken-for-prometheus\r\n",
        wait,
    )
    .expect("answer");
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(right.contains("gongji_requests_total"), "{right}");
    assert!(!right.contains("演示"), "{right}");

    let admin = admin_addr(&srv);
    let open = get(&admin, "/metrics", "", wait).expect("admin answer");
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    assert!(open.contains("gongji_requests_total"), "{open}");
    let only_metrics = get(&admin, "/", "", wait).expect("admin answer");
    assert!(only_metrics.starts_with("HTTP/1.1 404"), "{only_metrics}");

    let log = srv.stop().join("\n");
    assert!(log.contains("生产模式 / production mode"), "{log}");
    assert!(
        log.contains("短信服务未配置"),
        "no [sms]: a warning at start: {log}"
    );
    assert!(!log.contains("t0ken-for-prometheus"), "{log}");

    // Production without a token or an admin address: no metrics at all.
    let db = dir.path().join("gongji.db");
    let bare = Server::launch(&[
        "serve",
        "--db",
        db.to_str().expect("utf-8"),
        "--addr",
        "127.0.0.1:0",
    ]);
    let none = get(bare.addr(), "/metrics", "", wait).expect("answer");
    assert!(none.starts_with("HTTP/1.1 404"), "{none}");
    bare.stop();

    // The demo on the same file: open, and labelled.
    let demo = Server::launch(&[
        "demo",
        "--db",
        db.to_str().expect("utf-8"),
        "--no-build",
        "--addr",
        "127.0.0.1:0",
    ]);
    let open = get(demo.addr(), "/metrics", "", wait).expect("answer");
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    assert!(open.contains("演示模式"), "{open}");
    let log = demo.stop().join("\n");
    assert!(log.contains("演示模式 / DEMO MODE"), "{log}");
}

/// The admin address the server printed after it started listening.
fn admin_addr(srv: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(a) = srv.log().iter().find_map(|l| {
            l.split("admin address: http://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .map(str::to_string)
        }) {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "no admin address: {:?}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A config error names the file and the line, in Chinese and English, and the server does
/// not start; `--no-build` refuses a missing database instead of building the demo.
#[test]
fn config_errors_name_the_line_and_nothing_starts() {
    let dir = deployment("[http]\nlisten = \"127.0.0.1:0\"\nmax_connections = 0\n");
    let config = dir.path().join("gongji.toml");
    let out = std::process::Command::new(GONGJI)
        .args(["serve", "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("run gongji");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: ", config.display())),
        "file and line: {err}"
    );
    assert!(err.contains("应为") && err.contains("expected"), "{err}");

    let missing = dir.path().join("missing.db");
    let out = std::process::Command::new(GONGJI)
        .args([
            "demo",
            "--no-build",
            "--db",
            missing.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run gongji");
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists());
}

/// `[limits]` in the config is applied: with a burst of 2, the third sign-in attempt from the
/// same address within the period is answered 429 (the default burst of 20 would let it
/// through).
#[test]
fn the_configured_sign_in_limit_is_applied() {
    let dir = deployment("[limits]\nsign_in_burst = 2\nsign_in_period_ms = 60000\n");
    let srv = serve(dir.path());
    let addr = srv.addr().to_string();
    let attempt = || {
        let mut s = TcpStream::connect(&addr).expect("connect");
        let body = r#"{"username":"nobody","password":"wrong"}"#;
        write!(
            s,
            "POST /api/v1/staff/session HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        read_answer(&mut s).expect("answer")
    };
    for _ in 0..2 {
        let answer = attempt();
        assert!(!answer.starts_with("HTTP/1.1 429"), "{answer}");
    }
    let third = attempt();
    assert!(third.starts_with("HTTP/1.1 429"), "{third}");
    assert!(third.contains("GJ-API-RATE-LIMITED"), "{third}");
}
