//! Sign-in on the wire: SMS codes and sessions for insured persons, password sign-in for
//! staff, and the extractors that turn a bearer token or the session cookie into the caller.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use gongji_core::codes::Channel;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::errors::{ApiError, ApiJson, ApiResult, ErrorBody};
use crate::app::App;
use crate::service::auth::{self as svc, Session, Subject, SESSION_COOKIE};
use crate::service::staff::Staff;
use crate::service::ServiceError;

/// The channels an app declares in `X-Gongji-Channel` (R-Y5); pages default to `web`.
pub const CHANNEL_HEADER: &str = "x-gongji-channel";

fn token_of(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// The channel a person's request came through.
pub fn channel_of(headers: &HeaderMap) -> ApiResult<Channel> {
    match headers.get(CHANNEL_HEADER).map(|v| v.to_str()) {
        None => Ok(Channel::Web),
        Some(Ok(v)) => match Channel::parse(v) {
            Some(c @ (Channel::WeChat | Channel::Alipay | Channel::AiShandong | Channel::Web)) => {
                Ok(c)
            }
            _ => Err(ApiError::bad_request(
                "X-Gongji-Channel 应为 wechat、alipay、aishandong 或 web".into(),
            )),
        },
        Some(Err(_)) => Err(ApiError::bad_request("X-Gongji-Channel 无效".into())),
    }
}

async fn session_of(parts: &Parts, app: &App) -> Result<Session, ApiError> {
    let token = token_of(&parts.headers).ok_or(ServiceError::Unauthenticated)?;
    Ok(svc::session(app, &token).await?)
}

/// The client's address as the connection shows it (`0.0.0.0` for a request that came
/// through no socket, such as the till's in-process calls). Behind a reverse proxy this is
/// the proxy.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        ClientIp(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        )
    }
}

#[axum::async_trait]
impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

/// A signed-in insured person.
pub struct PersonAuth {
    pub psn_no: String,
    pub channel: Channel,
}

#[axum::async_trait]
impl FromRequestParts<App> for PersonAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let session = session_of(parts, app).await?;
        match session.subject {
            Subject::Person { psn_no } => Ok(PersonAuth {
                psn_no,
                channel: channel_of(&parts.headers)?,
            }),
            Subject::Staff { .. } | Subject::Operator { .. } => Err(ServiceError::Forbidden.into()),
        }
    }
}

/// A signed-in staff member.
pub struct StaffAuth(pub Staff);

#[axum::async_trait]
impl FromRequestParts<App> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let session = session_of(parts, app).await?;
        match session.subject {
            Subject::Staff { username, role } => Ok(StaffAuth(Staff { username, role })),
            Subject::Person { .. } | Subject::Operator { .. } => {
                Err(ServiceError::Forbidden.into())
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsCodeIn {
    /// 11-digit mobile number registered with the insured person.
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsCodeOut {
    pub phone_masked: String,
    pub expires_in_secs: i64,
    pub resend_after_secs: i64,
}

/// Sends a sign-in code to a phone registered to an insured person (R-S11). A phone no one
/// registered gets the same answer, and no code.
#[utoipa::path(post, path = "/api/v1/auth/sms-code", tag = "auth",
    request_body = SmsCodeIn,
    responses(
        (status = 200, body = SmsCodeOut),
        (status = 400, body = ErrorBody),
        (status = 429, description = "GJ-API-RATE-LIMITED", body = ErrorBody),
        (status = 503, description = "GJ-SMS-NOT-CONFIGURED, GJ-SMS-UNAVAILABLE", body = ErrorBody),
    ))]
pub async fn sms_code(
    State(app): State<App>,
    ApiJson(body): ApiJson<SmsCodeIn>,
) -> ApiResult<axum::Json<SmsCodeOut>> {
    let sent = svc::request_code(&app, &body.phone).await?;
    Ok(axum::Json(SmsCodeOut {
        phone_masked: sent.phone_masked,
        expires_in_secs: sent.expires_in_secs,
        resend_after_secs: sent.resend_after_secs,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInIn {
    pub phone: String,
    pub code: String,
    /// Needed only when several insured persons share the phone.
    #[serde(default)]
    pub certno: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// For `Authorization: Bearer`; pages use the `gongji_session` cookie set beside it.
    pub token: String,
    /// `person`, `staff` or `operator`.
    pub kind: String,
    pub psn_no: Option<String>,
    pub username: Option<String>,
    pub role: Option<String>,
    /// A till operator's institution.
    pub fixmedins_code: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss`; renewed by use.
    pub expires_at: String,
}

fn session_answer(s: &Session) -> Response {
    let (kind, psn_no, username, role, fixmedins_code) = match &s.subject {
        Subject::Person { psn_no } => ("person", Some(psn_no.clone()), None, None, None),
        Subject::Staff { username, role } => (
            "staff",
            None,
            Some(username.clone()),
            Some(role.code().to_string()),
            None,
        ),
        Subject::Operator {
            username,
            fixmedins_code,
        } => (
            "operator",
            None,
            Some(username.clone()),
            None,
            Some(fixmedins_code.clone()),
        ),
    };
    let body = SessionOut {
        token: s.token.clone(),
        kind: kind.into(),
        psn_no,
        username,
        role,
        fixmedins_code,
        expires_at: s.expires_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    if let Some(v) = crate::web::session_cookie(Some(&s.token)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Signs in with the SMS code; answers a token and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth",
    request_body = SignInIn,
    responses(
        (status = 200, body = SessionOut),
        (status = 400, body = ErrorBody),
        (status = 401, description = "GJ-AUTH-CODE-INVALID", body = ErrorBody),
        (status = 409, description = "GJ-AUTH-PHONE-SHARED", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(app): State<App>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignInIn>,
) -> ApiResult<Response> {
    let channel = channel_of(&headers)?;
    let s = svc::sign_in_with_code(
        &app,
        &body.phone,
        &body.code,
        body.certno.as_deref(),
        channel,
    )
    .await?;
    Ok(session_answer(&s))
}

/// Signs out (persons and staff): the session ends and the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn sign_out(State(app): State<App>, headers: HeaderMap) -> ApiResult<Response> {
    let token = token_of(&headers).ok_or(ServiceError::Unauthenticated)?;
    svc::session(&app, &token).await?;
    svc::sign_out(&app, &token).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(v) = crate::web::session_cookie(None) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffSignInIn {
    pub username: String,
    pub password: String,
}

/// Staff sign in with the username and password made by `gongji staff add`.
#[utoipa::path(post, path = "/api/v1/staff/session", tag = "staff",
    request_body = StaffSignInIn,
    responses(
        (status = 200, body = SessionOut),
        (status = 400, body = ErrorBody),
        (status = 401, description = "GJ-AUTH-BAD-CREDENTIALS", body = ErrorBody),
        (status = 429, description = "GJ-API-RATE-LIMITED", body = ErrorBody),
    ))]
pub async fn staff_sign_in(
    State(app): State<App>,
    ClientIp(source): ClientIp,
    ApiJson(body): ApiJson<StaffSignInIn>,
) -> ApiResult<Response> {
    let s = svc::staff_sign_in(&app, &body.username, &body.password, source).await?;
    Ok(session_answer(&s))
}
