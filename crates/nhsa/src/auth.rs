//! Gateway authentication: the `x-tif-*` headers and their SHA-256 signature.
//!
//! `x-tif-signature` = lowercase hex SHA-256 of the UTF-8 string
//! `timestamp + token + nonce + timestamp`, where `token` is the secret issued with the paasid
//! and `timestamp` is the header's text exactly as sent (Unix seconds).
//!
//! [`verify_signature`] checks one request statelessly. Refusing a nonce seen before within
//! the window needs memory across requests: the server keeps a [`NonceCache`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;

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
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// The nonces seen within the window, per paasid. Bounded: it holds at most `capacity`
/// entries and forgets an entry once its timestamp has left the window (after which
/// [`verify_signature`] refuses that timestamp anyway). When full it refuses new nonces
/// rather than forgetting live ones, because forgetting would let a replay through.
#[derive(Debug)]
pub struct NonceCache {
    window_secs: i64,
    capacity: usize,
    seen: HashMap<(String, String), i64>,
    by_time: BTreeSet<(i64, String, String)>,
}

impl NonceCache {
    pub fn new(window_secs: i64, capacity: usize) -> NonceCache {
        NonceCache {
            window_secs: window_secs.max(0),
            capacity,
            seen: HashMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// `true` if the nonce is new for this paasid and was recorded; `false` to refuse the
    /// request: the nonce was seen within the window, the timestamp is outside the window, or
    /// the cache is full of live entries.
    pub fn check_and_insert(
        &mut self,
        paasid: &str,
        nonce: &str,
        timestamp: i64,
        now: i64,
    ) -> bool {
        if now.saturating_sub(timestamp).saturating_abs() > self.window_secs {
            return false;
        }
        self.prune(now);
        let key = (paasid.to_string(), nonce.to_string());
        if self.seen.contains_key(&key) || self.seen.len() >= self.capacity {
            return false;
        }
        self.by_time
            .insert((timestamp, key.0.clone(), key.1.clone()));
        self.seen.insert(key, timestamp);
        true
    }

    /// Forgets entries whose timestamp is more than the window before `now`.
    pub fn prune(&mut self, now: i64) {
        let oldest_live = now.saturating_sub(self.window_secs);
        while let Some(first) = self.by_time.first() {
            if first.0 >= oldest_live {
                break;
            }
            if let Some((_, paasid, nonce)) = self.by_time.pop_first() {
                self.seen.remove(&(paasid, nonce));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
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
        assert!(c.check_and_insert("p1", "n1", TS, TS));
        assert!(!c.check_and_insert("p1", "n1", TS, TS + 10));
        // Another paasid may use the same nonce.
        assert!(c.check_and_insert("p2", "n1", TS, TS + 10));
        // Outside the window the timestamp itself is refused.
        assert!(!c.check_and_insert("p1", "n9", TS - 301, TS));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn nonce_cache_prunes_old_entries() {
        let mut c = NonceCache::new(300, 100);
        assert!(c.check_and_insert("p1", "n1", TS, TS));
        assert!(c.check_and_insert("p1", "n2", TS + 200, TS + 200));
        c.prune(TS + 300);
        assert_eq!(
            c.len(),
            2,
            "an entry exactly at the window's edge is still live"
        );
        c.prune(TS + 301);
        assert_eq!(c.len(), 1);
        // n1 could only come back with a fresh timestamp, and is then new.
        assert!(c.check_and_insert("p1", "n1", TS + 301, TS + 301));
        assert!(!c.check_and_insert("p1", "n2", TS + 200, TS + 301));
    }

    #[test]
    fn nonce_cache_is_bounded_and_fails_closed() {
        let mut c = NonceCache::new(300, 2);
        assert!(c.check_and_insert("p", "a", TS, TS));
        assert!(c.check_and_insert("p", "b", TS, TS));
        assert!(!c.check_and_insert("p", "c", TS, TS));
        assert_eq!(c.len(), 2);
        // Once the old ones leave the window there is room again.
        assert!(c.check_and_insert("p", "c", TS + 400, TS + 400));
        assert_eq!(c.len(), 1);
        assert_eq!(c.capacity(), 2);
    }
}
