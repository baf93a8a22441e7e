//! Errors on the wire: every 4xx and 5xx of the REST API is JSON `{code, message_zh,
//! message_en}`, with the stable codes of the core, the engine and the services. The status
//! of each error is decided here ([`status_of`]) and nowhere else: the pages answer with the
//! same function.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gongji_engine::EngineError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::peer::PeerRefusal;
use crate::service::{codes, ServiceError};

/// The body of every error answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code, e.g. `GJ-BIND-RELATIVE-ALREADY-BOUND`, `GJ-API-UNAUTHENTICATED`.
    pub code: String,
    /// Why, and what to do next, in Chinese.
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    retry_after_secs: Option<i64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, zh: String, en: String) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_string(),
                message_zh: zh,
                message_en: en,
            },
            retry_after_secs: None,
        }
    }

    pub fn bad_request(detail: String) -> ApiError {
        ApiError::from(ServiceError::BadRequest(detail))
    }

    /// A generic answer for a status that came from the framework (405, 413, an unknown
    /// path...), so that no error of the API is anything but JSON.
    pub fn for_status(status: StatusCode) -> ApiError {
        let (code, zh, en) = match status {
            StatusCode::NOT_FOUND => (
                codes::API_NOT_FOUND,
                "没有这个接口地址。",
                "No such API path.",
            ),
            StatusCode::METHOD_NOT_ALLOWED => (
                codes::API_METHOD_NOT_ALLOWED,
                "该接口不支持此请求方法。",
                "Method not allowed on this path.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                codes::API_BODY_TOO_LARGE,
                "请求内容过大。",
                "Request body too large.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                codes::API_BAD_REQUEST,
                "请求内容应为 JSON（Content-Type: application/json）。",
                "The body must be JSON (Content-Type: application/json).",
            ),
            s if s.is_client_error() => (
                codes::API_BAD_REQUEST,
                "请求有误，请检查后重试。",
                "Bad request.",
            ),
            _ => (
                codes::API_INTERNAL,
                "系统暂时无法处理，请稍后重试。",
                "Internal error; try again later.",
            ),
        };
        ApiError::new(status, code, zh.into(), en.into())
    }
}

/// The one place that gives each error its HTTP status, for the API and the pages alike.
/// Exhaustive on purpose (no catch-all arm): a new error does not compile until it has a
/// status here.
pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Engine(engine) => match engine {
            EngineError::Refused(_)
            | EngineError::CredentialMismatch
            | EngineError::SettlementOfOtherInstitution
            | EngineError::VisitMismatch
            | EngineError::NoFees => StatusCode::UNPROCESSABLE_ENTITY,
            EngineError::UnknownPerson(_)
            | EngineError::UnknownInstitution(_)
            | EngineError::UnknownSettlement(_)
            | EngineError::UnknownBinding(_)
            | EngineError::UnknownRecoveryCase(_)
            | EngineError::UnknownReview(_)
            | EngineError::UnknownVisit(_) => StatusCode::NOT_FOUND,
            EngineError::MsgidReused
            | EngineError::AlreadyCancelled(_)
            | EngineError::DuplicateRegistration(_) => StatusCode::CONFLICT,
            EngineError::Store(_) | EngineError::WriterStopped => StatusCode::SERVICE_UNAVAILABLE,
            EngineError::FloorBreached(_) => StatusCode::INTERNAL_SERVER_ERROR,
        },
        ServiceError::Unauthenticated
        | ServiceError::CodeInvalid
        | ServiceError::BadCredentials => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden => StatusCode::FORBIDDEN,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ServiceError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Peer(refusal) => match refusal {
            PeerRefusal::NotConfigured
            | PeerRefusal::Unreachable(_)
            | PeerRefusal::LowerUnanswered { .. } => StatusCode::SERVICE_UNAVAILABLE,
            PeerRefusal::UnknownProvince
            | PeerRefusal::BadSignature
            | PeerRefusal::Stale
            | PeerRefusal::Replayed => StatusCode::UNAUTHORIZED,
            PeerRefusal::Malformed(_) => StatusCode::BAD_REQUEST,
            PeerRefusal::BadAnswer(_) => StatusCode::BAD_GATEWAY,
            PeerRefusal::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        },
        ServiceError::PhoneUnknown
        | ServiceError::FaceRejected
        | ServiceError::SecondFactorRequired => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::PhoneShared | ServiceError::CommitmentMismatch => StatusCode::CONFLICT,
        ServiceError::SmsUnavailable
        | ServiceError::SmsNotConfigured
        | ServiceError::FaceUnavailable
        | ServiceError::PaymentNotConfigured
        | ServiceError::PaymentProviderFailed => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::PaymentBadSignature => StatusCode::UNAUTHORIZED,
        ServiceError::PaymentUnknownOrder => StatusCode::NOT_FOUND,
        ServiceError::PaymentAmountMismatch => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let mut out = ApiError::new(status_of(&e), e.code(), e.message_zh(), e.message_en());
        if let ServiceError::RateLimited { retry_after_secs } = e {
            out.retry_after_secs = Some(retry_after_secs);
        }
        out
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        ApiError::from(ServiceError::Engine(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body; malformed, mistyped or oversize bodies are API errors.
pub struct ApiJson<T>(pub T);

#[axum::async_trait]
impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::BytesRejection(r))
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE))
            }
            Err(r) => Err(ApiError::bad_request(without_values(&r.body_text()))),
        }
    }
}

/// The parser's message without the values it quotes (`"..."`, integer `...`), so an ID
/// number or phone typed into the wrong field is not echoed into errors and logs. Field
/// names (`` `phone` ``) stay.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let quote = rest.find('"');
        let number = ["integer `", "floating point `"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i + m.len(), '`')))
            .min();
        let next = match (quote, number) {
            (Some(q), Some((n, _))) if n < q => Some((n, '`')),
            (Some(q), _) => Some((q + 1, '"')),
            (None, Some(n)) => Some(n),
            (None, None) => None,
        };
        let Some((start, close)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        match rest[start..].find(close) {
            Some(len) => {
                out.push('…');
                out.push(close);
                rest = &rest[start + len + 1..];
            }
            None => return out,
        }
    }
}

/// Query parameters; wrong types and unknown values are API errors.
pub struct ApiQuery<T>(pub T);

#[axum::async_trait]
impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|r: QueryRejection| ApiError::bad_request(r.body_text()))
    }
}

/// Path parameters; a non-numeric id is an API error.
pub struct ApiPath<T>(pub T);

#[axum::async_trait]
impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|r: PathRejection| ApiError::bad_request(r.body_text()))
    }
}

/// Turns any error answer the framework made (not JSON) into the API's JSON error.
pub async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return ApiError::for_status(status).into_response();
    }
    resp
}

/// Unknown paths under `/api/v1`.
pub async fn not_found() -> ApiError {
    ApiError::for_status(StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn parser_messages_lose_their_values() {
        assert_eq!(
            without_values(
                "phone: invalid type: integer `13900000001`, expected a string at line 1"
            ),
            "phone: invalid type: integer `…`, expected a string at line 1"
        );
        assert_eq!(
            without_values("year: invalid type: string \"370102199001011234\", expected i32"),
            "year: invalid type: string \"…\", expected i32"
        );
        assert_eq!(
            without_values("missing field `code`"),
            "missing field `code`"
        );
    }
}
