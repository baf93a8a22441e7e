//! `/console/...`: the bureau staff's console, on the service layer only.
//!
//! Sign in with the username and password made by `gongji staff add`; search persons; a
//! person's record with bindings, usage and records (every read audited by the service);
//! suspend and lift mutual aid with a reason (R-S7); recovery cases (追回): open (auditors and
//! admins) and record repayment; the mutual-aid report with SVG charts by day and by
//! institution kind, and its CSV; the audit log. The role model is the service's
//! ([`Role::may`]): the pages only hide what a role may not use, the service refuses it.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, NaiveDate};
use gongji_core::domain::BindingStatus;
use gongji_core::Fen;
use gongji_store::read::{AuditQuery, RecoveryQuery, ReportRow};
use serde::Deserialize;

use super::charts::{self, BarChart, HBar};
use super::console_collection;
use super::console_lists;
use super::console_page::{here_with, ConsolePage};
use super::csrf;
use super::h5::{BindingRow, Opt, PersonView};
use super::i18n::{self, fill, Dict, Lang};
use super::session::{
    self, field, parse_date_field, parse_yuan_field, see_other, see_other_with_session, ErrorView,
};
use super::{href, lang_of, render_page, LangQuery, NavLink, Page, UserBar};
use crate::api::auth::ClientIp;
use crate::app::App;
use crate::service::auth::{self, Permission, Role};
use crate::service::family::BindingView;
use crate::service::records::RecordFilter;
use crate::service::reports;
use crate::service::staff::{self, RecoveryOpening, Staff};
use crate::service::ServiceError;

/// Records shown on a person's page.
const PERSON_RECORDS: u32 = 50;
/// Rows of the recovery list and the audit log on one page.
const LIST_ROWS: u32 = 100;
/// The report's default period, in days up to today.
const REPORT_DEFAULT_DAYS: i64 = 30;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console", get(home))
        .route("/console/signin", post(signin))
        .route("/console/signout", post(signout))
        .route("/console/persons", get(persons))
        .route("/console/persons/:psn_no", get(person).post(person_act))
        .route("/console/bindings/:id", post(binding_act))
        .route("/console/recovery", get(cases).post(cases_act))
        .route("/console/bubao", get(bubao_page).post(bubao_run))
        .route("/console/reports", get(report))
        .route("/console/reports.csv", get(report_csv))
        .route("/console/collection", get(console_collection::collection))
        .route(
            "/console/collection.csv",
            get(console_collection::collection_csv),
        )
        .route(
            "/console/agents",
            get(console_collection::agents_page).post(console_collection::agents_add),
        )
        .route(
            "/console/lists",
            get(console_lists::show).post(console_lists::upload),
        )
        .route("/console/audit", get(audit_log))
        .route("/console/transfers", get(transfers))
}

/// Every audit action the console names, in one table: the code the log stores, and its
/// label in Chinese and English. An action missing here is shown as its code.
const AUDIT_ACTIONS: &[(&str, &str, &str)] = &[
    ("bind", "绑定共济", "binding made"),
    ("change_end", "修改共济终止日期", "end date changed"),
    ("set_limits", "设置共济限额", "limits set"),
    ("unbind", "解除共济绑定", "unbound"),
    ("suspend", "暂停共济", "mutual aid suspended"),
    ("lift", "恢复共济", "suspension lifted"),
    (
        "end_with_insurance",
        "随参保终止结束共济",
        "ended with the insurance",
    ),
    ("recovery_open", "发起追回", "recovery opened"),
    ("recovery_repaid", "登记追回款已归还", "recovery repaid"),
    ("premium_paid", "代缴居民医保保费", "premium paid"),
    (
        "contribution_list_imported",
        "导入缴费人群名单",
        "category list imported",
    ),
    (
        "bubao",
        "补报统筹基金（缴费前的结算）",
        "fund share paid retroactively",
    ),
    (
        "review_submitted",
        "提交登记或更正申请",
        "request sent for review",
    ),
    (
        "review_approved",
        "审核通过登记或更正申请",
        "request approved",
    ),
    (
        "review_rejected",
        "审核退回登记或更正申请",
        "request rejected",
    ),
    (
        "review_list_read",
        "查看待审核申请",
        "requests to review read",
    ),
    ("sign_in", "参保人登录", "person signed in"),
    ("staff_sign_in", "经办人员登录", "staff signed in"),
    ("operator_sign_in", "收费员登录", "till operator signed in"),
    ("staff_search_persons", "查询参保人", "persons searched"),
    ("staff_read_person", "查看参保人信息", "person read"),
    ("staff_read_records", "查看参保人记录", "records read"),
    (
        "staff_read_payments",
        "查看共济支付记录",
        "mutual-aid payments read",
    ),
    (
        "proxy_consent_given",
        "授权亲情账户",
        "family account consent given",
    ),
    (
        "proxy_consent_revoked",
        "取消亲情账户授权",
        "family account consent revoked",
    ),
    (
        "proxy_used",
        "用亲情账户付款",
        "paid with a family account code",
    ),
];

fn action_label(lang: Lang, code: &str) -> String {
    AUDIT_ACTIONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, en)| if lang.is_en() { *en } else { *zh })
        .unwrap_or(code)
        .to_string()
}

/// Names for the people and places the log and the lists refer to by number: persons
/// (masked), institutions, staff and till operators.
#[derive(Default)]
struct Names {
    persons: BTreeMap<String, String>,
    institutions: BTreeMap<String, String>,
}

impl Names {
    async fn load(app: &App, psn_nos: Vec<String>) -> Names {
        app.read(move |e| {
            let s = e.state();
            Names {
                persons: psn_nos
                    .into_iter()
                    .filter_map(|p| s.persons.get(&p).map(|x| (p, x.name.masked())))
                    .collect(),
                institutions: s
                    .institutions
                    .values()
                    .map(|i| (i.code.clone(), i.name.clone()))
                    .collect(),
            }
        })
        .await
        .unwrap_or_default()
    }

    fn person(&self, psn_no: &str) -> String {
        self.persons
            .get(psn_no)
            .cloned()
            .unwrap_or_else(|| psn_no.to_string())
    }

    fn institution(&self, code: &str) -> String {
        self.institutions
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// Who did it: `staff:wang` is 经办人员 wang, a psn_no the person's masked name.
    fn actor(&self, t: &Dict, actor: &str) -> String {
        if let Some(u) = actor.strip_prefix("staff:") {
            return fill(t.con_who_staff, &[&u]);
        }
        if let Some((u, code)) = actor
            .strip_prefix("operator:")
            .and_then(|r| r.split_once('@'))
        {
            return fill(t.con_who_operator, &[&u, &self.institution(code)]);
        }
        if let Some(code) = actor.strip_prefix("institution:") {
            return self.institution(code);
        }
        if actor == "import" {
            return t.con_who_import.to_string();
        }
        self.person(actor)
    }

    /// What it was about: `binding:12` is 共济绑定 #12, `person:…` the person's name.
    fn subject(&self, t: &Dict, subject: &str) -> String {
        if let Some(id) = subject.strip_prefix("binding:") {
            return fill(t.con_subject_binding, &[&id]);
        }
        if let Some(p) = subject.strip_prefix("person:") {
            return self.person(p);
        }
        if let Some(code) = subject.strip_prefix("institution:") {
            return self.institution(code);
        }
        if let Some(id) = subject.strip_prefix("case:") {
            return fill(t.con_subject_case, &[&id]);
        }
        if subject == "persons" {
            return t.con_subject_persons.to_string();
        }
        if subject.starts_with("staff:") || subject.starts_with("operator:") {
            return self.actor(t, subject);
        }
        subject.to_string()
    }
}

/// The psn_nos an actor or subject names, to look their names up in one read.
fn named_persons<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<String> {
    texts
        .filter_map(|x| {
            let x = x.strip_prefix("person:").unwrap_or(x);
            (!x.contains(':') && !x.is_empty() && x != "import").then(|| x.to_string())
        })
        .collect()
}

fn role_name(lang: Lang, r: Role) -> &'static str {
    let t = lang.t();
    match r {
        Role::Clerk => t.role_clerk,
        Role::Auditor => t.role_auditor,
        Role::Admin => t.role_admin,
    }
}

pub(super) fn frame(
    lang: Lang,
    remember: bool,
    title: &str,
    tab: &str,
    path: &str,
    query: &[(&str, String)],
    staff: Option<&Staff>,
) -> Page {
    let t = lang.t();
    let page = Page::at(lang, remember, title, "console", path, query);
    let Some(s) = staff else {
        return page;
    };
    let mut tabs = vec![
        NavLink::new("/console", t.con_tab_persons, tab == "persons"),
        NavLink::new("/console/recovery", t.con_tab_recovery, tab == "recovery"),
        NavLink::new("/console/bubao", t.con_tab_bubao, tab == "bubao"),
        NavLink::new("/console/reports", t.con_tab_reports, tab == "reports"),
        NavLink::new(
            "/console/collection",
            t.con_tab_collection,
            tab == "collection",
        ),
    ];
    if s.role.may(Permission::MarkContributionCategories) {
        tabs.push(NavLink::new(
            "/console/lists",
            t.con_tab_lists,
            tab == "lists",
        ));
    }
    if s.role.may(Permission::ManageAgents) {
        tabs.push(NavLink::new(
            "/console/agents",
            t.con_tab_agents,
            tab == "agents",
        ));
    }
    if s.role.may(Permission::ReviewRequests) {
        tabs.push(NavLink::new(
            "/console/reviews",
            t.rv_con_tab,
            tab == "reviews",
        ));
    }
    if app_has_peers(staff) {
        tabs.push(NavLink::new(
            "/console/transfers",
            t.con_tab_transfers,
            tab == "transfers",
        ));
    }
    if s.role.may(Permission::ReadAuditLog) {
        tabs.push(NavLink::new(
            "/console/audit",
            t.con_tab_audit,
            tab == "audit",
        ));
    }
    page.with_subnav(tabs).with_user(Some(UserBar {
        who: fill(t.con_signed_in_as, &[&s.username, &role_name(lang, s.role)]),
        signout_action: "/console/signout",
    }))
}

#[derive(Template)]
#[template(path = "console_problem.html")]
struct ProblemTemplate {
    p: Page,
    error: ErrorView,
}

pub(super) fn problem(page: Page, e: &ServiceError) -> Response {
    let error = ErrorView::of(page.lang, e);
    render_page(
        &page,
        session::status_of(e),
        &ProblemTemplate {
            p: page.clone(),
            error,
        },
    )
}

// ---- sign-in and the start page ----

#[derive(Deserialize, Default)]
struct HomeQuery {
    lang: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct SigninForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "console_signin.html")]
struct SigninTemplate {
    p: Page,
    username: String,
    next: String,
    error: Option<ErrorView>,
}

#[derive(Template)]
#[template(path = "console_home.html")]
struct HomeTemplate {
    p: Page,
    role: String,
    may: Vec<String>,
    may_not: Vec<String>,
    q: String,
    may_cases: bool,
    counts: Vec<PendingCount>,
    cases: Vec<PendingCase>,
    suspended: Vec<PendingSuspension>,
}

/// An open recovery case on the start page.
pub struct PendingCase {
    pub id: i64,
    pub holder: String,
    pub holder_href: String,
    pub relative: String,
    pub amount: String,
    pub opened: String,
}

/// A suspended binding on the start page: who, why, when and by whom.
pub struct PendingSuspension {
    pub id: i64,
    pub holder: String,
    pub holder_href: String,
    pub relative: String,
    pub relative_href: String,
    pub reason: String,
    pub when_who: String,
}

fn person_href(psn_no: &str) -> String {
    format!("/console/persons/{}", super::encode_query_value(psn_no))
}

/// One kind of waiting work with how many there are, at the top of the start page.
pub struct PendingCount {
    pub label: &'static str,
    pub count: usize,
    pub href: &'static str,
}

/// The start page's waiting work: the counts, then the first of each list.
struct Pending {
    counts: Vec<PendingCount>,
    cases: Vec<PendingCase>,
    suspended: Vec<PendingSuspension>,
}

async fn pending(app: &App, lang: Lang, s: &Staff) -> Pending {
    let t = lang.t();
    let work = match staff::pending_work(app, s).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "console: pending work not read");
            return Pending {
                counts: Vec::new(),
                cases: Vec::new(),
                suspended: Vec::new(),
            };
        }
    };
    let mut counts = Vec::new();
    if s.role.may(Permission::ReadRecoveryCases) {
        counts.push(PendingCount {
            label: t.con_pending_cases,
            count: work.open_cases_total,
            href: "/console/recovery?status=open",
        });
    }
    if s.role.may(Permission::ReviewRequests) {
        match crate::service::reviews::pending_count(app, s).await {
            Ok(count) => counts.push(PendingCount {
                label: t.rv_con_pending,
                count,
                href: "/console/reviews",
            }),
            Err(e) => tracing::warn!(error = %e, "console: pending reviews not read"),
        }
    }
    counts.push(PendingCount {
        label: t.con_pending_suspended,
        count: work.suspended_total,
        href: "#pending-suspended-h",
    });
    let mut people: Vec<String> = Vec::new();
    for c in &work.open_cases {
        people.extend([c.holder_psn_no.clone(), c.relative_psn_no.clone()]);
    }
    for (_, sus) in &work.suspended {
        people.push(sus.by.clone());
    }
    let names = Names::load(app, named_persons(people.iter().map(String::as_str))).await;
    let cases = work
        .open_cases
        .iter()
        .map(|c| PendingCase {
            id: c.case_id,
            holder: names.person(&c.holder_psn_no),
            holder_href: person_href(&c.holder_psn_no),
            relative: names.person(&c.relative_psn_no),
            amount: c.amount.to_string(),
            opened: fill(
                t.con_when_who,
                &[&c.opened_at, &names.actor(t, &c.opened_by)],
            ),
        })
        .collect();
    let suspended = work
        .suspended
        .iter()
        .map(|(v, sus)| PendingSuspension {
            id: v.binding.id,
            holder: v.holder.name_masked.clone(),
            holder_href: person_href(&v.holder.psn_no),
            relative: v.relative.name_masked.clone(),
            relative_href: person_href(&v.relative.psn_no),
            reason: sus.reason.clone(),
            when_who: if sus.at.is_empty() {
                String::new()
            } else {
                fill(t.con_when_who, &[&sus.at, &names.actor(t, &sus.by)])
            },
        })
        .collect();
    Pending {
        counts,
        cases,
        suspended,
    }
}

/// What a role may and may not do, in words.
fn permissions(lang: Lang, role: Role) -> (Vec<String>, Vec<String>) {
    let t = lang.t();
    let all = [
        (Permission::ReadPersons, t.perm_read),
        (Permission::SuspendBindings, t.perm_suspend),
        (Permission::ReadRecoveryCases, t.perm_cases),
        (Permission::OpenRecoveryCase, t.perm_open_case),
        (Permission::RecordRepayment, t.perm_repaid),
        (Permission::Reports, t.perm_reports),
        (Permission::ReadAuditLog, t.perm_audit),
    ];
    let (yes, no): (Vec<_>, Vec<_>) = all.iter().partition(|(p, _)| role.may(*p));
    (
        yes.iter().map(|(_, s)| s.to_string()).collect(),
        no.iter().map(|(_, s)| s.to_string()).collect(),
    )
}

async fn home(State(app): State<App>, Query(q): Query<HomeQuery>, headers: HeaderMap) -> Response {
    let (lang, remember) = lang_of(
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let t = lang.t();
    match session::staff(&app, &headers).await {
        Some(s) => {
            let page = frame(
                lang,
                remember,
                t.con_title,
                "persons",
                "/console",
                &[],
                Some(&s),
            );
            let (may, may_not) = permissions(lang, s.role);
            let Pending {
                counts,
                cases,
                suspended,
            } = pending(&app, lang, &s).await;
            let template = HomeTemplate {
                p: page.clone(),
                role: role_name(lang, s.role).to_string(),
                may,
                may_not,
                q: String::new(),
                may_cases: s.role.may(Permission::ReadRecoveryCases),
                counts,
                cases,
                suspended,
            };
            render_page(&page, StatusCode::OK, &template)
        }
        None => {
            let page = frame(
                lang,
                remember,
                t.con_signin_title,
                "",
                "/console",
                &[],
                None,
            );
            render_page(
                &page,
                StatusCode::OK,
                &SigninTemplate {
                    p: page.clone(),
                    username: String::new(),
                    next: session::safe_next(q.next.as_deref(), "/console", "/console"),
                    error: None,
                },
            )
        }
    }
}

async fn signin(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    let (lang, remember) = lang_of(&q, &headers);
    if !session::same_origin(&headers) {
        return session::cross_site(lang);
    }
    if !csrf::check_pre_session(&headers, form.csrf.as_deref()) {
        return session::stale_form(lang);
    }
    let next = session::safe_next(form.next.as_deref(), "/console", "/console");
    let username = field(&form.username);
    let password = form.password.clone().unwrap_or_default();
    match auth::staff_sign_in(&app, &username, &password, source).await {
        Ok(s) => see_other_with_session(&next, Some(&s.token)),
        Err(e) => {
            let page = frame(
                lang,
                remember,
                lang.t().con_signin_title,
                "",
                "/console",
                &[],
                None,
            );
            render_page(
                &page,
                session::status_of(&e),
                &SigninTemplate {
                    p: page.clone(),
                    username,
                    next,
                    error: Some(ErrorView::of(lang, &e)),
                },
            )
        }
    }
}

async fn signout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<session::CsrfForm>,
) -> Response {
    if !session::same_origin(&headers) {
        return session::cross_site(Lang::Zh);
    }
    if !session::csrf_ok(&headers, form.csrf.as_deref()) {
        return session::stale_form(Lang::Zh);
    }
    if let Some(t) = session::token(&headers) {
        if let Err(e) = auth::sign_out(&app, &t).await {
            tracing::warn!(error = %e, "sign-out not recorded");
        }
    }
    see_other_with_session("/console", None)
}

// ---- persons ----

#[derive(Deserialize, Default)]
struct SearchQuery {
    lang: Option<String>,
    q: Option<String>,
}

#[derive(Clone)]
pub struct PersonLine {
    pub href: String,
    pub psn_no: String,
    pub name: String,
    pub certno: String,
    pub region: String,
}

#[derive(Template)]
#[template(path = "console_persons.html")]
struct PersonsTemplate {
    p: Page,
    q: String,
    found: Vec<PersonLine>,
    error: Option<ErrorView>,
}

fn region(lang: Lang, admdvs: &str) -> String {
    gongji_core::codes::Admdvs::parse(admdvs)
        .map(|a| i18n::region_name(lang, a, admdvs))
        .unwrap_or_else(|| admdvs.to_string())
}

async fn persons(
    State(app): State<App>,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    let text = field(&q.q);
    let here = href("/console/persons", &[("q", text.clone())]);
    let cp = match ConsolePage::open(&app, &headers, q.lang, &here).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let page = cp.frame(
        t.con_search_title,
        "persons",
        "/console/persons",
        &[("q", text.clone())],
    );
    let (found, error, status) = match staff::search_persons(&app, s, &text).await {
        Ok(list) => (
            list.iter()
                .map(|p| PersonLine {
                    href: format!("/console/persons/{}", super::encode_query_value(&p.psn_no)),
                    psn_no: p.psn_no.clone(),
                    name: p.name_masked.clone(),
                    certno: p.certno_masked.clone(),
                    region: region(lang, &p.admdvs),
                })
                .collect(),
            None,
            StatusCode::OK,
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
        &PersonsTemplate {
            p: page.clone(),
            q: text,
            found,
            error,
        },
    )
}

#[derive(Clone)]
pub struct StaffBinding {
    pub row: BindingRow,
    pub other: PersonView,
    pub other_href: String,
    pub suspended: bool,
    pub active: bool,
    pub recovery_href: String,
    /// A suspended binding's reason, and when and by whom it was suspended.
    pub suspension_reason: String,
    pub suspension_when_who: String,
}

#[derive(Clone)]
pub struct StaffRecord {
    pub at: String,
    pub what: String,
    pub kind: String,
    pub who: String,
    pub place: String,
    pub amount: String,
    pub outflow: bool,
    pub balance_after: String,
    pub explanation: String,
    pub entry_id: i64,
}

#[derive(Template)]
#[template(path = "console_person.html")]
struct PersonTemplate {
    p: Page,
    psn_no: String,
    name: String,
    certno: String,
    phone: String,
    gender: String,
    birth: String,
    insutype: String,
    status: String,
    status_ok: bool,
    region: String,
    employer: String,
    public_medical: bool,
    balance: String,
    year: i32,
    settlements: i64,
    medfee: String,
    own_spent: String,
    mutual_received: String,
    mutual_given: String,
    premiums_paid: String,
    as_holder: Vec<StaffBinding>,
    as_relative: Vec<StaffBinding>,
    any_active_as_holder: bool,
    records: Vec<StaffRecord>,
    may_suspend: bool,
    may_open_case: bool,
    notice: Option<String>,
    error: Option<ErrorView>,
}

fn staff_binding(lang: Lang, v: &BindingView, holder_side: bool) -> StaffBinding {
    let mut row = super::h5::binding_row(lang, v);
    let other_ref = if holder_side { &v.relative } else { &v.holder };
    row.href = format!(
        "/console/persons/{}",
        super::encode_query_value(&other_ref.psn_no)
    );
    StaffBinding {
        other: PersonView {
            name: other_ref.name_masked.clone(),
            certno: other_ref.certno_masked.clone(),
        },
        other_href: row.href.clone(),
        suspended: v.binding.status == BindingStatus::Suspended,
        active: v.binding.status == BindingStatus::Active,
        recovery_href: href(
            "/console/recovery",
            &[("binding", v.binding.id.to_string())],
        ),
        row,
        suspension_reason: String::new(),
        suspension_when_who: String::new(),
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    lang: Option<String>,
    done: Option<String>,
}

fn done_notice(t: &Dict, done: Option<&str>) -> Option<String> {
    let n = match done? {
        "suspended" => t.con_done_suspended,
        "lifted" => t.con_done_lifted,
        "suspended_all" => t.con_done_suspended_all,
        "opened" => t.con_done_opened,
        "repaid" => t.con_done_repaid,
        _ => return None,
    };
    Some(n.to_string())
}

async fn person_page(
    app: &App,
    cp: &ConsolePage,
    psn_no: &str,
) -> Result<PersonTemplate, Response> {
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let path = format!("/console/persons/{}", super::encode_query_value(psn_no));
    let page = cp.frame(t.con_person_title, "persons", &path, &[]);
    let d = match staff::person_detail(app, s, psn_no).await {
        Ok(d) => d,
        Err(e) => return Err(problem(page, &e)),
    };
    let filter = RecordFilter {
        limit: Some(PERSON_RECORDS),
        ..RecordFilter::default()
    };
    let records = staff::person_records(app, s, psn_no, &filter)
        .await
        .unwrap_or_default();
    let suspended_ids: Vec<i64> = d
        .as_holder
        .iter()
        .chain(&d.as_relative)
        .filter(|v| v.binding.status == BindingStatus::Suspended)
        .map(|v| v.binding.id)
        .collect();
    let found = staff::suspensions(app, &suspended_ids)
        .await
        .unwrap_or_default();
    let names = Names::load(app, named_persons(found.iter().map(|(_, s)| s.by.as_str()))).await;
    let with_suspension = |mut b: StaffBinding| {
        if let Some((_, sus)) = found.iter().find(|(id, _)| *id == b.row.id) {
            b.suspension_reason = sus.reason.clone();
            b.suspension_when_who = fill(t.con_when_who, &[&sus.at, &names.actor(t, &sus.by)]);
        }
        b
    };
    let p = &d.person;
    let admdvs = p.admdvs.to_string();
    Ok(PersonTemplate {
        p: page,
        psn_no: p.psn_no.clone(),
        name: p.name.reveal().to_string(),
        certno: p.certno.reveal().to_string(),
        phone: p.phone.reveal().to_string(),
        gender: i18n::gender(lang, p.gender).to_string(),
        birth: p.birth_date.to_string(),
        insutype: i18n::insutype(lang, p.insutype).to_string(),
        status: i18n::insu_status(lang, p.insu_status).to_string(),
        status_ok: p.is_insured_normally(),
        region: region(lang, &admdvs),
        employer: p.employer_name.clone(),
        public_medical: p.public_medical,
        balance: d.balance.to_string(),
        year: d.year,
        settlements: d.totals.settlements,
        medfee: d.totals.medfee_sumamt.to_string(),
        own_spent: d.totals.own_account_spent.to_string(),
        mutual_received: d.totals.acct_mulaid_pay.to_string(),
        mutual_given: d.totals.mutual_aid_given.to_string(),
        premiums_paid: d.totals.premiums_paid.to_string(),
        any_active_as_holder: d
            .as_holder
            .iter()
            .any(|v| v.binding.status == BindingStatus::Active),
        as_holder: d
            .as_holder
            .iter()
            .map(|v| with_suspension(staff_binding(lang, v, true)))
            .collect(),
        as_relative: d
            .as_relative
            .iter()
            .map(|v| with_suspension(staff_binding(lang, v, false)))
            .collect(),
        records: records
            .iter()
            .map(|r| StaffRecord {
                at: r.occurred_at.clone(),
                what: i18n::record_role(lang, r.role).to_string(),
                kind: i18n::record_kind(lang, &r.kind).to_string(),
                who: r
                    .counterpart
                    .as_ref()
                    .map(|c| c.name_masked.clone())
                    .unwrap_or_default(),
                place: r.fixmedins_name.clone().unwrap_or_default(),
                amount: r.amount.to_string(),
                outflow: r.amount < Fen::ZERO,
                balance_after: r.balance_after.map(|b| b.to_string()).unwrap_or_default(),
                explanation: r.explanation.clone(),
                entry_id: r.entry_id,
            })
            .collect(),
        may_suspend: s.role.may(Permission::SuspendBindings),
        may_open_case: s.role.may(Permission::OpenRecoveryCase),
        notice: None,
        error: None,
    })
}

async fn person(
    State(app): State<App>,
    Path(psn_no): Path<String>,
    Query(q): Query<DoneQuery>,
    headers: HeaderMap,
) -> Response {
    let here = format!("/console/persons/{}", super::encode_query_value(&psn_no));
    let cp = match ConsolePage::open(&app, &headers, q.lang, &here).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    match person_page(&app, &cp, &psn_no).await {
        Ok(mut v) => {
            v.notice = done_notice(cp.t(), q.done.as_deref());
            let page = v.p.clone();
            render_page(&page, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct ReasonForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    op: Option<String>,
    reason: Option<String>,
    back: Option<String>,
}

/// Suspends every active binding of the holder.
async fn person_act(
    State(app): State<App>,
    Path(psn_no): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<ReasonForm>,
) -> Response {
    let here = format!("/console/persons/{}", super::encode_query_value(&psn_no));
    let csrf = form.csrf.as_deref();
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, csrf, &here).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let reason = field(&form.reason);
    match staff::suspend_holder(&app, &cp.staff, &psn_no, &reason).await {
        Ok(_) => see_other(&href(&here, &[("done", "suspended_all".into())])),
        Err(e) => person_error(&app, &cp, &psn_no, &e).await,
    }
}

async fn person_error(app: &App, cp: &ConsolePage, psn_no: &str, e: &ServiceError) -> Response {
    match person_page(app, cp, psn_no).await {
        Ok(mut v) => {
            v.error = Some(ErrorView::of(cp.lang, e));
            let page = v.p.clone();
            render_page(&page, session::status_of(e), &v)
        }
        Err(r) => r,
    }
}

/// Suspend or lift one binding, with a reason (R-S7).
async fn binding_act(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<ReasonForm>,
) -> Response {
    let back = field(&form.back);
    let here = if back.is_empty() {
        "/console".to_string()
    } else {
        format!("/console/persons/{}", super::encode_query_value(&back))
    };
    let csrf = form.csrf.as_deref();
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, csrf, &here).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let s = &cp.staff;
    let Ok(id) = id.parse::<i64>() else {
        return see_other(&here);
    };
    let reason = field(&form.reason);
    let op = field(&form.op);
    let result = match op.as_str() {
        "lift" => staff::lift(&app, s, id, &reason).await.map(|_| "lifted"),
        _ => staff::suspend(&app, s, id, &reason)
            .await
            .map(|_| "suspended"),
    };
    match result {
        Ok(done) => see_other(&href(&here, &[("done", done.into())])),
        Err(e) if !back.is_empty() => person_error(&app, &cp, &back, &e).await,
        Err(e) => problem(cp.frame(cp.t().con_title, "persons", "/console", &[]), &e),
    }
}

// ---- recovery cases (追回) ----

#[derive(Deserialize, Default)]
struct CasesQuery {
    lang: Option<String>,
    status: Option<String>,
    binding: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
struct CasesForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    op: Option<String>,
    binding_id: Option<String>,
    setl_id: Option<String>,
    amount: Option<String>,
    reason: Option<String>,
    case_id: Option<String>,
}

#[derive(Clone)]
pub struct CaseView {
    pub id: i64,
    pub binding_id: i64,
    pub holder: String,
    pub holder_href: String,
    pub relative: String,
    pub relative_href: String,
    pub setl_id: String,
    pub amount: String,
    pub reason: String,
    pub open: bool,
    pub status: String,
    pub opened: String,
    pub repaid: String,
}

/// A binding whose holder's payments a recovery may be opened against.
pub struct BindingPick {
    pub id: i64,
    pub holder: String,
    pub relative: String,
    pub person_href: String,
    pub payments: Vec<PaymentPick>,
}

pub struct PaymentPick {
    pub setl_id: String,
    pub at: String,
    pub place: String,
    pub amount: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "console_cases.html")]
struct CasesTemplate {
    p: Page,
    statuses: Vec<Opt>,
    cases: Vec<CaseView>,
    pick: Option<BindingPick>,
    may_open: bool,
    may_repay: bool,
    f_binding: String,
    f_setl: String,
    f_amount: String,
    f_reason: String,
    notice: Option<String>,
    error: Option<ErrorView>,
}

async fn cases_page(app: &App, cp: &ConsolePage, status: &str) -> Result<CasesTemplate, Response> {
    let (s, t) = (&cp.staff, cp.t());
    let page = cp.frame(
        t.con_cases_title,
        "recovery",
        "/console/recovery",
        &[("status", status.to_string())],
    );
    let q = RecoveryQuery {
        status: (!status.is_empty()).then(|| status.to_string()),
        psn_no: None,
        limit: LIST_ROWS,
        offset: 0,
    };
    let rows = match staff::recovery_cases(app, s, q).await {
        Ok(r) => r,
        Err(e) => return Err(problem(page, &e)),
    };
    let mut people: Vec<&str> = Vec::new();
    for c in &rows {
        people.extend([
            c.holder_psn_no.as_str(),
            c.relative_psn_no.as_str(),
            c.opened_by.as_str(),
        ]);
        people.extend(c.repaid_by.as_deref());
    }
    let names = Names::load(app, named_persons(people.into_iter())).await;
    let cases = rows
        .iter()
        .map(|c| CaseView {
            id: c.case_id,
            binding_id: c.binding_id,
            holder: names.person(&c.holder_psn_no),
            holder_href: person_href(&c.holder_psn_no),
            relative: names.person(&c.relative_psn_no),
            relative_href: person_href(&c.relative_psn_no),
            setl_id: c.setl_id.clone(),
            amount: c.amount.to_string(),
            reason: c.reason.clone(),
            open: c.status == "open",
            status: if c.status == "open" {
                t.case_open.to_string()
            } else {
                t.case_repaid.to_string()
            },
            opened: fill(
                t.con_when_who,
                &[&c.opened_at, &names.actor(t, &c.opened_by)],
            ),
            repaid: match (&c.repaid_at, &c.repaid_by) {
                (Some(at), Some(by)) => fill(t.con_when_who, &[at, &names.actor(t, by)]),
                _ => String::new(),
            },
        })
        .collect();
    let statuses = [
        ("", t.case_all),
        ("open", t.case_open),
        ("repaid", t.case_repaid),
    ]
    .iter()
    .map(|(v, l)| Opt {
        value: v.to_string(),
        label: l.to_string(),
        selected: *v == status,
    })
    .collect();
    Ok(CasesTemplate {
        p: page,
        statuses,
        cases,
        pick: None,
        may_open: s.role.may(Permission::OpenRecoveryCase),
        may_repay: s.role.may(Permission::RecordRepayment),
        f_binding: String::new(),
        f_setl: String::new(),
        f_amount: String::new(),
        f_reason: String::new(),
        notice: None,
        error: None,
    })
}

/// The binding's payments to pick from, with `chosen` ticked.
async fn binding_pick(app: &App, s: &Staff, binding: &str, chosen: &str) -> Option<BindingPick> {
    let id = binding.trim().parse::<i64>().ok()?;
    let (view, rows) = match staff::binding_payments(app, s, id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "console: binding payments not shown");
            return None;
        }
    };
    let names = Names::load(app, Vec::new()).await;
    Some(BindingPick {
        id,
        holder: view.holder.name_masked.clone(),
        relative: view.relative.name_masked.clone(),
        person_href: person_href(&view.holder.psn_no),
        payments: rows
            .iter()
            .map(|r| PaymentPick {
                setl_id: r.setl_id.clone(),
                at: r.occurred_at.clone(),
                place: names.institution(&r.fixmedins_code),
                amount: r.amount.to_string(),
                checked: r.setl_id == chosen,
            })
            .collect(),
    })
}

async fn cases(
    State(app): State<App>,
    Query(q): Query<CasesQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang, "/console/recovery").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let status = match field(&q.status).as_str() {
        "open" => "open",
        "repaid" => "repaid",
        _ => "",
    };
    match cases_page(&app, &cp, status).await {
        Ok(mut v) => {
            v.f_binding = field(&q.binding)
                .parse::<i64>()
                .map(|b| b.to_string())
                .unwrap_or_default();
            if v.may_open {
                v.pick = binding_pick(&app, &cp.staff, &v.f_binding, "").await;
            }
            v.notice = done_notice(cp.t(), q.done.as_deref());
            let page = v.p.clone();
            render_page(&page, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

async fn cases_act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<CasesForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, csrf, "/console/recovery").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let result: Result<&str, ErrorView> = match field(&form.op).as_str() {
        "repaid" => match field(&form.case_id).parse::<i64>() {
            Ok(id) => staff::record_repayment(&app, s, id)
                .await
                .map(|_| "repaid")
                .map_err(|e| ErrorView::of(lang, &e)),
            Err(_) => Err(ErrorView::input(t.err_form)),
        },
        _ => {
            let binding = field(&form.binding_id).parse::<i64>();
            let amount = parse_yuan_field(t, form.amount.as_deref());
            match (binding, amount) {
                (Ok(_), _) if field(&form.setl_id).is_empty() => {
                    Err(ErrorView::input(t.con_pick_payment))
                }
                (Ok(binding_id), Ok(Some(amount))) => staff::open_recovery(
                    &app,
                    s,
                    RecoveryOpening {
                        binding_id,
                        setl_id: field(&form.setl_id),
                        amount,
                        reason: field(&form.reason),
                    },
                )
                .await
                .map(|_| "opened")
                .map_err(|e| ErrorView::of(lang, &e)),
                (Err(_), _) => Err(ErrorView::input(t.case_err_binding)),
                (_, Ok(None)) => Err(ErrorView::input(t.err_amount)),
                (_, Err(e)) => Err(e),
            }
        }
    };
    match result {
        Ok(done) => see_other(&href("/console/recovery", &[("done", done.into())])),
        Err(e) => match cases_page(&app, &cp, "").await {
            Ok(mut v) => {
                v.f_binding = field(&form.binding_id);
                v.f_setl = field(&form.setl_id);
                if v.may_open {
                    v.pick = binding_pick(&app, s, &v.f_binding, &v.f_setl).await;
                }
                v.f_amount = field(&form.amount);
                v.f_reason = field(&form.reason);
                v.error = Some(e);
                let page = v.p.clone();
                render_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &v)
            }
            Err(r) => r,
        },
    }
}

// ---- reports ----

#[derive(Deserialize, Default)]
struct ReportQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    admdvs: Option<String>,
}

#[derive(Clone)]
pub struct ReportLine {
    pub region: String,
    pub day: String,
    pub kind: String,
    pub uses: i64,
    pub persons: i64,
    pub amount: String,
}

#[derive(Clone)]
pub struct RegionTotal {
    pub region: String,
    pub uses: i64,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "console_report.html")]
struct ReportTemplate {
    p: Page,
    from: String,
    to: String,
    csv_href: String,
    total_uses: i64,
    total_amount: String,
    total_persons: i64,
    by_day_amount: Option<BarChart>,
    by_day_uses: Option<BarChart>,
    by_kind: Vec<HBar>,
    by_kind_height: u32,
    by_region: Vec<RegionTotal>,
    lines: Vec<ReportLine>,
    error: Option<ErrorView>,
    period: String,
    /// The region picker: every province and city with a designated institution.
    regions: Vec<Opt>,
    /// The latest day a report may cover (today).
    today: String,
}

/// The provinces and cities of the registry's institutions, as `(code prefix, name)`:
/// `37` 山东省, `3701` 济南市.
async fn region_options(app: &App, lang: Lang, chosen: &str) -> Vec<Opt> {
    let codes: Vec<gongji_core::codes::Admdvs> = app
        .read(|e| e.state().institutions.values().map(|i| i.admdvs).collect())
        .await
        .unwrap_or_default();
    let mut regions: BTreeMap<String, String> = BTreeMap::new();
    for a in codes {
        let province = a.province_admdvs();
        let city = a.city_admdvs();
        let p = province.to_string();
        let c = city.to_string();
        regions
            .entry(p.get(..2).unwrap_or(&p).to_string())
            .or_insert_with(|| i18n::region_name(lang, province, &p));
        regions
            .entry(c.get(..4).unwrap_or(&c).to_string())
            .or_insert_with(|| format!("　{}", i18n::region_name(lang, city, &c)));
    }
    let mut out = vec![Opt {
        value: String::new(),
        label: lang.t().con_region_all.to_string(),
        selected: chosen.is_empty(),
    }];
    out.extend(regions.into_iter().map(|(value, label)| Opt {
        selected: value == chosen,
        value,
        label,
    }));
    out
}

struct Period {
    from: NaiveDate,
    to: NaiveDate,
    admdvs: String,
}

fn period(app: &App, t: &Dict, q: &ReportQuery) -> Result<Period, ErrorView> {
    let today = app.clock.now().date();
    let to = parse_date_field(t, q.to.as_deref())?.unwrap_or(today);
    let from = parse_date_field(t, q.from.as_deref())?
        .unwrap_or(to - Duration::days(REPORT_DEFAULT_DAYS - 1));
    // Said here in the clerk's words; the service refuses the same as a request error.
    if from > to {
        return Err(ErrorView::input(t.con_err_dates_order));
    }
    if (to - from).num_days() >= reports::REPORT_DAYS_MAX {
        return Err(ErrorView::input(t.con_err_dates_long));
    }
    Ok(Period {
        from,
        to,
        admdvs: field(&q.admdvs),
    })
}

fn kind_label(lang: Lang, kind: &str) -> String {
    match lang {
        Lang::Zh => reports::kind_name(kind).to_string(),
        Lang::En => match kind {
            "premium" => lang.t().con_kind_premium.to_string(),
            k => gongji_core::codes::InstitutionKind::parse(k)
                .map_or("unknown", |k| i18n::institution_kind(lang, k))
                .to_string(),
        },
    }
}

/// An axis label in yuan: whole yuan when the tick is whole (`200`), else exact (`0.50`).
pub(super) fn axis_yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        (fen / 100).to_string()
    } else {
        Fen::from_fen(fen).to_string()
    }
}

fn kind_class(kind: &str) -> &'static str {
    match kind {
        "1" => "bar-medical",
        "2" => "bar-pharmacy",
        _ => "bar-premium",
    }
}

async fn report(
    State(app): State<App>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let query = [
        ("from", field(&q.from)),
        ("to", field(&q.to)),
        ("admdvs", field(&q.admdvs)),
    ];
    let here = here_with("/console/reports", &query);
    let cp = match ConsolePage::open(&app, &headers, q.lang.clone(), &here).await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let page = cp.frame(t.con_report_title, "reports", "/console/reports", &query);
    let region_opts = region_options(&app, lang, &field(&q.admdvs)).await;
    let (period, mut error) = match period(&app, t, &q) {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let mut rows: Vec<ReportRow> = Vec::new();
    if let Some(p) = &period {
        let prefix = (!p.admdvs.is_empty()).then_some(p.admdvs.as_str());
        match reports::mutual_aid_report(&app, s, p.from, p.to, prefix).await {
            Ok(r) => rows = r,
            Err(e) => error = Some(ErrorView::of(lang, &e)),
        }
    }
    let (from, to, admdvs) = period
        .as_ref()
        .map(|p| (p.from.to_string(), p.to.to_string(), p.admdvs.clone()))
        .unwrap_or_else(|| (field(&q.from), field(&q.to), field(&q.admdvs)));
    let sum = |it: &mut dyn Iterator<Item = Fen>| Fen::checked_sum(it).unwrap_or(Fen::ZERO);
    let total_amount = sum(&mut rows.iter().map(|r| r.amount));
    // By day: every day of the period, zero where nothing happened.
    let mut by_day: BTreeMap<String, (i64, Fen)> = BTreeMap::new();
    if let (Some(p), true) = (&period, error.is_none()) {
        let mut d = p.from;
        while d <= p.to {
            by_day.insert(d.to_string(), (0, Fen::ZERO));
            d += Duration::days(1);
        }
    }
    for r in &rows {
        let e = by_day.entry(r.day.clone()).or_insert((0, Fen::ZERO));
        e.0 += r.uses;
        e.1 = e.1.checked_add(r.amount).unwrap_or(e.1);
    }
    let every = by_day.len().div_ceil(4).max(1);
    let short = |d: &str| d.get(5..).unwrap_or(d).to_string();
    let amounts: Vec<(String, i64, String)> = by_day
        .iter()
        .map(|(d, (u, a))| {
            (
                short(d),
                a.fen(),
                fill(t.con_bar_title, &[&d, &a.to_string(), &u]),
            )
        })
        .collect();
    let uses: Vec<(String, i64, String)> = by_day
        .iter()
        .map(|(d, (u, a))| {
            (
                short(d),
                *u,
                fill(t.con_bar_title, &[&d, &a.to_string(), &u]),
            )
        })
        .collect();
    let has_days = !by_day.is_empty();
    let by_day_amount = has_days.then(|| charts::bar_chart(&amounts, axis_yuan, every));
    let by_day_uses = has_days.then(|| charts::bar_chart(&uses, |v| v.to_string(), every));
    // By institution kind.
    let mut kinds: BTreeMap<String, (i64, i64, Fen)> = BTreeMap::new();
    for k in ["2", "1", "premium"] {
        kinds.insert(k.to_string(), (0, 0, Fen::ZERO));
    }
    for r in &rows {
        let e = kinds.entry(r.kind.clone()).or_insert((0, 0, Fen::ZERO));
        e.0 += r.uses;
        e.1 += r.persons;
        e.2 = e.2.checked_add(r.amount).unwrap_or(e.2);
    }
    // Pharmacies, hospitals, premiums, then anything else the report names.
    let order = |k: &str| match k {
        "2" => 0,
        "1" => 1,
        "premium" => 2,
        _ => 3,
    };
    let mut kinds: Vec<(String, (i64, i64, Fen))> = kinds.into_iter().collect();
    kinds.sort_by_key(|(k, _)| order(k));
    let kind_items: Vec<(String, Fen, String, String)> = kinds
        .iter()
        .map(|(k, (u, _, a))| {
            (
                kind_label(lang, k),
                *a,
                fill(t.con_kind_value, &[&a.to_string(), &u]),
                kind_class(k).to_string(),
            )
        })
        .collect();
    let (by_kind, by_kind_height) = charts::hbars(&kind_items);
    let mut regions: BTreeMap<String, (i64, Fen)> = BTreeMap::new();
    for r in &rows {
        let e = regions.entry(r.admdvs.clone()).or_insert((0, Fen::ZERO));
        e.0 += r.uses;
        e.1 = e.1.checked_add(r.amount).unwrap_or(e.1);
    }
    let template = ReportTemplate {
        p: page.clone(),
        csv_href: href(
            "/console/reports.csv",
            &[
                ("from", from.clone()),
                ("to", to.clone()),
                ("admdvs", admdvs.clone()),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect::<Vec<_>>(),
        ),
        period: fill(t.con_period, &[&from, &to]),
        from,
        to,
        total_uses: rows.iter().map(|r| r.uses).sum(),
        total_persons: rows.iter().map(|r| r.persons).sum(),
        total_amount: total_amount.to_string(),
        by_day_amount,
        by_day_uses,
        by_kind,
        by_kind_height,
        by_region: regions
            .iter()
            .map(|(a, (u, f))| RegionTotal {
                region: region(lang, a),
                uses: *u,
                amount: f.to_string(),
            })
            .collect(),
        lines: rows
            .iter()
            .map(|r| ReportLine {
                region: region(lang, &r.admdvs),
                day: r.day.clone(),
                kind: kind_label(lang, &r.kind),
                uses: r.uses,
                persons: r.persons,
                amount: r.amount.to_string(),
            })
            .collect(),
        regions: region_opts,
        today: app.clock.now().date().to_string(),
        error,
    };
    render_page(&page, StatusCode::OK, &template)
}

async fn report_csv(
    State(app): State<App>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang.clone(), "/console/reports").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (s, t) = (&cp.staff, cp.t());
    let page = cp.frame(t.con_report_title, "reports", "/console/reports", &[]);
    let p = match period(&app, t, &q) {
        Ok(p) => p,
        Err(e) => {
            return problem(page, &ServiceError::BadRequest(e.message));
        }
    };
    let prefix = (!p.admdvs.is_empty()).then_some(p.admdvs.as_str());
    let rows = match reports::mutual_aid_report(&app, s, p.from, p.to, prefix).await {
        Ok(r) => r,
        Err(e) => return problem(page, &e),
    };
    let body = match reports::to_csv(&rows) {
        Ok(b) => b,
        Err(e) => return problem(page, &e),
    };
    let name = format!("mutual-aid-{}-{}.csv", p.from, p.to);
    let mut resp = (StatusCode::OK, body).into_response();
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

// ---- audit log ----

#[derive(Deserialize, Default)]
struct AuditQueryForm {
    lang: Option<String>,
    subject: Option<String>,
    actor: Option<String>,
    action: Option<String>,
}

#[derive(Clone)]
pub struct AuditLine {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub channel: String,
    pub action: String,
    pub subject: String,
    pub before: String,
    pub after: String,
    /// The stored codes, for a clerk who must quote them.
    pub codes: String,
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditTemplate {
    p: Page,
    subject: String,
    actor: String,
    actions: Vec<Opt>,
    lines: Vec<AuditLine>,
    error: Option<ErrorView>,
}

async fn audit_log(
    State(app): State<App>,
    Query(q): Query<AuditQueryForm>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang.clone(), "/console/audit").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let (subject, actor, action) = (field(&q.subject), field(&q.actor), field(&q.action));
    let query = [
        ("subject", subject.clone()),
        ("actor", actor.clone()),
        ("action", action.clone()),
    ];
    let page = cp.frame(t.con_audit_title, "audit", "/console/audit", &query);
    let aq = AuditQuery {
        subject: (!subject.is_empty()).then(|| subject.clone()),
        actor: (!actor.is_empty()).then(|| actor.clone()),
        action: (!action.is_empty()).then(|| action.clone()),
        limit: LIST_ROWS,
        offset: 0,
    };
    let (lines, error, status) = match staff::audit_log(&app, s, aq).await {
        Ok(list) => {
            let names = Names::load(
                &app,
                named_persons(
                    list.iter()
                        .flat_map(|e| [e.row.actor.as_str(), e.row.subject.as_str()]),
                ),
            )
            .await;
            (
                list.iter()
                    .map(|e| AuditLine {
                        id: e.audit_id,
                        at: e.row.at.clone(),
                        actor: names.actor(t, &e.row.actor),
                        channel: gongji_core::codes::Channel::parse(&e.row.channel)
                            .map(|c| c.name_zh().to_string())
                            .unwrap_or_else(|| e.row.channel.clone()),
                        action: action_label(lang, &e.row.action),
                        subject: names.subject(t, &e.row.subject),
                        before: e.row.before_state.clone().unwrap_or_default(),
                        after: e.row.after_state.clone().unwrap_or_default(),
                        codes: format!("{} · {} · {}", e.row.action, e.row.actor, e.row.subject),
                    })
                    .collect(),
                None,
                StatusCode::OK,
            )
        }
        Err(e) => (
            Vec::new(),
            Some(ErrorView::of(lang, &e)),
            session::status_of(&e),
        ),
    };
    render_page(
        &page,
        status,
        &AuditTemplate {
            p: page.clone(),
            subject,
            actor,
            actions: std::iter::once(Opt {
                value: String::new(),
                label: t.con_action_all.to_string(),
                selected: action.is_empty(),
            })
            .chain(AUDIT_ACTIONS.iter().map(|(code, _, _)| Opt {
                value: code.to_string(),
                label: action_label(lang, code),
                selected: *code == action,
            }))
            .collect(),
            lines,
            error,
        },
    )
}

// ---------------------------------------------------------------------------------------
// 补报 (R-R2): settlements whose fund share was held back before the resident paid.

#[derive(Deserialize)]
struct BubaoForm {
    csrf: Option<String>,
}

struct BubaoWaiting {
    setl_id: String,
    setl_date: String,
    psn_no: String,
    amount: String,
    state: &'static str,
}

struct BubaoDone {
    setl_id: String,
    psn_no: String,
    paid_on: String,
    amount: String,
}

struct BubaoRan {
    setl_id: String,
    setl_date: String,
    outcome: String,
    /// One line per posting: account, amount and why.
    lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "console_bubao.html")]
struct BubaoTemplate {
    p: Page,
    waiting: Vec<BubaoWaiting>,
    paid: Vec<BubaoDone>,
    ran: bool,
    results: Vec<BubaoRan>,
    error: Option<ErrorView>,
}

async fn bubao_view(
    app: &App,
    lang: Lang,
    remember: bool,
    s: &Staff,
    ran: Option<Vec<BubaoRan>>,
) -> Response {
    let t = lang.t();
    let p = frame(
        lang,
        remember,
        t.bubao_title,
        "bubao",
        "/console/bubao",
        &[],
        Some(s),
    );
    let (waiting, paid, error) = match crate::service::bubao::overview(app, s).await {
        Ok((w, d)) => (w, d, None),
        Err(e) => (Vec::new(), Vec::new(), Some(ErrorView::of(lang, &e))),
    };
    let waiting = waiting
        .iter()
        .map(|w| BubaoWaiting {
            setl_id: w.setl_id.clone(),
            setl_date: w.setl_date.clone(),
            psn_no: w.psn_no.clone(),
            amount: gongji_engine::bubao::held(w).to_string(),
            state: if w.cancelled {
                t.bubao_cancelled
            } else {
                t.bubao_waiting
            },
        })
        .collect();
    let paid = paid
        .into_iter()
        .map(|b| BubaoDone {
            setl_id: b.setl_id,
            psn_no: b.psn_no,
            paid_on: b.paid_on,
            amount: b.amount.to_string(),
        })
        .collect();
    let v = BubaoTemplate {
        p: p.clone(),
        waiting,
        paid,
        ran: ran.is_some(),
        results: ran.unwrap_or_default(),
        error,
    };
    render_page(&p, StatusCode::OK, &v)
}

async fn bubao_page(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang, "/console/bubao").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    bubao_view(&app, cp.lang, cp.remember, &cp.staff, None).await
}

/// Runs the job and shows what became of each settlement on the same page: a run sent
/// twice pays nothing twice (each settlement has its own msgid).
async fn bubao_run(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<BubaoForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let cp = match ConsolePage::open_form(&app, &headers, q.lang, csrf, "/console/bubao").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let results = match crate::service::bubao::run(&app, s).await {
        Ok(r) => r,
        Err(e) => {
            let p = cp.frame(t.bubao_title, "bubao", "/console/bubao", &[]);
            let v = BubaoTemplate {
                p: p.clone(),
                waiting: Vec::new(),
                paid: Vec::new(),
                ran: false,
                results: Vec::new(),
                error: Some(ErrorView::of(lang, &e)),
            };
            return render_page(&p, StatusCode::FORBIDDEN, &v);
        }
    };
    let ran = results
        .into_iter()
        .map(|(c, r)| {
            let (outcome, lines) = match r {
                gongji_engine::bubao::BubaoResult::Paid { amount, lines, .. } => (
                    format!("{} {amount}{}", t.bubao_result_paid, t.yuan),
                    lines
                        .into_iter()
                        .map(|(_, amount, why)| format!("{amount}{}：{why}", t.yuan))
                        .collect(),
                ),
                gongji_engine::bubao::BubaoResult::AlreadyPaid => {
                    (t.bubao_result_before.to_string(), Vec::new())
                }
                gongji_engine::bubao::BubaoResult::NotNow { code, message_zh } => {
                    (format!("{message_zh}（{code}）"), Vec::new())
                }
            };
            BubaoRan {
                setl_id: c.setl_id,
                setl_date: c.setl_date,
                outcome,
                lines,
            }
        })
        .collect();
    bubao_view(&app, lang, cp.remember, s, Some(ran)).await
}

/// Every staff member may see the transfers in flight (they name persons by number only).
fn app_has_peers(staff: Option<&Staff>) -> bool {
    staff.is_some_and(|s| s.role.may(Permission::ReadPersons))
}

/// One step waiting for another province, as the 跨省划转 page lists it.
pub struct TransferLine {
    pub kind: &'static str,
    pub transfer_id: String,
    pub holder: String,
    pub relative: String,
    pub amount: String,
    pub attempts: u32,
    pub last_error: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "console_transfers.html")]
struct TransfersTemplate {
    p: Page,
    lines: Vec<TransferLine>,
    error: Option<ErrorView>,
}

/// 跨省划转: the quota steps this province sent and another has not yet answered, with
/// their attempts and last error (the outbox driver keeps retrying them).
async fn transfers(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cp = match ConsolePage::open(&app, &headers, q.lang, "/console/transfers").await {
        Ok(cp) => cp,
        Err(r) => return r,
    };
    let (lang, s, t) = (cp.lang, &cp.staff, cp.t());
    let page = cp.frame(
        t.con_transfers_title,
        "transfers",
        "/console/transfers",
        &[],
    );
    let listed = match s.require(Permission::ReadPersons) {
        Ok(()) => crate::api::quotas::in_flight(&app).await,
        Err(e) => Err(e),
    };
    let (lines, error, status) = match listed {
        Ok(steps) => (
            steps
                .iter()
                .map(|step| TransferLine {
                    kind: match lang {
                        Lang::Zh => step.kind.name_zh(),
                        Lang::En => step.kind.as_str(),
                    },
                    transfer_id: step
                        .transfer
                        .as_ref()
                        .map(|x| x.id.clone())
                        .unwrap_or_default(),
                    holder: format!(
                        "{:02} · {}",
                        step.parties.holder_province, step.parties.holder_psn_no
                    ),
                    relative: format!(
                        "{:02} · {}",
                        step.parties.relative_province, step.parties.relative_psn_no
                    ),
                    amount: step
                        .transfer
                        .as_ref()
                        .map(|x| x.amount.to_string())
                        .unwrap_or_default(),
                    attempts: step.attempts,
                    last_error: step.last_error.clone().unwrap_or_default(),
                    since: step.since.clone(),
                })
                .collect(),
            None,
            StatusCode::OK,
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
        &TransfersTemplate {
            p: page.clone(),
            lines,
            error,
        },
    )
}
