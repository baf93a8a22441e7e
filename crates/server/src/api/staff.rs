//! Staff on the wire: persons, bindings, suspension, recovery cases and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::StaffAuth;
use super::errors::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::records::RecordsParams;
use super::wire::{parse_yuan, yuan, BindingOut, PersonRefOut, RecordOut, YearTotalsOut};
use crate::app::App;
use crate::service::staff::{self, RecoveryOpening};
use gongji_store::read::{AuditQuery, RecoveryQuery};
use gongji_store::RecoveryCaseRow;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// A psn_no, an ID number, a phone number or an exact name.
    pub q: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonsOut {
    pub persons: Vec<PersonRefOut>,
}

/// Searches persons (masked results; audited).
#[utoipa::path(get, path = "/api/v1/staff/persons", tag = "staff",
    params(SearchParams),
    responses((status = 200, body = PersonsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn search(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<PersonsOut>> {
    let found = staff::search_persons(&app, &who, &p.q).await?;
    Ok(Json(PersonsOut {
        persons: found.iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDetailOut {
    pub psn_no: String,
    /// Full values: an authorised, audited read.
    pub name: String,
    pub certno: String,
    pub phone: String,
    pub gender: String,
    pub birth_date: String,
    pub insutype: String,
    pub insu_status: String,
    pub psn_type: String,
    pub admdvs: String,
    pub public_medical: bool,
    pub employer_name: String,
    pub balance: String,
    pub as_holder: Vec<BindingOut>,
    pub as_relative: Vec<BindingOut>,
    pub this_year: YearTotalsOut,
}

/// A person's record, bindings and usage (audited: who read whom, when).
#[utoipa::path(get, path = "/api/v1/staff/persons/{psn_no}", tag = "staff",
    params(("psn_no" = String, Path)),
    responses((status = 200, body = PersonDetailOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn person(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(psn_no): ApiPath<String>,
) -> ApiResult<Json<PersonDetailOut>> {
    let d = staff::person_detail(&app, &who, &psn_no).await?;
    let p = &d.person;
    Ok(Json(PersonDetailOut {
        psn_no: p.psn_no.clone(),
        name: p.name.reveal().to_string(),
        certno: p.certno.reveal().to_string(),
        phone: p.phone.reveal().to_string(),
        gender: p.gender.code().to_string(),
        birth_date: p.birth_date.to_string(),
        insutype: p.insutype.code().to_string(),
        insu_status: p.insu_status.code().to_string(),
        psn_type: p.psn_type.clone(),
        admdvs: p.admdvs.to_string(),
        public_medical: p.public_medical,
        employer_name: p.employer_name.clone(),
        balance: yuan(d.balance),
        as_holder: d.as_holder.iter().map(Into::into).collect(),
        as_relative: d.as_relative.iter().map(Into::into).collect(),
        this_year: YearTotalsOut::of(d.year, &d.totals),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRecordsOut {
    pub records: Vec<RecordOut>,
}

/// A person's records (audited).
#[utoipa::path(get, path = "/api/v1/staff/persons/{psn_no}/records", tag = "staff",
    params(("psn_no" = String, Path), RecordsParams),
    responses((status = 200, body = StaffRecordsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn person_records(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(psn_no): ApiPath<String>,
    ApiQuery(params): ApiQuery<RecordsParams>,
) -> ApiResult<Json<StaffRecordsOut>> {
    let rows = staff::person_records(&app, &who, &psn_no, &params.filter()?).await?;
    Ok(Json(StaffRecordsOut {
        records: rows.iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// Why, for the audit log (at most 500 characters).
    pub reason: String,
}

/// Suspends mutual aid on a binding (R-S7).
#[utoipa::path(post, path = "/api/v1/staff/bindings/{id}/suspend", tag = "staff",
    params(("id" = i64, Path)),
    request_body = ReasonIn,
    responses((status = 200, body = BindingOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "GJ-BIND-NOT-ACTIVE", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn suspend(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> ApiResult<Json<BindingOut>> {
    let v = staff::suspend(&app, &who, id, &body.reason).await?;
    Ok(Json((&v).into()))
}

/// Lifts a suspension (R-S7).
#[utoipa::path(post, path = "/api/v1/staff/bindings/{id}/lift", tag = "staff",
    params(("id" = i64, Path)),
    request_body = ReasonIn,
    responses((status = 200, body = BindingOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "GJ-BIND-NOT-ACTIVE", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn lift(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> ApiResult<Json<BindingOut>> {
    let v = staff::lift(&app, &who, id, &body.reason).await?;
    Ok(Json((&v).into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuspendedOut {
    pub bindings: Vec<BindingOut>,
}

/// Suspends mutual aid for a holder: every active binding in which the person is the holder.
#[utoipa::path(post, path = "/api/v1/staff/persons/{psn_no}/suspend", tag = "staff",
    params(("psn_no" = String, Path)),
    request_body = ReasonIn,
    responses((status = 200, body = SuspendedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn suspend_holder(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(psn_no): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonIn>,
) -> ApiResult<Json<SuspendedOut>> {
    let v = staff::suspend_holder(&app, &who, &psn_no, &body.reason).await?;
    Ok(Json(SuspendedOut {
        bindings: v.iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCaseOut {
    pub case_id: i64,
    pub binding_id: i64,
    pub holder_psn_no: String,
    pub relative_psn_no: String,
    pub setl_id: String,
    pub admdvs: String,
    pub amount: String,
    pub reason: String,
    /// `open` or `repaid`.
    pub status: String,
    pub opened_by: String,
    pub opened_at: String,
    pub repaid_by: Option<String>,
    pub repaid_at: Option<String>,
    /// The journal entry that returned the money to the holder.
    pub repaid_entry_id: Option<i64>,
}

impl From<&RecoveryCaseRow> for RecoveryCaseOut {
    fn from(c: &RecoveryCaseRow) -> RecoveryCaseOut {
        RecoveryCaseOut {
            case_id: c.case_id,
            binding_id: c.binding_id,
            holder_psn_no: c.holder_psn_no.clone(),
            relative_psn_no: c.relative_psn_no.clone(),
            setl_id: c.setl_id.clone(),
            admdvs: c.admdvs.clone(),
            amount: yuan(c.amount),
            reason: c.reason.clone(),
            status: c.status.clone(),
            opened_by: c.opened_by.clone(),
            opened_at: c.opened_at.clone(),
            repaid_by: c.repaid_by.clone(),
            repaid_at: c.repaid_at.clone(),
            repaid_entry_id: c.repaid_entry_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CasesParams {
    /// `open` or `repaid`.
    pub status: Option<String>,
    /// Cases where this person is holder or relative.
    pub psn_no: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasesOut {
    pub cases: Vec<RecoveryCaseOut>,
}

/// Recovery cases (追回), newest first.
#[utoipa::path(get, path = "/api/v1/staff/recovery-cases", tag = "staff",
    params(CasesParams),
    responses((status = 200, body = CasesOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn cases(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<CasesParams>,
) -> ApiResult<Json<CasesOut>> {
    let rows = staff::recovery_cases(
        &app,
        &who,
        RecoveryQuery {
            status: p.status,
            psn_no: p.psn_no,
            limit: p.limit.unwrap_or(50),
            offset: p.offset.unwrap_or(0),
        },
    )
    .await?;
    Ok(Json(CasesOut {
        cases: rows.iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseIn {
    pub binding_id: i64,
    /// The improper settlement.
    pub setl_id: String,
    /// Yuan string; at most what the settlement drew from the holder, less other cases.
    pub amount: String,
    pub reason: String,
}

/// Opens a recovery case for an improper mutual-aid payment (auditors and admins, R-S7).
#[utoipa::path(post, path = "/api/v1/staff/recovery-cases", tag = "staff",
    request_body = OpenCaseIn,
    responses((status = 201, body = RecoveryCaseOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "clerks may not open cases", body = ErrorBody),
        (status = 404, description = "GJ-UNKNOWN-BINDING, GJ-UNKNOWN-SETTLEMENT", body = ErrorBody),
        (status = 422, description = "GJ-RECOVERY-...", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn open_case(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiJson(body): ApiJson<OpenCaseIn>,
) -> ApiResult<(StatusCode, Json<RecoveryCaseOut>)> {
    let amount = parse_yuan("amount", &body.amount)?;
    let row = staff::open_recovery(
        &app,
        &who,
        RecoveryOpening {
            binding_id: body.binding_id,
            setl_id: body.setl_id,
            amount,
            reason: body.reason,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&row).into())))
}

/// Records that a case was repaid: the money returns to the holder's account by postings.
#[utoipa::path(post, path = "/api/v1/staff/recovery-cases/{id}/repaid", tag = "staff",
    params(("id" = i64, Path)),
    responses((status = 200, body = RecoveryCaseOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "GJ-UNKNOWN-RECOVERY-CASE", body = ErrorBody),
        (status = 422, description = "GJ-RECOVERY-NOT-OPEN", body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn repaid(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RecoveryCaseOut>> {
    let row = staff::record_repayment(&app, &who, id).await?;
    Ok(Json((&row).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// e.g. `binding:12`, `person:37030300000001`, `recovery:3`.
    pub subject: Option<String>,
    /// A psn_no or `staff:username`.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub audit_id: i64,
    pub at: String,
    pub actor: String,
    pub channel: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogOut {
    pub entries: Vec<AuditOut>,
}

/// The audit log: every change of state and every staff read of a person, newest first
/// (auditors and admins).
#[utoipa::path(get, path = "/api/v1/staff/audit-log", tag = "staff",
    params(AuditParams),
    responses((status = 200, body = AuditLogOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn audit_log(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditLogOut>> {
    let rows = staff::audit_log(
        &app,
        &who,
        AuditQuery {
            subject: p.subject,
            actor: p.actor,
            action: p.action,
            limit: p.limit.unwrap_or(50),
            offset: p.offset.unwrap_or(0),
        },
    )
    .await?;
    Ok(Json(AuditLogOut {
        entries: rows
            .into_iter()
            .map(|e| AuditOut {
                audit_id: e.audit_id,
                at: e.row.at,
                actor: e.row.actor,
                channel: e.row.channel,
                action: e.row.action,
                subject: e.row.subject,
                before: e.row.before_state,
                after: e.row.after_state,
            })
            .collect(),
    }))
}
