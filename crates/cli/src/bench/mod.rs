//! `gongji bench`: the benchmark of the production-store issue.
//!
//! A province-scale population (default 1,000,000 persons, 300,000 bindings, 5,000
//! institutions, in Shanxi by default: Yuncheng's contribution standards let the
//! premium share run) is built once into a SQLite file and reused. On
//! each store (SQLite, and PostgreSQL with `--database URL` or `--pg`) the mix — 70%
//! own-account pharmacy purchases, 20% with mutual aid, 5% cancels, 5% premiums — runs:
//!
//! - `engine`: in process, concurrent clients submitting to the engine's writer thread
//!   (group commit), each answered once its batch is durable;
//! - `http`: over HTTP on loopback through the institution interface (signed 2102/2103,
//!   keep-alive clients, the server in this process with the router of `gongji serve`);
//! - `open`: the same over HTTP at a fixed offered rate (open loop), latency counted from
//!   each request's scheduled send time;
//! - `baseline`: the conventional way on the same database, one transaction per request
//!   with row locks;
//! - `nonces` (not in the default): the gateway check alone with a simulated clock, at the
//!   server's full rate for longer than the timestamp window (`nonces.rs`); needs no
//!   population.
//!
//! With `--report-beside`, each open-loop rate runs a second time with the whole province's
//! staff report running over and over on a reader connection (`report_load.rs`): the two
//! runs' latencies show whether reports hold settlements back.
//!
//! It prints throughput, p50/p99/p999 and the ratio to the baseline, the resident memory
//! with the population loaded, and writes every figure as JSON with `--out FILE`.

mod baseline;
mod engine_run;
mod http;
mod nonces;
mod report_load;
mod soak;
mod stats;
mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use gongji_engine::{Engine, EngineHandle};
use gongji_server::app::DynStore;
use gongji_store::{PgStore, SqliteStore, Store};

use crate::registry::{import_into, Target, EXIT_OK, EXIT_UNUSABLE};
use stats::{mib, RunStats};
use workload::{MsgidClock, Workload};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// In process through the engine's writer (group commit).
    Engine,
    /// Over HTTP, closed loop.
    Http,
    /// Over HTTP at a fixed offered rate (`--rate`).
    Open,
    /// The conventional baseline: one transaction per request with row locks.
    Baseline,
    /// The gateway check and its nonce store, in process with a simulated clock.
    Nonces,
    /// Over HTTP at `--rate` for `--duration` seconds; memory and p99 per interval to
    /// `soak.json` and `soak.svg` beside `--out` (or in the current folder).
    Soak,
}

/// Which province the generated population lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Province {
    /// Taiyuan and Yuncheng: Yuncheng has resident contribution standards, so the 5% premium
    /// share of the mix runs as premiums.
    Shanxi,
    /// Shandong's 16 cities: no contribution standards in the presets, so the premium share
    /// runs as own-account purchases.
    Shandong,
}

impl Province {
    fn spec(self, persons: usize) -> gongji_demo::PopulationSpec {
        match self {
            Province::Shanxi => gongji_demo::shanxi_province_spec(persons),
            Province::Shandong => gongji_demo::province_spec(persons),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Province::Shanxi => "shanxi",
            Province::Shandong => "shandong",
        }
    }
}

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Operations of each engine and HTTP run.
    #[arg(short = 'n', long = "settlements", default_value_t = 100_000)]
    pub ops: usize,
    /// Persons in the generated province (with 30% as many bindings and one institution
    /// per 200 persons).
    #[arg(long, default_value_t = gongji_demo::PROVINCE_PERSONS)]
    pub persons: usize,
    /// The province of the generated population.
    #[arg(long, value_enum, default_value = "shanxi")]
    pub province: Province,
    /// The SQLite file holding the population: built once with a progress bar, reused when
    /// it exists. Default: bench-<province>-<persons>.db in the current directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Also run on this PostgreSQL database (one province's; the population is imported
    /// into it when it has no persons). Also read from GONGJI_BENCH_DATABASE.
    #[arg(long, env = "GONGJI_BENCH_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// Also run on a throwaway PostgreSQL cluster started for this run (needs the
    /// PostgreSQL 15 server binaries), its data on the disk of --db, removed at the end.
    #[arg(long)]
    pub pg: bool,
    /// Skip the SQLite runs (with --database or --pg).
    #[arg(long)]
    pub no_sqlite: bool,
    /// Which runs, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,http,open,baseline"
    )]
    pub modes: Vec<Mode>,
    /// Concurrent clients of the in-process engine run.
    #[arg(long, default_value_t = 1024)]
    pub clients: usize,
    /// Concurrent keep-alive clients of the closed-loop HTTP run.
    #[arg(long, default_value_t = 256)]
    pub http_clients: usize,
    /// Offered rates of the open-loop HTTP runs, requests per second (comma-separated: one
    /// run each).
    #[arg(long, value_delimiter = ',', default_value = "5000")]
    pub rate: Vec<f64>,
    /// Run each open-loop rate a second time with the whole province's staff report running
    /// over and over beside it (on a reader connection), to show settlement latency with and
    /// without reports.
    #[arg(long)]
    pub report_beside: bool,
    /// Seconds of the soak run.
    #[arg(long, default_value_t = 3600)]
    pub duration: u64,
    /// Requests of the open-loop run (default: as many as -n).
    #[arg(long)]
    pub open_ops: Option<usize>,
    /// Operations of the baseline (default: a fifth of -n; it is the slow one).
    #[arg(long)]
    pub baseline_ops: Option<usize>,
    /// Client threads of the baseline.
    #[arg(long, default_value_t = 64)]
    pub baseline_clients: usize,
    /// PostgreSQL connections of the baseline (SQLite has one writer).
    #[arg(long, default_value_t = 32)]
    pub baseline_connections: usize,
    /// Skip the baseline (same as leaving it out of --modes).
    #[arg(long)]
    pub no_baseline: bool,
    /// Run `verify` on each database at the end.
    #[arg(long)]
    pub verify: bool,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write every figure as JSON to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Signed requests per simulated second of the nonces run.
    #[arg(long, default_value_t = 20_000)]
    pub nonce_rate: u64,
    /// Institutions the nonces run spreads its requests over.
    #[arg(long, default_value_t = 5_000)]
    pub nonce_institutions: usize,
    /// Simulated seconds of the nonces run (the timestamp window is 300).
    #[arg(long, default_value_t = 900)]
    pub nonce_seconds: i64,
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

/// What the whole invocation measured.
#[derive(Default)]
struct Report {
    persons: usize,
    population: Vec<(String, String)>,
    runs: Vec<(RunStats, Option<f64>)>,
    memory: Vec<(String, u64, u64)>,
}

fn run_inner(args: &BenchArgs) -> Result<(), String> {
    if args.modes.contains(&Mode::Nonces) {
        run_nonces(args)?;
        if args.modes.iter().all(|m| *m == Mode::Nonces) {
            return Ok(());
        }
    }
    let db = args.db.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "bench-{}-{}.db",
            args.province.slug(),
            args.persons
        ))
    });
    let mut report = Report {
        persons: args.persons,
        ..Report::default()
    };
    if db.exists() {
        println!(
            "复用人群数据库 / reusing the population in {}",
            db.display()
        );
    } else {
        build_population(&db, &args.province.spec(args.persons), &mut report)?;
    }
    let mut clock = MsgidClock::starting_now();

    // The population, loaded as the server loads it.
    let started = Instant::now();
    let engine = Target::sqlite(&db).open_engine()?;
    let load = started.elapsed();
    let (rss, hwm) = stats::memory();
    let persons = engine.state().persons.len();
    println!(
        "载入 {persons} 人 / loaded {persons} persons, {} bindings, {} institutions in {:.1}s; resident memory {} (peak {})",
        engine.state().bindings.len(),
        engine.state().institutions.len(),
        load.as_secs_f64(),
        rss.map_or("?".into(), mib),
        hwm.map_or("?".into(), mib),
    );
    if persons != args.persons {
        println!(
            "  注意 / note: {} holds {persons} persons, not --persons {}",
            db.display(),
            args.persons
        );
    }
    report.persons = persons;
    report
        .population
        .push(("load_s".into(), format!("{:.2}", load.as_secs_f64())));
    if let (Some(rss), Some(hwm)) = (rss, hwm) {
        report.memory.push(("sqlite".into(), rss, hwm));
    }
    let workload = Arc::new(Workload::from_engine(&engine));
    if !workload.is_usable() {
        return Err("人群中没有可结算的人员或药店 / the population has nothing to settle".into());
    }
    println!(
        "  mix draws from {} own-account payers, {} relatives with a holder, {} pharmacies{}",
        workload.own_payers.len(),
        workload.relatives.len(),
        workload.pharmacies.len(),
        if workload.premium_pairs.is_empty() {
            "; no region of this population has contribution standards, so the 5% premium share runs as own-account purchases"
                .to_string()
        } else {
            format!(", {} premium pairs", workload.premium_pairs.len())
        }
    );

    let modes: Vec<Mode> = args
        .modes
        .iter()
        .copied()
        .filter(|m| !(args.no_baseline && *m == Mode::Baseline))
        .collect();
    let mut engine = Some(engine);
    if !args.no_sqlite {
        let target = Target::sqlite(&db);
        run_store(
            args,
            "sqlite",
            &target,
            engine.take(),
            &workload,
            &modes,
            &mut clock,
            &mut report,
        )?;
    }
    drop(engine);

    // PostgreSQL: a given database, or a throwaway cluster on the disk of --db.
    let mut _cluster = None;
    let pg_url = match (&args.database, args.pg) {
        (Some(url), _) => Some(url.clone()),
        (None, true) => {
            let (cluster, url) = start_cluster(&db)?;
            _cluster = Some(cluster);
            Some(url)
        }
        (None, false) => None,
    };
    if let Some(url) = pg_url {
        let target = Target {
            db: db.clone(),
            database: Some(url),
        };
        ensure_population(&target, &args.province.spec(args.persons), &mut report)?;
        // Another database: its relatives' premiums are not the ones SQLite's runs paid.
        workload.restart_premiums();
        run_store(
            args,
            "postgres",
            &target,
            None,
            &workload,
            &modes,
            &mut clock,
            &mut report,
        )?;
    }
    print_summary(&report);
    if let Some(out) = &args.out {
        std::fs::write(out, report_json(args, &report))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        println!("figures written to {}", out.display());
    }
    failures_make_figures_invalid(&report)
}

/// A run where operations failed (storage, transport or HTTP errors, not rule refusals)
/// measured a broken system: its figures are printed for diagnosis, but the command fails
/// so that a script or CI never files them as a result.
fn failures_make_figures_invalid(report: &Report) -> Result<(), String> {
    let failed: usize = report.runs.iter().map(|(s, _)| s.counts.failed).sum();
    if failed == 0 {
        return Ok(());
    }
    let first = report
        .runs
        .iter()
        .find_map(|(s, _)| s.counts.first_failure.clone())
        .unwrap_or_default();
    Err(format!(
        "{failed} operations failed (not refused by a rule); the figures above are not valid. First failure: {first}"
    ))
}

fn run_nonces(args: &BenchArgs) -> Result<(), String> {
    println!(
        "nonces: {} signed requests per simulated second for {} s, over {} institutions, then from one ...",
        args.nonce_rate, args.nonce_seconds, args.nonce_institutions
    );
    let figures = nonces::run(&nonces::NonceBench {
        rate: args.nonce_rate,
        institutions: args.nonce_institutions,
        seconds: args.nonce_seconds,
    })?;
    for f in &figures {
        f.print();
    }
    if let Some(out) = args
        .out
        .as_ref()
        .filter(|_| args.modes.iter().all(|m| *m == Mode::Nonces))
    {
        let json = serde_json::json!({
            "nonces": figures.iter().map(nonces::NonceFigures::json).collect::<Vec<_>>(),
        });
        std::fs::write(out, format!("{json}\n")).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(())
}

/// Every run of one store, in order: engine, HTTP, open loop (one writer for the three),
/// then the baseline.
#[allow(clippy::too_many_arguments)]
fn run_store(
    args: &BenchArgs,
    store: &str,
    target: &Target,
    engine: Option<Engine<DynStore>>,
    workload: &Arc<Workload>,
    modes: &[Mode],
    clock: &mut MsgidClock,
    report: &mut Report,
) -> Result<(), String> {
    let wants = |m: Mode| modes.contains(&m);
    let mut runs: Vec<RunStats> = Vec::new();
    if wants(Mode::Engine) || wants(Mode::Http) || wants(Mode::Open) || wants(Mode::Soak) {
        let engine = match engine {
            Some(e) => e,
            None => {
                let started = Instant::now();
                let e = target.open_engine()?;
                let (rss, hwm) = stats::memory();
                println!(
                    "{store}: 载入 / loaded {} persons in {:.1}s; resident memory {}",
                    e.state().persons.len(),
                    started.elapsed().as_secs_f64(),
                    rss.map_or("?".into(), mib)
                );
                if let (Some(rss), Some(hwm)) = (rss, hwm) {
                    report.memory.push((store.to_string(), rss, hwm));
                }
                e
            }
        };
        let (handle, writer) = EngineHandle::spawn(engine);
        if wants(Mode::Engine) {
            println!("{store}: engine, {} clients ...", args.clients);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let s = engine_run::run(
                &rt,
                &handle,
                workload,
                clock.run(args.ops),
                &engine_run::ClosedLoop {
                    ops: args.ops,
                    clients: args.clients,
                    seed: args.seed,
                },
                store,
            );
            s.print(None);
            runs.push(s);
        }
        if wants(Mode::Http) || wants(Mode::Open) || wants(Mode::Soak) {
            let server = http::Server::start(handle.clone(), 2)?;
            let run_id = format!("{}{}", store, chrono::Utc::now().timestamp_millis());
            if wants(Mode::Http) {
                println!(
                    "{store}: HTTP on {}, {} keep-alive clients ...",
                    server.addr, args.http_clients
                );
                let s = http::closed_loop(
                    &http::HttpRun {
                        server: &server,
                        workload,
                        msgids: clock.run(args.ops),
                        ops: args.ops,
                        seed: args.seed.wrapping_add(1),
                        store,
                        client_threads: 2,
                        connections: args.http_clients,
                        run: format!("{run_id}c"),
                    },
                    args.http_clients,
                )?;
                s.print(None);
                runs.push(s);
            }
            if wants(Mode::Open) {
                let ops = args.open_ops.unwrap_or(args.ops);
                let passes: &[bool] = if args.report_beside {
                    &[false, true]
                } else {
                    &[false]
                };
                for (k, rate) in args.rate.iter().enumerate() {
                    for &beside in passes {
                        let with = if beside {
                            " with reports beside it"
                        } else {
                            ""
                        };
                        println!(
                            "{store}: HTTP open loop, {rate:.0}/s offered, {ops} requests{with} ..."
                        );
                        let reports = beside
                            .then(|| report_load::ReportLoad::start(&handle))
                            .transpose()?;
                        let mut s = http::open_loop(
                            &http::HttpRun {
                                server: &server,
                                workload,
                                msgids: clock.run(ops),
                                ops,
                                seed: args.seed.wrapping_add(2 + k as u64),
                                store,
                                client_threads: 2,
                                connections: args.http_clients,
                                run: format!("{run_id}o{k}{}", if beside { "r" } else { "" }),
                            },
                            *rate,
                        )?;
                        if let Some(reports) = reports {
                            let done = reports.stop()?;
                            s.mode = "http-open-loop+report".into();
                            s.note.push_str(&format!(
                                "; {done} whole-province staff reports ran beside it on a reader"
                            ));
                        }
                        s.print(None);
                        runs.push(s);
                    }
                }
            }
            if wants(Mode::Soak) {
                let rate = args.rate.first().copied().unwrap_or(5000.0);
                println!("{store}: soak, {rate:.0}/s for {} s ...", args.duration);
                let mut make = |k: usize, ops: usize| http::HttpRun {
                    server: &server,
                    workload,
                    msgids: clock.run(ops),
                    ops,
                    seed: args.seed.wrapping_add(100 + k as u64),
                    store,
                    client_threads: 2,
                    connections: args.http_clients,
                    run: format!("{run_id}s{k}"),
                };
                let samples = soak::run(&mut make, rate, args.duration)?;
                let dir = args
                    .out
                    .as_deref()
                    .and_then(Path::parent)
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                soak::write(dir, &samples, rate)?;
                for s in &samples {
                    println!(
                        "  {:>7.1} s  resident {}  p99 {:.1} ms",
                        s.at_seconds,
                        mib(s.rss_bytes),
                        s.p99_us as f64 / 1000.0
                    );
                }
                println!("soak.json, soak.svg -> {}", dir.display());
            }
            server.stop();
        }
        drop(handle);
        writer.join();
    } else {
        drop(engine);
    }
    let mut baseline_rate = None;
    if wants(Mode::Baseline) {
        let ops = args.baseline_ops.unwrap_or((args.ops / 5).max(1));
        let snapshot = target
            .open()?
            .load_snapshot()
            .map_err(|e| format!("{}: {e}", target.label()))?;
        let conns = baseline_connections(target, args.baseline_connections)?;
        let b = Arc::new(baseline::Baseline::new(snapshot, conns)?);
        println!(
            "{store}: baseline, {} clients, one transaction per request ...",
            args.baseline_clients
        );
        let s = baseline::run(&baseline::BaselineRun {
            baseline: &b,
            workload,
            msgids: clock.run(ops),
            ops,
            clients: args.baseline_clients,
            seed: args.seed.wrapping_add(3),
            store,
        });
        s.print(None);
        baseline_rate = Some(s.per_sec());
        runs.push(s);
    }
    if args.verify {
        let started = Instant::now();
        let verified = target
            .open_reader()?
            .verify()
            .map_err(|e| format!("{}: {e}", target.label()))?;
        println!(
            "{store}: verify in {:.1}s: {} entries, {} postings, {}",
            started.elapsed().as_secs_f64(),
            verified.entries,
            verified.postings,
            if verified.is_clean() {
                "clean".to_string()
            } else {
                format!("{} violations", verified.violations.len())
            }
        );
        if !verified.is_clean() {
            print!("{verified}");
            return Err(format!("{store}: verify found violations"));
        }
    }
    for s in &runs {
        s.counts
            .check_mix()
            .map_err(|e| format!("{store}, {}: {e}", s.mode))?;
    }
    for s in runs {
        let ratio = match (s.mode.as_str(), baseline_rate) {
            ("baseline", _) | (_, None) => None,
            (_, Some(b)) => Some(s.per_sec() / b.max(1e-9)),
        };
        report.runs.push((s, ratio));
    }
    Ok(())
}

fn baseline_connections(target: &Target, n: usize) -> Result<Vec<baseline::Conn>, String> {
    match &target.database {
        None => {
            let s =
                SqliteStore::open(&target.db).map_err(|e| format!("{}: {e}", target.label()))?;
            Ok(vec![Box::new(s) as baseline::Conn])
        }
        Some(url) => (0..n.max(1))
            .map(|_| {
                PgStore::connect_unleased(url)
                    .map(|s| Box::new(s) as baseline::Conn)
                    .map_err(|e| format!("{}: {e}", target.label()))
            })
            .collect(),
    }
}

/// Generates the province and imports it through the engine, into `<db>.building` first so
/// that an interrupted build is never reused.
fn build_population(
    db: &Path,
    spec: &gongji_demo::PopulationSpec,
    report: &mut Report,
) -> Result<(), String> {
    let building = PathBuf::from(format!("{}.building", db.display()));
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", building.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p).map_err(|e| format!("{p}: {e}"))?;
        }
    }
    let target = Target::sqlite(&building);
    import_population(&target, spec, report)?;
    std::fs::rename(&building, db).map_err(|e| format!("{}: {e}", db.display()))?;
    Ok(())
}

/// Imports the population into `target` when it holds no persons yet.
fn ensure_population(
    target: &Target,
    spec: &gongji_demo::PopulationSpec,
    report: &mut Report,
) -> Result<(), String> {
    let held = target.open()?.load_snapshot().map_err(|e| e.to_string())?;
    if held.persons.is_empty() {
        drop(held);
        import_population(target, spec, report)
    } else {
        println!(
            "{}: 复用已有人群 / reusing its {} persons",
            target.label(),
            held.persons.len()
        );
        Ok(())
    }
}

fn import_population(
    target: &Target,
    spec: &gongji_demo::PopulationSpec,
    report: &mut Report,
) -> Result<(), String> {
    let persons = spec.persons;
    println!(
        "生成省级人群 / generating a province: {} persons, about {} bindings, {} institutions ...",
        spec.persons,
        spec.bindings_target.unwrap_or(0),
        spec.institutions
    );
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new(persons as u64);
    let pop = gongji_demo::generate(spec, &mut |done, _| bar.set_position(done as u64));
    bar.finish_and_clear();
    let generated = started.elapsed();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    gongji_demo::write_csv_dir(&pop, dir.path()).map_err(|e| e.to_string())?;
    drop(pop);
    let started = Instant::now();
    let mut engine = target.open_engine()?;
    let code = import_into(&mut engine, dir.path())?;
    drop(engine);
    let imported = started.elapsed();
    println!(
        "  generated in {:.1}s, imported into {} in {:.1}s",
        generated.as_secs_f64(),
        target.label(),
        imported.as_secs_f64()
    );
    let store = if target.database.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    report.population.push((
        format!("import_{store}_s"),
        format!("{:.1}", imported.as_secs_f64()),
    ));
    if code != EXIT_OK {
        println!("  some generated rows were refused by the rules (above); the rest loaded");
    }
    Ok(())
}

/// A throwaway cluster with its data on the disk of `db` (not in memory), durable settings
/// (`fsync`, `synchronous_commit`, `full_page_writes` on) and room for the population.
fn start_cluster(db: &Path) -> Result<(gongji_store::testing::PgCluster, String), String> {
    let parent = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let parent =
        std::fs::canonicalize(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    println!(
        "启动临时 PostgreSQL / starting a throwaway PostgreSQL cluster in {} ...",
        parent.display()
    );
    let cluster =
        gongji_store::testing::PgCluster::start_with(&gongji_store::testing::ClusterOptions {
            parent: Some(parent),
            extra_conf: [
                "max_connections = 200",
                "shared_buffers = 512MB",
                "wal_buffers = 16MB",
                "max_wal_size = 8GB",
                "checkpoint_timeout = 30min",
                "full_page_writes = on",
                "synchronous_commit = on",
                "fsync = on",
            ]
            .join("\n"),
        })?;
    let url = cluster.try_create_db("gongji_bench")?;
    Ok((cluster, url))
}

fn print_summary(report: &Report) {
    println!();
    println!(
        "== summary: {} persons; throughput (answers/s), durable writes/s, latency ==",
        report.persons
    );
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "run", "ops/s", "durable/s", "p50", "p99", "p999", "ratio"
    );
    for (s, ratio) in &report.runs {
        println!(
            "{:<26} {:>10.0} {:>10.0} {:>10} {:>10} {:>10} {:>8}",
            s.title(),
            s.per_sec(),
            s.durable_per_sec(),
            stats::ms(s.percentile(0.50)),
            stats::ms(s.percentile(0.99)),
            stats::ms(s.percentile(0.999)),
            ratio.map_or("-".to_string(), |r| format!("{r:.1}x"))
        );
    }
    for (store, rss, hwm) in &report.memory {
        println!(
            "resident memory with the population loaded ({store}): {} (peak so far {})",
            mib(*rss),
            mib(*hwm)
        );
    }
    if let Some(peak) = stats::memory().1 {
        println!("peak resident memory of the whole benchmark: {}", mib(peak));
    }
}

fn report_json(args: &BenchArgs, report: &Report) -> String {
    let runs: Vec<serde_json::Value> = report
        .runs
        .iter()
        .map(|(s, ratio)| s.json(*ratio))
        .collect();
    let memory: Vec<serde_json::Value> = report
        .memory
        .iter()
        .map(|(store, rss, hwm)| {
            serde_json::json!({"store": store, "rss_bytes": rss, "peak_bytes": hwm})
        })
        .collect();
    // The population's figures are timings in seconds, kept as numbers.
    let population: serde_json::Map<String, serde_json::Value> = report
        .population
        .iter()
        .map(|(k, v)| {
            let figure = v
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| serde_json::Value::from(v.as_str()), Into::into);
            (k.clone(), figure)
        })
        .collect();
    let figures = serde_json::json!({
        "province": args.province.slug(),
        "persons": report.persons,
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "clients": args.clients,
        "http_clients": args.http_clients,
        "rates": args.rate,
        "population": population,
        "memory_after_load": memory,
        "peak_memory_bytes": stats::memory().1,
        "runs": runs,
    });
    format!("{figures}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_failures(failed: usize) -> Report {
        let mut run = RunStats::new("engine", "sqlite", 1);
        run.counts.own = 10;
        for _ in 0..failed {
            run.counts.fail(|| "database is locked".to_string());
        }
        Report {
            runs: vec![(run, None)],
            ..Report::default()
        }
    }

    #[test]
    fn a_run_with_failed_operations_fails_the_command_and_says_why() {
        let err = failures_make_figures_invalid(&report_with_failures(3)).unwrap_err();
        assert!(err.starts_with("3 operations failed"), "{err}");
        assert!(err.contains("database is locked"), "{err}");
    }

    #[test]
    fn a_clean_run_passes() {
        assert!(failures_make_figures_invalid(&report_with_failures(0)).is_ok());
    }
}
