//! Crash safety (issue 6, item 4).
//!
//! A real `gongji serve` on a temporary SQLite file takes pharmacy settlements (2102, own
//! account and family mutual aid) and cancels (2103) from several concurrent client threads,
//! and is killed with SIGKILL at random moments (seeded), then restarted on the same file.
//! The clients behave like a HIS: a request that failed because the server died is sent
//! again after the restart with the same msgid and the same body (freshly signed), until it
//! gets an answer. Every acknowledged answer (HTTP 200, infcode 0) is kept with its msgid,
//! its body and its bytes. Now and then a server is also killed while it starts. At the end:
//!
//! 1. every acknowledged settlement and cancel is in the database exactly once (journal by
//!    msgid, settlements by setl_id, with the answered amounts), and nothing that was not
//!    acknowledged is;
//! 2. nothing is half-applied: `gongji verify` passes;
//! 3. after a final restart, replaying every acknowledged msgid returns its original answer
//!    byte for byte, and writes nothing;
//! 4. every personal account's balance equals what an independent model of the test says:
//!    opening − own account paid − mutual aid drawn + returned by cancels;
//! 5. no two acknowledged messages carry the same `inf_refmsgid`, restarts notwithstanding.
//!
//! The seed can be changed with `GONGJI_CRASH_SEED=<u64>`; the run prints its figures to
//! stderr (`cargo test -p gongji-cli --test crash -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use gongji_core::ledger::LedgerAccount;
use gongji_nhsa::client;
use gongji_store::SqliteStore;
use gongji_testkit as testkit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::value::RawValue;
use testkit::money::{fen, yuan};
use testkit::sequence::unix_now;

const GONGJI: &str = env!("CARGO_BIN_EXE_gongji");
const API: &str = "/fsi/api/rsfComIfsService/callService";
const DEFAULT_SEED: u64 = 0x6743_7261_7368_0006;

/// The server's clock at the first start; each restart starts it at START plus the test's
/// elapsed whole seconds, so a restarted server may well answer in the same second as the
/// one it replaces (even a little earlier).
const START: &str = "2026-03-10 09:00:00";
const ADMDVS: &str = "370300";
const DISTRICT: &str = "370303";

const PHARMACY_CODE: &str = "P37030000009";
const PHARMACY_NAME: &str = "淄博市济世大药房";
const PAASID: &str = "paas-crash-P37030000009";
const TOKEN: &str = "tok-crash-P37030000009-s3cret";

const ITEM_A: &str = "XA01-A-0001";
const ITEM_B: &str = "XB01-B-0001";
const ITEM_C: &str = "XC01-C-0001";

const HOLDERS: usize = 120;
const SOLOS: usize = 100;
const RELATIVES: usize = 180;
/// Relatives `0..HOT_RELATIVES` belong to holders `0..HOT_HOLDERS`.
const HOT_HOLDERS: usize = 4;
const HOT_RELATIVES: usize = 40;

const THREADS: usize = 6;
const SETTLEMENTS_PER_THREAD: usize = 400;
/// Kills while the clients are sending (the issue asks for at least 20).
const KILLS: usize = 50;
const KILLS_MIN: usize = 20;
/// A client gives up (and the test fails) when one request finds no answer for this long.
const REQUEST_DEADLINE: Duration = Duration::from_secs(120);
/// The killer gives up when no settlement is answered for this long.
const STALL: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The population
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// An employee who holds relatives' bindings.
    Holder,
    /// An employee without bindings.
    Solo,
    /// Bound to exactly one holder (Zibo: one holder per relative).
    Relative,
}

#[derive(Clone, Debug)]
struct Person {
    psn_no: String,
    certno: String,
    birth: NaiveDate,
    seq: u16,
    insutype: &'static str,
    role: Role,
    /// Opening personal-account balance in fen (employees only).
    opening: Option<i64>,
    /// The holder's index in the population (relatives only).
    holder: Option<usize>,
}

impl Person {
    fn gend(&self) -> &'static str {
        testkit::idcard::gend_of(self.seq)
    }
}

fn certno(birth: NaiveDate, seq: u16) -> String {
    testkit::idcard::certno(DISTRICT, birth, seq)
}

/// Holders, then solo employees, then relatives; balances drawn from the seed.
fn population(rng: &mut StdRng) -> Vec<Person> {
    let mut v = Vec::new();
    let base = NaiveDate::from_ymd_opt(1950, 1, 1).expect("date");
    let person = |i: usize, role: Role, insutype: &'static str, opening, holder| {
        let birth = base + TimeDelta::days((i as i64 * 37) % 20_000);
        let seq = 100 + i as u16;
        let prefix = match role {
            Role::Holder => "H",
            Role::Solo => "S",
            Role::Relative => "R",
        };
        Person {
            psn_no: format!("ZB-{prefix}{i:04}"),
            certno: certno(birth, seq),
            birth,
            seq,
            insutype,
            role,
            opening,
            holder,
        }
    };
    for i in 0..HOLDERS {
        let opening = rng.gen_range(2_000..40_000);
        v.push(person(i, Role::Holder, "310", Some(opening), None));
    }
    for i in HOLDERS..HOLDERS + SOLOS {
        let opening = if i % 10 == 0 {
            0
        } else {
            rng.gen_range(0..30_000)
        };
        v.push(person(i, Role::Solo, "310", Some(opening), None));
    }
    for (k, i) in (HOLDERS + SOLOS..HOLDERS + SOLOS + RELATIVES).enumerate() {
        // The first relatives crowd into a few hot families, whose holder many relatives
        // draw on at once; the others spread over every holder.
        let holder = Some(if k < HOT_RELATIVES {
            k % HOT_HOLDERS
        } else {
            rng.gen_range(0..HOLDERS)
        });
        let p = if i % 3 == 0 {
            // An employee relative with a small account of their own.
            person(
                i,
                Role::Relative,
                "310",
                Some(rng.gen_range(0..3_000)),
                holder,
            )
        } else {
            // A resident relative: no personal account, mutual aid only.
            person(i, Role::Relative, "390", None, holder)
        };
        v.push(p);
    }
    v
}

fn write_registry(dir: &Path, people: &[Person]) {
    std::fs::create_dir_all(dir).expect("registry dir");
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"))
    };
    let mut persons = String::from(
        "psn_no,certno,psn_name,gend,brdy,insutype,psn_type,admdvs,psn_insu_stas,cvlserv_flag,public_medical,emp_name,phone\n",
    );
    let mut accounts = String::from("psn_no,balance\n");
    let mut bindings = String::from(
        "holder_psn_no,relative_psn_no,relationship,begin_date,end_date,limit_per_payment\n",
    );
    for (i, p) in people.iter().enumerate() {
        let employee = p.insutype == "310";
        persons.push_str(&format!(
            "{},{},测试{}号,{},{},{},{},{ADMDVS},1,0,0,{},\n",
            p.psn_no,
            p.certno,
            i,
            p.gend(),
            p.birth.format("%Y-%m-%d"),
            p.insutype,
            if employee { "11" } else { "15" },
            if employee {
                "淄博某某有限公司"
            } else {
                ""
            },
        ));
        if let Some(o) = p.opening {
            accounts.push_str(&format!("{},{}\n", p.psn_no, yuan(o)));
        }
        if let Some(h) = p.holder {
            let relationship = ["10", "20", "50"][i % 3];
            bindings.push_str(&format!(
                "{},{},{relationship},2023-01-01,,\n",
                people[h].psn_no, p.psn_no
            ));
        }
    }
    write("persons.csv", persons);
    write("accounts.csv", accounts);
    write("bindings.csv", bindings);
    write(
        "institutions.csv",
        format!(
            "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,lat,lon,mutual_aid,paasid,token\n\
             {PHARMACY_CODE},{PHARMACY_NAME},2,1,{ADMDVS},36.800000,118.050000,1,{PAASID},{TOKEN}\n"
        ),
    );
    write(
        "catalog.csv",
        format!(
            "med_list_codg,med_list_name,chrgitm_lv,pric_uplmt_amt,selfpay_prop\n\
             {ITEM_A},阿莫西林胶囊,01,,0\n\
             {ITEM_B},头孢克肟片,02,,0.10\n\
             {ITEM_C},维生素保健品,03,,0\n"
        ),
    );
}

fn expect_exit_0(args: &[&str]) {
    testkit::process::must_succeed(GONGJI, args);
}

// ---------------------------------------------------------------------------------------------
// Answers, read exactly (numbers stay text)
// ---------------------------------------------------------------------------------------------

type Obj = BTreeMap<String, Box<RawValue>>;

fn obj(text: &str) -> Result<Obj, String> {
    serde_json::from_str(text).map_err(|e| format!("not a JSON object ({e}): {text}"))
}

fn raw<'a>(o: &'a Obj, key: &str) -> Result<&'a str, String> {
    o.get(key)
        .map(|v| v.get())
        .ok_or_else(|| format!("no field {key:?}"))
}

fn string(o: &Obj, key: &str) -> Result<String, String> {
    serde_json::from_str(raw(o, key)?).map_err(|e| format!("{key} is not a string: {e}"))
}

fn amount(o: &Obj, key: &str) -> Result<i64, String> {
    fen(raw(o, key)?).map_err(|e| format!("{key}: {e}"))
}

/// The money of one answered settlement or cancel, in fen.
#[derive(Clone, Debug)]
struct Setl {
    inf_refmsgid: String,
    setl_id: String,
    mdtrt_id: String,
    psn_no: String,
    medfee: i64,
    acct: i64,
    mulaid: i64,
    cash: i64,
    balc: i64,
}

/// An answer: `Ok(Ok(setlinfo))` on infcode 0, `Ok(Err(err_msg))` on infcode -1.
fn read_answer(bytes: &[u8]) -> Result<Result<Setl, String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("answer not UTF-8: {e}"))?;
    let top = obj(text)?;
    match raw(&top, "infcode")? {
        "0" => {}
        "-1" => return Ok(Err(string(&top, "err_msg")?)),
        other => return Err(format!("infcode {other}: {text}")),
    }
    let output = obj(raw(&top, "output")?)?;
    let info = obj(raw(&output, "setlinfo")?)?;
    let cash = match (info.get("psn_cash_pay"), info.get("pdn_cash_pay")) {
        (Some(c), None) | (None, Some(c)) => fen(c.get())?,
        _ => return Err(format!("exactly one of psn_cash_pay/pdn_cash_pay: {text}")),
    };
    Ok(Ok(Setl {
        inf_refmsgid: string(&top, "inf_refmsgid")?,
        setl_id: string(&info, "setl_id")?,
        mdtrt_id: string(&info, "mdtrt_id")?,
        psn_no: string(&info, "psn_no")?,
        medfee: amount(&info, "medfee_sumamt")?,
        acct: amount(&info, "acct_pay")?,
        mulaid: amount(&info, "acct_mulaid_pay")?,
        cash,
        balc: amount(&info, "balc")?,
    }))
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

fn next_sequence() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

fn start_time() -> NaiveDateTime {
    NaiveDateTime::parse_from_str(START, "%Y-%m-%d %H:%M:%S").expect("START")
}

/// Unique in the test: the 4-digit sequence wraps into the next second of the msgid.
fn new_msgid() -> String {
    let n = next_sequence();
    let at = start_time() + TimeDelta::seconds((n / 10_000) as i64);
    client::msgid(PHARMACY_CODE, at, n)
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a JSON string")
}

fn envelope(infno: &str, msgid: &str, input: &str) -> String {
    let input = RawValue::from_string(input.to_string()).expect("a JSON input");
    client::Sender::new(PHARMACY_CODE, PHARMACY_NAME, ADMDVS)
        .system("GJCRASH")
        .operator("1", "0001", "收费员甲")
        .body(infno, msgid, ADMDVS, start_time(), &input)
        .expect("an envelope")
}

/// A 2102 body: 1–3 lines; the total is their sum.
fn settle_body(msgid: &str, who: &Person, acct_used_flag: &str, rng: &mut StdRng) -> String {
    let n = rng.gen_range(1..=3);
    let mut lines = Vec::new();
    let mut total = 0;
    for sn in 1..=n {
        let item = [ITEM_A, ITEM_A, ITEM_B, ITEM_C][rng.gen_range(0..4)];
        let price = rng.gen_range(100..4_000);
        let cnt = rng.gen_range(1..=2);
        let sum = price * cnt;
        total += sum;
        lines.push(format!(
            concat!(
                "{{\"feedetl_sn\":{},\"rxno\":\"\",\"rx_circ_flag\":\"0\",\"fee_ocur_time\":{},",
                "\"med_list_codg\":{},\"medins_list_codg\":{},\"det_item_fee_sumamt\":{},",
                "\"cnt\":{},\"pric\":{},\"bilg_dept_codg\":\"A03\",\"bilg_dept_name\":\"内科\",",
                "\"bilg_dr_codg\":\"D001\",\"bilg_dr_name\":\"医生乙\",\"hosp_appr_flag\":\"1\"}}"
            ),
            q(&sn.to_string()),
            q(START),
            q(item),
            q(&format!("H-{item}")),
            yuan(sum),
            cnt,
            yuan(price),
        ));
    }
    let input = format!(
        concat!(
            "{{\"druginfo\":{{\"psn_no\":{},\"mdtrt_cert_type\":\"02\",\"mdtrt_cert_no\":{},",
            "\"begntime\":{},\"medfee_sumamt\":{},\"insutype\":{},\"acct_used_flag\":{},",
            "\"med_type\":\"41\",\"invono\":{}}},\"drugdetail\":[{}]}}"
        ),
        q(&who.psn_no),
        q(&who.certno),
        q(START),
        yuan(total),
        q(who.insutype),
        q(acct_used_flag),
        q(&format!("INV-{msgid}")),
        lines.join(",")
    );
    envelope("2102", msgid, &input)
}

fn cancel_body(msgid: &str, original: &Setl) -> String {
    let input = format!(
        "{{\"data\":{{\"setl_id\":{},\"mdtrt_id\":{},\"psn_no\":{}}}}}",
        q(&original.setl_id),
        q(&original.mdtrt_id),
        q(&original.psn_no)
    );
    envelope("2103", msgid, &input)
}

/// One HTTP attempt, freshly signed: (status, body) or a transport error.
fn post(
    http: &reqwest::blocking::Client,
    base: &str,
    body: &str,
) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let nonce = format!("crash-{}-{}", std::process::id(), next_sequence());
    let mut request = http
        .post(format!("{base}{API}"))
        .header("content-type", "application/json");
    for (name, value) in client::signed_headers(PAASID, TOKEN, unix_now(), &nonce) {
        request = request.header(name, value);
    }
    let r = request.body(body.to_string()).send()?;
    let status = r.status().as_u16();
    let bytes = r.bytes()?.to_vec();
    Ok((status, bytes))
}

fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("http client")
}

// ---------------------------------------------------------------------------------------------
// The server, killed and restarted
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Up {
    /// Incremented at every start.
    generation: u64,
    /// `http://127.0.0.1:PORT` while the current server listens.
    base: Option<String>,
}

enum Wait {
    Reached,
    Finished,
    Stalled(usize),
}

struct Shared {
    up: Mutex<Up>,
    changed: Condvar,
    abort: AtomicBool,
    /// Settlements answered so far (every client), and its signal to the killer.
    settled: Mutex<usize>,
    answered: Condvar,
    /// Clients still sending.
    running: AtomicUsize,
    /// The servers' stderr, for a failure message.
    log: Mutex<Vec<String>>,
}

impl Shared {
    fn set(&self, generation: Option<u64>, base: Option<String>) {
        let mut up = self.up.lock().expect("lock");
        if let Some(g) = generation {
            up.generation = g;
        }
        up.base = base;
        self.changed.notify_all();
    }

    fn count_settled(&self) {
        let mut n = self.settled.lock().expect("lock");
        *n += 1;
        self.answered.notify_all();
    }

    fn settled(&self) -> usize {
        *self.settled.lock().expect("lock")
    }

    /// Until `target` settlements are answered, every client has finished, or nothing moves
    /// for [`STALL`].
    fn wait_settled(&self, target: usize) -> Wait {
        let mut n = self.settled.lock().expect("lock");
        let mut progress = (*n, Instant::now());
        loop {
            if *n >= target {
                return Wait::Reached;
            }
            if self.running.load(Ordering::SeqCst) == 0 || self.abort.load(Ordering::SeqCst) {
                return Wait::Finished;
            }
            if *n != progress.0 {
                progress = (*n, Instant::now());
            } else if progress.1.elapsed() > STALL {
                return Wait::Stalled(*n);
            }
            n = self
                .answered
                .wait_timeout(n, Duration::from_millis(50))
                .expect("lock")
                .0;
        }
    }

    fn log_tail(&self) -> String {
        let l = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        l[l.len().saturating_sub(40)..].join("\n")
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts `gongji serve` on `db` with its clock at `now`; waits for "listening".
    fn start(db: &Path, now: NaiveDateTime, shared: &Arc<Shared>, generation: u64) -> Server {
        let mut last = String::new();
        for _ in 0..3 {
            match Server::try_start(db, now, shared, generation) {
                Ok(s) => return s,
                Err(e) => {
                    last = e;
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
        panic!(
            "gongji serve did not start: {last}\nlog:\n{}",
            shared.log_tail()
        );
    }

    fn try_start(
        db: &Path,
        now: NaiveDateTime,
        shared: &Arc<Shared>,
        generation: u64,
    ) -> Result<Server, String> {
        let now = now.format("%Y-%m-%d %H:%M:%S").to_string();
        // Port 0: the server picks a free port and prints it, so a start never collides
        // with a port another process took since the last one.
        let mut child = Command::new(GONGJI)
            .args([
                "serve",
                "--db",
                db.to_str().expect("utf-8 path"),
                "--addr",
                "127.0.0.1:0",
                "--now",
                &now,
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn gongji serve: {e}"))?;
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        drain(stderr, shared.clone(), generation, None);
        let (tx, rx) = mpsc::channel();
        drain(stdout, shared.clone(), generation, Some(tx));
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Ok(Server { child, base }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("generation {generation}: no \"listening\" line"))
            }
        }
    }

    /// Spawns `gongji serve` and kills it after `after`, listening or not.
    fn kill_while_starting(
        db: &Path,
        now: NaiveDateTime,
        shared: &Arc<Shared>,
        generation: u64,
        after: Duration,
    ) {
        let mut child = Command::new(GONGJI)
            .args([
                "serve",
                "--db",
                db.to_str().expect("utf-8 path"),
                "--addr",
                "127.0.0.1:0",
                "--now",
                &now.format("%Y-%m-%d %H:%M:%S").to_string(),
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gongji serve");
        drain(
            child.stderr.take().expect("stderr"),
            shared.clone(),
            generation,
            None,
        );
        thread::sleep(after);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// SIGKILL, and wait until the process is gone (its file locks with it).
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a server's output; the first "listening on http://ADDR" is sent to `listening`.
fn drain(
    r: impl Read + Send + 'static,
    shared: Arc<Shared>,
    generation: u64,
    listening: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut listening = listening;
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                if let Some(tx) = listening.take() {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(format!("http://{addr}"));
                }
            }
            if let Ok(mut l) = shared.log.lock() {
                l.push(format!("[{generation}] {line}"));
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Settle,
    Cancel,
}

/// An acknowledged request.
#[derive(Clone, Debug)]
struct Acked {
    kind: Kind,
    msgid: String,
    body: String,
    response: Vec<u8>,
    setl: Setl,
    /// Settlements: the flag sent and the patient's index in the population.
    acct_used_flag: &'static str,
    patient: usize,
    /// Attempts it took (more than one: the server died under it).
    attempts: u32,
}

#[derive(Default)]
struct ClientLog {
    acked: Vec<Acked>,
    /// (msgid, err_msg) of infcode -1 answers; none is expected.
    refused: Vec<(String, String)>,
    transport_errors: u64,
}

struct Client {
    shared: Arc<Shared>,
    http: reqwest::blocking::Client,
}

impl Client {
    /// Sends `body` until the server answers it: after a transport failure (the server died,
    /// or is restarting) the same body goes out again, freshly signed.
    fn exchange(&self, body: &str, log: &mut ClientLog) -> Result<(Vec<u8>, u32), String> {
        let deadline = Instant::now() + REQUEST_DEADLINE;
        let mut attempts = 0;
        loop {
            let (generation, base) = self.wait_up(deadline)?;
            attempts += 1;
            match post(&self.http, &base, body) {
                Ok((200, bytes)) => return Ok((bytes, attempts)),
                Ok((status, bytes)) => {
                    return Err(format!(
                        "HTTP {status}: {}\nrequest: {body}",
                        String::from_utf8_lossy(&bytes)
                    ))
                }
                Err(_) => {
                    log.transport_errors += 1;
                    self.wait_for_change(generation, deadline)?;
                }
            }
        }
    }

    fn wait_up(&self, deadline: Instant) -> Result<(u64, String), String> {
        let mut up = self.shared.up.lock().expect("lock");
        loop {
            if self.shared.abort.load(Ordering::SeqCst) {
                return Err("aborted".into());
            }
            if let Some(b) = &up.base {
                return Ok((up.generation, b.clone()));
            }
            if Instant::now() > deadline {
                return Err("the server did not come back".into());
            }
            up = self
                .shared
                .changed
                .wait_timeout(up, Duration::from_millis(50))
                .expect("lock")
                .0;
        }
    }

    /// After a failed attempt: until the server is restarted, or briefly if it still looks up.
    fn wait_for_change(&self, generation: u64, deadline: Instant) -> Result<(), String> {
        if Instant::now() > deadline {
            return Err("no answer before the deadline".into());
        }
        let up = self.shared.up.lock().expect("lock");
        if up.generation == generation && up.base.is_some() {
            let _ = self
                .shared
                .changed
                .wait_timeout(up, Duration::from_millis(20))
                .expect("lock");
        }
        Ok(())
    }
}

/// One client thread: settlements of random patients, and cancels of some of its own
/// acknowledged settlements.
fn client(
    index: usize,
    seed: u64,
    people: Arc<Vec<Person>>,
    shared: Arc<Shared>,
) -> Result<ClientLog, String> {
    let mut rng = StdRng::seed_from_u64(seed ^ (0x9e37_79b9 * (index as u64 + 1)));
    let me = Client {
        shared: shared.clone(),
        http: http_client(),
    };
    let mut log = ClientLog::default();
    let mut cancellable: Vec<usize> = Vec::new();
    let mut settled = 0;
    while settled < SETTLEMENTS_PER_THREAD {
        if shared.abort.load(Ordering::SeqCst) {
            return Err("aborted".into());
        }
        if !cancellable.is_empty() && rng.gen_bool(0.3) {
            let pick = cancellable.swap_remove(rng.gen_range(0..cancellable.len()));
            let original = log.acked[pick].clone();
            let msgid = new_msgid();
            let body = cancel_body(&msgid, &original.setl);
            let (response, attempts) = me.exchange(&body, &mut log)?;
            match read_answer(&response)? {
                Ok(setl) => {
                    if setl.setl_id != original.setl.setl_id
                        || setl.acct != -original.setl.acct
                        || setl.mulaid != -original.setl.mulaid
                        || setl.medfee != -original.setl.medfee
                        || setl.cash != -original.setl.cash
                    {
                        return Err(format!(
                            "a cancel does not reverse its settlement:\n{:?}\n{:?}",
                            original.setl, setl
                        ));
                    }
                    log.acked.push(Acked {
                        kind: Kind::Cancel,
                        msgid,
                        body,
                        response,
                        setl,
                        acct_used_flag: original.acct_used_flag,
                        patient: original.patient,
                        attempts,
                    });
                }
                Err(e) => log.refused.push((msgid, e)),
            }
            continue;
        }
        let patient = rng.gen_range(0..people.len());
        let who = &people[patient];
        let acct_used_flag = match rng.gen_range(0..20) {
            0 => "0",
            1..=3 if who.role == Role::Relative => "2",
            _ => "1",
        };
        let msgid = new_msgid();
        let body = settle_body(&msgid, who, acct_used_flag, &mut rng);
        let (response, attempts) = me.exchange(&body, &mut log)?;
        settled += 1;
        match read_answer(&response)? {
            Ok(setl) => {
                check_settlement(who, acct_used_flag, &setl)?;
                shared.count_settled();
                if rng.gen_bool(0.15) {
                    cancellable.push(log.acked.len());
                }
                log.acked.push(Acked {
                    kind: Kind::Settle,
                    msgid,
                    body,
                    response,
                    setl,
                    acct_used_flag,
                    patient,
                    attempts,
                });
            }
            Err(e) => {
                shared.count_settled();
                log.refused.push((msgid, e));
            }
        }
    }
    Ok(log)
}

/// What the model knows of any one answer, whatever the order the server chose.
fn check_settlement(who: &Person, acct_used_flag: &str, s: &Setl) -> Result<(), String> {
    let own = s.acct - s.mulaid;
    let ok = s.psn_no == who.psn_no
        && s.medfee > 0
        && s.acct >= 0
        && s.cash >= 0
        && 0 <= s.mulaid
        && s.mulaid <= s.acct
        && s.acct <= s.medfee
        && s.balc >= 0
        && (acct_used_flag != "0" || s.acct == 0)
        && (who.opening.is_some() || own == 0)
        && (who.holder.is_some() || s.mulaid == 0);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "settlement of {} (acct_used_flag {acct_used_flag}, role {:?}) does not add up: {s:?}",
            who.psn_no, who.role
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[test]
fn acknowledged_settlements_survive_sigkill_exactly_once() {
    let began = Instant::now();
    let seed = std::env::var("GONGJI_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let db: PathBuf = dir.path().join("crash.db");
    let db_text = db.to_str().expect("utf-8 path").to_string();
    let people = Arc::new(population(&mut rng));
    let registry = dir.path().join("registry");
    write_registry(&registry, &people);
    expect_exit_0(&[
        "import",
        "--db",
        &db_text,
        registry.to_str().expect("utf-8 path"),
    ]);

    let shared = Arc::new(Shared {
        up: Mutex::new(Up::default()),
        changed: Condvar::new(),
        abort: AtomicBool::new(false),
        settled: Mutex::new(0),
        answered: Condvar::new(),
        running: AtomicUsize::new(THREADS),
        log: Mutex::new(Vec::new()),
    });
    // The server's clock follows the test's, from START, across restarts.
    let clock =
        |began: Instant| start_time() + TimeDelta::seconds(began.elapsed().as_secs() as i64);
    let mut generation = 1;
    let mut server = Server::start(&db, clock(began), &shared, generation);
    shared.set(Some(generation), Some(server.base.clone()));

    let clients: Vec<_> = (0..THREADS)
        .map(|i| {
            let people = people.clone();
            let shared = shared.clone();
            thread::spawn(move || {
                let r = client(i, seed, people, shared.clone());
                if let Err(e) = &r {
                    if e != "aborted" {
                        shared.abort.store(true, Ordering::SeqCst);
                    }
                }
                shared.running.fetch_sub(1, Ordering::SeqCst);
                shared.answered.notify_all();
                r
            })
        })
        .collect();

    // The killer: each kill after a random share of the settlements still to come (so that
    // every kill finds clients at work). Half the kills land the moment an answer is out,
    // while its batch's neighbours may still be committing; the others a random few
    // milliseconds later.
    let total = THREADS * SETTLEMENTS_PER_THREAD;
    let mut kills = 0;
    let mut startup_kills = 0;
    let mut stalled = None;
    while kills < KILLS && !shared.abort.load(Ordering::SeqCst) {
        let done = shared.settled();
        let left = total.saturating_sub(done);
        let share = 3 * left / (2 * (KILLS - kills + 1));
        let target = done + rng.gen_range(0..=share);
        match shared.wait_settled(target) {
            Wait::Reached => {}
            Wait::Finished => break,
            Wait::Stalled(n) => {
                stalled = Some(n);
                break;
            }
        }
        if rng.gen_bool(0.5) {
            thread::sleep(Duration::from_micros(rng.gen_range(0..15_000)));
        }
        shared.set(None, None);
        server.kill();
        kills += 1;
        thread::sleep(Duration::from_micros(rng.gen_range(0..30_000)));
        if rng.gen_bool(0.2) {
            // Now and then the new server dies too while it opens the database and loads.
            generation += 1;
            Server::kill_while_starting(
                &db,
                clock(began),
                &shared,
                generation,
                Duration::from_micros(rng.gen_range(0..40_000)),
            );
            startup_kills += 1;
        }
        generation += 1;
        server = Server::start(&db, clock(began), &shared, generation);
        shared.set(Some(generation), Some(server.base.clone()));
    }
    if stalled.is_some() {
        shared.abort.store(true, Ordering::SeqCst);
    }
    let mut logs = Vec::new();
    let mut failures = Vec::new();
    for c in clients {
        match c.join() {
            Ok(Ok(log)) => logs.push(log),
            Ok(Err(e)) => failures.push(e),
            Err(_) => failures.push("a client panicked".into()),
        }
    }
    if let Some(n) = stalled {
        failures.push(format!(
            "no settlement acknowledged for {STALL:?} after {n}"
        ));
    }
    failures.retain(|e| e != "aborted");
    assert!(
        failures.is_empty(),
        "clients failed: {failures:#?}\nserver log:\n{}",
        shared.log_tail()
    );

    // A last kill, at rest.
    shared.set(None, None);
    server.kill();
    let under_load = began.elapsed();

    let acked: Vec<Acked> = logs.iter().flat_map(|l| l.acked.iter().cloned()).collect();
    let refused: Vec<(String, String)> = logs
        .iter()
        .flat_map(|l| l.refused.iter().cloned())
        .collect();
    let transport_errors: u64 = logs.iter().map(|l| l.transport_errors).sum();
    let retried = acked.iter().filter(|a| a.attempts > 1).count();
    assert!(
        kills >= KILLS_MIN,
        "only {kills} kills under load (at least {KILLS_MIN})"
    );
    assert!(
        retried > 0,
        "no request was ever cut off by a kill: the test did not test anything"
    );

    // (1), (2) and (4) on the database as the kills left it.
    let tables = check_database(&db, &people, &acked);

    // The final restart; (3) every acknowledged msgid answers its original bytes again.
    generation += 1;
    let server = Server::start(&db, clock(began), &shared, generation);
    shared.set(Some(generation), Some(server.base.clone()));
    let replay_failures = replay_all(&acked, &shared);
    shared.set(None, None);
    server.kill();
    assert!(
        replay_failures.is_empty(),
        "{} replays differ from the original answers; first ones:\n{}",
        replay_failures.len(),
        replay_failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // Replays are answered from the store and write nothing.
    assert_eq!(
        row_counts(&db),
        tables,
        "replaying acknowledged msgids changed the database"
    );
    expect_exit_0(&["verify", "--db", &db_text]);
    // Each acknowledged message has its own reference: a restarted server never hands out
    // an inf_refmsgid the one before it gave (a replay answers with the original's, of course).
    let mut refs: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for a in &acked {
        refs.entry(a.setl.inf_refmsgid.clone())
            .or_default()
            .push(&a.msgid);
    }
    refs.retain(|_, msgids| msgids.len() > 1);
    assert!(
        refs.is_empty(),
        "{} inf_refmsgid were given to more than one message, e.g. {:?}",
        refs.len(),
        refs.iter().take(3).collect::<Vec<_>>()
    );

    // Refusals last: a lost settlement shows above as such, not as a refused cancel.
    assert!(
        refused.is_empty(),
        "valid requests were refused: {refused:#?}"
    );

    let settles = acked.iter().filter(|a| a.kind == Kind::Settle);
    let mulaid: i64 = settles.clone().map(|s| s.setl.mulaid).sum();
    let own: i64 = settles.clone().map(|s| s.setl.acct - s.setl.mulaid).sum();
    eprintln!(
        "crash test (seed {seed:#x}): {kills} kills under load, {startup_kills} while \
         starting, 1 at rest, {generation} server starts; {} settlements ({own} fen own \
         account, {mulaid} fen mutual aid) and {} cancels acknowledged, {retried} of them only \
         after a retry ({transport_errors} transport failures), {} replays identical; {:.1?} \
         under load, {:.1?} in all",
        settles.count(),
        acked.iter().filter(|a| a.kind == Kind::Cancel).count(),
        acked.len(),
        under_load,
        began.elapsed()
    );
}

/// Rows per table of everything a request writes.
fn row_counts(db: &Path) -> BTreeMap<&'static str, i64> {
    let store = SqliteStore::open(db).expect("open the database");
    let conn = store.connection();
    [
        "journal",
        "postings",
        "settlements",
        "accounts",
        "binding_usage",
        "messages",
    ]
    .into_iter()
    .map(|t| {
        let n = conn
            .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("count {t}: {e}"));
        (t, n)
    })
    .collect()
}

/// (1) every acknowledged request is stored exactly once and nothing else is; (2) `gongji
/// verify` passes; (4) every personal account holds what the model says. Returns the row
/// counts.
fn check_database(db: &Path, people: &[Person], acked: &[Acked]) -> BTreeMap<&'static str, i64> {
    let settles: Vec<&Acked> = acked.iter().filter(|a| a.kind == Kind::Settle).collect();
    let cancels: Vec<&Acked> = acked.iter().filter(|a| a.kind == Kind::Cancel).collect();
    let cancelled: BTreeSet<&str> = cancels.iter().map(|c| c.setl.setl_id.as_str()).collect();
    assert_eq!(
        cancelled.len(),
        cancels.len(),
        "a settlement was cancelled twice"
    );
    {
        let store = SqliteStore::open(db).expect("open the database");
        let conn = store.connection();
        let mut entry_of_setl: HashMap<&str, i64> = HashMap::new();
        let mut lost = Vec::new();
        for a in acked {
            let rows: Vec<(i64, String, Option<i64>)> = conn
                .prepare("SELECT entry_id, kind, reverses_entry FROM journal WHERE msgid = ?1")
                .and_then(|mut s| {
                    s.query_map([&a.msgid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .expect("journal by msgid");
            if rows.len() != 1 {
                lost.push(format!(
                    "acknowledged {:?} msgid {} ({}) is in the journal {} times",
                    a.kind,
                    a.msgid,
                    a.setl.setl_id,
                    rows.len()
                ));
                continue;
            }
            let (entry_id, kind, reverses) = &rows[0];
            let want = match a.kind {
                Kind::Settle => "settle",
                Kind::Cancel => "cancel",
            };
            if kind != want || (a.kind == Kind::Settle && reverses.is_some()) {
                lost.push(format!(
                    "acknowledged {:?} msgid {} is a {kind} entry (reverses {reverses:?})",
                    a.kind, a.msgid
                ));
                continue;
            }
            if a.kind == Kind::Cancel {
                continue;
            }
            entry_of_setl.insert(&a.setl.setl_id, *entry_id);
            let rows: Vec<(i64, String, i64, i64, i64, i64, bool)> = conn
                .prepare(
                    "SELECT entry_id, psn_no, medfee_sumamt, acct_pay, acct_mulaid_pay, \
                     psn_cash_pay, cancelled FROM settlements WHERE setl_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_map([&a.setl.setl_id], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get::<_, i64>(6)? != 0,
                        ))
                    })?
                    .collect()
                })
                .expect("settlement by setl_id");
            let s = &a.setl;
            let expected = vec![(
                *entry_id,
                s.psn_no.clone(),
                s.medfee,
                s.acct,
                s.mulaid,
                s.cash,
                cancelled.contains(s.setl_id.as_str()),
            )];
            if rows != expected {
                lost.push(format!(
                    "acknowledged settlement {} (msgid {}) is stored as {rows:?}, answered \
                     (and cancelled or not) as {expected:?}",
                    s.setl_id, a.msgid
                ));
            }
        }
        assert!(
            lost.is_empty(),
            "{} acknowledged requests are not in the database exactly once as answered:\n{}",
            lost.len(),
            lost.join("\n")
        );
        let mut by_setl_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in &settles {
            by_setl_id
                .entry(&s.setl.setl_id)
                .or_default()
                .push(&s.msgid);
        }
        by_setl_id.retain(|_, msgids| msgids.len() > 1);
        assert!(
            by_setl_id.is_empty(),
            "acknowledged settlements share a setl_id (setl_id: msgids): {by_setl_id:#?}"
        );
        for c in &cancels {
            let reverses: Option<i64> = conn
                .query_row(
                    "SELECT reverses_entry FROM journal WHERE msgid = ?1",
                    [&c.msgid],
                    |r| r.get(0),
                )
                .expect("cancel entry");
            assert_eq!(
                reverses,
                entry_of_setl.get(c.setl.setl_id.as_str()).copied(),
                "cancel {} reverses the entry of {}",
                c.msgid,
                c.setl.setl_id
            );
        }
        let count = |sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM journal WHERE kind = 'settle'"),
            settles.len() as i64,
            "settlements in the journal that were never acknowledged"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM settlements"),
            settles.len() as i64,
            "settlement rows that were never acknowledged"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM journal WHERE kind = 'cancel'"),
            cancels.len() as i64,
            "cancels in the journal that were never acknowledged"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM settlements WHERE cancelled <> 0"),
            cancels.len() as i64,
            "settlements marked cancelled without an acknowledged cancel"
        );

        // (4) The auditor: balances from the acknowledged answers alone.
        let mut model: BTreeMap<&str, i64> = people
            .iter()
            .map(|p| (p.psn_no.as_str(), p.opening.unwrap_or(0)))
            .collect();
        for a in acked {
            let who = &people[a.patient];
            // A cancel's amounts are its settlement's, negated: the same arithmetic returns
            // every fen to where it came from.
            *model.get_mut(who.psn_no.as_str()).expect("patient") -= a.setl.acct - a.setl.mulaid;
            if a.setl.mulaid != 0 {
                let holder = &people[who.holder.expect("only relatives draw mutual aid")];
                *model.get_mut(holder.psn_no.as_str()).expect("holder") -= a.setl.mulaid;
            }
        }
        let mut wrong = Vec::new();
        let mut moved = 0;
        for p in people {
            let key = LedgerAccount::Personal(p.psn_no.clone()).key();
            let stored: Option<i64> = conn
                .query_row(
                    "SELECT balance_fen FROM accounts WHERE account_key = ?1",
                    [&key],
                    |r| r.get(0),
                )
                .ok();
            let expected = model[p.psn_no.as_str()];
            if stored.unwrap_or(0) != expected {
                wrong.push(format!(
                    "{} ({:?}): stored {stored:?}, model {expected}, opening {:?}",
                    p.psn_no, p.role, p.opening
                ));
            }
            if expected != p.opening.unwrap_or(0) {
                moved += 1;
            }
        }
        assert!(
            wrong.is_empty(),
            "{} balances differ from the model:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
        let mulaid: i64 = settles.iter().map(|s| s.setl.mulaid).sum();
        assert!(
            moved > people.len() / 4 && mulaid > 0,
            "the workload moved too little money to prove anything"
        );
    }

    // (2) Nothing half-applied.
    expect_exit_0(&["verify", "--db", db.to_str().expect("utf-8 path")]);
    row_counts(db)
}

/// Sends every acknowledged body again (same msgid, fresh signature) from a few threads;
/// returns the differences.
fn replay_all(acked: &[Acked], shared: &Arc<Shared>) -> Vec<String> {
    let chunks: Vec<Vec<Acked>> = acked
        .chunks(acked.len().div_ceil(THREADS).max(1))
        .map(<[Acked]>::to_vec)
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let shared = shared.clone();
            thread::spawn(move || {
                let me = Client {
                    shared,
                    http: http_client(),
                };
                let mut log = ClientLog::default();
                let mut diffs = Vec::new();
                for a in chunk {
                    match me.exchange(&a.body, &mut log) {
                        Ok((bytes, _)) if bytes == a.response => {}
                        Ok((bytes, _)) => diffs.push(format!(
                            "msgid {}:\noriginal: {}\nreplayed: {}",
                            a.msgid,
                            String::from_utf8_lossy(&a.response),
                            String::from_utf8_lossy(&bytes)
                        )),
                        Err(e) => diffs.push(format!("msgid {}: {e}", a.msgid)),
                    }
                }
                diffs
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| {
            h.join()
                .unwrap_or_else(|_| vec!["a replay thread panicked".into()])
        })
        .collect()
}
