//! Paying a relative's premium from my account, with a receipt.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{PersonAuth, StaffAuth};
use super::errors::{ApiError, ApiJson, ApiQuery, ApiResult, ErrorBody};
use super::wire::{yuan, PersonRefOut};
use crate::app::App;
use crate::service::premiums::{self, PremiumOrder, SecondFactor};
use crate::service::{auth, providers};
use axum::body::Bytes;
use gongji_core::codes::Admdvs;
use gongji_core::premium::PremiumKind;
use gongji_engine::category_list::RowOutcome;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PremiumIn {
    /// A relative I hold a binding for.
    pub relative_psn_no: String,
    /// What the premium insures: `resident_premium` (the default), or, for an employee
    /// relative where the policy allows (R-S6), `large_expense_premium` or `ltc_premium`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The year insured (2026 = covered in 2026). The category and amount are the
    /// registry's (R-R5): a payer cannot choose them.
    pub year: i32,
    /// The insured place (参保缴费地) the payer chose, 6 digits (e.g. `140800`); when given it
    /// must be the relative's insured city, or the payment is refused before money moves
    /// (R-R4).
    #[serde(default)]
    pub insured_place: Option<String>,
    /// The second factor (issue 13 item 7): the code `POST /api/v1/me/premiums/second-factor`
    /// sent to my own registered phone. Money leaves my account for someone else only with
    /// this or `face_token`; a retry under an `Idempotency-Key` already paid needs neither.
    #[serde(default)]
    pub sms_code: Option<String>,
    /// The other second factor: the token of my passed face check started for this payment
    /// (the same relative, year and kind); in the demo, the development face token.
    #[serde(default)]
    pub face_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactorOut {
    /// My registered phone, masked, where the code went.
    pub phone_masked: String,
    /// How long the code is good for.
    pub expires_in_secs: i64,
    pub resend_after_secs: i64,
    /// Only in the demo (演示): the code the development sender kept. Never in production.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo_code: Option<String>,
}

/// Sends the second factor for paying someone else's premium from my account: a code to my
/// own registered phone, with the sign-in code's limits and expiry (issue 13 item 7).
#[utoipa::path(post, path = "/api/v1/me/premiums/second-factor", tag = "premiums",
    responses(
        (status = 200, body = SecondFactorOut),
        (status = 401, body = ErrorBody),
        (status = 429, description = "GJ-API-RATE-LIMITED", body = ErrorBody),
        (status = 503, description = "GJ-SMS-NOT-CONFIGURED, GJ-SMS-UNAVAILABLE", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn send_second_factor(
    State(app): State<App>,
    who: PersonAuth,
) -> ApiResult<Json<SecondFactorOut>> {
    let sent = auth::send_second_factor(&app, &who.psn_no).await?;
    let demo_code = match auth::second_factor_phone(&app, &who.psn_no).await {
        Ok(phone) => providers::demo_code(&app, &phone),
        Err(_) => None,
    };
    Ok(Json(SecondFactorOut {
        phone_masked: sent.phone_masked,
        expires_in_secs: sent.expires_in_secs,
        resend_after_secs: sent.resend_after_secs,
        demo_code,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptOut {
    pub receipt_no: i64,
    pub holder: PersonRefOut,
    pub relative: PersonRefOut,
    /// `resident_premium`, `large_expense_premium` or `ltc_premium`.
    pub kind: String,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: String,
    pub holder_balance_after: String,
    pub paid_at: String,
    /// What was paid for whom, in Chinese.
    pub explanation: String,
    /// This answer repeats the first one given for the same `Idempotency-Key`.
    pub replayed: bool,
}

/// Pays a relative's premium from my account: the resident premium (R-Y2, R-R1, R-R2, R-R4),
/// or an employee relative's large-expense supplement or long-term-care premium where the
/// holder's region allows it (R-S6). Send an `Idempotency-Key` header to make retries safe.
/// Needs the second factor, `sms_code` or `face_token`: without it `GJ-SECOND-FACTOR-REQUIRED`
/// and nothing moves; a wrong or used code `GJ-AUTH-CODE-INVALID`, a face check of someone
/// else or for another payment `GJ-FACE-REJECTED`.
#[utoipa::path(post, path = "/api/v1/me/premiums", tag = "premiums",
    request_body = PremiumIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key get the first receipt")),
    responses(
        (status = 201, body = ReceiptOut),
        (status = 400, body = ErrorBody),
        (status = 401, description = "GJ-API-UNAUTHENTICATED, GJ-AUTH-CODE-INVALID", body = ErrorBody),
        (status = 404, description = "GJ-UNKNOWN-PERSON", body = ErrorBody),
        (status = 409, description = "GJ-IDEMPOTENCY-MSGID-REUSED", body = ErrorBody),
        (status = 422, description = "GJ-SECOND-FACTOR-REQUIRED, GJ-FACE-REJECTED, GJ-PREMIUM-...", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn pay(
    State(app): State<App>,
    who: PersonAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PremiumIn>,
) -> ApiResult<(StatusCode, Json<ReceiptOut>)> {
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) => Some(k.trim().to_string()),
        Some(Err(_)) => return Err(ApiError::bad_request("Idempotency-Key 无效".into())),
    };
    let kind = match body.kind.as_deref() {
        None => PremiumKind::Resident,
        Some(k) => PremiumKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(
                "kind 应为 resident_premium、large_expense_premium 或 ltc_premium".into(),
            )
        })?,
    };
    let place = match body.insured_place.as_deref() {
        None => None,
        Some(p) => Some(Admdvs::parse(p).ok_or_else(|| {
            ApiError::bad_request("insured_place 应为6位行政区划代码，如 140800".into())
        })?),
    };
    let r = premiums::pay_premium(
        &app,
        &who.psn_no,
        PremiumOrder {
            relative_psn_no: body.relative_psn_no,
            kind,
            year: body.year,
            place,
            idempotency_key: key,
            second_factor: match (body.sms_code, body.face_token) {
                (Some(code), _) if !code.trim().is_empty() => Some(SecondFactor::SmsCode(code)),
                (_, Some(token)) => Some(SecondFactor::FaceToken(token)),
                (code, None) => code.map(SecondFactor::SmsCode),
            },
        },
        who.channel,
    )
    .await?;
    Ok((
        if r.replayed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        Json(ReceiptOut {
            receipt_no: r.receipt_no,
            holder: (&r.holder).into(),
            relative: (&r.relative).into(),
            kind: r.kind.code().to_string(),
            year: r.year,
            category: r.category,
            category_name: r.category_name,
            amount: yuan(r.amount),
            holder_balance_after: yuan(r.holder_balance_after),
            paid_at: r.paid_at,
            explanation: r.explanation,
            replayed: r.replayed,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OptionsParams {
    pub relative_psn_no: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PremiumOptionOut {
    /// `resident_premium`, `large_expense_premium` or `ltc_premium`.
    pub kind: String,
    pub year: i32,
    pub category: String,
    pub category_name: String,
    pub amount: String,
    pub already_paid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PremiumOptionsOut {
    pub options: Vec<PremiumOptionOut>,
}

/// What I could pay for a bound relative today: the resident categories of the relative's
/// region whose collection window is open (R-R1, R-R2), or an employee relative's
/// large-expense supplement and long-term-care premiums where my region allows (R-S6).
#[utoipa::path(get, path = "/api/v1/me/premium-options", tag = "premiums",
    params(OptionsParams),
    responses((status = 200, body = PremiumOptionsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn options(
    State(app): State<App>,
    who: PersonAuth,
    ApiQuery(q): ApiQuery<OptionsParams>,
) -> ApiResult<Json<PremiumOptionsOut>> {
    let opts = premiums::premium_options(&app, &who.psn_no, &q.relative_psn_no).await?;
    Ok(Json(PremiumOptionsOut {
        options: opts
            .into_iter()
            .map(|o| PremiumOptionOut {
                kind: o.kind.code().to_string(),
                year: o.year,
                category: o.category,
                category_name: o.category_name,
                amount: yuan(o.amount),
                already_paid: o.already_paid,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// The benefit year the list marks (2024 = the 2024 collection).
    pub year: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListRowOut {
    /// The line an editor shows (the header is line 1).
    pub line: u64,
    /// The row's ID number, masked.
    pub certno: String,
    /// `marked` or `refused`.
    pub status: String,
    pub psn_no: Option<String>,
    /// The category the row names.
    pub category: Option<String>,
    /// What the person now pays for the year: the cheapest category of all lists.
    pub due_category: Option<String>,
    pub due_amount: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListReportOut {
    pub marked: usize,
    pub refused: usize,
    pub rows: Vec<ListRowOut>,
}

/// Imports a department's list of subsidised residents for a benefit year (R-R5). The body is
/// the CSV itself (UTF-8, or GB18030 as Excel writes it), with the header
/// `certno,category,source_dept,list_date` or `身份证号码,人群类别,来源部门,名单日期`; the
/// category is a code or Chinese name of the person's region. Every row is matched by ID number
/// and answered with its line; when lists disagree the person pays in the cheapest category.
#[utoipa::path(post, path = "/api/v1/staff/contribution-lists", tag = "premiums",
    params(ListParams),
    request_body(content = String, content_type = "text/csv", description = "the list"),
    responses((status = 200, body = ListReportOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn import_list(
    State(app): State<App>,
    StaffAuth(who): StaffAuth,
    ApiQuery(q): ApiQuery<ListParams>,
    body: Bytes,
) -> ApiResult<Json<ListReportOut>> {
    let report = premiums::import_category_list(&app, &who, q.year, body.to_vec()).await?;
    Ok(Json(ListReportOut {
        marked: report.marked(),
        refused: report.refused(),
        rows: report
            .rows
            .into_iter()
            .map(|r| match r.outcome {
                RowOutcome::Marked {
                    psn_no,
                    category,
                    due_category,
                    due_amount,
                } => ListRowOut {
                    line: r.line,
                    certno: r.certno,
                    status: "marked".into(),
                    psn_no: Some(psn_no),
                    category: Some(category),
                    due_category: Some(due_category),
                    due_amount: Some(yuan(due_amount)),
                    code: None,
                    message: None,
                },
                RowOutcome::Refused { code, message } => ListRowOut {
                    line: r.line,
                    certno: r.certno,
                    status: "refused".into(),
                    psn_no: None,
                    category: None,
                    due_category: None,
                    due_amount: None,
                    code: Some(code.into()),
                    message: Some(message),
                },
            })
            .collect(),
    }))
}
