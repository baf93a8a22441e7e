//! The pages people use: server-rendered HTML in Chinese first, English on request.
//!
//! Templates live in `web/templates` and are compiled into the binary by askama (escaped by
//! default, checked against the Rust structs at build time); the stylesheet, script and icon
//! in `web/static` are embedded with `include_str!`. No file is read and nothing is fetched at
//! run time, and there is no front-end build step. Every page works without JavaScript.
//!
//! Routes: `/` home, `/guide` and `/guide/{policy id}` (policy guide, no sign-in),
//! `/terminal` (the institution till: operators sign in at `/terminal/signin`; it drives the
//! institution interface as the operator's institution), `/h5/...`
//! (insured persons: sign-in, account, family and the bind journey, records, premiums),
//! `/nearby` (institutions near a place, no sign-in), `/console/...` (bureau staff),
//! `/static/*`.
//!
//! The pages of people and staff are built only on [`crate::service`]: a handler reads the
//! form, calls a service function and shows its answer or its refusal. They decide nothing.

mod care;
mod charts;
mod console;
mod console_collection;
mod console_lists;
mod console_page;
// Used by the forms as they gain CSRF tokens (issue 10).
#[allow(dead_code)]
pub(crate) mod csrf;
mod guide;
mod h5;
mod h5_bubao;
mod h5_page;
pub mod i18n;
mod nearby;
mod proxy;
mod quotas;
mod reviews;
mod session;

pub(crate) use session::{secure_cookies, session_cookie, too_many};
mod terminal;
mod terminal_wire;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::app::App;
use i18n::{Dict, Lang};

/// The web pages' routes; merged into [`crate::router`].
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/guide", get(guide::list))
        .route("/guide/:id", get(guide::detail))
        .route("/terminal", get(terminal::show).post(terminal::act))
        .route(
            "/terminal/signin",
            get(terminal::signin_show).post(terminal::signin),
        )
        .route("/terminal/signout", post(terminal::signout))
        .merge(h5::router())
        .merge(proxy::router())
        .merge(quotas::router())
        .merge(reviews::router())
        .route("/nearby", get(nearby::show))
        .merge(console::router())
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/care", get(care::switch))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(session::form_tokens_scope))
        .layer(axum::middleware::from_fn(care::scope))
}

const CSS: &str = include_str!("../../../../web/static/app.css");
const JS: &str = include_str!("../../../../web/static/app.js");
const ICON: &str = include_str!("../../../../web/static/icon.svg");
/// Changes whenever the assets change, so browsers may cache them for long.
const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `?lang=` on any page.
#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The language of a request: `?lang=` first, then the `lang` cookie, else Chinese. The
/// browser's Accept-Language is not consulted: the service is Chinese first.
/// Returns whether the choice came from the query (and so should be remembered).
pub fn lang_of(query: &LangQuery, headers: &HeaderMap) -> (Lang, bool) {
    if let Some(l) = query.lang.as_deref().and_then(Lang::parse) {
        return (l, true);
    }
    let cookie = session::cookie(headers, "lang").and_then(|v| Lang::parse(&v));
    (cookie.unwrap_or_default(), false)
}

/// What the shared layout needs.
#[derive(Clone)]
pub struct Page {
    pub t: &'static Dict,
    pub lang: Lang,
    pub title: String,
    /// Which main-navigation entry is current: "home", "h5", "nearby", "guide", "terminal",
    /// "console" or "".
    pub nav: &'static str,
    /// The same page in the other language.
    pub switch_href: String,
    pub asset_version: &'static str,
    /// The tabs of a signed-in area (H5, console), under the main navigation.
    pub subnav: Vec<NavLink>,
    /// Who is signed in, with the sign-out form's action.
    pub user: Option<UserBar>,
    /// The hidden `csrf` field of this session's forms ([`csrf::for_session`]).
    pub csrf: String,
    /// The hidden `csrf` field of the sign-in forms (the `gongji_csrf` double-submit value).
    pub csrf_pre: String,
    /// 关怀模式 on this device ([`care`]).
    pub care: bool,
    /// The link that turns 关怀模式 on or off and comes back here.
    pub care_href: String,
    remember_lang: bool,
}

/// One tab of a sub-navigation.
#[derive(Clone)]
pub struct NavLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

impl NavLink {
    pub fn new(href: &str, label: &str, current: bool) -> NavLink {
        NavLink {
            href: href.to_string(),
            label: label.to_string(),
            current,
        }
    }
}

/// The signed-in person or staff member, shown above the page's content.
#[derive(Clone)]
pub struct UserBar {
    pub who: String,
    pub signout_action: &'static str,
}

impl Page {
    pub fn new(lang: Lang, remember: bool, title: &str, nav: &'static str, path: &str) -> Page {
        Page::at(lang, remember, title, nav, path, &[])
    }

    /// A page whose address has a query (kept by the language switch, less `lang`).
    pub fn at(
        lang: Lang,
        remember: bool,
        title: &str,
        nav: &'static str,
        path: &str,
        query: &[(&str, String)],
    ) -> Page {
        let mut q: Vec<(&str, String)> = query
            .iter()
            .filter(|(k, v)| *k != "lang" && !v.is_empty())
            .cloned()
            .collect();
        let here = href(path, &q);
        q.push(("lang", lang.other().code().to_string()));
        let tokens = session::form_tokens();
        let care = care::on();
        let care_href = href(
            "/care",
            &[
                ("on", if care { "0" } else { "1" }.to_string()),
                ("next", here),
            ],
        );
        Page {
            t: lang.t(),
            lang,
            title: title.to_string(),
            nav,
            switch_href: href(path, &q),
            asset_version: ASSET_VERSION,
            subnav: Vec::new(),
            user: None,
            csrf: tokens.session,
            csrf_pre: tokens.pre_session,
            care,
            care_href,
            remember_lang: remember,
        }
    }

    pub fn with_subnav(mut self, subnav: Vec<NavLink>) -> Page {
        self.subnav = subnav;
        self
    }

    pub fn with_user(mut self, user: Option<UserBar>) -> Page {
        self.user = user;
        self
    }

    pub fn html_lang(&self) -> &'static str {
        self.lang.html_lang()
    }

    pub fn other_html_lang(&self) -> &'static str {
        self.lang.other().html_lang()
    }

    pub fn is_nav(&self, key: &str) -> bool {
        self.nav == key
    }

    /// The staff's sites (the till, the console) are reached by their own addresses; their
    /// pages show neither the citizens' menu nor theirs the staff's.
    pub fn staff_site(&self) -> bool {
        matches!(self.nav, "terminal" | "console")
    }
}

/// Percent-encodes a query value (everything but the unreserved characters).
pub fn encode_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` with the values encoded; `path` alone when there is no pair.
pub fn href(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

/// Renders a page with the headers every page gets.
pub fn render_page<T: Template>(page: &Page, status: StatusCode, template: &T) -> Response {
    let html = match template.render() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return server_error(page.lang);
        }
    };
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if page.remember_lang {
        // A year; Lax so that a link from another site opens in the language chosen.
        let cookie = axum_extra::extract::cookie::Cookie::build(("lang", page.lang.code()))
            .path("/")
            .max_age(cookie::time::Duration::days(365))
            .same_site(axum_extra::extract::cookie::SameSite::Lax)
            .build();
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            h.insert(header::SET_COOKIE, v);
        }
    }
    resp
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

// ---- home ----

pub struct RegionLink {
    pub href: String,
    pub name: String,
    pub level: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate {
    p: Page,
    regions: Vec<RegionLink>,
}

async fn home(State(app): State<App>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    let t = lang.t();
    let policies = app
        .read(|e| e.policies().policies().to_vec())
        .await
        .unwrap_or_default();
    let regions = guide::region_links(lang, &policies);
    let page = Page::new(lang, remember, t.nav_home, "home", "/");
    render_page(
        &page,
        StatusCode::OK,
        &HomeTemplate {
            p: page.clone(),
            regions,
        },
    )
}

// ---- pages that are not there, and the server's own failure ----

/// The site's own page for an address that is not there, or for the server's failure: what
/// happened in plain words and where to go on from here.
#[derive(Template)]
#[template(path = "error_page.html")]
struct ErrorPageTemplate {
    p: Page,
    lead: &'static str,
    /// The server failed: say that it is not the person's fault and to try again.
    failed: bool,
}

async fn not_found(
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    let t = lang.t();
    let page = Page::new(lang, remember, t.e404_title, "", uri.path());
    render_page(
        &page,
        StatusCode::NOT_FOUND,
        &ErrorPageTemplate {
            p: page.clone(),
            lead: t.e404_lead,
            failed: false,
        },
    )
}

/// The 500 page. Its template has no value that can fail to render; should it fail all the
/// same, one plain sentence in the page's language is sent.
pub fn server_error(lang: Lang) -> Response {
    let t = lang.t();
    let page = Page::new(lang, false, t.e500_title, "", "/");
    let view = ErrorPageTemplate {
        p: page.clone(),
        lead: t.e500_lead,
        failed: true,
    };
    match view.render() {
        Ok(html) => {
            let mut resp = (StatusCode::INTERNAL_SERVER_ERROR, html).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, t.e500_lead).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_500_page_is_the_sites_own_in_plain_chinese() {
        let resp = server_error(Lang::Zh);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(html.contains("<html lang=\"zh-CN\""));
        assert!(html.contains("/static/app.css"), "in the site's style");
        assert!(html.contains("系统暂时出了问题") && html.contains("12393"));
        assert!(html.contains("href=\"/\""), "a way back home");
        assert!(!html.contains("could not be rendered"), "no English");
    }
}
