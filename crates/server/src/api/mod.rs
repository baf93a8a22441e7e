//! The REST API under `/api/v1` for apps (公众号, 支付宝, 爱山东), the pages and staff tools,
//! with its OpenAPI document at `/api/v1/openapi.json`.
//!
//! Handlers translate: they read the wire types, call the service layer ([`crate::service`])
//! and write the answer. They decide nothing. [`table`] is the one list of routes: the router
//! is built from it, and a test compares it with the OpenAPI document.

pub mod agents;
pub mod auth;
pub mod errors;
pub mod family;
pub mod institutions_near;
pub mod open_envelope_doc;
pub mod openapi;
pub mod payments;
pub mod people;
pub mod premiums;
pub mod quotas;
pub mod records;
pub mod reports;
pub mod reviews;
pub mod staff;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::map_response;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;

use crate::app::App;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";
/// The largest request body the API reads.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// Every route of the API: method, path under [`PREFIX`] (axum syntax), handler.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<App>)> {
    vec![
        (Method::GET, "/openapi.json", get(openapi::openapi_json)),
        (Method::POST, "/auth/sms-code", post(auth::sms_code)),
        (Method::POST, "/auth/session", post(auth::sign_in)),
        (Method::DELETE, "/auth/session", delete(auth::sign_out)),
        (Method::POST, "/staff/session", post(auth::staff_sign_in)),
        (Method::GET, "/me", get(people::me)),
        (Method::GET, "/me/family", get(family::my_family)),
        (Method::GET, "/family/notice", get(family::notice)),
        (
            Method::POST,
            "/me/family/commitment",
            post(family::commitment),
        ),
        (Method::POST, "/me/family/bindings", post(family::bind)),
        (
            Method::GET,
            "/me/family/bindings/:id/commitment",
            get(family::signed_commitment),
        ),
        (
            Method::PUT,
            "/me/family/bindings/:id/end",
            put(family::change_end),
        ),
        (
            Method::PUT,
            "/me/family/bindings/:id/limits",
            put(family::set_limits),
        ),
        (
            Method::POST,
            "/me/family/bindings/:id/unbind",
            post(family::unbind),
        ),
        (Method::GET, "/me/records", get(records::my_records)),
        (Method::GET, "/me/premium-options", get(premiums::options)),
        (Method::POST, "/me/premiums", post(premiums::pay)),
        (
            Method::POST,
            "/me/premiums/second-factor",
            post(premiums::send_second_factor),
        ),
        (
            Method::POST,
            "/me/premium-orders",
            post(payments::create_order),
        ),
        (Method::POST, "/payments/notify", post(payments::notify)),
        (Method::POST, "/staff/agents", post(agents::add)),
        (
            Method::POST,
            "/agent/payments",
            // A batch of thousands of rows is larger than other requests.
            post(agents::batch).layer(DefaultBodyLimit::max(agents::BATCH_BYTES_MAX)),
        ),
        (Method::GET, "/agent/statement", get(agents::statement)),
        (
            Method::POST,
            "/staff/contribution-lists",
            post(premiums::import_list),
        ),
        (
            Method::GET,
            "/institutions/near",
            get(institutions_near::near),
        ),
        (Method::GET, "/staff/persons", get(staff::search)),
        (Method::GET, "/staff/persons/:psn_no", get(staff::person)),
        (
            Method::GET,
            "/staff/persons/:psn_no/records",
            get(staff::person_records),
        ),
        (
            Method::POST,
            "/staff/persons/:psn_no/suspend",
            post(staff::suspend_holder),
        ),
        (
            Method::POST,
            "/staff/bindings/:id/suspend",
            post(staff::suspend),
        ),
        (Method::POST, "/staff/bindings/:id/lift", post(staff::lift)),
        (Method::GET, "/staff/recovery-cases", get(staff::cases)),
        (
            Method::POST,
            "/staff/recovery-cases",
            post(staff::open_case),
        ),
        (
            Method::POST,
            "/staff/recovery-cases/:id/repaid",
            post(staff::repaid),
        ),
        (
            Method::GET,
            "/staff/reports/mutual-aid",
            get(reports::mutual_aid),
        ),
        (
            Method::GET,
            "/staff/reports/mutual-aid.csv",
            get(reports::mutual_aid_csv),
        ),
        (
            Method::GET,
            "/staff/reports/collection",
            get(reports::collection),
        ),
        (
            Method::GET,
            "/staff/reports/collection.csv",
            get(reports::collection_csv),
        ),
        (Method::GET, "/staff/audit-log", get(staff::audit_log)),
        (Method::GET, "/me/quotas", get(quotas::my_quotas)),
        (Method::POST, "/me/quotas", post(quotas::bind)),
        (
            Method::POST,
            "/me/quotas/:province/:relative/grant",
            post(quotas::grant),
        ),
        (
            Method::POST,
            "/me/quotas/:province/:relative/lower",
            post(quotas::lower),
        ),
        (
            Method::POST,
            "/me/quotas/:province/:relative/end",
            post(quotas::end),
        ),
        (
            Method::GET,
            "/staff/persons/:psn_no/quotas",
            get(quotas::staff_quotas),
        ),
        (
            Method::POST,
            "/staff/persons/:psn_no/quotas",
            post(quotas::staff_bind),
        ),
        (
            Method::POST,
            "/staff/persons/:psn_no/quotas/:province/:relative/grant",
            post(quotas::staff_grant),
        ),
        (
            Method::POST,
            "/staff/persons/:psn_no/quotas/:province/:relative/lower",
            post(quotas::staff_lower),
        ),
        (
            Method::POST,
            "/staff/persons/:psn_no/quotas/:province/:relative/end",
            post(quotas::staff_end),
        ),
        (
            Method::GET,
            "/staff/quota-transfers",
            get(quotas::transfers),
        ),
        (Method::POST, "/me/requests", post(reviews::submit)),
        (Method::GET, "/me/requests", get(reviews::mine)),
        (Method::GET, "/staff/reviews", get(reviews::waiting)),
        (
            Method::POST,
            "/staff/reviews/:id/decision",
            post(reviews::decide),
        ),
    ]
}

/// (method, full path in OpenAPI syntax) of every route, e.g. `GET /api/v1/me/family/bindings/{id}/end`.
pub fn routes() -> Vec<(Method, String)> {
    table()
        .into_iter()
        .map(|(m, path, _)| {
            let openapi_path = path
                .split('/')
                .map(|seg| match seg.strip_prefix(':') {
                    Some(name) => format!("{{{name}}}"),
                    None => seg.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            (m, format!("{PREFIX}{openapi_path}"))
        })
        .collect()
}

/// The API's router, to be nested at [`PREFIX`].
pub fn router() -> Router<App> {
    let mut r = Router::new();
    for (_, path, handler) in table() {
        r = r.route(path, handler);
    }
    r.fallback(errors::not_found)
        .layer(map_response(errors::json_errors))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
}
