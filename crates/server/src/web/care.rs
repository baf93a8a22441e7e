//! 关怀模式 (elder mode): larger type and targets, and a home page of the four things an older
//! person does. Chosen per device by a link (no script needed) and kept in the `care` cookie,
//! like the language.

use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session;

/// The cookie that keeps the choice on this device.
pub const COOKIE: &str = "care";

tokio::task_local! {
    static CARE: bool;
}

/// Whether the request being answered is in elder mode (false outside one).
pub fn on() -> bool {
    CARE.try_with(|c| *c).unwrap_or(false)
}

/// Reads the device's choice once per request, so that every page built while answering it
/// ([`super::Page::at`]) knows it without each handler passing it down.
pub async fn scope(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let care = session::cookie(request.headers(), COOKIE).is_some_and(|v| v == "1");
    CARE.scope(care, next.run(request)).await
}

#[derive(Deserialize, Default)]
pub struct SwitchQuery {
    on: Option<String>,
    next: Option<String>,
}

/// `GET /care?on=1&next=/h5`: turns elder mode on (or off with `on=0`) for this device and
/// goes back to the page the person was on.
pub async fn switch(Query(q): Query<SwitchQuery>) -> Response {
    let on = q.on.as_deref() != Some("0");
    let next = session::safe_next(q.next.as_deref(), "/", "/");
    let cookie = if on {
        format!("{COOKIE}=1; Path=/; Max-Age=31536000; SameSite=Lax")
    } else {
        format!("{COOKIE}=0; Path=/; Max-Age=31536000; SameSite=Lax")
    };
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
