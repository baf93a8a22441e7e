//! The HTTP face of Gongji. Handlers translate between the wire and engine commands; they
//! decide nothing. Every write goes through the engine's writer thread (group commit).

pub mod api;
pub mod app;
pub mod deployment;
mod institution;
mod metrics;
mod render;
pub mod service;
mod web;

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::Router;

pub use app::{App, Clock};

/// The whole router: institution interface, health, metrics.
pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/fsi/api/rsfComIfsService/callService",
            post(institution::call_service),
        )
        .route(
            "/fsi/api/rsfComIfsService/callService/:infno",
            post(institution::call_service_with_infno),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .nest(api::PREFIX, api::router())
        .merge(web::router())
        .layer(axum::extract::DefaultBodyLimit::max(
            gongji_nhsa::BODY_BYTES_MAX,
        ))
        .with_state(app)
}

/// `ok` while the writer decides; 503 with the reason once it has stopped (fail-stop after a
/// commit and its reload failed, or its thread ended), so that a load balancer and the
/// operators' monitoring see it at once.
async fn healthz(axum::extract::State(app): axum::extract::State<App>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match app.engine.stopped() {
        None => "ok".into_response(),
        Some(why) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("结算服务暂停 / writer stopped: {why}"),
        )
            .into_response(),
    }
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "serving");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
