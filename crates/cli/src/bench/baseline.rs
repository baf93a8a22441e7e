//! The baseline: the same mix the conventional way, on the same database. Each request is
//! its own database transaction: begin, lock the personal accounts it will touch and read
//! their balances from the database (PostgreSQL: `SELECT ... FOR UPDATE` in key order;
//! SQLite: `BEGIN IMMEDIATE`, its database-wide write lock, as SQLite has no row locks),
//! look its msgid up, decide, write, commit (durably), answer.
//!
//! The decision is the engine's own (`Engine::execute`, the same rules and the same rows),
//! run under a mutex with the facts the transaction read, so the comparison is between
//! two ways of writing, not two implementations of the rules. Only that short decision
//! is serialised; on PostgreSQL the transactions of different clients run in parallel on
//! their own connections, wait for each other only on the rows they share (a person's
//! account, the hot clearing and fund accounts), and share WAL flushes as PostgreSQL
//! does for concurrent commits. SQLite allows one writer at a time: one connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gongji_core::ledger::LedgerAccount;
use gongji_engine::{Command, Engine, EngineError, Outcome};
use gongji_store::privacy::{PrivacyKey, PrivacyStatus};
use gongji_store::read::PremiumPayment;
use gongji_store::{
    Checkpoint, ConventionalTx, ReconcileQuery, ReconcileTotals, Snapshot, Store, StoreError,
    StoredAnswer, StoredSettlement, VerifyReport, WithheldRow, WriteBatch,
};
use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::engine_run::record;
use super::stats::{Counts, RunStats, Tally};
use super::workload::{bench_morning, Ledger, Msgids, Op, Workload};

/// A connection that runs conventional transactions.
pub type Conn = Box<dyn ConventionalTx>;

/// The facts one transaction read, handed to the engine's decision; the writes the
/// decision made, taken back to be written in that transaction.
#[derive(Default)]
struct Facts {
    snapshot: Option<Snapshot>,
    answers: HashMap<String, StoredAnswer>,
    settlement: Option<StoredSettlement>,
    captured: Option<WriteBatch>,
}

fn not_here() -> StoreError {
    StoreError::Io("not available in the baseline".into())
}

impl Store for Facts {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        self.snapshot.take().ok_or_else(not_here)
    }
    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        self.captured = Some(batch.clone());
        Ok(())
    }
    fn answer_for_msgid(&mut self, msgid: &str) -> Result<Option<StoredAnswer>, StoreError> {
        Ok(self.answers.get(msgid).cloned())
    }
    fn answers_for_msgids(
        &mut self,
        _msgids: &[&str],
    ) -> Result<HashMap<String, StoredAnswer>, StoreError> {
        Ok(std::mem::take(&mut self.answers))
    }
    fn settlement(&mut self, setl_id: &str) -> Result<Option<StoredSettlement>, StoreError> {
        Ok(self.settlement.take().filter(|s| s.row.setl_id == setl_id))
    }
    fn verify(&mut self) -> Result<VerifyReport, StoreError> {
        Err(not_here())
    }
    fn reconcile(&mut self, _q: &ReconcileQuery) -> Result<ReconcileTotals, StoreError> {
        Err(not_here())
    }
    fn verify_with(&mut self, _anchors: &[Checkpoint]) -> Result<VerifyReport, StoreError> {
        Err(not_here())
    }
    // The mix has no 补报: a decision that needs what a settlement held back, or the
    // premiums paid, must not be made on an empty answer.
    fn review_state(&mut self, _review_id: &str) -> Result<Option<String>, StoreError> {
        Err(not_here())
    }
    fn withheld(&mut self, _setl_id: &str) -> Result<Vec<WithheldRow>, StoreError> {
        Err(not_here())
    }
    fn premium_payments(&mut self, _psn_no: &str) -> Result<Vec<PremiumPayment>, StoreError> {
        Err(not_here())
    }
    fn use_privacy(&mut self, _key: Option<PrivacyKey>) -> Result<PrivacyStatus, StoreError> {
        Err(not_here())
    }
    fn seal_plaintext_persons(
        &mut self,
        _batch: usize,
        _progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        Err(not_here())
    }
}

pub struct Baseline {
    engine: Mutex<Engine<Facts>>,
    conns: Vec<Mutex<Conn>>,
}

impl Baseline {
    /// The decision engine over `snapshot` (the database as it is now) and the connections.
    pub fn new(snapshot: Snapshot, conns: Vec<Conn>) -> Result<Baseline, String> {
        let policies = crate::registry::presets()?;
        let engine = Engine::open(
            Facts {
                snapshot: Some(snapshot),
                ..Facts::default()
            },
            policies,
        )
        .map_err(|e| e.to_string())?;
        Ok(Baseline {
            engine: Mutex::new(engine),
            conns: conns.into_iter().map(Mutex::new).collect(),
        })
    }

    fn poisoned() -> EngineError {
        EngineError::Store(StoreError::Io("lock poisoned".into()))
    }

    /// One request in its own transaction on connection `conn`.
    fn execute(
        &self,
        conn: usize,
        op: &Op,
        w: &Workload,
        msgid: &str,
        i: usize,
    ) -> Result<Outcome, EngineError> {
        let Some(conn) = self.conns.get(conn % self.conns.len().max(1)) else {
            return Err(Self::poisoned());
        };
        let mut c = conn.lock().map_err(|_| Self::poisoned())?;
        c.begin()?;
        let result = self.in_transaction(&mut c, op, w, msgid, i);
        match result {
            Ok((outcome, Some(batch))) => match c.write_and_commit(&batch) {
                Ok(()) => Ok(outcome),
                Err(e) => Err(e.into()),
            },
            Ok((outcome, None)) => {
                c.rollback();
                Ok(outcome)
            }
            Err(e) => {
                c.rollback();
                Err(e)
            }
        }
    }

    fn in_transaction(
        &self,
        c: &mut Conn,
        op: &Op,
        w: &Workload,
        msgid: &str,
        i: usize,
    ) -> Result<(Outcome, Option<WriteBatch>), EngineError> {
        let request = w.request(
            op,
            msgid,
            bench_morning() + chrono::Duration::milliseconds(i as i64),
        );
        // The personal accounts this request may move, locked before anything is decided.
        let mut settlement = None;
        let mut keys: Vec<String> = match &request.command {
            Command::Settle(s) => {
                let engine = self.engine.lock().map_err(|_| Self::poisoned())?;
                std::iter::once(s.psn_no.clone())
                    .chain(
                        engine
                            .state()
                            .holders_of(&s.psn_no)
                            .map(|b| b.holder.clone()),
                    )
                    .map(|p| LedgerAccount::Personal(p).key())
                    .collect()
            }
            Command::Cancel(x) => {
                let stored = c.settlement(&x.setl_id)?;
                let keys = stored
                    .iter()
                    .flat_map(|s| s.entry.postings.iter())
                    .filter(|p| p.psn_no.is_some())
                    .map(|p| p.account_key.clone())
                    .collect();
                settlement = stored;
                keys
            }
            Command::Premium(p) => vec![LedgerAccount::Personal(p.holder.clone()).key()],
            _ => Vec::new(),
        };
        keys.sort();
        keys.dedup();
        let balances = c.lock_accounts(&keys)?;
        let answers = c.answers_for_msgids(&[msgid])?;
        let mut engine = self.engine.lock().map_err(|_| Self::poisoned())?;
        for (key, balance) in &balances {
            engine.refresh_balance(key, *balance);
        }
        {
            let facts = engine.store_mut();
            facts.answers = answers;
            facts.settlement = settlement;
            facts.captured = None;
        }
        let outcome = engine.execute(request)?;
        let batch = engine.store_mut().captured.take();
        Ok((outcome, batch))
    }
}

pub struct BaselineRun<'a> {
    pub baseline: &'a Arc<Baseline>,
    pub workload: &'a Arc<Workload>,
    pub msgids: Msgids,
    pub ops: usize,
    pub clients: usize,
    pub seed: u64,
    pub store: &'a str,
}

/// `ops` operations from `clients` threads, one transaction each.
pub fn run(r: &BaselineRun<'_>) -> RunStats {
    let mut stats = RunStats::new("baseline", r.store, r.clients);
    stats.note = format!(
        "one transaction per request, {} connection(s), {}",
        r.baseline.conns.len(),
        if r.store == "postgres" {
            "SELECT ... FOR UPDATE on the personal accounts"
        } else {
            "BEGIN IMMEDIATE (SQLite's write lock)"
        }
    );
    let next = Arc::new(AtomicUsize::new(0));
    let ledger = Arc::new(Ledger::default());
    let totals = Arc::new(Tally::with_capacity(r.ops));
    let bar = indicatif::ProgressBar::new(r.ops as u64);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..r.clients.max(1) {
            let (next, ledger, totals, bar) =
                (next.clone(), ledger.clone(), totals.clone(), bar.clone());
            let (baseline, w, msgids, ops) = (r.baseline, r.workload, r.msgids, r.ops);
            let seed = r.seed.wrapping_mul(5_000_011).wrapping_add(client as u64);
            scope.spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed);
                let mut counts = Counts::default();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ops {
                        break;
                    }
                    let op = w.plan(&mut rng, &ledger);
                    let msgid = msgids.get(&w.institution_of(&op).code, i);
                    let t0 = Instant::now();
                    let result = baseline.execute(client, &op, w, &msgid, i);
                    latencies.push(t0.elapsed().as_micros() as u64);
                    record(&op, &result, &mut counts, &ledger);
                    bar.inc(1);
                }
                totals.add(&counts, &latencies);
            });
        }
    });
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    totals.finish(&mut stats, elapsed);
    stats
}
