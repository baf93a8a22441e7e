//! What the institution-interface acceptance tests share:
//!
//! - a small deterministic population (persons with valid ID numbers in the five seed regions
//!   and one other province, accounts, institutions with gateway credentials, a catalog,
//!   bindings), written as registry CSV and loaded with `gongji import`;
//! - a spawned `gongji serve` on a temporary SQLite file with a pinned clock, stopped by a
//!   guard when the test ends;
//! - a client that builds national-format envelopes, signs the `x-tif-*` headers with the real
//!   clock, and reads answers exactly (amounts as text, compared in fen, never as `f64`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gongji_nhsa::client;
use gongji_testkit as testkit;
use serde_json::value::RawValue;
use serde_json::{json, Value};

pub const GONGJI: &str = env!("CARGO_BIN_EXE_gongji");
/// The server's pinned clock.
pub const NOW: &str = "2026-03-10 09:00:00";
pub const TODAY: &str = "2026-03-10";
pub const API: &str = "/fsi/api/rsfComIfsService/callService";

// ---------------------------------------------------------------------------------------------
// The population
// ---------------------------------------------------------------------------------------------

/// A designated institution with its gateway credentials.
#[derive(Clone, Copy, Debug)]
pub struct Inst {
    pub code: &'static str,
    pub name: &'static str,
    /// fixmedins_type: 1 medical, 2 pharmacy.
    pub kind: &'static str,
    pub level: &'static str,
    pub admdvs: &'static str,
    pub mutual_aid: bool,
}

impl Inst {
    pub fn paasid(&self) -> String {
        format!("paas-{}", self.code)
    }

    pub fn token(&self) -> String {
        format!("tok-{}-s3cret", self.code)
    }
}

const fn inst(
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    level: &'static str,
    admdvs: &'static str,
    mutual_aid: bool,
) -> Inst {
    Inst {
        code,
        name,
        kind,
        level,
        admdvs,
        mutual_aid,
    }
}

#[rustfmt::skip]
mod institutions {
    use super::{inst, Inst};

    pub const ZB_HOSP1: Inst = inst("H37030000011", "淄博市张店区社区卫生服务中心", "1", "1", "370300", true);
    pub const ZB_HOSP2: Inst = inst("H37030000012", "淄博市张店区人民医院", "1", "2", "370300", true);
    pub const ZB_PHARM: Inst = inst("P37030000001", "淄博市康源大药房", "2", "1", "370300", true);
    pub const YT_HOSP1: Inst = inst("H37060000011", "烟台市芝罘区社区卫生服务中心", "1", "1", "370600", true);
    pub const YT_HOSP2: Inst = inst("H37060000012", "烟台市芝罘区医院", "1", "2", "370600", true);
    pub const YT_PHARM: Inst = inst("P37060000001", "烟台市百姓大药房", "2", "1", "370600", true);
    pub const JN_HOSP1: Inst = inst("H37010000011", "济南市历下区社区卫生服务中心", "1", "1", "370100", true);
    pub const JN_HOSP2: Inst = inst("H37010000012", "济南市历下区人民医院", "1", "2", "370100", true);
    pub const JN_PHARM: Inst = inst("P37010000001", "济南市漱玉平民大药房", "2", "1", "370100", true);
    /// A Jinan pharmacy that does not take part in mutual aid.
    pub const JN_PHARM_NOAID: Inst = inst("P37010000002", "济南市便民药店", "2", "1", "370100", false);
    pub const TY_HOSP1: Inst = inst("H14010000011", "太原市小店区社区卫生服务中心", "1", "1", "140100", true);
    pub const TY_HOSP2: Inst = inst("H14010000012", "太原市小店区人民医院", "1", "2", "140100", true);
    pub const TY_PHARM: Inst = inst("P14010000001", "太原市老百姓大药房", "2", "1", "140100", true);
    pub const YC_HOSP1: Inst = inst("H14080000011", "运城市盐湖区乡镇卫生院", "1", "1", "140800", true);
    pub const YC_HOSP2: Inst = inst("H14080000012", "运城市盐湖区人民医院", "1", "2", "140800", true);
    pub const YC_PHARM: Inst = inst("P14080000001", "运城市同德大药房", "2", "1", "140800", true);
    /// Qingdao has no city preset: the Shandong provincial policy applies.
    pub const QD_PHARM: Inst = inst("P37020000001", "青岛市医保大药房", "2", "1", "370200", true);
}
pub use institutions::*;

pub mod provinces;

pub const INSTITUTIONS: &[Inst] = &[
    ZB_HOSP1,
    ZB_HOSP2,
    ZB_PHARM,
    YT_HOSP1,
    YT_HOSP2,
    YT_PHARM,
    JN_HOSP1,
    JN_HOSP2,
    JN_PHARM,
    JN_PHARM_NOAID,
    TY_HOSP1,
    TY_HOSP2,
    TY_PHARM,
    YC_HOSP1,
    YC_HOSP2,
    YC_PHARM,
    QD_PHARM,
];

/// Catalog codes: class A, class A with a price cap of 8.00, class B (self-pay 10%), class C.
pub const ITEM_A: &str = "XA01-A-0001";
pub const ITEM_A_CAPPED: &str = "XA01-A-0002";
pub const ITEM_B: &str = "XB01-B-0001";
pub const ITEM_C: &str = "XC01-C-0001";

/// An insured person of the fixture.
#[derive(Clone, Debug)]
pub struct P {
    pub psn_no: String,
    pub name: &'static str,
    /// District code opening the ID number.
    pub district: &'static str,
    /// Insurance division (a city; Taiyuan falls back to the Shanxi provincial policy).
    pub admdvs: &'static str,
    /// yyyymmdd
    pub birth: &'static str,
    pub seq: u16,
    pub insutype: &'static str,
    /// Personal-account balance in yuan (employees only).
    pub balance: Option<&'static str>,
}

impl P {
    pub fn certno(&self) -> String {
        testkit::idcard::certno_of(self.district, self.birth, self.seq)
    }

    pub fn gend(&self) -> &'static str {
        testkit::idcard::gend_of(self.seq)
    }
}

/// Looks a fixture person up by psn_no.
pub fn person(psn_no: &str) -> P {
    population()
        .into_iter()
        .find(|x| x.psn_no == psn_no)
        .unwrap_or_else(|| panic!("no fixture person {psn_no}"))
}

/// The relatives of the concurrency holder TY-HC.
pub const CONCURRENT_RELATIVES: usize = 20;

pub fn concurrent_relative(i: usize) -> String {
    format!("TY-C{:02}", i + 1)
}

/// psn_no, name, district (opens the ID number), insurance admdvs, birth date, sequence
/// (odd = male), insutype, balance (yuan; "-" = no account).
const PEOPLE: &str = "
    YT-E1 赵明远 370602 370600 19800315 11 310 500.00
    YT-H1 孙立华 370602 370600 19700520 13 310 1000.00
    YT-R1 孙小雨 370602 370600 20050612 24 390 -
    YT-R2 周雅琴 370602 370600 19720818 22 310 20.00
    ZB-E1 钱文博 370303 370300 19850101 31 310 100.00
    ZB-E2 郑海涛 370303 370300 19830707 33 310 300.00
    ZB-H1 刘国强 370303 370300 19680909 35 310 800.00
    ZB-R1 陈淑芬 370303 370300 19700303 36 310 10.00
    ZB-H2 吴建军 370303 370300 19750420 37 310 500.00
    ZB-R2 吴小军 370303 370300 20080808 39 390 -
    JN-H1 王建国 370102 370100 19760101 41 310 100.00
    JN-H2 李秀英 370102 370100 19780202 42 310 100.00
    JN-R1 王小明 370102 370100 20100505 43 390 -
    JN-E9 冯志刚 370102 370100 19600606 45 310 0.00
    TY-H1 张卫东 140105 140100 19690101 51 310 1050.00
    TY-R1 张小燕 140105 140100 19990909 52 390 -
    TY-H2 黄志明 140105 140100 19710303 53 310 3000.00
    TY-R2 林晓红 140105 140100 19730404 54 310 30.00
    TY-HC 马永胜 140105 140100 19650505 55 310 1500.00
    YC-H1 杨德福 140802 140800 19660606 61 310 1200.00
    YC-R1 何丽萍 140802 140800 19680707 62 310 15.00
    QD-H1 赵德明 370202 370200 19700101 81 310 600.00
    QD-R1 赵德亮 370202 370200 19720202 83 310 0.00
    BJ-P1 徐建平 110105 110100 19820808 71 310 100.00
";

/// Yantai, Zibo, Jinan, Qingdao (Shandong's provincial policy), Taiyuan (Shanxi's provincial
/// policy) and Yuncheng people; BJ-P1 is insured in Beijing, where no policy of ours applies.
pub fn population() -> Vec<P> {
    let mut v: Vec<P> = PEOPLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&'static str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 8, "fixture row {l:?}");
            P {
                psn_no: f[0].to_string(),
                name: f[1],
                district: f[2],
                admdvs: f[3],
                birth: f[4],
                seq: f[5].parse().expect("sequence"),
                insutype: f[6],
                balance: (f[7] != "-").then_some(f[7]),
            }
        })
        .collect();
    // Yuncheng residents for the outpatient pooling (R-R6).
    for i in 1..=7u16 {
        v.push(P {
            psn_no: format!("YC-Y{i}"),
            name: "运城居民",
            district: "140802",
            admdvs: "140800",
            birth: "19900101",
            seq: 100 + i,
            insutype: "390",
            balance: None,
        });
    }
    // The concurrency holder's children.
    for i in 0..CONCURRENT_RELATIVES {
        v.push(P {
            psn_no: concurrent_relative(i),
            name: "马家子女",
            district: "140105",
            admdvs: "140100",
            birth: "20000101",
            seq: 200 + i as u16,
            insutype: "390",
            balance: None,
        });
    }
    v
}

/// (holder, relative, relationship, begin, end, limit_per_payment), in file order.
pub fn bindings() -> Vec<(
    String,
    String,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    let b =
        |h: &str, r: &str, rel, begin, limit| (h.to_string(), r.to_string(), rel, begin, "", limit);
    let mut v = vec![
        b("YT-H1", "YT-R1", "30", "2024-03-01", ""),
        b("YT-H1", "YT-R2", "10", "2024-03-01", "30.00"),
        b("ZB-H1", "ZB-R1", "10", "2022-05-01", ""),
        b("ZB-H2", "ZB-R2", "20", "2023-01-01", ""),
        // The later binding is in the file first: the order of payment must follow the
        // binding dates (R-N2, Jinan's holder_order = by_binding_date), not the file.
        b("JN-H1", "JN-R1", "20", "2024-06-01", ""),
        b("JN-H2", "JN-R1", "20", "2024-01-05", ""),
        b("TY-H1", "TY-R1", "30", "2023-01-01", ""),
        b("TY-H2", "TY-R2", "10", "2023-01-01", "20.00"),
        b("YC-H1", "YC-R1", "10", "2023-10-01", ""),
        // A younger brother (73): near relatives are in scope in Shandong from 2024 (R-N1).
        b("QD-H1", "QD-R1", "73", "2024-02-01", ""),
    ];
    for i in 0..CONCURRENT_RELATIVES {
        let rel = if i % 2 == 0 { "20" } else { "30" };
        v.push(b("TY-HC", &concurrent_relative(i), rel, "2023-06-01", ""));
    }
    v
}

fn write_file(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
}

fn persons_csv(people: &[P], status: impl Fn(&P) -> &'static str) -> String {
    let mut s = String::from(
        "psn_no,certno,psn_name,gend,brdy,insutype,psn_type,admdvs,psn_insu_stas,cvlserv_flag,public_medical,emp_name,phone\n",
    );
    for x in people {
        let brdy = format!("{}-{}-{}", &x.birth[..4], &x.birth[4..6], &x.birth[6..]);
        let psn_type = if x.insutype == "310" { "11" } else { "15" };
        let emp = if x.insutype == "310" {
            "某某有限公司"
        } else {
            ""
        };
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},0,0,{},\n",
            x.psn_no,
            x.certno(),
            x.name,
            x.gend(),
            brdy,
            x.insutype,
            psn_type,
            x.admdvs,
            status(x),
            emp
        ));
    }
    s
}

fn write_registry(dir: &Path) {
    std::fs::create_dir_all(dir).expect("registry dir");
    let people = population();
    write_file(dir, "persons.csv", &persons_csv(&people, |_| "1"));
    let mut accounts = String::from("psn_no,balance\n");
    for x in &people {
        if let Some(b) = x.balance {
            accounts.push_str(&format!("{},{b}\n", x.psn_no));
        }
    }
    write_file(dir, "accounts.csv", &accounts);
    let mut insts = String::from(
        "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,lat,lon,mutual_aid,paasid,token\n",
    );
    for i in INSTITUTIONS {
        insts.push_str(&format!(
            "{},{},{},{},{},36.500000,117.500000,{},{},{}\n",
            i.code,
            i.name,
            i.kind,
            i.level,
            i.admdvs,
            u8::from(i.mutual_aid),
            i.paasid(),
            i.token()
        ));
    }
    write_file(dir, "institutions.csv", &insts);
    write_file(
        dir,
        "catalog.csv",
        &format!(
            "med_list_codg,med_list_name,chrgitm_lv,pric_uplmt_amt,selfpay_prop\n\
             {ITEM_A},阿莫西林胶囊,01,,0\n\
             {ITEM_A_CAPPED},一次性输液器,01,8.00,0\n\
             {ITEM_B},头孢克肟片,02,,0.10\n\
             {ITEM_C},维生素保健品,03,,0\n"
        ),
    );
    let mut b = String::from(
        "holder_psn_no,relative_psn_no,relationship,begin_date,end_date,limit_per_payment\n",
    );
    for (h, r, rel, begin, end, limit) in bindings() {
        b.push_str(&format!("{h},{r},{rel},{begin},{end},{limit}\n"));
    }
    write_file(dir, "bindings.csv", &b);
}

// ---------------------------------------------------------------------------------------------
// The environment: a temporary database with the population imported
// ---------------------------------------------------------------------------------------------

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

fn run_gongji(args: &[&str]) -> std::process::Output {
    testkit::process::run(GONGJI, args)
}

fn must_succeed(args: &[&str]) {
    testkit::process::must_succeed(GONGJI, args);
}

impl Env {
    /// The population imported into a fresh database. ZB-H2 is then re-registered as paused
    /// (减员, psn_insu_stas 2) after his binding was made, as a later registry file would.
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("gongji.db");
        let first = dir.path().join("registry");
        write_registry(&first);
        must_succeed(&[
            "import",
            "--db",
            db.to_str().expect("utf-8 path"),
            first.to_str().expect("utf-8 path"),
        ]);
        let second = dir.path().join("registry-update");
        std::fs::create_dir_all(&second).expect("dir");
        let paused: Vec<P> = vec![person("ZB-H2")];
        write_file(&second, "persons.csv", &persons_csv(&paused, |_| "2"));
        must_succeed(&[
            "import",
            "--db",
            db.to_str().expect("utf-8 path"),
            second.to_str().expect("utf-8 path"),
        ]);
        Env { dir, db }
    }

    /// `gongji serve` (production) on this database, its config giving `/metrics` a token
    /// ([`METRICS_TOKEN`], read by [`Server::metrics`]).
    pub fn serve(&self, now: &str) -> Server {
        let config = self.dir.path().join("gongji.toml");
        write_file(self.dir.path(), "metrics-token", METRICS_TOKEN);
        write_file(
            self.dir.path(),
            "gongji.toml",
            "[metrics]\ntoken_file = \"metrics-token\"\n",
        );
        Server::start_on(
            &[
                "--config",
                config.to_str().expect("utf-8 path"),
                "--db",
                self.db.to_str().expect("utf-8 path"),
            ],
            now,
        )
    }

    /// `gongji verify --db` must pass.
    pub fn verify(&self) {
        must_succeed(&["verify", "--db", self.db.to_str().expect("utf-8 path")]);
    }

    /// A read-only connection (works while the server runs: the database is in WAL mode).
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(&self.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database read-only")
    }

    /// Row counts of every table a request could write to.
    pub fn counts(&self) -> BTreeMap<&'static str, i64> {
        let c = self.sql();
        [
            "journal",
            "postings",
            "settlements",
            "messages",
            "visits",
            "fee_details",
            "pool_usage",
            "binding_usage",
            "usage_log",
            "accounts",
            "audit_log",
        ]
        .into_iter()
        .map(|t| {
            let n: i64 = c
                .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("count {t}: {e}"));
            (t, n)
        })
        .collect()
    }

    /// Every stored personal-account balance, by account key, in fen.
    pub fn balances(&self) -> BTreeMap<String, i64> {
        let c = self.sql();
        let mut s = c
            .prepare("SELECT account_key, balance_fen FROM accounts ORDER BY account_key")
            .expect("prepare");
        let rows = s
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .expect("query");
        rows.map(|r| r.expect("row")).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// The `/metrics` token of the servers [`Env::serve`] starts.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

pub struct Server {
    child: Option<Child>,
    pub base: String,
    /// How `gongji serve` is told its database: `--db FILE` or `--database URL`.
    target: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
    drains: Vec<std::thread::JoinHandle<()>>,
    client: reqwest::blocking::Client,
}

/// Collects a pipe's lines (stdout carries the server's logs) until it closes.
fn drain(
    r: impl Read + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut l) = log.lock() {
                l.push(line);
            }
        }
    })
}

impl Server {
    pub fn start(db: &Path, now: &str) -> Server {
        Server::start_on(&["--db", db.to_str().expect("utf-8 path")], now)
    }

    /// `gongji serve` on the database `target` names (`["--database", url]` for PostgreSQL).
    pub fn start_on(target: &[&str], now: &str) -> Server {
        let mut args = vec!["serve"];
        args.extend_from_slice(target);
        args.extend_from_slice(&["--addr", "127.0.0.1:0", "--now", now]);
        let mut server = Server::launch(&args);
        server.target = target.iter().map(|t| t.to_string()).collect();
        server
    }

    /// `gongji ARGS` (`serve ...` or `demo ...` on a loopback address), once it listens;
    /// `base` is `http://ADDR` or `https://ADDR` as it says. Everything it printed before and
    /// after is in [`Server::log`].
    pub fn launch(args: &[&str]) -> Server {
        Server::launch_with(args, &[])
    }

    /// [`Server::launch`] with more environment variables (a crash test's fault point).
    pub fn launch_with(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut child = Command::new(GONGJI)
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "warn")
            .env_remove("GONGJI_DATABASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn gongji {args:?}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut drains = vec![drain(child.stderr.take().expect("stderr"), log.clone())];
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut base = None;
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            let seen = std::mem::take(&mut line);
            if let Ok(mut l) = log.lock() {
                l.push(seen.trim_end().to_string());
            }
            if let Some(rest) = seen.split("listening on ").nth(1) {
                base = rest.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        let Some(base) = base else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "gongji {args:?} did not start; output: {:?}",
                log.lock().map(|l| l.clone()).unwrap_or_default()
            );
        };
        drains.push(drain(stdout, log.clone()));
        let client = reqwest::blocking::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Server {
            child: Some(child),
            base,
            target: Vec::new(),
            log,
            drains,
            client,
        }
    }

    /// `host:port` the server listens on.
    pub fn addr(&self) -> &str {
        self.base.split("://").nth(1).unwrap_or(self.base.as_str())
    }

    /// Ctrl-C (SIGINT) and wait for the graceful shutdown (killed if it takes too long);
    /// returns everything the server wrote to stdout and stderr (its logs).
    pub fn stop(mut self) -> Vec<String> {
        self.shutdown();
        self.log()
    }

    fn shutdown(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    for d in self.drains.drain(..) {
                        let _ = d.join();
                    }
                    assert!(
                        status.success(),
                        "gongji serve exited with {status}; log: {:?}",
                        self.log()
                    );
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("gongji serve did not stop on SIGINT within 10 s");
                }
            }
        }
    }

    /// Waits up to `wait` for the process to end by itself (a crash test's abort); its exit
    /// status, or `None` if it still runs.
    pub fn ended(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            let child = self.child.as_mut()?;
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }

    /// The same database served again from another pinned time.
    pub fn restart(mut self, now: &str) -> Server {
        self.shutdown();
        let target: Vec<&str> = self.target.iter().map(String::as_str).collect();
        Server::start_on(&target, now)
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status().as_u16();
        (status, r.text().expect("body"))
    }

    /// `GET /metrics` with the token of [`Env::serve`]'s config.
    pub fn metrics(&self) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
        let status = r.status().as_u16();
        (status, r.text().expect("body"))
    }

    /// POSTs raw bytes with the given headers.
    pub fn post(&self, path: &str, headers: &[(String, String)], body: Vec<u8>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let r = req.send().unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = r.bytes().expect("body").to_vec();
        Answer {
            status,
            content_type,
            bytes,
        }
    }

    /// A signed call with a fresh msgid, at the window (opter_type 1), the person insured
    /// where the institution is.
    pub fn call(&self, inst: &Inst, infno: &str, input: Value) -> Answer {
        self.send(&Call::new(inst, infno, input))
    }

    pub fn send(&self, call: &Call) -> Answer {
        let path = match &call.path_infno {
            Some(i) => format!("{API}/{i}"),
            None => API.to_string(),
        };
        self.post(&path, &signed_headers(call.inst), call.body().into_bytes())
    }

    // ---- the transactions, as a HIS would call them ----

    /// 1101 by ID card: (psn_no, balc in fen, psn_insu_stas).
    pub fn person_info(&self, inst: &Inst, certno: &str) -> (String, i64, String) {
        let out = self.call(inst, "1101", person_query("02", certno)).ok();
        let base = out.get("baseinfo");
        let insu = &out.get("insuinfo").arr()[0];
        (
            base.get("psn_no").s().to_string(),
            insu.get("balc").fen(),
            insu.get("psn_insu_stas").s().to_string(),
        )
    }

    /// The person's own balance in fen, read through 1101.
    pub fn balance(&self, inst: &Inst, who: &P) -> i64 {
        let (psn_no, balc, _) = self.person_info(inst, &who.certno());
        assert_eq!(psn_no, who.psn_no);
        balc
    }

    /// 2201 → mdtrt_id.
    pub fn register(&self, inst: &Inst, who: &P) -> String {
        let out = self
            .send(&Call::new(inst, "2201", registration(who)).insured_in(who.admdvs))
            .ok();
        let data = out.get("data");
        assert_eq!(data.get("psn_no").s(), who.psn_no);
        assert_eq!(data.get("ipt_otp_no").s(), format!("MZ-{}", who.psn_no));
        data.get("mdtrt_id").s().to_string()
    }

    /// 2201, 2203 (med_type), 2204 (lines, one batch), 2207: the settlement's `setlinfo`
    /// (checked) and the whole output.
    pub fn outpatient(
        &self,
        inst: &Inst,
        who: &P,
        med_type: &str,
        lines: &[Line],
        acct_used_flag: &str,
    ) -> (Setl, J) {
        self.outpatient_with(inst, who, &who.certno(), med_type, lines, acct_used_flag)
    }

    /// [`Server::outpatient`], settling (2207) with the certificate `cert_no` (a holder's,
    /// where the region's policy lets it authorise mutual aid).
    pub fn outpatient_with(
        &self,
        inst: &Inst,
        who: &P,
        cert_no: &str,
        med_type: &str,
        lines: &[Line],
        acct_used_flag: &str,
    ) -> (Setl, J) {
        let mdtrt_id = self.register(inst, who);
        self.send(
            &Call::new(inst, "2203", visit_info(&mdtrt_id, who, med_type)).insured_in(who.admdvs),
        )
        .ok();
        self.send(
            &Call::new(inst, "2204", fee_upload(&mdtrt_id, who, "0001", lines))
                .insured_in(who.admdvs),
        )
        .ok();
        let total = total_of(lines);
        let input = settle_input(
            who,
            "02",
            cert_no,
            med_type,
            &total,
            &mdtrt_id,
            acct_used_flag,
        );
        let out = self
            .send(&Call::new(inst, "2207", input).insured_in(who.admdvs))
            .ok();
        (Setl::of_settlement(&out), out)
    }

    /// 2208 (hospital) or 2103 (pharmacy) of a settlement: the checked answer (the
    /// original's amounts reversed, every fen accounted for) and the whole output.
    pub fn cancel(&self, inst: &Inst, who: &P, original: &Setl) -> (Setl, J) {
        let infno = if inst.kind == "2" { "2103" } else { "2208" };
        let setl_id = original.setl_id.as_deref().expect("a settlement's setl_id");
        let out = self
            .send(
                &Call::new(inst, infno, cancel_input(setl_id, &original.mdtrt_id, who))
                    .insured_in(who.admdvs),
            )
            .ok();
        (Setl::of_cancel(&out, original), out)
    }

    /// 2102 with a certificate (the patient's or a holder's): the checked `setlinfo` and
    /// the whole output.
    pub fn buy(
        &self,
        inst: &Inst,
        who: &P,
        cert_no: &str,
        acct_used_flag: &str,
        lines: &[Line],
    ) -> (Setl, J) {
        let out = self
            .send(
                &Call::new(
                    inst,
                    "2102",
                    drug_input(who, cert_no, acct_used_flag, lines, true),
                )
                .insured_in(who.admdvs),
            )
            .ok();
        (Setl::of_settlement(&out), out)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn next_sequence() -> u64 {
    testkit::sequence::next()
}

pub fn unix_now() -> i64 {
    testkit::sequence::unix_now()
}

/// A msgid: 12-character institution code + yyyyMMddHHmmss + 4-digit sequence, unique per
/// request of this test process.
pub fn new_msgid(inst: &Inst) -> String {
    client::msgid(
        inst.code,
        chrono::Local::now().naive_local(),
        next_sequence(),
    )
}

pub fn new_nonce() -> String {
    testkit::sequence::nonce()
}

/// The four `x-tif-*` headers for `inst`, signed now with a fresh nonce.
pub fn signed_headers(inst: &Inst) -> Vec<(String, String)> {
    gateway_headers(&inst.paasid(), &inst.token(), unix_now(), &new_nonce())
}

pub fn gateway_headers(
    paasid: &str,
    token: &str,
    timestamp: i64,
    nonce: &str,
) -> Vec<(String, String)> {
    client::signed_headers(paasid, token, timestamp, nonce)
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// One request to send.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    pub inst: &'a Inst,
    pub infno: String,
    pub msgid: String,
    pub opter_type: String,
    pub insuplc_admdvs: String,
    pub input: Value,
    pub path_infno: Option<String>,
}

impl<'a> Call<'a> {
    pub fn new(inst: &'a Inst, infno: &str, input: Value) -> Call<'a> {
        Call {
            inst,
            infno: infno.to_string(),
            msgid: new_msgid(inst),
            opter_type: "1".into(),
            insuplc_admdvs: inst.admdvs.to_string(),
            input,
            path_infno: None,
        }
    }

    pub fn insured_in(mut self, admdvs: &str) -> Call<'a> {
        self.insuplc_admdvs = admdvs.to_string();
        self
    }

    pub fn opter_type(mut self, t: &str) -> Call<'a> {
        self.opter_type = t.to_string();
        self
    }

    pub fn msgid(mut self, m: &str) -> Call<'a> {
        self.msgid = m.to_string();
        self
    }

    pub fn at_path(mut self, infno: &str) -> Call<'a> {
        self.path_infno = Some(infno.to_string());
        self
    }

    /// The envelope as the institution client writes it, with this call's `input` (whose
    /// [`num`] markers [`render`] turns into exact numbers).
    pub fn envelope(&self) -> Value {
        let body = client::Sender::new(self.inst.code, self.inst.name, self.inst.admdvs)
            .system("GJTEST")
            .operator(self.opter_type.as_str(), "0001", "收费员甲")
            .body(
                &self.infno,
                &self.msgid,
                &self.insuplc_admdvs,
                chrono::Local::now().naive_local(),
                &json!({}),
            )
            .expect("an envelope");
        let mut envelope: Value = serde_json::from_str(&body).expect("the client's JSON");
        envelope["input"] = self.input.clone();
        envelope
    }

    pub fn body(&self) -> String {
        render(&self.envelope())
    }
}

/// A JSON number written exactly as `text` (amounts are never built from `f64`).
pub fn num(text: &str) -> Value {
    assert!(
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-'),
        "not a plain decimal: {text:?}"
    );
    Value::String(format!("\u{1}NUM{text}"))
}

/// Serializes a request, turning [`num`] markers into bare JSON numbers.
pub fn render(v: &Value) -> String {
    let text = serde_json::to_string(v).expect("serialize");
    let marker = "\"\\u0001NUM";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i]);
        let after = &rest[i + marker.len()..];
        let end = after.find('"').expect("closing quote");
        out.push_str(&after[..end]);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A fee line: catalog code, unit price, count and amount, as text.
#[derive(Clone, Debug)]
pub struct Line {
    pub sn: String,
    pub code: &'static str,
    pub price: &'static str,
    pub cnt: &'static str,
    pub amount: &'static str,
}

pub fn line(
    sn: &str,
    code: &'static str,
    price: &'static str,
    cnt: &'static str,
    amount: &'static str,
) -> Line {
    Line {
        sn: sn.to_string(),
        code,
        price,
        cnt,
        amount,
    }
}

/// One line of `amount` yuan, count 1.
pub fn one(code: &'static str, amount: &'static str) -> Vec<Line> {
    vec![line("1", code, amount, "1", amount)]
}

/// The sum of the lines' amounts, as yuan text.
pub fn total_of(lines: &[Line]) -> String {
    yuan_text(lines.iter().map(|l| fen(l.amount)).sum())
}

fn line_json(l: &Line) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("feedetl_sn".into(), json!(l.sn));
    m.insert("rxno".into(), json!(""));
    m.insert("rx_circ_flag".into(), json!("0"));
    m.insert("fee_ocur_time".into(), json!(NOW));
    m.insert("med_list_codg".into(), json!(l.code));
    m.insert("medins_list_codg".into(), json!(format!("H-{}", l.code)));
    m.insert("det_item_fee_sumamt".into(), num(l.amount));
    m.insert("cnt".into(), num(l.cnt));
    m.insert("pric".into(), num(l.price));
    m.insert("bilg_dept_codg".into(), json!("A03"));
    m.insert("bilg_dept_name".into(), json!("内科"));
    m.insert("bilg_dr_codg".into(), json!("D001"));
    m.insert("bilg_dr_name".into(), json!("医生乙"));
    m.insert("hosp_appr_flag".into(), json!("1"));
    m
}

pub fn sign_in() -> Value {
    json!({"signIn": {"opter_no": "0001", "mac": "00-16-3E-00-00-01", "ip": "127.0.0.1"}})
}

pub fn person_query(cert_type: &str, cert_no: &str) -> Value {
    json!({"data": {
        "mdtrt_cert_type": cert_type,
        "mdtrt_cert_no": cert_no,
        "card_sn": "",
        "begntime": NOW,
        "psn_cert_type": "01",
        "certno": cert_no,
        "psn_name": ""
    }})
}

pub fn registration(who: &P) -> Value {
    json!({"data": {
        "psn_no": who.psn_no,
        "insutype": who.insutype,
        "begntime": NOW,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who.certno(),
        "ipt_otp_no": format!("MZ-{}", who.psn_no),
        "atddr_no": "D001",
        "dr_name": "医生乙",
        "dept_code": "A03",
        "dept_name": "内科",
        "caty": "A03"
    }})
}

pub fn registration_cancel(who: &P, mdtrt_id: &str) -> Value {
    json!({"data": {
        "psn_no": who.psn_no,
        "mdtrt_id": mdtrt_id,
        "ipt_otp_no": format!("MZ-{}", who.psn_no)
    }})
}

pub fn visit_info(mdtrt_id: &str, who: &P, med_type: &str) -> Value {
    json!({
        "mdtrtinfo": {
            "mdtrt_id": mdtrt_id,
            "psn_no": who.psn_no,
            "med_type": med_type,
            "begntime": NOW,
            "main_cond_dscr": "咳嗽三天",
            "dise_codg": "J06.900",
            "dise_name": "急性上呼吸道感染"
        },
        "diseinfo": [{
            "diag_type": "1",
            "diag_srt_no": num("1"),
            "diag_code": "J06.900",
            "diag_name": "急性上呼吸道感染",
            "diag_dept": "内科",
            "dise_dor_no": "D001",
            "dise_dor_name": "医生乙",
            "diag_time": NOW,
            "vali_flag": "1"
        }]
    })
}

pub fn fee_upload(mdtrt_id: &str, who: &P, chrg_bchno: &str, lines: &[Line]) -> Value {
    let detail: Vec<Value> = lines
        .iter()
        .map(|l| {
            let mut m = line_json(l);
            m.insert("mdtrt_id".into(), json!(mdtrt_id));
            m.insert("psn_no".into(), json!(who.psn_no));
            m.insert("chrg_bchno".into(), json!(chrg_bchno));
            Value::Object(m)
        })
        .collect();
    json!({ "feedetail": detail })
}

pub fn fee_cancel(mdtrt_id: &str, who: &P, chrg_bchno: &str) -> Value {
    json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno, "psn_no": who.psn_no}})
}

/// 2206 / 2207 input.
pub fn settle_input(
    who: &P,
    cert_type: &str,
    cert_no: &str,
    med_type: &str,
    medfee_sumamt: &str,
    mdtrt_id: &str,
    acct_used_flag: &str,
) -> Value {
    json!({"data": {
        "psn_no": who.psn_no,
        "mdtrt_cert_type": cert_type,
        "mdtrt_cert_no": cert_no,
        "med_type": med_type,
        "medfee_sumamt": num(medfee_sumamt),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "0000",
        "acct_used_flag": acct_used_flag,
        "insutype": who.insutype,
        "invono": "INV-0001",
        "fulamt_ownpay_amt": num("0"),
        "overlmt_selfpay": num("0"),
        "preselfpay_amt": num("0"),
        "inscp_scp_amt": num("0")
    }})
}

/// 2208 / 2103 input.
pub fn cancel_input(setl_id: &str, mdtrt_id: &str, who: &P) -> Value {
    json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": who.psn_no}})
}

/// 2101 / 2102 input (`invono` only with 2102).
pub fn drug_input(
    who: &P,
    cert_no: &str,
    acct_used_flag: &str,
    lines: &[Line],
    settle: bool,
) -> Value {
    let mut info = json!({
        "psn_no": who.psn_no,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": cert_no,
        "begntime": NOW,
        "medfee_sumamt": num(&total_of(lines)),
        "insutype": who.insutype,
        "acct_used_flag": acct_used_flag,
        "med_type": "41"
    });
    if settle {
        info["invono"] = json!("INV-Y-0001");
    }
    let detail: Vec<Value> = lines.iter().map(|l| Value::Object(line_json(l))).collect();
    json!({"druginfo": info, "drugdetail": detail})
}

#[allow(clippy::too_many_arguments)]
pub fn reconcile_input(
    insutype: &str,
    clr_type: &str,
    setl_optins: &str,
    medfee: &str,
    fund: &str,
    acct: &str,
    count: &str,
    refd_setl_flag: &str,
) -> Value {
    json!({"data": {
        "insutype": insutype,
        "clr_type": clr_type,
        "setl_optins": setl_optins,
        "stmt_begndate": TODAY,
        "stmt_enddate": TODAY,
        "medfee_sumamt": num(medfee),
        "fund_pay_sumamt": num(fund),
        "acct_pay": num(acct),
        "fixmedins_setl_cnt": num(count),
        "refd_setl_flag": refd_setl_flag
    }})
}

// ---------------------------------------------------------------------------------------------
// Answers, read exactly
// ---------------------------------------------------------------------------------------------

/// A JSON tree whose numbers stay the text they were sent as.
#[derive(Clone, Debug, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(BTreeMap<String, J>),
}

impl J {
    pub fn parse(text: &str) -> J {
        let raw: Box<RawValue> =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        J::from_raw(&raw)
    }

    fn from_raw(raw: &RawValue) -> J {
        let t = raw.get().trim();
        match t.as_bytes().first() {
            Some(b'{') => {
                let m: BTreeMap<String, Box<RawValue>> = serde_json::from_str(t).expect("object");
                J::Obj(m.into_iter().map(|(k, v)| (k, J::from_raw(&v))).collect())
            }
            Some(b'[') => {
                let a: Vec<Box<RawValue>> = serde_json::from_str(t).expect("array");
                J::Arr(a.iter().map(|v| J::from_raw(v)).collect())
            }
            Some(b'"') => J::Str(serde_json::from_str(t).expect("string")),
            Some(b't') => J::Bool(true),
            Some(b'f') => J::Bool(false),
            Some(b'n') => J::Null,
            _ => J::Num(t.to_string()),
        }
    }

    pub fn opt(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(m) => m.get(key),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> &J {
        self.opt(key)
            .unwrap_or_else(|| panic!("no field {key:?} in {self:?}"))
    }

    pub fn has(&self, key: &str) -> bool {
        self.opt(key).is_some()
    }

    pub fn s(&self) -> &str {
        match self {
            J::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    pub fn num_text(&self) -> &str {
        match self {
            J::Num(n) => n,
            other => panic!("not a JSON number: {other:?}"),
        }
    }

    /// An amount in fen; it must be a JSON number with at most 2 decimals.
    pub fn fen(&self) -> i64 {
        fen(self.num_text())
    }

    pub fn arr(&self) -> &[J] {
        match self {
            J::Arr(a) => a,
            other => panic!("not an array: {other:?}"),
        }
    }

    pub fn is_empty_object(&self) -> bool {
        matches!(self, J::Obj(m) if m.is_empty())
    }
}

/// Yuan text ("-286.20", "0.5", "12") to fen, exactly; panics on anything else.
pub fn fen(text: &str) -> i64 {
    testkit::money::fen(text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn yuan_text(fen: i64) -> String {
    testkit::money::yuan(fen)
}

/// One HTTP answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).expect("UTF-8 answer")
    }

    pub fn json(&self) -> J {
        J::parse(&self.text())
    }

    /// The national response envelope, checked for shape (HTTP 200, JSON, infcode a number,
    /// inf_refmsgid and times in their formats).
    pub fn envelope(&self) -> J {
        assert_eq!(self.status, 200, "HTTP status; body: {}", self.text());
        assert!(
            self.content_type.starts_with("application/json"),
            "content-type {:?}",
            self.content_type
        );
        let j = self.json();
        let code = j.get("infcode").num_text();
        assert!(code == "0" || code == "-1", "infcode {code}");
        let refid = j.get("inf_refmsgid").s();
        assert!(all_digits(refid, 30), "inf_refmsgid {refid:?}");
        assert!(all_digits(j.get("refmsg_time").s(), 17));
        assert!(all_digits(j.get("respond_time").s(), 17));
        j.get("err_msg").s();
        j.get("output");
        j
    }

    /// A success: infcode 0, err_msg "", and the output.
    pub fn ok(&self) -> J {
        let j = self.envelope();
        assert_eq!(
            j.get("infcode").num_text(),
            "0",
            "expected success, got {}",
            self.text()
        );
        assert_eq!(j.get("err_msg").s(), "");
        j.get("output").clone()
    }

    /// A refusal: HTTP 200, infcode -1, err_msg `CODE: 中文说明`, output {}. Returns the code.
    pub fn refused(&self) -> String {
        let j = self.envelope();
        assert_eq!(
            j.get("infcode").num_text(),
            "-1",
            "expected a refusal, got {}",
            self.text()
        );
        assert!(j.get("output").is_empty_object(), "output of a refusal");
        let msg = j.get("err_msg").s();
        let (code, zh) = msg
            .split_once(": ")
            .unwrap_or_else(|| panic!("err_msg not `CODE: 说明`: {msg:?}"));
        assert!(
            code.starts_with("GJ-")
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
            "err_msg code {code:?}"
        );
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "err_msg explains in Chinese: {msg:?}"
        );
        code.to_string()
    }

    /// An HTTP 401 with `{"code":401,"message":"GJ-AUTH-...: ..."}`; returns the message.
    pub fn unauthorized(&self) -> String {
        assert_eq!(self.status, 401, "expected 401, got: {}", self.text());
        assert!(
            self.content_type.starts_with("application/json"),
            "content-type {:?}",
            self.content_type
        );
        let j = self.json();
        assert_eq!(j.get("code").num_text(), "401");
        let m = j.get("message").s().to_string();
        assert!(m.starts_with("GJ-AUTH-"), "message {m:?}");
        m
    }
}

/// The money of one `setlinfo`, in fen, with the interface's identities checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setl {
    pub setl_id: Option<String>,
    pub mdtrt_id: String,
    pub medfee: i64,
    pub fulamt_ownpay: i64,
    pub overlmt: i64,
    pub preselfpay: i64,
    pub inscp: i64,
    pub act_pay_dedc: i64,
    pub hifp: i64,
    pub oth: i64,
    pub fund: i64,
    pub psn_part: i64,
    pub acct: i64,
    pub cash: i64,
    pub hosp: i64,
    pub mulaid: i64,
    pub balc: i64,
}

/// Every `setlinfo` field the interface names (the cash key varies: see below).
pub const SETLINFO_FIELDS: &[&str] = &[
    "mdtrt_id",
    "psn_no",
    "psn_name",
    "psn_cert_type",
    "certno",
    "gend",
    "naty",
    "brdy",
    "age",
    "insutype",
    "psn_type",
    "cvlserv_flag",
    "setl_time",
    "mdtrt_cert_type",
    "med_type",
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
    "medins_setl_id",
    "clr_optins",
    "clr_way",
    "clr_type",
];

/// The fund_pay_type of personal-account lines in `setldetail`.
pub const FUND_PERSONAL_ACCOUNT: &str = "310200";

impl Setl {
    /// Reads and checks `setlinfo`: every field present, amounts exact, and
    /// `medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt`,
    /// `psn_part_amt = acct_pay + psn_cash_pay`, `acct_mulaid_pay <= acct_pay` (in size, for
    /// a cancel whose amounts are reversed), to the fen.
    pub fn of(info: &J) -> Setl {
        for f in SETLINFO_FIELDS {
            assert!(info.has(f), "setlinfo lacks {f}");
        }
        let cash = match (info.opt("psn_cash_pay"), info.opt("pdn_cash_pay")) {
            (Some(c), None) | (None, Some(c)) => c.fen(),
            _ => panic!("setlinfo must carry exactly one of psn_cash_pay / pdn_cash_pay"),
        };
        let s = Setl {
            setl_id: info.opt("setl_id").map(|v| v.s().to_string()),
            mdtrt_id: info.get("mdtrt_id").s().to_string(),
            medfee: info.get("medfee_sumamt").fen(),
            fulamt_ownpay: info.get("fulamt_ownpay_amt").fen(),
            overlmt: info.get("overlmt_selfpay").fen(),
            preselfpay: info.get("preselfpay_amt").fen(),
            inscp: info.get("inscp_scp_amt").fen(),
            act_pay_dedc: info.get("act_pay_dedc").fen(),
            hifp: info.get("hifp_pay").fen(),
            oth: info.get("oth_pay").fen(),
            fund: info.get("fund_pay_sumamt").fen(),
            psn_part: info.get("psn_part_amt").fen(),
            acct: info.get("acct_pay").fen(),
            cash,
            hosp: info.get("hosp_part_amt").fen(),
            mulaid: info.get("acct_mulaid_pay").fen(),
            balc: info.get("balc").fen(),
        };
        for f in [
            "cvlserv_pay",
            "hifes_pay",
            "hifmi_pay",
            "hifob_pay",
            "maf_pay",
        ] {
            info.get(f).fen();
        }
        assert_eq!(
            s.medfee,
            s.fund + s.psn_part + s.hosp,
            "medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt: {s:?}"
        );
        assert_eq!(
            s.psn_part,
            s.acct + s.cash,
            "psn_part_amt = acct_pay + psn_cash_pay: {s:?}"
        );
        if s.medfee >= 0 {
            assert!(
                0 <= s.mulaid && s.mulaid <= s.acct,
                "0 <= acct_mulaid_pay <= acct_pay: {s:?}"
            );
            assert!(
                s.fund >= 0 && s.acct >= 0 && s.cash >= 0 && s.balc >= 0,
                "{s:?}"
            );
        } else {
            // A cancel answers the amounts reversed.
            assert!(
                s.acct <= s.mulaid && s.mulaid <= 0,
                "|acct_mulaid_pay| <= |acct_pay| in a cancel: {s:?}"
            );
        }
        assert_eq!(
            s.fund,
            s.hifp + s.oth,
            "fund_pay_sumamt = hifp_pay + oth_pay"
        );
        s
    }

    /// `setlinfo` and `setldetail` of a settlement or pre-settlement answer: the detail's
    /// personal-account lines add up to acct_pay and its fund lines to fund_pay_sumamt, and
    /// every line says which rule applied.
    pub fn of_settlement(output: &J) -> Setl {
        let s = Setl::of(output.get("setlinfo"));
        let details = output.get("setldetail").arr();
        let (mut acct, mut fund) = (0, 0);
        for d in details {
            for f in [
                "fund_pay_type",
                "inscp_scp_amt",
                "crt_payb_lmt_amt",
                "fund_payamt",
                "fund_pay_type_name",
                "setl_proc_info",
            ] {
                assert!(d.has(f), "setldetail lacks {f}");
            }
            d.get("inscp_scp_amt").fen();
            d.get("crt_payb_lmt_amt").fen();
            assert!(
                !d.get("setl_proc_info").s().is_empty(),
                "setl_proc_info says which rule applied: {d:?}"
            );
            let amount = d.get("fund_payamt").fen();
            if d.get("fund_pay_type").s() == FUND_PERSONAL_ACCOUNT {
                acct += amount;
            } else {
                fund += amount;
            }
        }
        assert_eq!(
            acct, s.acct,
            "personal-account lines of setldetail = acct_pay"
        );
        assert_eq!(fund, s.fund, "fund lines of setldetail = fund_pay_sumamt");
        s
    }

    /// A cancel's answer: the original's amounts reversed, and its details adding up to
    /// the bill (every fen back where it came from).
    pub fn of_cancel(output: &J, original: &Setl) -> Setl {
        let info = output.get("setlinfo");
        assert!(
            info.has("pdn_cash_pay"),
            "2208/2103 spell the cash pdn_cash_pay"
        );
        let c = Setl::of(info);
        assert_eq!(c.setl_id, original.setl_id);
        assert_eq!(c.medfee, -original.medfee);
        assert_eq!(c.fund, -original.fund);
        assert_eq!(
            c.hifp, -original.hifp,
            "the pooled fund's part reversed as such"
        );
        assert_eq!(
            c.oth, -original.oth,
            "the second reimbursement reversed as such"
        );
        assert_eq!(c.acct, -original.acct);
        assert_eq!(c.cash, -original.cash);
        assert_eq!(c.mulaid, -original.mulaid);
        let back: i64 = output
            .get("setldetail")
            .arr()
            .iter()
            .map(|d| {
                assert!(!d.get("setl_proc_info").s().is_empty());
                d.get("fund_payamt").fen()
            })
            .sum();
        assert_eq!(
            back, original.medfee,
            "the cancel's details return the whole bill"
        );
        c
    }
}

/// The `setl_proc_info` texts of a settlement answer, joined.
pub fn proc_info(output: &J) -> String {
    output
        .get("setldetail")
        .arr()
        .iter()
        .map(|d| d.get("setl_proc_info").s().to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The mutual-aid lines of a settlement answer: (setl_proc_info, amount).
pub fn mutual_aid_lines(output: &J) -> Vec<(String, i64)> {
    output
        .get("setldetail")
        .arr()
        .iter()
        .filter(|d| d.get("fund_pay_type_name").s().contains("共济"))
        .map(|d| {
            (
                d.get("setl_proc_info").s().to_string(),
                d.get("fund_payamt").fen(),
            )
        })
        .collect()
}
