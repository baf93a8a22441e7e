//! 跨省共济 in the H5 (issue 14): the holder binds a relative insured in another province,
//! grants, raises, lowers and ends a quota, each after a confirmation step that says in
//! plain Chinese what will happen; the relative sees in his own province's H5 what is left.
//! Provinces, relatives and relationships are shown and chosen by name, never by code, and
//! the holder sees where and when his relative spent the quota, as that province reports it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use gongji_core::codes::Relationship;
use gongji_core::quota::QuotaParties;
use gongji_core::Fen;
use serde::Deserialize;

use super::h5::{Opt, RELATIONSHIP_CODES};
use super::h5_page::H5Page;
use super::i18n::{self, fill, Dict, Lang};
use super::session::ErrorView;
use super::{render_page, LangQuery, Page};
use crate::app::App;
use crate::peer::ledger::{QuotaView, Spending};
use crate::peer::service::{self, BindAsk};
use crate::peer::PeerRefusal;
use crate::service::{people, ServiceError};

pub fn router() -> Router<App> {
    Router::new().route("/h5/quotas", get(show).post(act))
}

pub struct QuotaLine {
    pub holder_side: bool,
    /// The other province's name.
    pub province: String,
    /// Its code, for the forms only.
    pub province_code: String,
    /// The other person's number, for the forms only.
    pub other_psn_no: String,
    /// The other person as the page names him.
    pub other: String,
    pub status: String,
    pub active: bool,
    pub amount: String,
    /// On the holder's side, what the relative spent; `None` when the other province could
    /// not be asked.
    pub spends: Option<Vec<SpendLine>>,
}

/// One purchase (or its cancel) the relative paid from the quota.
pub struct SpendLine {
    pub date: String,
    pub place: String,
    pub what: String,
}

pub struct Confirm {
    pub op: String,
    pub province: String,
    pub relative: String,
    pub amount: String,
    pub certno: String,
    pub name: String,
    pub relationship: String,
    pub text: String,
    /// A lowering's id, made when this confirmation is shown: submitting it twice (or again
    /// after the other province did not answer) lowers once.
    pub lower_id: String,
}

#[derive(Template)]
#[template(path = "h5_quotas.html")]
struct QuotasTemplate {
    p: Page,
    lines: Vec<QuotaLine>,
    confirm: Option<Confirm>,
    done: Option<String>,
    error: Option<ErrorView>,
    provinces: Vec<Opt>,
    relationships: Vec<Opt>,
}

#[derive(Debug, Default, Deserialize)]
pub struct QuotaForm {
    csrf: Option<String>,
    op: Option<String>,
    province: Option<String>,
    relative: Option<String>,
    amount: Option<String>,
    certno: Option<String>,
    name: Option<String>,
    relationship: Option<String>,
    confirmed: Option<String>,
    lower_id: Option<String>,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_string()
}

/// The person at the other end, by his masked name when this side knows him.
async fn person_label(app: &App, t: &Dict, psn_no: &str) -> String {
    match people::who(app, psn_no).await {
        Ok(p) if !p.name_masked.is_empty() => p.name_masked,
        _ => t.quota_family.to_string(),
    }
}

async fn institution_name(app: &App, code: &str) -> Option<String> {
    let code = code.to_string();
    app.read(move |e| e.state().institutions.get(&code).map(|i| i.name.clone()))
        .await
        .ok()
        .flatten()
}

async fn spend_lines(app: &App, t: &Dict, spends: &[Spending]) -> Vec<SpendLine> {
    let mut out = Vec::with_capacity(spends.len());
    for s in spends {
        let known_here = match &s.fixmedins_name {
            Some(name) => Some(name.clone()),
            None => institution_name(app, &s.fixmedins_code).await,
        };
        let place = known_here.unwrap_or_else(|| t.quota_spend_place_unknown.to_string());
        let what = if s.amount.is_negative() {
            let back = s.amount.saturating_neg();
            fill(t.quota_spend_returned, &[&back.to_string()])
        } else {
            fill(t.quota_spend_paid, &[&s.amount.to_string()])
        };
        out.push(SpendLine {
            date: s.at.get(..10).unwrap_or(&s.at).to_string(),
            place,
            what,
        });
    }
    out
}

async fn line(app: &App, lang: Lang, v: &QuotaView) -> QuotaLine {
    let t = lang.t();
    let (province, other_psn_no) = if v.holder_side {
        (v.parties.relative_province, &v.parties.relative_psn_no)
    } else {
        (v.parties.holder_province, &v.parties.holder_psn_no)
    };
    // A failure to reach the other province costs the holder this list, never the page.
    let spends = if v.holder_side {
        match service::spends(app, &v.parties).await {
            Ok(s) => Some(spend_lines(app, t, &s).await),
            Err(_) => None,
        }
    } else {
        Some(Vec::new())
    };
    QuotaLine {
        holder_side: v.holder_side,
        province: i18n::province(lang, province),
        province_code: format!("{province:02}"),
        other_psn_no: other_psn_no.clone(),
        other: person_label(app, t, other_psn_no).await,
        status: match v.status.as_str() {
            "active" => t.quota_status_active,
            "ending" => t.quota_status_ending,
            _ => t.quota_status_ended,
        }
        .to_string(),
        active: v.status == "active",
        amount: v.amount.to_string(),
        spends,
    }
}

async fn lines(app: &App, lang: Lang, psn_no: &str) -> (Vec<QuotaLine>, Option<ErrorView>) {
    match service::quotas_of(app, psn_no).await {
        Ok(views) => {
            let mut out = Vec::with_capacity(views.len());
            for v in &views {
                out.push(line(app, lang, v).await);
            }
            (out, None)
        }
        Err(e) => (Vec::new(), Some(ErrorView::of(lang, &e))),
    }
}

/// The provinces this one has joined with, by name, for the bind form.
fn province_options(app: &App, lang: Lang, chosen: &str) -> Vec<Opt> {
    app.peers
        .iter()
        .flat_map(|p| p.peers())
        .map(|peer| {
            let value = format!("{:02}", peer.code);
            Opt {
                label: i18n::province(lang, peer.code),
                selected: value == chosen,
                value,
            }
        })
        .collect()
}

fn relationship_options(lang: Lang, chosen: &str) -> Vec<Opt> {
    RELATIONSHIP_CODES
        .iter()
        .filter_map(|c| Relationship::from_code(*c))
        .map(|r| Opt {
            value: r.to_string(),
            label: i18n::relationship(lang, r),
            selected: r.to_string() == chosen,
        })
        .collect()
}

async fn page_for(app: &App, h5: &H5Page) -> Page {
    h5.frame(app, h5.t().quota_title, "quotas", "/h5/quotas", &[])
        .await
}

async fn show(State(app): State<App>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5/quotas").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let lang = h5.lang;
    let page = page_for(&app, &h5).await;
    let (lines, error) = lines(&app, lang, &h5.psn_no).await;
    let status = if error.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    render_page(
        &page,
        status,
        &QuotasTemplate {
            p: page.clone(),
            lines,
            confirm: None,
            done: None,
            error,
            provinces: province_options(&app, lang, ""),
            relationships: relationship_options(lang, ""),
        },
    )
}

async fn act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<QuotaForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let h5 = match H5Page::open_form(&app, &headers, q.lang, csrf, "/h5/quotas").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, &h5.psn_no);
    let t = h5.t();
    let page = page_for(&app, &h5).await;
    let op = text(&form.op);
    let province = text(&form.province);
    let relative = text(&form.relative);
    let amount_text = text(&form.amount);
    let amount = Fen::parse_yuan(&amount_text).ok();
    let province_code = province.parse::<u32>().ok().filter(|_| province.len() == 2);
    let confirmed = text(&form.confirmed) == "1";
    let mut outcome: Result<Option<String>, ErrorView> = Ok(None);
    let mut confirm = None;
    let parties = |own: u32, p: u32| QuotaParties {
        holder_province: own,
        holder_psn_no: psn_no.clone(),
        relative_province: p,
        relative_psn_no: relative.clone(),
    };
    let own = app.peers.as_ref().map(|p| p.province);
    match (op.as_str(), province_code, own) {
        (_, None, _) => outcome = Err(ErrorView::input(t.quota_province_missing)),
        (_, _, None) => {
            outcome = Err(ErrorView::of(
                lang,
                &ServiceError::Peer(PeerRefusal::NotConfigured),
            ))
        }
        ("grant" | "lower", Some(_), Some(_)) if amount.is_none_or(|a| !a.is_positive()) => {
            outcome = Err(ErrorView::input(t.quota_amount_missing))
        }
        (op_name, Some(p), Some(own)) if !confirmed => {
            let place = i18n::province(lang, p);
            let what = match op_name {
                "bind" => fill(t.quota_confirm_bind, &[&place, &text(&form.name)]),
                "grant" => fill(t.quota_confirm_grant, &[&amount_text, &place]),
                "lower" => fill(t.quota_confirm_lower, &[&amount_text]),
                _ => t.quota_confirm_end.to_string(),
            };
            confirm = Some(Confirm {
                lower_id: match op_name {
                    "lower" => service::new_lower_id(own),
                    _ => String::new(),
                },
                op: op_name.to_string(),
                province: province.clone(),
                relative: relative.clone(),
                amount: amount_text.clone(),
                certno: text(&form.certno),
                name: text(&form.name),
                relationship: text(&form.relationship),
                text: what,
            });
        }
        ("bind", Some(p), Some(_)) => {
            let ask = BindAsk {
                holder_psn_no: psn_no.clone(),
                province: p,
                relative_certno: text(&form.certno),
                relative_name: text(&form.name),
                relationship: text(&form.relationship),
                begin: app.clock.now().date().format("%Y-%m-%d").to_string(),
            };
            outcome = service::bind(&app, &ask)
                .await
                .map(|_| Some(t.quota_done_bind.to_string()))
                .map_err(|e| ErrorView::of(lang, &e));
        }
        ("grant", Some(p), Some(own)) => {
            let a = amount.unwrap_or(Fen::ZERO);
            outcome = service::grant(&app, &parties(own, p), a)
                .await
                .map(|_| Some(fill(t.quota_done_grant, &[&a.to_string()])))
                .map_err(|e| ErrorView::of(lang, &e));
        }
        ("lower", Some(p), Some(own)) => {
            let a = amount.unwrap_or(Fen::ZERO);
            // A form from before the id was carried gets one now: it still lowers, once
            // per submission, as it did.
            let lower_id = Some(text(&form.lower_id))
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| service::new_lower_id(own));
            let lowered = service::lower(&app, &parties(own, p), a, &lower_id).await;
            if let Err(ServiceError::Peer(PeerRefusal::LowerUnanswered { .. })) = &lowered {
                // The same confirmation again, with its id: confirming later lowers at
                // most once, whatever became of this try.
                confirm = Some(Confirm {
                    op: op.clone(),
                    province: province.clone(),
                    relative: relative.clone(),
                    amount: amount_text.clone(),
                    certno: String::new(),
                    name: String::new(),
                    relationship: String::new(),
                    text: fill(t.quota_confirm_lower, &[&amount_text]),
                    lower_id: lower_id.clone(),
                });
            }
            outcome = lowered
                .map(|taken| Some(fill(t.quota_done_lower, &[&taken.to_string()])))
                .map_err(|e| ErrorView::of(lang, &e));
        }
        (_, Some(p), Some(own)) => {
            outcome = service::end(&app, &parties(own, p))
                .await
                .map(|_| Some(t.quota_done_end.to_string()))
                .map_err(|e| ErrorView::of(lang, &e));
        }
    }
    let (lines, list_error) = lines(&app, lang, psn_no).await;
    let (done, error, status) = match outcome {
        Ok(done) => (done, list_error, StatusCode::OK),
        Err(e) => (None, Some(e), StatusCode::UNPROCESSABLE_ENTITY),
    };
    render_page(
        &page,
        status,
        &QuotasTemplate {
            p: page.clone(),
            lines,
            confirm,
            done,
            error,
            provinces: province_options(&app, lang, &province),
            relationships: relationship_options(lang, &text(&form.relationship)),
        },
    )
    .into_response()
}
