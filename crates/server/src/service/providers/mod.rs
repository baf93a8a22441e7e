//! The outside providers of people's sign-in (R-S11) and of the holder's face check (R-Z5),
//! behind two traits, and the adapters a deployment configures:
//!
//! | adapter | what it sends | module |
//! |---|---|---|
//! | Tencent Cloud SMS | API v3 `SendSms` (2021-01-11), signed TC3-HMAC-SHA256 | [`tencent_sms`] |
//! | signed webhook | a JSON POST signed with HMAC-SHA256 to a bureau's own SMS gateway | [`webhook_sms`] |
//! | face H5 | the redirect flow of H5 face services: ticket, provider page, result check | [`face_h5`] |
//!
//! The development providers ([`DevSmsSender`], [`DevFaceVerifier`]) exist for the demo; in
//! production [`gate`] treats them as not configured, so no configuration mistake shows a
//! code or accepts a fixed face token. No provider writes a code or a token to the log; a
//! provider's failure is logged in its own words and the person is told only that sending
//! failed (短信发送失败).
//!
//! `gongji serve --config` reads `[sms]` into [`SmsConfig`] and `[face]` into [`FaceConfig`]
//! and calls [`build_sms`] / [`build_face`]; without a section it uses
//! [`sms_not_configured`] / [`face_not_configured`]. Secrets come from a file or an
//! environment variable named in the config, never from the command line.
//!
//! ```toml
//! [sms]
//! provider = "tencent"            # or "webhook": url, secret_file | secret_env, template
//! secret_id = "AKID…"
//! secret_key_file = "/etc/gongji/tencent-sms.key"   # or secret_key_env = "GONGJI_SMS_KEY"
//! sdk_app_id = "1400000000"
//! sign_name = "某市医保"
//! template_id = "1234567"         # a template like "验证码{1}，{2}分钟内有效"
//! # template_params = ["{code}", "{minutes}"]
//! # payment_template_id = "1234568" # tells a holder of each payment from his account
//! # payment_template_params = ["{whom}", "{place}", "{amount}", "{balance}"]
//! # endpoint = "https://sms.tencentcloudapi.com"
//! # region = "ap-guangzhou"
//! # timeout_secs = 10
//!
//! [face]
//! provider = "h5"
//! api_base = "https://face.example.com/api"
//! page_url = "https://face.example.com/h5"
//! app_id = "gongji"
//! secret_file = "/etc/gongji/face.secret"            # or secret_env = "GONGJI_FACE_SECRET"
//! return_url = "https://gongji.example.gov.cn/h5/face/return"
//! ```

pub mod face_h5;
pub mod gate;
pub mod payment;
pub mod tencent_sms;
pub mod webhook_sms;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use gongji_core::pii::Phone;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::Sha256;

pub use face_h5::{FaceH5, FaceH5Config};
pub use gate::{
    demo_code, demo_face_token, face_accepts, face_accepts_for, face_begin, face_finish,
    face_flow_offered, sms_for,
};
pub use payment::{
    build_payment, DevPayment, HmacPayment, HmacPaymentConfig, NotConfiguredPayment, PaymentConfig,
    PaymentProvider,
};
pub use tencent_sms::{TencentSms, TencentSmsConfig};
pub use webhook_sms::{WebhookSms, WebhookSmsConfig};

/// The header that carries Gongji's HMAC-SHA256 signature on webhook and face-provider calls.
pub const SIGNATURE_HEADER: &str = "x-gongji-signature";
/// Bound of the development sender's table of last codes.
const DEV_CODES_MAX: usize = 100_000;

/// Why a code was not sent.
#[derive(Debug)]
pub enum SmsError {
    /// No SMS provider is configured for this deployment.
    NotConfigured,
    /// The provider failed or refused; the text is the provider's, for the log only.
    Failed(String),
}

impl fmt::Display for SmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmsError::NotConfigured => write!(f, "no SMS provider configured"),
            SmsError::Failed(why) => write!(f, "{why}"),
        }
    }
}

/// A payment from a person's account, told to the account's owner (issue 15: the holder is
/// told of every payment from his account). Every field is already in the words the message
/// shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentNotice {
    /// Whose care it paid: 本人, or the relative's masked name.
    pub whom: String,
    /// The institution's name.
    pub place: String,
    /// Yuan with two decimals.
    pub amount: String,
    /// The account's balance after, yuan with two decimals.
    pub balance: String,
    /// `yyyy-MM-dd HH:mm`.
    pub at: String,
}

impl PaymentNotice {
    /// `{whom}`, `{place}`, `{amount}`, `{balance}` and `{at}` in a template parameter.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{whom}", &self.whom)
            .replace("{place}", &self.place)
            .replace("{amount}", &self.amount)
            .replace("{balance}", &self.balance)
            .replace("{at}", &self.at)
    }
}

/// Sends sign-in codes, and payment notices where the deployment configured a template.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, phone: &Phone, code: &str) -> Result<(), SmsError>;

    /// Tells the owner of an account of a payment from it. `Ok(false)` when this sender has
    /// no payment template (nothing is sent).
    async fn notify_payment(
        &self,
        _phone: &Phone,
        _notice: &PaymentNotice,
    ) -> Result<bool, SmsError> {
        Ok(false)
    }

    /// The last code sent to `phone`, for demo pages and tests; `None` for real providers.
    fn last_code(&self, _phone: &str) -> Option<String> {
        None
    }

    /// The development sender, which production refuses to use.
    fn is_development(&self) -> bool {
        false
    }

    fn is_configured(&self) -> bool {
        true
    }
}

/// The development sender: keeps the last code per phone for the demo page, logs nothing.
#[derive(Default)]
pub struct DevSmsSender {
    last: Mutex<HashMap<String, String>>,
}

#[async_trait::async_trait]
impl SmsSender for DevSmsSender {
    async fn send(&self, phone: &Phone, code: &str) -> Result<(), SmsError> {
        let mut last = self
            .last
            .lock()
            .map_err(|_| SmsError::Failed("poisoned".into()))?;
        if last.len() >= DEV_CODES_MAX {
            last.clear();
        }
        last.insert(phone.reveal().to_string(), code.to_string());
        Ok(())
    }

    fn last_code(&self, phone: &str) -> Option<String> {
        self.last.lock().ok()?.get(phone).cloned()
    }

    fn is_development(&self) -> bool {
        true
    }
}

/// A production deployment without an `[sms]` section: people's sign-in answers 短信服务未配置.
pub struct NotConfiguredSms;

#[async_trait::async_trait]
impl SmsSender for NotConfiguredSms {
    async fn send(&self, _phone: &Phone, _code: &str) -> Result<(), SmsError> {
        Err(SmsError::NotConfigured)
    }

    fn is_configured(&self) -> bool {
        false
    }
}

/// Checks that the person in front of the camera is the holder (R-Z5).
pub trait FaceVerifier: Send + Sync {
    /// Whether `token` proves a passed face check of `psn_no`. A token is good once.
    fn verify(&self, psn_no: &str, token: &str) -> bool;

    /// Like [`verify`](FaceVerifier::verify), and the check was started for an action
    /// `action_ok` accepts: a check passed for one payment pays no other. Verifiers that
    /// keep no action with a check answer as `verify` does.
    fn verify_for(&self, psn_no: &str, token: &str, action_ok: &dyn Fn(&str) -> bool) -> bool {
        let _ = action_ok;
        self.verify(psn_no, token)
    }

    /// The token a demo page may offer in place of a camera; `None` for real providers.
    fn demo_token(&self) -> Option<&'static str> {
        None
    }

    fn is_configured(&self) -> bool {
        true
    }

    /// The provider's H5 redirect flow, for verifiers that send the person to its page.
    fn redirect(&self) -> Option<&dyn FaceRedirect> {
        None
    }
}

/// The development verifier: accepts [`DevFaceVerifier::TEST_TOKEN`] and nothing else.
pub struct DevFaceVerifier;

impl DevFaceVerifier {
    pub const TEST_TOKEN: &'static str = "FACE-OK";
}

impl FaceVerifier for DevFaceVerifier {
    fn verify(&self, _psn_no: &str, token: &str) -> bool {
        token == DevFaceVerifier::TEST_TOKEN
    }

    fn demo_token(&self) -> Option<&'static str> {
        Some(DevFaceVerifier::TEST_TOKEN)
    }
}

/// A production deployment without a `[face]` section: where a region asks for the face
/// check, binding and unbinding answer that the service is unavailable.
pub struct NotConfiguredFace;

impl FaceVerifier for NotConfiguredFace {
    fn verify(&self, _psn_no: &str, _token: &str) -> bool {
        false
    }

    fn is_configured(&self) -> bool {
        false
    }
}

/// Whom the provider checks: it compares the face with the photo of this identity.
#[derive(Clone, Debug)]
pub struct FacePerson {
    pub psn_no: String,
    pub name: String,
    pub certno: String,
}

/// A passed check: the one-use token [`FaceVerifier::verify`] accepts, and the action the
/// check was started for, as the caller gave it to [`FaceRedirect::begin`].
#[derive(Clone, Debug)]
pub struct FacePassed {
    pub token: String,
    pub action: String,
}

/// Why a face check did not pass.
#[derive(Debug)]
pub enum FaceError {
    /// The provider could not be asked, or answered nonsense (for the log).
    Unavailable(String),
    /// The check failed, was not this person's, was used already or expired (for the log).
    Rejected(String),
}

impl fmt::Display for FaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaceError::Unavailable(why) => write!(f, "face provider unavailable: {why}"),
            FaceError::Rejected(why) => write!(f, "face check rejected: {why}"),
        }
    }
}

/// The H5 redirect flow: [`begin`](FaceRedirect::begin) obtains a ticket and gives the address
/// of the provider's page; the provider sends the browser back with a result token, and
/// [`finish`](FaceRedirect::finish) checks it with the provider.
#[async_trait::async_trait]
pub trait FaceRedirect: Send + Sync {
    /// Starts a check of `person`, remembered with `action` until it is finished or expires;
    /// the address to send the person's browser to.
    async fn begin(
        &self,
        person: &FacePerson,
        action: &str,
        now: NaiveDateTime,
    ) -> Result<String, FaceError>;

    /// Finishes the check `biz_token` of the signed-in `psn_no` with the provider's
    /// `result_token`. Once only; the check must be this person's and not expired.
    async fn finish(
        &self,
        psn_no: &str,
        biz_token: &str,
        result_token: &str,
        now: NaiveDateTime,
    ) -> Result<FacePassed, FaceError>;
}

/// `[sms]` of the config: `provider = "tencent"` or `provider = "webhook"`, with the fields of
/// [`TencentSmsConfig`] or [`WebhookSmsConfig`].
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum SmsConfig {
    Tencent(TencentSmsConfig),
    Webhook(WebhookSmsConfig),
}

/// `[face]` of the config: `provider = "h5"` with the fields of [`FaceH5Config`].
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum FaceConfig {
    H5(FaceH5Config),
}

impl SmsConfig {
    /// Resolves relative secret files against the config file's folder (`base`).
    pub fn resolve_paths(&mut self, base: impl Fn(&Path) -> PathBuf) {
        let file = match self {
            SmsConfig::Tencent(c) => &mut c.secret_key_file,
            SmsConfig::Webhook(c) => &mut c.secret_file,
        };
        if let Some(f) = file {
            *f = base(f);
        }
    }
}

impl FaceConfig {
    /// Resolves relative secret files against the config file's folder (`base`).
    pub fn resolve_paths(&mut self, base: impl Fn(&Path) -> PathBuf) {
        let FaceConfig::H5(c) = self;
        if let Some(f) = &mut c.secret_file {
            *f = base(f);
        }
    }
}

/// The SMS sender a config describes; reads its secret now, so a missing one fails at start.
pub fn build_sms(config: &SmsConfig) -> Result<Arc<dyn SmsSender>, String> {
    Ok(match config {
        SmsConfig::Tencent(c) => Arc::new(TencentSms::new(c)?),
        SmsConfig::Webhook(c) => Arc::new(WebhookSms::new(c)?),
    })
}

/// The face verifier a config describes; reads its secret now.
pub fn build_face(config: &FaceConfig) -> Result<Arc<dyn FaceVerifier>, String> {
    Ok(match config {
        FaceConfig::H5(c) => Arc::new(FaceH5::new(c)?),
    })
}

/// The sender of a production deployment without `[sms]`.
pub fn sms_not_configured() -> Arc<dyn SmsSender> {
    Arc::new(NotConfiguredSms)
}

/// The verifier of a production deployment without `[face]`.
pub fn face_not_configured() -> Arc<dyn FaceVerifier> {
    Arc::new(NotConfiguredFace)
}

/// A secret from the file or the environment variable the config names (exactly one).
/// A file's trailing newline is not part of the secret.
pub(crate) fn read_secret(
    what: &str,
    file: Option<&Path>,
    env: Option<&str>,
) -> Result<String, String> {
    let secret = match (file, env) {
        (Some(path), None) => std::fs::read_to_string(path)
            .map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))?,
        (None, Some(var)) => std::env::var(var)
            .map_err(|_| format!("{what}: environment variable {var} is not set"))?,
        _ => {
            return Err(format!(
                "{what}: give exactly one of the file and the environment variable"
            ))
        }
    };
    let secret = secret.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(format!("{what}: the secret is empty"));
    }
    Ok(secret)
}

/// hex HMAC-SHA256(secret, timestamp + "\n" + nonce + "\n" + body): the signature of
/// Gongji's webhook and face-provider calls.
pub fn gongji_signature(secret: &[u8], timestamp: i64, nonce: &str, body: &[u8]) -> String {
    let mut mac = hmac_sha256(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(nonce.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub(crate) fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; the error case cannot happen.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// A random nonce: 128 bits, hex.
pub(crate) fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The HTTP client of a provider: bounded time, no redirects followed (a provider that
/// redirects is misconfigured, and following would send the signed body elsewhere).
pub(crate) fn http_client(timeout_secs: u64) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout_secs.clamp(1, 60)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

pub(crate) fn default_timeout_secs() -> u64 {
    10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_name_their_provider() {
        let sms: SmsConfig = serde_json::from_value(serde_json::json!({
            "provider": "tencent", "secret_id": "AKID", "secret_key_env": "K",
            "sdk_app_id": "1400000000", "sign_name": "共济", "template_id": "1"
        }))
        .unwrap();
        match sms {
            SmsConfig::Tencent(c) => {
                assert_eq!(c.endpoint, "https://sms.tencentcloudapi.com");
                assert_eq!(c.region, "ap-guangzhou");
            }
            SmsConfig::Webhook(_) => panic!("tencent"),
        }
        let unknown = serde_json::from_value::<SmsConfig>(serde_json::json!({
            "provider": "webhook", "url": "https://sms.example", "secret_env": "S", "colour": 1
        }));
        assert!(unknown.is_err(), "unknown fields are refused");
    }

    #[test]
    fn secrets_come_from_exactly_one_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(read_secret("k", Some(&path), None).unwrap(), "s3cret");
        assert!(read_secret("k", None, None).is_err());
        assert!(read_secret("k", Some(&path), Some("X")).is_err());
        assert!(read_secret("k", None, Some("GONGJI_NO_SUCH_VARIABLE_EVER")).is_err());
    }
}
