//! `gongji bench`: a realistic mix of settlements through the engine's writer thread (the
//! path the server uses), from concurrent clients, with group commit on a durable SQLite file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use clap::Args;
use gongji_core::codes::{AccountUse, Channel, InstitutionKind, InsuStatus, MedType};
use gongji_core::ledger::LedgerAccount;
use gongji_core::pooling::FeeLine;
use gongji_core::Fen;
use gongji_engine::{
    CancelCommand, Command, EngineError, EngineHandle, Outcome, PremiumCommand, Request,
    SettleCommand,
};
use gongji_store::SqliteStore;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::registry::{import_into, open_engine, EXIT_OK, EXIT_UNUSABLE};

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// How many operations to run.
    #[arg(short = 'n', long, default_value_t = 20_000)]
    pub settlements: usize,
    /// Persons in the generated population (when the database is built).
    #[arg(long, default_value_t = 10_000)]
    pub persons: usize,
    /// Concurrent clients submitting to the writer.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Reuse (or build once) this database; a temporary one otherwise.
    #[arg(long)]
    pub db: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Skip the conventional baseline (one transaction per settlement).
    #[arg(long)]
    pub no_baseline: bool,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The facts the workload draws from.
struct Workload {
    own_payers: Vec<String>,
    /// (relative, the bound holder)
    relatives: Vec<(String, String)>,
    /// (holder, resident relative in a region with contribution standards)
    premium_pairs: Vec<(String, String)>,
    pharmacies: Vec<String>,
    catalog: Vec<(String, Fen)>,
}

const BENCH_DAY: (i32, u32, u32) = (2025, 10, 10);

fn bench_time(op: usize) -> NaiveDateTime {
    let (y, m, d) = BENCH_DAY;
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .unwrap_or_default()
        + chrono::Duration::milliseconds(op as i64)
}

pub fn run(args: &BenchArgs) -> u8 {
    match run_inner(args) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn build_population(db: &Path, persons: usize) -> Result<(), String> {
    println!("生成 {persons} 人的测试人群 / building a population of {persons} persons ...");
    let mut spec = gongji_demo::demo_spec();
    spec.persons = persons;
    spec.institutions = (persons / 80).max(130);
    let bar = indicatif::ProgressBar::new(persons as u64);
    let pop = gongji_demo::generate(&spec, &mut |done, _| bar.set_position(done as u64));
    bar.finish_and_clear();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    gongji_demo::write_csv_dir(&pop, dir.path()).map_err(|e| e.to_string())?;
    let mut engine = open_engine(db)?;
    import_into(&mut engine, dir.path())?;
    Ok(())
}

fn run_inner(args: &BenchArgs) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| tmp.path().join("bench.db"));
    if !db.exists() {
        build_population(&db, args.persons)?;
    } else {
        println!("复用数据库 / reusing {}", db.display());
    }
    let engine = open_engine(&db)?;
    let workload = Arc::new(workload(&engine));
    if workload.own_payers.is_empty()
        || workload.pharmacies.is_empty()
        || workload.catalog.is_empty()
    {
        return Err("人群中没有可结算的人员或药店 / population has nothing to settle".into());
    }
    let (handle, writer) = EngineHandle::<SqliteStore>::spawn(engine);
    let handle_for_clients = handle.clone();
    let group = run_mix(args, &workload, "G", move |request| {
        handle_for_clients.call(request)
    });
    drop(handle);
    writer.join();
    report("engine, group commit", args, &group);

    let baseline = if args.no_baseline {
        None
    } else {
        // The conventional way: one transaction per settlement, balances read from the
        // database inside it, the database's write lock serialising writers.
        let engine = Arc::new(Mutex::new(open_engine(&db)?));
        let stats = run_mix(args, &workload, "B", move |request| {
            conventional(&engine, request)
        });
        report("baseline, one transaction per settlement", args, &stats);
        Some(stats)
    };
    if let Some(b) = &baseline {
        println!(
            "  ratio to baseline: {:.1}x throughput",
            group.per_sec() / b.per_sec().max(1e-9)
        );
    }
    if let Some(out) = &args.out {
        let json = figures_json(args, &group, baseline.as_ref());
        std::fs::write(out, json).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("  written to {}", out.display());
    }
    Ok(())
}

/// One request as a conventional implementation runs it: lock, re-read the balances it
/// touches from the database, decide, write and commit its own transaction.
fn conventional(
    engine: &Mutex<gongji_engine::Engine<SqliteStore>>,
    request: Request,
) -> Result<Outcome, EngineError> {
    let Ok(mut engine) = engine.lock() else {
        return Err(EngineError::Store(gongji_store::StoreError::Io(
            "lock poisoned".into(),
        )));
    };
    let mut keys = Vec::new();
    match &request.command {
        Command::Settle(s) => {
            keys.push(LedgerAccount::Personal(s.psn_no.clone()).key());
            for b in engine.state().holders_of(&s.psn_no) {
                keys.push(LedgerAccount::Personal(b.holder.clone()).key());
            }
        }
        Command::Premium(p) => keys.push(LedgerAccount::Personal(p.holder.clone()).key()),
        _ => {}
    }
    for key in keys {
        let stored: Option<i64> = engine
            .store_mut()
            .connection()
            .query_row(
                "SELECT balance_fen FROM accounts WHERE account_key = ?1",
                [&key],
                |r| r.get(0),
            )
            .ok();
        if let Some(b) = stored {
            engine.refresh_balance(&key, Fen::from_fen(b));
        }
    }
    engine.execute(request)
}

struct RunStats {
    elapsed: Duration,
    latencies_us: Vec<u64>,
    counts: Counts,
}

impl RunStats {
    fn per_sec(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `args.settlements` operations of the mix from `args.clients` threads through `call`.
fn run_mix(
    args: &BenchArgs,
    workload: &Arc<Workload>,
    msgid_prefix: &'static str,
    call: impl Fn(Request) -> Result<Outcome, EngineError> + Send + Sync + 'static,
) -> RunStats {
    let call = Arc::new(call);
    let next_op = Arc::new(AtomicUsize::new(0));
    let settled: Arc<Mutex<Vec<(String, String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let latencies: Arc<Mutex<Vec<u64>>> =
        Arc::new(Mutex::new(Vec::with_capacity(args.settlements)));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let bar = indicatif::ProgressBar::new(args.settlements as u64);
    let started = Instant::now();
    let mut threads = Vec::new();
    for client in 0..args.clients.max(1) {
        let (call, workload, next_op, settled, latencies, counts, bar) = (
            call.clone(),
            workload.clone(),
            next_op.clone(),
            settled.clone(),
            latencies.clone(),
            counts.clone(),
            bar.clone(),
        );
        let total = args.settlements;
        let seed = args.seed.wrapping_add(client as u64);
        threads.push(std::thread::spawn(move || {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut local = Vec::new();
            loop {
                let op = next_op.fetch_add(1, Ordering::Relaxed);
                if op >= total {
                    break;
                }
                let (kind, request) = next_request(op, msgid_prefix, &mut rng, &workload, &settled);
                let t0 = Instant::now();
                let result = call(request);
                local.push(t0.elapsed().as_micros() as u64);
                record(kind, &result, &settled, &counts);
                bar.inc(1);
            }
            if let Ok(mut l) = latencies.lock() {
                l.extend(local);
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let mut latencies_us = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies_us.sort_unstable();
    let counts = counts.lock().map(|c| c.clone()).unwrap_or_default();
    RunStats {
        elapsed,
        latencies_us,
        counts,
    }
}

#[derive(Clone, Default)]
struct Counts {
    own: usize,
    mutual_aid: usize,
    cancel: usize,
    premium: usize,
    refused: usize,
    failed: usize,
}

#[derive(Clone, Copy)]
enum Kind {
    Own,
    MutualAid,
    Cancel,
    Premium,
}

fn workload(engine: &gongji_engine::Engine<SqliteStore>) -> Workload {
    let state = engine.state();
    let (y, m, d) = BENCH_DAY;
    let day = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let mut own_payers: Vec<String> = state
        .persons
        .values()
        .filter(|p| p.insu_status == InsuStatus::Normal && p.is_employee())
        .filter(|p| {
            state
                .balance(&LedgerAccount::Personal(p.psn_no.clone()).key())
                .is_positive()
        })
        .map(|p| p.psn_no.clone())
        .collect();
    own_payers.sort();
    let mut relatives = Vec::new();
    let mut premium_pairs = Vec::new();
    let mut bindings: Vec<_> = state
        .bindings
        .values()
        .filter(|b| b.is_valid_on(day))
        .collect();
    bindings.sort_by_key(|b| b.id);
    for b in bindings {
        let (Some(h), Some(r)) = (state.persons.get(&b.holder), state.persons.get(&b.relative))
        else {
            continue;
        };
        if h.insu_status != InsuStatus::Normal || r.insu_status != InsuStatus::Normal {
            continue;
        }
        relatives.push((r.psn_no.clone(), h.psn_no.clone()));
        let has_standards = engine
            .policies()
            .for_admdvs(r.admdvs)
            .is_some_and(|p| p.contribution.is_some());
        if has_standards && !r.is_employee() {
            premium_pairs.push((h.psn_no.clone(), r.psn_no.clone()));
        }
    }
    let mut pharmacies: Vec<String> = state
        .institutions
        .values()
        .filter(|i| i.kind == InstitutionKind::Pharmacy && i.mutual_aid)
        .map(|i| i.code.clone())
        .collect();
    pharmacies.sort();
    let mut catalog: Vec<(String, Fen)> = state
        .catalog
        .values()
        .map(|c| {
            (
                c.code.clone(),
                c.price_cap
                    .unwrap_or(Fen::from_yuan(20))
                    .min(Fen::from_yuan(200)),
            )
        })
        .collect();
    catalog.sort();
    Workload {
        own_payers,
        relatives,
        premium_pairs,
        pharmacies,
        catalog,
    }
}

fn pick<'a, T>(rng: &mut SmallRng, v: &'a [T]) -> Option<&'a T> {
    if v.is_empty() {
        None
    } else {
        v.get(rng.gen_range(0..v.len()))
    }
}

fn next_request(
    op: usize,
    msgid_prefix: &str,
    rng: &mut SmallRng,
    w: &Workload,
    settled: &Mutex<Vec<(String, String, String)>>,
) -> (Kind, Request) {
    let roll = rng.gen_range(0..100);
    let at = bench_time(op);
    let msgid = format!("BENCH{msgid_prefix}{op:012}");
    if roll >= 95 {
        if let Some((holder, relative)) = pick(rng, &w.premium_pairs) {
            let cmd = Command::Premium(PremiumCommand {
                holder: holder.clone(),
                relative: relative.clone(),
                year: 2026,
                category: "general".into(),
                channel: Channel::WeChat,
                at,
            });
            return (
                Kind::Premium,
                Request::new(cmd).with_msgid(msgid.clone(), msgid),
            );
        }
    } else if roll >= 90 {
        let victim = settled.lock().ok().and_then(|mut s| {
            if s.is_empty() {
                None
            } else {
                let i = rng.gen_range(0..s.len());
                Some(s.swap_remove(i))
            }
        });
        if let Some((setl_id, psn_no, institution)) = victim {
            let cmd = Command::Cancel(CancelCommand {
                institution,
                setl_id,
                psn_no,
                channel: Channel::Window,
                at,
            });
            return (
                Kind::Cancel,
                Request::new(cmd).with_msgid(msgid.clone(), msgid),
            );
        }
    }
    let mutual = (70..90).contains(&roll) && !w.relatives.is_empty();
    let (patient, use_) = if mutual {
        let (r, _) = &w.relatives[rng.gen_range(0..w.relatives.len())];
        (r.clone(), AccountUse::OwnThenMutualAid)
    } else {
        (
            w.own_payers[rng.gen_range(0..w.own_payers.len())].clone(),
            AccountUse::OwnAccount,
        )
    };
    let institution = w.pharmacies[rng.gen_range(0..w.pharmacies.len())].clone();
    let lines: Vec<FeeLine> = (0..rng.gen_range(1..=3))
        .map(|i| {
            let (code, price) = &w.catalog[rng.gen_range(0..w.catalog.len())];
            let count = rng.gen_range(1..=3i64);
            FeeLine {
                sn: format!("{op}-{i}"),
                item_code: code.clone(),
                amount: Fen::from_fen(price.fen() * count),
                count_e4: count * 10_000,
                price: *price,
            }
        })
        .collect();
    let cmd = Command::Settle(SettleCommand {
        institution,
        psn_no: patient,
        credential: None,
        med_type: MedType::PharmacyPurchase,
        account_use: use_,
        lines,
        declared_total: None,
        mdtrt_id: None,
        channel: Channel::Window,
        at,
        dry_run: false,
    });
    (
        if mutual { Kind::MutualAid } else { Kind::Own },
        Request::new(cmd).with_msgid(msgid.clone(), msgid),
    )
}

fn record(
    kind: Kind,
    result: &Result<Outcome, EngineError>,
    settled: &Mutex<Vec<(String, String, String)>>,
    counts: &Mutex<Counts>,
) {
    let Ok(mut c) = counts.lock() else {
        return;
    };
    match result {
        Ok(Outcome::Settled(s)) => {
            if let Ok(mut v) = settled.lock() {
                v.push((
                    s.setl_id.clone(),
                    s.patient.psn_no.clone(),
                    s.institution.code.clone(),
                ));
            }
            match kind {
                Kind::MutualAid => c.mutual_aid += 1,
                _ => c.own += 1,
            }
        }
        Ok(Outcome::Cancelled(_)) => c.cancel += 1,
        Ok(Outcome::PremiumPaid(_)) => c.premium += 1,
        Ok(_) => {}
        Err(EngineError::Store(_)) => c.failed += 1,
        Err(_) => c.refused += 1,
    }
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_micros(sorted[idx.min(sorted.len() - 1)])
}

fn report(title: &str, args: &BenchArgs, run: &RunStats) {
    let lat = &run.latencies_us;
    let c = &run.counts;
    println!("gongji bench — {title} (SQLite WAL, synchronous=FULL)");
    println!(
        "  operations {}  clients {}  elapsed {:.2}s",
        lat.len(),
        args.clients,
        run.elapsed.as_secs_f64()
    );
    println!(
        "  mix: own-account {}  mutual-aid {}  cancels {}  premiums {}  refused {}  failed {}",
        c.own, c.mutual_aid, c.cancel, c.premium, c.refused, c.failed
    );
    println!("  throughput {:.0} ops/s", run.per_sec());
    println!(
        "  latency p50 {:?}  p99 {:?}  p999 {:?}",
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        percentile(lat, 0.999)
    );
}

fn stats_json(run: &RunStats) -> String {
    let us = |p: f64| percentile(&run.latencies_us, p).as_micros();
    format!(
        "{{\"operations\":{},\"elapsed_s\":{:.3},\"ops_per_s\":{:.1},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{},\"refused\":{},\"failed\":{}}}",
        run.latencies_us.len(),
        run.elapsed.as_secs_f64(),
        run.per_sec(),
        us(0.50),
        us(0.99),
        us(0.999),
        run.counts.refused,
        run.counts.failed
    )
}

fn figures_json(args: &BenchArgs, group: &RunStats, baseline: Option<&RunStats>) -> String {
    let base = baseline.map_or("null".to_string(), stats_json);
    let ratio = baseline.map_or("null".to_string(), |b| {
        format!("{:.2}", group.per_sec() / b.per_sec().max(1e-9))
    });
    format!(
        "{{\"store\":\"sqlite\",\"persons\":{},\"clients\":{},\"engine\":{},\"baseline\":{},\"ratio\":{}}}\n",
        args.persons,
        args.clients,
        stats_json(group),
        base,
        ratio
    )
}
