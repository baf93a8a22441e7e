//! The institution interface on PostgreSQL, end to end: the fixture registry imported with
//! `gongji import --database`, served by `gongji serve --database` from a throwaway cluster,
//! a pharmacy journey with mutual aid (1101 → 2102 → replay → 2103) over signed HTTP, a
//! restart that answers replays from the database, a second writer refused while the first
//! holds the province's lease, and `gongji verify --database` clean at the end.
//!
//! Skipped (with a line on stderr) when PostgreSQL is not installed, unless `CI=true`.

mod support;

use std::process::{Command, Output, Stdio};

use gongji_store::testing;
use support::*;

fn gongji(args: &[&str]) -> Output {
    Command::new(GONGJI)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("GONGJI_DATABASE")
        .output()
        .unwrap_or_else(|e| panic!("run gongji {args:?}: {e}"))
}

fn must_succeed(args: &[&str]) -> String {
    let out = gongji(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "gongji {args:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `gongji serve --database URL` on a free loopback port, stopped on drop.
#[test]
fn institution_interface_runs_on_postgres() {
    let Some(cluster) = testing::shared_or_skip("institution_interface_runs_on_postgres") else {
        return;
    };
    let url = cluster.create_db("institution_interface");

    // The acceptance fixture's registry, exported and imported again into a fresh SQLite
    // file and into PostgreSQL: the same rows load and the same rows are refused (the
    // paused holder ZB-H2 cannot bind again), and both export the same files.
    let env = Env::new();
    let dir = env.dir.path();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_string();
    let registry = dir.join("registry-export");
    let copy = dir.join("copy.db");
    must_succeed(&["export", "--db", &path(&env.db), &path(&registry)]);
    let into_sqlite = gongji(&["import", "--db", &path(&copy), &path(&registry)]);
    let into_pg = gongji(&["import", "--database", &url, &path(&registry)]);
    assert_eq!(into_pg.status.code(), into_sqlite.status.code());
    assert_eq!(
        String::from_utf8_lossy(&into_pg.stderr),
        String::from_utf8_lossy(&into_sqlite.stderr)
    );
    assert!(
        String::from_utf8_lossy(&into_pg.stdout).contains("persons.csv: 导入"),
        "{}",
        String::from_utf8_lossy(&into_pg.stdout)
    );
    let (from_sqlite, from_pg) = (dir.join("from-sqlite"), dir.join("from-pg"));
    must_succeed(&["export", "--db", &path(&copy), &path(&from_sqlite)]);
    must_succeed(&["export", "--database", &url, &path(&from_pg)]);
    for file in [
        "persons.csv",
        "accounts.csv",
        "institutions.csv",
        "catalog.csv",
        "bindings.csv",
    ] {
        let a = std::fs::read(from_sqlite.join(file)).expect("sqlite export");
        let b = std::fs::read(from_pg.join(file)).expect("postgres export");
        assert!(a.len() > 40, "{file} is empty");
        assert!(a == b, "{file} differs between SQLite and PostgreSQL");
    }

    let srv = Server::start_on(&["--database", &url], NOW);
    let inst = &YT_PHARM;
    let holder = person("YT-H1");
    let spouse = person("YT-R2");

    // 1101: who she is and what her account holds.
    let out = srv
        .send(&Call::new(
            inst,
            "1101",
            person_query("02", &spouse.certno()),
        ))
        .ok();
    assert_eq!(out.get("baseinfo").get("psn_no").s(), "YT-R2");
    assert_eq!(out.get("insuinfo").arr()[0].get("balc").fen(), fen("20.00"));
    assert_eq!(srv.balance(inst, &holder), fen("1000.00"));

    // 2102 with mutual aid: her own 20.00 first, then her husband's account up to the
    // 30.00 per-payment limit, the rest in cash.
    let buy = Call::new(
        inst,
        "2102",
        drug_input(&spouse, &spouse.certno(), "1", &one(ITEM_A, "100.00"), true),
    )
    .insured_in(spouse.admdvs);
    let first = srv.send(&buy);
    let out = first.ok();
    let s = Setl::of_settlement(&out);
    assert_eq!(
        (s.acct, s.mulaid, s.cash, s.balc),
        (fen("50.00"), fen("30.00"), fen("50.00"), 0)
    );
    assert_eq!(mutual_aid_lines(&out).len(), 1);
    assert_eq!(srv.balance(inst, &holder), fen("970.00"));

    // A replay is answered byte for byte and charges nothing, also after a restart, when
    // the answer comes from PostgreSQL.
    assert_eq!(srv.send(&buy).bytes, first.bytes, "replayed byte for byte");
    let srv = srv.restart(NOW);
    assert_eq!(
        srv.send(&buy).bytes,
        first.bytes,
        "replayed after a restart"
    );
    assert_eq!(srv.balance(inst, &holder), fen("970.00"));
    assert_eq!(srv.balance(inst, &spouse), 0);

    // One writer per province: a second server on the same database is refused.
    let second = Command::new(GONGJI)
        .args(["serve", "--database", &url, "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run a second gongji serve");
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(gongji_store::postgres::LEASE_HELD),
        "second writer: {err}"
    );
    assert!(!err.contains(&url), "the URL is never printed: {err}");

    // 2103 returns every fen to where it came from; its replay is the same answer.
    let cancel = Call::new(
        inst,
        "2103",
        cancel_input(s.setl_id.as_deref().expect("setl_id"), &s.mdtrt_id, &spouse),
    )
    .insured_in(spouse.admdvs);
    let undone = srv.send(&cancel);
    Setl::of_cancel(&undone.ok(), &s);
    assert_eq!(srv.send(&cancel).bytes, undone.bytes);
    assert_eq!(srv.balance(inst, &holder), fen("1000.00"));
    assert_eq!(srv.balance(inst, &spouse), fen("20.00"));
    srv.stop();

    let report = must_succeed(&["verify", "--database", &url]);
    assert!(report.contains("全部通过"), "{report}");
}

/// `gongji bench --database URL` at a small scale: the population is imported into
/// PostgreSQL, every mode runs on it with nothing failed, and the database verifies.
#[test]
fn bench_runs_on_postgres() {
    let Some(cluster) = testing::shared_or_skip("bench_runs_on_postgres") else {
        return;
    };
    let url = cluster.create_db("bench_smoke");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let json = dir.path().join("bench.json");
    let report = must_succeed(&[
        "bench",
        "-n",
        "200",
        "--persons",
        "1500",
        "--clients",
        "8",
        "--http-clients",
        "8",
        "--baseline-connections",
        "4",
        "--baseline-clients",
        "8",
        "--no-sqlite",
        "--database",
        &url,
        "--db",
        db.to_str().expect("utf-8 path"),
        "--verify",
        "--out",
        json.to_str().expect("utf-8 path"),
    ]);
    for expected in [
        "engine on postgres",
        "http on postgres",
        "http-open-loop on postgres",
        "baseline on postgres",
        "FOR UPDATE",
        "clean",
    ] {
        assert!(report.contains(expected), "no {expected:?} in {report}");
    }
    assert!(!report.contains(&url), "the URL is never printed");
    let figures = std::fs::read_to_string(&json).expect("figures");
    assert_eq!(figures.matches("\"failed\":0").count(), 4, "{figures}");
    must_succeed(&["verify", "--database", &url]);
}
