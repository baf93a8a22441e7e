//! The writer under storage faults (issue 11, "fail-stop writer"): a store that fails the
//! next commit, fails the next reloads, writes a commit but reports it lost, or holds a
//! commit until released. Whatever happens, no acknowledged settlement is lost, none is
//! doubled, and nothing is decided on a balance the store never wrote; after a restart on
//! the same database the ledger verifies.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::*;
use gongji_core::codes::ChargeLevel;
use gongji_core::Fen;
use gongji_engine::{
    Command, Engine, EngineError, EngineHandle, Outcome, Request, SettleCommand, Settled,
};
use gongji_store::privacy::{PrivacyKey, PrivacyStatus};
use gongji_store::read::PremiumPayment;
use gongji_store::{
    Checkpoint, ReconcileQuery, ReconcileTotals, Snapshot, SqliteStore, Store, StoreError,
    StoredAnswer, StoredSettlement, VerifyReport, WithheldRow, WriteBatch,
};

/// What the store does to the next calls.
#[derive(Default)]
struct Plan {
    /// Commits refused before anything is written (the real store's transaction rolls back).
    fail_commits: u32,
    /// Commits written durably and then reported failed, as when the connection drops after
    /// `COMMIT` was sent.
    lose_acks: u32,
    /// Snapshot loads (the reload after a failed commit) that fail.
    fail_loads: u32,
    /// The next commit says it has started, then waits to be released.
    hold: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
}

#[derive(Clone, Default)]
struct Faults(Arc<Mutex<Plan>>);

impl Faults {
    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.0.lock().expect("plan")
    }

    fn fail_next_commit(&self) {
        self.plan().fail_commits += 1;
    }

    fn fail_next_loads(&self, n: u32) {
        self.plan().fail_loads += n;
    }

    fn lose_next_ack(&self) {
        self.plan().lose_acks += 1;
    }

    /// Holds the next commit: the first receiver hears when it has started, the sender
    /// releases it.
    fn hold_next_commit(&self) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        self.plan().hold = Some((entered_tx, release_rx));
        (entered_rx, release_tx)
    }
}

/// A real SQLite store with faults injected in front of it.
struct FaultyStore {
    inner: SqliteStore,
    faults: Faults,
}

fn injected(what: &str) -> StoreError {
    StoreError::Io(format!("injected fault: {what}"))
}

enum CommitFault {
    None,
    Refuse,
    LoseAck,
}

impl Store for FaultyStore {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        {
            let mut plan = self.faults.plan();
            if plan.fail_loads > 0 {
                plan.fail_loads -= 1;
                return Err(injected("load"));
            }
        }
        self.inner.load_snapshot()
    }

    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        // The fault is chosen when the commit starts, so faults planned while it is held
        // apply to the commit after it.
        let (hold, fault) = {
            let mut plan = self.faults.plan();
            let fault = if plan.fail_commits > 0 {
                plan.fail_commits -= 1;
                CommitFault::Refuse
            } else if plan.lose_acks > 0 {
                plan.lose_acks -= 1;
                CommitFault::LoseAck
            } else {
                CommitFault::None
            };
            (plan.hold.take(), fault)
        };
        if let Some((entered, release)) = hold {
            let _ = entered.send(());
            let _ = release.recv();
        }
        match fault {
            CommitFault::Refuse => Err(injected("commit")),
            CommitFault::LoseAck => {
                self.inner.commit(batch)?;
                Err(injected("connection lost after commit"))
            }
            CommitFault::None => self.inner.commit(batch),
        }
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

    fn settlements(
        &mut self,
        setl_ids: &[&str],
    ) -> Result<HashMap<String, StoredSettlement>, StoreError> {
        self.inner.settlements(setl_ids)
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

/// A database file with one Yantai employee holding 100 yuan and a pharmacy, and the world
/// that builds requests for them (it writes nothing after setup).
struct Setup {
    dir: tempfile::TempDir,
    world: World,
    patient: String,
    shop: String,
    item: String,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&db(dir.path())).expect("store");
        let mut world = World::with_store(store, gongji_policy::presets());
        let patient = world.employee(YANTAI, yuan(100));
        let shop = world.pharmacy(YANTAI);
        let item = world.item(ChargeLevel::ClassA, 0);
        Setup {
            dir,
            world,
            patient,
            shop,
            item,
        }
    }

    /// An engine on the same file behind the fault injector.
    fn faulty_engine(&self) -> (Engine<FaultyStore>, Faults) {
        let faults = Faults::default();
        let store = FaultyStore {
            inner: SqliteStore::open(&db(self.dir.path())).expect("store"),
            faults: faults.clone(),
        };
        let engine = Engine::open(store, gongji_policy::presets()).expect("engine");
        (engine, faults)
    }

    fn purchase(&self, amount: i64, on: &str) -> SettleCommand {
        self.world
            .bill(&self.patient, &self.shop, &[(&self.item, amount)], on)
    }

    fn fund(&self, amount: i64) -> Request {
        Request::new(Command::Fund {
            psn_no: self.patient.clone(),
            amount: Fen::from_fen(amount),
            at: at("2025-03-01"),
        })
    }

    /// The process restarted on the same database: the ledger verifies (memory and store
    /// agree account by account), and the settlements stored are exactly `setl_ids`.
    fn restart_and_check(self, setl_ids: &[&str], balance: i64) {
        let Setup { dir, world, .. } = self;
        drop(world);
        let store = SqliteStore::open(&db(dir.path())).expect("reopen");
        let mut restarted = World::with_store(store, gongji_policy::presets());
        restarted.verify();
        let conn = restarted.engine.store_mut().connection();
        let mut stmt = conn
            .prepare("SELECT setl_id FROM settlements ORDER BY entry_id")
            .expect("query");
        let stored: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("setl_id");
        drop(stmt);
        assert_eq!(stored, setl_ids, "the settlements the store holds");
        let patient = restarted
            .engine
            .state()
            .persons
            .keys()
            .find(|p| p.starts_with(YANTAI))
            .cloned()
            .expect("patient");
        assert_eq!(restarted.balance(&patient), balance);
    }
}

fn db(dir: &Path) -> std::path::PathBuf {
    dir.join("faults.db")
}

fn settled(got: Result<Outcome, EngineError>) -> Settled {
    match got {
        Ok(Outcome::Settled(s)) => *s,
        Ok(other) => panic!("expected a settlement, got {other:?}"),
        Err(e) => panic!(
            "expected a settlement, got {}: {}",
            e.code(),
            e.message_en()
        ),
    }
}

#[track_caller]
fn refused_with(got: Result<Outcome, EngineError>, code: &str) {
    match got {
        Ok(o) => panic!("expected {code}, but it went through: {o:?}"),
        Err(e) => assert_eq!(e.code(), code, "{}", e.message_en()),
    }
}

/// A failed commit is followed by a reload: the next settlement is decided on the balance
/// the store holds (100 yuan), not on the 500 yuan of funding that was never written.
#[test]
fn after_a_failed_commit_the_next_decision_sees_only_what_was_written() {
    let setup = Setup::new();
    let (mut engine, faults) = setup.faulty_engine();
    faults.fail_next_commit();
    refused_with(engine.execute(setup.fund(yuan(500))), "GJ-STORE-IO");
    let s = settled(engine.execute(Request::new(Command::Settle(
        setup.purchase(yuan(300), "2025-03-02"),
    ))));
    assert_eq!(
        paid(&s),
        Paid {
            fund: 0,
            own: yuan(100),
            aid: vec![],
            cash: yuan(200),
        }
    );
    assert_eq!(engine.stopped(), None);
    drop(engine);
    setup.restart_and_check(&[&s.setl_id], 0);
}

/// A failed commit whose reload fails too: the engine holds a balance of 600 yuan the store
/// never wrote. It must not decide on it: every later request is refused with
/// GJ-WRITER-STOPPED, also once the store works again, until a restart loads the store.
/// (Before the fail-stop, the purchase was paid 300 yuan from an account holding 100.)
#[test]
fn after_a_failed_commit_and_a_failed_reload_the_engine_decides_nothing() {
    let setup = Setup::new();
    let (mut engine, faults) = setup.faulty_engine();
    faults.fail_next_commit();
    faults.fail_next_loads(1);
    refused_with(engine.execute(setup.fund(yuan(500))), "GJ-STORE-IO");
    refused_with(
        engine.execute(Request::new(Command::Settle(
            setup.purchase(yuan(300), "2025-03-02"),
        ))),
        "GJ-WRITER-STOPPED",
    );
    assert!(engine.stopped().is_some_and(|why| why.contains("reload")));
    refused_with(
        engine.execute(Request::new(Command::Settle(
            setup.purchase(yuan(1), "2025-03-03"),
        ))),
        "GJ-WRITER-STOPPED",
    );
    drop(engine);
    setup.restart_and_check(&[], yuan(100));
}

/// Through the writer thread: a settlement acknowledged before the fault and one whose
/// commit was slow both survive; the batch whose commit failed (reload failing too) is
/// answered with the storage error and is not in the store; after it the handle answers
/// GJ-WRITER-STOPPED at once, refuses reads of the engine's state, and says why.
#[test]
fn a_stopped_writer_refuses_every_submit_and_keeps_every_acknowledged_settlement() {
    let setup = Setup::new();
    let (engine, faults) = setup.faulty_engine();
    let (handle, writer) = EngineHandle::spawn(engine);
    let settle = |amount: i64, on: &str| Request::new(Command::Settle(setup.purchase(amount, on)));

    let first = settled(handle.call(settle(yuan(10), "2025-03-01")));

    // The next commit is slow; two more settlements queue behind it and form the next
    // batch, whose commit fails and whose reload fails.
    let (entered, release) = faults.hold_next_commit();
    let slow = {
        let handle = handle.clone();
        let request = settle(yuan(20), "2025-03-02");
        std::thread::spawn(move || handle.call(request))
    };
    entered.recv().expect("the slow commit started");
    faults.fail_next_commit();
    faults.fail_next_loads(1);
    let (tx, queued) = mpsc::channel();
    for amount in [yuan(30), yuan(40)] {
        let tx = tx.clone();
        handle.submit(
            settle(amount, "2025-03-03"),
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
    }
    drop(tx);
    release.send(()).expect("release");
    let second = settled(slow.join().expect("slow settlement thread"));
    for answer in queued.iter() {
        refused_with(answer, "GJ-STORE-IO");
    }

    assert!(handle.stopped().is_some_and(|why| why.contains("reload")));
    refused_with(
        handle.call(settle(yuan(1), "2025-03-04")),
        "GJ-WRITER-STOPPED",
    );
    assert!(
        !handle.read(Box::new(|_| {})),
        "the stopped writer's state is not offered to readers"
    );
    drop(handle);
    writer.join();
    setup.restart_and_check(&[&first.setl_id, &second.setl_id], yuan(100 - 10 - 20));
}

/// A commit that reached the store but whose acknowledgement was lost: the request was
/// answered with an error, the reload brought the settlement into memory, and the retry
/// with the same msgid gets the stored answer instead of a second settlement.
#[test]
fn a_commit_whose_acknowledgement_was_lost_is_settled_once_on_retry() {
    let setup = Setup::new();
    let (mut engine, faults) = setup.faulty_engine();
    let request = || {
        Request::new(Command::Settle(setup.purchase(yuan(30), "2025-03-02")))
            .with_msgid("H0000120250302100000001", "hash-1")
            .with_render(Box::new(|o| match o {
                Outcome::Settled(s) => s.setl_id.clone(),
                other => format!("{other:?}"),
            }))
    };
    faults.lose_next_ack();
    refused_with(engine.execute(request()), "GJ-STORE-IO");
    let setl_id = match engine.execute(request()) {
        Ok(Outcome::Replayed { response }) => response,
        other => panic!("expected the stored answer, got {other:?}"),
    };
    drop(engine);
    setup.restart_and_check(&[&setl_id], yuan(70));
}
