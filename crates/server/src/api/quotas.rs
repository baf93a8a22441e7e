//! Cross-province quotas on the wire (issue 14): the holder binds a relative insured in
//! another province, grants, raises, lowers and ends a quota; the relative sees what is
//! left; staff do the same at the window for a holder and see the transfers in flight.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use gongji_core::quota::QuotaParties;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{PersonAuth, StaffAuth};
use super::errors::{ApiJson, ApiPath, ApiResult, ErrorBody};
use super::wire::{parse_yuan, yuan};
use crate::app::App;
use crate::peer::ledger::{OutboxStep, QuotaView};
use crate::peer::service::{self, BindAsk};
use crate::service::auth::Permission;
use crate::service::ServiceError;

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaOut {
    /// The holder's province and the relative's (2 digits).
    pub holder_province: String,
    pub holder_psn_no: String,
    pub relative_province: String,
    pub relative_psn_no: String,
    /// `holder`: this province keeps the holder's end; `relative`: the relative's.
    pub side: String,
    pub relationship: String,
    /// `active`, `ending` (the holder ended it; the other province has not yet), `ended`.
    pub status: String,
    /// On the holder's side: granted and not back; on the relative's: left to spend.
    pub amount: String,
}

impl From<&QuotaView> for QuotaOut {
    fn from(v: &QuotaView) -> QuotaOut {
        QuotaOut {
            holder_province: format!("{:02}", v.parties.holder_province),
            holder_psn_no: v.parties.holder_psn_no.clone(),
            relative_province: format!("{:02}", v.parties.relative_province),
            relative_psn_no: v.parties.relative_psn_no.clone(),
            side: if v.holder_side { "holder" } else { "relative" }.to_string(),
            relationship: v.relationship.clone(),
            status: v.status.clone(),
            amount: yuan(v.amount),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotasOut {
    pub quotas: Vec<QuotaOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaBindIn {
    /// The relative's province (2 digits, one of this province's peers).
    pub province: String,
    pub relative_certno: String,
    pub relative_name: String,
    /// National relationship code, holder → relative (e.g. `10` spouse).
    pub relationship: String,
    /// `yyyy-MM-dd`.
    pub begin: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountIn {
    /// Yuan, e.g. `"300.00"`.
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaStepOut {
    pub relative_province: String,
    pub relative_psn_no: String,
    /// The transfer id of a grant; empty otherwise.
    pub transfer_id: String,
    /// What moved now: granted (reserved), or taken out in the other province to come back.
    pub amount: String,
    /// What happens next, in Chinese.
    pub message_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferOut {
    /// `grant`, `return`, `end`.
    pub kind: String,
    pub kind_zh: String,
    pub transfer_id: String,
    pub holder_province: String,
    pub holder_psn_no: String,
    pub relative_province: String,
    pub relative_psn_no: String,
    pub amount: String,
    pub attempts: u32,
    pub last_error: String,
    pub since: String,
}

impl From<&OutboxStep> for TransferOut {
    fn from(s: &OutboxStep) -> TransferOut {
        TransferOut {
            kind: s.kind.as_str().to_string(),
            kind_zh: s.kind.name_zh().to_string(),
            transfer_id: s
                .transfer
                .as_ref()
                .map(|t| t.id.clone())
                .unwrap_or_default(),
            holder_province: format!("{:02}", s.parties.holder_province),
            holder_psn_no: s.parties.holder_psn_no.clone(),
            relative_province: format!("{:02}", s.parties.relative_province),
            relative_psn_no: s.parties.relative_psn_no.clone(),
            amount: s
                .transfer
                .as_ref()
                .map(|t| yuan(t.amount))
                .unwrap_or_default(),
            attempts: s.attempts,
            last_error: s.last_error.clone().unwrap_or_default(),
            since: s.since.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransfersOut {
    pub transfers: Vec<TransferOut>,
}

fn province_code(text: &str) -> Result<u32, ServiceError> {
    text.parse::<u32>()
        .ok()
        .filter(|_| text.len() == 2)
        .ok_or_else(|| ServiceError::BadRequest("province: 应为两位省份代码".to_string()))
}

fn own_province(app: &App) -> Result<u32, ServiceError> {
    app.peers
        .as_ref()
        .map(|p| p.province)
        .ok_or(ServiceError::Peer(crate::peer::PeerRefusal::NotConfigured))
}

fn parties(app: &App, holder: &str, province: &str, relative: &str) -> ApiResult<QuotaParties> {
    Ok(QuotaParties {
        holder_province: own_province(app)?,
        holder_psn_no: holder.to_string(),
        relative_province: province_code(province)?,
        relative_psn_no: relative.to_string(),
    })
}

async fn list(app: &App, psn_no: &str) -> ApiResult<Json<QuotasOut>> {
    let views = service::quotas_of(app, psn_no).await?;
    Ok(Json(QuotasOut {
        quotas: views.iter().map(Into::into).collect(),
    }))
}

async fn bind_for(
    app: &App,
    holder: &str,
    body: QuotaBindIn,
) -> ApiResult<(StatusCode, Json<QuotaStepOut>)> {
    let p = service::bind(
        app,
        &BindAsk {
            holder_psn_no: holder.to_string(),
            province: province_code(&body.province)?,
            relative_certno: body.relative_certno,
            relative_name: body.relative_name,
            relationship: body.relationship,
            begin: body.begin,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(QuotaStepOut {
            relative_province: format!("{:02}", p.relative_province),
            relative_psn_no: p.relative_psn_no,
            transfer_id: String::new(),
            amount: yuan(gongji_core::Fen::ZERO),
            message_zh: "已与家人所在省份建立跨省共济绑定，可以划拨额度了。".to_string(),
        }),
    ))
}

async fn grant_for(app: &App, p: QuotaParties, body: AmountIn) -> ApiResult<Json<QuotaStepOut>> {
    let amount = parse_yuan("amount", &body.amount)?;
    let id = service::grant(app, &p, amount).await?;
    Ok(Json(QuotaStepOut {
        relative_province: format!("{:02}", p.relative_province),
        relative_psn_no: p.relative_psn_no,
        transfer_id: id,
        amount: yuan(amount),
        message_zh: format!(
            "已从您的个人账户划出{amount}元，正在送往家人所在省份，到账后家人即可使用。"
        ),
    }))
}

/// The lowering's id: from the app's `Idempotency-Key` (a retry with the same key lowers
/// once), else a new one for this request.
fn lower_id(p: &QuotaParties, headers: &HeaderMap) -> Result<String, ServiceError> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => Ok(service::new_lower_id(p.holder_province)),
        Some(Ok(key))
            if !key.trim().is_empty()
                && key.len() <= crate::service::premiums::IDEMPOTENCY_KEY_BYTES_MAX =>
        {
            Ok(service::lower_id_of_key(p.holder_province, key.trim()))
        }
        Some(_) => Err(ServiceError::BadRequest(format!(
            "Idempotency-Key 长度应为1到{}字节",
            crate::service::premiums::IDEMPOTENCY_KEY_BYTES_MAX
        ))),
    }
}

async fn lower_for(
    app: &App,
    p: QuotaParties,
    body: AmountIn,
    headers: &HeaderMap,
) -> ApiResult<Json<QuotaStepOut>> {
    let amount = parse_yuan("amount", &body.amount)?;
    let id = lower_id(&p, headers)?;
    let taken = service::lower(app, &p, amount, &id).await?;
    Ok(Json(QuotaStepOut {
        relative_province: format!("{:02}", p.relative_province),
        relative_psn_no: p.relative_psn_no,
        transfer_id: String::new(),
        amount: yuan(taken),
        message_zh: format!("家人那边的额度已减少{taken}元，这笔钱正在退回您的个人账户。"),
    }))
}

async fn end_for(app: &App, p: QuotaParties) -> ApiResult<Json<QuotaStepOut>> {
    service::end(app, &p).await?;
    Ok(Json(QuotaStepOut {
        relative_province: format!("{:02}", p.relative_province),
        relative_psn_no: p.relative_psn_no,
        transfer_id: String::new(),
        amount: yuan(gongji_core::Fen::ZERO),
        message_zh: "已解除跨省共济绑定，家人那边没用完的额度会退回您的个人账户。".to_string(),
    }))
}

/// My cross-province quotas: as a holder (granted) and as a relative (left to spend).
#[utoipa::path(get, path = "/api/v1/me/quotas", tag = "quotas",
    responses((status = 200, body = QuotasOut), (status = 401, body = ErrorBody), (status = 503, description = "GJ-PEER-NOT-CONFIGURED", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn my_quotas(State(app): State<App>, who: PersonAuth) -> ApiResult<Json<QuotasOut>> {
    list(&app, &who.psn_no).await
}

/// Binds a relative insured in another province (that province checks first).
#[utoipa::path(post, path = "/api/v1/me/quotas", tag = "quotas", request_body = QuotaBindIn,
    responses((status = 201, body = QuotaStepOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "GJ-QUOTA-..., GJ-PEER-REFUSED", body = ErrorBody),
        (status = 503, description = "GJ-PEER-UNREACHABLE, GJ-PEER-NOT-CONFIGURED", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn bind(
    State(app): State<App>,
    who: PersonAuth,
    ApiJson(body): ApiJson<QuotaBindIn>,
) -> ApiResult<(StatusCode, Json<QuotaStepOut>)> {
    bind_for(&app, &who.psn_no, body).await
}

/// Grants, or raises by, an amount: reserved now, credited in the relative's province.
#[utoipa::path(post, path = "/api/v1/me/quotas/{province}/{relative}/grant", tag = "quotas", request_body = AmountIn,
    params(("province" = String, Path), ("relative" = String, Path)),
    responses((status = 200, body = QuotaStepOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "GJ-QUOTA-INSUFFICIENT-BALANCE, GJ-QUOTA-NOT-ALLOWED", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn grant(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath((province, relative)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AmountIn>,
) -> ApiResult<Json<QuotaStepOut>> {
    let p = parties(&app, &who.psn_no, &province, &relative)?;
    grant_for(&app, p, body).await
}

/// Lowers a quota: the other province takes the amount out and sends it back.
#[utoipa::path(post, path = "/api/v1/me/quotas/{province}/{relative}/lower", tag = "quotas", request_body = AmountIn,
    params(("province" = String, Path), ("relative" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key lower once")),
    responses((status = 200, body = QuotaStepOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, description = "GJ-PEER-REFUSED (GJ-QUOTA-EXCEEDS-REMAINING)", body = ErrorBody),
        (status = 503, description = "GJ-PEER-UNREACHABLE", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn lower(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath((province, relative)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AmountIn>,
) -> ApiResult<Json<QuotaStepOut>> {
    let p = parties(&app, &who.psn_no, &province, &relative)?;
    lower_for(&app, p, body, &headers).await
}

/// Ends the binding: what is left in the other province comes back.
#[utoipa::path(post, path = "/api/v1/me/quotas/{province}/{relative}/end", tag = "quotas",
    params(("province" = String, Path), ("relative" = String, Path)),
    responses((status = 200, body = QuotaStepOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn end(
    State(app): State<App>,
    who: PersonAuth,
    ApiPath((province, relative)): ApiPath<(String, String)>,
) -> ApiResult<Json<QuotaStepOut>> {
    let p = parties(&app, &who.psn_no, &province, &relative)?;
    end_for(&app, p).await
}

/// A person's cross-province quotas (staff).
#[utoipa::path(get, path = "/api/v1/staff/persons/{psn_no}/quotas", tag = "quotas",
    params(("psn_no" = String, Path)),
    responses((status = 200, body = QuotasOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn staff_quotas(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(psn_no): ApiPath<String>,
) -> ApiResult<Json<QuotasOut>> {
    who.require(Permission::ReadPersons)?;
    list(&app, &psn_no).await
}

/// Binds across provinces for a holder at the window (staff).
#[utoipa::path(post, path = "/api/v1/staff/persons/{psn_no}/quotas", tag = "quotas", request_body = QuotaBindIn,
    params(("psn_no" = String, Path)),
    responses((status = 201, body = QuotaStepOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn staff_bind(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(psn_no): ApiPath<String>,
    ApiJson(body): ApiJson<QuotaBindIn>,
) -> ApiResult<(StatusCode, Json<QuotaStepOut>)> {
    who.require(Permission::CrossProvinceQuotas)?;
    bind_for(&app, &psn_no, body).await
}

/// Grants or raises a holder's quota at the window (staff).
#[utoipa::path(post, path = "/api/v1/staff/persons/{psn_no}/quotas/{province}/{relative}/grant", tag = "quotas", request_body = AmountIn,
    params(("psn_no" = String, Path), ("province" = String, Path), ("relative" = String, Path)),
    responses((status = 200, body = QuotaStepOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn staff_grant(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath((psn_no, province, relative)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<AmountIn>,
) -> ApiResult<Json<QuotaStepOut>> {
    who.require(Permission::CrossProvinceQuotas)?;
    let p = parties(&app, &psn_no, &province, &relative)?;
    grant_for(&app, p, body).await
}

/// Lowers a holder's quota at the window (staff).
#[utoipa::path(post, path = "/api/v1/staff/persons/{psn_no}/quotas/{province}/{relative}/lower", tag = "quotas", request_body = AmountIn,
    params(("psn_no" = String, Path), ("province" = String, Path), ("relative" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key lower once")),
    responses((status = 200, body = QuotaStepOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn staff_lower(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath((psn_no, province, relative)): ApiPath<(String, String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AmountIn>,
) -> ApiResult<Json<QuotaStepOut>> {
    who.require(Permission::CrossProvinceQuotas)?;
    let p = parties(&app, &psn_no, &province, &relative)?;
    lower_for(&app, p, body, &headers).await
}

/// Ends a holder's cross-province binding at the window (staff).
#[utoipa::path(post, path = "/api/v1/staff/persons/{psn_no}/quotas/{province}/{relative}/end", tag = "quotas",
    params(("psn_no" = String, Path), ("province" = String, Path), ("relative" = String, Path)),
    responses((status = 200, body = QuotaStepOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn staff_end(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath((psn_no, province, relative)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<QuotaStepOut>> {
    who.require(Permission::CrossProvinceQuotas)?;
    let p = parties(&app, &psn_no, &province, &relative)?;
    end_for(&app, p).await
}

/// The steps waiting for another province's answer (跨省划转 in flight).
#[utoipa::path(get, path = "/api/v1/staff/quota-transfers", tag = "quotas",
    responses((status = 200, body = TransfersOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn transfers(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
) -> ApiResult<Json<TransfersOut>> {
    who.require(Permission::ReadPersons)?;
    let steps = in_flight(&app).await?;
    Ok(Json(TransfersOut {
        transfers: steps.iter().map(Into::into).collect(),
    }))
}

/// The outbox, for the API and the console page.
pub async fn in_flight(app: &App) -> Result<Vec<OutboxStep>, ServiceError> {
    let ledger = app
        .peers
        .as_ref()
        .and_then(|p| p.ledger().cloned())
        .ok_or(ServiceError::Peer(crate::peer::PeerRefusal::NotConfigured))?;
    ledger.outbox().await
}
