//! Per-source rate limits on the sign-in doors: the people's and staff's sign-in API, the
//! H5 and console sign-in forms and the till's. Counted per client IP (the connection's
//! peer) by `tower_governor` (GCRA, no hand-written limiter), on POSTs only: showing a form
//! costs nothing, trying a code or a password does. The limits inside the service (a code per
//! phone per minute, staff lockouts) stay; this one stops a single source from spraying many
//! phones or usernames.
//!
//! Behind a reverse proxy every request has the proxy's address, so all clients would share
//! one allowance: such a deployment sets a larger limit, or rate-limits at the proxy.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::middleware::NoOpMiddleware;
use tower::{Layer, ServiceExt};
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::api::auth::ClientIp;
use crate::api::errors::ApiError;
use crate::app::App;
use crate::service::ServiceError;

/// The paths whose POSTs are limited (prefixes).
pub const LIMITED_PATHS: &[&str] = &[
    "/api/v1/auth/",
    "/api/v1/staff/session",
    "/h5/signin",
    "/console/signin",
    "/terminal/signin",
];

/// How many sign-in requests one source may make: `burst` at once, then one more every
/// `replenish_every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInLimit {
    pub burst: u32,
    pub replenish_every: Duration,
}

impl Default for SignInLimit {
    /// A person needs two or three requests to sign in, a clerk one; 20 at once and one
    /// every 3 s (20 a minute) leaves room for a few people behind one address (carrier NAT)
    /// and stops guessing at any useful rate.
    fn default() -> SignInLimit {
        SignInLimit {
            burst: 20,
            replenish_every: Duration::from_secs(3),
        }
    }
}

/// The `[limits]` section of `gongji serve --config`. What is left out keeps the
/// deployment's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sign-in requests one source may make at once.
    pub sign_in_burst: Option<u32>,
    /// Milliseconds after which one more sign-in request is allowed.
    pub sign_in_period_ms: Option<u64>,
}

impl LimitsConfig {
    /// `base` with what the section sets. A zero would lock every sign-in door (or, for the
    /// period, disable the limit), so it is refused with the key's name.
    pub fn sign_in_limit(&self, base: SignInLimit) -> Result<SignInLimit, String> {
        let mut limit = base;
        if let Some(burst) = self.sign_in_burst {
            if burst == 0 {
                return Err("[limits] sign_in_burst 须大于 0 / must be above 0".to_string());
            }
            limit.burst = burst;
        }
        if let Some(ms) = self.sign_in_period_ms {
            if ms == 0 {
                return Err("[limits] sign_in_period_ms 须大于 0 / must be above 0".to_string());
            }
            limit.replenish_every = Duration::from_millis(ms);
        }
        Ok(limit)
    }
}

/// The peer's IP as the key (see [`ClientIp`]).
#[derive(Clone, Copy, Debug)]
pub struct PeerIp;

impl KeyExtractor for PeerIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        Ok(ClientIp::of(req.extensions()).0)
    }
}

/// Marks the limiter's refusal, which [`limit_sign_in`] answers in the shape of the path.
#[derive(Clone, Copy, Debug)]
struct Throttled {
    wait_secs: u64,
}

/// The limiter's state, shared by every request of the process.
pub struct SignInLimiter {
    config: Option<Arc<GovernorConfig<PeerIp, NoOpMiddleware>>>,
}

impl SignInLimiter {
    pub fn new(limit: SignInLimit) -> SignInLimiter {
        let mut builder = GovernorConfigBuilder::default().key_extractor(PeerIp);
        builder
            .period(limit.replenish_every.max(Duration::from_millis(1)))
            .burst_size(limit.burst.max(1))
            .methods(vec![Method::POST])
            .error_handler(|e| {
                let wait_secs = match e {
                    GovernorError::TooManyRequests { wait_time, .. } => wait_time,
                    _ => 1,
                };
                let mut resp = StatusCode::TOO_MANY_REQUESTS.into_response();
                resp.extensions_mut().insert(Throttled { wait_secs });
                resp
            });
        // `finish` refuses only a zero period or burst, which the floors above rule out.
        SignInLimiter {
            config: builder.finish().map(Arc::new),
        }
    }
}

/// Applies the limiter to [`LIMITED_PATHS`] and answers a refusal as the API (JSON) or the
/// pages (text) answer everything else: 429, `GJ-API-RATE-LIMITED`, 操作太频繁，请稍后再试.
pub async fn limit_sign_in(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !LIMITED_PATHS.iter().any(|p| path.starts_with(p)) {
        return next.run(request).await;
    }
    let Some(config) = app.sign_in_limiter.config.clone() else {
        return next.run(request).await;
    };
    let api = path.starts_with("/api/");
    let governed = GovernorLayer { config }.layer(next);
    let resp = match governed.oneshot(request).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let Some(Throttled { wait_secs }) = resp.extensions().get::<Throttled>().copied() else {
        return resp;
    };
    let wait_secs = i64::try_from(wait_secs.max(1)).unwrap_or(i64::MAX);
    if api {
        let mut e = ApiError::from(ServiceError::RateLimited {
            retry_after_secs: wait_secs,
        });
        e.body.message_zh = "操作太频繁，请稍后再试。".into();
        e.body.message_en = "Too many requests. Please try again later.".into();
        e.into_response()
    } else {
        let mut resp = crate::web::too_many();
        if let Ok(v) = HeaderValue::from_str(&wait_secs.to_string()) {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_overrides_what_it_names_and_refuses_zero() {
        let base = SignInLimit::default();
        let set = LimitsConfig {
            sign_in_burst: Some(3),
            sign_in_period_ms: None,
        };
        assert_eq!(
            set.sign_in_limit(base),
            Ok(SignInLimit {
                burst: 3,
                replenish_every: base.replenish_every
            })
        );
        assert_eq!(LimitsConfig::default().sign_in_limit(base), Ok(base));
        let zero = LimitsConfig {
            sign_in_burst: None,
            sign_in_period_ms: Some(0),
        };
        assert!(zero
            .sign_in_limit(base)
            .is_err_and(|e| e.contains("sign_in_period_ms")));
    }
}
