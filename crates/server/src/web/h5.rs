//! `/h5/...`: the insured person's pages, mobile first, on the service layer only.
//!
//! Sign in by phone and SMS code (R-S11; in the demo the development sender's code is shown,
//! labelled 演示);
//! my account (R-J1); my family as holder and as relative (R-S9); the bind journey — the
//! relative's details (the eligibility check before anything is signed, R-N5), the notice
//! (告知书), the generated commitment letter (承诺书) to sign (R-S7), face verification where the
//! region asks (R-Z5; in production on the provider's page, back at `/h5/face/return`), the result or the refusal in plain words; limits (R-S3), the end date
//! (R-S9), unbinding; records; paying a relative's resident premium (R-Y2, R-R1, R-R2, R-R4).
//!
//! Every form works without JavaScript: the journey's facts travel in hidden fields between
//! steps, the session is the `gongji_session` cookie (`HttpOnly`, `SameSite=Strict`), and a
//! change is answered with a redirect so that a reload does not post it again.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use gongji_core::binding_rules::Limits;
use gongji_core::codes::{Channel, InsuStatus, Relationship};
use gongji_core::commitment::check_commitment;
use gongji_core::Fen;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::csrf;
use super::h5_page::H5Page;
use super::i18n::{self, fill, Dict, Lang};
use super::session::{
    self, field, parse_date_field, parse_yuan_field, see_other, see_other_with_session, ErrorView,
};
use super::{href, lang_of, render_page, LangQuery, NavLink, Page, UserBar};
use crate::app::App;
use crate::service::family::{self, BindRequest, BindingView, SignedBind, Validity};
use crate::service::premiums::{self, PremiumOrder, SecondFactor};
use crate::service::records::{self, RecordFilter, RecordRole, RECORD_KINDS};
use crate::service::{auth, people, providers, PersonRef, ServiceError};
use gongji_core::premium::PremiumKind;

/// The pages record their requests as the web channel (R-Y5).
const CHANNEL: Channel = Channel::Web;
/// Rows on one page of records.
const RECORDS_PER_PAGE: u32 = 30;
/// The relationship codes the bind form offers, in this order; the form shows those whose
/// class the region allows today.
pub(super) const RELATIONSHIP_CODES: &[u8] = &[
    12, 11, 20, 30, 51, 52, 41, 42, 43, 44, 61, 62, 63, 64, 71, 73, 75, 77,
];

#[path = "h5_pay.rs"]
mod pay;

pub fn router() -> Router<App> {
    Router::new()
        .route("/h5", get(account))
        .route("/h5/signin", get(signin_show).post(signin_act))
        .route("/h5/signout", post(signout))
        .route("/h5/family", get(family_show))
        .route("/h5/family/bind", get(bind_show).post(bind_act))
        .route("/h5/family/:id", get(binding_show).post(binding_act))
        .route("/h5/face/return", get(face_return))
        .route("/h5/records", get(records_show))
        .route("/h5/messages", get(messages_show))
        .route("/h5/premium", get(premium_show).post(premium_act))
        .route("/h5/payments", get(payments_show))
        .route("/h5/premium/self", get(pay::show).post(pay::act))
}

// ---- shared ----

/// The H5 frame: main navigation on "我的共济", the tabs, and the signed-in person.
pub(super) async fn frame(
    app: &App,
    (lang, remember): (Lang, bool),
    title: &str,
    tab: &str,
    path: &str,
    query: &[(&str, String)],
    psn_no: Option<&str>,
) -> Page {
    let t = lang.t();
    let page = Page::at(lang, remember, title, "h5", path, query);
    let Some(psn_no) = psn_no else {
        return page;
    };
    let who = people::who(app, psn_no)
        .await
        .map(|p| p.name_masked)
        .unwrap_or_default();
    let mut tabs = vec![
        NavLink::new("/h5", t.h5_tab_account, tab == "account"),
        NavLink::new("/h5/family", t.h5_tab_family, tab == "family"),
        NavLink::new("/h5/records", t.h5_tab_records, tab == "records"),
    ];
    // Only a holder pays a relative's premium: no tab that would only refuse a resident,
    // who is offered to pay his own instead (R-J5).
    if can_hold(app, psn_no).await {
        tabs.push(NavLink::new(
            "/h5/premium",
            t.h5_tab_premium,
            tab == "premium",
        ));
    } else {
        tabs.push(NavLink::new(pay::PATH, t.self_link, tab == "premium"));
    }
    // Cross-province quotas (R-N3): only where this province has peers.
    if app.peers.is_some() {
        tabs.push(NavLink::new("/h5/quotas", t.h5_tab_quotas, tab == "quotas"));
    }
    tabs.push(NavLink::new(
        "/h5/messages",
        t.h5_tab_messages,
        tab == "messages",
    ));
    page.with_subnav(tabs).with_user(Some(UserBar {
        who: fill(t.h5_signed_in_as, &[&who]),
        signout_action: "/h5/signout",
    }))
}

/// Whether the person may bind relatives and pay for them: only the employee-insured hold a
/// personal account to share. A resident is told so instead of being offered what would be
/// refused.
async fn can_hold(app: &App, psn_no: &str) -> bool {
    people::my_insurance(app, psn_no)
        .await
        .is_ok_and(|m| m.person.is_employee())
}

/// A person as others see them: masked name and ID number.
#[derive(Clone)]
pub struct PersonView {
    pub name: String,
    pub certno: String,
}

impl PersonView {
    fn of(p: &PersonRef) -> PersonView {
        PersonView {
            name: p.name_masked.clone(),
            certno: p.certno_masked.clone(),
        }
    }
}

fn region(lang: Lang, admdvs: &str) -> String {
    gongji_core::codes::Admdvs::parse(admdvs)
        .map(|a| i18n::region_name(lang, a, admdvs))
        .unwrap_or_else(|| admdvs.to_string())
}

fn validity_class(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "tag-ok",
        Validity::NotYetValid | Validity::Suspended => "tag-warn",
        _ => "tag-err",
    }
}

/// One binding in a list.
#[derive(Clone)]
pub struct BindingRow {
    pub id: i64,
    pub href: String,
    pub holder: PersonView,
    pub relative: PersonView,
    pub relationship: String,
    pub begin: String,
    pub end: String,
    pub validity: String,
    pub validity_class: &'static str,
    pub valid: bool,
    pub limit_payment: String,
    pub limit_month: String,
    pub limit_day: String,
    pub limit_year: String,
    pub used_this_month: String,
    pub active: bool,
}

/// A binding as its relative sees it: the relation read from the relative's side ("母亲"
/// bound her daughter: she sees "女").
fn relative_side_row(lang: Lang, v: &BindingView) -> BindingRow {
    let mut row = binding_row(lang, v);
    row.relationship = match (lang, v.holder_to_relative) {
        (Lang::En, Some(r)) => i18n::relationship(lang, r),
        _ => v.holder_to_relative_zh.to_string(),
    };
    row
}

pub(super) fn binding_row(lang: Lang, v: &BindingView) -> BindingRow {
    let t = lang.t();
    let b = &v.binding;
    BindingRow {
        id: b.id,
        href: format!("/h5/family/{}", b.id),
        holder: PersonView::of(&v.holder),
        relative: PersonView::of(&v.relative),
        relationship: i18n::relationship(lang, b.relationship),
        begin: b.begin.to_string(),
        end: b.end.map_or(t.h5_end_open.to_string(), |d| d.to_string()),
        validity: i18n::validity(lang, v.validity).to_string(),
        validity_class: validity_class(v.validity),
        valid: v.validity == Validity::Valid,
        limit_payment: b
            .limit_per_payment
            .map_or(t.h5_no_limit.to_string(), |f| yuan_text(t, f)),
        limit_month: b
            .limit_per_month
            .map_or(t.h5_no_limit.to_string(), |f| yuan_text(t, f)),
        limit_day: b
            .limit_per_day
            .map_or(t.h5_no_limit.to_string(), |f| yuan_text(t, f)),
        limit_year: b
            .limit_per_year
            .map_or(t.h5_no_limit.to_string(), |f| yuan_text(t, f)),
        used_this_month: yuan_text(t, v.used_this_month),
        active: b.status != gongji_core::domain::BindingStatus::Ended,
    }
}

fn yuan_text(t: &Dict, f: Fen) -> String {
    format!("{f} {}", t.yuan)
}

/// What the person can do after a refusal (R-N5): check the details, read the region's
/// rules, ask the hotline.
#[derive(Clone)]
pub struct NextStep {
    pub text: String,
    pub href: Option<String>,
}

fn next_steps(t: &Dict, guide_href: &str) -> Vec<NextStep> {
    vec![
        NextStep {
            text: t.next_check_details.to_string(),
            href: None,
        },
        NextStep {
            text: t.next_read_guide.to_string(),
            href: Some(guide_href.to_string()),
        },
        NextStep {
            text: t.next_hotline.to_string(),
            href: None,
        },
    ]
}

async fn guide_href(app: &App, admdvs: &str) -> String {
    match people::policy_id_for(app, admdvs).await {
        Ok(Some(id)) => format!("/guide/{id}"),
        _ => "/guide".to_string(),
    }
}

/// A page that could not be shown at all (the engine is not reachable, no such person).
#[derive(Template)]
#[template(path = "h5_problem.html")]
struct ProblemTemplate {
    p: Page,
    error: ErrorView,
}

fn problem(page: Page, e: &ServiceError) -> Response {
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

// ---- sign-in (R-S11) ----

#[derive(Deserialize, Default)]
struct SigninQuery {
    lang: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct SigninForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    op: Option<String>,
    phone: Option<String>,
    code: Option<String>,
    certno: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "h5_signin.html")]
struct SigninTemplate {
    p: Page,
    /// The code was sent: show the code field.
    code_step: bool,
    phone: String,
    phone_masked: String,
    /// The development sender's code (demo only).
    demo_code: Option<String>,
    ask_certno: bool,
    certno: String,
    next: String,
    error: Option<ErrorView>,
    notice: Option<String>,
    /// While a sent code is valid: until when (shown as a time, so it works without a
    /// script) and the seconds left (the script counts them down).
    valid_until: String,
    secs_left: i64,
}

async fn signin_show(
    State(app): State<App>,
    Query(q): Query<SigninQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(&LangQuery { lang: q.lang }, &headers);
    let next = session::safe_next(q.next.as_deref(), "/h5", "/h5");
    if session::person(&app, &headers).await.is_some() {
        return see_other(&next);
    }
    let page = frame(
        &app,
        (lang, remember),
        lang.t().h5_signin_title,
        "",
        "/h5/signin",
        &[],
        None,
    )
    .await;
    render_page(
        &page,
        StatusCode::OK,
        &SigninTemplate {
            p: page.clone(),
            code_step: false,
            phone: String::new(),
            phone_masked: String::new(),
            demo_code: None,
            ask_certno: false,
            certno: String::new(),
            next,
            error: None,
            notice: None,
            valid_until: String::new(),
            secs_left: 0,
        },
    )
}

/// A phone number as the sign-in form takes it, checked here so that the page answers in its
/// own language only.
fn phone_ok(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())
}

async fn signin_act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
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
    let t = lang.t();
    let next = session::safe_next(form.next.as_deref(), "/h5", "/h5");
    let phone = field(&form.phone);
    let certno = field(&form.certno);
    let mut view = SigninTemplate {
        p: frame(
            &app,
            (lang, remember),
            t.h5_signin_title,
            "",
            "/h5/signin",
            &[],
            None,
        )
        .await,
        code_step: false,
        phone: phone.clone(),
        phone_masked: gongji_core::pii::mask_phone(&phone),
        demo_code: None,
        ask_certno: !certno.is_empty(),
        certno: certno.clone(),
        next: next.clone(),
        error: None,
        notice: None,
        valid_until: String::new(),
        secs_left: 0,
    };
    let mut status = StatusCode::OK;
    if !phone_ok(&phone) {
        view.error = Some(ErrorView::input(t.err_phone));
        let page = view.p.clone();
        return render_page(&page, StatusCode::BAD_REQUEST, &view);
    }
    match field(&form.op).as_str() {
        "signin" => {
            let code = field(&form.code);
            let cert = (!certno.is_empty()).then_some(certno.as_str());
            match auth::sign_in_with_code(&app, &phone, &code, cert, CHANNEL).await {
                Ok(s) => return see_other_with_session(&next, Some(&s.token)),
                Err(e) => {
                    status = session::status_of(&e);
                    view.code_step = true;
                    if matches!(e, ServiceError::PhoneShared) {
                        view.ask_certno = true;
                    }
                    let mut shown = ErrorView::of(lang, &e);
                    if matches!(e, ServiceError::CodeInvalid) {
                        // Say how many tries are left, or that a new code is needed.
                        match auth::code_status(&app, &phone) {
                            Some(c) => {
                                shown.message = fill(t.h5_code_wrong_left, &[&c.attempts_left])
                            }
                            None => {
                                shown.message = t.h5_code_spent.to_string();
                                view.code_step = false;
                            }
                        }
                    }
                    view.error = Some(shown);
                }
            }
        }
        _ => match auth::request_code(&app, &phone).await {
            Ok(sent) => {
                view.code_step = true;
                view.phone_masked = sent.phone_masked.clone();
                view.notice = Some(fill(
                    t.h5_code_sent,
                    &[&sent.phone_masked, &(sent.expires_in_secs / 60)],
                ));
            }
            Err(e) => {
                status = session::status_of(&e);
                // Asked again too soon: the code sent before is still good, so its box stays.
                view.code_step = matches!(e, ServiceError::RateLimited { .. })
                    && auth::code_status(&app, &phone).is_some();
                view.error = Some(ErrorView::of(lang, &e));
            }
        },
    }
    if view.code_step {
        view.demo_code = providers::demo_code(&app, &phone);
        if let Some(c) = auth::code_status(&app, &phone) {
            view.valid_until = fill(
                t.h5_code_valid_until,
                &[&c.expires_at.format("%H:%M").to_string()],
            );
            view.secs_left = (c.expires_at - app.clock.now()).num_seconds().max(0);
        }
    }
    let page = view.p.clone();
    render_page(&page, status, &view)
}

async fn signout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<session::CsrfForm>,
) -> Response {
    if let Err(refused) = session::check_form(&headers, Lang::Zh, form.csrf.as_deref()) {
        return refused.into_response();
    }
    if let Some(t) = session::token(&headers) {
        if let Err(e) = auth::sign_out(&app, &t).await {
            tracing::warn!(error = %e, "sign-out not recorded");
        }
    }
    see_other_with_session("/h5/signin", None)
}

// ---- my account (R-J1) ----

#[derive(Template)]
#[template(path = "h5_account.html")]
struct AccountTemplate {
    p: Page,
    name: String,
    certno: String,
    psn_no: String,
    insutype: String,
    employee: bool,
    status: String,
    status_ok: bool,
    region: String,
    policy_name: String,
    guide_href: String,
    balance: String,
    shareable: String,
    year: i32,
    settlements: i64,
    medfee: String,
    fund: String,
    own_spent: String,
    mutual_received: String,
    cash: String,
    mutual_given: String,
    premiums_paid: String,
    holder_count: usize,
    relative_count: usize,
}

async fn account(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, &h5.psn_no);
    let t = h5.t();
    let page = h5
        .frame(&app, t.h5_account_title, "account", "/h5", &[])
        .await;
    let me = match people::my_insurance(&app, psn_no).await {
        Ok(m) => m,
        Err(e) => return problem(page, &e),
    };
    let fam = family::my_family(&app, psn_no).await.ok();
    let p = &me.person;
    let admdvs = p.admdvs.to_string();
    let template = AccountTemplate {
        p: page.clone(),
        name: p.name.reveal().to_string(),
        certno: p.certno.masked(),
        psn_no: p.psn_no.clone(),
        insutype: i18n::insutype(lang, p.insutype).to_string(),
        employee: p.is_employee(),
        status: i18n::insu_status(lang, p.insu_status).to_string(),
        status_ok: p.insu_status == InsuStatus::Normal,
        region: region(lang, &admdvs),
        policy_name: me.policy.as_ref().map_or(String::new(), |r| {
            i18n::policy_title(lang, p.admdvs, &r.name_zh)
        }),
        guide_href: me
            .policy
            .as_ref()
            .map_or("/guide".to_string(), |r| format!("/guide/{}", r.id)),
        balance: me.balance.to_string(),
        shareable: me.shareable.to_string(),
        year: me.year,
        settlements: me.totals.settlements,
        medfee: me.totals.medfee_sumamt.to_string(),
        fund: me.totals.fund_pay_sumamt.to_string(),
        own_spent: me.totals.own_account_spent.to_string(),
        mutual_received: me.totals.acct_mulaid_pay.to_string(),
        cash: me.totals.psn_cash_pay.to_string(),
        mutual_given: me.totals.mutual_aid_given.to_string(),
        premiums_paid: me.totals.premiums_paid.to_string(),
        holder_count: fam.as_ref().map_or(0, |f| {
            f.as_holder
                .iter()
                .filter(|v| v.validity == Validity::Valid)
                .count()
        }),
        relative_count: fam.as_ref().map_or(0, |f| {
            f.as_relative
                .iter()
                .filter(|v| v.validity == Validity::Valid)
                .count()
        }),
    };
    render_page(&page, StatusCode::OK, &template)
}

// ---- my family (R-S9) ----

#[derive(Template)]
#[template(path = "h5_family.html")]
struct FamilyTemplate {
    p: Page,
    as_holder: Vec<BindingRow>,
    as_relative: Vec<BindingRow>,
    scope: String,
    face_required: bool,
    limits_allowed: bool,
    end_only_earlier: bool,
    guide_href: String,
    notice: Option<String>,
    /// The person may bind relatives (employee-insured).
    can_hold: bool,
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    lang: Option<String>,
    done: Option<String>,
}

fn done_notice(t: &Dict, done: Option<&str>) -> Option<String> {
    let n = match done? {
        "bound" => t.h5_done_bound,
        "limits" => t.h5_done_limits,
        "end" => t.h5_done_end,
        "unbound" => t.h5_done_unbound,
        _ => return None,
    };
    Some(n.to_string())
}

async fn family_show(
    State(app): State<App>,
    Query(q): Query<DoneQuery>,
    headers: HeaderMap,
) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5/family").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, &h5.psn_no);
    let t = h5.t();
    let page = h5
        .frame(&app, t.h5_family_title, "family", "/h5/family", &[])
        .await;
    let f = match family::my_family(&app, psn_no).await {
        Ok(f) => f,
        Err(e) => return problem(page, &e),
    };
    let admdvs = people::who(&app, psn_no)
        .await
        .map(|p| p.admdvs)
        .unwrap_or_default();
    let template = FamilyTemplate {
        p: page.clone(),
        as_holder: f.as_holder.iter().map(|v| binding_row(lang, v)).collect(),
        as_relative: f
            .as_relative
            .iter()
            .map(|v| relative_side_row(lang, v))
            .collect(),
        scope: f
            .scope_today
            .iter()
            .map(|c| i18n::relation_class(lang, *c))
            .collect::<Vec<_>>()
            .join(t.list_sep),
        face_required: f.face_verification_required,
        limits_allowed: f.limits_allowed,
        end_only_earlier: f.end_date_only_earlier,
        guide_href: guide_href(&app, &admdvs).await,
        notice: done_notice(t, q.done.as_deref()),
        can_hold: can_hold(&app, psn_no).await,
    };
    render_page(&page, StatusCode::OK, &template)
}

// ---- the bind journey (R-S7, R-Z5, R-N5) ----

#[derive(Deserialize, Serialize, Default, Clone)]
struct BindForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    op: Option<String>,
    certno: Option<String>,
    name: Option<String>,
    relationship: Option<String>,
    end: Option<String>,
    limit_payment: Option<String>,
    limit_month: Option<String>,
    ack: Option<String>,
    sha: Option<String>,
    signature: Option<String>,
    face_token: Option<String>,
}

/// A select option.
#[derive(Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A step of the journey in the progress list.
#[derive(Clone)]
pub struct StepView {
    pub n: usize,
    pub label: String,
    /// "done", "current" or "todo".
    pub state: &'static str,
}

#[derive(Clone)]
pub struct BoundView {
    pub row: BindingRow,
    pub sha: String,
}

#[derive(Template)]
#[template(path = "h5_bind.html")]
struct BindTemplate {
    p: Page,
    /// 1 details, 2 notice, 3 letter, 4 face, 5 bound, 6 refused at the end.
    step: u8,
    steps: Vec<StepView>,
    error: Option<ErrorView>,
    /// The refusal of the binding rules, with what to do next.
    refusal: Option<ErrorView>,
    next: Vec<NextStep>,
    certno: String,
    name: String,
    end: String,
    limit_payment: String,
    limit_month: String,
    signature: String,
    relationships: Vec<Opt>,
    scope_text: String,
    eligible_text: String,
    bound_text: String,
    face_required: bool,
    limits_allowed: bool,
    /// The facts, as hidden fields of the later steps.
    facts: Vec<(String, String)>,
    relative: Option<PersonView>,
    relationship_name: String,
    notice_lines: Vec<String>,
    letter_lines: Vec<String>,
    sha: String,
    demo_face: Option<&'static str>,
    /// Production: the face step sends the person to the provider's page.
    face_redirect: bool,
    bound: Option<BoundView>,
    guide_href: String,
    today: String,
}

impl BindForm {
    fn facts(&self) -> Vec<(String, String)> {
        [
            ("certno", &self.certno),
            ("name", &self.name),
            ("relationship", &self.relationship),
            ("end", &self.end),
            ("limit_payment", &self.limit_payment),
            ("limit_month", &self.limit_month),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), field(v)))
        .collect()
    }

    /// The request the service takes; a form problem is explained.
    fn request(&self, t: &Dict) -> Result<BindRequest, ErrorView> {
        let certno = field(&self.certno);
        let name = field(&self.name);
        if certno.is_empty() || certno.len() > 32 {
            return Err(ErrorView::input(t.err_certno));
        }
        // A mistyped resident ID number is said to be one, before anyone is looked up.
        if certno.len() == 18 && certno.as_bytes()[..17].iter().all(u8::is_ascii_digit) {
            match gongji_core::idcard::validate(&certno.to_ascii_uppercase()) {
                Err(gongji_core::idcard::IdNumberError::CheckDigit) => {
                    return Err(ErrorView::input(t.err_certno_check));
                }
                Err(_) => return Err(ErrorView::input(t.err_certno_shape)),
                Ok(_) => {}
            }
        }
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ErrorView::input(t.err_name));
        }
        let relationship = Relationship::parse(&field(&self.relationship))
            .ok_or_else(|| ErrorView::input(t.err_relationship))?;
        Ok(BindRequest {
            relative_certno: certno,
            relative_name: name,
            relationship,
            begin: None,
            end: parse_date_field(t, self.end.as_deref())?,
            limit_per_payment: parse_yuan_field(t, self.limit_payment.as_deref())?,
            limit_per_month: parse_yuan_field(t, self.limit_month.as_deref())?,
        })
    }
}

fn steps(t: &Dict, face: bool, current: u8) -> Vec<StepView> {
    let mut labels = vec![t.bind_step_details, t.bind_step_notice, t.bind_step_letter];
    if face {
        labels.push(t.bind_step_face);
    }
    labels.push(t.bind_step_result);
    // The result is step 5 whether or not the face step is shown.
    let at = |i: usize| -> u8 {
        if !face && i >= 3 {
            i as u8 + 2
        } else {
            i as u8 + 1
        }
    };
    labels
        .into_iter()
        .enumerate()
        .map(|(i, label)| {
            let n = at(i);
            let current = current.min(5);
            StepView {
                n: i + 1,
                label: label.to_string(),
                state: if n < current {
                    "done"
                } else if n == current {
                    "current"
                } else {
                    "todo"
                },
            }
        })
        .collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

async fn bind_page(app: &App, h5: &H5Page, form: &BindForm) -> Result<BindTemplate, Response> {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let page = h5
        .frame(app, t.bind_title, "family", "/h5/family/bind", &[])
        .await;
    let f = match family::my_family(app, psn_no).await {
        Ok(f) => f,
        Err(e) => return Err(problem(page, &e)),
    };
    let admdvs = people::who(app, psn_no)
        .await
        .map(|p| p.admdvs)
        .unwrap_or_default();
    let chosen = field(&form.relationship);
    let relationships = RELATIONSHIP_CODES
        .iter()
        .filter_map(|c| Relationship::from_code(*c))
        .filter(|r| f.scope_today.contains(&r.class()))
        .map(|r| Opt {
            value: r.to_string(),
            label: i18n::relationship(lang, r),
            selected: r.to_string() == chosen,
        })
        .collect();
    let relationship_name = Relationship::parse(&chosen)
        .map(|r| i18n::relationship(lang, r))
        .unwrap_or_default();
    let guide = guide_href(app, &admdvs).await;
    let scope = f
        .scope_today
        .iter()
        .map(|c| i18n::relation_class(lang, *c))
        .collect::<Vec<_>>()
        .join(t.list_sep);
    Ok(BindTemplate {
        p: page,
        step: 1,
        steps: steps(t, f.face_verification_required, 1),
        error: None,
        refusal: None,
        next: Vec::new(),
        certno: field(&form.certno),
        name: field(&form.name),
        end: field(&form.end),
        limit_payment: field(&form.limit_payment),
        limit_month: field(&form.limit_month),
        signature: field(&form.signature),
        relationships,
        scope_text: fill(t.bind_scope_note, &[&scope]),
        eligible_text: String::new(),
        bound_text: String::new(),
        face_required: f.face_verification_required,
        limits_allowed: f.limits_allowed,
        facts: form.facts(),
        relative: None,
        relationship_name,
        notice_lines: Vec::new(),
        letter_lines: Vec::new(),
        sha: String::new(),
        demo_face: providers::demo_face_token(app),
        face_redirect: providers::face_flow_offered(app),
        bound: None,
        guide_href: guide,
        today: app.clock.now().date().to_string(),
    })
}

fn at_step(mut v: BindTemplate, step: u8) -> BindTemplate {
    v.step = step;
    v.steps = steps(v.p.t, v.face_required, step);
    v
}

async fn bind_show(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5/family/bind").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    if !can_hold(&app, &h5.psn_no).await {
        // The family page says who can bind her and what she can do.
        return see_other("/h5/family");
    }
    match bind_page(&app, &h5, &BindForm::default()).await {
        Ok(v) => {
            let page = v.p.clone();
            render_page(&page, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

async fn bind_act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<BindForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let h5 = match H5Page::open_form(&app, &headers, q.lang, csrf, "/h5/family/bind").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let v = match bind_page(&app, &h5, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let op = field(&form.op);
    if op == "face"
        && v.face_required
        && field(&form.face_token).is_empty()
        && providers::face_flow_offered(&app)
    {
        return bind_face_redirect(&app, lang, psn_no, &form, v).await;
    }
    let (view, status) = bind_step(&app, lang, psn_no, &form, &op, v).await;
    let page = view.p.clone();
    render_page(&page, status, &view)
}

/// Moves the journey one step, with the service's answer.
async fn bind_step(
    app: &App,
    lang: Lang,
    psn_no: &str,
    form: &BindForm,
    op: &str,
    base: BindTemplate,
) -> (BindTemplate, StatusCode) {
    let t = lang.t();
    // Back to the details, values kept.
    if op == "edit" {
        return (at_step(base, 1), StatusCode::OK);
    }
    let req = match form.request(t) {
        Ok(r) => r,
        Err(e) => {
            let mut b = at_step(base, 1);
            b.error = Some(e);
            return (b, StatusCode::BAD_REQUEST);
        }
    };
    // Every step asks the rules again: the letter shown is always the one the facts give
    // today, and a refusal is explained at the step where it happens.
    let preview = match family::commitment_preview(app, psn_no, req.clone(), CHANNEL).await {
        Ok(p) => p,
        Err(e) => {
            let mut b = at_step(base, 1);
            b.next = next_steps(t, &b.guide_href);
            b.refusal = Some(ErrorView::of(lang, &e));
            return (b, session::status_of(&e));
        }
    };
    let mut b = base;
    b.relative = Some(PersonView::of(&preview.relative));
    b.eligible_text = fill(
        t.bind_eligible,
        &[
            &preview.relative.name_masked,
            &preview.relative.certno_masked,
            &b.relationship_name,
        ],
    );
    b.face_required = preview.face_verification_required;
    b.notice_lines = lines(&preview.notice);
    b.letter_lines = lines(&preview.letter);
    b.sha = preview.sha256.clone();
    let ack = field(&form.ack) == "1";
    match op {
        "check" => (at_step(b, 2), StatusCode::OK),
        "notice" => {
            if let Err(r) = check_commitment(ack, "-") {
                let mut b = at_step(b, 2);
                b.error = Some(ErrorView::of(lang, &r.into()));
                return (b, StatusCode::UNPROCESSABLE_ENTITY);
            }
            (at_step(b, 3), StatusCode::OK)
        }
        "sign" | "face" => {
            let signature = field(&form.signature);
            if let Err(r) = check_commitment(ack, &signature) {
                let mut b = at_step(b, if ack { 3 } else { 2 });
                b.error = Some(ErrorView::of(lang, &r.into()));
                return (b, StatusCode::UNPROCESSABLE_ENTITY);
            }
            if op == "sign" && b.face_required {
                return (at_step(b, 4), StatusCode::OK);
            }
            let face_token = (op == "face").then(|| field(&form.face_token));
            let signed = SignedBind {
                request: req,
                notice_acknowledged: ack,
                commitment_sha256: field(&form.sha),
                signature,
                face_token,
            };
            match family::bind(app, psn_no, signed, CHANNEL).await {
                Ok(bound) => {
                    b.bound_text = fill(
                        t.bind_done_text,
                        &[&bound.view.relative.name_masked, &b.relationship_name],
                    );
                    b.bound = Some(BoundView {
                        row: binding_row(lang, &bound.view),
                        sha: bound.commitment_sha256,
                    });
                    (at_step(b, 5), StatusCode::OK)
                }
                Err(ServiceError::FaceRejected) => {
                    let mut b = at_step(b, 4);
                    b.error = Some(ErrorView::of(lang, &ServiceError::FaceRejected));
                    (b, StatusCode::UNPROCESSABLE_ENTITY)
                }
                Err(ServiceError::CommitmentMismatch) => {
                    let mut b = at_step(b, 3);
                    b.error = Some(ErrorView::of(lang, &ServiceError::CommitmentMismatch));
                    (b, StatusCode::CONFLICT)
                }
                Err(e) => {
                    let status = session::status_of(&e);
                    let mut b = at_step(b, 6);
                    b.next = next_steps(t, &b.guide_href);
                    b.refusal = Some(ErrorView::of(lang, &e));
                    (b, status)
                }
            }
        }
        _ => (at_step(b, 1), StatusCode::OK),
    }
}

// ---- the face step in production: the provider's page and back (R-Z5) ----

/// What a face check was started for; it waits with the check and is done when the provider
/// sends the person back with a passed result.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaceAction {
    Bind {
        form: Box<BindForm>,
    },
    Unbind {
        binding_id: i64,
    },
    /// A relative's premium from the holder's account: the check's token pays only this.
    Premium(premiums::FaceForPremium),
}

/// Starts the provider's check for `action`: the redirect to the provider's page.
async fn face_redirect(
    app: &App,
    psn_no: &str,
    action: &FaceAction,
) -> Result<Response, ServiceError> {
    let premium = match action {
        FaceAction::Premium(f) => Some((f.relative.clone(), format!("{}:{}", f.year, f.premium))),
        _ => None,
    };
    let action = serde_json::to_string(action).map_err(|_| ServiceError::FaceUnavailable)?;
    let url = providers::face_begin(app, psn_no, &action).await?;
    let mut to_provider = see_other(&url);
    if let Some(v) = face_premium_cookie(premium) {
        to_provider
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v);
    }
    Ok(to_provider)
}

/// Which premium a face check was started for, kept in the browser: the provider's answer to
/// a failed check names no action, and the holder should see that confirmation again.
const FACE_PREMIUM_COOKIE: &str = "gongji_face_premium";

/// Sets the cookie for a premium's check (relative, `year:kind`), or clears it for another.
fn face_premium_cookie(premium: Option<(String, String)>) -> Option<axum::http::HeaderValue> {
    let (value, max_age) = match premium {
        Some((relative, choice)) => (hex::encode(format!("{relative}\n{choice}")), 600),
        None => (String::new(), 0),
    };
    let cookie = axum_extra::extract::cookie::Cookie::build((FACE_PREMIUM_COOKIE, value))
        .path("/h5/face/return")
        .http_only(true)
        .same_site(axum_extra::extract::cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    axum::http::HeaderValue::from_str(&cookie.to_string()).ok()
}

/// The premium (relative, `year:kind`) the last face check was started for, if it was one.
fn face_premium_of(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = hex::decode(session::cookie(headers, FACE_PREMIUM_COOKIE)?).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (relative, choice) = text.split_once('\n')?;
    Some((relative.to_string(), choice.to_string()))
}

/// The bind journey's face step in production: the letter must be signed first, then the
/// facts wait with the provider's check.
async fn bind_face_redirect(
    app: &App,
    lang: Lang,
    psn_no: &str,
    form: &BindForm,
    base: BindTemplate,
) -> Response {
    let (mut view, status) = bind_step(app, lang, psn_no, form, "sign", base).await;
    if view.step != 4 {
        let page = view.p.clone();
        return render_page(&page, status, &view);
    }
    let action = FaceAction::Bind {
        form: Box::new(form.clone()),
    };
    match face_redirect(app, psn_no, &action).await {
        Ok(to_provider) => to_provider,
        Err(e) => {
            view.error = Some(ErrorView::of(lang, &e));
            let page = view.p.clone();
            render_page(&page, session::status_of(&e), &view)
        }
    }
}

#[derive(Deserialize, Default)]
struct FaceReturnQuery {
    lang: Option<String>,
    biz_token: Option<String>,
    result_token: Option<String>,
    /// Set on the second arrival, from our own page.
    again: Option<String>,
}

/// The page that brings the person from the provider back into this site.
#[derive(Template)]
#[template(path = "h5_face_return.html")]
struct FaceReturnTemplate {
    p: Page,
    next: String,
}

/// Where the provider sends the person back: the result is checked with the provider, then
/// the action the check was started for is done.
async fn face_return(
    State(app): State<App>,
    Query(q): Query<FaceReturnQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, remember) = lang_of(
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let biz_token = field(&q.biz_token);
    let result_token = field(&q.result_token);
    let here = href(
        "/h5/face/return",
        &[
            ("biz_token", biz_token.clone()),
            ("result_token", result_token.clone()),
        ],
    );
    if session::person(&app, &headers).await.is_none() && q.again.is_none() {
        // The provider's redirect is a cross-site navigation, on which the browser does not
        // send the SameSite=Strict session cookie; navigating again from this site's own
        // page does. Nothing is checked or spent until then.
        let next = href(
            "/h5/face/return",
            &[
                ("biz_token", biz_token),
                ("result_token", result_token),
                ("again", "1".into()),
            ],
        );
        let page = frame(
            &app,
            (lang, remember),
            lang.t().bind_face_h,
            "",
            "/h5/face/return",
            &[],
            None,
        )
        .await;
        return render_page(
            &page,
            StatusCode::OK,
            &FaceReturnTemplate {
                p: page.clone(),
                next,
            },
        );
    }
    let h5 = match H5Page::signed_in(&app, &headers, (lang, remember), &here).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let psn_no = h5.psn_no.as_str();
    let passed = providers::face_finish(&app, psn_no, &biz_token, &result_token)
        .await
        .and_then(|p| {
            serde_json::from_str::<FaceAction>(&p.action)
                .map(|a| (p.token, a))
                .map_err(|_| ServiceError::FaceRejected)
        });
    match passed {
        Err(e) => {
            if let Some((relative, choice)) = face_premium_of(&headers) {
                // The premium's confirmation again, with why nothing was paid.
                let at = (relative.as_str(), choice.as_str(), "");
                return premium_refused(&app, &h5, at, &e).await;
            }
            let page = h5
                .frame(&app, lang.t().bind_face_h, "family", "/h5/family", &[])
                .await;
            problem(page, &e)
        }
        Ok((token, FaceAction::Bind { mut form })) => {
            form.face_token = Some(token);
            let v = match bind_page(&app, &h5, &form).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let (view, status) = bind_step(&app, lang, psn_no, &form, "face", v).await;
            if view.step == 5 {
                return see_other(&href("/h5/family", &[("done", "bound".into())]));
            }
            let page = view.p.clone();
            render_page(&page, status, &view)
        }
        Ok((token, FaceAction::Unbind { binding_id })) => {
            match family::unbind(&app, psn_no, binding_id, Some(&token), CHANNEL).await {
                Ok(_) => see_other(&href("/h5/family", &[("done", "unbound".into())])),
                Err(e) => match binding_page(&app, &h5, binding_id).await {
                    Ok(mut v) => {
                        v.error = Some(ErrorView::of(lang, &e));
                        let page = v.p.clone();
                        render_page(&page, session::status_of(&e), &v)
                    }
                    Err(r) => r,
                },
            }
        }
        Ok((token, FaceAction::Premium(f))) => {
            let choice = format!("{}:{}", f.year, f.premium);
            let order = parse_choice(&choice).map(|(year, kind)| PremiumOrder {
                relative_psn_no: f.relative.clone(),
                kind,
                year,
                place: None,
                idempotency_key: f.key.clone(),
                second_factor: Some(SecondFactor::FaceToken(token)),
            });
            let key = f.key.unwrap_or_default();
            let to = (f.relative.as_str(), choice.as_str(), key.as_str());
            premium_pay(&app, &h5, to, order).await
        }
    }
}

// ---- one binding: limits (R-S3), end date (R-S9), unbind (R-Z5) ----

#[derive(Deserialize, Default)]
struct BindingForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    op: Option<String>,
    limit_payment: Option<String>,
    limit_month: Option<String>,
    limit_day: Option<String>,
    limit_year: Option<String>,
    end: Option<String>,
    confirm: Option<String>,
    face_token: Option<String>,
}

#[derive(Template)]
#[template(path = "h5_binding.html")]
struct BindingTemplate {
    p: Page,
    row: BindingRow,
    is_holder: bool,
    limits_allowed: bool,
    end_only_earlier: bool,
    face_required: bool,
    demo_face: Option<&'static str>,
    /// Production: unbinding sends the person to the provider's page first.
    face_redirect: bool,
    f_limit_payment: String,
    f_limit_month: String,
    f_limit_day: String,
    f_limit_year: String,
    f_end: String,
    letter_lines: Vec<String>,
    notice: Option<String>,
    error: Option<ErrorView>,
    today: String,
    /// Staff suspended the binding: when, and the reason the clerk wrote.
    suspension: Option<family::Suspension>,
}

async fn binding_page(app: &App, h5: &H5Page, id: i64) -> Result<BindingTemplate, Response> {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let path = format!("/h5/family/{id}");
    let page = h5.frame(app, t.binding_title, "family", &path, &[]).await;
    let f = match family::my_family(app, psn_no).await {
        Ok(f) => f,
        Err(e) => return Err(problem(page, &e)),
    };
    let (view, is_holder) = match f
        .as_holder
        .iter()
        .find(|v| v.binding.id == id)
        .map(|v| (v, true))
        .or_else(|| {
            f.as_relative
                .iter()
                .find(|v| v.binding.id == id)
                .map(|v| (v, false))
        }) {
        Some(found) => found,
        None => return Err(problem(page, &ServiceError::NotFound("共济绑定"))),
    };
    let letter = family::commitment_of(app, psn_no, id).await.ok();
    let suspension = if view.validity == Validity::Suspended {
        family::suspension_of(app, psn_no, id).await.ok().flatten()
    } else {
        None
    };
    let b = &view.binding;
    Ok(BindingTemplate {
        p: page,
        row: binding_row(lang, view),
        is_holder,
        limits_allowed: f.limits_allowed,
        end_only_earlier: f.end_date_only_earlier,
        face_required: f.face_verification_required,
        demo_face: providers::demo_face_token(app),
        face_redirect: providers::face_flow_offered(app),
        f_limit_payment: b
            .limit_per_payment
            .map(|f| f.to_string())
            .unwrap_or_default(),
        f_limit_month: b.limit_per_month.map(|f| f.to_string()).unwrap_or_default(),
        f_limit_day: b.limit_per_day.map(|f| f.to_string()).unwrap_or_default(),
        f_limit_year: b.limit_per_year.map(|f| f.to_string()).unwrap_or_default(),
        f_end: b.end.map(|d| d.to_string()).unwrap_or_default(),
        letter_lines: letter
            .as_ref()
            .map(|c| lines(&c.letter))
            .unwrap_or_default(),
        notice: None,
        error: None,
        today: app.clock.now().date().to_string(),
        suspension,
    })
}

async fn binding_show(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
    headers: HeaderMap,
) -> Response {
    let here = format!("/h5/family/{}", super::encode_query_value(&id));
    let h5 = match H5Page::open(&app, &headers, q.lang, &here).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        let page = h5
            .frame(&app, h5.t().binding_title, "family", "/h5/family", &[])
            .await;
        return problem(page, &ServiceError::NotFound("共济绑定"));
    };
    match binding_page(&app, &h5, id).await {
        Ok(mut v) => {
            v.notice = done_notice(h5.t(), q.done.as_deref());
            let page = v.p.clone();
            render_page(&page, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

async fn binding_act(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<BindingForm>,
) -> Response {
    let lang_remember = match H5Page::form_checked(&headers, q.lang, form.csrf.as_deref()) {
        Ok(lr) => lr,
        Err(refused) => return refused.into_response(),
    };
    // A binding that cannot be named goes back to the list, signed in or not.
    let Ok(id) = id.parse::<i64>() else {
        return see_other("/h5/family");
    };
    let here = format!("/h5/family/{id}");
    let h5 = match H5Page::signed_in(&app, &headers, lang_remember, &here).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let op = field(&form.op);
    if op == "unbind"
        && field(&form.confirm) == "1"
        && field(&form.face_token).is_empty()
        && providers::face_flow_offered(&app)
        && family::my_family(&app, psn_no)
            .await
            .is_ok_and(|f| f.face_verification_required)
    {
        let action = FaceAction::Unbind { binding_id: id };
        match face_redirect(&app, psn_no, &action).await {
            Ok(to_provider) => return to_provider,
            Err(e) => {
                return match binding_page(&app, &h5, id).await {
                    Ok(mut v) => {
                        v.error = Some(ErrorView::of(lang, &e));
                        let page = v.p.clone();
                        render_page(&page, session::status_of(&e), &v)
                    }
                    Err(r) => r,
                }
            }
        }
    }
    let result: Result<&str, ErrorView> = match op.as_str() {
        "limits" => {
            let limits = (|| {
                Ok(Limits {
                    per_payment: parse_yuan_field(t, form.limit_payment.as_deref())?,
                    per_day: parse_yuan_field(t, form.limit_day.as_deref())?,
                    per_month: parse_yuan_field(t, form.limit_month.as_deref())?,
                    per_year: parse_yuan_field(t, form.limit_year.as_deref())?,
                })
            })();
            match limits {
                Ok(limits) => family::set_limits(&app, psn_no, id, limits, CHANNEL)
                    .await
                    .map(|_| "limits")
                    .map_err(|e| ErrorView::of(lang, &e)),
                Err(e) => Err(e),
            }
        }
        "end" => match parse_date_field(t, form.end.as_deref()) {
            Ok(Some(end)) => family::change_end(&app, psn_no, id, end, CHANNEL)
                .await
                .map(|_| "end")
                .map_err(|e| ErrorView::of(lang, &e)),
            Ok(None) => Err(ErrorView::input(t.err_date)),
            Err(e) => Err(e),
        },
        "unbind" => {
            if field(&form.confirm) != "1" {
                Err(ErrorView::input(t.unbind_confirm_missing))
            } else {
                let token = field(&form.face_token);
                let token = (!token.is_empty()).then_some(token.as_str());
                family::unbind(&app, psn_no, id, token, CHANNEL)
                    .await
                    .map(|_| "unbound")
                    .map_err(|e| ErrorView::of(lang, &e))
            }
        }
        _ => Err(ErrorView::input(t.err_form)),
    };
    match result {
        Ok("unbound") => see_other(&href("/h5/family", &[("done", "unbound".into())])),
        Ok(done) => see_other(&href(&here, &[("done", done.to_string())])),
        Err(e) => match binding_page(&app, &h5, id).await {
            Ok(mut v) => {
                if op == "limits" {
                    v.f_limit_payment = field(&form.limit_payment);
                    v.f_limit_month = field(&form.limit_month);
                    v.f_limit_day = field(&form.limit_day);
                    v.f_limit_year = field(&form.limit_year);
                }
                if op == "end" {
                    v.f_end = field(&form.end);
                }
                v.error = Some(e);
                let page = v.p.clone();
                render_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &v)
            }
            Err(r) => r,
        },
    }
}

// ---- records ----

#[derive(Deserialize, Default)]
struct RecordsQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    page: Option<String>,
}

#[derive(Clone)]
pub struct RecordView {
    pub entry_id: i64,
    pub at: String,
    pub what: String,
    pub role: &'static str,
    pub who: String,
    pub place: String,
    /// The amount as the reader meets it: signed only when her own account paid or got money.
    pub amount: String,
    /// "out", "in", or "other" (another person's account moved, not hers).
    pub flow: &'static str,
    /// Whose account the money came from or went to, in words.
    pub account: String,
    pub balance_after: String,
    /// What happened, in one plain sentence.
    pub story: String,
    /// Why mutual aid paid less than was left to pay, in plain words (empty when it did not).
    pub why: String,
    pub cancelled: bool,
}

/// The reasons a settlement's summary keeps for mutual aid paying less than was left
/// ([`gongji_engine::SUMMARY_WHY`]), without the rule references in brackets that mean
/// nothing to the person.
fn mutual_aid_why(summary: &str) -> String {
    let Some((_, why)) = summary.split_once(gongji_engine::SUMMARY_WHY) else {
        return String::new();
    };
    // The reason the allocation gave, when it gave one, says it all in plain words.
    if let Some(stop) = why
        .split('；')
        .find_map(|part| part.strip_prefix(gongji_core::allocation::MUTUAL_AID_STOP_PREFIX))
    {
        return stop.to_string();
    }
    let mut out = String::with_capacity(why.len());
    let mut rest = why;
    while let Some(open) = rest.find('（') {
        let Some(close) = rest[open..].find('）').map(|c| open + c + '）'.len_utf8()) else {
            break;
        };
        out.push_str(&rest[..open]);
        let inside = &rest[open..close];
        if !inside.chars().any(|c| c.is_ascii_alphanumeric()) {
            out.push_str(inside);
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    // "家庭共济：户主…支付30.00元，受单笔限额30.00元限制" says, to the person: the holder set a limit.
    out.split('；')
        .map(|part| match part.split_once("，受") {
            Some((_, limit)) => format!("户主设置了{}", limit.trim_end_matches("限制")),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// One record in plain words: who, where, what, how much, from whose account.
fn record_view(lang: Lang, r: &records::Record) -> RecordView {
    let t = lang.t();
    let who = r
        .counterpart
        .as_ref()
        .map(|c| c.name_masked.clone())
        .unwrap_or_default();
    let place = r.fixmedins_name.clone().unwrap_or_default();
    let abs = if r.amount < Fen::ZERO {
        Fen::ZERO.checked_sub(r.amount).unwrap_or(r.amount)
    } else {
        r.amount
    };
    let refund = r.amount > Fen::ZERO;
    let place_text = if place.is_empty() {
        t.rec_somewhere.to_string()
    } else {
        place.clone()
    };
    let story = match (r.role, refund) {
        (RecordRole::OwnCare, false) => fill(t.rec_own_care, &[&place_text, &abs]),
        (RecordRole::OwnCare, true) => fill(t.rec_own_care_back, &[&place_text, &abs]),
        (RecordRole::PaidForRelative, false) => {
            fill(t.rec_for_relative, &[&who, &place_text, &abs])
        }
        (RecordRole::PaidForRelative, true) => {
            fill(t.rec_for_relative_back, &[&who, &place_text, &abs])
        }
        (RecordRole::PaidByHolder, false) => fill(t.rec_by_holder, &[&place_text, &who, &abs]),
        (RecordRole::PaidByHolder, true) => fill(t.rec_by_holder_back, &[&who, &abs]),
        (RecordRole::PremiumForRelative, _) => fill(t.rec_premium_for, &[&who, &abs]),
        (RecordRole::PremiumForMe, _) => fill(t.rec_premium_me, &[&who, &abs]),
        (RecordRole::Recovery, _) => fill(t.rec_recovery, &[&abs]),
        (RecordRole::Funding, _) => fill(t.rec_funding, &[&abs]),
        (RecordRole::PaidInCash, _) => fill(t.rec_cash_only, &[&place_text, &abs]),
    };
    let others = matches!(
        r.role,
        RecordRole::PaidByHolder | RecordRole::PremiumForMe | RecordRole::PaidInCash
    );
    RecordView {
        entry_id: r.entry_id,
        at: r.occurred_at.clone(),
        what: i18n::record_role(lang, r.role).to_string(),
        role: r.role.code(),
        who,
        place,
        amount: if others {
            abs.to_string()
        } else {
            r.amount.to_string()
        },
        flow: if others {
            "other"
        } else if r.amount < Fen::ZERO {
            "out"
        } else {
            "in"
        },
        account: if r.role == RecordRole::PaidInCash {
            t.rec_account_none.to_string()
        } else if others {
            fill(
                t.rec_account_of,
                &[&r.counterpart
                    .as_ref()
                    .map_or(String::new(), |c| c.name_masked.clone())],
            )
        } else {
            t.rec_account_mine.to_string()
        },
        balance_after: r.balance_after.map(|b| b.to_string()).unwrap_or_default(),
        story,
        why: match r.role {
            RecordRole::OwnCare | RecordRole::PaidByHolder | RecordRole::PaidInCash
                if r.kind == "settle" =>
            {
                mutual_aid_why(&r.summary)
            }
            _ => String::new(),
        },
        cancelled: r.cancelled_by.is_some(),
    }
}

#[derive(Template)]
#[template(path = "h5_records.html")]
struct RecordsTemplate {
    p: Page,
    rows: Vec<RecordView>,
    from: String,
    to: String,
    kinds: Vec<Opt>,
    error: Option<ErrorView>,
    prev_href: Option<String>,
    next_href: Option<String>,
    page_no: u32,
    /// A filter is in use: its form is shown open.
    filtered: bool,
}

async fn records_show(
    State(app): State<App>,
    Query(q): Query<RecordsQuery>,
    headers: HeaderMap,
) -> Response {
    let query: Vec<(&str, String)> = vec![
        ("from", field(&q.from)),
        ("to", field(&q.to)),
        ("kind", field(&q.kind)),
    ];
    let here = href(
        "/h5/records",
        &query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect::<Vec<_>>(),
    );
    let h5 = match H5Page::open(&app, &headers, q.lang, &here).await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let page = h5
        .frame(&app, t.records_title, "records", "/h5/records", &query)
        .await;
    let page_no: u32 = field(&q.page).parse().unwrap_or(1).clamp(1, 1000);
    let kind = field(&q.kind);
    let mut error = None;
    let filter = match (
        parse_date_field(t, q.from.as_deref()),
        parse_date_field(t, q.to.as_deref()),
    ) {
        (Ok(from), Ok(to)) => Some(RecordFilter {
            from,
            to,
            kind: (!kind.is_empty()).then(|| kind.clone()),
            limit: Some(RECORDS_PER_PAGE + 1),
            offset: Some((page_no - 1) * RECORDS_PER_PAGE),
        }),
        (Err(e), _) | (_, Err(e)) => {
            error = Some(e);
            None
        }
    };
    let mut rows = Vec::new();
    let mut more = false;
    if let Some(filter) = filter {
        match records::records(&app, psn_no, &filter).await {
            Ok(list) => {
                more = list.len() > RECORDS_PER_PAGE as usize;
                rows = list
                    .iter()
                    .take(RECORDS_PER_PAGE as usize)
                    // The registry's opening balance is no event of the person's life (it
                    // carries the import's date); the balance after each row says it all.
                    .filter(|r| r.kind != "opening")
                    .map(|r| record_view(lang, r))
                    .collect();
            }
            Err(e) => error = Some(ErrorView::of(lang, &e)),
        }
    }
    let with_page = |n: u32| {
        let mut q2: Vec<(&str, String)> = query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect();
        if n > 1 {
            q2.push(("page", n.to_string()));
        }
        href("/h5/records", &q2)
    };
    let kinds = std::iter::once(Opt {
        value: String::new(),
        label: t.records_kind_all.to_string(),
        selected: kind.is_empty(),
    })
    .chain(
        RECORD_KINDS
            .iter()
            .filter(|k| **k != "opening")
            .map(|k| Opt {
                value: k.to_string(),
                label: i18n::record_kind(lang, k).to_string(),
                selected: kind == *k,
            }),
    )
    .collect();
    let template = RecordsTemplate {
        p: page.clone(),
        rows,
        from: field(&q.from),
        to: field(&q.to),
        kinds,
        error,
        prev_href: (page_no > 1).then(|| with_page(page_no - 1)),
        next_href: more.then(|| with_page(page_no + 1)),
        page_no,
        filtered: query.iter().any(|(_, v)| !v.is_empty()),
    };
    render_page(&page, StatusCode::OK, &template)
}

// ---- messages: every payment from my account, and for me ----

/// Messages one page shows: the latest payments.
const MESSAGES_MAX: u32 = 50;

#[derive(Template)]
#[template(path = "h5_messages.html")]
struct MessagesTemplate {
    p: Page,
    messages: Vec<RecordView>,
    error: Option<ErrorView>,
}

/// The message centre: the holder is told of every payment from his account (his own care,
/// a relative's, a premium), and a relative of every payment made for her. Read from the
/// ledger, so nothing is missed and nothing is kept twice.
async fn messages_show(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5/messages").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let page = h5
        .frame(&app, t.messages_title, "messages", "/h5/messages", &[])
        .await;
    let filter = RecordFilter {
        limit: Some(MESSAGES_MAX),
        ..RecordFilter::default()
    };
    let (messages, error) = match records::records(&app, psn_no, &filter).await {
        Ok(list) => (
            list.iter()
                .filter(|r| {
                    r.kind != "opening" && r.amount != Fen::ZERO && r.role != RecordRole::PaidInCash
                })
                .map(|r| record_view(lang, r))
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(ErrorView::of(lang, &e))),
    };
    render_page(
        &page,
        StatusCode::OK,
        &MessagesTemplate {
            p: page.clone(),
            messages,
            error,
        },
    )
}

// ---- premiums (R-Y2, R-R1, R-R2, R-R4) ----

/// Sends the second factor to the holder's own phone and shows the confirmation again, with
/// the same idempotency key, ready for the code.
async fn premium_second_factor(
    app: &App,
    h5: &H5Page,
    relative: &str,
    choice: &str,
    key: &str,
) -> Response {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let sent = auth::send_second_factor(app, psn_no).await;
    let mut v = match premium_page(app, h5, relative, choice).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !key.is_empty() {
        v.key = key.to_string();
    }
    let status = match sent {
        Ok(s) => {
            let phone = auth::second_factor_phone(app, psn_no).await.ok();
            if let Some(c) = v.confirm.as_mut() {
                c.code_sent_to = Some(s.phone_masked);
                c.demo_code = phone.and_then(|p| providers::demo_code(app, &p));
            }
            StatusCode::OK
        }
        Err(e) => {
            v.error = Some(ErrorView::of(lang, &e));
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    let page = v.p.clone();
    render_page(&page, status, &v)
}

#[derive(Deserialize, Default)]
struct PremiumQuery {
    lang: Option<String>,
    relative: Option<String>,
    /// An option to confirm before paying: `year:kind`.
    choice: Option<String>,
}

#[derive(Deserialize, Default)]
struct PremiumForm {
    /// The form's CSRF token.
    csrf: Option<String>,
    relative: Option<String>,
    choice: Option<String>,
    key: Option<String>,
    /// `code`: send the second factor; otherwise pay.
    op: Option<String>,
    /// The second factor: the SMS code sent to the holder's own phone (issue 13 item 7).
    sms_code: Option<String>,
    /// The other second factor, with `op` = `face`: a passed face check's token.
    face_token: Option<String>,
}

#[derive(Clone)]
pub struct PremiumRow {
    pub value: String,
    pub id: String,
    pub year_label: String,
    pub category: String,
    pub amount: String,
    pub paid: bool,
}

/// What is about to be paid, shown before money leaves the account (issue 13 item 7).
#[derive(Clone)]
pub struct ConfirmView {
    pub payer: PersonView,
    pub payee: PersonView,
    pub value: String,
    pub year: i32,
    pub category: String,
    pub amount: String,
    pub back_href: String,
    /// The second factor was sent to this (masked) phone.
    pub code_sent_to: Option<String>,
    /// The code the development sender kept, shown beside 演示; never in production.
    pub demo_code: Option<String>,
    /// The face check instead of the code: the development token (demo only) ...
    pub demo_face: Option<&'static str>,
    /// ... or, in production, the provider's page.
    pub face_redirect: bool,
}

#[derive(Clone)]
pub struct ReceiptView {
    pub no: i64,
    pub holder: PersonView,
    pub relative: PersonView,
    pub year: i32,
    pub category: String,
    pub amount: String,
    pub balance_after: String,
    pub at: String,
    pub explanation: String,
    pub replayed: bool,
}

#[derive(Template)]
#[template(path = "h5_premium.html")]
struct PremiumTemplate {
    p: Page,
    relatives: Vec<Opt>,
    relative: String,
    relative_view: Option<PersonView>,
    options: Vec<PremiumRow>,
    all_paid: bool,
    key: String,
    confirm: Option<ConfirmView>,
    receipt: Option<ReceiptView>,
    error: Option<ErrorView>,
    guide_href: String,
}

fn new_key() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

async fn premium_page(
    app: &App,
    h5: &H5Page,
    relative: &str,
    choice: &str,
) -> Result<PremiumTemplate, Response> {
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let query = [("relative", relative.to_string())];
    let page = h5
        .frame(app, t.premium_title, "premium", "/h5/premium", &query)
        .await;
    let f = match family::my_family(app, psn_no).await {
        Ok(f) => f,
        Err(e) => return Err(problem(page, &e)),
    };
    // Each relative once, those valid today first.
    let mut seen = std::collections::HashSet::new();
    let mut list: Vec<&BindingView> = f.as_holder.iter().collect();
    list.sort_by_key(|v| v.validity != Validity::Valid);
    let relatives: Vec<Opt> = list
        .into_iter()
        .filter(|v| seen.insert(v.binding.relative.clone()))
        .map(|v| Opt {
            value: v.binding.relative.clone(),
            label: format!(
                "{} · {} · {}",
                v.relative.name_masked,
                i18n::relationship(lang, v.binding.relationship),
                region(lang, &v.relative.admdvs)
            ),
            selected: v.binding.relative == relative,
        })
        .collect();
    let chosen_binding = f.as_holder.iter().find(|v| v.binding.relative == relative);
    let chosen = chosen_binding.map(|v| v.relative.clone());
    let mut options = Vec::new();
    let mut error = None;
    if chosen.is_some() {
        match premiums::premium_options(app, psn_no, relative).await {
            Ok(list) => {
                options = list
                    .iter()
                    .enumerate()
                    .map(|(i, o)| PremiumRow {
                        value: format!("{}:{}", o.year, o.kind.code()),
                        id: format!("opt-{i}"),
                        year_label: fill(t.premium_year_n, &[&o.year]),
                        category: premium_label(lang, o.kind, &o.category, &o.category_name),
                        amount: o.amount.to_string(),
                        paid: o.already_paid,
                    })
                    .collect();
            }
            Err(e) => error = Some(ErrorView::of(lang, &e)),
        }
    }
    // The option asked for, if it can still be paid: shown in full before paying.
    let confirm = chosen_binding.and_then(|b| {
        let o = options.iter().find(|o| o.value == choice && !o.paid)?;
        Some(ConfirmView {
            payer: PersonView::of(&b.holder),
            payee: PersonView::of(&b.relative),
            value: o.value.clone(),
            year: choice.split_once(':')?.0.parse().ok()?,
            category: o.category.clone(),
            amount: o.amount.clone(),
            back_href: format!("/h5/premium?relative={relative}"),
            code_sent_to: None,
            demo_code: None,
            demo_face: providers::demo_face_token(app),
            face_redirect: providers::face_flow_offered(app),
        })
    });
    let guide = match &chosen {
        Some(r) => guide_href(app, &r.admdvs).await,
        None => "/guide".to_string(),
    };
    Ok(PremiumTemplate {
        p: page,
        relatives,
        relative: relative.to_string(),
        relative_view: chosen.as_ref().map(PersonView::of),
        all_paid: !options.is_empty() && options.iter().all(|o| o.paid),
        options,
        key: new_key(),
        confirm,
        receipt: None,
        error,
        guide_href: guide,
    })
}

/// What an option pays for, as a person reads it: the resident category, or the employee
/// premium's name (R-S6).
fn premium_label(lang: Lang, kind: PremiumKind, code: &str, name_zh: &str) -> String {
    match kind {
        PremiumKind::Resident => i18n::contribution_category(lang, code, name_zh),
        _ if lang.is_en() => i18n::mutual_aid_use(lang, kind.mutual_aid_use()).to_string(),
        _ => name_zh.to_string(),
    }
}

/// A premium choice as the form sends it: `year:kind`. The category is never the payer's: the
/// service takes the registry's (R-R5).
fn parse_choice(choice: &str) -> Option<(i32, PremiumKind)> {
    let (year, kind) = choice.split_once(':')?;
    Some((year.parse::<i32>().ok()?, PremiumKind::parse(kind)?))
}

async fn premium_show(
    State(app): State<App>,
    Query(q): Query<PremiumQuery>,
    headers: HeaderMap,
) -> Response {
    let relative = field(&q.relative);
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5/premium").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let choice = field(&q.choice);
    match premium_page(&app, &h5, &relative, &choice).await {
        Ok(v) => {
            let page = v.p.clone();
            render_page(&page, StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

async fn premium_act(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<PremiumForm>,
) -> Response {
    let csrf = form.csrf.as_deref();
    let h5 = match H5Page::open_form(&app, &headers, q.lang, csrf, "/h5/premium").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let t = h5.t();
    let relative = field(&form.relative);
    let choice = field(&form.choice);
    let key = field(&form.key);
    if field(&form.op) == "code" {
        return premium_second_factor(&app, &h5, &relative, &choice, &key).await;
    }
    let order = parse_choice(&choice).map(|(year, kind)| PremiumOrder {
        relative_psn_no: relative.clone(),
        kind,
        year,
        place: None,
        idempotency_key: (!key.is_empty()).then(|| key.clone()),
        second_factor: Some(if field(&form.op) == "face" {
            SecondFactor::FaceToken(field(&form.face_token))
        } else {
            SecondFactor::SmsCode(field(&form.sms_code))
        }),
    });
    if field(&form.op) == "face"
        && field(&form.face_token).is_empty()
        && providers::face_flow_offered(&app)
    {
        // Production: the face check on the provider's page, started for this payment only;
        // the payment is made when the provider sends the holder back (`face_return`).
        let started = match &order {
            Some(o) => {
                let action = FaceAction::Premium(premiums::FaceForPremium::of(o));
                face_redirect(&app, &h5.psn_no, &action).await
            }
            None => Err(ServiceError::BadRequest(
                t.premium_choose_missing.to_string(),
            )),
        };
        return match started {
            Ok(to_provider) => to_provider,
            Err(e) => premium_refused(&app, &h5, (&relative, &choice, &key), &e).await,
        };
    }
    let to = (relative.as_str(), choice.as_str(), key.as_str());
    premium_pay(&app, &h5, to, order).await
}

/// The confirmation shown again after the second factor was refused (or the face check could
/// not start): the same choice and key, nothing paid, the reason in plain words.
async fn premium_refused(
    app: &App,
    h5: &H5Page,
    (relative, choice, key): (&str, &str, &str),
    e: &ServiceError,
) -> Response {
    let lang = h5.lang;
    let mut v = match premium_page(app, h5, relative, choice).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !key.is_empty() {
        v.key = key.to_string();
    }
    v.error = Some(ErrorView::of(lang, e));
    // A wrong code is the form's fault, not the session's: 422, as a form refusal is.
    let status = match e {
        ServiceError::CodeInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        other => session::status_of(other),
    };
    let page = v.p.clone();
    render_page(&page, status, &v)
}

/// Pays `order` through the service, which asks for the second factor, and shows the
/// receipt; or the refusal, with the confirmation again when only the second factor failed.
async fn premium_pay(
    app: &App,
    h5: &H5Page,
    (relative, choice, key): (&str, &str, &str),
    order: Option<PremiumOrder>,
) -> Response {
    let (lang, t) = (h5.lang, h5.t());
    let result = match order {
        Some(o) => premiums::pay_premium(app, &h5.psn_no, o, CHANNEL).await,
        None => {
            let mut v = match premium_page(app, h5, relative, "").await {
                Ok(v) => v,
                Err(r) => return r,
            };
            v.error = Some(ErrorView::input(t.premium_choose_missing));
            let page = v.p.clone();
            return render_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &v);
        }
    };
    let r = match result {
        Ok(r) => r,
        Err(
            e @ (ServiceError::SecondFactorRequired
            | ServiceError::CodeInvalid
            | ServiceError::FaceRejected
            | ServiceError::FaceUnavailable),
        ) => return premium_refused(app, h5, (relative, choice, key), &e).await,
        Err(e) => {
            // Nothing was paid: the form shown again carries a fresh key.
            let mut v = match premium_page(app, h5, relative, "").await {
                Ok(v) => v,
                Err(r) => return r,
            };
            v.error = Some(ErrorView::of(lang, &e));
            let page = v.p.clone();
            return render_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &v);
        }
    };
    let mut v = match premium_page(app, h5, relative, "").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    v.receipt = Some(ReceiptView {
        no: r.receipt_no,
        holder: PersonView::of(&r.holder),
        relative: PersonView::of(&r.relative),
        year: r.year,
        category: premium_label(lang, r.kind, &r.category, &r.category_name),
        amount: r.amount.to_string(),
        balance_after: r.holder_balance_after.to_string(),
        at: r.paid_at,
        explanation: r.explanation,
        replayed: r.replayed,
    });
    let page = v.p.clone();
    render_page(&page, StatusCode::OK, &v)
}

// ---- premium payments (R-R7) ----

struct PaymentLine {
    year: i32,
    what: String,
    amount: String,
    channel: String,
    paid_at: String,
    payer: String,
}

#[derive(Template)]
#[template(path = "h5_payments.html")]
struct PaymentsTemplate {
    p: Page,
    payments: Vec<PaymentLine>,
    bubao: Vec<super::h5_bubao::BubaoLine>,
    error: Option<ErrorView>,
}

/// Every premium paid for the signed-in person: amount, channel, time and who paid.
async fn payments_show(
    State(app): State<App>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let h5 = match H5Page::open(&app, &headers, q.lang, "/h5/payments").await {
        Ok(h5) => h5,
        Err(r) => return r,
    };
    let (lang, psn_no) = (h5.lang, h5.psn_no.as_str());
    let t = h5.t();
    let page = h5
        .frame(&app, t.h5_payments_title, "premium", "/h5/payments", &[])
        .await;
    let (payments, error) = match crate::service::premiums::payments(&app, psn_no).await {
        Ok(list) => (
            list.into_iter()
                .map(|r| PaymentLine {
                    year: r.year,
                    what: format!("{}年度{}", r.year, r.what_zh),
                    amount: r.amount.to_string(),
                    channel: i18n::payment_channel(lang, &r.channel).to_string(),
                    paid_at: r.paid_at,
                    payer: r
                        .payer_masked
                        .unwrap_or_else(|| t.h5_payments_self.to_string()),
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(ErrorView::of(lang, &e))),
    };
    let (bubao, bubao_error) = super::h5_bubao::lines(&app, lang, psn_no).await;
    render_page(
        &page,
        StatusCode::OK,
        &PaymentsTemplate {
            p: page.clone(),
            payments,
            bubao,
            error: error.or(bubao_error),
        },
    )
}
