//! Payment providers (R-J5, issue 13): WeChat Pay, Alipay, UnionPay, a POS acquirer or a bank
//! app collect a resident's premium; Gongji makes an order with the provider, the payer pays
//! at the provider, and the provider's signed notification confirms it. Behind one trait:
//!
//! | provider | what it is | where |
//! |---|---|---|
//! | [`DevPayment`] | the demo's (演示): pays at once, signs its own notification | here |
//! | [`HmacPayment`] | a bureau's payment aggregator: HMAC-signed notifications, refunds by a signed POST | here |
//! | [`NotConfiguredPayment`] | production without `[payment]`: refuses to make orders | here |
//!
//! **Notifications** mirror WeChat Pay API v3's: the body is JSON, signed over
//! `"{timestamp}\n{nonce}\n{body}\n"` (the body exactly as received), the signature and its
//! inputs in headers (`Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial` there;
//! [`TIMESTAMP_HEADER`] and its siblings here). WeChat signs with RSA and encrypts the
//! resource with AES-GCM; this adapter signs with HMAC-SHA256 under a shared secret (hex) and
//! leaves the resource in the clear, the shape of a bureau's own aggregator. The resource:
//!
//! ```json
//! {"id":"EV-…","event_type":"TRANSACTION.SUCCESS","resource":{"out_trade_no":"GJP…",
//!  "transaction_id":"4200…","trade_state":"SUCCESS","success_time":"2025-10-10T09:00:00+08:00",
//!  "amount":{"total":38000,"currency":"CNY"}}}
//! ```
//!
//! `amount.total` is in fen; `success_time` is the tax collection time (RFC 3339), the time
//! the premium counts as paid. A notification is idempotent by its `transaction_id`; the
//! timestamp is not checked for freshness because a replayed notification changes nothing.
//!
//! **Refunds** (a premium collected twice, R-R4): `POST {refund_url}` with
//! `{"out_trade_no","transaction_id","out_refund_no","amount":{"refund","total","currency"},"reason"}`,
//! signed the same way in the same headers; any 2xx means the provider took it. The same
//! `out_refund_no` is sent for every retry, so the provider refunds once.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use gongji_core::collection::PaymentChannel;
use gongji_core::Fen;
use hmac::Mac;
use serde::Deserialize;

use super::{default_timeout_secs, hmac_sha256, http_client, nonce, read_secret};

pub const TIMESTAMP_HEADER: &str = "x-pay-timestamp";
pub const NONCE_HEADER: &str = "x-pay-nonce";
pub const SIGNATURE_HEADER: &str = "x-pay-signature";
/// Which of the provider's keys signed (WeChat's `Wechatpay-Serial`).
pub const SERIAL_HEADER: &str = "x-pay-serial";

/// An order to be paid at the provider.
#[derive(Clone, Debug)]
pub struct OrderToPay {
    pub order_id: String,
    pub amount: Fen,
    /// What the payer sees at the provider (城乡居民医保2025年度个人缴费).
    pub description: String,
    /// The server's clock when the order is made.
    pub now: NaiveDateTime,
}

/// What the provider answered to a new order.
#[derive(Clone, Debug, Default)]
pub struct Checkout {
    /// Where the payer goes to pay (the provider's cashier page).
    pub pay_url: Option<String>,
    /// A notification already signed: the development provider pays at once.
    pub paid_now: Option<SignedNotification>,
}

/// A notification as it travels: headers (lowercase names) and the body's bytes.
#[derive(Clone, Debug)]
pub struct SignedNotification {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SignedNotification {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A payment the provider confirms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentNotice {
    pub order_id: String,
    pub transaction_id: String,
    pub amount: Fen,
    /// The tax collection time as the provider wrote it.
    pub paid_at_text: String,
    /// The same time on the region's clock (UTC+8), as the engine's times are.
    pub paid_at: NaiveDateTime,
}

/// A refund to ask of the provider.
#[derive(Clone, Debug)]
pub struct RefundToMake {
    pub order_id: String,
    pub transaction_id: String,
    /// Ours, the same for every retry of this refund.
    pub refund_no: String,
    pub amount: Fen,
    pub reason: String,
}

#[derive(Debug)]
pub enum PayError {
    NotConfigured,
    /// The notification's signature is not the provider's, or a header is missing.
    BadSignature,
    /// Signed, but not a payment notification we understand (for the log).
    Malformed(String),
    /// The provider failed or refused (for the log).
    Failed(String),
}

impl fmt::Display for PayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayError::NotConfigured => write!(f, "no payment provider configured"),
            PayError::BadSignature => write!(f, "bad notification signature"),
            PayError::Malformed(why) => write!(f, "malformed notification: {why}"),
            PayError::Failed(why) => write!(f, "{why}"),
        }
    }
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's code in orders and routes (`dev`, `hmac`...).
    fn code(&self) -> &str;
    /// The channel its payments are recorded under.
    fn channel(&self) -> PaymentChannel;
    async fn create(&self, order: &OrderToPay) -> Result<Checkout, PayError>;
    /// Checks the signature and reads the notification.
    fn verify(&self, notification: &SignedNotification) -> Result<PaymentNotice, PayError>;
    async fn refund(&self, refund: &RefundToMake) -> Result<(), PayError>;

    /// The development provider, which production refuses.
    fn is_development(&self) -> bool {
        false
    }

    fn is_configured(&self) -> bool {
        true
    }
}

/// hex HMAC-SHA256(secret, timestamp + "\n" + nonce + "\n" + body + "\n"): WeChat Pay v3's
/// signed message, under a shared secret.
pub fn notification_signature(secret: &[u8], timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let mut mac = hmac_sha256(secret);
    mac.update(timestamp.as_bytes());
    mac.update(b"\n");
    mac.update(nonce.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    mac.update(b"\n");
    hex::encode(mac.finalize().into_bytes())
}

/// Signs `body` as a provider does: the headers a notification (or a refund call) carries.
pub fn sign(secret: &[u8], serial: &str, timestamp: i64, body: Vec<u8>) -> SignedNotification {
    let timestamp = timestamp.to_string();
    let nonce = nonce();
    let signature = notification_signature(secret, &timestamp, &nonce, &body);
    SignedNotification {
        headers: vec![
            (TIMESTAMP_HEADER.into(), timestamp),
            (NONCE_HEADER.into(), nonce),
            (SIGNATURE_HEADER.into(), signature),
            (SERIAL_HEADER.into(), serial.into()),
        ],
        body,
    }
}

/// The body of a success notification for `order_id`.
pub fn notification_body(
    order_id: &str,
    transaction_id: &str,
    amount: Fen,
    success_time: &str,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": format!("EV-{transaction_id}"),
        "event_type": "TRANSACTION.SUCCESS",
        "resource": {
            "out_trade_no": order_id,
            "transaction_id": transaction_id,
            "trade_state": "SUCCESS",
            "success_time": success_time,
            "amount": {"total": amount.fen(), "currency": "CNY"},
        }
    }))
    .unwrap_or_default()
}

#[derive(Deserialize)]
struct Body {
    event_type: String,
    resource: Resource,
}

#[derive(Deserialize)]
struct Resource {
    out_trade_no: String,
    transaction_id: String,
    trade_state: String,
    success_time: String,
    amount: Amount,
}

#[derive(Deserialize)]
struct Amount {
    total: i64,
    currency: String,
}

/// Checks a notification signed with `secret` and reads it.
fn verify_signed(secret: &[u8], n: &SignedNotification) -> Result<PaymentNotice, PayError> {
    let (Some(timestamp), Some(nonce), Some(signature)) = (
        n.header(TIMESTAMP_HEADER),
        n.header(NONCE_HEADER),
        n.header(SIGNATURE_HEADER),
    ) else {
        return Err(PayError::BadSignature);
    };
    let Ok(signature) = hex::decode(signature) else {
        return Err(PayError::BadSignature);
    };
    let mut mac = hmac_sha256(secret);
    mac.update(timestamp.as_bytes());
    mac.update(b"\n");
    mac.update(nonce.as_bytes());
    mac.update(b"\n");
    mac.update(&n.body);
    mac.update(b"\n");
    mac.verify_slice(&signature)
        .map_err(|_| PayError::BadSignature)?;
    let body: Body =
        serde_json::from_slice(&n.body).map_err(|e| PayError::Malformed(e.to_string()))?;
    let r = body.resource;
    if body.event_type != "TRANSACTION.SUCCESS" || r.trade_state != "SUCCESS" {
        return Err(PayError::Malformed(format!(
            "{} {}",
            body.event_type, r.trade_state
        )));
    }
    if r.amount.currency != "CNY" {
        return Err(PayError::Malformed(format!(
            "currency {}",
            r.amount.currency
        )));
    }
    let paid_at: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(&r.success_time)
        .map_err(|e| PayError::Malformed(format!("success_time: {e}")))?;
    let china =
        FixedOffset::east_opt(8 * 3600).ok_or_else(|| PayError::Malformed("offset".into()))?;
    Ok(PaymentNotice {
        order_id: r.out_trade_no,
        transaction_id: r.transaction_id,
        amount: Fen::from_fen(r.amount.total),
        paid_at_text: r.success_time,
        paid_at: paid_at.with_timezone(&china).naive_local(),
    })
}

/// The demo's provider (演示): no money moves anywhere; an order is paid the moment it is
/// made, by a notification it signs itself with a key made at start.
pub struct DevPayment {
    secret: [u8; 32],
}

impl Default for DevPayment {
    fn default() -> DevPayment {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        DevPayment { secret }
    }
}

#[async_trait::async_trait]
impl PaymentProvider for DevPayment {
    fn code(&self) -> &str {
        "dev"
    }

    fn channel(&self) -> PaymentChannel {
        PaymentChannel::Dev
    }

    async fn create(&self, order: &OrderToPay) -> Result<Checkout, PayError> {
        let now = order.now;
        let success_time = format!("{}+08:00", now.format("%Y-%m-%dT%H:%M:%S"));
        let body = notification_body(
            &order.order_id,
            &format!("DEV{}", order.order_id),
            order.amount,
            &success_time,
        );
        Ok(Checkout {
            pay_url: None,
            paid_now: Some(sign(&self.secret, "dev", now.and_utc().timestamp(), body)),
        })
    }

    fn verify(&self, notification: &SignedNotification) -> Result<PaymentNotice, PayError> {
        verify_signed(&self.secret, notification)
    }

    async fn refund(&self, _refund: &RefundToMake) -> Result<(), PayError> {
        Ok(())
    }

    fn is_development(&self) -> bool {
        true
    }
}

/// `[payment]` with `provider = "hmac"`: a payment aggregator that shares a secret with
/// Gongji. `channel` is what its payments are recorded as (`wechat`, `alipay`, `unionpay`,
/// `pos`, `bank_app`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacPaymentConfig {
    pub channel: String,
    /// The cashier page; the order id is appended as `?out_trade_no=`.
    pub pay_url: String,
    pub refund_url: String,
    /// The key id the provider names in [`SERIAL_HEADER`].
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

pub struct HmacPayment {
    config: HmacPaymentConfig,
    channel: PaymentChannel,
    secret: String,
    client: reqwest::Client,
}

impl HmacPayment {
    pub fn new(config: &HmacPaymentConfig) -> Result<HmacPayment, String> {
        let secret = read_secret(
            "payment.secret",
            config.secret_file.as_deref(),
            config.secret_env.as_deref(),
        )?;
        HmacPayment::with_secret(config, secret)
    }

    /// The provider with the secret given (tests; `new` reads it from the config's place).
    pub fn with_secret(config: &HmacPaymentConfig, secret: String) -> Result<HmacPayment, String> {
        let channel = PaymentChannel::parse(&config.channel)
            .filter(|c| c.is_external() && *c != PaymentChannel::Dev && *c != PaymentChannel::Agent)
            .ok_or_else(|| format!("payment.channel {}: not a payment channel", config.channel))?;
        for url in [&config.pay_url, &config.refund_url] {
            reqwest::Url::parse(url).map_err(|e| format!("payment url {url}: {e}"))?;
        }
        Ok(HmacPayment {
            config: config.clone(),
            channel,
            secret,
            client: http_client(config.timeout_secs)?,
        })
    }
}

#[async_trait::async_trait]
impl PaymentProvider for HmacPayment {
    fn code(&self) -> &str {
        "hmac"
    }

    fn channel(&self) -> PaymentChannel {
        self.channel
    }

    async fn create(&self, order: &OrderToPay) -> Result<Checkout, PayError> {
        let mut url = reqwest::Url::parse(&self.config.pay_url)
            .map_err(|e| PayError::Failed(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("out_trade_no", &order.order_id)
            .append_pair("total", &order.amount.fen().to_string());
        Ok(Checkout {
            pay_url: Some(url.to_string()),
            paid_now: None,
        })
    }

    fn verify(&self, notification: &SignedNotification) -> Result<PaymentNotice, PayError> {
        if let (Some(expected), Some(serial)) = (
            self.config.serial.as_deref(),
            notification.header(SERIAL_HEADER),
        ) {
            if expected != serial {
                return Err(PayError::BadSignature);
            }
        }
        verify_signed(self.secret.as_bytes(), notification)
    }

    async fn refund(&self, refund: &RefundToMake) -> Result<(), PayError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "out_trade_no": refund.order_id,
            "transaction_id": refund.transaction_id,
            "out_refund_no": refund.refund_no,
            "amount": {"refund": refund.amount.fen(), "total": refund.amount.fen(), "currency": "CNY"},
            "reason": refund.reason,
        }))
        .map_err(|e| PayError::Failed(e.to_string()))?;
        let signed = sign(
            self.secret.as_bytes(),
            self.config.serial.as_deref().unwrap_or("gongji"),
            chrono::Utc::now().timestamp(),
            body,
        );
        let mut request = self
            .client
            .post(&self.config.refund_url)
            .header("content-type", "application/json");
        for (name, value) in &signed.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let answer = request
            .body(signed.body)
            .send()
            .await
            .map_err(|e| PayError::Failed(format!("refund: {e}")))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(PayError::Failed(format!(
                "refund: HTTP {}",
                answer.status()
            )))
        }
    }
}

/// Production without `[payment]`: no order is made (收费服务未配置).
pub struct NotConfiguredPayment;

#[async_trait::async_trait]
impl PaymentProvider for NotConfiguredPayment {
    fn code(&self) -> &str {
        "none"
    }

    fn channel(&self) -> PaymentChannel {
        PaymentChannel::Dev
    }

    async fn create(&self, _order: &OrderToPay) -> Result<Checkout, PayError> {
        Err(PayError::NotConfigured)
    }

    fn verify(&self, _notification: &SignedNotification) -> Result<PaymentNotice, PayError> {
        Err(PayError::NotConfigured)
    }

    async fn refund(&self, _refund: &RefundToMake) -> Result<(), PayError> {
        Err(PayError::NotConfigured)
    }

    fn is_configured(&self) -> bool {
        false
    }
}

/// `[payment]` of the config: `provider = "hmac"` with the fields of [`HmacPaymentConfig`].
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum PaymentConfig {
    Hmac(HmacPaymentConfig),
}

impl PaymentConfig {
    /// Resolves a relative secret file against the config file's folder (`base`).
    pub fn resolve_paths(&mut self, base: impl Fn(&std::path::Path) -> PathBuf) {
        let PaymentConfig::Hmac(c) = self;
        if let Some(f) = &mut c.secret_file {
            *f = base(f);
        }
    }
}

/// The provider a config describes; reads its secret now, so a missing one fails at start.
pub fn build_payment(
    config: &PaymentConfig,
) -> Result<std::sync::Arc<dyn PaymentProvider>, String> {
    Ok(match config {
        PaymentConfig::Hmac(c) => std::sync::Arc::new(HmacPayment::new(c)?),
    })
}
