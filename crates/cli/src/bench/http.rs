//! The mix over HTTP: the server runs in this process on 127.0.0.1 with the same router as
//! `gongji serve`, and clients send signed national-format requests (2102 drug purchases,
//! 2103 cancels) over keep-alive connections. Premiums have no institution transaction:
//! they are submitted to the same engine in process (the REST API's premium path needs a
//! signed-in person's session, which a load test cannot fake), and said so in the report.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gongji_core::Fen;
use gongji_engine::EngineHandle;
use gongji_nhsa::client;
use gongji_server::app::DynStore;
use gongji_server::{App, Clock};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::engine_run::{record, submit};
use super::stats::{Counts, RunStats, Tally};
use super::workload::{bench_morning, Done, Kind, Ledger, Msgids, Op, Workload};

const PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// The server, in this process, on its own runtime.
pub struct Server {
    pub addr: SocketAddr,
    pub handle: EngineHandle<DynStore>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    pub fn start(handle: EngineHandle<DynStore>, workers: usize) -> Result<Server, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name("gongji-http")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let engine = handle.clone();
        let addr = runtime.block_on(async move {
            let app =
                App::new(engine, Clock::starting_at(bench_morning())).map_err(|e| e.to_string())?;
            app.load_gateways().await.map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| format!("127.0.0.1:0: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                if let Err(e) = gongji_server::serve(app, listener, shutdown).await {
                    eprintln!("bench server: {e}");
                }
            });
            Ok::<_, String>(addr)
        })?;
        Ok(Server {
            addr,
            handle,
            runtime: Some(runtime),
            stop: Some(stop),
        })
    }

    /// Stops serving and waits for the server's runtime to finish.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Builds signed requests and reads answers.
pub struct Client {
    http: reqwest::Client,
    url: String,
    /// Distinguishes this run's nonces.
    run: String,
    /// `inf_time`: the server's day.
    at: chrono::NaiveDateTime,
    /// `begntime` and `fee_ocur_time`: the same, as the wire writes it.
    time: String,
}

/// 2102 input.
#[derive(Serialize)]
struct DrugSettlement<'a> {
    druginfo: DrugInfo<'a>,
    drugdetail: Vec<DrugLine<'a>>,
}

#[derive(Serialize)]
struct DrugInfo<'a> {
    psn_no: &'a str,
    mdtrt_cert_type: &'a str,
    mdtrt_cert_no: &'a str,
    begntime: &'a str,
    medfee_sumamt: Box<RawValue>,
    insutype: &'a str,
    acct_used_flag: &'a str,
    med_type: &'a str,
    invono: String,
}

#[derive(Serialize)]
struct DrugLine<'a> {
    feedetl_sn: String,
    rxno: &'a str,
    rx_circ_flag: &'a str,
    fee_ocur_time: &'a str,
    med_list_codg: &'a str,
    medins_list_codg: String,
    det_item_fee_sumamt: Box<RawValue>,
    cnt: i64,
    pric: Box<RawValue>,
    bilg_dept_codg: &'a str,
    bilg_dept_name: &'a str,
    bilg_dr_codg: &'a str,
    bilg_dr_name: &'a str,
    hosp_appr_flag: &'a str,
}

/// 2103 input.
#[derive(Serialize)]
struct CancelInput<'a> {
    data: CancelData<'a>,
}

#[derive(Serialize)]
struct CancelData<'a> {
    setl_id: &'a str,
    mdtrt_id: &'a str,
    psn_no: &'a str,
}

/// What an answer said.
enum Answer {
    Settled {
        setl_id: String,
        mdtrt_id: String,
        /// The answer's acct_mulaid_pay is above zero.
        mutual_aid: bool,
    },
    Cancelled,
    Replayed,
    Refused(String),
    Failed(String),
}

impl Client {
    pub fn new(addr: SocketAddr, run: &str) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client {
            http,
            url: format!("http://{addr}{PATH}"),
            run: run.to_string(),
            at: bench_morning(),
            time: gongji_nhsa::wire_time::format_datetime(bench_morning()),
        })
    }

    fn envelope<I: Serialize>(
        &self,
        infno: &str,
        msgid: &str,
        w: &Workload,
        op: &Op,
        input: &I,
    ) -> Option<String> {
        let inst = w.institution_of(op);
        let insured_in = match op {
            Op::Settle {
                patient, mutual, ..
            } => w.patient(*mutual, *patient).admdvs.as_str(),
            Op::Cancel(d) => d.admdvs.as_str(),
            Op::Premium { .. } => inst.admdvs.as_str(),
        };
        client::Sender::new(inst.code.as_str(), inst.name.as_str(), inst.admdvs.as_str())
            .system("GJBENCH")
            .body(infno, msgid, insured_in, self.at, input)
            .ok()
    }

    /// The request body of a settlement (2102) or cancel (2103).
    fn body(&self, w: &Workload, op: &Op, msgid: &str, i: usize) -> Option<(String, &'static str)> {
        match op {
            Op::Settle {
                patient,
                mutual,
                lines,
                ..
            } => {
                let p = w.patient(*mutual, *patient);
                let mut total = Fen::ZERO;
                let mut drugdetail = Vec::with_capacity(lines.len());
                for (sn, (item, count)) in lines.iter().enumerate() {
                    let (code, price) = &w.catalog[*item];
                    let amount = price.checked_mul(*count)?;
                    total = total.checked_add(amount)?;
                    drugdetail.push(DrugLine {
                        feedetl_sn: (sn + 1).to_string(),
                        rxno: "",
                        rx_circ_flag: "0",
                        fee_ocur_time: &self.time,
                        med_list_codg: code,
                        medins_list_codg: format!("H-{code}"),
                        det_item_fee_sumamt: client::amount(amount),
                        cnt: *count,
                        pric: client::amount(*price),
                        bilg_dept_codg: "A03",
                        bilg_dept_name: "药房",
                        bilg_dr_codg: "D001",
                        bilg_dr_name: "药师",
                        hosp_appr_flag: "1",
                    });
                }
                let input = DrugSettlement {
                    druginfo: DrugInfo {
                        psn_no: &p.psn_no,
                        mdtrt_cert_type: "02",
                        mdtrt_cert_no: w.card(*mutual, *patient),
                        begntime: &self.time,
                        medfee_sumamt: client::amount(total),
                        insutype: p.insutype,
                        acct_used_flag: if *mutual { "2" } else { "1" },
                        med_type: "41",
                        invono: format!("INV{i}"),
                    },
                    drugdetail,
                };
                Some((self.envelope("2102", msgid, w, op, &input)?, "2102"))
            }
            Op::Cancel(d) => {
                let input = CancelInput {
                    data: CancelData {
                        setl_id: &d.setl_id,
                        mdtrt_id: &d.mdtrt_id,
                        psn_no: &d.psn_no,
                    },
                };
                Some((self.envelope("2103", msgid, w, op, &input)?, "2103"))
            }
            Op::Premium { .. } => None,
        }
    }

    async fn send(&self, w: &Workload, op: &Op, body: String, i: usize) -> Answer {
        let inst = w.institution_of(op);
        let nonce = format!("{}-{i}", self.run);
        let headers = client::signed_headers(
            &inst.paasid,
            &inst.token,
            chrono::Utc::now().timestamp(),
            &nonce,
        );
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let sent = request.body(body).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Answer::Failed(format!("transport: {e}")),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Answer::Failed(format!("transport: {e}")),
        };
        if !status.is_success() {
            return Answer::Failed(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ));
        }
        read_answer(&bytes, matches!(op, Op::Cancel(_)))
    }
}

/// The text of `"key":"value"` in a compact JSON answer.
fn text_of<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\":\"");
    let start = body.find(&pattern)? + pattern.len();
    let len = body[start..].find('"')?;
    Some(&body[start..start + len])
}

/// The text of `"key":number` in a compact JSON answer.
fn number_of<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\":");
    let start = body.find(&pattern)? + pattern.len();
    let len = body[start..].find([',', '}'])?;
    Some(&body[start..start + len])
}

/// The stable code at the start of an `err_msg` ("GJ-SETL-...: 余额不足").
fn refusal_code(err_msg: &str) -> &str {
    let end = err_msg
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(err_msg.len());
    &err_msg[..end]
}

fn read_answer(bytes: &[u8], cancel: bool) -> Answer {
    let Ok(body) = std::str::from_utf8(bytes) else {
        return Answer::Failed("an answer that is not UTF-8".into());
    };
    if !body.contains("\"infcode\":0") {
        return match text_of(body, "err_msg") {
            Some(m) if m.starts_with("GJ-STORE") || m.starts_with("GJ-INTERNAL") => {
                Answer::Failed(m.to_string())
            }
            Some(m) => Answer::Refused(refusal_code(m).to_string()),
            None => Answer::Failed(body.chars().take(200).collect()),
        };
    }
    if cancel {
        return Answer::Cancelled;
    }
    match (text_of(body, "setl_id"), text_of(body, "mdtrt_id")) {
        (Some(s), Some(m)) => Answer::Settled {
            setl_id: s.to_string(),
            mdtrt_id: m.to_string(),
            mutual_aid: number_of(body, "acct_mulaid_pay")
                .is_some_and(|n| n.bytes().any(|b| (b'1'..=b'9').contains(&b))),
        },
        _ => Answer::Replayed,
    }
}

/// What every request of a run shares.
struct Sender<'a> {
    client: &'a Client,
    handle: &'a EngineHandle<DynStore>,
    w: &'a Workload,
    ledger: &'a Ledger,
    msgids: Msgids,
}

/// Sends one operation (premiums in process) and counts its answer.
async fn one(s: Sender<'_>, op: Op, i: usize, counts: &mut Counts) {
    let Sender {
        client,
        handle,
        w,
        ledger,
        msgids,
    } = s;
    let msgid = msgids.get(&w.institution_of(&op).code, i);
    let Some((body, _infno)) = client.body(w, &op, &msgid, i) else {
        let at = bench_morning() + chrono::Duration::milliseconds(i as i64);
        let result = submit(handle, w.request(&op, &msgid, at)).await;
        record(&op, &result, counts, ledger);
        return;
    };
    counts.plan(op.kind());
    match client.send(w, &op, body, i).await {
        Answer::Settled {
            setl_id,
            mdtrt_id,
            mutual_aid,
        } => {
            if let Op::Settle {
                patient,
                mutual,
                inst,
                ..
            } = &op
            {
                let p = w.patient(*mutual, *patient);
                ledger.push(Done {
                    setl_id,
                    mdtrt_id,
                    psn_no: p.psn_no.clone(),
                    admdvs: p.admdvs.clone(),
                    inst: *inst,
                });
            }
            counts.settled(mutual_aid);
        }
        Answer::Cancelled => counts.ok(Kind::Cancel),
        Answer::Replayed => counts.replayed += 1,
        Answer::Refused(code) => counts.refuse(&code),
        Answer::Failed(why) => counts.fail(|| why),
    }
}

fn client_runtime(workers: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name("gongji-bench-client")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

pub struct HttpRun<'a> {
    pub server: &'a Server,
    pub workload: &'a Arc<Workload>,
    pub msgids: Msgids,
    pub ops: usize,
    pub seed: u64,
    pub store: &'a str,
    pub client_threads: usize,
    /// Most connections of the open loop.
    pub connections: usize,
    /// Distinguishes nonces between runs.
    pub run: String,
}

/// Closed loop: `clients` keep-alive clients, each sending its next request when its
/// previous one is answered.
pub fn closed_loop(r: &HttpRun<'_>, clients: usize) -> Result<RunStats, String> {
    let rt = client_runtime(r.client_threads)?;
    let client = Arc::new(Client::new(r.server.addr, &r.run)?);
    let mut stats = RunStats::new("http", r.store, clients);
    stats.note = "2102/2103 over HTTP; premiums in process".into();
    let next = Arc::new(AtomicUsize::new(0));
    let ledger = Arc::new(Ledger::default());
    let totals = Arc::new(Tally::with_capacity(r.ops));
    let bar = indicatif::ProgressBar::new(r.ops as u64);
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..clients.max(1) {
            let (client, handle, w, next, ledger, totals, bar) = (
                client.clone(),
                r.server.handle.clone(),
                r.workload.clone(),
                next.clone(),
                ledger.clone(),
                totals.clone(),
                bar.clone(),
            );
            let (ops, msgids) = (r.ops, r.msgids);
            let seed = r.seed.wrapping_mul(7_000_003).wrapping_add(c as u64);
            tasks.spawn(async move {
                let mut rng = SmallRng::seed_from_u64(seed);
                let mut counts = Counts::default();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ops {
                        break;
                    }
                    let op = w.plan(&mut rng, &ledger);
                    let t0 = Instant::now();
                    let sender = Sender {
                        client: &client,
                        handle: &handle,
                        w: &w,
                        ledger: &ledger,
                        msgids,
                    };
                    one(sender, op, i, &mut counts).await;
                    latencies.push(t0.elapsed().as_micros() as u64);
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
    Ok(stats)
}

/// Open loop: requests leave at a fixed rate whatever the answers do, each on its own
/// task over the keep-alive pool, and each latency is counted from the moment the request
/// was due to leave (so a stall delays every request behind it in the figures too, as it
/// would for the pharmacies waiting).
pub fn open_loop(r: &HttpRun<'_>, rate: f64) -> Result<RunStats, String> {
    let rt = client_runtime(r.client_threads)?;
    let client = Arc::new(Client::new(r.server.addr, &r.run)?);
    let mut stats = RunStats::new("http-open-loop", r.store, 0);
    stats.offered_per_sec = Some(rate);
    stats.note =
        format!("{rate:.0} requests/s offered; latency from each request's scheduled send time");
    let ledger = Arc::new(Ledger::default());
    let totals = Arc::new(Tally::with_capacity(r.ops));
    let bar = indicatif::ProgressBar::new(r.ops as u64);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    // At most this many requests in flight (and so connections): a pharmacy's request
    // waits for a free connection when the server falls behind, and that wait counts.
    let connections = Arc::new(tokio::sync::Semaphore::new(r.connections.max(1)));
    let mut late = 0;
    let started = Instant::now();
    rt.block_on(async {
        let mut rng = SmallRng::seed_from_u64(r.seed.wrapping_mul(9_000_011));
        let mut tasks = tokio::task::JoinSet::new();
        let t0 = tokio::time::Instant::now();
        for i in 0..r.ops {
            let due = t0 + interval.mul_f64(i as f64);
            let now = tokio::time::Instant::now();
            if due > now {
                tokio::time::sleep_until(due).await;
            } else if now - due > Duration::from_millis(1) {
                late += 1;
            }
            let op = r.workload.plan(&mut rng, &ledger);
            let (client, handle, w, ledger, totals, bar) = (
                client.clone(),
                r.server.handle.clone(),
                r.workload.clone(),
                ledger.clone(),
                totals.clone(),
                bar.clone(),
            );
            let msgids = r.msgids;
            let connections = connections.clone();
            tasks.spawn(async move {
                let mut counts = Counts::default();
                let permit = connections.acquire_owned().await;
                let sender = Sender {
                    client: &client,
                    handle: &handle,
                    w: &w,
                    ledger: &ledger,
                    msgids,
                };
                one(sender, op, i, &mut counts).await;
                drop(permit);
                let latency = due.elapsed().as_micros() as u64;
                totals.add(&counts, &[latency]);
                bar.inc(1);
            });
            // Reap finished tasks as we go, so the set stays small.
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
    });
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    totals.finish(&mut stats, elapsed);
    stats.late_sends = late;
    Ok(stats)
}
