//! The HTTP face of Gongji. Handlers translate between the wire and engine commands; they
//! decide nothing. Every write goes through the engine's writer thread (group commit).

pub mod api;
pub mod app;
pub mod config;
pub mod deployment;
pub mod gateway;
pub mod http;
mod institution;
pub mod limits;
mod metrics;
pub mod open_api;
pub mod peer;
mod render;
pub mod service;
mod web;

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::Router;

pub use app::{App, Clock};
pub use http::{HttpLimits, Listeners};

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
        .route("/open/v1/:service", post(open_api::serve))
        .route("/peer/v1/*step", post(peer::serve))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .nest(api::PREFIX, api::router())
        .merge(web::router())
        .layer(axum::extract::DefaultBodyLimit::max(
            gongji_nhsa::BODY_BYTES_MAX,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            limits::limit_sign_in,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            web::secure_cookies,
        ))
        .with_state(app)
}

/// The admin address's router: metrics without a token (the address itself is the
/// protection: loopback or an internal network), and health.
pub fn admin_router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render_admin))
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

/// Serves on one plain listener with the default [`HttpLimits`] until `shutdown` resolves,
/// then finishes in-flight requests.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        app,
        Listeners::plain(listener),
        HttpLimits::default(),
        shutdown,
    )
    .await
}

/// Serves the public router (TLS when the listeners carry it) and, when given, the admin
/// router on its own address, within `limits`. Each request carries
/// `ConnectInfo<SocketAddr>` of its peer.
pub async fn serve_with(
    app: App,
    listeners: Listeners,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listeners.public.local_addr().ok();
    let admin: Option<SocketAddr> = listeners.admin.as_ref().and_then(|a| a.local_addr().ok());
    tracing::info!(
        ?addr,
        ?admin,
        tls = listeners.tls.is_some(),
        ?limits,
        "serving"
    );
    http::serve_with(
        router(app.clone()),
        admin_router(app),
        listeners,
        limits,
        shutdown,
    )
    .await
}
