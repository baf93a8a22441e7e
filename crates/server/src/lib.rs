//! The HTTP face of Gongji. Handlers translate between the wire and engine commands; they
//! decide nothing. Every write goes through the engine's writer thread (group commit).

pub mod api;
pub mod app;
pub mod deployment;
pub mod gateway;
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
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::render))
        .nest(api::PREFIX, api::router())
        .merge(web::router())
        .layer(axum::extract::DefaultBodyLimit::max(
            gongji_nhsa::BODY_BYTES_MAX,
        ))
        .with_state(app)
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
