//! Numbers no two requests of one test process share (msgid sequences, nonces), and the
//! time the gateway signs with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// The next number of this process, from 1.
pub fn next() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// Unix seconds now (the `x-tif-timestamp` of a request signed now).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A nonce no other request of any test process uses: process id, sequence, nanoseconds.
pub fn nonce() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("n{}-{}-{nanos}", std::process::id(), next())
}
