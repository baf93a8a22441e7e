//! `/h5/requests` and `/console/reviews` (R-R7): a person sends a correction of his own
//! name or mobile number, or a registration of a relative not yet insured; staff approve or
//! reject with a reason the person reads on his page, and may send again.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use gongji_core::codes::{Admdvs, Channel};
use gongji_core::review::{Decision, ReviewKind, ReviewState};
use gongji_store::reviews::ReviewRow;
use serde::Deserialize;

use super::console_page::ConsolePage;
use super::h5_page::H5Page;
use super::i18n::{district_name, region_name, Dict, Lang};
use super::session::{self, field, see_other, ErrorView};
use super::{href, render_page, LangQuery, Page};
use crate::app::App;
use crate::service::reviews;

const PATH: &str = "/h5/requests";
const CONSOLE_PATH: &str = "/console/reviews";

pub fn router() -> Router<App> {
    Router::new()
        .route("/h5/requests", get(show).post(act))
        .route("/console/reviews", get(console_show).post(console_act))
}

/// A request as its sender sees it: what he asked, where it stands, and why not.
pub struct MineView {
    pub kind: &'static str,
    pub asked: String,
    pub state: &'static str,
    pub pending: bool,
    pub rejected: bool,
    pub submitted: String,
    pub decided: String,
    pub reason: String,
}

fn kind_label(t: &Dict, kind: &str) -> &'static str {
    match ReviewKind::parse(kind) {
        Some(ReviewKind::Registration) => t.rv_kind_registration,
        _ => t.rv_kind_correction,
    }
}

/// What was asked, in words: the new values, each beside its label. Staff judging the
/// request see the ID number whole; the sender's own page shows it masked.
fn asked_text(t: &Dict, lang: Lang, r: &ReviewRow, whole_certno: bool) -> String {
    let mut parts = Vec::new();
    match ReviewKind::parse(&r.kind) {
        Some(ReviewKind::Registration) => {
            parts.push(format!("{}{}{}", t.rv_name, t.colon, r.name));
            parts.push(format!(
                "{}{}{}",
                t.rv_certno,
                t.colon,
                if whole_certno {
                    r.certno.clone()
                } else {
                    gongji_core::pii::mask_certno(&r.certno)
                }
            ));
            if let Some(a) = Admdvs::parse(&r.admdvs) {
                parts.push(format!(
                    "{}{}{}",
                    t.rv_region,
                    t.colon,
                    region_name(lang, a, &r.admdvs)
                ));
            }
        }
        _ => {
            if !r.name.is_empty() {
                parts.push(format!("{}{}{}", t.rv_new_name, t.colon, r.name));
            }
            if !r.phone.is_empty() {
                parts.push(format!("{}{}{}", t.rv_new_phone, t.colon, r.phone));
            }
        }
    }
    parts.join("；")
}

/// A region a registration may name, as the form offers it.
pub struct RegionOption {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// The regions the deployment serves, the applicant's own first (and chosen), each by its
/// Chinese name and never by its code: a district we have a name for as itself, any other
/// as its city (a registration may name a served district's city), once per name.
fn region_options(lang: Lang, served: &[Admdvs]) -> Vec<RegionOption> {
    let mut out: Vec<RegionOption> = Vec::with_capacity(served.len());
    for a in served {
        let (code, label) = match district_name(lang, *a) {
            Some(name) => (*a, name),
            // The applicant's own district keeps its code under its city's name.
            None if out.is_empty() => (*a, region_name(lang, *a, &a.to_string())),
            None => {
                let city = a.city_admdvs();
                (city, region_name(lang, city, &city.to_string()))
            }
        };
        if out.iter().any(|o| o.label == label) {
            continue;
        }
        out.push(RegionOption {
            code: code.to_string(),
            label,
            selected: out.is_empty(),
        });
    }
    out
}

#[derive(Template)]
#[template(path = "h5_reviews.html")]
struct MineTemplate {
    p: Page,
    mine: Vec<MineView>,
    regions: Vec<RegionOption>,
    f_name: String,
    f_phone: String,
    f_rname: String,
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
struct MineForm {
    csrf: Option<String>,
    op: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    rname: Option<String>,
    certno: Option<String>,
    region: Option<String>,
}

async fn page_for(app: &App, h5: &H5Page) -> Result<MineTemplate, Response> {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let page = h5.bar_only(app, t.rv_title, PATH).await;
    let rows = match reviews::mine(app, psn_no).await {
        Ok(r) => r,
        Err(e) => {
            let err = ErrorView::of(lang, &e);
            return Err((session::status_of(&e), err.message).into_response());
        }
    };
    let served = match reviews::regions(app, psn_no).await {
        Ok(r) => r,
        Err(e) => {
            let err = ErrorView::of(lang, &e);
            return Err((session::status_of(&e), err.message).into_response());
        }
    };
    let mine = rows
        .iter()
        .map(|r| {
            let state = ReviewState::parse(&r.state).unwrap_or(ReviewState::Pending);
            MineView {
                kind: kind_label(t, &r.kind),
                asked: asked_text(t, lang, r, false),
                state: match state {
                    ReviewState::Pending => t.rv_state_pending,
                    ReviewState::Approved => t.rv_state_approved,
                    ReviewState::Rejected => t.rv_state_rejected,
                },
                pending: state == ReviewState::Pending,
                rejected: state == ReviewState::Rejected,
                submitted: r.submitted_at.clone(),
                decided: r.decided_at.clone().unwrap_or_default(),
                reason: r.reason.clone().unwrap_or_default(),
            }
        })
        .collect();
    Ok(MineTemplate {
        p: page,
        mine,
        regions: region_options(lang, &served),
        f_name: String::new(),
        f_phone: String::new(),
        f_rname: String::new(),
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
            if q.done.is_some() {
                v.notice = Some(h5.t().rv_done.to_string());
            }
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
    Form(form): Form<MineForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let h5 = match H5Page::open_form(&app, &headers, q.lang, csrf, PATH).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let result = match field(&form.op).as_str() {
        "register" => {
            reviews::submit_registration(
                &app,
                psn_no,
                &field(&form.rname),
                &field(&form.certno),
                &field(&form.region),
                Channel::Web,
            )
            .await
        }
        _ => {
            reviews::submit_correction(
                &app,
                psn_no,
                &field(&form.name),
                &field(&form.phone),
                Channel::Web,
            )
            .await
        }
    };
    match result {
        Ok(_) => see_other(&href(PATH, &[("done", "1".to_string())])),
        Err(e) => match page_for(&app, &h5).await {
            Ok(mut v) => {
                v.f_name = field(&form.name);
                v.f_phone = field(&form.phone);
                v.f_rname = field(&form.rname);
                v.f_certno = field(&form.certno);
                for r in &mut v.regions {
                    r.selected = r.code == field(&form.region);
                }
                v.error = Some(ErrorView::of(lang, &e));
                let page = v.p.clone();
                render_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &v)
            }
            Err(r) => r,
        },
    }
}

// ---- the console ----

/// A waiting request as staff judge it: the registered values beside the asked ones.
pub struct WaitingView {
    pub review_id: String,
    pub kind: &'static str,
    pub applicant: String,
    pub now: String,
    pub asked: String,
    pub submitted: String,
}

#[derive(Template)]
#[template(path = "console_reviews.html")]
struct ConsoleTemplate {
    p: Page,
    waiting: Vec<WaitingView>,
    notice: Option<String>,
    error: Option<ErrorView>,
}

#[derive(Deserialize, Default)]
struct ConsoleQuery {
    lang: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
struct DecideForm {
    csrf: Option<String>,
    op: Option<String>,
    review_id: Option<String>,
    reason: Option<String>,
}

async fn console_view(
    app: &App,
    cp: &ConsolePage,
    notice: Option<String>,
    error: Option<ErrorView>,
    status: StatusCode,
) -> Response {
    let (lang, t) = (cp.lang, cp.t());
    let page = cp.frame(t.rv_con_title, "reviews", CONSOLE_PATH, &[]);
    let (waiting, error, status) = match reviews::waiting(app, &cp.staff).await {
        Ok(list) => (
            list.into_iter()
                .map(|w| WaitingView {
                    kind: kind_label(t, &w.row.kind),
                    applicant: w.registered_name.clone(),
                    now: format!(
                        "{}{}{}；{}{}{}",
                        t.rv_name,
                        t.colon,
                        w.registered_name,
                        t.rv_phone,
                        t.colon,
                        w.registered_phone
                    ),
                    asked: asked_text(t, lang, &w.row, true),
                    submitted: w.row.submitted_at.clone(),
                    review_id: w.row.review_id,
                })
                .collect(),
            error,
            status,
        ),
        Err(e) => (
            Vec::new(),
            Some(ErrorView::of(lang, &e)),
            session::status_of(&e),
        ),
    };
    render_page(
        &page,
        status,
        &ConsoleTemplate {
            p: page.clone(),
            waiting,
            notice,
            error,
        },
    )
}

async fn console_show(
    State(app): State<App>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang, CONSOLE_PATH).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let t = cp.t();
    let notice = match q.done.as_deref() {
        Some("approved") => Some(t.rv_con_done_approved.to_string()),
        Some("rejected") => Some(t.rv_con_done_rejected.to_string()),
        _ => None,
    };
    console_view(&app, &cp, notice, None, StatusCode::OK).await
}

async fn console_act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<DecideForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, csrf, CONSOLE_PATH).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (decision, done) = match field(&form.op).as_str() {
        "approve" => (Decision::Approve, "approved"),
        _ => (
            Decision::Reject {
                reason: field(&form.reason),
            },
            "rejected",
        ),
    };
    match reviews::decide(&app, &cp.staff, &field(&form.review_id), decision).await {
        Ok(_) => see_other(&href(CONSOLE_PATH, &[("done", done.to_string())])),
        Err(e) => {
            let status = session::status_of(&e);
            let status = if status == StatusCode::OK {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                status
            };
            let error = Some(ErrorView::of(cp.lang, &e));
            console_view(&app, &cp, None, error, status).await
        }
    }
}
