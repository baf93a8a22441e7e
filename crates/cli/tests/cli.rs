//! The `gongji` binary as a user runs it: demo, verify, import, export, policy check, bench.

use std::path::Path;
use std::process::{Command, Output};

use gongji_store::SqliteStore;

fn gongji(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_gongji"))
        .args(args)
        .output();
    match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run gongji: {e}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn demo_db(dir: &Path) -> String {
    let db = dir.join("demo.db");
    let db = db.to_string_lossy().into_owned();
    let out = gongji(&["demo", "--db", &db, "--no-serve"]);
    assert!(out.status.success(), "demo failed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("参保人 10000 人"), "demo summary: {stdout}");
    db
}

#[test]
fn verify_passes_on_the_demo_and_names_a_tampered_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());

    let clean = gongji(&["verify", "--db", &db]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stdout));
    assert!(text(&clean.stdout).contains("全部通过"));

    // Change one balance behind the ledger's back.
    let account: String = {
        let store = SqliteStore::open(Path::new(&db)).unwrap();
        let conn = store.connection();
        let key: String = conn
            .query_row(
                "SELECT account_key FROM accounts WHERE account_key LIKE 'psn:%' ORDER BY account_key LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE accounts SET balance_fen = balance_fen + 1 WHERE account_key = ?1",
            [&key],
        )
        .unwrap();
        key
    };
    let dirty = gongji(&["verify", "--db", &db]);
    assert_eq!(dirty.status.code(), Some(1));
    let report = text(&dirty.stdout);
    assert!(
        report.contains(&account),
        "report must name {account}: {report}"
    );
    assert!(report.contains("余额与分录不符"), "{report}");
}

#[test]
fn verify_of_a_missing_database_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let out = gongji(&["verify", "--db", &db.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn export_then_import_is_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let out = gongji(&["export", "--db", &db, &first.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copy = dir.path().join("copy.db");
    let copy = copy.to_string_lossy();
    let out = gongji(&["import", "--db", &copy, &first.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = gongji(&["export", "--db", &copy, &second.to_string_lossy()]);
    assert!(out.status.success());
    for file in [
        "persons.csv",
        "accounts.csv",
        "institutions.csv",
        "catalog.csv",
        "bindings.csv",
    ] {
        let a = std::fs::read(first.join(file)).unwrap();
        let b = std::fs::read(second.join(file)).unwrap();
        assert!(a == b, "{file} differs after export → import → export");
        assert!(a.len() > 40, "{file} is empty");
    }
}

#[test]
fn import_reports_refused_rows_with_file_line_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in");
    std::fs::create_dir_all(&csv).unwrap();
    // The second row's ID number has a wrong check digit (the right one is X).
    std::fs::write(
        csv.join("persons.csv"),
        "psn_no,certno,psn_name,gend,brdy,insutype,psn_type,admdvs,psn_insu_stas,cvlserv_flag,public_medical,emp_name,phone\n\
         P1,11010519491231002X,张建国,1,1949-12-31,310,21,370300,1,0,0,淄博某厂,13800000001\n\
         P2,110105194912310021,李四,1,1949-12-31,310,21,370300,1,0,0,淄博某厂,13800000002\n",
    )
    .unwrap();
    std::fs::write(
        csv.join("accounts.csv"),
        "psn_no,balance\nP1,100.5\nP9,1.00\n",
    )
    .unwrap();
    let db = dir.path().join("x.db");
    let out = gongji(&[
        "import",
        "--db",
        &db.to_string_lossy(),
        &csv.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("persons.csv:3: GJ-IMPORT-BAD-FIELD"), "{err}");
    assert!(err.contains("accounts.csv:3: GJ-UNKNOWN-PERSON"), "{err}");
    // The good rows loaded: P1 has 100.50 yuan and the ledger is sound.
    let v = gongji(&["verify", "--db", &db.to_string_lossy()]);
    assert_eq!(v.status.code(), Some(0));
    assert!(text(&v.stdout).contains("100.50"), "{}", text(&v.stdout));

    // A file with the wrong header cannot be imported at all.
    std::fs::write(csv.join("catalog.csv"), "code,name\nA,B\n").unwrap();
    let out = gongji(&[
        "import",
        "--db",
        &db.to_string_lossy(),
        &csv.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("catalog.csv"));
}

#[test]
fn policy_check_accepts_the_presets_and_names_file_line_field_of_an_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let zibo = root.join("shandong-zibo.toml");
    let out = gongji(&["policy", "check", &zibo.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("370300"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let original = std::fs::read_to_string(&zibo).unwrap();
    std::fs::write(
        &bad,
        original.replace("reserve = \"0.00\"", "reserve = \"0.001\""),
    )
    .unwrap();
    let out = gongji(&["policy", "check", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("payment.reserve"),
        "{err}"
    );
}

#[test]
fn bench_runs_a_small_mix_and_reports_speed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db").to_string_lossy().into_owned();
    let json = dir.path().join("bench.json");
    let out = gongji(&[
        "bench",
        "-n",
        "300",
        "--persons",
        "1500",
        "--clients",
        "8",
        "--http-clients",
        "8",
        "--db",
        &db,
        "--verify",
        "--out",
        &json.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    for expected in [
        "engine on sqlite",
        "http on sqlite",
        "http-open-loop on sqlite",
        "baseline on sqlite",
        "ops/s",
        "p99",
        "resident memory",
        "verify",
        "clean",
    ] {
        assert!(report.contains(expected), "no {expected:?} in {report}");
    }
    // Every run answered every request, and nothing failed.
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let runs = figures["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "{figures}");
    for run in runs {
        assert_eq!(run["failed"], 0, "{run}");
        assert!(run["operations"].as_u64().unwrap() > 0, "{run}");
        assert!(run["durable_per_s"].as_f64().unwrap() > 0.0, "{run}");
        // Refusals are listed by stable code and add up to the refused count.
        let by_code: u64 = run["refused_by_code"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(by_code, run["refused"].as_u64().unwrap(), "{run}");
    }
    assert!(runs[0]["ratio_to_baseline"].as_f64().is_some(), "{figures}");
    assert_eq!(figures["persons"], 1500);
    // The default province (Shanxi, with Yuncheng's contribution standards) runs the whole
    // mix: premiums as well as settlements, mutual aid and cancels.
    assert_eq!(figures["province"], "shanxi");
    // The kinds are counted from the answers: mutual aid only where acct_mulaid_pay > 0,
    // cancels and premiums only where done; most relatives' purchases draw mutual aid.
    for kind in ["own_account", "mutual_aid", "cancels", "premiums"] {
        assert!(
            runs[0][kind].as_u64().unwrap() > 0,
            "no {kind} in {}",
            runs[0]
        );
    }
    for run in runs {
        for kind in ["own_account", "mutual_aid", "cancels", "premiums"] {
            if run["planned"][kind].as_u64().unwrap() > 0 {
                assert!(run[kind].as_u64().unwrap() > 0, "no {kind} done in {run}");
            }
        }
        let drawn = run["mutual_aid"].as_u64().unwrap();
        let planned = run["planned"]["mutual_aid"].as_u64().unwrap();
        assert!(
            drawn * 2 >= planned,
            "{drawn} of {planned} drew mutual aid: {run}"
        );
    }
    // And the database says so too.
    let db_conn = rusqlite::Connection::open(&db).unwrap();
    let with_aid: i64 = db_conn
        .query_row(
            "SELECT COUNT(*) FROM settlements WHERE acct_mulaid_pay > 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(with_aid > 0, "no settlement paid mutual aid");
    drop(db_conn);

    // A second run reuses the population; with --report-beside the open loop runs again
    // with the whole province's staff report running beside it on a reader.
    let again = gongji(&[
        "bench",
        "-n",
        "50",
        "--persons",
        "1500",
        "--modes",
        "engine,open",
        "--rate",
        "200",
        "--report-beside",
        "--db",
        &db,
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let again = text(&again.stdout);
    for expected in [
        "reusing",
        "http-open-loop on sqlite",
        "http-open-loop+report on sqlite",
        "staff reports ran beside it",
    ] {
        assert!(again.contains(expected), "no {expected:?} in {again}");
    }
}

#[test]
fn operator_add_reads_the_password_from_stdin_and_stores_only_its_hash() {
    use gongji_store::ReadStore;
    use std::io::Write;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("till.db");
    let db = db.to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongji"))
        .args([
            "operator",
            "add",
            "--db",
            &db,
            "--institution",
            "p37030200001",
            "--username",
            "till1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"till-secret-1\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("till1@P37030200001"));
    let mut store = SqliteStore::open(Path::new(&db)).unwrap();
    let row = store.operator("P37030200001", "till1").unwrap().unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(!row.password_hash.contains("till-secret-1"));
    assert!(gongji_server::service::auth::verify_password(
        "till-secret-1",
        &row.password_hash
    ));
    // A short password is refused and nothing is stored for it.
    let short = gongji(&[
        "operator",
        "add",
        "--db",
        &db,
        "--institution",
        "P37030200001",
        "--username",
        "till2",
        "--password",
        "short",
    ]);
    assert_eq!(short.status.code(), Some(2), "{}", text(&short.stderr));
    assert_eq!(store.operator("P37030200001", "till2").unwrap(), None);
}

/// The nonce store under honest load for longer than the timestamp window (issue 10,
/// finding 3), small: no request is refused as a replay or for its rate, spread over many
/// institutions or from one alone.
#[test]
fn bench_nonces_refuses_no_honest_request_over_two_windows() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("nonces.json");
    let out = gongji(&[
        "bench",
        "--modes",
        "nonces",
        "--nonce-rate",
        "200",
        "--nonce-institutions",
        "50",
        "--nonce-seconds",
        "650",
        "--out",
        &json.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("GJ-AUTH-NONCE-REPLAYED refusals: 0"),
        "{report}"
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let loads = figures["nonces"].as_array().unwrap();
    assert_eq!(loads.len(), 2, "{figures}");
    for load in loads {
        assert_eq!(load["requests"], 200 * 650, "{load}");
        assert_eq!(load["nonce_replayed_refusals"], 0, "{load}");
        assert!(
            load["refused_by_code"].as_object().unwrap().is_empty(),
            "{load}"
        );
        assert!(load["checks_per_s"].as_f64().unwrap() > 0.0, "{load}");
        // The store holds about a window's worth, not everything sent.
        assert!(load["peak_entries"].as_u64().unwrap() < 200 * 650, "{load}");
    }
}

/// A short soak: a fixed rate for a few seconds; memory and p99 per interval land in
/// soak.json and soak.svg beside --out, and the database verifies.
#[test]
fn bench_soak_charts_memory_and_p99_over_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db").to_string_lossy().into_owned();
    let json = dir.path().join("bench.json");
    let out = gongji(&[
        "bench",
        "--modes",
        "soak",
        "--rate",
        "100",
        "--duration",
        "3",
        "--persons",
        "1500",
        "--http-clients",
        "8",
        "--db",
        &db,
        "--verify",
        "--out",
        &json.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("soak.json")).unwrap()).unwrap();
    let samples = figures["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3, "one sample a second: {figures}");
    for s in samples {
        assert!(s["rss_bytes"].as_u64().unwrap() > 1 << 20, "{s}");
        assert!(s["p99_us"].as_u64().unwrap() > 0, "{s}");
        assert_eq!(s["answered"].as_u64().unwrap(), 100, "{s}");
    }
    let chart = std::fs::read_to_string(dir.path().join("soak.svg")).unwrap();
    assert_eq!(chart.matches("<polyline").count(), 2, "{chart}");
    assert!(text(&out.stdout).contains("clean"), "{}", text(&out.stdout));
}
