//! The gateway check of the institution interface: who is calling, is the signature theirs,
//! and have these headers been used before (in this process or, by their timestamp, in one
//! before it). Kept apart from the handler so `gongji bench --modes nonces` drives exactly
//! this code with a simulated clock.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use gongji_nhsa::auth::{parse_timestamp, verify_signature, AuthError, GatewayHeaders, NonceCache};

use crate::app::Gateway;

/// What the check needs from the server: the credentials, the nonce store, the window and
/// the second the server started serving in.
pub struct GatewayCheck<'a> {
    pub gateways: &'a RwLock<HashMap<String, Gateway>>,
    pub nonces: &'a Mutex<NonceCache>,
    pub window_secs: i64,
    /// Timestamps before this second are refused: a process before this one may have
    /// accepted them, and its nonce store is gone.
    pub serving_since_unix: i64,
}

impl GatewayCheck<'_> {
    /// The caller's credentials if the headers are a fresh, correct signature of a known
    /// paasid at `now_unix`; otherwise the refusal (HTTP 401).
    pub fn authenticate(
        &self,
        headers: &GatewayHeaders,
        now_unix: i64,
    ) -> Result<Gateway, AuthError> {
        let gateway = headers
            .paasid
            .as_ref()
            .and_then(|p| self.gateways.read().ok().and_then(|g| g.get(p).cloned()))
            .ok_or(AuthError::UnknownPaasid)?;
        verify_signature(headers, &gateway.token, now_unix, self.window_secs)?;
        // verify_signature checked that all three are present and the timestamp parses.
        let (Some(paasid), Some(nonce), Some(timestamp)) = (
            headers.paasid.as_deref(),
            headers.nonce.as_deref(),
            headers.timestamp.as_deref().and_then(parse_timestamp),
        ) else {
            return Err(AuthError::BadTimestamp);
        };
        if timestamp < self.serving_since_unix {
            return Err(AuthError::SignedBeforeStart);
        }
        self.nonces
            .lock()
            .map_err(|_| AuthError::NonceReplayed)?
            .check_and_insert(paasid.trim(), nonce.trim(), timestamp, now_unix)?;
        Ok(gateway)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gongji_core::codes::{Admdvs, InstitutionKind};
    use gongji_nhsa::auth::sign;

    const NOW: i64 = 1_780_000_000;

    fn check_for(since: i64) -> (RwLock<HashMap<String, Gateway>>, Mutex<NonceCache>, i64) {
        let mut g = HashMap::new();
        g.insert(
            "paas-1".to_string(),
            Gateway {
                fixmedins_code: "P37030000001".into(),
                admdvs: Admdvs::parse("370300").expect("admdvs"),
                kind: InstitutionKind::Pharmacy,
                token: "tok".into(),
            },
        );
        (
            RwLock::new(g),
            Mutex::new(NonceCache::new(300, 1_000)),
            since,
        )
    }

    fn headers(ts: i64, nonce: &str) -> GatewayHeaders {
        GatewayHeaders {
            paasid: Some("paas-1".into()),
            timestamp: Some(ts.to_string()),
            nonce: Some(nonce.into()),
            signature: Some(sign(&ts.to_string(), "tok", nonce)),
        }
    }

    #[test]
    fn a_request_signed_before_the_server_started_is_refused_once_resigned_it_passes() {
        let (g, n, since) = check_for(NOW);
        let check = GatewayCheck {
            gateways: &g,
            nonces: &n,
            window_secs: 300,
            serving_since_unix: since,
        };
        assert_eq!(
            check.authenticate(&headers(NOW - 5, "a"), NOW + 1).err(),
            Some(AuthError::SignedBeforeStart)
        );
        assert!(check.authenticate(&headers(NOW + 1, "a"), NOW + 1).is_ok());
        assert_eq!(
            check.authenticate(&headers(NOW + 1, "a"), NOW + 2).err(),
            Some(AuthError::NonceReplayed)
        );
    }
}
