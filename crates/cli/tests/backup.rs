//! `gongji backup` under load and `gongji restore` (issue 16, Build §3), against the real
//! binary: a served database takes signed pharmacy settlements (2102) from client threads
//! without pause while the backup is taken; the backup restored into a new file passes
//! `gongji verify`, holds every settlement acknowledged before the backup began, and holds
//! nothing that was never sent.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

fn gongji(args: &[&str]) -> Output {
    Command::new(GONGJI)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("GONGJI_DATABASE")
        .output()
        .unwrap_or_else(|e| panic!("run gongji {args:?}: {e}"))
}

fn must_exit(args: &[&str], code: i32) -> Output {
    let out = gongji(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "gongji {args:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn msgids(db: &Path) -> BTreeSet<String> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");
    // Settlements keep their msgid in the journal; other answered messages in `messages`.
    let mut s = c
        .prepare(
            "SELECT msgid FROM journal WHERE msgid IS NOT NULL UNION SELECT msgid FROM messages",
        )
        .expect("prepare");
    let rows = s.query_map([], |r| r.get::<_, String>(0)).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// Acknowledged settlements: msgid → when the answer arrived.
type Acks = Mutex<BTreeMap<String, Instant>>;

fn acknowledged(acks: &Acks) -> usize {
    acks.lock().expect("acks").len()
}

fn wait_for(acks: &Acks, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged(acks) < at_least {
        assert!(Instant::now() < deadline, "settlements stopped flowing");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_backup_taken_under_load_restores_verified_with_every_settlement_acknowledged_before_it() {
    let env = Env::new();
    let srv = env.serve(NOW);
    let backup = env.dir.path().join("backup.db");
    let restored = env.dir.path().join("restored.db");
    let acks: Acks = Mutex::new(BTreeMap::new());
    let sent: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let stop = AtomicBool::new(false);
    let buyers = [
        (YT_PHARM, person("YT-E1")),
        (ZB_PHARM, person("ZB-E1")),
        (TY_PHARM, person("TY-H2")),
    ];

    let (backup_began, backup_ended) = thread::scope(|s| {
        for (inst, who) in &buyers {
            let (srv, acks, sent, stop) = (&srv, &acks, &sent, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let msgid = new_msgid(inst);
                    sent.lock().expect("sent").insert(msgid.clone());
                    let input = drug_input(who, &who.certno(), "1", &one(ITEM_A, "0.50"), true);
                    let answer = srv.send(
                        &Call::new(inst, "2102", input)
                            .insured_in(who.admdvs)
                            .msgid(&msgid),
                    );
                    answer.ok();
                    acks.lock().expect("acks").insert(msgid, Instant::now());
                }
            });
        }
        wait_for(&acks, 30);
        let began = Instant::now();
        // One page a step: the copy spans many of the writer's commits.
        let args = [
            "backup",
            "--db",
            path(&env.db),
            "--pages-per-step",
            "1",
            path(&backup),
        ];
        must_exit(&args, 0);
        let ended = Instant::now();
        let at_end = acknowledged(&acks);
        // The load goes on after the backup: the server was never stopped or blocked.
        wait_for(&acks, at_end + 30);
        stop.store(true, Ordering::Relaxed);
        (began, ended)
    });
    srv.stop();

    // A database that exists is not replaced without --force; a file that is not a
    // database is refused and creates nothing.
    let garbage = env.dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all").expect("write");
    must_exit(&["restore", path(&garbage), "--db", path(&restored)], 2);
    assert!(!restored.exists(), "a refused restore created the database");
    must_exit(&["restore", path(&backup), "--db", path(&restored)], 0);
    must_exit(&["restore", path(&backup), "--db", path(&env.db)], 2);
    must_exit(&["verify", "--db", path(&restored)], 0);

    let present = msgids(&restored);
    let acks = acks.into_inner().expect("acks");
    let sent = sent.into_inner().expect("sent");
    let before: Vec<&String> = acks
        .iter()
        .filter(|(_, at)| **at < backup_began)
        .map(|(m, _)| m)
        .collect();
    assert!(before.len() >= 30);
    let missing: Vec<&&String> = before.iter().filter(|m| !present.contains(**m)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} settlements acknowledged before the backup are missing: {missing:?}",
        missing.len(),
        before.len()
    );
    let after = acks.values().filter(|at| **at > backup_ended).count();
    assert!(after >= 30, "settlements flowed after the backup");
    let during = acks.len() - before.len() - after;
    assert!(
        during > 0,
        "the server went on settling while the backup ran"
    );
    let settlements: BTreeSet<&String> = present
        .iter()
        .filter(|m| buyers.iter().any(|(inst, _)| m.starts_with(inst.code)))
        .collect();
    assert!(
        settlements.iter().all(|m| sent.contains(*m)),
        "the restored database holds settlements nobody sent"
    );
    eprintln!(
        "backup: {} acknowledged before it, {during} during, {after} after; \
         {} settlements in the backup; took {:?}",
        before.len(),
        settlements.len(),
        backup_ended - backup_began
    );

    // --force replaces a database, and what it restores is the backup, not the old file.
    must_exit(
        &["restore", path(&backup), "--db", path(&env.db), "--force"],
        0,
    );
    assert_eq!(msgids(&env.db), present);
    must_exit(&["verify", "--db", path(&env.db)], 0);
}
