//! A batch on SQLite waits for a write lock held by another connection (the checkpointer's
//! RESTART holds it) instead of failing with "database is locked".

use std::thread;
use std::time::Duration;

use gongji_store::{AuditRow, SqliteStore, Store, Write, WriteBatch};

fn audit(n: i64) -> AuditRow {
    AuditRow {
        at: format!("2025-03-0{n} 09:00:00"),
        actor: "staff:alice".into(),
        channel: "9".into(),
        action: "staff_read".into(),
        subject: format!("person:{n}"),
        before_state: None,
        after_state: None,
    }
}

#[test]
fn a_batch_waits_for_a_write_lock_held_elsewhere_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock.db");
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .commit(&WriteBatch {
            writes: vec![Write::Audit(audit(1))],
        })
        .unwrap();

    // Another connection takes the write lock, writes, and commits a moment later: the
    // batch started meanwhile must wait for it, then commit on top of it.
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; CREATE TABLE elsewhere (x INTEGER);")
        .unwrap();
    let holder = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        other.execute_batch("COMMIT").unwrap();
    });
    let outcome = store.commit(&WriteBatch {
        writes: vec![Write::Audit(audit(2))],
    });
    holder.join().unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{report}");
}
