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

use super::i18n::fill;
use super::session::{self, field, see_other, ErrorView};
use super::{href, lang_of, render_page, LangQuery, Page, UserBar};
use crate::app::App;
use crate::service::{people, proxy};

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

async fn page_for(
    app: &App,
    lang_remember: (super::i18n::Lang, bool),
    psn_no: &str,
) -> Result<ProxyTemplate, Response> {
    let (lang, remember) = lang_remember;
    let t = lang.t();
    let who = people::who(app, psn_no)
        .await
        .map(|p| p.name_masked)
        .unwrap_or_default();
    let page = Page::at(lang, remember, t.proxy_title, "h5", PATH, &[]).with_user(Some(UserBar {
        who: fill(t.h5_signed_in_as, &[&who]),
        signout_action: "/h5/signout",
    }));
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
    let lr = lang_of(&LangQuery { lang: q.lang }, &headers);
    let Some(psn_no) = session::person(&app, &headers).await else {
        return see_other(&href("/h5/signin", &[("next", PATH.to_string())]));
    };
    match page_for(&app, lr, &psn_no).await {
        Ok(mut v) => {
            let t = lr.0.t();
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
    let lr = lang_of(&q, &headers);
    let (lang, _) = lr;
    if !session::same_origin(&headers) {
        return session::cross_site(lang);
    }
    if !session::csrf_ok(&headers, form.csrf.as_deref()) {
        return session::stale_form(lang);
    }
    let Some(psn_no) = session::person(&app, &headers).await else {
        return see_other(&href("/h5/signin", &[("next", PATH.to_string())]));
    };
    let t = lang.t();
    let result = match field(&form.op).as_str() {
        "revoke" => proxy::revoke(&app, &psn_no, &field(&form.token), Channel::Web)
            .await
            .map(|_| "revoked")
            .map_err(|e| ErrorView::of(lang, &e)),
        _ if form.consent.as_deref() != Some("yes") => Err(ErrorView::input(t.proxy_err_consent)),
        _ => proxy::give(
            &app,
            &psn_no,
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
        Err(e) => match page_for(&app, lr, &psn_no).await {
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
