//! `GET /api/v1/me`: my insurance (R-J1).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::PersonAuth;
use super::errors::{ApiResult, ErrorBody};
use super::wire::{yuan, YearTotalsOut};
use crate::app::App;
use crate::service::people;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub psn_no: String,
    /// The person's own name and ID number, in full: shown only to them.
    pub name: String,
    pub certno: String,
    /// Masked.
    pub phone: String,
    pub insutype: String,
    pub insutype_name: String,
    pub insu_status: String,
    pub insu_status_name: String,
    pub psn_type: String,
    /// Insured region.
    pub admdvs: String,
    pub employer_name: String,
    pub balance: String,
    /// What may be shared with relatives: the balance above the reserve (R-S2).
    pub shareable: String,
    pub policy_id: Option<String>,
    pub policy_name: Option<String>,
    pub policy_version: Option<String>,
    pub this_year: YearTotalsOut,
}

/// My insurance: type, status, balance, insured region and this year's spending (R-J1).
#[utoipa::path(get, path = "/api/v1/me", tag = "people",
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn me(State(app): State<App>, who: PersonAuth) -> ApiResult<Json<MeOut>> {
    let m = people::my_insurance(&app, &who.psn_no).await?;
    Ok(Json(MeOut::of(&m)))
}

impl MeOut {
    /// The wire form of my insurance (the REST API and the app envelope answer alike).
    pub fn of(m: &people::MyInsurance) -> MeOut {
        let p = &m.person;
        MeOut {
            psn_no: p.psn_no.clone(),
            name: p.name.reveal().to_string(),
            certno: p.certno.reveal().to_string(),
            phone: p.phone.masked(),
            insutype: p.insutype.code().to_string(),
            insutype_name: p.insutype.name_zh().to_string(),
            insu_status: p.insu_status.code().to_string(),
            insu_status_name: p.insu_status.name_zh().to_string(),
            psn_type: p.psn_type.clone(),
            admdvs: p.admdvs.to_string(),
            employer_name: p.employer_name.clone(),
            balance: yuan(m.balance),
            shareable: yuan(m.shareable),
            policy_id: m.policy.as_ref().map(|x| x.id.clone()),
            policy_name: m.policy.as_ref().map(|x| x.name_zh.clone()),
            policy_version: m.policy.as_ref().map(|x| x.version.clone()),
            this_year: YearTotalsOut::of(m.year, &m.totals),
        }
    }
}
