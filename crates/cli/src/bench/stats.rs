//! What a run measured: operations by kind and outcome, latencies, throughput.

use std::sync::Mutex;
use std::time::Duration;

use super::workload::Kind;

/// Operations by what their answers say was done: a settlement counts as mutual aid only
/// when its answer's acct_mulaid_pay is above zero, a cancel or premium only when done.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub own: usize,
    pub mutual_aid: usize,
    pub cancel: usize,
    pub premium: usize,
    /// Operations planned, by kind (own, mutual aid, cancel, premium), whatever came of them.
    pub planned: [usize; 4],
    /// Answered from a stored answer (a msgid seen before).
    pub replayed: usize,
    /// Refused by a rule (a settlement the account cannot pay, a cancel raced by another):
    /// nothing written, answered with its code.
    pub refused: usize,
    /// The refusals by stable code, so a reader sees which rule said no.
    pub refusals: std::collections::BTreeMap<String, usize>,
    /// Not answered properly: storage errors, transport errors, HTTP errors.
    pub failed: usize,
    /// Why the first failure failed.
    pub first_failure: Option<String>,
}

impl Counts {
    pub fn ok(&mut self, kind: Kind) {
        match kind {
            Kind::Own => self.own += 1,
            Kind::MutualAid => self.mutual_aid += 1,
            Kind::Cancel => self.cancel += 1,
            Kind::Premium => self.premium += 1,
        }
    }

    pub fn plan(&mut self, kind: Kind) {
        self.planned[kind as usize] += 1;
    }

    /// A settlement done: mutual aid if its answer drew any, else own account (or cash).
    pub fn settled(&mut self, mutual_aid_drawn: bool) {
        self.ok(if mutual_aid_drawn {
            Kind::MutualAid
        } else {
            Kind::Own
        });
    }

    /// Whether the mix reported is the mix asked for: most relatives' purchases drew mutual
    /// aid, and every kind planned happened at least once. A benchmark whose "mutual aid"
    /// pays none measures something else than it says.
    pub fn check_mix(&self) -> Result<(), String> {
        let [_, mutual, cancels, premiums] = self.planned;
        if mutual > 0 && self.mutual_aid * 2 < mutual {
            return Err(format!(
                "混合负载未兑现 / the mix did not happen: {} of {mutual} mutual-aid purchases drew mutual aid (acct_mulaid_pay > 0)",
                self.mutual_aid
            ));
        }
        for (name, planned, done) in [
            ("cancels", cancels, self.cancel),
            ("premiums", premiums, self.premium),
        ] {
            if planned > 0 && done == 0 {
                return Err(format!(
                    "混合负载未兑现 / the mix did not happen: none of {planned} {name} was done"
                ));
            }
        }
        Ok(())
    }

    pub fn refuse(&mut self, code: &str) {
        self.refused += 1;
        *self.refusals.entry(code.to_string()).or_default() += 1;
    }

    pub fn fail(&mut self, why: impl FnOnce() -> String) {
        self.failed += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some(why());
        }
    }

    pub fn add(&mut self, o: &Counts) {
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&o.first_failure);
        }
        self.own += o.own;
        for (mine, theirs) in self.planned.iter_mut().zip(o.planned) {
            *mine += theirs;
        }
        self.mutual_aid += o.mutual_aid;
        self.cancel += o.cancel;
        self.premium += o.premium;
        self.replayed += o.replayed;
        self.refused += o.refused;
        for (code, n) in &o.refusals {
            *self.refusals.entry(code.clone()).or_default() += n;
        }
        self.failed += o.failed;
    }

    /// Operations that wrote something durable.
    pub fn durable(&self) -> usize {
        self.own + self.mutual_aid + self.cancel + self.premium
    }
}

/// One measured run.
#[derive(Clone, Debug)]
pub struct RunStats {
    /// e.g. `engine`, `http`, `http-open-loop`, `baseline`.
    pub mode: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Concurrent clients (closed loop) or the offered rate (open loop).
    pub clients: usize,
    pub offered_per_sec: Option<f64>,
    pub elapsed: Duration,
    /// Microseconds, sorted.
    pub latencies_us: Vec<u64>,
    pub counts: Counts,
    /// Requests that the open-loop sender could not send on time (it fell behind).
    pub late_sends: usize,
    pub note: String,
}

impl RunStats {
    pub fn new(mode: &str, store: &str, clients: usize) -> RunStats {
        RunStats {
            mode: mode.to_string(),
            store: store.to_string(),
            clients,
            offered_per_sec: None,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            counts: Counts::default(),
            late_sends: 0,
            note: String::new(),
        }
    }

    pub fn finish(&mut self, elapsed: Duration, mut latencies_us: Vec<u64>) {
        latencies_us.sort_unstable();
        self.elapsed = elapsed;
        self.latencies_us = latencies_us;
    }

    /// Operations answered per second (every answer counts, as a client sees it).
    pub fn per_sec(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Durable settlements, cancels and premiums per second.
    pub fn durable_per_sec(&self) -> f64 {
        self.counts.durable() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let sorted = &self.latencies_us;
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        Duration::from_micros(sorted[idx.min(sorted.len() - 1)])
    }

    pub fn title(&self) -> String {
        format!("{} on {}", self.mode, self.store)
    }

    pub fn print(&self, ratio: Option<f64>) {
        let c = &self.counts;
        println!("gongji bench — {}", self.title());
        match self.offered_per_sec {
            Some(rate) => println!(
                "  offered {rate:.0}/s (open loop)  operations {}  elapsed {:.2}s  late sends {}",
                self.latencies_us.len(),
                self.elapsed.as_secs_f64(),
                self.late_sends
            ),
            None => println!(
                "  operations {}  clients {}  elapsed {:.2}s",
                self.latencies_us.len(),
                self.clients,
                self.elapsed.as_secs_f64()
            ),
        }
        println!(
            "  mix, as answered: own-account {}  mutual aid drawn {}  cancels done {}  premiums paid {}  replayed {}  refused {}  failed {}",
            c.own, c.mutual_aid, c.cancel, c.premium, c.replayed, c.refused, c.failed
        );
        let [own, mutual, cancels, premiums] = c.planned;
        println!(
            "  mix, as planned: own-account {own}  mutual aid {mutual}  cancels {cancels}  premiums {premiums}"
        );
        if !c.refusals.is_empty() {
            let by_code: Vec<String> = c
                .refusals
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            println!("  refused by code: {}", by_code.join(", "));
        }
        println!(
            "  throughput {:.0} ops/s ({:.0} durable/s)",
            self.per_sec(),
            self.durable_per_sec()
        );
        println!(
            "  latency p50 {}  p99 {}  p999 {}",
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            ms(self.percentile(0.999))
        );
        if let Some(r) = ratio {
            println!(
                "  ratio to the baseline on {}: {r:.1}x throughput",
                self.store
            );
        }
        if !self.note.is_empty() {
            println!("  note: {}", self.note);
        }
        if let Some(why) = &c.first_failure {
            println!("  first failure: {why}");
        }
    }

    pub fn json(&self, ratio: Option<f64>) -> serde_json::Value {
        let us = |p: f64| self.percentile(p).as_micros() as u64;
        let c = &self.counts;
        serde_json::json!({
            "mode": self.mode,
            "store": self.store,
            "clients": self.clients,
            "offered_per_s": self.offered_per_sec.map(|r| rounded(r, 1)),
            "operations": self.latencies_us.len(),
            "elapsed_s": rounded(self.elapsed.as_secs_f64(), 3),
            "ops_per_s": rounded(self.per_sec(), 1),
            "durable_per_s": rounded(self.durable_per_sec(), 1),
            "p50_us": us(0.50),
            "p99_us": us(0.99),
            "p999_us": us(0.999),
            "max_us": self.latencies_us.last().copied().unwrap_or(0),
            "own_account": c.own,
            "mutual_aid": c.mutual_aid,
            "cancels": c.cancel,
            "premiums": c.premium,
            "planned": {
                "own_account": c.planned[0],
                "mutual_aid": c.planned[1],
                "cancels": c.planned[2],
                "premiums": c.planned[3],
            },
            "replayed": c.replayed,
            "refused": c.refused,
            "refused_by_code": c.refusals,
            "failed": c.failed,
            "late_sends": self.late_sends,
            "ratio_to_baseline": ratio.map(|r| rounded(r, 2)),
            "note": self.note,
        })
    }
}

/// A figure rounded to `decimals` for the report (timings and rates, never money).
pub fn rounded(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// A duration in milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3}ms", d.as_secs_f64() * 1000.0)
}

/// Resident and peak memory of this process (VmRSS, VmHWM from /proc/self/status), bytes.
pub fn memory() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// What the clients of one run add up to: each merges its counts and latencies when it
/// ends (or per request, in the open loop), and the run reads the total once at the end.
pub struct Tally(Mutex<(Counts, Vec<u64>)>);

impl Tally {
    pub fn with_capacity(ops: usize) -> Tally {
        Tally(Mutex::new((Counts::default(), Vec::with_capacity(ops))))
    }

    pub fn add(&self, counts: &Counts, latencies_us: &[u64]) {
        if let Ok(mut t) = self.0.lock() {
            t.0.add(counts);
            t.1.extend_from_slice(latencies_us);
        }
    }

    /// Puts the total into `stats` as the run's figures over `elapsed`.
    pub fn finish(&self, stats: &mut RunStats, elapsed: Duration) {
        let (counts, latencies) = self
            .0
            .lock()
            .map(|mut t| (std::mem::take(&mut t.0), std::mem::take(&mut t.1)))
            .unwrap_or_default();
        stats.counts = counts;
        stats.finish(elapsed, latencies);
    }
}
