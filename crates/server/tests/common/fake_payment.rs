//! A payment provider on 127.0.0.1 for the tests (issue 13): it signs its notifications and
//! checks Gongji's refund calls the way a real one does (WeChat Pay v3's shape, HMAC-SHA256
//! under a shared secret), and keeps the refunds it took.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use gongji_server::service::providers::{HmacPayment, HmacPaymentConfig};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::Server;

pub const SECRET: &str = "payment-secret-of-the-test";
pub const SERIAL: &str = "TESTSERIAL01";

/// The provider's side: what it signs, and the refunds it took.
#[derive(Clone)]
pub struct FakeProvider {
    pub base: String,
    pub refunds: Arc<Mutex<Vec<Value>>>,
}

pub fn signature(timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}\n{nonce}\n").as_bytes());
    mac.update(body);
    mac.update(b"\n");
    hex::encode(mac.finalize().into_bytes())
}

/// The refund endpoint refuses a call whose signature is not Gongji's shared-secret one.
async fn refund(State(fake): State<FakeProvider>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if h("x-pay-signature") != signature(&h("x-pay-timestamp"), &h("x-pay-nonce"), &body) {
        return StatusCode::UNAUTHORIZED;
    }
    let v: Value = serde_json::from_slice(&body).expect("json");
    fake.refunds.lock().expect("refunds").push(v);
    StatusCode::OK
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let fake = FakeProvider {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            refunds: Arc::default(),
        };
        let router = Router::new()
            .route("/refund", post(refund))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    pub fn config(&self) -> HmacPaymentConfig {
        HmacPaymentConfig {
            channel: "wechat".into(),
            pay_url: format!("{}/pay", self.base),
            refund_url: format!("{}/refund", self.base),
            serial: Some(SERIAL.into()),
            secret_file: None,
            secret_env: None,
            timeout_secs: 5,
        }
    }

    /// The notification the provider sends when `order_id` was paid: signed anew for every
    /// delivery, as providers do.
    pub fn notification(
        order_id: &str,
        txn: &str,
        fen: i64,
        success_time: &str,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let body = serde_json::to_vec(&json!({
            "id": format!("EV-{txn}"),
            "create_time": success_time,
            "event_type": "TRANSACTION.SUCCESS",
            "resource": {
                "out_trade_no": order_id,
                "transaction_id": txn,
                "trade_state": "SUCCESS",
                "success_time": success_time,
                "amount": {"total": fen, "currency": "CNY"},
            }
        }))
        .expect("json");
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let nonce = format!("n{}", rand::random::<u64>());
        let sig = signature(&timestamp, &nonce, &body);
        (
            vec![
                ("x-pay-timestamp".into(), timestamp),
                ("x-pay-nonce".into(), nonce),
                ("x-pay-signature".into(), sig),
                ("x-pay-serial".into(), SERIAL.into()),
            ],
            body,
        )
    }

    pub fn refund_numbers(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .refunds
            .lock()
            .expect("refunds")
            .iter()
            .map(|r| r["out_refund_no"].as_str().unwrap_or("").to_string())
            .collect();
        n.sort();
        n.dedup();
        n
    }
}

/// Delivers a notification to Gongji as the provider would.
pub async fn deliver(s: &Server, (headers, body): (Vec<(String, String)>, Vec<u8>)) -> super::Resp {
    let mut req = s
        .req(reqwest::Method::POST, "/api/v1/payments/notify", None)
        .header("content-type", "application/json");
    for (n, v) in headers {
        req = req.header(n, v);
    }
    s.send(req.body(body)).await
}

impl FakeProvider {
    /// Gongji's side of this provider, with the shared secret.
    pub fn payment(&self) -> HmacPayment {
        HmacPayment::with_secret(&self.config(), SECRET.into()).expect("provider")
    }
}
