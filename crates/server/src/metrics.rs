//! Prometheus metrics: requests by infno and outcome, settlement latency.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

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

pub async fn render(State(app): State<App>) -> impl IntoResponse {
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&app.metrics.registry.gather(), &mut buf);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], buf)
}
