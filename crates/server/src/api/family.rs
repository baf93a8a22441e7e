//! My family on the wire: bindings as holder and relative, the notice, the commitment letter,
//! bind, end date, limits, unbind.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gongji_core::binding_rules::Limits;
use gongji_core::codes::Admdvs;
use gongji_core::codes::Relationship;
use gongji_core::commitment::{notice_zh, NoticeTerms, NOTICE_VERSION};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::PersonAuth;
use super::errors::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::wire::{parse_date, parse_yuan, BindingOut, PersonRefOut};
use crate::app::App;
use crate::service::family::{self, BindRequest, SignedBind};

#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyOut {
    /// Bindings in which I share my account.
    pub as_holder: Vec<BindingOut>,
    /// Bindings in which others share theirs with me.
    pub as_relative: Vec<BindingOut>,
    /// Binding and unbinding need face verification here (R-Z5).
    pub face_verification_required: bool,
    pub limits_allowed: bool,
    pub end_date_only_earlier: bool,
    /// Relationship classes a new binding may have today (R-Y1).
    pub scope_today: Vec<String>,
}

/// My family: bindings as holder and as relative, each valid or not by time (R-S9).
#[utoipa::path(get, path = "/api/v1/me/family", tag = "family",
    responses((status = 200, body = FamilyOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn my_family(State(app): State<App>, who: PersonAuth) -> ApiResult<Json<FamilyOut>> {
    let f = family::my_family(&app, &who.psn_no).await?;
    Ok(Json(FamilyOut::of(&f)))
}

impl FamilyOut {
    /// The wire form of my family (the REST API and the app envelope answer alike).
    pub fn of(f: &family::MyFamily) -> FamilyOut {
        FamilyOut {
            as_holder: f.as_holder.iter().map(Into::into).collect(),
            as_relative: f.as_relative.iter().map(Into::into).collect(),
            face_verification_required: f.face_verification_required,
            limits_allowed: f.limits_allowed,
            end_date_only_earlier: f.end_date_only_earlier,
            scope_today: f.scope_today.iter().map(|c| c.key().to_string()).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeOut {
    pub version: String,
    pub text: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NoticeQuery {
    /// The region (6-digit admdvs) whose notice to show; without it, the text every region
    /// shares (limits and later end dates "as the local policy says").
    #[serde(default)]
    pub admdvs: Option<String>,
}

/// The mutual-aid notice (告知书) a holder reads before binding (R-S7), as the region's
/// policy has it. No sign-in.
#[utoipa::path(get, path = "/api/v1/family/notice", tag = "family", params(NoticeQuery),
    responses((status = 200, body = NoticeOut), (status = 400, body = ErrorBody)))]
pub async fn notice(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> ApiResult<Json<NoticeOut>> {
    let terms = match q.admdvs.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => {
            let admdvs = Admdvs::parse(text)
                .ok_or_else(|| ApiError::bad_request("admdvs 应为6位行政区划代码".into()))?;
            app.read(move |engine| engine.policies().for_admdvs(admdvs).map(NoticeTerms::of))
                .await
                .map_err(ApiError::from)?
        }
    };
    Ok(Json(NoticeOut {
        version: NOTICE_VERSION.to_string(),
        text: notice_zh(terms),
    }))
}

/// Who to bind, as the holder types it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BindFacts {
    /// The relative's 18-digit ID number.
    pub relative_certno: String,
    /// The relative's name exactly as on the ID card.
    pub relative_name: String,
    /// GB/T 4761 code of what the relative is to the holder, e.g. `12` wife, `51` father.
    pub relationship: String,
    /// Default: today.
    #[serde(default)]
    pub begin: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// Yuan string.
    #[serde(default)]
    pub limit_per_payment: Option<String>,
    #[serde(default)]
    pub limit_per_month: Option<String>,
}

impl BindFacts {
    fn request(&self) -> Result<BindRequest, ApiError> {
        let relationship = Relationship::parse(&self.relationship).ok_or_else(|| {
            ApiError::bad_request("relationship 应为 GB/T 4761 的两位家庭关系代码".into())
        })?;
        if self.relative_certno.len() > 32 || self.relative_name.chars().count() > 64 {
            return Err(ApiError::bad_request("证件号或姓名过长".into()));
        }
        Ok(BindRequest {
            relative_certno: self.relative_certno.clone(),
            relative_name: self.relative_name.clone(),
            relationship,
            begin: self
                .begin
                .as_deref()
                .map(|d| parse_date("begin", d))
                .transpose()?,
            end: self
                .end
                .as_deref()
                .map(|d| parse_date("end", d))
                .transpose()?,
            limit_per_payment: self
                .limit_per_payment
                .as_deref()
                .map(|v| parse_yuan("limit_per_payment", v))
                .transpose()?,
            limit_per_month: self
                .limit_per_month
                .as_deref()
                .map(|v| parse_yuan("limit_per_month", v))
                .transpose()?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentOut {
    pub notice_version: String,
    pub notice: String,
    /// The commitment letter (承诺书) to show and sign.
    pub letter: String,
    /// SHA-256 of the letter; send it back with the signature.
    pub sha256: String,
    pub relative: PersonRefOut,
    pub face_verification_required: bool,
}

/// Checks the relative's eligibility and makes the commitment letter to sign (R-S7, R-N5).
/// Changes nothing.
#[utoipa::path(post, path = "/api/v1/me/family/commitment", tag = "family",
    request_body = BindFacts,
    responses(
        (status = 200, body = CommitmentOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "GJ-UNKNOWN-PERSON", body = ErrorBody),
        (status = 422, description = "a binding rule refused (GJ-BIND-...)", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn commitment(
    State(app): State<App>,
    who: PersonAuth,
    ApiJson(body): ApiJson<BindFacts>,
) -> ApiResult<Json<CommitmentOut>> {
    let p = family::commitment_preview(&app, &who.psn_no, body.request()?, who.channel).await?;
    Ok(Json(CommitmentOut {
        notice_version: p.notice_version.to_string(),
        notice: p.notice.to_string(),
        letter: p.letter,
        sha256: p.sha256,
        relative: (&p.relative).into(),
        face_verification_required: p.face_verification_required,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BindIn {
    #[serde(flatten)]
    pub facts: BindFacts,
    /// The holder ticked "I have read the notice".
    pub notice_acknowledged: bool,
    /// The `sha256` of the letter the holder signed.
    pub commitment_sha256: String,
    /// The holder's signature: his own name as on his ID card (R-S7).
    pub signature: String,
    /// What the face SDK returned, where the region asks for face verification.
    #[serde(default)]
    pub face_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoundOut {
    pub binding: BindingOut,
    pub commitment_sha256: String,
}

/// Binds a relative: notice acknowledged, letter signed, face verified where asked; then the
/// binding rules decide (R-S7, R-Z5, R-Y1, R-S8, R-Z2, R-Z3...).
#[utoipa::path(post, path = "/api/v1/me/family/bindings", tag = "family",
    request_body = BindIn,
    responses(
        (status = 201, body = BoundOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "GJ-UNKNOWN-PERSON", body = ErrorBody),
        (status = 409, description = "GJ-BIND-COMMITMENT-MISMATCH", body = ErrorBody),
        (status = 422, description = "GJ-BIND-..., GJ-FACE-REJECTED", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn bind(
    State(app): State<App>,
    who: PersonAuth,
    ApiJson(body): ApiJson<BindIn>,
) -> ApiResult<(StatusCode, Json<BoundOut>)> {
    let signed = SignedBind {
        request: body.facts.request()?,
        notice_acknowledged: body.notice_acknowledged,
        commitment_sha256: body.commitment_sha256,
        signature: body.signature,
        face_token: body.face_token,
    };
    let b = family::bind(&app, &who.psn_no, signed, who.channel).await?;
    Ok((
        StatusCode::CREATED,
        Json(BoundOut {
            binding: (&b.view).into(),
            commitment_sha256: b.commitment_sha256,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedCommitmentOut {
    pub binding_id: i64,
    pub notice_version: String,
    pub letter: String,
    pub sha256: String,
    pub signature: String,
    pub signed_at: String,
    pub channel: String,
}

/// The signed commitment letter of a binding (for its holder and relative).
#[utoipa::path(get, path = "/api/v1/me/family/bindings/{id}/commitment", tag = "family",
    params(("id" = i64, Path, description = "binding id")),
    responses((status = 200, body = SignedCommitmentOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn signed_commitment(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SignedCommitmentOut>> {
    let c = family::commitment_of(&app, &who.psn_no, id).await?;
    Ok(Json(SignedCommitmentOut {
        binding_id: c.binding_id,
        notice_version: c.notice_version,
        letter: c.letter,
        sha256: c.sha256,
        signature: c.signature,
        signed_at: c.signed_at,
        channel: c.channel,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndIn {
    /// The new last valid day, `yyyy-MM-dd`.
    pub end: String,
}

/// Moves a binding's end date; where the policy says so, only earlier (R-S9). Holder only.
#[utoipa::path(put, path = "/api/v1/me/family/bindings/{id}/end", tag = "family",
    params(("id" = i64, Path, description = "binding id")),
    request_body = EndIn,
    responses(
        (status = 200, body = BindingOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not the holder", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "GJ-BIND-END-ONLY-EARLIER, GJ-BIND-END-BEFORE-BEGIN, GJ-BIND-NOT-ACTIVE", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn change_end(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EndIn>,
) -> ApiResult<Json<BindingOut>> {
    let end = parse_date("end", &body.end)?;
    let v = family::change_end(&app, &who.psn_no, id, end, who.channel).await?;
    Ok(Json((&v).into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsIn {
    /// Yuan string; `null` or absent removes the limit.
    #[serde(default)]
    pub per_payment: Option<String>,
    #[serde(default)]
    pub per_month: Option<String>,
    #[serde(default)]
    pub per_day: Option<String>,
    #[serde(default)]
    pub per_year: Option<String>,
}

/// Sets a relative's limits per payment, day, month and year (R-S3). Holder only.
#[utoipa::path(put, path = "/api/v1/me/family/bindings/{id}/limits", tag = "family",
    params(("id" = i64, Path, description = "binding id")),
    request_body = LimitsIn,
    responses(
        (status = 200, body = BindingOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not the holder", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "GJ-BIND-LIMITS-NOT-ALLOWED, GJ-SETL-INVALID-AMOUNT, GJ-BIND-NOT-ACTIVE", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn set_limits(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<LimitsIn>,
) -> ApiResult<Json<BindingOut>> {
    let limit =
        |name: &str, v: &Option<String>| v.as_deref().map(|v| parse_yuan(name, v)).transpose();
    let limits = Limits {
        per_payment: limit("per_payment", &body.per_payment)?,
        per_day: limit("per_day", &body.per_day)?,
        per_month: limit("per_month", &body.per_month)?,
        per_year: limit("per_year", &body.per_year)?,
    };
    let v = family::set_limits(&app, &who.psn_no, id, limits, who.channel).await?;
    Ok(Json((&v).into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnbindIn {
    #[serde(default)]
    pub face_token: Option<String>,
}

/// Unbinds a relative, with face verification where the policy asks (R-Z5). Holder only.
#[utoipa::path(post, path = "/api/v1/me/family/bindings/{id}/unbind", tag = "family",
    params(("id" = i64, Path, description = "binding id")),
    request_body = UnbindIn,
    responses(
        (status = 200, body = BindingOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not the holder", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "GJ-BIND-FACE-REQUIRED, GJ-FACE-REJECTED, GJ-BIND-NOT-ACTIVE, GJ-BIND-TOO-MANY-CHANGES", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn unbind(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UnbindIn>,
) -> ApiResult<Json<BindingOut>> {
    let v = family::unbind(
        &app,
        &who.psn_no,
        id,
        body.face_token.as_deref(),
        who.channel,
    )
    .await?;
    Ok(Json((&v).into()))
}
