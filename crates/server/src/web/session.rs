//! What the pages of people and staff share: the session cookie, redirects, the check that a
//! form was posted from our own pages, and how a service's refusal is shown.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use gongji_core::Fen;

use super::csrf;
use super::i18n::{Dict, Lang};
use crate::app::App;
use crate::service::auth::{self as svc, Subject, SESSION_COOKIE, SESSION_IDLE_SECS};
use crate::service::operators::Operator;
use crate::service::staff::Staff;
use crate::service::ServiceError;

/// The value of cookie `name` (empty counts as absent).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that starts a session (`Some(token)`) or clears it (`None`):
/// script cannot read it, no other site's request carries it, and it ends when the session
/// would idle out.
pub fn session_cookie(token: Option<&str>) -> Option<HeaderValue> {
    let max_age = match token {
        Some(_) => SESSION_IDLE_SECS,
        None => 0,
    };
    let cookie = Cookie::build((SESSION_COOKIE, token.unwrap_or_default()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// The pre-session CSRF cookie (`gongji_csrf`) of a sign-in page: script cannot read it and
/// no other site's form sends it.
pub fn pre_session_cookie(value: &str) -> Option<HeaderValue> {
    let cookie = Cookie::build((csrf::PRE_SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// The session token of the request, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The signed-in insured person's psn_no.
pub async fn person(app: &App, headers: &HeaderMap) -> Option<String> {
    let t = token(headers)?;
    match svc::session(app, &t).await.ok()?.subject {
        Subject::Person { psn_no } => Some(psn_no),
        Subject::Staff { .. } | Subject::Operator { .. } => None,
    }
}

/// The signed-in staff member.
pub async fn staff(app: &App, headers: &HeaderMap) -> Option<Staff> {
    let t = token(headers)?;
    match svc::session(app, &t).await.ok()?.subject {
        Subject::Staff { username, role } => Some(Staff { username, role }),
        Subject::Person { .. } | Subject::Operator { .. } => None,
    }
}

/// The signed-in till operator, with the session token its forms' CSRF token is made from.
pub async fn operator(app: &App, headers: &HeaderMap) -> Option<(String, Operator)> {
    let t = token(headers)?;
    let op = crate::service::operators::of_session(app, &t).await?;
    Some((t, op))
}

/// The CSRF token of the signed-in forms of this request's session.
pub fn csrf_token(headers: &HeaderMap) -> String {
    token(headers)
        .map(|t| csrf::for_session(&t))
        .unwrap_or_default()
}

/// Whether a signed-in form carries its session's CSRF token.
pub fn csrf_ok(headers: &HeaderMap, form_value: Option<&str>) -> bool {
    token(headers).is_some_and(|t| csrf::check_session(&t, form_value))
}

/// The pre-session CSRF value of a sign-in form: the request's `gongji_csrf` cookie, or a
/// fresh one that the response must set ([`with_pre_session_cookie`]).
pub fn pre_session_csrf(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, csrf::PRE_SESSION_COOKIE) {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => (v, false),
        _ => (csrf::new_pre_session(), true),
    }
}

/// Sets the pre-session CSRF cookie on a sign-in page.
pub fn with_pre_session_cookie(mut resp: Response, value: &str) -> Response {
    if let Some(v) = pre_session_cookie(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The answer to a form without its CSRF token (a forged post, or a page from an ended
/// session): nothing was done.
pub fn stale_form(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        lang.t().err_stale_form,
    )
        .into_response()
}

/// A form that carries nothing but its CSRF token (sign-out).
#[derive(serde::Deserialize, Default)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// The CSRF values of the forms a request's pages show.
#[derive(Clone, Debug, Default)]
pub struct FormTokens {
    /// For the forms of the signed-in session (empty without a session cookie).
    pub session: String,
    /// For the sign-in forms.
    pub pre_session: String,
}

tokio::task_local! {
    static FORM_TOKENS: FormTokens;
}

/// Works out the request's form tokens once, so that every page built while answering it
/// ([`super::Page::at`]) carries them without each handler passing them down, and sets the
/// pre-session cookie on a page when the visitor has none yet.
pub async fn form_tokens_scope(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (pre_session, fresh) = pre_session_csrf(request.headers());
    let tokens = FormTokens {
        session: csrf_token(request.headers()),
        pre_session: pre_session.clone(),
    };
    let resp = FORM_TOKENS.scope(tokens, next.run(request)).await;
    // Only on pages (never cached), not on assets a shared cache might hand to others.
    let page = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if fresh && page {
        with_pre_session_cookie(resp, &pre_session)
    } else {
        resp
    }
}

/// The form tokens of the request being answered (empty outside one).
pub fn form_tokens() -> FormTokens {
    FORM_TOKENS.try_with(Clone::clone).unwrap_or_default()
}

/// The answer to too many sign-in requests from one address (`crate::limits`), in Chinese
/// and English, since the limiter answers before any page knows its language.
pub fn too_many() -> Response {
    let zh = Lang::Zh.t().err_too_many;
    let en = Lang::En.t().err_too_many;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{zh}\n{en}\n"),
    )
        .into_response()
}

/// When the site is served over HTTPS, every cookie the server sets carries `Secure`, so a
/// browser never sends a session over plain HTTP.
pub async fn secure_cookies(
    axum::extract::State(app): axum::extract::State<App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut resp = next.run(request).await;
    if app.deployment.https {
        let cookies: Vec<HeaderValue> = resp
            .headers_mut()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        if !cookies.is_empty() {
            resp.headers_mut().remove(header::SET_COOKIE);
            for c in cookies {
                let secured = match c.to_str().map(Cookie::parse) {
                    Ok(Ok(mut cookie)) if cookie.secure() != Some(true) => {
                        cookie.set_secure(true);
                        HeaderValue::from_str(&cookie.to_string()).unwrap_or(c)
                    }
                    _ => c,
                };
                resp.headers_mut().append(header::SET_COOKIE, secured);
            }
        }
    }
    resp
}

/// `303 See Other` to `location` (after a form, so that a reload does not post it again).
pub fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A redirect that also sets (or, with `None`, clears) the session cookie.
pub fn see_other_with_session(location: &str, token: Option<&str>) -> Response {
    let mut resp = see_other(location);
    if let Some(v) = session_cookie(token) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// A local path to return to after sign-in: only our own pages under `prefix`.
pub fn safe_next(next: Option<&str>, prefix: &str, default: &str) -> String {
    match next {
        Some(n)
            if n.starts_with(prefix)
                && !n.contains("//")
                && !n.contains("..")
                && !n.contains('\\')
                && n.len() <= 512
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => default.to_string(),
    }
}

/// A form post from another site is refused. The session cookie is `SameSite=Strict`
/// already; this also covers browsers that send `Origin` but ignore SameSite.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// A refusal or error as a page shows it: the stable code, the message in the page's
/// language, and in English pages the Chinese original too (what a clerk on the hotline
/// reads).
#[derive(Clone, Debug)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
    pub original_zh: Option<String>,
}

impl ErrorView {
    pub fn of(lang: Lang, e: &ServiceError) -> ErrorView {
        match lang {
            Lang::Zh => ErrorView {
                code: e.code().to_string(),
                message: e.message_zh(),
                original_zh: None,
            },
            Lang::En => ErrorView {
                code: e.code().to_string(),
                message: e.message_en(),
                original_zh: Some(e.message_zh()),
            },
        }
    }

    /// A problem with the form itself, found before any service was asked.
    pub fn input(message: &str) -> ErrorView {
        ErrorView {
            code: crate::service::codes::API_BAD_REQUEST.to_string(),
            message: message.to_string(),
            original_zh: None,
        }
    }
}

/// The HTTP status a page answers with when a service said no: the API's, from the one map.
pub use crate::api::errors::status_of;

/// Yuan text of a form field: blank is `None`; otherwise an exact amount with at most two
/// decimals, never negative.
pub fn parse_yuan_field(t: &Dict, text: Option<&str>) -> Result<Option<Fen>, ErrorView> {
    let v = text.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Ok(None);
    }
    match Fen::parse_yuan(v) {
        Ok(f) if f >= Fen::ZERO => Ok(Some(f)),
        _ => Err(ErrorView::input(t.err_amount)),
    }
}

/// `yyyy-MM-dd` of a form field: blank is `None`.
pub fn parse_date_field(
    t: &Dict,
    text: Option<&str>,
) -> Result<Option<chrono::NaiveDate>, ErrorView> {
    let v = text.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ErrorView::input(t.err_date))
}

/// A trimmed form field, empty when missing.
pub fn field(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or_default().to_string()
}

/// The page for a form posted from another site.
pub fn cross_site(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        lang.t().err_cross_site,
    )
        .into_response()
}

/// A signed-in form checked before the sign-in is looked at: sent from our own pages, then
/// with its session's CSRF token; otherwise why it is refused, in the page's language.
pub fn check_form(headers: &HeaderMap, lang: Lang, csrf: Option<&str>) -> Result<(), FormRefused> {
    if !same_origin(headers) {
        return Err(FormRefused::CrossSite(lang));
    }
    if !csrf_ok(headers, csrf) {
        return Err(FormRefused::Stale(lang));
    }
    Ok(())
}

/// Why [`check_form`] refused a form.
pub enum FormRefused {
    /// Posted from another site.
    CrossSite(Lang),
    /// Without this session's CSRF token.
    Stale(Lang),
}

impl IntoResponse for FormRefused {
    fn into_response(self) -> Response {
        match self {
            FormRefused::CrossSite(lang) => cross_site(lang),
            FormRefused::Stale(lang) => stale_form(lang),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_our_pages() {
        assert_eq!(safe_next(Some("/h5/records"), "/h5", "/h5"), "/h5/records");
        assert_eq!(safe_next(Some("//evil.example"), "/h5", "/h5"), "/h5");
        assert_eq!(safe_next(Some("https://evil"), "/h5", "/h5"), "/h5");
        assert_eq!(safe_next(Some("/h5/../x"), "/h5", "/h5"), "/h5");
        assert_eq!(safe_next(None, "/h5", "/h5"), "/h5");
    }

    #[test]
    fn origin_must_be_ours() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
