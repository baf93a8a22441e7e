//! A bureau's own SMS gateway, reached by a signed webhook.
//!
//! Each code is one `POST` to the configured `url` with `Content-Type: application/json` and
//! the body
//!
//! ```json
//! {"phone":"13900000001","code":"123456","template":"sign_in","timestamp":1765000000,"nonce":"9f2c…"}
//! ```
//!
//! (`timestamp`: Unix seconds; `nonce`: 32 hex digits, new for every call), signed in the
//! header `X-Gongji-Signature` = hex HMAC-SHA256(secret, `timestamp` + "\n" + `nonce` + "\n" +
//! body), the body exactly as sent. The gateway should recompute the signature, refuse a
//! timestamp more than five minutes away and a nonce it has seen, and answer any 2xx once it
//! has taken the message. Anything else is a failure; the answer's body is not read, so a
//! gateway that echoes the request cannot put the code into Gongji's log.

use std::path::PathBuf;

use gongji_core::pii::Phone;
use serde::Deserialize;

use super::{
    default_timeout_secs, gongji_signature, http_client, nonce, read_secret, PaymentNotice,
    SmsError, SmsSender, SIGNATURE_HEADER,
};

/// `[sms]` with `provider = "webhook"`. The shared secret is read from `secret_file` or
/// `secret_env` (one of them).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSmsConfig {
    pub url: String,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The gateway's name for the sign-in message.
    #[serde(default = "default_template")]
    pub template: String,
    /// The gateway's name for payment notices (a holder told of a payment from his account);
    /// none sends none. The body then carries `template` and `payment` (whom, place,
    /// amount, balance, at) instead of `code`.
    #[serde(default)]
    pub payment_template: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_template() -> String {
    "sign_in".into()
}

pub struct WebhookSms {
    config: WebhookSmsConfig,
    secret: String,
    client: reqwest::Client,
}

impl WebhookSms {
    pub fn new(config: &WebhookSmsConfig) -> Result<WebhookSms, String> {
        let secret = read_secret(
            "sms.secret",
            config.secret_file.as_deref(),
            config.secret_env.as_deref(),
        )?;
        reqwest::Url::parse(&config.url).map_err(|e| format!("sms.url {}: {e}", config.url))?;
        Ok(WebhookSms {
            config: config.clone(),
            secret,
            client: http_client(config.timeout_secs)?,
        })
    }
}

#[async_trait::async_trait]
impl SmsSender for WebhookSms {
    async fn send(&self, phone: &Phone, code: &str) -> Result<(), SmsError> {
        self.post(serde_json::json!({
            "phone": phone.reveal(),
            "code": code,
            "template": self.config.template,
        }))
        .await
    }

    async fn notify_payment(
        &self,
        phone: &Phone,
        notice: &PaymentNotice,
    ) -> Result<bool, SmsError> {
        let Some(template) = &self.config.payment_template else {
            return Ok(false);
        };
        self.post(serde_json::json!({
            "phone": phone.reveal(),
            "template": template,
            "payment": {
                "whom": notice.whom,
                "place": notice.place,
                "amount": notice.amount,
                "balance": notice.balance,
                "at": notice.at,
            },
        }))
        .await?;
        Ok(true)
    }
}

impl WebhookSms {
    /// One signed POST of `message` with its timestamp and nonce added.
    async fn post(&self, mut message: serde_json::Value) -> Result<(), SmsError> {
        let timestamp = chrono::Utc::now().timestamp();
        let nonce = nonce();
        message["timestamp"] = timestamp.into();
        message["nonce"] = nonce.clone().into();
        let body = serde_json::to_vec(&message).map_err(|e| SmsError::Failed(e.to_string()))?;
        let signature = gongji_signature(self.secret.as_bytes(), timestamp, &nonce, &body);
        let resp = self
            .client
            .post(&self.config.url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| SmsError::Failed(format!("sms webhook: {}", e.without_url())))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(SmsError::Failed(format!(
                "sms webhook answered HTTP {}",
                resp.status()
            )))
        }
    }
}
