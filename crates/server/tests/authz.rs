//! The authorization matrix (issue 10): every route — REST, pages, till, metrics, health,
//! the institution interface — tried by every role against a production deployment, with
//! the outcome each role must get written in ONE table ([`matrix`]). A new route without a
//! row fails [`every_route_has_a_row`].
//!
//! Roles: anonymous; a person with no binding; the relative and the holder of one binding;
//! till operators of institutions A and B; clerk, auditor, admin. Requests carry the role's
//! session as a bearer token (API) or cookie (pages), and every form its session's CSRF
//! token (or the pre-session one), so that only the owner check decides.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::csrf_of;
use common::{world_configured, Browser, Inbox, World};
use gongji_server::deployment::Deployment;
use gongji_server::service::providers;
use reqwest::Method;

const OPERATOR_PASSWORD: &str = "till-password-1";
const METRICS_TOKEN: &str = "metrics-secret-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    Person,
    Relative,
    Holder,
    OperatorA,
    OperatorB,
    Clerk,
    Auditor,
    Admin,
}

const ROLES: [Role; 9] = [
    Role::Anonymous,
    Role::Person,
    Role::Relative,
    Role::Holder,
    Role::OperatorA,
    Role::OperatorB,
    Role::Clerk,
    Role::Auditor,
    Role::Admin,
];

/// What a role gets. `P`: let through the door (any answer but 401/403/404/5xx, and for
/// a page not a redirect to a sign-in page); `U` 401; `F` 403; `N` 404; `S` a redirect to a
/// sign-in page (303); `X` a refusal of any of 401/403/404, or a redirect to sign-in; `L`,
/// `R`, `E` below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    P,
    U,
    F,
    N,
    S,
    X,
    /// A failed sign-in: 401, or 429 once the source's limit is reached.
    L,
    /// Refused, nothing done: any 4xx.
    R,
    /// 503: the face provider is not configured in this deployment.
    E,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// JSON under /api/v1: bearer token.
    Api,
    /// Pages and the till: session cookie; forms carry the session's CSRF token.
    Page,
    /// A sign-in form: the pre-session CSRF cookie and field.
    SignInForm,
}

struct Row {
    method: Method,
    /// Axum route pattern, for the coverage check.
    route: &'static str,
    /// The concrete path tried.
    path: String,
    surface: Surface,
    /// JSON body (API) or form fields (pages), built per role.
    body: fn(&Ctx, Role) -> Body,
    want: [Want; 9],
}

enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    /// A form with a file (`multipart/form-data`): the fields, then the file as `file`.
    Upload(Vec<(String, String)>, String),
}

struct Ctx {
    w: World,
    /// Each role's session token (`None` for the anonymous).
    tokens: HashMap<&'static str, String>,
    inst_a: String,
    inst_b: String,
}

fn role_key(r: Role) -> &'static str {
    match r {
        Role::Anonymous => "anonymous",
        Role::Person => "person",
        Role::Relative => "relative",
        Role::Holder => "holder",
        Role::OperatorA => "operator-a",
        Role::OperatorB => "operator-b",
        Role::Clerk => "clerk",
        Role::Auditor => "auditor",
        Role::Admin => "admin",
    }
}

impl Ctx {
    fn token(&self, r: Role) -> Option<&str> {
        self.tokens.get(role_key(r)).map(String::as_str)
    }
}

fn w(s: &str) -> [Want; 9] {
    let v: Vec<Want> = s
        .split_whitespace()
        .map(|c| match c {
            "P" => Want::P,
            "U" => Want::U,
            "F" => Want::F,
            "N" => Want::N,
            "S" => Want::S,
            "X" => Want::X,
            "L" => Want::L,
            "R" => Want::R,
            "E" => Want::E,
            other => panic!("unknown cell {other}"),
        })
        .collect();
    v.try_into().expect("nine cells")
}

fn none(_: &Ctx, _: Role) -> Body {
    Body::None
}
fn empty_json(_: &Ctx, _: Role) -> Body {
    Body::Json(serde_json::json!({}))
}
fn quota_bind_json(_: &Ctx, _: Role) -> Body {
    Body::Json(serde_json::json!({
        "province": "14",
        "relative_certno": "140105199001011234",
        "relative_name": "张三",
        "relationship": "10",
        "begin": "2026-03-10",
    }))
}
fn quota_amount_json(_: &Ctx, _: Role) -> Body {
    Body::Json(serde_json::json!({ "amount": "1.00" }))
}
fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// THE table. Columns: anonymous, person, relative, holder, operator A, operator B, clerk,
/// auditor, admin. The binding is the holder's with the relative; the person is bound to
/// no one; the settlement was made at institution A for the relative.
fn matrix(c: &Ctx) -> Vec<Row> {
    let x = c.w.b_hj_rj;
    let h = c.w.hj.psn_no.clone();
    let r = c.w.rj.psn_no.clone();
    let api =
        |m: Method, route: &'static str, path: String, body: fn(&Ctx, Role) -> Body, want| Row {
            method: m,
            route,
            path,
            surface: Surface::Api,
            body,
            want,
        };
    let page =
        |m: Method, route: &'static str, path: String, body: fn(&Ctx, Role) -> Body, want| Row {
            method: m,
            route,
            path,
            surface: Surface::Page,
            body,
            want,
        };
    let signin = |route: &'static str, body: fn(&Ctx, Role) -> Body, want| Row {
        method: Method::POST,
        route,
        path: route.to_string(),
        surface: Surface::SignInForm,
        body,
        want,
    };
    let v1 = |p: &str| format!("/api/v1{p}");
    vec![
        // ---- REST: public ----
        api(
            Method::GET,
            "/api/v1/openapi.json",
            v1("/openapi.json"),
            none,
            w("P P P P P P P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/auth/sms-code",
            v1("/auth/sms-code"),
            |_, r| Body::Json(serde_json::json!({ "phone": format!("1390000{:04}", r as u32) })),
            w("P P P P P P P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/auth/session",
            v1("/auth/session"),
            |c, _| Body::Json(serde_json::json!({ "phone": c.w.cj.phone, "code": "000000" })),
            w("U U U U U U U U U"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/session",
            v1("/staff/session"),
            |_, _| Body::Json(serde_json::json!({ "username": "clerk1", "password": "wrong" })),
            w("L L L L L L L L L"),
        ),
        api(
            Method::GET,
            "/api/v1/family/notice",
            v1("/family/notice"),
            none,
            w("P P P P P P P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/institutions/near",
            v1("/institutions/near?lat=36.6512&lon=117.1201"),
            none,
            w("P P P P P P P P P"),
        ),
        // ---- REST: a person's own ----
        api(
            Method::GET,
            "/api/v1/me",
            v1("/me"),
            none,
            w("U P P P F F F F F"),
        ),
        api(
            Method::GET,
            "/api/v1/me/family",
            v1("/me/family"),
            none,
            w("U P P P F F F F F"),
        ),
        api(
            Method::GET,
            "/api/v1/me/records",
            v1("/me/records"),
            none,
            w("U P P P F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/family/commitment",
            v1("/me/family/commitment"),
            empty_json,
            w("U P P P F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/family/bindings",
            v1("/me/family/bindings"),
            empty_json,
            w("U P P P F F F F F"),
        ),
        api(
            Method::GET,
            "/api/v1/me/premium-options",
            v1(&format!("/me/premium-options?relative_psn_no={r}")),
            none,
            w("U X X P F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/premiums",
            v1("/me/premiums"),
            empty_json,
            w("U P P P F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/premiums/second-factor",
            v1("/me/premiums/second-factor"),
            none,
            w("U P P P F F F F F"),
        ),
        // ---- REST: premiums paid with outside money (issue 13) ----
        api(
            Method::POST,
            "/api/v1/me/premium-orders",
            v1("/me/premium-orders"),
            empty_json,
            w("U P P P F F F F F"),
        ),
        // Only the provider's signature opens it; no session does.
        api(
            Method::POST,
            "/api/v1/payments/notify",
            v1("/payments/notify"),
            empty_json,
            w("U U U U U U U U U"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/agents",
            v1("/staff/agents"),
            |_, _| {
                Body::Json(serde_json::json!({
                    "agent_id": "VC-9", "name": "某村委会", "admdvs": "140802", "kind": "school"
                }))
            },
            w("U F F F F F F P P"),
        ),
        // Only an agent's own token opens them.
        api(
            Method::POST,
            "/api/v1/agent/payments",
            v1("/agent/payments?batch=B1&year=2026"),
            none,
            w("U U U U U U U U U"),
        ),
        api(
            Method::GET,
            "/api/v1/agent/statement",
            v1("/agent/statement?date=2025-10-10"),
            none,
            w("U U U U U U U U U"),
        ),
        // ---- REST: one binding: its holder changes it, its relative reads it ----
        api(
            Method::GET,
            "/api/v1/me/family/bindings/:id/commitment",
            v1(&format!("/me/family/bindings/{x}/commitment")),
            none,
            w("U N X X F F F F F"),
        ),
        api(
            Method::PUT,
            "/api/v1/me/family/bindings/:id/limits",
            v1(&format!("/me/family/bindings/{x}/limits")),
            |_, _| Body::Json(serde_json::json!({ "per_payment": "50.00" })),
            w("U N F P F F F F F"),
        ),
        api(
            Method::PUT,
            "/api/v1/me/family/bindings/:id/end",
            v1(&format!("/me/family/bindings/{x}/end")),
            |_, _| Body::Json(serde_json::json!({ "end": "2030-12-31" })),
            w("U N F P F F F F F"),
        ),
        // ---- REST: staff ----
        api(
            Method::GET,
            "/api/v1/staff/persons",
            v1("/staff/persons?q=13"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/persons/:psn_no",
            v1(&format!("/staff/persons/{h}")),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/persons/:psn_no/records",
            v1(&format!("/staff/persons/{h}/records")),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/bindings/:id/suspend",
            v1(&format!("/staff/bindings/{x}/suspend")),
            |_, _| Body::Json(serde_json::json!({ "reason": "核查" })),
            w("U F F F F F P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/bindings/:id/lift",
            v1(&format!("/staff/bindings/{x}/lift")),
            |_, _| Body::Json(serde_json::json!({ "reason": "核查完毕" })),
            w("U F F F F F P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/persons/:psn_no/suspend",
            v1(&format!("/staff/persons/{}/suspend", c.w.hz.psn_no)),
            |_, _| Body::Json(serde_json::json!({ "reason": "核查" })),
            w("U F F F F F P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/contribution-lists",
            v1("/staff/contribution-lists?year=2024"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/recovery-cases",
            v1("/staff/recovery-cases"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/recovery-cases",
            v1("/staff/recovery-cases"),
            |c, _| {
                Body::Json(serde_json::json!({
                    "binding_id": c.w.b_hj_rj, "setl_id": c.w.setl,
                    "amount": "1.00", "reason": "核查"
                }))
            },
            w("U F F F F F F P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/recovery-cases/:id/repaid",
            v1("/staff/recovery-cases/999999/repaid"),
            empty_json,
            w("U F F F F F N N N"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/reports/mutual-aid",
            v1("/staff/reports/mutual-aid"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/reports/mutual-aid.csv",
            v1("/staff/reports/mutual-aid.csv"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/reports/collection",
            v1("/staff/reports/collection?year=2026&by=channel"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/reports/collection.csv",
            v1("/staff/reports/collection.csv?year=2026&by=agent"),
            none,
            // Each agent's takings: an agent manager's, not a clerk's.
            w("U F F F F F F P P"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/audit-log",
            v1("/staff/audit-log"),
            none,
            w("U F F F F F F P P"),
        ),
        // ---- cross-province quotas (issue 14): this world has no peers, so whoever gets
        // through the door is told 503 GJ-PEER-NOT-CONFIGURED ----
        api(
            Method::GET,
            "/api/v1/me/quotas",
            v1("/me/quotas"),
            none,
            w("U E E E F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/quotas",
            v1("/me/quotas"),
            quota_bind_json,
            w("U E E E F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/quotas/:province/:relative/grant",
            v1("/me/quotas/14/R1/grant"),
            quota_amount_json,
            w("U E E E F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/quotas/:province/:relative/lower",
            v1("/me/quotas/14/R1/lower"),
            quota_amount_json,
            w("U E E E F F F F F"),
        ),
        api(
            Method::POST,
            "/api/v1/me/quotas/:province/:relative/end",
            v1("/me/quotas/14/R1/end"),
            none,
            w("U E E E F F F F F"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/persons/:psn_no/quotas",
            v1(&format!("/staff/persons/{h}/quotas")),
            none,
            w("U F F F F F E E E"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/persons/:psn_no/quotas",
            v1(&format!("/staff/persons/{h}/quotas")),
            quota_bind_json,
            w("U F F F F F E E E"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/persons/:psn_no/quotas/:province/:relative/grant",
            v1(&format!("/staff/persons/{h}/quotas/14/R1/grant")),
            quota_amount_json,
            w("U F F F F F E E E"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/persons/:psn_no/quotas/:province/:relative/lower",
            v1(&format!("/staff/persons/{h}/quotas/14/R1/lower")),
            quota_amount_json,
            w("U F F F F F E E E"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/persons/:psn_no/quotas/:province/:relative/end",
            v1(&format!("/staff/persons/{h}/quotas/14/R1/end")),
            none,
            w("U F F F F F E E E"),
        ),
        api(
            Method::GET,
            "/api/v1/staff/quota-transfers",
            v1("/staff/quota-transfers"),
            none,
            w("U F F F F F E E E"),
        ),
        // ---- REST: registration and correction requests (R-R7) ----
        // A person's own: no path names another's, and the list is the caller's only.
        api(
            Method::POST,
            "/api/v1/me/requests",
            v1("/me/requests"),
            |_, _| Body::Json(serde_json::json!({ "kind": "correction", "phone": "13912345678" })),
            w("U P P P F F F F F"),
        ),
        api(
            Method::GET,
            "/api/v1/me/requests",
            v1("/me/requests"),
            none,
            w("U P P P F F F F F"),
        ),
        // Staff with ReviewRequests (every staff role holds it); no person or operator.
        api(
            Method::GET,
            "/api/v1/staff/reviews",
            v1("/staff/reviews"),
            none,
            w("U F F F F F P P P"),
        ),
        api(
            Method::POST,
            "/api/v1/staff/reviews/:id/decision",
            v1("/staff/reviews/SQ0/decision"),
            |_, _| Body::Json(serde_json::json!({ "decision": "reject", "reason": "核对" })),
            w("U F F F F F R R R"),
        ),
        page(
            Method::GET,
            "/h5/quotas",
            "/h5/quotas".into(),
            none,
            w("S E E E S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/quotas",
            "/h5/quotas".into(),
            |_, _| form(&[("op", "end"), ("province", "14"), ("relative", "R1")]),
            w("X R R R X X X X X"),
        ),
        page(
            Method::GET,
            "/console/transfers",
            "/console/transfers".into(),
            none,
            w("S S S S S S E E E"),
        ),
        // Provinces: only a peer's SM2 signature opens it, whatever session a caller carries.
        api(
            Method::POST,
            "/peer/v1/*step",
            "/peer/v1/quota/credit".into(),
            empty_json,
            w("E E E E E E E E E"),
        ),
        // ---- pages anyone may see ----
        page(Method::GET, "/", "/".into(), none, w("P P P P P P P P P")),
        page(
            Method::GET,
            "/guide",
            "/guide".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/guide/:id",
            "/guide/shandong-jinan".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/nearby",
            "/nearby".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/static/app.css",
            "/static/app.css".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/static/app.js",
            "/static/app.js".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/static/icon.svg",
            "/static/icon.svg".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/favicon.ico",
            "/favicon.ico".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/healthz",
            "/healthz".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/h5/signin",
            "/h5/signin".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/console",
            "/console".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/terminal/signin",
            "/terminal/signin".into(),
            none,
            w("P P P P P P P P P"),
        ),
        // ---- sign-in forms ----
        signin(
            "/h5/signin",
            |_, r| {
                form(&[
                    ("op", "code"),
                    ("phone", &format!("1380000{:04}", r as u32)),
                ])
            },
            w("P P P P P P P P P"),
        ),
        signin(
            "/console/signin",
            |_, _| form(&[("username", "clerk1"), ("password", "wrong")]),
            w("L L L L L L L L L"),
        ),
        signin(
            "/terminal/signin",
            |c, _| {
                form(&[
                    ("inst", &c.inst_a),
                    ("username", "till-a"),
                    ("password", "wrong"),
                ])
            },
            w("L L L L L L L L L"),
        ),
        // ---- the H5: a person's own pages ----
        page(
            Method::GET,
            "/h5",
            "/h5".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::GET,
            "/h5/family",
            "/h5/family".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::GET,
            "/h5/family/bind",
            "/h5/family/bind".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::GET,
            "/h5/records",
            "/h5/records".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::GET,
            "/h5/messages",
            "/h5/messages".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::GET,
            "/h5/payments",
            "/h5/payments".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::GET,
            "/care",
            "/care?on=1&next=%2Fnearby".into(),
            none,
            w("P P P P P P P P P"),
        ),
        page(
            Method::GET,
            "/h5/premium",
            "/h5/premium".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/premium",
            "/h5/premium".into(),
            |_, _| form(&[("op", "pay")]),
            w("X P P P X X X X X"),
        ),
        page(
            Method::GET,
            "/h5/premium/self",
            "/h5/premium/self".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/premium/self",
            "/h5/premium/self".into(),
            |_, _| form(&[("year", "2026")]),
            w("X P P P X X X X X"),
        ),
        page(
            Method::POST,
            "/h5/family/bind",
            "/h5/family/bind".into(),
            |_, _| form(&[("step", "details")]),
            w("X P P P X X X X X"),
        ),
        page(
            Method::GET,
            "/h5/family/:id",
            format!("/h5/family/{x}"),
            none,
            w("S N P P S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/family/:id",
            format!("/h5/family/{x}"),
            |_, _| form(&[("op", "limits"), ("per_payment", "40.00")]),
            w("X N R P X X X X X"),
        ),
        page(
            Method::GET,
            "/h5/face/return",
            "/h5/face/return?order=unknown".into(),
            none,
            w("P E E E P P P P P"),
        ),
        // 亲情账户 (E6): a person's own consents; another's token is answered as none.
        page(
            Method::GET,
            "/h5/proxy",
            "/h5/proxy".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/proxy",
            "/h5/proxy".into(),
            |_, _| form(&[("op", "revoke"), ("token", "QQ0000000000000000")]),
            w("X P P P X X X X X"),
        ),
        // Registration and correction requests (R-R7): a person's own; nobody else's shown.
        page(
            Method::GET,
            "/h5/requests",
            "/h5/requests".into(),
            none,
            w("S P P P S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/requests",
            "/h5/requests".into(),
            |_, _| form(&[("op", "correct"), ("phone", "13912345678")]),
            w("X P P P X X X X X"),
        ),
        // ---- the console: staff only ----
        page(
            Method::GET,
            "/console/persons",
            "/console/persons?q=13".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::GET,
            "/console/persons/:psn_no",
            format!("/console/persons/{h}"),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::POST,
            "/console/persons/:psn_no",
            format!("/console/persons/{h}"),
            |_, _| form(&[("op", "suspend"), ("reason", "核查")]),
            w("X X X X X X P P P"),
        ),
        page(
            Method::POST,
            "/console/bindings/:id",
            format!("/console/bindings/{x}"),
            |_, _| form(&[("op", "lift"), ("reason", "核查完毕")]),
            w("X X X X X X P P P"),
        ),
        page(
            Method::GET,
            "/console/recovery",
            "/console/recovery".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::POST,
            "/console/recovery",
            "/console/recovery".into(),
            |_, _| form(&[("op", "open")]),
            w("X X X X X X R P P"),
        ),
        page(
            Method::GET,
            "/console/bubao",
            "/console/bubao".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::POST,
            "/console/bubao",
            "/console/bubao".into(),
            |_, _| form(&[("op", "run")]),
            w("X X X X X X P P P"),
        ),
        page(
            Method::GET,
            "/console/reviews",
            "/console/reviews".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::POST,
            "/console/reviews",
            "/console/reviews".into(),
            |_, _| form(&[("op", "reject"), ("review_id", "SQ0"), ("reason", "核对")]),
            w("X X X X X X R R R"),
        ),
        page(
            Method::GET,
            "/console/reports",
            "/console/reports".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::GET,
            "/console/reports.csv",
            "/console/reports.csv".into(),
            none,
            w("X X X X X X P P P"),
        ),
        page(
            Method::GET,
            "/console/collection",
            "/console/collection?year=2026&by=region".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::GET,
            "/console/collection.csv",
            "/console/collection.csv?year=2026&by=category".into(),
            none,
            w("X X X X X X P P P"),
        ),
        // Agents collect money: their list and registering one are an admin's or auditor's
        // (Permission::ManageAgents), not a clerk's.
        page(
            Method::GET,
            "/console/agents",
            "/console/agents".into(),
            none,
            w("S S S S S S F P P"),
        ),
        page(
            Method::POST,
            "/console/agents",
            "/console/agents".into(),
            |_, r| {
                let id = format!("AZ-{}", role_key(r));
                form(&[
                    ("op", "add"),
                    ("agent_id", &id),
                    ("name", "某学校"),
                    ("admdvs", "140802"),
                    ("kind", "school"),
                ])
            },
            w("X X X X X X F P P"),
        ),
        // Every role marks categories from lists (Permission::MarkContributionCategories).
        page(
            Method::GET,
            "/console/lists",
            "/console/lists".into(),
            none,
            w("S S S S S S P P P"),
        ),
        page(
            Method::POST,
            "/console/lists",
            "/console/lists".into(),
            |c, _| {
                Body::Upload(
                    vec![("year".into(), "2026".into())],
                    format!(
                        "certno,category,source_dept,list_date\n{},minimum_subsistence,民政局,2025-09-20\n",
                        c.w.ry2.certno
                    ),
                )
            },
            w("X X X X X X P P P"),
        ),
        page(
            Method::GET,
            "/console/audit",
            "/console/audit".into(),
            none,
            w("S S S S S S F P P"),
        ),
        // ---- the till: operators of their own institution only ----
        page(
            Method::GET,
            "/terminal",
            "/terminal".into(),
            none,
            w("S S S S P P S S S"),
        ),
        page(
            Method::POST,
            "/terminal",
            "/terminal".into(),
            |c, _| {
                form(&[
                    ("op", "read"),
                    ("inst", &c.inst_a),
                    ("cert_type", "02"),
                    ("cert_no", &c.w.rj.certno),
                ])
            },
            w("U U U U P F U U U"),
        ),
        // ---- metrics: only with the deployment's token, which no role carries ----
        page(
            Method::GET,
            "/metrics",
            "/metrics".into(),
            none,
            w("U U U U U U U U U"),
        ),
        // ---- the institution interface: only the gateway signature opens it ----
        api(
            Method::POST,
            "/fsi/api/rsfComIfsService/callService",
            "/fsi/api/rsfComIfsService/callService".into(),
            |c, _| Body::Json(serde_json::json!({ "infno": "1101", "fixmedins_code": c.inst_a })),
            w("U U U U U U U U U"),
        ),
        api(
            Method::POST,
            "/fsi/api/rsfComIfsService/callService/:infno",
            "/fsi/api/rsfComIfsService/callService/1101".into(),
            |c, _| Body::Json(serde_json::json!({ "infno": "1101", "fixmedins_code": c.inst_a })),
            w("U U U U U U U U U"),
        ),
        // ---- the app partners' 国密 envelope: only a registered partner's signature opens
        // it, whatever session a caller carries ----
        api(
            Method::POST,
            "/open/v1/:service",
            "/open/v1/me".into(),
            |c, _| {
                Body::Json(serde_json::json!({
                    "appCode": "GJAPPUNREGISTERED00000000000000",
                    "version": "1.0.0",
                    "timestamp": chrono::Utc::now().timestamp(),
                    "encType": "SM4",
                    "signType": "SM2",
                    "data": { "psn_no": c.w.hj.psn_no },
                    "signData": format!("{}==", "A".repeat(86)),
                }))
            },
            w("U U U U U U U U U"),
        ),
        // ---- last, as they end what the rows above use ----
        api(
            Method::POST,
            "/api/v1/me/family/bindings/:id/unbind",
            v1(&format!("/me/family/bindings/{x}/unbind")),
            empty_json,
            w("U N F P F F F F F"),
        ),
        api(
            Method::DELETE,
            "/api/v1/auth/session",
            v1("/auth/session"),
            none,
            w("U P P P P P P P P"),
        ),
        page(
            Method::POST,
            "/terminal/signout",
            "/terminal/signout".into(),
            none,
            w("S S S S S S S S S"),
        ),
        page(
            Method::POST,
            "/console/signout",
            "/console/signout".into(),
            none,
            w("F S S S S S S S S"),
        ),
        page(
            Method::POST,
            "/h5/signout",
            "/h5/signout".into(),
            none,
            w("F S S S S S S S S"),
        ),
    ]
}

fn is_sign_in_redirect(status: u16, location: Option<&str>) -> bool {
    status == 303
        && location.is_some_and(|l| {
            l.starts_with("/h5/signin")
                || l.starts_with("/terminal/signin")
                || (l.starts_with("/console") && !l.contains("done="))
        })
}

fn satisfied(want: Want, status: u16, location: Option<&str>) -> bool {
    let refused = matches!(status, 401 | 403 | 404) || is_sign_in_redirect(status, location);
    match want {
        Want::P => !refused && status < 500,
        Want::U => status == 401,
        Want::F => status == 403,
        Want::N => status == 404,
        Want::S => is_sign_in_redirect(status, location),
        Want::X => refused,
        Want::L => matches!(status, 401 | 429),
        Want::R => (400..500).contains(&status),
        Want::E => status == 503,
    }
}

async fn operator_token(c: &World, code: &str, username: &str) -> String {
    c.s.add_operator(code, username, OPERATOR_PASSWORD);
    let mut b = Browser::new(&c.s.base);
    let page = b.get("/terminal/signin").await;
    let csrf = common::field_value(&page.body, "csrf");
    let page = b
        .post(
            "/terminal/signin",
            &[
                ("csrf".to_string(), csrf),
                ("inst".to_string(), code.to_string()),
                ("username".to_string(), username.to_string()),
                ("password".to_string(), OPERATOR_PASSWORD.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    b.cookie("gongji_session")
        .expect("operator session")
        .to_string()
}

async fn person_token(c: &World, inbox: &Inbox, p: &common::P) -> String {
    let r =
        c.s.post(
            "/api/v1/auth/sms-code",
            None,
            serde_json::json!({ "phone": p.phone }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = inbox.code_for(&p.phone).await;
    let r =
        c.s.post(
            "/api/v1/auth/session",
            None,
            serde_json::json!({ "phone": p.phone, "code": code, "certno": p.certno }),
        )
        .await;
    r.ok()["token"].as_str().expect("token").to_string()
}

async fn setup() -> Ctx {
    let inbox = Inbox::default();
    let sms = inbox.clone();
    let w = world_configured(gongji_policy::presets(), move |app| {
        app.with_providers(Arc::new(sms), providers::face_not_configured())
            .with_deployment(Deployment {
                metrics_token: Some(METRICS_TOKEN.to_string()),
                sign_in_limit: common::test_deployment().sign_in_limit,
                ..Deployment::production()
            })
    })
    .await;
    let inst_a = w.pharmacy.clone();
    let inst_b = w.hospital.clone();
    let mut tokens = HashMap::new();
    tokens.insert("person", person_token(&w, &inbox, &w.cj).await);
    tokens.insert("relative", person_token(&w, &inbox, &w.rj).await);
    tokens.insert("holder", person_token(&w, &inbox, &w.hj).await);
    tokens.insert("operator-a", operator_token(&w, &inst_a, "till-a").await);
    tokens.insert("operator-b", operator_token(&w, &inst_b, "till-b").await);
    tokens.insert("clerk", w.s.staff("clerk1").await);
    tokens.insert("auditor", w.s.staff("auditor1").await);
    tokens.insert("admin", w.s.staff("admin1").await);
    Ctx {
        w,
        tokens,
        inst_a,
        inst_b,
    }
}

async fn try_cell(
    c: &Ctx,
    client: &reqwest::Client,
    row: &Row,
    role: Role,
) -> (u16, Option<String>) {
    let url = format!("{}{}", c.w.s.base, row.path);
    let mut req = client.request(row.method.clone(), &url);
    let token = c.token(role);
    match row.surface {
        Surface::Api => {
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
        }
        Surface::Page | Surface::SignInForm => {
            let mut cookies = Vec::new();
            if let Some(t) = token {
                cookies.push(format!("gongji_session={t}"));
            }
            if row.surface == Surface::SignInForm {
                cookies.push("gongji_csrf=0123456789abcdef0123456789abcdef".to_string());
            }
            if !cookies.is_empty() {
                req = req.header("cookie", cookies.join("; "));
            }
        }
    }
    match (row.body)(c, role) {
        Body::None if row.method == Method::POST => {
            let csrf = token.map(csrf_of).unwrap_or_default();
            req = req.form(&[("csrf", csrf)]);
        }
        Body::None => {}
        Body::Json(v) => req = req.json(&v),
        Body::Form(mut fields) => {
            let csrf = match row.surface {
                Surface::SignInForm => "0123456789abcdef0123456789abcdef".to_string(),
                _ => token.map(csrf_of).unwrap_or_default(),
            };
            fields.push(("csrf".into(), csrf));
            req = req.form(&fields);
        }
        Body::Upload(mut fields, file) => {
            fields.push(("csrf".into(), token.map(csrf_of).unwrap_or_default()));
            let boundary = "----gongji-authz-boundary";
            let mut body = String::new();
            for (k, v) in &fields {
                body.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                ));
            }
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n\r\n{file}\r\n--{boundary}--\r\n"
            ));
            req = req
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body);
        }
    }
    let resp = req.send().await.expect("http");
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_what_the_table_says_on_every_route() {
    let c = setup().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut wrong = Vec::new();
    for row in matrix(&c) {
        for (i, role) in ROLES.iter().enumerate() {
            let (status, location) = try_cell(&c, &client, &row, *role).await;
            if !satisfied(row.want[i], status, location.as_deref()) {
                wrong.push(format!(
                    "{} {} as {:?}: want {:?}, got {status} {}",
                    row.method,
                    row.path,
                    role,
                    row.want[i],
                    location.unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The one key that opens /metrics, and the one signature that opens the interface.
    let r =
        c.w.s
            .client
            .get(format!("{}/metrics", c.w.s.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("http");
    assert_eq!(r.status().as_u16(), 200);
    let answer = c
        .w
        .s
        .signed(
            &c.inst_b,
            "1101",
            &format!(
                r#"{{"data":{{"mdtrt_cert_type":"02","mdtrt_cert_no":"{}","card_sn":"","begntime":"","psn_cert_type":"01","certno":"{}","psn_name":""}}}}"#,
                c.w.hj.certno, c.w.hj.certno
            ),
        )
        .await;
    assert!(answer.contains("\"infcode\":0"), "{answer}");
}

/// The paths of every `.route("PATH", ...)` in the server's routers (lib.rs and the pages'
/// modules), read from the source: the pages' routers are not a table the test can ask.
fn page_route_paths() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![dir.join("lib.rs")];
    for e in std::fs::read_dir(dir.join("web")).expect("web dir") {
        files.push(e.expect("entry").path());
    }
    let mut paths = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(open) = rest.find('"') else { break };
            let after = &rest[open + 1..];
            let Some(close) = after.find('"') else { break };
            paths.push(after[..close].to_string());
        }
    }
    paths
}

/// Every route the server has is a row of the table: a new route cannot skip the matrix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_has_a_row() {
    let c = setup().await;
    let table = matrix(&c);
    let rows: std::collections::HashSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_string()))
        .collect();
    let paths: std::collections::HashSet<&str> = table.iter().map(|r| r.route).collect();
    let mut missing = Vec::new();
    for (m, path, _) in gongji_server::api::table() {
        let full = format!("{}{path}", gongji_server::api::PREFIX);
        if !rows.contains(&(m.to_string(), full.clone())) {
            missing.push(format!("{m} {full}"));
        }
    }
    let pages = page_route_paths();
    assert!(pages.len() > 20, "the routers were not found: {pages:?}");
    for path in pages {
        if !paths.contains(path.as_str()) {
            missing.push(path);
        }
    }
    assert!(missing.is_empty(), "routes without a row: {missing:?}");
}
