//! The mix in process: concurrent clients submit to the engine's writer thread (group
//! commit) and wait for their durable answers, as the server's handlers do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use gongji_engine::{EngineError, EngineHandle, Outcome};
use gongji_server::app::DynStore;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::sync::oneshot;

use super::stats::{Counts, RunStats, Tally};
use super::workload::{bench_morning, Done, Kind, Ledger, Msgids, Op, Workload};

pub struct ClosedLoop {
    pub ops: usize,
    pub clients: usize,
    pub seed: u64,
}

/// Submits and waits for the durable answer.
pub async fn submit(
    handle: &EngineHandle<DynStore>,
    request: gongji_engine::Request,
) -> Result<Outcome, EngineError> {
    let (tx, rx) = oneshot::channel();
    handle.submit(
        request,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    rx.await.unwrap_or_else(|_| {
        Err(EngineError::Store(gongji_store::StoreError::Io(
            "writer stopped".into(),
        )))
    })
}

/// Counts an engine answer and remembers a settlement for later cancels.
pub fn record(
    op: &Op,
    result: &Result<Outcome, EngineError>,
    counts: &mut Counts,
    ledger: &Ledger,
) {
    counts.plan(op.kind());
    match result {
        Ok(Outcome::Replayed { .. }) => counts.replayed += 1,
        Ok(outcome) => {
            if let (Outcome::Settled(s), Op::Settle { inst, .. }) = (outcome, op) {
                ledger.push(Done {
                    setl_id: s.setl_id.clone(),
                    mdtrt_id: s.mdtrt_id.clone(),
                    psn_no: s.patient.psn_no.clone(),
                    admdvs: s.patient.admdvs.to_string(),
                    inst: *inst,
                });
            }
            match outcome {
                Outcome::Settled(s) => {
                    counts.settled(s.decision.totals.acct_mulaid_pay.is_positive())
                }
                Outcome::Cancelled(_) => counts.ok(Kind::Cancel),
                Outcome::PremiumPaid(_) => counts.ok(Kind::Premium),
                _ => counts.fail(|| "an answer of another kind than asked".to_string()),
            }
        }
        Err(e @ EngineError::Store(_)) => counts.fail(|| e.to_string()),
        Err(e) => counts.refuse(e.code()),
    }
}

/// `cfg.ops` operations from `cfg.clients` concurrent clients through `handle`.
pub fn run(
    rt: &tokio::runtime::Runtime,
    handle: &EngineHandle<DynStore>,
    workload: &Arc<Workload>,
    msgids: Msgids,
    cfg: &ClosedLoop,
    store: &str,
) -> RunStats {
    let mut stats = RunStats::new("engine", store, cfg.clients);
    let next = Arc::new(AtomicUsize::new(0));
    let ledger = Arc::new(Ledger::default());
    let bar = indicatif::ProgressBar::new(cfg.ops as u64);
    let totals = Arc::new(Tally::with_capacity(cfg.ops));
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for client in 0..cfg.clients.max(1) {
            let (handle, workload, next, ledger, bar, totals) = (
                handle.clone(),
                workload.clone(),
                next.clone(),
                ledger.clone(),
                bar.clone(),
                totals.clone(),
            );
            let total = cfg.ops;
            let seed = cfg.seed.wrapping_mul(1_000_003).wrapping_add(client as u64);
            tasks.spawn(async move {
                let mut rng = SmallRng::seed_from_u64(seed);
                let mut counts = Counts::default();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let op = workload.plan(&mut rng, &ledger);
                    let msgid = msgids.get(&workload.institution_of(&op).code, i);
                    let at = bench_morning() + chrono::Duration::milliseconds(i as i64);
                    let request = workload.request(&op, &msgid, at);
                    let t0 = Instant::now();
                    let result = submit(&handle, request).await;
                    latencies.push(t0.elapsed().as_micros() as u64);
                    record(&op, &result, &mut counts, &ledger);
                    bar.inc(1);
                }
                totals.add(&counts, &latencies);
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    totals.finish(&mut stats, elapsed);
    stats
}
