//! `/console/collection` and `/console/agents` (issue 13): collection progress of residents'
//! premiums per region, category, channel or agent against the year before, with a bar chart
//! and its CSV; the collecting agents with today's statements, and registering one.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::Datelike;
use gongji_store::read::CollectionGroup;
use serde::Deserialize;

use super::charts::{self, BarChart};
use super::console::{axis_yuan, problem};
use super::console_page::{here_with, ConsolePage};
use super::h5::Opt;
use super::i18n::{self, fill, Dict};
use super::session::{field, ErrorView};
use super::{href, render_page, LangQuery, Page};
use crate::app::App;
use crate::service::agents::{self, AGENT_KINDS};
use crate::service::reports::{self, CollectionLine, CollectionReport};
use crate::service::ServiceError;

#[derive(Deserialize, Default)]
pub(super) struct CollectionQuery {
    lang: Option<String>,
    year: Option<String>,
    by: Option<String>,
}

#[derive(Template)]
#[template(path = "console_collection.html")]
struct CollectionTemplate {
    p: Page,
    years: Vec<Opt>,
    groupings: Vec<Opt>,
    csv_href: String,
    group_title: String,
    persons_h: String,
    amount_h: String,
    prev_persons_h: String,
    prev_amount_h: String,
    chart_title: String,
    chart: Option<BarChart>,
    lines: Vec<CollectionLine>,
    total: Option<CollectionLine>,
    error: Option<ErrorView>,
}

fn grouping_label(t: &Dict, by: CollectionGroup) -> &'static str {
    match by {
        CollectionGroup::Region => t.col_by_region,
        CollectionGroup::Category => t.col_by_category,
        CollectionGroup::Channel => t.col_by_channel,
        CollectionGroup::Agent => t.col_by_agent,
    }
}

/// The year and grouping asked for: this year and by region unless chosen.
/// The year and grouping asked for; without a year, the one being collected today.
async fn chosen(app: &App, q: &CollectionQuery) -> Result<(i32, CollectionGroup), ServiceError> {
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => reports::year_being_collected(app).await?,
        Some(y) => y
            .parse()
            .map_err(|_| ServiceError::BadRequest("待遇年度应为四位年份。".into()))?,
    };
    let by = match q.by.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => CollectionGroup::Region,
        Some(b) => CollectionGroup::parse(b).ok_or_else(|| {
            ServiceError::BadRequest("分组应为地区、参保类别、缴费渠道或代收点。".into())
        })?,
    };
    Ok((year, by))
}

/// Two bars per group, this year's then the year before's; the template tells them apart
/// by their position.
fn chart(t: &Dict, report: &CollectionReport) -> Option<BarChart> {
    if report.lines.is_empty() {
        return None;
    }
    let (y, p) = (report.year, report.year - 1);
    let mut values = Vec::with_capacity(report.lines.len() * 2);
    for l in &report.lines {
        values.push((
            l.name.clone(),
            l.amount.fen(),
            fill(t.col_bar_title, &[&l.name, &y, &l.amount, &l.persons]),
        ));
        values.push((
            String::new(),
            l.prev_amount.fen(),
            fill(
                t.col_bar_title,
                &[&l.name, &p, &l.prev_amount, &l.prev_persons],
            ),
        ));
    }
    Some(charts::bar_chart(&values, axis_yuan, 2))
}

pub(super) async fn collection(
    State(app): State<App>,
    Query(q): Query<CollectionQuery>,
    headers: HeaderMap,
) -> Response {
    let query = [("year", field(&q.year)), ("by", field(&q.by))];
    let here = here_with("/console/collection", &query);
    let cp = match ConsolePage::open(&app, &headers, q.lang.clone(), &here).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, t) = (cp.lang, cp.t());
    let page = cp.frame(t.col_title, "collection", "/console/collection", &query);
    let (year, by, report, error) = match chosen(&app, &q).await {
        Ok((year, by)) => match reports::collection_report(&app, &cp.staff, year, by).await {
            Ok(r) => (year, by, Some(r), None),
            Err(e @ (ServiceError::Forbidden | ServiceError::Unauthenticated)) => {
                return problem(page, &e)
            }
            Err(e) => (year, by, None, Some(ErrorView::of(lang, &e))),
        },
        Err(e) => (
            app.clock.now().year(),
            CollectionGroup::Region,
            None,
            Some(ErrorView::of(lang, &e)),
        ),
    };
    let report = report.map(|mut r| {
        for l in &mut r.lines {
            l.name = i18n::collection_group_name(lang, by, &l.group, &l.name);
        }
        r
    });
    let this_year = app.clock.now().year();
    let years = (this_year - 5..=this_year + 1)
        .rev()
        .map(|y| Opt {
            value: y.to_string(),
            label: y.to_string(),
            selected: y == year,
        })
        .collect();
    // By agent only for those who manage agents (service/reports.rs).
    let sees_agents = cp
        .staff
        .role
        .may(crate::service::auth::Permission::ManageAgents);
    let groupings = CollectionGroup::ALL
        .iter()
        .filter(|g| sees_agents || **g != CollectionGroup::Agent)
        .map(|g| Opt {
            value: g.code().to_string(),
            label: grouping_label(t, *g).to_string(),
            selected: *g == by,
        })
        .collect();
    let prev = year - 1;
    let template = CollectionTemplate {
        p: page.clone(),
        years,
        groupings,
        csv_href: href(
            "/console/collection.csv",
            &[("year", year.to_string()), ("by", by.code().to_string())],
        ),
        group_title: i18n::collection_group_title(lang, by).to_string(),
        persons_h: fill(t.col_persons_of, &[&year]),
        amount_h: fill(t.col_amount_of, &[&year]),
        prev_persons_h: fill(t.col_persons_of, &[&prev]),
        prev_amount_h: fill(t.col_amount_of, &[&prev]),
        chart_title: fill(t.col_chart, &[&year, &prev]),
        chart: report.as_ref().and_then(|r| chart(t, r)),
        lines: report.as_ref().map(|r| r.lines.clone()).unwrap_or_default(),
        total: report.map(|r| r.total),
        error,
    };
    render_page(&page, StatusCode::OK, &template)
}

pub(super) async fn collection_csv(
    State(app): State<App>,
    Query(q): Query<CollectionQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang.clone(), "/console/collection").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let page = cp.frame(cp.t().col_title, "collection", "/console/collection", &[]);
    let report = match chosen(&app, &q).await {
        Ok((year, by)) => reports::collection_report(&app, &cp.staff, year, by).await,
        Err(e) => Err(e),
    };
    let body = match report.and_then(|r| Ok((reports::collection_csv(&r)?, r))) {
        Ok(b) => b,
        Err(e) => return problem(page, &e),
    };
    let name = format!("collection-{}-{}.csv", body.1.year, body.1.by.code());
    let mut resp = (StatusCode::OK, body.0).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

// ---- agents ----

pub(super) struct AgentLine {
    agent_id: String,
    name: String,
    region: String,
    kind: String,
    rows: u64,
    total: String,
    balanced: bool,
}

#[derive(Template)]
#[template(path = "console_agents.html")]
struct AgentsTemplate {
    p: Page,
    agents: Vec<AgentLine>,
    kinds: Vec<Opt>,
    /// The token of the agent just registered, shown this once.
    new_token: Option<(String, String)>,
    form: AgentForm,
    error: Option<ErrorView>,
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct AgentForm {
    csrf: Option<String>,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    admdvs: String,
    #[serde(default)]
    kind: String,
}

fn kind_label(t: &Dict, kind: &str) -> &'static str {
    match kind {
        "village_committee" => t.ag_kind_village,
        "bank_branch" => t.ag_kind_bank,
        "school" => t.ag_kind_school,
        _ => t.ag_kind_other,
    }
}

async fn agents_view(
    app: &App,
    cp: &ConsolePage,
    form: AgentForm,
    new_token: Option<(String, String)>,
    error: Option<ErrorView>,
) -> Response {
    let (lang, t) = (cp.lang, cp.t());
    let page = cp.frame(t.ag_title, "agents", "/console/agents", &[]);
    let list = match agents::agents_today(app, &cp.staff).await {
        Ok(l) => l,
        Err(e) => return problem(page, &e),
    };
    let agents = list
        .into_iter()
        .map(|(a, st)| AgentLine {
            region: gongji_core::codes::Admdvs::parse(&a.admdvs)
                .map(|c| super::i18n::region_name(lang, c, &a.admdvs))
                .unwrap_or_else(|| a.admdvs.clone()),
            kind: kind_label(t, &a.kind).to_string(),
            agent_id: a.agent_id,
            name: a.name,
            rows: st.rows,
            total: st.total.to_string(),
            balanced: st.balanced,
        })
        .collect();
    let kinds = AGENT_KINDS
        .iter()
        .map(|k| Opt {
            value: (*k).to_string(),
            label: kind_label(t, k).to_string(),
            selected: *k == form.kind,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let template = AgentsTemplate {
        p: page.clone(),
        agents,
        kinds,
        new_token,
        form,
        error,
    };
    render_page(&page, status, &template)
}

pub(super) async fn agents_page(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang, "/console/agents").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    agents_view(&app, &cp, AgentForm::default(), None, None).await
}

/// Registers an agent and shows its token on the answer page only: it is never stored.
pub(super) async fn agents_add(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<AgentForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, csrf, "/console/agents").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    match agents::add_agent(
        &app,
        &cp.staff,
        &form.agent_id,
        &form.name,
        &form.admdvs,
        &form.kind,
    )
    .await
    {
        Ok((row, token)) => {
            let shown = Some((row.name, token));
            agents_view(&app, &cp, AgentForm::default(), shown, None).await
        }
        Err(e @ (ServiceError::Forbidden | ServiceError::Unauthenticated)) => problem(
            cp.frame(cp.t().ag_title, "agents", "/console/agents", &[]),
            &e,
        ),
        Err(e) => {
            let error = Some(ErrorView::of(cp.lang, &e));
            agents_view(&app, &cp, form, None, error).await
        }
    }
}
