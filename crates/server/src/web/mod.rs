//! The pages people use: server-rendered HTML in Chinese first, English on request.
//!
//! Templates live in `web/templates` and are compiled into the binary by askama (escaped by
//! default, checked against the Rust structs at build time); the stylesheet, script and icon
//! in `web/static` are embedded with `include_str!`. No file is read and nothing is fetched at
//! run time, and there is no front-end build step. Every page works without JavaScript.
//!
//! Routes: `/` home, `/guide` and `/guide/{policy id}` (policy guide, no sign-in),
//! `/terminal` (the institution terminal, which drives the institution interface), `/h5`,
//! `/nearby` and `/console` (coming soon), `/static/*`.

mod guide;
pub mod i18n;
mod terminal;
mod terminal_wire;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
        .route("/h5", get(soon_mine))
        .route("/nearby", get(soon_nearby))
        .route("/console", get(soon_staff))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
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
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v));
    (cookie.unwrap_or_default(), false)
}

/// What the shared layout needs.
#[derive(Clone)]
pub struct Page {
    pub t: &'static Dict,
    pub lang: Lang,
    pub title: String,
    /// Which main-navigation entry is current: "home", "guide", "terminal" or "".
    pub nav: &'static str,
    /// The same page in the other language.
    pub switch_href: String,
    pub asset_version: &'static str,
    remember_lang: bool,
}

impl Page {
    pub fn new(lang: Lang, remember: bool, title: &str, nav: &'static str, path: &str) -> Page {
        Page {
            t: lang.t(),
            lang,
            title: title.to_string(),
            nav,
            switch_href: format!("{path}?lang={}", lang.other().code()),
            asset_version: ASSET_VERSION,
            remember_lang: remember,
        }
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
}

/// Renders a page with the headers every page gets.
pub fn render_page<T: Template>(page: &Page, status: StatusCode, template: &T) -> Response {
    let html = match template.render() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "页面生成失败 / the page could not be rendered",
            )
                .into_response();
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
        let cookie = format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            page.lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
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

// ---- coming soon ----

#[derive(Template)]
#[template(path = "soon.html")]
struct SoonTemplate {
    p: Page,
    feature: String,
}

fn soon(lang: Lang, remember: bool, feature: &str, path: &str) -> Response {
    let page = Page::new(lang, remember, feature, "", path);
    let text = i18n::fill(lang.t().soon_text, &[&feature]);
    render_page(
        &page,
        StatusCode::OK,
        &SoonTemplate {
            p: page.clone(),
            feature: text,
        },
    )
}

async fn soon_mine(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    soon(lang, remember, lang.t().entry_mine, "/h5")
}

async fn soon_nearby(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    soon(lang, remember, lang.t().entry_nearby, "/nearby")
}

async fn soon_staff(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    soon(lang, remember, lang.t().entry_staff, "/console")
}
