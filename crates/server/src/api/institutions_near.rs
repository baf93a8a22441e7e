//! `GET /api/v1/institutions/near`: designated institutions near a point (R-J6), no sign-in.

use axum::extract::State;
use axum::Json;
use gongji_core::codes::InstitutionKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::errors::{ApiError, ApiQuery, ApiResult, ErrorBody};
use crate::app::App;
use crate::service::institutions::{self, NearQuery};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NearParams {
    /// Latitude, degrees (WGS-84).
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// `medical` (hospitals and clinics) or `pharmacy`.
    pub kind: Option<String>,
    /// Only those that take mutual aid (`true`) or only those that do not (`false`).
    pub mutual_aid: Option<bool>,
    /// Metres, at most 200000.
    pub radius_m: Option<f64>,
    /// 1 to 50, default 10.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearOut {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// `1` medical, `2` pharmacy.
    pub fixmedins_type: String,
    pub fixmedins_type_name: String,
    pub hosp_lv: String,
    pub admdvs: String,
    pub lat: f64,
    pub lon: f64,
    pub mutual_aid: bool,
    /// Great-circle distance in metres.
    pub distance_m: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearListOut {
    pub institutions: Vec<NearOut>,
}

/// Institutions near a point, nearest first, with the distance (R-J6).
#[utoipa::path(get, path = "/api/v1/institutions/near", tag = "institutions",
    params(NearParams),
    responses((status = 200, body = NearListOut), (status = 400, body = ErrorBody)))]
pub async fn near(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<NearParams>,
) -> ApiResult<Json<NearListOut>> {
    let kind = match q.kind.as_deref() {
        None => None,
        Some("medical") => Some(InstitutionKind::Medical),
        Some("pharmacy") => Some(InstitutionKind::Pharmacy),
        Some(_) => {
            return Err(ApiError::bad_request(
                "kind 应为 medical 或 pharmacy".into(),
            ))
        }
    };
    let found = institutions::near(
        &app,
        NearQuery {
            lat: q.lat,
            lon: q.lon,
            kind,
            mutual_aid: q.mutual_aid,
            radius_m: q.radius_m,
            limit: q.limit,
        },
    )
    .await?;
    Ok(Json(NearListOut {
        institutions: found
            .into_iter()
            .map(|i| NearOut {
                fixmedins_code: i.code,
                fixmedins_name: i.name,
                fixmedins_type: i.kind.code().to_string(),
                fixmedins_type_name: i.kind.name_zh().to_string(),
                hosp_lv: i.level.code().to_string(),
                admdvs: i.admdvs,
                lat: i.lat,
                lon: i.lon,
                mutual_aid: i.mutual_aid,
                distance_m: i.distance_m,
            })
            .collect(),
    }))
}
