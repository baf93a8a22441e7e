//! Prometheus metrics: requests by infno and outcome, settlement latency.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use subtle::ConstantTimeEq;

use crate::app::App;

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gongji_requests_total",
                "Institution-interface requests by infno and outcome",
            ),
            &["infno", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gongji_request_seconds",
                "Institution-interface latency by infno, from body received to answer",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["infno"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
        })
    }
}

/// Shown first in the demo's metrics: in production they are not public.
const DEMO_LABEL: &str = "# 演示模式：/metrics 对所有人开放；生产环境（gongji serve）需令牌或管理地址 / demo: /metrics is open to anyone; in production (gongji serve) it needs a token or the admin address\n";

/// `/metrics` on the public address: open in the demo (labelled); in production only with
/// `Authorization: Bearer <metrics token>`, and not there at all without a token.
pub async fn render(State(app): State<App>, headers: HeaderMap) -> Response {
    if app.deployment.is_demo() {
        let mut text = DEMO_LABEL.as_bytes().to_vec();
        text.extend(encode(&app));
        return text_response(text);
    }
    let Some(expected) = app.deployment.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(offered.as_bytes().ct_eq(expected.as_bytes())) {
        text_response(encode(&app))
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "需要指标令牌 / a metrics token is required\n",
        )
            .into_response()
    }
}

/// `/metrics` on the admin address, which only the operator's network reaches.
pub async fn render_admin(State(app): State<App>) -> Response {
    text_response(encode(&app))
}

fn encode(app: &App) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&app.metrics.registry.gather(), &mut buf);
    buf
}

fn text_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
