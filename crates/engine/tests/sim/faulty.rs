//! A real SQLite store behind a fault injector whose every choice comes from the seed.
//!
//! The engine calls the store only from its writer thread, in an order fixed by the
//! batches, so the n-th commit of a seed always meets the same fault.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gongji_store::privacy::{PrivacyKey, PrivacyStatus};
use gongji_store::read::PremiumPayment;
use gongji_store::{
    Checkpoint, ReconcileQuery, ReconcileTotals, Snapshot, SqliteStore, Store, StoreError,
    StoredAnswer, StoredSettlement, VerifyReport, WithheldRow, WriteBatch,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How often each fault strikes, in thousandths.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    /// The commit is refused before anything is written (the transaction rolls back).
    pub fail_commit: u32,
    /// The commit is written, then reported failed (the acknowledgement is lost).
    pub torn_commit: u32,
    /// The commit is written, then the process dies before any answer leaves.
    pub crash: u32,
    /// The commit (fsync) takes a while.
    pub slow_commit: u32,
    /// A snapshot load (the reload after a failed commit, or the start) fails.
    pub fail_load: u32,
}

impl Rates {
    pub fn from_seed(rng: &mut StdRng) -> Rates {
        // Some seeds are calm, some stormy: a storm finds what a drizzle never does.
        let storm = rng.gen_range(1..=4);
        Rates {
            fail_commit: 15 * storm,
            torn_commit: 10 * storm,
            crash: 8 * storm,
            slow_commit: 50,
            fail_load: 100 * storm,
        }
    }
}

/// What the injector did, for the report of a seed.
#[derive(Default)]
pub struct Counts {
    pub commits: AtomicU64,
    pub failed: AtomicU64,
    pub torn: AtomicU64,
    pub crashes: AtomicU64,
    pub slow: AtomicU64,
    pub failed_loads: AtomicU64,
}

impl Counts {
    pub fn summary(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} commits: {} failed, {} torn, {} crashes, {} slow; {} failed loads",
            n(&self.commits),
            n(&self.failed),
            n(&self.torn),
            n(&self.crashes),
            n(&self.slow),
            n(&self.failed_loads)
        )
    }
}

/// The injector's state, shared by every store opened during one seed's run (a restart
/// opens a new store but the dice roll on).
pub struct Faults {
    rng: Mutex<StdRng>,
    rates: Rates,
    /// Off while the population is set up and while the auditor drains the last retries.
    pub enabled: AtomicBool,
    /// Set by a crash: the process is dead, its answers never leave, the simulator restarts.
    pub crashed: AtomicBool,
    pub counts: Counts,
}

impl Faults {
    pub fn new(seed: u64, rates: Rates) -> Arc<Faults> {
        Arc::new(Faults {
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed_fa17)),
            rates,
            enabled: AtomicBool::new(false),
            crashed: AtomicBool::new(false),
            counts: Counts::default(),
        })
    }

    /// One roll of the dice: true `per_mille` times in a thousand (when enabled).
    fn strikes(&self, per_mille: u32) -> bool {
        if !self.enabled.load(Ordering::SeqCst) {
            return false;
        }
        match self.rng.lock() {
            Ok(mut rng) => rng.gen_range(0..1000) < per_mille,
            Err(_) => false,
        }
    }

    fn pause(&self) -> Duration {
        match self.rng.lock() {
            Ok(mut rng) => Duration::from_millis(rng.gen_range(1..=15)),
            Err(_) => Duration::ZERO,
        }
    }
}

pub struct FaultyStore {
    pub inner: SqliteStore,
    pub faults: Arc<Faults>,
    /// Sabotage, to prove the auditor bites: some commits are reported written and are not.
    pub forgetful: bool,
}

fn injected(what: &str) -> StoreError {
    StoreError::Io(format!("injected fault: {what}"))
}

impl Store for FaultyStore {
    fn load_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        if self.faults.strikes(self.faults.rates.fail_load) {
            self.faults
                .counts
                .failed_loads
                .fetch_add(1, Ordering::Relaxed);
            return Err(injected("load"));
        }
        self.inner.load_snapshot()
    }

    fn commit(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        let f = &self.faults;
        f.counts.commits.fetch_add(1, Ordering::Relaxed);
        if f.crashed.load(Ordering::SeqCst) {
            // A dead process writes nothing more.
            return Err(injected("the process is dead"));
        }
        if f.strikes(f.rates.slow_commit) {
            f.counts.slow.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(f.pause());
        }
        if self.forgetful && f.strikes(50) {
            return Ok(());
        }
        if f.strikes(f.rates.fail_commit) {
            f.counts.failed.fetch_add(1, Ordering::Relaxed);
            return Err(injected("commit"));
        }
        if f.strikes(f.rates.torn_commit) {
            f.counts.torn.fetch_add(1, Ordering::Relaxed);
            self.inner.commit(batch)?;
            return Err(injected("connection lost after commit"));
        }
        if f.strikes(f.rates.crash) {
            f.counts.crashes.fetch_add(1, Ordering::Relaxed);
            self.inner.commit(batch)?;
            f.crashed.store(true, Ordering::SeqCst);
            return Err(injected("crash between commit and answer"));
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
