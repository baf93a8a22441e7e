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
    default_timeout_secs, gongji_signature, http_client, nonce, read_secret, SmsError, SmsSender,
    SIGNATURE_HEADER,
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
        let timestamp = chrono::Utc::now().timestamp();
        let nonce = nonce();
        let body = serde_json::to_vec(&serde_json::json!({
            "phone": phone.reveal(),
            "code": code,
            "template": self.config.template,
            "timestamp": timestamp,
            "nonce": nonce,
        }))
        .map_err(|e| SmsError::Failed(e.to_string()))?;
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
