//! Mutual-aid and collection reports as JSON and as CSV downloads.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::StaffAuth;
use super::errors::{ApiQuery, ApiResult, ErrorBody};
use super::wire::{parse_date, yuan};
use crate::app::App;
use crate::service::reports;
use crate::service::staff::Staff;
use gongji_store::read::{CollectionGroup, ReportRow};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First day, `yyyy-MM-dd`.
    pub from: String,
    /// Last day, `yyyy-MM-dd` (at most 366 days in all).
    pub to: String,
    /// Division prefix: `37` province, `3703` city, `370303` district.
    pub admdvs: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRowOut {
    pub admdvs: String,
    pub day: String,
    /// `1` medical institutions, `2` pharmacies, `premium` premiums paid.
    pub kind: String,
    pub kind_name: String,
    pub uses: i64,
    pub persons: i64,
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    pub from: String,
    pub to: String,
    pub rows: Vec<ReportRowOut>,
}

async fn rows(app: &App, who: &Staff, p: &ReportParams) -> ApiResult<Vec<ReportRow>> {
    let from = parse_date("from", &p.from)?;
    let to = parse_date("to", &p.to)?;
    Ok(reports::mutual_aid_report(app, who, from, to, p.admdvs.as_deref()).await?)
}

/// Mutual-aid use by division, day and institution kind: uses, persons, amounts.
#[utoipa::path(get, path = "/api/v1/staff/reports/mutual-aid", tag = "reports",
    params(ReportParams),
    responses((status = 200, body = ReportOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn mutual_aid(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Json<ReportOut>> {
    let rows = rows(&app, &who, &p).await?;
    Ok(Json(ReportOut {
        from: p.from,
        to: p.to,
        rows: rows
            .iter()
            .map(|r| ReportRowOut {
                admdvs: r.admdvs.clone(),
                day: r.day.clone(),
                kind: r.kind.clone(),
                kind_name: reports::kind_name(&r.kind).to_string(),
                uses: r.uses,
                persons: r.persons,
                amount: yuan(r.amount),
            })
            .collect(),
    }))
}

/// The same report as a CSV download (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v1/staff/reports/mutual-aid.csv", tag = "reports",
    params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn mutual_aid_csv(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let rows = rows(&app, &who, &p).await?;
    let bytes = reports::to_csv(&rows)?;
    let name = format!(
        "attachment; filename=\"mutual-aid-{}-{}.csv\"",
        p.from.replace('-', ""),
        p.to.replace('-', "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CollectionParams {
    /// The benefit year (待遇年度), compared with the year before.
    pub year: i32,
    /// `region`, `category`, `channel` or `agent`.
    pub by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionLineOut {
    /// The division, category, channel or agent code; empty for premiums without one.
    pub group: String,
    pub name: String,
    /// Persons paid for in the chosen year.
    pub persons: i64,
    /// Yuan, exact to the fen.
    pub amount: String,
    pub prev_persons: i64,
    pub prev_amount: String,
    pub persons_change: i64,
    pub amount_change: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionOut {
    pub year: i32,
    pub prev_year: i32,
    pub by: String,
    pub lines: Vec<CollectionLineOut>,
    pub total: CollectionLineOut,
}

fn collection_line(l: &reports::CollectionLine) -> CollectionLineOut {
    CollectionLineOut {
        group: l.group.clone(),
        name: l.name.clone(),
        persons: l.persons,
        amount: yuan(l.amount),
        prev_persons: l.prev_persons,
        prev_amount: yuan(l.prev_amount),
        persons_change: l.persons_change,
        amount_change: yuan(l.amount_change),
    }
}

async fn collection_of(
    app: &App,
    who: &Staff,
    p: &CollectionParams,
) -> ApiResult<reports::CollectionReport> {
    let by = CollectionGroup::parse(&p.by).ok_or_else(|| {
        crate::service::ServiceError::BadRequest(
            "分组应为 region、category、channel 或 agent。".into(),
        )
    })?;
    Ok(reports::collection_report(app, who, p.year, by).await?)
}

/// Collection progress of residents' premiums for a benefit year against the year before:
/// persons paid and amounts per region, category, channel or agent.
#[utoipa::path(get, path = "/api/v1/staff/reports/collection", tag = "reports",
    params(CollectionParams),
    responses((status = 200, body = CollectionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn collection(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<CollectionParams>,
) -> ApiResult<Json<CollectionOut>> {
    let report = collection_of(&app, &who, &p).await?;
    Ok(Json(CollectionOut {
        year: report.year,
        prev_year: report.year - 1,
        by: report.by.code().to_string(),
        lines: report.lines.iter().map(collection_line).collect(),
        total: collection_line(&report.total),
    }))
}

/// The same report as a CSV download (UTF-8 with BOM, amounts in yuan as exact text).
#[utoipa::path(get, path = "/api/v1/staff/reports/collection.csv", tag = "reports",
    params(CollectionParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn collection_csv(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<CollectionParams>,
) -> ApiResult<Response> {
    let report = collection_of(&app, &who, &p).await?;
    let bytes = reports::collection_csv(&report)?;
    let name = format!(
        "attachment; filename=\"collection-{}-{}.csv\"",
        report.year,
        report.by.code()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}
