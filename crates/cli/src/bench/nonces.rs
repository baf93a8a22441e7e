//! `gongji bench --modes nonces`: the gateway check (`gongji_server::gateway`, the code the
//! interface runs) driven in process with a simulated clock, at the server's full rate for
//! longer than the timestamp window, to show that honest traffic never trips the nonce store.
//!
//! Two loads, each for `--nonce-seconds` simulated seconds: `--nonce-rate` requests per
//! second spread over `--nonce-institutions` institutions whose clocks run up to four
//! minutes fast or slow, then the same rate from one institution alone. Every request is
//! signed as a HIS signs it (fresh nonce, its own timestamp); the check verifies the
//! signature and records the nonce. It reports the refusals by code (none is expected), the
//! check's throughput (signing excluded) and the nonce store's memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use gongji_core::codes::{Admdvs, InstitutionKind};
use gongji_nhsa::auth::{sign, GatewayHeaders, NonceCache};
use gongji_server::app::{Gateway, TIMESTAMP_WINDOW_SECS};
use gongji_server::gateway::GatewayCheck;

use super::stats::mib;

/// The sizes of one nonce benchmark.
pub struct NonceBench {
    pub rate: u64,
    pub institutions: usize,
    pub seconds: i64,
}

/// What one load measured.
pub struct NonceFigures {
    pub load: &'static str,
    pub institutions: usize,
    pub requests: u64,
    pub refused_by_code: BTreeMap<&'static str, u64>,
    pub checks_per_sec: f64,
    pub peak_entries: usize,
    pub peak_bytes: usize,
}

impl NonceFigures {
    pub fn replayed(&self) -> u64 {
        self.refused_by_code
            .get(gongji_nhsa::auth::AuthError::NonceReplayed.code())
            .copied()
            .unwrap_or(0)
    }

    pub fn print(&self) {
        let refused: u64 = self.refused_by_code.values().sum();
        println!(
            "nonces ({}, {} institutions): {} requests, GJ-AUTH-NONCE-REPLAYED refusals: {}, all refusals: {refused} {:?}; check {:.0}/s; nonce store peak {} entries, {}",
            self.load,
            self.institutions,
            self.requests,
            self.replayed(),
            self.refused_by_code,
            self.checks_per_sec,
            self.peak_entries,
            mib(self.peak_bytes as u64),
        );
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "load": self.load,
            "institutions": self.institutions,
            "requests": self.requests,
            "nonce_replayed_refusals": self.replayed(),
            "refused_by_code": self.refused_by_code,
            "checks_per_s": self.checks_per_sec,
            "peak_entries": self.peak_entries,
            "peak_bytes": self.peak_bytes,
        })
    }
}

/// Both loads: spread over the institutions, then one institution alone.
pub fn run(bench: &NonceBench) -> Result<Vec<NonceFigures>, String> {
    let admdvs = Admdvs::from_code(140100).ok_or("admdvs 140100")?;
    let institutions = bench.institutions.max(1);
    Ok(vec![
        run_load(bench, admdvs, "spread", institutions, true),
        run_load(bench, admdvs, "one institution", 1, false),
    ])
}

fn paasid(k: usize) -> String {
    format!("paas-bench-{k:05}")
}

fn token(k: usize) -> String {
    format!("tok-bench-{k:05}-s3cret")
}

/// A client's clock error in seconds, fixed per institution: -240 ..= 240.
fn skew(k: usize) -> i64 {
    (k as i64 * 7919).rem_euclid(481) - 240
}

fn run_load(
    bench: &NonceBench,
    admdvs: Admdvs,
    load: &'static str,
    institutions: usize,
    skewed: bool,
) -> NonceFigures {
    let mut gateways = HashMap::new();
    for k in 0..institutions {
        gateways.insert(
            paasid(k),
            Gateway {
                fixmedins_code: format!("P{k:011}"),
                admdvs,
                kind: InstitutionKind::Pharmacy,
                token: token(k),
            },
        );
    }
    let gateways = RwLock::new(gateways);
    let nonces = Mutex::new(NonceCache::new(
        TIMESTAMP_WINDOW_SECS,
        NonceCache::RATE_MAX_DEFAULT,
    ));
    let start = chrono::Utc::now().timestamp();
    let check = GatewayCheck {
        gateways: &gateways,
        nonces: &nonces,
        window_secs: TIMESTAMP_WINDOW_SECS,
        // The simulated clock starts one window after the server did, so clients whose
        // clocks run slow are not refused as signed before the start.
        serving_since_unix: start,
    };
    let mut refused_by_code: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut checking = Duration::ZERO;
    let (mut peak_entries, mut peak_bytes) = (0, 0);
    let mut requests = 0_u64;
    let rate = bench.rate as usize;
    let mut batch: Vec<GatewayHeaders> = Vec::with_capacity(rate);
    let paasids: Vec<String> = (0..institutions).map(paasid).collect();
    let tokens: Vec<String> = (0..institutions).map(token).collect();
    for second in 0..bench.seconds {
        let now = start + TIMESTAMP_WINDOW_SECS + second;
        batch.clear();
        for i in 0..rate {
            let k = i % institutions;
            let ts = if skewed { now + skew(k) } else { now };
            let ts = ts.to_string();
            let nonce = format!("{second:x}-{i:x}");
            batch.push(GatewayHeaders {
                paasid: Some(paasids[k].clone()),
                signature: Some(sign(&ts, &tokens[k], &nonce)),
                timestamp: Some(ts),
                nonce: Some(nonce),
            });
        }
        let started = Instant::now();
        for headers in &batch {
            if let Err(e) = check.authenticate(headers, now) {
                *refused_by_code.entry(e.code()).or_default() += 1;
            }
        }
        checking += started.elapsed();
        requests += batch.len() as u64;
        if let Ok(n) = nonces.lock() {
            if n.len() > peak_entries {
                peak_entries = n.len();
                peak_bytes = n.approx_bytes();
            }
        }
    }
    NonceFigures {
        load,
        institutions,
        requests,
        refused_by_code,
        checks_per_sec: requests as f64 / checking.as_secs_f64().max(1e-9),
        peak_entries,
        peak_bytes,
    }
}
