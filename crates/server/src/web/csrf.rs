//! CSRF tokens for every state-changing form (beside `SameSite=Strict` cookies and the
//! `Origin` check in `session::same_origin`, which some browsers and proxies defeat).
//!
//! A signed-in form carries `csrf` = hex SHA-256 of a fixed label and the session token. The
//! session token is secret (an `HttpOnly` cookie another site can neither read nor set), so
//! another site cannot compute the value; being derived, it needs no storage and holds across
//! server processes that share the session table. Forms shown before any session (sign-in)
//! use the double-submit pattern: a random `gongji_csrf` cookie and the same value in the
//! form.

use axum::http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::session::cookie;

/// The form field every state-changing form carries.
pub const FIELD: &str = "csrf";
/// The pre-session cookie of the double-submit pattern.
pub const PRE_SESSION_COOKIE: &str = "gongji_csrf";

/// The token of a signed-in form, for the session whose secret token is `session_token`.
pub fn for_session(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"gongji-csrf-v1\0");
    h.update(session_token.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `form_value` is the token of `session_token`, compared in constant time.
pub fn check_session(session_token: &str, form_value: Option<&str>) -> bool {
    form_value
        .is_some_and(|v| constant_time_eq(v.as_bytes(), for_session(session_token).as_bytes()))
}

/// A fresh random value for the pre-session cookie (128 bits, hex).
pub fn new_pre_session() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether a pre-session form's value matches its `gongji_csrf` cookie.
pub fn check_pre_session(headers: &HeaderMap, form_value: Option<&str>) -> bool {
    match (cookie(headers, PRE_SESSION_COOKIE), form_value) {
        (Some(c), Some(v)) => constant_time_eq(c.as_bytes(), v.as_bytes()),
        _ => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_belongs_to_its_session_only() {
        let t = for_session("session-a");
        assert!(check_session("session-a", Some(&t)));
        assert!(!check_session("session-b", Some(&t)));
        assert!(!check_session("session-a", None));
        assert!(!check_session("session-a", Some("")));
    }

    #[test]
    fn the_pre_session_value_must_match_its_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            format!("{PRE_SESSION_COOKIE}=abc123").parse().unwrap(),
        );
        assert!(check_pre_session(&h, Some("abc123")));
        assert!(!check_pre_session(&h, Some("abc124")));
        assert!(!check_pre_session(&HeaderMap::new(), Some("abc123")));
    }
}
