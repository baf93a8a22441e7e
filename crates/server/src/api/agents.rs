//! Collecting agents (issue 13): staff register one; the agent, with its own API token,
//! sends batches of premium payments and reads its daily statement.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::StaffAuth;
use super::errors::{ApiError, ApiJson, ApiQuery, ApiResult, ErrorBody};
use super::wire::yuan;
use crate::app::App;
use crate::service::agents;
use crate::service::ServiceError;
use gongji_store::payments::AgentRow;

/// The largest batch read: 20,000 rows of about 60 bytes.
pub const BATCH_BYTES_MAX: usize = 2 * 1024 * 1024;

/// The agent a request's `Authorization: Bearer agt_…` token belongs to.
pub struct AgentAuth(pub AgentRow);

#[axum::async_trait]
impl FromRequestParts<App> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| t.trim().starts_with("agt_"))
            .ok_or(ServiceError::Unauthenticated)?;
        Ok(AgentAuth(agents::agent_for_token(app, token).await?))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentIn {
    /// Letters, digits, `-`, `_`; at most 32.
    pub agent_id: String,
    pub name: String,
    /// The region it collects in (6 digits); it pays only for persons insured there (R-R4).
    pub admdvs: String,
    /// `village_committee`, `bank_branch`, `school` or `other`.
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentOut {
    pub agent_id: String,
    pub name: String,
    pub admdvs: String,
    pub kind: String,
    /// The agent's API token: shown this once, only its SHA-256 is kept.
    pub token: String,
}

/// Registers a collecting agent (代收点) and gives its API token once. Admins only.
#[utoipa::path(post, path = "/api/v1/staff/agents", tag = "payments",
    request_body = AgentIn,
    responses((status = 201, body = AgentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn add(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiJson(body): ApiJson<AgentIn>,
) -> ApiResult<(StatusCode, Json<AgentOut>)> {
    let (row, token) = agents::add_agent(
        &app,
        &who,
        &body.agent_id,
        &body.name,
        &body.admdvs,
        &body.kind,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(AgentOut {
            agent_id: row.agent_id,
            name: row.name,
            admdvs: row.admdvs,
            kind: row.kind,
            token,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchParams {
    /// The agent's batch number: the same batch sent again pays nothing twice.
    pub batch: String,
    /// The benefit year of rows without a `year` column.
    pub year: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchRowOut {
    pub line: u64,
    /// Masked.
    pub certno: String,
    pub psn_no: Option<String>,
    /// `paid`, `replayed` or `refused`.
    pub status: String,
    pub category: Option<String>,
    pub category_name: Option<String>,
    pub amount: Option<String>,
    pub receipt_no: Option<i64>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    pub batch: String,
    pub paid: usize,
    pub refused: usize,
    pub rows: Vec<BatchRowOut>,
}

/// An agent's batch of premium payments: CSV (UTF-8) with the header
/// `certno,year,amount,paid_at` (or 身份证号码,年度,金额,缴费时间; only `certno` is required).
/// Every row is matched by ID number and answered on its own: paid at the registry's category
/// and amount, or refused (unknown person, another place than the agent's, paid already
/// through any channel or by an earlier row, another amount than due, window closed).
#[utoipa::path(post, path = "/api/v1/agent/payments", tag = "payments",
    params(BatchParams),
    request_body(content = String, content_type = "text/csv", description = "the batch"),
    responses((status = 200, body = BatchOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn batch(
    State(app): State<App>,
    AgentAuth(agent): AgentAuth,
    ApiQuery(q): ApiQuery<BatchParams>,
    body: Bytes,
) -> ApiResult<Json<BatchOut>> {
    let report = agents::import_batch(&app, &agent, &q.batch, q.year, &body).await?;
    Ok(Json(BatchOut {
        batch: report.batch_id.clone(),
        paid: report.paid(),
        refused: report.refused(),
        rows: report
            .rows
            .into_iter()
            .map(|r| BatchRowOut {
                line: r.line,
                certno: r.certno,
                psn_no: r.psn_no,
                status: r.status.to_string(),
                category: r.category,
                category_name: r.category_name,
                amount: r.amount.map(yuan),
                receipt_no: r.receipt_no,
                code: r.code,
                message: r.message,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatementParams {
    /// `yyyy-MM-dd`.
    pub date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    pub category: String,
    pub rows: u64,
    pub total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementOut {
    pub agent_id: String,
    pub date: String,
    pub rows: u64,
    pub total: String,
    pub categories: Vec<CategoryOut>,
    /// What the postings on the agent's clearing account say it collected that day.
    pub postings_total: String,
    /// The premiums and the postings agree to the fen.
    pub balanced: bool,
}

/// The agent's daily statement: rows, total and per category, checked against the postings
/// on its clearing account to the fen.
#[utoipa::path(get, path = "/api/v1/agent/statement", tag = "payments",
    params(StatementParams),
    responses((status = 200, body = StatementOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn statement(
    State(app): State<App>,
    AgentAuth(agent): AgentAuth,
    ApiQuery(q): ApiQuery<StatementParams>,
) -> ApiResult<Json<StatementOut>> {
    let day = NaiveDate::parse_from_str(q.date.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("date 应为 yyyy-MM-dd".into()))?;
    let s = agents::statement(&app, &agent, day).await?;
    Ok(Json(StatementOut {
        agent_id: s.agent_id,
        date: s.day.format("%Y-%m-%d").to_string(),
        rows: s.rows,
        total: yuan(s.total),
        categories: s
            .categories
            .into_iter()
            .map(|c| CategoryOut {
                category: c.category,
                rows: c.rows,
                total: yuan(c.total),
            })
            .collect(),
        postings_total: yuan(s.postings_total),
        balanced: s.balanced,
    }))
}
