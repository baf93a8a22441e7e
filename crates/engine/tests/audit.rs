//! An audit row commits with its change or not at all (issue 12, item 3): a request's audit
//! row (`Request::with_audit`) is written in the change's batch only when the change is made
//! — not on a refusal, a replay or a failed commit — and every binding change writes its own
//! row in the same batch.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::*;
use gongji_core::binding_rules::Limits;
use gongji_core::codes::Channel;
use gongji_core::Fen;
use gongji_engine::{
    BindingChange, ChangeBindingCommand, Command, Engine, EngineError, Outcome, Request,
};
use gongji_store::privacy::{PrivacyKey, PrivacyStatus};
use gongji_store::read::PremiumPayment;
use gongji_store::{
    AuditRow, Checkpoint, ReconcileQuery, ReconcileTotals, Snapshot, SqliteStore, Store,
    StoreError, StoredAnswer, StoredSettlement, VerifyReport, WithheldRow, WriteBatch,
};

/// A real SQLite store whose next commits fail (nothing written, as a rolled-back
/// transaction).
struct FaultyStore {
    inner: SqliteStore,
    fail_commits: Arc<AtomicU32>,
}

impl Store for FaultyStore {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        self.inner.load_snapshot()
    }
    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        let failing = self
            .fail_commits
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::Io("injected fault: commit".into()));
        }
        self.inner.commit(batch)
    }
    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        self.inner.answer_for_msgid(msgid)
    }
    fn answers_for_msgids(
        &mut self,
        msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        self.inner.answers_for_msgids(msgids)
    }
    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        self.inner.settlement(setl_id)
    }
    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        self.inner.verify()
    }
    fn reconcile(&mut self, q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        self.inner.reconcile(q)
    }
    fn verify_with(&mut self, anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
        self.inner.verify_with(anchors)
    }
    fn review_state(&mut self, review_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.review_state(review_id)
    }
    fn withheld(&mut self, setl_id: &str) -> Result<Vec<WithheldRow>, StoreError> {
        self.inner.withheld(setl_id)
    }
    fn premium_payments(&mut self, psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError> {
        Store::premium_payments(&mut self.inner, psn_no)
    }
    fn use_privacy(&mut self, key: Option<PrivacyKey>) -> Result<PrivacyStatus, StoreError> {
        self.inner.use_privacy(key)
    }
    fn seal_plaintext_persons(
        &mut self,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        self.inner.seal_plaintext_persons(batch, progress)
    }
}

/// A Yuncheng holder (2,000 yuan) with two resident children bound since 2023-08-01 and a
/// third not bound, in a database file reopened behind the fault injector.
struct Family {
    engine: Engine<FaultyStore>,
    fail: Arc<AtomicU32>,
    holder: String,
    kids: Vec<String>,
    binding: i64,
    _dir: tempfile::TempDir,
}

fn family() -> Family {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.db");
    let mut w = World::with_store(
        SqliteStore::open(&path).expect("store"),
        gongji_policy::presets(),
    );
    let holder = w.employee(YUNCHENG, yuan(2000));
    let kids: Vec<String> = (0..3).map(|_| w.resident(YUNCHENG)).collect();
    let binding = w
        .bind(&holder, &kids[0], 21, "2023-08-01")
        .expect("bind")
        .id;
    w.bind(&holder, &kids[1], 22, "2023-08-01").expect("bind");
    drop(w);
    let fail = Arc::new(AtomicU32::new(0));
    let store = FaultyStore {
        inner: SqliteStore::open(&path).expect("reopen"),
        fail_commits: fail.clone(),
    };
    let engine = Engine::open(store, gongji_policy::presets()).expect("engine");
    Family {
        engine,
        fail,
        holder,
        kids,
        binding,
        _dir: dir,
    }
}

impl Family {
    fn one(&mut self, sql: &str) -> String {
        self.engine
            .store_mut()
            .inner
            .connection()
            .query_row(sql, [], |r| r.get::<_, String>(0))
            .expect("query")
    }

    fn audited(&mut self, action: &str) -> String {
        self.one(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action = '{action}'"
        ))
    }

    fn premiums(&mut self) -> String {
        self.one("SELECT CAST(COUNT(*) AS TEXT) FROM premiums")
    }

    /// Every binding as the store holds it.
    fn bindings(&mut self) -> String {
        self.one(
            "SELECT COALESCE(GROUP_CONCAT(binding_id || ':' || status || ':' || COALESCE(end_date, '-')
                 || ':' || COALESCE(limit_per_payment_fen, '-'), ' '), '') FROM bindings",
        )
    }

    fn premium(&self, kid: usize, year: i32, msgid: &str) -> Request {
        let cmd = gongji_engine::PremiumCommand {
            holder: self.holder.clone(),
            relative: self.kids[kid].clone(),
            year,
            kind: gongji_core::premium::PremiumKind::Resident,
            place: None,
            channel: Channel::WeChat,
            at: at("2023-10-10"),
        };
        Request::new(Command::Premium(cmd))
            .with_msgid(msgid, format!("premium {kid} {year}"))
            .with_audit_detail(
                AuditRow {
                    at: "2023-10-10 00:00:00".into(),
                    actor: self.holder.clone(),
                    channel: Channel::WeChat.code().into(),
                    action: "premium_paid".into(),
                    subject: format!("person:{}", self.kids[kid]),
                    before_state: None,
                    after_state: None,
                },
                Box::new(|o: &Outcome| match o {
                    Outcome::PremiumPaid(p) => Some(p.explanation.clone()),
                    _ => None,
                }),
            )
    }

    fn change(&mut self, binding_id: i64, change: BindingChange) -> Result<Outcome, EngineError> {
        self.engine
            .execute(Request::new(Command::ChangeBinding(ChangeBindingCommand {
                binding_id,
                change,
                channel: Channel::WeChat,
                actor: self.holder.clone(),
                at: at("2023-10-10"),
            })))
    }
}

#[track_caller]
fn store_failed(got: Result<Outcome, EngineError>) {
    match got {
        Err(e) => assert_eq!(e.code(), "GJ-STORE-IO", "{}", e.message_en()),
        Ok(o) => panic!("went through: {o:?}"),
    }
}

#[track_caller]
fn refused_by_rule(got: Result<Outcome, EngineError>) {
    assert!(
        matches!(got, Err(EngineError::Refused(_))),
        "expected a refusal: {got:?}"
    );
}

/// A request's audit row is written with its change, and only then: a refusal, a failed
/// commit and a replay of the stored answer write none; a refusal beside a payment in one
/// batch takes nothing from the payment's row. Fails on main, where a request carried no
/// audit row (the service wrote it as a second command after the change).
#[test]
fn a_requests_audit_row_is_written_exactly_when_its_change_is() {
    let mut f = family();
    let counts = |f: &mut Family| (f.premiums(), f.audited("premium_paid"));

    refused_by_rule(f.engine.execute(f.premium(0, 2030, "m-0")));
    assert_eq!(counts(&mut f), ("0".into(), "0".into()));

    f.fail.store(1, Ordering::SeqCst);
    store_failed(f.engine.execute(f.premium(0, 2024, "m-1")));
    assert_eq!(counts(&mut f), ("0".into(), "0".into()));

    let paid = f.engine.execute(f.premium(0, 2024, "m-2"));
    let Ok(Outcome::PremiumPaid(paid)) = paid else {
        panic!("not paid: {paid:?}");
    };
    assert_eq!(counts(&mut f), ("1".into(), "1".into()));
    assert_eq!(
        f.one("SELECT after_state FROM audit_log WHERE action = 'premium_paid'"),
        paid.explanation,
        "the row carries what was decided"
    );

    let replay = f.engine.execute(f.premium(0, 2024, "m-2"));
    assert!(matches!(replay, Ok(Outcome::Replayed { .. })), "{replay:?}");
    assert_eq!(counts(&mut f), ("1".into(), "1".into()));

    let batch = f
        .engine
        .execute_batch(vec![f.premium(1, 2024, "m-3"), f.premium(2, 2024, "m-4")]);
    assert!(matches!(batch[0], Ok(Outcome::PremiumPaid(_))), "{batch:?}");
    assert!(batch[1].is_err(), "the unbound child is refused: {batch:?}");
    assert_eq!(counts(&mut f), ("2".into(), "2".into()));
}

/// Binding creation and every binding change (limits, end date, unbind, suspend, lift):
/// the change and its audit row are one commit; a refusal and a failed commit write neither.
/// (The engine wrote these rows in the change's batch on main already; this guards it.)
#[test]
fn binding_changes_and_their_audit_rows_commit_together() {
    let mut f = family();
    let binding = f.binding;
    let limits = |yuan_: i64| {
        BindingChange::Limits(Limits {
            per_payment: Some(Fen::from_yuan(yuan_)),
            per_day: None,
            per_month: None,
            per_year: None,
        })
    };
    let suspend = || BindingChange::Suspend {
        reason: "核查".into(),
    };
    let lift = || BindingChange::Lift {
        reason: "核查完毕".into(),
    };

    // Each change: refused (nothing), its commit failed (nothing), then made (both).
    type Step = (
        &'static str,
        Box<dyn Fn(&mut Family) -> Result<Outcome, EngineError>>,
    );
    let kid2 = f.kids[2].clone();
    let holder = f.holder.clone();
    let bind_cmd = move |relative: &str| {
        Command::Bind(gongji_engine::BindCommand {
            holder: holder.clone(),
            relative: relative.to_string(),
            relationship: gongji_core::codes::Relationship::from_code(23).expect("child"),
            begin: day("2023-10-10"),
            end: None,
            limit_per_payment: None,
            limit_per_month: None,
            face_verified: true,
            channel: Channel::WeChat,
            actor: "holder".into(),
            at: at("2023-10-10"),
            restored: None,
        })
    };
    let bound_again = bind_cmd(&f.kids[0]);
    let bind_new = bind_cmd(&kid2);
    let steps: Vec<(Step, Step)> = vec![
        (
            (
                "bind",
                Box::new(move |f| f.engine.execute(Request::new(bound_again.clone()))),
            ),
            (
                "bind",
                Box::new(move |f| f.engine.execute(Request::new(bind_new.clone()))),
            ),
        ),
        (
            (
                "set_limits",
                Box::new(move |f| f.change(binding, limits(-1))),
            ),
            (
                "set_limits",
                Box::new(move |f| f.change(binding, limits(50))),
            ),
        ),
        (
            (
                "change_end",
                Box::new(move |f| f.change(binding, BindingChange::EndOn(day("2020-01-01")))),
            ),
            (
                "change_end",
                Box::new(move |f| f.change(binding, BindingChange::EndOn(day("2026-12-31")))),
            ),
        ),
        (
            ("lift", Box::new(move |f| f.change(binding, lift()))),
            ("suspend", Box::new(move |f| f.change(binding, suspend()))),
        ),
        (
            ("suspend", Box::new(move |f| f.change(binding, suspend()))),
            ("lift", Box::new(move |f| f.change(binding, lift()))),
        ),
        (
            (
                "unbind",
                Box::new(move |f| {
                    f.change(
                        888_888,
                        BindingChange::Unbind {
                            face_verified: true,
                        },
                    )
                }),
            ),
            (
                "unbind",
                Box::new(move |f| {
                    f.change(
                        binding,
                        BindingChange::Unbind {
                            face_verified: true,
                        },
                    )
                }),
            ),
        ),
    ];
    for ((refused_action, refused), (action, made)) in steps {
        let before = (f.bindings(), f.audited(action));
        let rows_of_refused = f.audited(refused_action);
        let got = refused(&mut f);
        assert!(got.is_err(), "{refused_action}: {got:?}");
        assert_eq!(
            (f.bindings(), f.audited(refused_action), f.audited(action)),
            (before.0.clone(), rows_of_refused, before.1.clone()),
            "{refused_action}: a refusal writes neither"
        );

        f.fail.store(1, Ordering::SeqCst);
        store_failed(made(&mut f));
        assert_eq!(
            (f.bindings(), f.audited(action)),
            before,
            "{action}: a failed commit writes neither"
        );

        let got = made(&mut f);
        assert!(got.is_ok(), "{action}: {got:?}");
        let after = (f.bindings(), f.audited(action));
        assert_ne!(after.0, before.0, "{action}: the binding changed");
        let rows: i64 = after.1.parse().expect("count");
        let was: i64 = before.1.parse().expect("count");
        assert_eq!(rows, was + 1, "{action}: exactly one audit row");
    }
}
