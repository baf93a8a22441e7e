//! `GET /api/v1/me/records`: every movement of my money, newest first.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::PersonAuth;
use super::errors::{ApiError, ApiQuery, ApiResult, ErrorBody};
use super::wire::{parse_date, RecordOut};
use crate::app::App;
use crate::service::records::{self, RecordFilter};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordsParams {
    /// First day, `yyyy-MM-dd`, inclusive.
    pub from: Option<String>,
    /// Last day, `yyyy-MM-dd`, inclusive.
    pub to: Option<String>,
    /// `settle`, `cancel`, `premium`, `opening` or `recovery`.
    pub kind: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl RecordsParams {
    pub fn filter(&self) -> Result<RecordFilter, ApiError> {
        Ok(RecordFilter {
            from: self
                .from
                .as_deref()
                .map(|d| parse_date("from", d))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|d| parse_date("to", d))
                .transpose()?,
            kind: self.kind.clone(),
            limit: self.limit,
            offset: self.offset,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordsOut {
    pub records: Vec<RecordOut>,
}

/// My records: my own settlements, what relatives spent from my account (where, when, how
/// much), premiums paid, and whose account paid for me; newest first.
#[utoipa::path(get, path = "/api/v1/me/records", tag = "records",
    params(RecordsParams),
    responses((status = 200, body = RecordsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn my_records(
    State(app): State<App>,
    who: PersonAuth,
    ApiQuery(params): ApiQuery<RecordsParams>,
) -> ApiResult<Json<RecordsOut>> {
    let rows = records::records(&app, &who.psn_no, &params.filter()?).await?;
    Ok(Json(RecordsOut {
        records: rows.iter().map(Into::into).collect(),
    }))
}
