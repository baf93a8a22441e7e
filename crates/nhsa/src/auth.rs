//! Gateway authentication: the `x-tif-*` headers and their SHA-256 signature.
//!
//! `x-tif-signature` = lowercase hex SHA-256 of the UTF-8 string
//! `timestamp + token + nonce + timestamp`, where `token` is the secret issued with the paasid
//! and `timestamp` is the header's text exactly as sent (Unix seconds).
//!
//! [`verify_signature`] checks one request statelessly. Refusing a nonce seen before within
//! the window needs memory across requests: the server keeps a [`NonceCache`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub const HEADER_PAASID: &str = "x-tif-paasid";
pub const HEADER_TIMESTAMP: &str = "x-tif-timestamp";
pub const HEADER_NONCE: &str = "x-tif-nonce";
pub const HEADER_SIGNATURE: &str = "x-tif-signature";

/// The longest nonce accepted, in bytes; bounds what the nonce cache holds per entry.
pub const NONCE_BYTES_MAX: usize = 128;

/// The longest paasid accepted, in bytes.
pub const PAASID_BYTES_MAX: usize = 128;

/// The gateway headers of one request, as the server read them (absent = `None`).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct GatewayHeaders {
    pub paasid: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub signature: Option<String>,
}

impl GatewayHeaders {
    /// Reads the four headers through `get(name)` (names are the lowercase `x-tif-*`).
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> GatewayHeaders {
        let take = |name: &str| get(name).map(str::to_string);
        GatewayHeaders {
            paasid: take(HEADER_PAASID),
            timestamp: take(HEADER_TIMESTAMP),
            nonce: take(HEADER_NONCE),
            signature: take(HEADER_SIGNATURE),
        }
    }
}

/// Why a request fails gateway authentication (HTTP 401).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AuthError {
    MissingHeader {
        name: &'static str,
    },
    /// The paasid or nonce is longer than its limit.
    HeaderTooLong {
        name: &'static str,
        max: usize,
    },
    /// `x-tif-timestamp` is not Unix seconds.
    BadTimestamp,
    /// The timestamp is further from the server's time than the window allows.
    ClockSkew {
        skew_secs: i64,
        window_secs: i64,
    },
    BadSignature,
    /// The nonce was already used within the window (reported by the server's [`NonceCache`]).
    NonceReplayed,
    /// This paasid used more nonces per second than its partition of the [`NonceCache`]
    /// holds; only its own requests are refused.
    NonceRateExceeded {
        per_sec: usize,
    },
    /// The timestamp is from before this server process started serving: what an earlier
    /// process accepted cannot be told apart, so it is refused (re-signing with the current
    /// time succeeds).
    SignedBeforeStart,
    /// The paasid is not one the bureau configured (reported by the server).
    UnknownPaasid,
}

impl AuthError {
    pub const CODES: &'static [&'static str] = &[
        "GJ-AUTH-MISSING-HEADER",
        "GJ-AUTH-HEADER-TOO-LONG",
        "GJ-AUTH-BAD-TIMESTAMP",
        "GJ-AUTH-CLOCK-SKEW",
        "GJ-AUTH-BAD-SIGNATURE",
        "GJ-AUTH-NONCE-REPLAYED",
        "GJ-AUTH-NONCE-RATE",
        "GJ-AUTH-SIGNED-BEFORE-START",
        "GJ-AUTH-UNKNOWN-PAASID",
    ];

    pub const HTTP_STATUS: u16 = 401;

    pub const fn code(&self) -> &'static str {
        match self {
            AuthError::MissingHeader { .. } => "GJ-AUTH-MISSING-HEADER",
            AuthError::HeaderTooLong { .. } => "GJ-AUTH-HEADER-TOO-LONG",
            AuthError::BadTimestamp => "GJ-AUTH-BAD-TIMESTAMP",
            AuthError::ClockSkew { .. } => "GJ-AUTH-CLOCK-SKEW",
            AuthError::BadSignature => "GJ-AUTH-BAD-SIGNATURE",
            AuthError::NonceReplayed => "GJ-AUTH-NONCE-REPLAYED",
            AuthError::NonceRateExceeded { .. } => "GJ-AUTH-NONCE-RATE",
            AuthError::SignedBeforeStart => "GJ-AUTH-SIGNED-BEFORE-START",
            AuthError::UnknownPaasid => "GJ-AUTH-UNKNOWN-PAASID",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            AuthError::MissingHeader { name } => format!("缺少请求头{name}"),
            AuthError::HeaderTooLong { name, max } => format!("请求头{name}超过{max}字节"),
            AuthError::BadTimestamp => format!("请求头{HEADER_TIMESTAMP}应为Unix秒数"),
            AuthError::ClockSkew {
                skew_secs,
                window_secs,
            } => format!("时间戳与服务器时间相差{skew_secs}秒，超过{window_secs}秒"),
            AuthError::BadSignature => "签名错误".to_string(),
            AuthError::NonceReplayed => "随机串已使用过（疑似重放）".to_string(),
            AuthError::NonceRateExceeded { per_sec } => {
                format!("本机构每秒请求超过{per_sec}次，新请求暂被拒绝，请降低频率后重试")
            }
            AuthError::SignedBeforeStart => {
                "时间戳早于服务启动时刻（服务刚重启），请用当前时间重新签名后重试；若反复出现，请校准本机时钟"
                    .to_string()
            }
            AuthError::UnknownPaasid => "未登记的paasid".to_string(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            AuthError::MissingHeader { name } => format!("the header {name} is missing"),
            AuthError::HeaderTooLong { name, max } => {
                format!("the header {name} is longer than {max} bytes")
            }
            AuthError::BadTimestamp => {
                format!("the header {HEADER_TIMESTAMP} must be Unix seconds")
            }
            AuthError::ClockSkew {
                skew_secs,
                window_secs,
            } => format!(
                "the timestamp is {skew_secs} s from the server's time, more than {window_secs} s"
            ),
            AuthError::BadSignature => "the signature is wrong".to_string(),
            AuthError::NonceReplayed => "the nonce was already used (a replay?)".to_string(),
            AuthError::NonceRateExceeded { per_sec } => format!(
                "this institution sent more than {per_sec} requests per second; slow down and retry"
            ),
            AuthError::SignedBeforeStart => "the timestamp is from before the server started (it restarted); sign again with the current time, and check this machine's clock if it recurs".to_string(),
            AuthError::UnknownPaasid => "the paasid is not registered".to_string(),
        }
    }

    /// The HTTP 401 body: `{"code":401,"message":"GJ-AUTH-...: 中文说明"}`.
    pub fn body_json(&self) -> String {
        #[derive(Serialize)]
        struct Body {
            code: u16,
            message: String,
        }
        let body = Body {
            code: AuthError::HTTP_STATUS,
            message: format!("{}: {}", self.code(), self.message_zh()),
        };
        // Serializing a struct of a number and a string cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} / {}",
            self.code(),
            self.message_zh(),
            self.message_en()
        )
    }
}

impl std::error::Error for AuthError {}

/// The signature a client sends: lowercase hex SHA-256 of `timestamp + token + nonce + timestamp`.
pub fn sign(timestamp: &str, token: &str, nonce: &str) -> String {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(token.as_bytes());
    h.update(nonce.as_bytes());
    h.update(timestamp.as_bytes());
    hex::encode(h.finalize())
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Parses `x-tif-timestamp`: ASCII digits only, Unix seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn required<'h>(value: &'h Option<String>, name: &'static str) -> Result<&'h str, AuthError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(AuthError::MissingHeader { name }),
    }
}

/// Checks the headers' presence, the timestamp's distance from `now_unix` (at most
/// `window_secs` either way) and the signature under `token`. The signature's hex may be sent
/// in either case. Does not check the nonce against earlier requests: see [`NonceCache`].
pub fn verify_signature(
    headers: &GatewayHeaders,
    token: &str,
    now_unix: i64,
    window_secs: i64,
) -> Result<(), AuthError> {
    let paasid = required(&headers.paasid, HEADER_PAASID)?;
    let timestamp = required(&headers.timestamp, HEADER_TIMESTAMP)?;
    let nonce = required(&headers.nonce, HEADER_NONCE)?;
    let signature = required(&headers.signature, HEADER_SIGNATURE)?;
    for (name, value, max) in [
        (HEADER_PAASID, paasid, PAASID_BYTES_MAX),
        (HEADER_NONCE, nonce, NONCE_BYTES_MAX),
    ] {
        if value.len() > max {
            return Err(AuthError::HeaderTooLong { name, max });
        }
    }
    let ts = parse_timestamp(timestamp).ok_or(AuthError::BadTimestamp)?;
    let window_secs = window_secs.max(0);
    let skew_secs = now_unix.saturating_sub(ts).saturating_abs();
    if skew_secs > window_secs {
        return Err(AuthError::ClockSkew {
            skew_secs,
            window_secs,
        });
    }
    let expected = sign(timestamp, token, nonce);
    let given = signature.to_ascii_lowercase();
    if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        return Err(AuthError::BadSignature);
    }
    Ok(())
}

/// How many seconds of timestamps one bucket of a [`NonceCache`] partition covers. A bucket is
/// dropped whole once its newest second has left the window, so entries outlive the window by
/// less than this.
pub const NONCE_BUCKET_SECS: i64 = 10;

/// The nonces seen within the window, partitioned per paasid and bucketed by timestamp.
///
/// A replay must repeat the headers exactly (a new timestamp or nonce needs a new signature,
/// which needs the token), so an entry is the pair (timestamp, nonce) of one paasid, kept as a
/// 64-bit keyed hash (SipHash with this process's random key: a forged collision is not
/// possible without the key, and a chance one, about n/2⁶⁴ per request, would refuse, never
/// accept). Entries live in buckets of [`NONCE_BUCKET_SECS`] seconds of *timestamp*; a bucket
/// goes as a whole once its newest second is older than the window, so the cache holds what
/// was accepted in the last window (plus under one bucket): it is bounded by the server's own
/// rate × the window, and honest traffic at any rate the server can answer never fills it.
///
/// One institution cannot crowd out another: each paasid has its own partition, and the only
/// limit, `rate_max` nonces per second of timestamp per bucket, is per partition. When an
/// institution exceeds it, only that institution's new nonces are refused
/// ([`AuthError::NonceRateExceeded`]) until its bucket leaves the window; every other
/// institution is served as before. Refusing, not forgetting, because forgetting a live
/// entry would let its replay through.
#[derive(Debug)]
pub struct NonceCache {
    window_secs: i64,
    per_bucket_max: usize,
    key: std::collections::hash_map::RandomState,
    partitions: HashMap<String, Partition>,
    entries: usize,
    /// The bucket index of the last sweep over every partition (idle ones included).
    swept: i64,
}

#[derive(Debug, Default)]
struct Partition {
    /// Ordered by bucket index (timestamp / NONCE_BUCKET_SECS), oldest first.
    buckets: VecDeque<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    index: i64,
    seen: HashSet<u64, BuildHasherDefault<PrehashedU64>>,
}

/// The keys are SipHash outputs already: hashing them again would only cost time.
#[derive(Default)]
struct PrehashedU64(u64);

impl Hasher for PrehashedU64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Partition {
    /// Drops the buckets whose newest second is before `oldest_live`; returns how many entries went.
    fn expire(&mut self, oldest_live: i64) -> usize {
        let mut dropped = 0;
        while let Some(first) = self.buckets.front() {
            let newest = first
                .index
                .saturating_mul(NONCE_BUCKET_SECS)
                .saturating_add(NONCE_BUCKET_SECS - 1);
            if newest >= oldest_live {
                break;
            }
            if let Some(b) = self.buckets.pop_front() {
                dropped += b.seen.len();
            }
        }
        dropped
    }
}

impl NonceCache {
    /// Nonces per second of timestamp one institution may use before its new ones are
    /// refused: five times the rate the whole server answers on the reference machine
    /// (about 20,000 signed requests per second), so one institution alone at the server's
    /// full rate never reaches it.
    pub const RATE_MAX_DEFAULT: usize = 100_000;

    /// `window_secs`: how far a timestamp may be from now; `rate_max`: nonces per second of
    /// timestamp one paasid may use (see [`NonceCache::RATE_MAX_DEFAULT`]).
    pub fn new(window_secs: i64, rate_max: usize) -> NonceCache {
        NonceCache {
            window_secs: window_secs.max(0),
            per_bucket_max: rate_max.saturating_mul(NONCE_BUCKET_SECS as usize),
            key: std::collections::hash_map::RandomState::new(),
            partitions: HashMap::new(),
            entries: 0,
            swept: i64::MIN,
        }
    }

    /// Records the nonce, or says why not: the timestamp is outside the window
    /// ([`AuthError::ClockSkew`]), the same (timestamp, nonce) was used within the window by
    /// this paasid ([`AuthError::NonceReplayed`]), or this paasid used more than its rate in
    /// that bucket ([`AuthError::NonceRateExceeded`]).
    pub fn check_and_insert(
        &mut self,
        paasid: &str,
        nonce: &str,
        timestamp: i64,
        now: i64,
    ) -> Result<(), AuthError> {
        let skew_secs = now.saturating_sub(timestamp).saturating_abs();
        if skew_secs > self.window_secs {
            return Err(AuthError::ClockSkew {
                skew_secs,
                window_secs: self.window_secs,
            });
        }
        let oldest_live = now.saturating_sub(self.window_secs);
        self.sweep_idle(now, oldest_live);
        let fingerprint = self.key.hash_one((timestamp, nonce));
        let index = timestamp.div_euclid(NONCE_BUCKET_SECS);
        if !self.partitions.contains_key(paasid) {
            self.partitions
                .insert(paasid.to_string(), Partition::default());
        }
        let Some(partition) = self.partitions.get_mut(paasid) else {
            return Err(AuthError::NonceReplayed);
        };
        self.entries -= partition.expire(oldest_live);
        let at = match partition.buckets.binary_search_by_key(&index, |b| b.index) {
            Ok(at) => at,
            Err(at) => {
                partition.buckets.insert(
                    at,
                    Bucket {
                        index,
                        seen: HashSet::default(),
                    },
                );
                at
            }
        };
        let Some(bucket) = partition.buckets.get_mut(at) else {
            return Err(AuthError::NonceReplayed);
        };
        if bucket.seen.contains(&fingerprint) {
            return Err(AuthError::NonceReplayed);
        }
        if bucket.seen.len() >= self.per_bucket_max {
            return Err(AuthError::NonceRateExceeded {
                per_sec: self.per_bucket_max / NONCE_BUCKET_SECS as usize,
            });
        }
        bucket.seen.insert(fingerprint);
        self.entries += 1;
        Ok(())
    }

    /// Once per bucket of time, drops expired buckets of every partition, so institutions
    /// that stopped calling do not keep theirs, and forgets empty partitions.
    fn sweep_idle(&mut self, now: i64, oldest_live: i64) {
        let index = now.div_euclid(NONCE_BUCKET_SECS);
        if index == self.swept {
            return;
        }
        self.swept = index;
        let mut dropped = 0;
        self.partitions.retain(|_, p| {
            dropped += p.expire(oldest_live);
            !p.buckets.is_empty()
        });
        self.entries -= dropped;
    }

    /// Forgets every entry whose timestamp has left the window at `now`.
    pub fn prune(&mut self, now: i64) {
        self.swept = i64::MIN;
        self.sweep_idle(now, now.saturating_sub(self.window_secs));
    }

    /// Entries held (every partition).
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Institutions with live entries.
    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Nonces per second of timestamp one paasid may use.
    pub fn rate_max(&self) -> usize {
        self.per_bucket_max / NONCE_BUCKET_SECS as usize
    }

    /// The bytes the tables hold, as allocated (capacity, not just length), for the
    /// benchmark's memory figure.
    pub fn approx_bytes(&self) -> usize {
        let per_slot = std::mem::size_of::<u64>() + 1;
        self.partitions
            .iter()
            .map(|(paasid, p)| {
                paasid.capacity()
                    + std::mem::size_of::<(String, Partition)>()
                    + p.buckets.capacity() * std::mem::size_of::<Bucket>()
                    + p.buckets
                        .iter()
                        .map(|b| b.seen.capacity() * per_slot)
                        .sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cr3t-token";
    const NONCE: &str = "n0nce-abc";
    const TS: i64 = 1_700_000_000;
    /// `printf '%s' '1700000000s3cr3t-tokenn0nce-abc1700000000' | sha256sum`
    const KNOWN: &str = "9d9d20032bda851c731ac32ed2739f05a825f0926e53c9b2f9a00c94064cfb0c";

    fn headers(signature: &str) -> GatewayHeaders {
        GatewayHeaders {
            paasid: Some("paas-zibo-001".to_string()),
            timestamp: Some(TS.to_string()),
            nonce: Some(NONCE.to_string()),
            signature: Some(signature.to_string()),
        }
    }

    #[test]
    fn signature_known_answer() {
        assert_eq!(sign(&TS.to_string(), TOKEN, NONCE), KNOWN);
    }

    #[test]
    fn verifies_a_good_signature_within_the_window() {
        assert_eq!(verify_signature(&headers(KNOWN), TOKEN, TS, 300), Ok(()));
        assert_eq!(
            verify_signature(&headers(KNOWN), TOKEN, TS + 300, 300),
            Ok(())
        );
        assert_eq!(
            verify_signature(&headers(KNOWN), TOKEN, TS - 300, 300),
            Ok(())
        );
        let upper = KNOWN.to_ascii_uppercase();
        assert_eq!(verify_signature(&headers(&upper), TOKEN, TS, 300), Ok(()));
    }

    #[test]
    fn refuses_wrong_signature_token_and_time() {
        let mut wrong = KNOWN.to_string();
        wrong.replace_range(63.., "d");
        assert_eq!(
            verify_signature(&headers(&wrong), TOKEN, TS, 300),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_signature(&headers(KNOWN), "other-token", TS, 300),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_signature(&headers(&KNOWN[..63]), TOKEN, TS, 300),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_signature(&headers(KNOWN), TOKEN, TS + 301, 300),
            Err(AuthError::ClockSkew {
                skew_secs: 301,
                window_secs: 300
            })
        );
        let mut h = headers(KNOWN);
        h.timestamp = Some("1700000000000x".to_string());
        assert_eq!(
            verify_signature(&h, TOKEN, TS, 300),
            Err(AuthError::BadTimestamp)
        );
        h.timestamp = Some("-1".to_string());
        assert_eq!(
            verify_signature(&h, TOKEN, TS, 300),
            Err(AuthError::BadTimestamp)
        );
    }

    #[test]
    fn refuses_missing_headers_by_name() {
        let mut h = headers(KNOWN);
        h.nonce = Some(" ".to_string());
        assert_eq!(
            verify_signature(&h, TOKEN, TS, 300),
            Err(AuthError::MissingHeader { name: HEADER_NONCE })
        );
        let h = GatewayHeaders::from_lookup(|name| (name == HEADER_PAASID).then_some("p"));
        assert_eq!(
            verify_signature(&h, TOKEN, TS, 300),
            Err(AuthError::MissingHeader {
                name: HEADER_TIMESTAMP
            })
        );
        let mut h = headers(KNOWN);
        h.nonce = Some("n".repeat(NONCE_BYTES_MAX + 1));
        assert!(matches!(
            verify_signature(&h, TOKEN, TS, 300),
            Err(AuthError::HeaderTooLong { .. })
        ));
    }

    #[test]
    fn auth_error_body_is_the_401_json() {
        let body = AuthError::BadSignature.body_json();
        assert_eq!(
            body,
            r#"{"code":401,"message":"GJ-AUTH-BAD-SIGNATURE: 签名错误"}"#
        );
    }

    #[test]
    fn nonce_cache_refuses_replays_within_the_window() {
        let mut c = NonceCache::new(300, 100);
        assert_eq!(c.check_and_insert("p1", "n1", TS, TS), Ok(()));
        assert_eq!(
            c.check_and_insert("p1", "n1", TS, TS + 10),
            Err(AuthError::NonceReplayed)
        );
        // Another paasid may use the same nonce.
        assert_eq!(c.check_and_insert("p2", "n1", TS, TS + 10), Ok(()));
        // Outside the window the timestamp itself is refused.
        assert!(matches!(
            c.check_and_insert("p1", "n9", TS - 301, TS),
            Err(AuthError::ClockSkew { .. })
        ));
        assert_eq!(c.len(), 2);
        assert_eq!(c.partitions(), 2);
    }

    #[test]
    fn nonce_cache_forgets_entries_once_their_timestamp_left_the_window() {
        let mut c = NonceCache::new(300, 100);
        assert_eq!(c.check_and_insert("p1", "n1", TS, TS), Ok(()));
        assert_eq!(c.check_and_insert("p1", "n2", TS + 200, TS + 200), Ok(()));
        c.prune(TS + 300);
        assert_eq!(
            c.len(),
            2,
            "an entry exactly at the window's edge is still live"
        );
        c.prune(TS + 300 + NONCE_BUCKET_SECS);
        assert_eq!(c.len(), 1);
        // n1 could only come back with a fresh timestamp, and is then new.
        assert_eq!(c.check_and_insert("p1", "n1", TS + 301, TS + 301), Ok(()));
        assert_eq!(
            c.check_and_insert("p1", "n2", TS + 200, TS + 301),
            Err(AuthError::NonceReplayed)
        );
        // An institution that stops calling leaves nothing behind.
        c.prune(TS + 2_000);
        assert!(c.is_empty());
        assert_eq!(c.partitions(), 0);
    }

    #[test]
    fn a_flooding_institution_is_refused_alone() {
        let rate = 50;
        let mut c = NonceCache::new(300, rate);
        // Institution A sends far more than its rate within one second of timestamps.
        let mut refused_a = 0;
        for i in 0..(rate * NONCE_BUCKET_SECS as usize + 500) {
            match c.check_and_insert("A", &format!("a{i}"), TS, TS) {
                Ok(()) => {}
                Err(AuthError::NonceRateExceeded { per_sec }) => {
                    assert_eq!(per_sec, rate);
                    refused_a += 1;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(refused_a, 500, "A is held to its own partition's size");
        // Institution B, at the same moment, is served in full.
        for i in 0..rate * NONCE_BUCKET_SECS as usize {
            assert_eq!(c.check_and_insert("B", &format!("b{i}"), TS, TS), Ok(()));
        }
        // And A is served again once its full bucket has left the window.
        let later = TS + 300 + NONCE_BUCKET_SECS;
        assert_eq!(c.check_and_insert("A", "a-new", later, later), Ok(()));
    }

    /// The legitimate load of the finding: thousands of signed requests per second for
    /// twice the window (the old cache of 1,000,000 entries refused everyone once more than
    /// about 3,300/s were sustained), here 4,000 per second of a simulated clock over 500
    /// institutions, with clients whose clocks run up to 4 minutes fast or slow, and one
    /// institution alone at that rate. (`gongji bench --modes nonces` runs 20,000/s over
    /// 5,000 institutions for 900 s.)
    #[test]
    fn sustained_full_rate_for_twice_the_window_is_never_refused() {
        const RATE: i64 = 4_000;
        const SECONDS: i64 = 600;
        let mut c = NonceCache::new(300, NonceCache::RATE_MAX_DEFAULT);
        let mut sent = 0_u64;
        for second in 0..SECONDS {
            let now = TS + second;
            for k in 0..RATE {
                let institution = k % 500;
                let skew = (institution % 481) - 240;
                let paasid = format!("paas-{institution}");
                let nonce = format!("{second}-{k}");
                assert_eq!(
                    c.check_and_insert(&paasid, &nonce, now + skew, now),
                    Ok(()),
                    "refused at second {second}"
                );
                sent += 1;
            }
        }
        assert_eq!(sent, (RATE * SECONDS) as u64);
        // What is held is about the rate times the window plus the clients' leads, never
        // everything sent.
        assert!(c.len() < (RATE * (300 + 240 + 2 * NONCE_BUCKET_SECS)) as usize);
        let mut alone = NonceCache::new(300, NonceCache::RATE_MAX_DEFAULT);
        for second in 0..SECONDS {
            let now = TS + second;
            for k in 0..RATE {
                assert_eq!(
                    alone.check_and_insert("one", &format!("{second}-{k}"), now, now),
                    Ok(())
                );
            }
        }
    }
}
