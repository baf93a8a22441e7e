//! `/h5/proxy`: 亲情账户 (E6). A parent, signed in, lets a named child show his e-voucher at
//! the window, and withdraws that when he likes; a child sees the code to show for each
//! parent who consented. Kept apart from family mutual aid (`/h5/family`), and the page says
//! the difference in one sentence.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use gongji_core::codes::Channel;
use serde::Deserialize;

use super::h5_page::H5Page;
use super::session::{self, field, see_other, ErrorView};
use super::{href, render_page, LangQuery, Page};
use crate::app::App;
use crate::service::proxy;

const PATH: &str = "/h5/proxy";

pub fn router() -> Router<App> {
    Router::new().route("/h5/proxy", get(show).post(act))
}

/// A consent as the parent sees it.
pub struct GivenView {
    pub token: String,
    pub child: String,
    pub since: String,
    pub active: bool,
    pub revoked: String,
}

/// A consent as the child sees it: the code to show for this parent.
pub struct ReceivedView {
    pub parent: String,
    pub code: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "h5_proxy.html")]
struct ProxyTemplate {
    p: Page,
    given: Vec<GivenView>,
    received: Vec<ReceivedView>,
    f_name: String,
    f_certno: String,
    notice: Option<String>,
    error: Option<ErrorView>,
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    lang: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
struct ProxyForm {
    csrf: Option<String>,
    op: Option<String>,
    name: Option<String>,
    certno: Option<String>,
    consent: Option<String>,
    token: Option<String>,
}

async fn page_for(app: &App, h5: &H5Page) -> Result<ProxyTemplate, Response> {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let page = h5.bar_only(app, h5.t().proxy_title, PATH).await;
    let (given, received) = match proxy::consents(app, psn_no).await {
        Ok(c) => c,
        Err(e) => {
            let err = ErrorView::of(lang, &e);
            return Err((session::status_of(&e), err.message).into_response());
        }
    };
    Ok(ProxyTemplate {
        p: page,
        given: given
            .iter()
            .map(|c| GivenView {
                token: c.token.clone(),
                child: c.child.name_masked.clone(),
                since: c.given_at.clone(),
                active: c.active(),
                revoked: c.revoked_at.clone().unwrap_or_default(),
            })
            .collect(),
        received: received
            .iter()
            .filter(|c| c.active())
            .map(|c| ReceivedView {
                parent: c.parent.name_masked.clone(),
                code: c.token.clone(),
                since: c.given_at.clone(),
            })
            .collect(),
        f_name: String::new(),
        f_certno: String::new(),
        notice: None,
        error: None,
    })
}

async fn show(State(app): State<App>, Query(q): Query<ShowQuery>, headers: HeaderMap) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, PATH).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    match page_for(&app, &h5).await {
        Ok(mut v) => {
            let t = h5.t();
            v.notice = match q.done.as_deref() {
                Some("given") => Some(t.proxy_done_given.to_string()),
                Some("revoked") => Some(t.proxy_done_revoked.to_string()),
                _ => None,
            };
            let page = v.p.clone();
            render_page(&page, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

async fn act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<ProxyForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let h5 = match H5Page::open_form(&app, &headers, q.lang, csrf, PATH).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let result = match field(&form.op).as_str() {
        "revoke" => proxy::revoke(&app, psn_no, &field(&form.token), Channel::Web)
            .await
            .map(|_| "revoked")
            .map_err(|e| ErrorView::of(lang, &e)),
        _ if form.consent.as_deref() != Some("yes") => Err(ErrorView::input(t.proxy_err_consent)),
        _ => proxy::give(
            &app,
            psn_no,
            &field(&form.certno),
            &field(&form.name),
            Channel::Web,
        )
        .await
        .map(|_| "given")
        .map_err(|e| ErrorView::of(lang, &e)),
    };
    match result {
        Ok(done) => see_other(&href(PATH, &[("done", done.to_string())])),
        Err(e) => match page_for(&app, &h5).await {
            Ok(mut v) => {
                v.f_name = field(&form.name);
                v.f_certno = field(&form.certno);
                v.error = Some(e);
                let page = v.p.clone();
                render_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &v)
            }
            Err(r) => r,
        },
    }
}
