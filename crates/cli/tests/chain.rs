//! `gongji verify` and `gongji anchor` against the real binary (issue 12): an edit behind
//! the ledger's back makes `verify` exit 1 naming the row, on SQLite and PostgreSQL; a
//! signed anchor proves that nothing before it changed, even when every hash after the
//! edit was rewritten, and refuses a wrong key or an altered anchor file.

use std::path::Path;
use std::process::{Command, Output};

use gongji_core::Fen;
use gongji_store::{
    AuditRow, JournalEntry, PgStore, PostingRow, SettlementRow, SqliteStore, Store, Write,
    WriteBatch,
};

const GONGJI: &str = env!("CARGO_BIN_EXE_gongji");

fn gongji(args: &[&str]) -> Output {
    Command::new(GONGJI)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("GONGJI_DATABASE")
        .output()
        .unwrap_or_else(|e| panic!("run gongji {args:?}: {e}"))
}

/// Runs gongji, expects `code`, returns stdout and stderr together.
fn must_exit(args: &[&str], code: i32) -> String {
    let out = gongji(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "gongji {args:?}\n{text}");
    text
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn posting(account: &str, amount: i64, after: i64, explanation: &str) -> PostingRow {
    PostingRow {
        account_key: account.into(),
        psn_no: account.strip_prefix("psn:").map(str::to_string),
        amount: Fen::from_fen(amount),
        rule: "test".into(),
        floor: None,
        balance_after: Fen::from_fen(after),
        explanation: explanation.into(),
    }
}

fn entry(entry_id: i64, kind: &str, postings: Vec<PostingRow>) -> JournalEntry {
    JournalEntry {
        entry_id,
        msgid: Some(format!("M{entry_id}")),
        kind: kind.into(),
        admdvs: "370602".into(),
        psn_no: Some("P0001".into()),
        fixmedins_code: None,
        channel: "1".into(),
        occurred_at: "2025-03-01 10:00:00".into(),
        reverses_entry: None,
        request_hash: None,
        response: None,
        summary: format!("{kind} {entry_id}"),
        postings,
    }
}

fn audit(n: i64) -> AuditRow {
    AuditRow {
        at: format!("2025-03-0{n} 09:00:00"),
        actor: "staff:alice".into(),
        channel: "9".into(),
        action: "suspend".into(),
        subject: format!("binding:{n}"),
        before_state: None,
        after_state: Some("status=suspended".into()),
    }
}

/// Entry 1 funds P0001 with 500.00; entry 2 settles 100.00 of which the relative's account
/// (mutual aid) paid 30.00; audit rows 1 to 3.
fn ledger() -> WriteBatch {
    let mut settle = entry(
        2,
        "settle",
        vec![
            posting("psn:P0001", -3_000, 47_000, "家庭共济支付"),
            posting("inst:H1", 3_000, 3_000, "应付机构"),
        ],
    );
    settle.fixmedins_code = Some("H1".into());
    WriteBatch {
        writes: vec![
            Write::Entry(entry(
                1,
                "opening",
                vec![
                    posting("psn:P0001", 50_000, 50_000, "个人账户划入"),
                    posting("funding", -50_000, -50_000, "划入"),
                ],
            )),
            Write::Audit(audit(1)),
            Write::Entry(settle),
            Write::Settlement(SettlementRow {
                setl_id: "S2".into(),
                entry_id: 2,
                mdtrt_id: "MD2".into(),
                psn_no: "P0002".into(),
                fixmedins_code: "H1".into(),
                admdvs: "370602".into(),
                insutype: "310".into(),
                med_type: "11".into(),
                setl_date: "2025-03-01".into(),
                medfee_sumamt: Fen::from_fen(10_000),
                fund_pay_sumamt: Fen::from_fen(7_000),
                acct_pay: Fen::ZERO,
                acct_mulaid_pay: Fen::from_fen(3_000),
                psn_cash_pay: Fen::ZERO,
                cancelled: false,
                detail: "{}".into(),
            }),
            Write::Audit(audit(2)),
            Write::Audit(audit(3)),
        ],
    }
}

fn sqlite_ledger(db: &Path) {
    let mut s = SqliteStore::open(db).expect("open");
    s.commit(&ledger()).expect("commit");
}

fn sql(db: &Path, statements: &str) {
    rusqlite::Connection::open(db)
        .and_then(|c| c.execute_batch(statements))
        .expect("raw sql");
}

#[test]
fn verify_exits_1_naming_a_zeroed_mutual_aid_payment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("g.db");
    sqlite_ledger(&db);
    let clean = must_exit(&["verify", "--db", path(&db)], 0);
    assert!(clean.contains("全部通过"), "{clean}");
    assert!(
        clean.contains("哈希链 chain journal   2 行 rows, sm3 head"),
        "{clean}"
    );
    assert!(clean.contains("用时 elapsed"), "{clean}");
    sql(
        &db,
        "UPDATE settlements SET acct_mulaid_pay = 0 WHERE setl_id = 'S2'",
    );
    let said = must_exit(&["verify", "--db", path(&db)], 1);
    assert!(said.contains("journal 2: hash chain broken"), "{said}");
}

#[test]
fn verify_exits_1_naming_the_row_after_a_removed_audit_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("g.db");
    sqlite_ledger(&db);
    sql(&db, "DELETE FROM audit_log WHERE audit_id = 2");
    let said = must_exit(&["verify", "--db", path(&db)], 1);
    assert!(said.contains("audit_log 3: hash chain broken"), "{said}");
}

#[test]
fn verify_exits_1_naming_a_changed_text_on_postgres() {
    let Some(cluster) = gongji_store::testing::shared_or_skip("cli_chain_text") else {
        return;
    };
    let url = cluster.create_db("cli_chain_text");
    {
        let mut s = PgStore::connect(&url).expect("connect");
        s.commit(&ledger()).expect("commit");
    }
    must_exit(&["verify", "--database", &url], 0);
    {
        let mut s = PgStore::connect(&url).expect("connect");
        s.client()
            .batch_execute(
                "UPDATE postings SET explanation = '个人账户支付' WHERE entry_id = 2 AND seq = 0",
            )
            .expect("raw sql");
    }
    let said = must_exit(&["verify", "--database", &url], 1);
    assert!(said.contains("journal 2: hash chain broken"), "{said}");
}

/// What someone who edits a row and then recomputes every hash achieves: migration 0016
/// taken back out, so the next open chains the edited rows afresh.
fn rewrite_chains(db: &Path) {
    sql(
        db,
        "DROP INDEX journal_chain_seq;
         ALTER TABLE journal DROP COLUMN chain_seq;
         ALTER TABLE journal DROP COLUMN chain_alg;
         ALTER TABLE journal DROP COLUMN chain_hash;
         ALTER TABLE audit_log DROP COLUMN chain_alg;
         ALTER TABLE audit_log DROP COLUMN chain_hash;
         DROP TABLE chain_heads;
         DROP INDEX settlements_entry;
         DROP INDEX recovery_cases_repaid;
         DELETE FROM schema_migrations WHERE name = '0016_chains';",
    );
    SqliteStore::open(db).expect("reopen and chain");
}

#[test]
fn an_anchor_proves_nothing_before_it_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("g.db");
    let key = dir.path().join("anchor.key");
    let public = dir.path().join("anchor.pub");
    let anchor = dir.path().join("anchor.txt");
    sqlite_ledger(&db);
    let made = must_exit(
        &[
            "anchor",
            "keygen",
            "--key",
            path(&key),
            "--public",
            path(&public),
        ],
        0,
    );
    assert!(made.contains("SM2"), "{made}");
    must_exit(
        &[
            "anchor",
            "--db",
            path(&db),
            "--key",
            path(&key),
            "--out",
            path(&anchor),
        ],
        0,
    );
    let text = std::fs::read_to_string(&anchor).expect("anchor file");
    assert!(text.contains("chain: journal sm3 2 "), "{text}");
    assert!(text.contains("chain: audit_log sm3 3 "), "{text}");
    let with_anchor = |db: &Path, public: &Path, code: i32| {
        must_exit(
            &[
                "verify",
                "--db",
                path(db),
                "--anchor",
                path(&anchor),
                "--anchor-key",
                path(public),
            ],
            code,
        )
    };

    // Rows appended after the anchor: nothing before it changed.
    {
        let mut s = SqliteStore::open(&db).expect("open");
        s.commit(&WriteBatch {
            writes: vec![
                Write::Entry(entry(
                    3,
                    "opening",
                    vec![
                        posting("psn:P0001", 100, 47_100, "个人账户划入"),
                        posting("funding", -100, -50_100, "划入"),
                    ],
                )),
                Write::Audit(audit(4)),
            ],
        })
        .expect("append");
    }
    let said = with_anchor(&db, &public, 0);
    assert!(said.contains("锚点签名有效"), "{said}");

    // A wrong key, and an anchor file with one digit changed, are refused.
    let other_key = dir.path().join("other.key");
    let other_public = dir.path().join("other.pub");
    must_exit(
        &[
            "anchor",
            "keygen",
            "--key",
            path(&other_key),
            "--public",
            path(&other_public),
        ],
        0,
    );
    let said = with_anchor(&db, &other_public, 1);
    assert!(said.contains("GJ-ANCHOR-SIGNATURE"), "{said}");
    let altered = dir.path().join("altered.txt");
    std::fs::write(
        &altered,
        text.replace("chain: journal sm3 2 ", "chain: journal sm3 1 "),
    )
    .expect("write");
    let said = must_exit(
        &[
            "verify",
            "--db",
            path(&db),
            "--anchor",
            path(&altered),
            "--anchor-key",
            path(&public),
        ],
        1,
    );
    assert!(said.contains("GJ-ANCHOR-SIGNATURE"), "{said}");

    // An edit before the anchor, every hash rewritten after it: verify alone passes, the
    // anchor does not.
    sql(
        &db,
        "UPDATE settlements SET acct_mulaid_pay = 0 WHERE setl_id = 'S2'",
    );
    rewrite_chains(&db);
    must_exit(&["verify", "--db", path(&db)], 0);
    let said = with_anchor(&db, &public, 1);
    assert!(said.contains("journal: anchor not matched"), "{said}");
}
