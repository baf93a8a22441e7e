//! Tencent Cloud SMS, API v3: action `SendSms`, version 2021-01-11, one POST of JSON to the
//! endpoint (`https://sms.tencentcloudapi.com` unless configured), signed TC3-HMAC-SHA256 as
//! Tencent documents it ("签名方法 v3"):
//!
//! 1. canonical request = `POST\n/\n\n` + the signed headers as `name:value\n` (lower case,
//!    sorted: `content-type`, `host`, `x-tc-action`) + `\n` + their names joined by `;` +
//!    `\n` + hex SHA-256 of the body;
//! 2. string to sign = `TC3-HMAC-SHA256\n` + timestamp + `\n` + `date/sms/tc3_request` +
//!    `\n` + hex SHA-256 of the canonical request (date: the UTC day of the timestamp);
//! 3. key = HMAC("TC3" + SecretKey, date), then HMAC(·, "sms"), then HMAC(·, "tc3_request");
//!    signature = hex HMAC(key, string to sign);
//! 4. `Authorization: TC3-HMAC-SHA256 Credential=SecretId/date/sms/tc3_request,
//!    SignedHeaders=content-type;host;x-tc-action, Signature=…`, beside `X-TC-Action`,
//!    `X-TC-Timestamp`, `X-TC-Version` and `X-TC-Region`.
//!
//! The body: `PhoneNumberSet` (`+86` and the number), `SmsSdkAppId`, `SignName`,
//! `TemplateId`, `TemplateParamSet` (by default the code and its minutes of validity). The
//! answer is `Response.SendStatusSet[].Code == "Ok"` for success, or `Response.Error`.
//! The unit test below checks the signing against the example Tencent publishes.

use std::path::PathBuf;

use gongji_core::pii::Phone;
use hmac::Mac;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    default_timeout_secs, hmac_sha256, http_client, read_secret, PaymentNotice, SmsError, SmsSender,
};
use crate::service::auth::CODE_TTL_SECS;

pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
pub const DEFAULT_REGION: &str = "ap-guangzhou";
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
pub const SERVICE: &str = "sms";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2021-01-11";
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub const SIGNED_HEADERS: &str = "content-type;host;x-tc-action";

/// `[sms]` with `provider = "tencent"`. The secret key is read from `secret_key_file` or
/// `secret_key_env` (one of them). `template_params` fill the template's `{1}`, `{2}`…;
/// `{code}` and `{minutes}` in them are replaced.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentSmsConfig {
    pub secret_id: String,
    #[serde(default)]
    pub secret_key_file: Option<PathBuf>,
    #[serde(default)]
    pub secret_key_env: Option<String>,
    pub sdk_app_id: String,
    pub sign_name: String,
    pub template_id: String,
    #[serde(default = "default_params")]
    pub template_params: Vec<String>,
    /// The template of payment notices (a holder told of a payment from his account); none
    /// sends none. Its parameters take `{whom}`, `{place}`, `{amount}`, `{balance}`, `{at}`.
    #[serde(default)]
    pub payment_template_id: Option<String>,
    #[serde(default = "default_payment_params")]
    pub payment_template_params: Vec<String>,
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_params() -> Vec<String> {
    vec!["{code}".into(), "{minutes}".into()]
}

fn default_payment_params() -> Vec<String> {
    vec![
        "{whom}".into(),
        "{place}".into(),
        "{amount}".into(),
        "{balance}".into(),
    ]
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.into()
}

fn default_region() -> String {
    DEFAULT_REGION.into()
}

/// The canonical request of a POST to `/` with no query string.
pub fn canonical_request(
    content_type: &str,
    host: &str,
    action: Option<&str>,
    payload: &[u8],
) -> String {
    let mut headers = format!(
        "content-type:{}\nhost:{}\n",
        content_type.trim().to_ascii_lowercase(),
        host.trim().to_ascii_lowercase()
    );
    let mut signed = "content-type;host".to_string();
    if let Some(action) = action {
        headers.push_str(&format!(
            "x-tc-action:{}\n",
            action.trim().to_ascii_lowercase()
        ));
        signed.push_str(";x-tc-action");
    }
    format!(
        "POST\n/\n\n{headers}\n{signed}\n{}",
        hex::encode(Sha256::digest(payload))
    )
}

/// The UTC day of a Unix timestamp, as the credential scope writes it.
pub fn scope_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub fn string_to_sign(timestamp: i64, service: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}/{service}/tc3_request\n{}",
        scope_date(timestamp),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// hex HMAC of the string to sign under the key derived from the secret key, day and service.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let step = |key: &[u8], msg: &str| {
        let mut mac = hmac_sha256(key);
        mac.update(msg.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let secret_date = step(format!("TC3{secret_key}").as_bytes(), date);
    let secret_service = step(&secret_date, service);
    let secret_signing = step(&secret_service, "tc3_request");
    hex::encode(step(&secret_signing, string_to_sign))
}

pub fn authorization(
    secret_id: &str,
    timestamp: i64,
    service: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{}/{service}/tc3_request, SignedHeaders={signed_headers}, Signature={signature}",
        scope_date(timestamp)
    )
}

pub struct TencentSms {
    config: TencentSmsConfig,
    secret_key: String,
    host: String,
    client: reqwest::Client,
}

impl TencentSms {
    pub fn new(config: &TencentSmsConfig) -> Result<TencentSms, String> {
        let secret_key = read_secret(
            "sms.secret_key",
            config.secret_key_file.as_deref(),
            config.secret_key_env.as_deref(),
        )?;
        let url = reqwest::Url::parse(&config.endpoint)
            .map_err(|e| format!("sms.endpoint {}: {e}", config.endpoint))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(format!("sms.endpoint {} has no host", config.endpoint)),
        };
        Ok(TencentSms {
            config: config.clone(),
            secret_key,
            host,
            client: http_client(config.timeout_secs)?,
        })
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Response")]
    response: AnswerBody,
}

#[derive(Deserialize)]
struct AnswerBody {
    #[serde(rename = "Error")]
    error: Option<AnswerError>,
    #[serde(rename = "SendStatusSet", default)]
    send_status_set: Vec<SendStatus>,
    #[serde(rename = "RequestId", default)]
    request_id: String,
}

#[derive(Deserialize)]
struct AnswerError {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

#[derive(Deserialize)]
struct SendStatus {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

#[async_trait::async_trait]
impl SmsSender for TencentSms {
    async fn send(&self, phone: &Phone, code: &str) -> Result<(), SmsError> {
        let minutes = (CODE_TTL_SECS / 60).to_string();
        let params: Vec<String> = self
            .config
            .template_params
            .iter()
            .map(|p| p.replace("{code}", code).replace("{minutes}", &minutes))
            .collect();
        self.send_template(phone, &self.config.template_id, params)
            .await
    }

    async fn notify_payment(
        &self,
        phone: &Phone,
        notice: &PaymentNotice,
    ) -> Result<bool, SmsError> {
        let Some(template) = &self.config.payment_template_id else {
            return Ok(false);
        };
        let params = self
            .config
            .payment_template_params
            .iter()
            .map(|p| notice.fill(p))
            .collect();
        self.send_template(phone, template, params).await?;
        Ok(true)
    }
}

impl TencentSms {
    /// One `SendSms` of a template with its parameters to one phone.
    async fn send_template(
        &self,
        phone: &Phone,
        template_id: &str,
        params: Vec<String>,
    ) -> Result<(), SmsError> {
        let body = serde_json::json!({
            "PhoneNumberSet": [format!("+86{}", phone.reveal())],
            "SmsSdkAppId": self.config.sdk_app_id,
            "SignName": self.config.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": params,
        });
        let payload = serde_json::to_vec(&body).map_err(|e| SmsError::Failed(e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp();
        let canonical = canonical_request(CONTENT_TYPE, &self.host, Some(ACTION), &payload);
        let to_sign = string_to_sign(timestamp, SERVICE, &canonical);
        let sig = signature(&self.secret_key, &scope_date(timestamp), SERVICE, &to_sign);
        let auth = authorization(
            &self.config.secret_id,
            timestamp,
            SERVICE,
            SIGNED_HEADERS,
            &sig,
        );
        let resp = self
            .client
            .post(&self.config.endpoint)
            .header("Authorization", auth)
            .header("Content-Type", CONTENT_TYPE)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Version", VERSION)
            .header("X-TC-Region", &self.config.region)
            .body(payload)
            .send()
            .await
            .map_err(|e| SmsError::Failed(format!("tencent sms: {}", e.without_url())))?;
        let status = resp.status();
        let answer: Answer = resp
            .json()
            .await
            .map_err(|_| SmsError::Failed(format!("tencent sms: HTTP {status}, not its JSON")))?;
        let r = answer.response;
        if let Some(e) = r.error {
            return Err(SmsError::Failed(format!(
                "tencent sms {}: {} (request {})",
                e.code, e.message, r.request_id
            )));
        }
        match r.send_status_set.iter().find(|s| s.code != "Ok") {
            _ if r.send_status_set.is_empty() => Err(SmsError::Failed(format!(
                "tencent sms: no send status (request {})",
                r.request_id
            ))),
            Some(s) => Err(SmsError::Failed(format!(
                "tencent sms {}: {} (request {})",
                s.code, s.message, r.request_id
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Tencent's "签名方法 v3" page: DescribeInstances of CVM, its published
    /// secret key, timestamp, body, intermediate hashes and signature.
    #[test]
    fn signing_matches_tencents_published_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            hex::encode(Sha256::digest(payload.as_bytes())),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let canonical = canonical_request(
            "application/json; charset=utf-8",
            "cvm.tencentcloudapi.com",
            None,
            payload.as_bytes(),
        );
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let to_sign = string_to_sign(1551113065, "cvm", &canonical);
        assert_eq!(
            to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        let sig = signature(
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "2019-02-25",
            "cvm",
            &to_sign,
        );
        assert_eq!(
            sig,
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        assert_eq!(
            authorization("AKIDEXAMPLE", 1551113065, "cvm", "content-type;host", &sig),
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn the_day_is_utc() {
        // 2019-02-26 00:44:25 in Beijing is still the 25th in UTC.
        assert_eq!(scope_date(1551113065), "2019-02-25");
    }
}
