//! How `/open/v1` (the 国密 envelope for app partners, `crate::open_api`) appears in the
//! OpenAPI document: the envelopes on the wire, the data inside them and every refusal code.
//! The route itself is `/open/v1/{service}`; each service is described as its own path so a
//! partner sees what its `data` holds and what the answer's `encData` decrypts to.

use utoipa::ToSchema;

use crate::open_api::SERVICES;

/// The request a partner sends: signed with its SM2 key, `data` encrypted with the SM4 key
/// derived from appCode and appSecret (NHSA-INTERFACE.md, "The 国密 envelope for apps").
#[derive(ToSchema)]
#[schema(as = OpenRequestEnvelope)]
#[allow(non_snake_case)]
pub struct OpenRequestEnvelope {
    /// The partner's registered appCode (at least 16 characters).
    #[schema(example = "GJDEMOAPP0000001")]
    pub appCode: String,
    #[schema(example = "1.0.0")]
    pub version: String,
    /// Unix seconds; within ±300 s of the server's clock.
    #[schema(example = 1760061600)]
    pub timestamp: i64,
    #[schema(example = "SM4")]
    pub encType: String,
    #[schema(example = "SM2")]
    pub signType: String,
    /// Base64 of the 64-byte r‖s SM2 signature (SM3, user id 1234567812345678) of the
    /// signing string.
    pub signData: String,
    /// Uppercase hex of SM4-ECB-PKCS#7 of the data's compact JSON: an
    /// [`OpenPersonData`] (me, family) or [`OpenRecordsData`] (records).
    pub encData: Option<String>,
    /// The data in clear instead of `encData` (signed all the same).
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// The answer: the same envelope, signed with the platform's SM2 key; a refusal has no
/// `encData`. Refusals before the partner is known (malformed envelope, unknown or inactive
/// appCode, no platform key) are unsigned: only appCode, timestamp, code and messages.
#[derive(ToSchema)]
#[schema(as = OpenAnswerEnvelope)]
#[allow(non_snake_case)]
pub struct OpenAnswerEnvelope {
    pub appCode: Option<String>,
    pub version: Option<String>,
    pub timestamp: i64,
    pub encType: Option<String>,
    pub signType: Option<String>,
    /// `0` when the service answered; otherwise a stable `GJ-...` code.
    #[schema(example = "0")]
    pub code: String,
    /// In Chinese.
    pub message: String,
    pub messageEn: String,
    /// The platform's signature of the answer; verify it with the platform's public key.
    pub signData: Option<String>,
    /// On success: the answer's data (`MeOut`, `FamilyOut` or `RecordsOut`), encrypted as
    /// the request's.
    pub encData: Option<String>,
}

/// What `encData` holds for `me` and `family`: the person the partner asks about (it has
/// done the real-name check itself).
#[derive(ToSchema)]
pub struct OpenPersonData {
    #[schema(example = "37010200000001")]
    pub psn_no: String,
}

/// What `encData` holds for `records`: the person and the filter of `/api/v1/me/records`.
#[derive(ToSchema)]
pub struct OpenRecordsData {
    pub psn_no: String,
    /// `yyyy-MM-dd`.
    pub from: Option<String>,
    pub to: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Every route `/open/v1` answers, as the OpenAPI document lists them: `POST /open/v1/me`...
pub fn routes() -> Vec<(axum::http::Method, String)> {
    SERVICES
        .iter()
        .map(|s| (axum::http::Method::POST, format!("/open/v1/{s}")))
        .collect()
}

/// My insurance, for the person named in the data.
#[utoipa::path(post, path = "/open/v1/me", tag = "open",
    request_body(content = OpenRequestEnvelope, description = "encData: OpenPersonData"),
    responses(
        (status = 200, body = OpenAnswerEnvelope, description = "code 0; encData decrypts to MeOut"),
        (status = 400, body = OpenAnswerEnvelope, description = "GJ-OPEN-MALFORMED, GJ-OPEN-UNSUPPORTED, GJ-OPEN-UNDECRYPTABLE, GJ-API-BAD-REQUEST (the data)"),
        (status = 401, body = OpenAnswerEnvelope, description = "GJ-OPEN-BAD-SIGNATURE, GJ-OPEN-PARTNER-UNKNOWN, GJ-OPEN-STALE-TIMESTAMP"),
        (status = 403, body = OpenAnswerEnvelope, description = "GJ-OPEN-PARTNER-INACTIVE"),
        (status = 404, body = OpenAnswerEnvelope, description = "the person is not registered"),
        (status = 409, body = OpenAnswerEnvelope, description = "GJ-OPEN-REPLAYED: the signature was already used"),
        (status = 500, body = OpenAnswerEnvelope, description = "GJ-OPEN-PARTNER-UNUSABLE"),
        (status = 503, body = OpenAnswerEnvelope, description = "GJ-OPEN-NOT-CONFIGURED: no platform key; GJ-STORE-IO"),
    ))]
pub async fn open_me() {}

/// My family (bindings both ways), for the person named in the data.
#[utoipa::path(post, path = "/open/v1/family", tag = "open",
    request_body(content = OpenRequestEnvelope, description = "encData: OpenPersonData"),
    responses(
        (status = 200, body = OpenAnswerEnvelope, description = "code 0; encData decrypts to FamilyOut"),
        (status = 400, body = OpenAnswerEnvelope, description = "GJ-OPEN-MALFORMED, GJ-OPEN-UNSUPPORTED, GJ-OPEN-UNDECRYPTABLE, GJ-API-BAD-REQUEST (the data)"),
        (status = 401, body = OpenAnswerEnvelope, description = "GJ-OPEN-BAD-SIGNATURE, GJ-OPEN-PARTNER-UNKNOWN, GJ-OPEN-STALE-TIMESTAMP"),
        (status = 403, body = OpenAnswerEnvelope, description = "GJ-OPEN-PARTNER-INACTIVE"),
        (status = 404, body = OpenAnswerEnvelope, description = "the person is not registered"),
        (status = 409, body = OpenAnswerEnvelope, description = "GJ-OPEN-REPLAYED: the signature was already used"),
        (status = 500, body = OpenAnswerEnvelope, description = "GJ-OPEN-PARTNER-UNUSABLE"),
        (status = 503, body = OpenAnswerEnvelope, description = "GJ-OPEN-NOT-CONFIGURED: no platform key; GJ-STORE-IO"),
    ))]
pub async fn open_family() {}

/// Every movement of the person's money, filtered as `/api/v1/me/records`.
#[utoipa::path(post, path = "/open/v1/records", tag = "open",
    request_body(content = OpenRequestEnvelope, description = "encData: OpenRecordsData"),
    responses(
        (status = 200, body = OpenAnswerEnvelope, description = "code 0; encData decrypts to RecordsOut"),
        (status = 400, body = OpenAnswerEnvelope, description = "GJ-OPEN-MALFORMED, GJ-OPEN-UNSUPPORTED, GJ-OPEN-UNDECRYPTABLE, GJ-API-BAD-REQUEST (the data or its filter)"),
        (status = 401, body = OpenAnswerEnvelope, description = "GJ-OPEN-BAD-SIGNATURE, GJ-OPEN-PARTNER-UNKNOWN, GJ-OPEN-STALE-TIMESTAMP"),
        (status = 403, body = OpenAnswerEnvelope, description = "GJ-OPEN-PARTNER-INACTIVE"),
        (status = 404, body = OpenAnswerEnvelope, description = "the person is not registered"),
        (status = 409, body = OpenAnswerEnvelope, description = "GJ-OPEN-REPLAYED: the signature was already used"),
        (status = 500, body = OpenAnswerEnvelope, description = "GJ-OPEN-PARTNER-UNUSABLE"),
        (status = 503, body = OpenAnswerEnvelope, description = "GJ-OPEN-NOT-CONFIGURED: no platform key; GJ-STORE-IO"),
    ))]
pub async fn open_records() {}
