//! `/console/lists` (issue 13, item 1): staff upload a department's contribution-category list
//! (the CSV the CLI and `POST /api/v1/staff/contribution-lists` take) and read what became of
//! every row, refused rows first. The import itself, its permission and its audit are
//! [`premiums::import_category_list`]'s; this page only reads the upload and shows the answer.

use std::collections::{BTreeSet, HashMap, HashSet};

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gongji_core::codes::Admdvs;
use gongji_core::pii::mask_name;
use gongji_engine::category_list::{self, ListReport, ListRow, RowOutcome};

use super::console::problem;
use super::console_page::ConsolePage;
use super::h5::Opt;
use super::i18n::{self, fill, Dict, Lang};
use super::session::ErrorView;
use super::{render_page, LangQuery, Page};
use crate::app::App;
use crate::service::auth::Permission;
use crate::service::{premiums, reports, ServiceError};

const PATH: &str = "/console/lists";

/// What a row's ID number tells before the import: who it is and the categories the person
/// already had for the year, so a row that repeats one is shown as unchanged.
struct Known {
    name_masked: String,
    admdvs: Admdvs,
    listed: Vec<String>,
}

pub(super) struct ListLine {
    line: u64,
    line_label: String,
    certno: String,
    name: String,
    category: String,
    due_amount: String,
    due_category: String,
    /// `refused`, `unchanged` or `marked`: the row's class and test id.
    state: &'static str,
    result: String,
    code: String,
}

pub(super) struct Summary {
    year: i32,
    read: usize,
    marked: usize,
    unchanged: usize,
    refused: usize,
    /// Each source department with its list date, as the rows name them.
    sources: Vec<String>,
}

#[derive(Template)]
#[template(path = "console_lists.html")]
struct ListsTemplate {
    p: Page,
    years: Vec<Opt>,
    rows_max: String,
    summary: Option<Summary>,
    summary_line: String,
    lines: Vec<ListLine>,
    error: Option<ErrorView>,
}

/// The years a list is usually for: the one being collected and its neighbours.
fn year_options(chosen: i32) -> Vec<Opt> {
    (chosen - 1..=chosen + 1)
        .rev()
        .map(|y| Opt {
            value: y.to_string(),
            label: y.to_string(),
            selected: y == chosen,
        })
        .collect()
}

fn view(
    cp: &ConsolePage,
    page: Page,
    year: i32,
    shown: Option<(Summary, Vec<ListLine>)>,
    error: Option<ErrorView>,
    status: StatusCode,
) -> Response {
    let t = cp.t();
    let (summary, lines) = match shown {
        Some((s, l)) => (Some(s), l),
        None => (None, Vec::new()),
    };
    let summary_line = summary
        .as_ref()
        .map(|s| {
            fill(
                t.lists_summary,
                &[&s.year, &s.read, &s.marked, &s.unchanged, &s.refused],
            )
        })
        .unwrap_or_default();
    let template = ListsTemplate {
        p: page.clone(),
        years: year_options(year),
        rows_max: fill(t.lists_file_hint, &[&(bytes_max() / 1024 / 1024)]),
        summary,
        summary_line,
        lines,
        error,
    };
    render_page(&page, status, &template)
}

/// The largest upload the pages take (the router's body limit): the file and the form's
/// few other fields.
fn bytes_max() -> usize {
    gongji_nhsa::BODY_BYTES_MAX
}

pub(super) async fn show(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang, PATH).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let page = cp.frame(cp.t().lists_title, "lists", PATH, &[]);
    if !cp.staff.role.may(Permission::MarkContributionCategories) {
        return problem(page, &ServiceError::Forbidden);
    }
    match reports::year_being_collected(&app).await {
        Ok(year) => view(&cp, page, year, None, None, StatusCode::OK),
        Err(e) => problem(page, &e),
    }
}

/// The form's fields as sent; `too_big` when the body passed the limit while being read.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    year: Option<String>,
    file: Option<Vec<u8>>,
    too_big: bool,
    unreadable: bool,
}

async fn read_upload(form: Result<Multipart, MultipartRejection>) -> Upload {
    let mut up = Upload::default();
    let Ok(mut form) = form else {
        up.unreadable = true;
        return up;
    };
    let fail = |up: &mut Upload, e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            up.too_big = true;
        } else {
            up.unreadable = true;
        }
    };
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                fail(&mut up, e);
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(c)) => bytes.extend_from_slice(&c),
                    Ok(None) => break,
                    Err(e) => {
                        fail(&mut up, e);
                        return up;
                    }
                }
            }
            up.file = Some(bytes);
            continue;
        }
        match field.text().await {
            Ok(v) if name == "csrf" => up.csrf = Some(v),
            Ok(v) if name == "year" => up.year = Some(v),
            Ok(_) => {}
            Err(e) => {
                fail(&mut up, e);
                return up;
            }
        }
    }
    up
}

pub(super) async fn upload(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let up = read_upload(form).await;
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, up.csrf.as_deref(), PATH).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let t = cp.t();
    let page = cp.frame(t.lists_title, "lists", PATH, &[]);
    if !cp.staff.role.may(Permission::MarkContributionCategories) {
        return problem(page, &ServiceError::Forbidden);
    }
    let being_collected = match reports::year_being_collected(&app).await {
        Ok(y) => y,
        Err(e) => return problem(page, &e),
    };
    let year_text = up.year.as_deref().map(str::trim).unwrap_or_default();
    let year = if year_text.is_empty() {
        Some(being_collected)
    } else {
        year_text
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
    };
    let refuse = |msg: &str, status: StatusCode| {
        let shown_year = year.unwrap_or(being_collected);
        let e = Some(ErrorView::input(msg));
        view(&cp, page.clone(), shown_year, None, e, status)
    };
    if up.too_big {
        let msg = fill(t.lists_too_big, &[&(bytes_max() / 1024 / 1024)]);
        return refuse(&msg, StatusCode::PAYLOAD_TOO_LARGE);
    }
    if up.unreadable {
        return refuse(t.lists_unreadable, StatusCode::BAD_REQUEST);
    }
    let Some(year) = year else {
        return refuse(t.lists_bad_year, StatusCode::BAD_REQUEST);
    };
    let bytes = match up.file {
        Some(b) if !b.is_empty() => b,
        _ => return refuse(t.lists_no_file, StatusCode::BAD_REQUEST),
    };
    // The service parses the file again; here the rows' own words (category as written,
    // source, date) and who they name are read for the page.
    let parsed: Vec<ListRow> = category_list::parse_list(&bytes)
        .map(|(rows, _)| rows)
        .unwrap_or_default();
    let known = match known_persons(&app, &parsed, year).await {
        Ok(k) => k,
        Err(e) => return problem(page, &e),
    };
    let report = match premiums::import_category_list(&app, &cp.staff, year, bytes).await {
        Ok(r) => r,
        Err(e @ (ServiceError::Forbidden | ServiceError::Unauthenticated)) => {
            return problem(page, &e)
        }
        Err(e) => {
            let error = Some(ErrorView::of(cp.lang, &e));
            return view(&cp, page, year, None, error, session_status(&e));
        }
    };
    let names = match category_names(&app, &report, &parsed, &known, year).await {
        Ok(n) => n,
        Err(e) => return problem(page, &e),
    };
    let shown = results(cp.lang, t, year, &report, &parsed, &known, &names);
    view(&cp, page, year, Some(shown), None, StatusCode::OK)
}

fn session_status(e: &ServiceError) -> StatusCode {
    super::session::status_of(e)
}

/// Each row's person (by ID number) before the import, and the categories already listed
/// for the year.
async fn known_persons(
    app: &App,
    rows: &[ListRow],
    year: i32,
) -> Result<HashMap<String, Known>, ServiceError> {
    let certnos: Vec<String> = rows
        .iter()
        .map(|r| r.certno.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    app.read(move |engine| {
        let state = engine.state();
        certnos
            .into_iter()
            .filter_map(|c| {
                let p = state.persons.by_certno(&c)?;
                let listed = state
                    .contribution_categories
                    .get(&(p.psn_no.clone(), year))
                    .cloned()
                    .unwrap_or_default();
                let known = Known {
                    name_masked: mask_name(p.name.reveal()),
                    admdvs: p.admdvs,
                    listed,
                };
                Some((c, known))
            })
            .collect()
    })
    .await
    .map_err(ServiceError::from)
}

/// The Chinese names of the categories the marked rows name and give, per (region, code).
async fn category_names(
    app: &App,
    report: &ListReport,
    parsed: &[ListRow],
    known: &HashMap<String, Known>,
    year: i32,
) -> Result<HashMap<(Admdvs, String), String>, ServiceError> {
    let by_line: HashMap<u64, &ListRow> = parsed.iter().map(|r| (r.line, r)).collect();
    let mut wanted: Vec<(Admdvs, String)> = Vec::new();
    for r in &report.rows {
        if let RowOutcome::Marked {
            category,
            due_category,
            ..
        } = &r.outcome
        {
            let Some(k) = by_line.get(&r.line).and_then(|row| known.get(&row.certno)) else {
                continue;
            };
            wanted.push((k.admdvs, category.clone()));
            wanted.push((k.admdvs, due_category.clone()));
        }
    }
    app.read(move |engine| {
        let policies = engine.policies();
        wanted
            .into_iter()
            .filter_map(|(admdvs, code)| {
                let name = policies
                    .for_admdvs(admdvs)?
                    .contribution
                    .iter()
                    .flat_map(|c| &c.years)
                    .find(|y| y.year == year)?
                    .category(&code)?
                    .name_zh
                    .clone();
                Some(((admdvs, code), name))
            })
            .collect()
    })
    .await
    .map_err(ServiceError::from)
}

fn results(
    lang: Lang,
    t: &Dict,
    year: i32,
    report: &ListReport,
    parsed: &[ListRow],
    known: &HashMap<String, Known>,
    names: &HashMap<(Admdvs, String), String>,
) -> (Summary, Vec<ListLine>) {
    let by_line: HashMap<u64, &ListRow> = parsed.iter().map(|r| (r.line, r)).collect();
    let sources: BTreeSet<(String, String)> = parsed
        .iter()
        .map(|r| {
            (
                r.source_dept.clone(),
                r.list_date.format("%Y-%m-%d").to_string(),
            )
        })
        .collect();
    // What each person had before, grown row by row in the file's order: a row naming a
    // category the person already had (before, or from an earlier row) changed nothing.
    let mut had: HashMap<String, HashSet<String>> = known
        .iter()
        .map(|(c, k)| (c.clone(), k.listed.iter().cloned().collect()))
        .collect();
    let name_of = |admdvs: Option<Admdvs>, code: &str| -> String {
        let zh = admdvs
            .and_then(|a| names.get(&(a, code.to_string())))
            .map(String::as_str)
            .unwrap_or(code);
        i18n::contribution_category(lang, code, zh)
    };
    let mut lines = Vec::with_capacity(report.rows.len());
    let mut unchanged = 0;
    for r in &report.rows {
        let row = by_line.get(&r.line).copied();
        let person = row.and_then(|row| known.get(&row.certno));
        let admdvs = person.map(|k| k.admdvs);
        let mut line = ListLine {
            line: r.line,
            line_label: fill(t.lists_line_n, &[&r.line]),
            certno: r.certno.clone(),
            name: person.map(|k| k.name_masked.clone()).unwrap_or_default(),
            category: row.map(|row| row.category.clone()).unwrap_or_default(),
            due_amount: String::new(),
            due_category: String::new(),
            state: "refused",
            result: String::new(),
            code: String::new(),
        };
        match &r.outcome {
            RowOutcome::Marked {
                category,
                due_category,
                due_amount,
                ..
            } => {
                let seen = row
                    .map(|row| had.entry(row.certno.clone()).or_default())
                    .is_some_and(|set| !set.insert(category.clone()));
                line.category = name_of(admdvs, category);
                line.due_category = name_of(admdvs, due_category);
                line.due_amount = fill(t.lists_yuan, &[due_amount]);
                if seen {
                    unchanged += 1;
                    line.state = "unchanged";
                    line.result = t.lists_unchanged.to_string();
                } else {
                    line.state = "marked";
                    line.result = t.lists_marked.to_string();
                }
            }
            RowOutcome::Refused { code, message } => {
                line.result = fill(t.lists_refused_because, &[&in_words(lang, message)]);
                line.code = (*code).to_string();
            }
        }
        lines.push(line);
    }
    // Refused rows first: they are what the clerk has to act on.
    lines.sort_by_key(|l| (l.state != "refused", l.line));
    let summary = Summary {
        year,
        read: report.rows.len(),
        marked: report.marked() - unchanged,
        unchanged,
        refused: report.refused(),
        sources: sources
            .into_iter()
            .map(|(dept, date)| fill(t.lists_source, &[&dept, &date]))
            .collect(),
    };
    (summary, lines)
}

/// A refusal's message as a Chinese page shows it: the parser writes some details as
/// "中文 / English"; the Chinese page keeps the Chinese half, the English page both.
fn in_words(lang: Lang, message: &str) -> String {
    match (lang, message.split_once(" / ")) {
        (Lang::Zh, Some((zh, _))) => zh.to_string(),
        _ => message.to_string(),
    }
}
