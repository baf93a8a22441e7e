//! Paying a premium with outside money (R-J5, issue 13): an order with the payment provider,
//! and the provider's signed notification that confirms it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::PersonAuth;
use super::errors::{ApiError, ApiJson, ApiResult, ErrorBody};
use super::wire::{yuan, PersonRefOut};
use crate::app::App;
use crate::service::collection::{self, Confirmation, NewOrder};
use crate::service::providers::payment::SignedNotification;
use gongji_core::codes::Channel;
use gongji_core::premium::PremiumKind;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// Whose premium: myself (the default) or a relative I hold a binding for.
    #[serde(default)]
    pub psn_no: Option<String>,
    /// `resident_premium` (the default), `large_expense_premium` or `ltc_premium`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The benefit year (2026 = covered in 2026). The category and the amount are the
    /// registry's, never the payer's (R-R5).
    pub year: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationOut {
    pub receipt_no: i64,
    pub order_id: String,
    pub transaction_id: String,
    pub psn_no: String,
    pub kind: String,
    pub year: i32,
    pub amount: String,
    /// `wechat`, `alipay`, `unionpay`, `pos`, `bank_app`, `agent`, `dev`.
    pub channel: String,
    /// `kept` (the person's premium) or `refunded` (paid already through another order or
    /// channel, R-R4: the provider was asked to give it back).
    pub status: String,
    pub category: Option<String>,
    pub category_name: Option<String>,
    pub refund_code: Option<String>,
    pub refund_reason: Option<String>,
    /// The tax collection time the notification carried, `yyyy-MM-dd HH:mm:ss` (UTC+8).
    pub paid_at: String,
    /// What was paid for whom and which year, in Chinese.
    pub explanation: String,
    /// This answers a repeated delivery of the same transaction.
    pub replayed: bool,
}

impl From<Confirmation> for ConfirmationOut {
    fn from(c: Confirmation) -> ConfirmationOut {
        let (category, category_name) = c.category.clone().unzip();
        let (refund_code, refund_reason) = c.refund_reason.clone().unzip();
        ConfirmationOut {
            receipt_no: c.receipt_no,
            order_id: c.order_id,
            transaction_id: c.transaction_id,
            psn_no: c.psn_no,
            kind: c.kind.code().to_string(),
            year: c.year,
            amount: yuan(c.amount),
            channel: c.channel.code().to_string(),
            status: if refund_code.is_none() {
                "kept"
            } else {
                "refunded"
            }
            .into(),
            category,
            category_name,
            refund_code,
            refund_reason,
            paid_at: c.paid_at,
            explanation: c.explanation,
            replayed: c.replayed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    pub order_id: String,
    pub person: PersonRefOut,
    pub kind: String,
    pub year: i32,
    /// The registry's category for the year (R-R5).
    pub category: String,
    pub category_name: String,
    pub amount: String,
    pub channel: String,
    /// Where to pay (the provider's cashier page); absent when paid at once.
    pub pay_url: Option<String>,
    /// The demo's provider (演示) pays at once: the payment as recorded.
    pub confirmed: Option<ConfirmationOut>,
}

/// Makes an order to pay a premium with outside money (WeChat, Alipay, UnionPay... through
/// the deployment's payment provider), for myself (R-J5) or a relative I hold a binding for.
/// The amount is the registry's; a premium paid already, the wrong place, a closed window or
/// a category that owes nothing are refused here, before money moves. Production without a
/// payment provider answers 503 `GJ-PAY-NOT-CONFIGURED` (在线缴费服务未配置).
#[utoipa::path(post, path = "/api/v1/me/premium-orders", tag = "payments",
    request_body = OrderIn,
    responses(
        (status = 201, body = OrderOut),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "GJ-PREMIUM-ALREADY-PAID, GJ-PREMIUM-NOTHING-DUE, ...", body = ErrorBody),
        (status = 503, description = "GJ-PAY-NOT-CONFIGURED", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_order(
    State(app): State<App>,
    who: PersonAuth,
    ApiJson(body): ApiJson<OrderIn>,
) -> ApiResult<(StatusCode, Json<OrderOut>)> {
    let kind = match body.kind.as_deref() {
        None => PremiumKind::Resident,
        Some(k) => PremiumKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(
                "kind 应为 resident_premium、large_expense_premium 或 ltc_premium".into(),
            )
        })?,
    };
    let order = NewOrder {
        psn_no: body.psn_no.unwrap_or_else(|| who.psn_no.clone()),
        kind,
        year: body.year,
    };
    let made = collection::create_order(&app, &who.psn_no, order, who.channel).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrderOut {
            order_id: made.order_id,
            person: (&made.person).into(),
            kind: made.kind.code().to_string(),
            year: made.year,
            category: made.category,
            category_name: made.category_name,
            amount: yuan(made.amount),
            channel: made.channel.code().to_string(),
            pay_url: made.pay_url,
            confirmed: made.confirmed.map(Into::into),
        }),
    ))
}

/// The payment provider's notification that an order was paid, signed as the module
/// `service::providers::payment` describes (WeChat Pay v3's shape: `x-pay-timestamp`,
/// `x-pay-nonce`, `x-pay-signature`, `x-pay-serial` over `timestamp\nnonce\nbody\n`).
/// Idempotent by the provider's `transaction_id`: a repeated delivery gets the first answer.
/// A second payment of the same premium is recorded and refunded (`status = refunded`).
/// Refused, changing nothing, logged and audited: a bad signature (401
/// `GJ-PAY-BAD-SIGNATURE`), an unknown order (404 `GJ-PAY-UNKNOWN-ORDER`), an amount other
/// than the order's (422 `GJ-PAY-AMOUNT-MISMATCH`).
#[utoipa::path(post, path = "/api/v1/payments/notify", tag = "payments",
    request_body(content = String, content_type = "application/json", description = "the provider's notification"),
    responses(
        (status = 200, body = ConfirmationOut),
        (status = 400, body = ErrorBody),
        (status = 401, description = "GJ-PAY-BAD-SIGNATURE", body = ErrorBody),
        (status = 404, description = "GJ-PAY-UNKNOWN-ORDER", body = ErrorBody),
        (status = 422, description = "GJ-PAY-AMOUNT-MISMATCH", body = ErrorBody),
        (status = 503, description = "GJ-PAY-PROVIDER-FAILED: a refund the provider did not take; it notifies again", body = ErrorBody),
    ))]
pub async fn notify(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ConfirmationOut>> {
    let notification = SignedNotification {
        headers: headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let c = collection::confirm(&app, notification, Channel::Web).await?;
    Ok(Json(c.into()))
}
