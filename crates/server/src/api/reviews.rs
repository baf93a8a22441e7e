//! Registration and correction requests over REST (R-R7, issue 13 item 5): a person sends
//! a correction of his own name or mobile number, or the registration of a relative not yet
//! insured, and reads where his requests stand; staff list the waiting ones and approve or
//! reject them with a reason. The same service as `/h5/requests` and `/console/reviews`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gongji_core::codes::Admdvs;
use gongji_core::review::Decision;
use gongji_store::reviews::ReviewRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{PersonAuth, StaffAuth};
use super::errors::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::app::App;
use crate::service::reviews;
use crate::web::i18n::{region_name, Lang};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestIn {
    /// `correction` (my own name or mobile number) or `registration` (a relative not yet
    /// insured, registered as a resident).
    pub kind: String,
    /// The corrected name (absent or empty keeps it), or the new resident's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The corrected mobile number (absent or empty keeps it); correction only.
    #[serde(default)]
    pub phone: Option<String>,
    /// The new resident's ID number (18 characters, check digit checked); registration only.
    #[serde(default)]
    pub certno: Option<String>,
    /// The new resident's region: one of `regions` of `GET /api/v1/me/requests`.
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    pub review_id: String,
    /// `correction` or `registration`.
    pub kind: String,
    /// `pending` (待审核), `approved` (已通过) or `rejected` (未通过).
    pub state: String,
    /// The name asked ("" keeps the registered one for a correction).
    pub name: String,
    /// The mobile number asked ("" keeps it); "" for a registration.
    pub phone: String,
    /// The new resident's ID number: masked on the applicant's own list, whole for staff.
    pub certno: String,
    /// The new resident's region; "" for a correction.
    pub region: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub submitted_at: String,
    pub decided_at: Option<String>,
    /// Why it was rejected, in the words the applicant reads.
    pub reason: Option<String>,
}

impl RequestOut {
    fn of(r: ReviewRow, whole_certno: bool) -> RequestOut {
        RequestOut {
            certno: if whole_certno || r.certno.is_empty() {
                r.certno
            } else {
                gongji_core::pii::mask_certno(&r.certno)
            },
            review_id: r.review_id,
            kind: r.kind,
            state: r.state,
            name: r.name,
            phone: r.phone,
            region: r.admdvs,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            reason: r.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionOut {
    pub code: String,
    /// Its name in Chinese (the city's or province's when the district has none here).
    pub name_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyRequestsOut {
    /// Newest first.
    pub requests: Vec<RequestOut>,
    /// The regions a registration may name: those this deployment serves, mine first.
    pub regions: Vec<RegionOut>,
}

/// Sends a correction of my own name or mobile number, or the registration of a relative
/// not yet insured, for staff to review. Checked as the H5 form is: a name of Chinese
/// characters, a mobile number of 11 digits, an ID number with its check digit, a region
/// this deployment serves, an ID number not registered already.
#[utoipa::path(post, path = "/api/v1/me/requests", tag = "reviews",
    request_body = RequestIn,
    responses(
        (status = 201, body = RequestOut),
        (status = 400, description = "an unknown kind, or an ID number registered already", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "GJ-REVIEW-NOTHING-CHANGED, GJ-REVIEW-NAME-INVALID, GJ-REVIEW-PHONE-INVALID, GJ-REVIEW-ID-NUMBER-INVALID, GJ-REVIEW-REGION-INVALID, GJ-REVIEW-REGION-NOT-SERVED", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn submit(
    State(app): State<App>,
    who: PersonAuth,
    ApiJson(body): ApiJson<RequestIn>,
) -> ApiResult<(StatusCode, Json<RequestOut>)> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let row = match body.kind.as_str() {
        "correction" => {
            reviews::submit_correction(
                &app,
                &who.psn_no,
                &text(&body.name),
                &text(&body.phone),
                who.channel,
            )
            .await?
        }
        "registration" => {
            reviews::submit_registration(
                &app,
                &who.psn_no,
                &text(&body.name),
                &text(&body.certno),
                &text(&body.region),
                who.channel,
            )
            .await?
        }
        _ => {
            return Err(ApiError::bad_request(
                "kind 应为 correction 或 registration".into(),
            ))
        }
    };
    Ok((StatusCode::CREATED, Json(RequestOut::of(row, false))))
}

/// My requests, newest first, with their state and, when rejected, the reason; and the
/// regions a registration may name.
#[utoipa::path(get, path = "/api/v1/me/requests", tag = "reviews",
    responses((status = 200, body = MyRequestsOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn mine(State(app): State<App>, who: PersonAuth) -> ApiResult<Json<MyRequestsOut>> {
    let rows = reviews::mine(&app, &who.psn_no).await?;
    let regions = reviews::regions(&app, &who.psn_no).await?;
    Ok(Json(MyRequestsOut {
        requests: rows.into_iter().map(|r| RequestOut::of(r, false)).collect(),
        regions: regions.into_iter().map(region_out).collect(),
    }))
}

fn region_out(a: Admdvs) -> RegionOut {
    let code = a.to_string();
    RegionOut {
        name_zh: region_name(Lang::Zh, a, &code),
        code,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitingOut {
    pub request: RequestOut,
    /// The applicant's psn_no and his name and mobile number as registered, beside what he
    /// asks.
    pub psn_no: String,
    pub registered_name: String,
    pub registered_phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitingListOut {
    /// Oldest first.
    pub waiting: Vec<WaitingOut>,
}

/// The requests waiting for review, oldest first, with the applicant's registered name and
/// number. Needs the ReviewRequests permission; a read of personal data, audited
/// (`review_list_read`).
#[utoipa::path(get, path = "/api/v1/staff/reviews", tag = "reviews",
    responses((status = 200, body = WaitingListOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn waiting(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
) -> ApiResult<Json<WaitingListOut>> {
    let list = reviews::waiting(&app, &who).await?;
    Ok(Json(WaitingListOut {
        waiting: list
            .into_iter()
            .map(|w| WaitingOut {
                psn_no: w.row.psn_no.clone(),
                registered_name: w.registered_name,
                registered_phone: w.registered_phone,
                request: RequestOut::of(w.row, true),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why not, in words the applicant reads; needed to reject.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approves or rejects a waiting request. An approved correction changes the registry; an
/// approved registration registers the new resident; each commits with the request's new
/// state and its audit row. A request is decided once: a second decision, even one made at
/// the same instant by someone else, is refused and changes nothing. Needs the
/// ReviewRequests permission.
#[utoipa::path(post, path = "/api/v1/staff/reviews/{id}/decision", tag = "reviews",
    params(("id" = String, Path, description = "The request's review_id")),
    request_body = DecisionIn,
    responses(
        (status = 200, body = RequestOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "GJ-UNKNOWN-REVIEW, or no such request", body = ErrorBody),
        (status = 409, description = "GJ-IMPORT-DUPLICATE: the ID number was registered meanwhile", body = ErrorBody),
        (status = 422, description = "GJ-REVIEW-ALREADY-DECIDED, GJ-REVIEW-REASON-MISSING", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn decide(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> ApiResult<Json<RequestOut>> {
    let decision = match body.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject {
            reason: body.reason.unwrap_or_default(),
        },
        _ => {
            return Err(ApiError::bad_request(
                "decision 应为 approve 或 reject".into(),
            ))
        }
    };
    let row = reviews::decide(&app, &who, &id, decision).await?;
    Ok(Json(RequestOut::of(row, true)))
}
