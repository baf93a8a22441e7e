//! `POST /open/v1/{service}`: the people's API for registered app partners (WeChat and
//! Alipay mini-programs, 爱山东) through the 国密 envelope of the national platform's open
//! interfaces (NHSA-INTERFACE.md; the wire layer is `gongji_nhsa::open_envelope`).
//!
//! A partner is registered by staff (`gongji partner add`): appCode, appSecret, its SM2
//! public key and the channel its requests are recorded under (R-Y5). The partner has done
//! the person's real-name check itself (as the national platform's partners do) and names
//! the person in `data.psn_no`.
//!
//! The checks, in order, each refusing with a stable code and changing nothing: the envelope
//! parses → the partner is registered and active → the platform has its signing key →
//! `encData` decrypts and `signData` verifies with the partner's key → the timestamp is
//! within ±300 s of now and not from before this process started → the signature has not
//! been seen in the window (the replay store of the institution gateway, one partition per
//! appCode). Then an audit row (actor `app:<appCode>`, the partner's channel) is committed
//! before the answer, which is the same envelope: signed with the platform's SM2 key,
//! `data` encrypted with the partner's derived key. Refusals before the partner is known are
//! plain JSON (nothing to sign for); after, signed.

use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gongji_core::codes::Channel;
use gongji_engine::token_seal::{is_sealed, TokenKey};
use gongji_nhsa::auth::{AuthError, NonceCache};
use gongji_nhsa::open_envelope::{
    self, OpenEnvelope, OpenEnvelopeError, SigningKey, VerifyingKey, FIELD_APP_CODE,
    FIELD_TIMESTAMP,
};
use gongji_store::read::AppPartnerRow;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::api::errors::{ApiError, ApiPath};
use crate::api::family::FamilyOut;
use crate::api::people::MeOut;
use crate::api::records::{RecordsOut, RecordsParams};
use crate::app::{App, TIMESTAMP_WINDOW_SECS};
use crate::service::{auth, codes, family, people, records, ServiceError};

/// The services a partner may call (`/open/v1/{service}`): my insurance, my records, my
/// family.
pub const SERVICES: &[&str] = &["me", "records", "family"];
/// `code` of an answer that succeeded (the national platform's convention).
pub const CODE_OK: &str = "0";
/// The channels a partner may be registered under.
pub const PARTNER_CHANNELS: &[Channel] = &[Channel::WeChat, Channel::Alipay, Channel::AiShandong];

/// The associated data a partner's sealed secret is bound to: a sealed secret copied onto
/// another partner's row (or an institution's) does not open.
pub fn secret_seal_context(app_code: &str) -> String {
    format!("app-partner:{app_code}")
}

/// The envelope's keys and replay store.
pub struct OpenApi {
    /// The platform's SM2 key, which signs every answer. Without it the route refuses.
    platform_key: Option<SigningKey>,
    /// Opens partners' sealed secrets (the deployment's token key).
    secret_key: Option<TokenKey>,
    nonces: Mutex<NonceCache>,
}

impl Default for OpenApi {
    fn default() -> OpenApi {
        OpenApi::new(None, None)
    }
}

impl OpenApi {
    pub fn new(platform_key: Option<SigningKey>, secret_key: Option<TokenKey>) -> OpenApi {
        OpenApi {
            platform_key,
            secret_key,
            nonces: Mutex::new(NonceCache::new(
                TIMESTAMP_WINDOW_SECS,
                NonceCache::RATE_MAX_DEFAULT,
            )),
        }
    }

    /// `04`‖x‖y of the platform's key, which partners verify answers with.
    pub fn platform_public_key_hex(&self) -> Option<String> {
        self.platform_key
            .as_ref()
            .map(|k| open_envelope::verifying_key_hex(k.verifying_key()))
    }
}

/// Why the envelope itself was refused (service errors after it are [`ServiceError`]s).
#[derive(Debug)]
enum Refusal {
    Envelope(OpenEnvelopeError),
    PartnerUnknown,
    PartnerInactive,
    /// The partner's row cannot be used: its secret is sealed and no key opens it, or its
    /// public key is not an SM2 key.
    PartnerUnusable,
    NotConfigured,
    Stale,
    Replayed,
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Refusal::Envelope(e) => match e {
                OpenEnvelopeError::Malformed(_) | OpenEnvelopeError::AppCodeTooShort => {
                    codes::OPEN_MALFORMED
                }
                OpenEnvelopeError::Unsupported(_) => codes::OPEN_UNSUPPORTED,
                OpenEnvelopeError::BadSignature => codes::OPEN_BAD_SIGNATURE,
                OpenEnvelopeError::Undecryptable => codes::OPEN_UNDECRYPTABLE,
                OpenEnvelopeError::BadKey(_) => codes::OPEN_PARTNER_UNUSABLE,
            },
            Refusal::PartnerUnknown => codes::OPEN_PARTNER_UNKNOWN,
            Refusal::PartnerInactive => codes::OPEN_PARTNER_INACTIVE,
            Refusal::PartnerUnusable => codes::OPEN_PARTNER_UNUSABLE,
            Refusal::NotConfigured => codes::OPEN_NOT_CONFIGURED,
            Refusal::Stale => codes::OPEN_STALE_TIMESTAMP,
            Refusal::Replayed => codes::OPEN_REPLAYED,
        }
    }

    /// Exhaustive, like `api::errors::status_of` for service errors.
    fn status(&self) -> StatusCode {
        match self {
            Refusal::Envelope(e) => match e {
                OpenEnvelopeError::Malformed(_)
                | OpenEnvelopeError::AppCodeTooShort
                | OpenEnvelopeError::Unsupported(_)
                | OpenEnvelopeError::Undecryptable => StatusCode::BAD_REQUEST,
                OpenEnvelopeError::BadSignature => StatusCode::UNAUTHORIZED,
                OpenEnvelopeError::BadKey(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Refusal::PartnerUnknown | Refusal::Stale => StatusCode::UNAUTHORIZED,
            Refusal::PartnerInactive => StatusCode::FORBIDDEN,
            Refusal::PartnerUnusable => StatusCode::INTERNAL_SERVER_ERROR,
            Refusal::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Replayed => StatusCode::CONFLICT,
        }
    }

    fn messages(&self) -> (String, String) {
        let (zh, en) = match self {
            Refusal::Envelope(OpenEnvelopeError::BadSignature) => (
                "签名校验失败：signData 不是本应用私钥对该报文的SM2签名。",
                "signData is not the partner's SM2 signature of this envelope.",
            ),
            Refusal::Envelope(OpenEnvelopeError::Undecryptable) => (
                "encData 无法解密：请用 appCode 与 appSecret 派生的SM4密钥加密业务数据。",
                "encData does not decrypt with the key derived from appCode and appSecret.",
            ),
            Refusal::Envelope(OpenEnvelopeError::Unsupported(_)) => (
                "仅支持 encType=SM4、signType=SM2。",
                "Only encType SM4 and signType SM2 are supported.",
            ),
            Refusal::Envelope(_) => (
                "报文格式有误：应为含 appCode、version、timestamp、encType、signType、signData 和 encData（或 data）的JSON。",
                "Malformed envelope: JSON with appCode, version, timestamp, encType, signType, signData and encData (or data).",
            ),
            Refusal::PartnerUnknown => (
                "未登记的应用（appCode），请联系医保经办机构登记。",
                "Unknown appCode: the partner is not registered.",
            ),
            Refusal::PartnerInactive => (
                "该应用已停用，请联系医保经办机构。",
                "This partner is deactivated.",
            ),
            Refusal::PartnerUnusable | Refusal::NotConfigured => (
                "开放接口暂不可用，请联系医保经办机构。",
                "The open interface is not available; contact the bureau.",
            ),
            Refusal::Stale => (
                "时间戳超出允许范围（前后300秒），请校准时钟并用当前时间重新签名。",
                "The timestamp is outside ±300 s of the server's clock (or from before it started); re-sign with the current time.",
            ),
            Refusal::Replayed => (
                "重复的请求：该签名已使用过，请用新的时间戳重新签名。",
                "Replayed request: this signature was already used; sign a new request.",
            ),
        };
        (zh.to_string(), en.to_string())
    }
}

/// A partner as the check needs it: the secret in clear and its public key.
struct Partner {
    app_code: String,
    channel: Channel,
    secret: String,
    public_key: VerifyingKey,
}

/// `POST /open/v1/{service}`.
pub async fn serve(
    State(app): State<App>,
    ApiPath(service): ApiPath<String>,
    body: Bytes,
) -> Response {
    let envelope = match OpenEnvelope::parse(&body) {
        Ok(e) => e,
        Err(e) => return refused(None, &Refusal::Envelope(e)),
    };
    let partner = match partner_of(&app, envelope.app_code()).await {
        Ok(p) => p,
        Err(r) => return refused(Some(envelope.app_code()), &r),
    };
    let open = app.open_api.clone();
    let Some(platform_key) = open.platform_key.as_ref() else {
        return refused(Some(envelope.app_code()), &Refusal::NotConfigured);
    };
    let signer = Signer {
        partner: &partner,
        key: platform_key,
    };
    let data = match checked(&app, &open, &envelope, &partner) {
        Ok(data) => data,
        Err(r) => {
            let (zh, en) = r.messages();
            return signer.answer(r.status(), r.code(), &zh, &en, None);
        }
    };
    match call(&app, &partner, &service, data.as_deref()).await {
        Ok(out) => signer.answer(StatusCode::OK, CODE_OK, "成功", "OK", Some(&out)),
        Err(e) => {
            let e = ApiError::from(e);
            signer.answer(
                e.status,
                &e.body.code,
                &e.body.message_zh,
                &e.body.message_en,
                None,
            )
        }
    }
}

async fn partner_of(app: &App, app_code: &str) -> Result<Partner, Refusal> {
    let code = app_code.to_string();
    let row: Option<AppPartnerRow> = app
        .read_store(move |s| s.app_partner(&code))
        .await
        .map_err(|_| Refusal::PartnerUnusable)?;
    let row = row.ok_or(Refusal::PartnerUnknown)?;
    if !row.active {
        return Err(Refusal::PartnerInactive);
    }
    let channel = Channel::parse(&row.channel)
        .filter(|c| PARTNER_CHANNELS.contains(c))
        .ok_or(Refusal::PartnerUnusable)?;
    let secret = if is_sealed(&row.app_secret) {
        let key = app
            .open_api
            .secret_key
            .as_ref()
            .ok_or(Refusal::PartnerUnusable)?;
        key.open(&secret_seal_context(&row.app_code), &row.app_secret)
            .map_err(|_| Refusal::PartnerUnusable)?
    } else {
        row.app_secret.clone()
    };
    let public_key = open_envelope::verifying_key_from_hex(&row.public_key)
        .map_err(|_| Refusal::PartnerUnusable)?;
    Ok(Partner {
        app_code: row.app_code,
        channel,
        secret,
        public_key,
    })
}

/// Decrypts and verifies, then the timestamp and the replay store; the data's JSON text.
fn checked(
    app: &App,
    open: &OpenApi,
    envelope: &OpenEnvelope,
    partner: &Partner,
) -> Result<Option<String>, Refusal> {
    let data = envelope
        .open(&partner.secret, &partner.public_key)
        .map_err(Refusal::Envelope)?;
    let now = app.clock.unix_now();
    let timestamp = envelope.timestamp();
    if now.saturating_sub(timestamp).saturating_abs() > TIMESTAMP_WINDOW_SECS
        || timestamp < app.serving_since_unix
    {
        return Err(Refusal::Stale);
    }
    let nonce = hex::encode(envelope.signature());
    let mut nonces = open.nonces.lock().map_err(|_| Refusal::Replayed)?;
    match nonces.check_and_insert(&partner.app_code, &nonce, timestamp, now) {
        Ok(()) => Ok(data),
        Err(AuthError::ClockSkew { .. }) => Err(Refusal::Stale),
        Err(_) => Err(Refusal::Replayed),
    }
}

/// The person a request is about: the partner vouches for the real-name check.
#[derive(Deserialize)]
struct PersonData {
    psn_no: String,
}

#[derive(Deserialize)]
struct RecordsData {
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

fn data_of<T: DeserializeOwned>(data: Option<&str>) -> Result<T, ServiceError> {
    let text = data.ok_or_else(|| ServiceError::BadRequest("缺少业务数据 data".into()))?;
    serde_json::from_str(text)
        .map_err(|e| ServiceError::BadRequest(crate::api::errors::without_values(&e.to_string())))
}

/// What a partner asked for, read from its data before anything is written.
enum Query {
    Me,
    Family,
    Records(records::RecordFilter),
}

fn query_of(service: &str, data: Option<&str>) -> Result<Query, ServiceError> {
    match service {
        "me" => Ok(Query::Me),
        "family" => Ok(Query::Family),
        "records" => {
            let d: RecordsData = data_of(data)?;
            let params = RecordsParams {
                from: d.from,
                to: d.to,
                kind: d.kind,
                limit: d.limit,
                offset: d.offset,
            };
            let filter = params
                .filter()
                .map_err(|e| ServiceError::BadRequest(e.body.message_zh))?;
            Ok(Query::Records(filter))
        }
        _ => Err(ServiceError::NotFound("开放接口服务")),
    }
}

/// Runs one service for the person the partner names; the audit row, with the partner's
/// channel, is durable before the answer.
async fn call(
    app: &App,
    partner: &Partner,
    service: &str,
    data: Option<&str>,
) -> Result<Value, ServiceError> {
    let query = query_of(service, data)?;
    let PersonData { psn_no } = data_of(data)?;
    // Unknown persons are refused before anything is written.
    people::who(app, &psn_no).await?;
    auth::audit_read(
        app,
        &format!("app:{}", partner.app_code),
        partner.channel,
        &format!("open_{service}"),
        &format!("person:{psn_no}"),
        None,
    )
    .await?;
    let out = match query {
        Query::Me => serde_json::to_value(MeOut::of(&people::my_insurance(app, &psn_no).await?)),
        Query::Family => {
            serde_json::to_value(FamilyOut::of(&family::my_family(app, &psn_no).await?))
        }
        Query::Records(filter) => {
            let rows = records::records(app, &psn_no, &filter).await?;
            serde_json::to_value(RecordsOut {
                records: rows.iter().map(Into::into).collect(),
            })
        }
    };
    out.map_err(|e| ServiceError::BadRequest(e.to_string()))
}

/// Signs answers for one verified partner.
struct Signer<'a> {
    partner: &'a Partner,
    key: &'a SigningKey,
}

impl Signer<'_> {
    fn answer(
        &self,
        status: StatusCode,
        code: &str,
        zh: &str,
        en: &str,
        data: Option<&Value>,
    ) -> Response {
        let fields = [
            (FIELD_APP_CODE, Value::from(self.partner.app_code.as_str())),
            (FIELD_TIMESTAMP, Value::from(chrono::Utc::now().timestamp())),
            ("code", Value::from(code)),
            ("message", Value::from(zh)),
            ("messageEn", Value::from(en)),
        ];
        match open_envelope::seal(&fields, data, &self.partner.secret, self.key) {
            Ok(map) => json_response(status, &Value::Object(map)),
            Err(_) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(&self.partner.app_code),
                codes::API_INTERNAL,
                "系统暂时无法处理，请稍后重试。",
                "Internal error; try again later.",
            ),
        }
    }
}

/// A refusal before the partner is verified: plain JSON, unsigned.
fn refused(app_code: Option<&str>, r: &Refusal) -> Response {
    let (zh, en) = r.messages();
    plain(r.status(), app_code, r.code(), &zh, &en)
}

fn plain(status: StatusCode, app_code: Option<&str>, code: &str, zh: &str, en: &str) -> Response {
    let mut map = serde_json::Map::new();
    if let Some(a) = app_code {
        map.insert(FIELD_APP_CODE.into(), a.into());
    }
    map.insert(
        FIELD_TIMESTAMP.into(),
        Value::from(chrono::Utc::now().timestamp()),
    );
    map.insert("code".into(), code.into());
    map.insert("message".into(), zh.into());
    map.insert("messageEn".into(), en.into());
    json_response(status, &Value::Object(map))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}
