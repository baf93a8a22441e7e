//! `gongji serve`: the server on the embedded default (SQLite) or a given database.

use std::path::Path;

use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};
use chrono::NaiveDateTime;
use gongji_engine::token_seal::TokenKey;
use gongji_engine::{Engine, EngineHandle};
use gongji_server::app::DynStore;
use gongji_server::{App, Clock};

pub struct ServeOptions<'a> {
    /// The SQLite file or the PostgreSQL database to serve.
    pub target: &'a Target,
    pub addr: &'a str,
    /// Pin the server's clock (tests and demos of a given day): `yyyy-MM-dd HH:mm:ss`.
    pub now: Option<&'a str>,
    /// Printed after the server listens (the demo's guide).
    pub banner: Option<String>,
    /// The file holding the SM4 key that seals institution tokens at rest (`--token-key`).
    pub token_key: Option<&'a Path>,
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

pub fn run(opts: &ServeOptions<'_>) -> u8 {
    init_logging();
    match run_inner(opts) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn run_inner(opts: &ServeOptions<'_>) -> Result<(), String> {
    let clock = match opts.now {
        None => Clock::System,
        Some(t) => Clock::starting_at(
            NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .map_err(|_| format!("--now {t:?}: 应为 yyyy-MM-dd HH:mm:ss"))?,
        ),
    };
    let token_key = opts
        .token_key
        .map(TokenKey::from_file)
        .transpose()
        .map_err(|e| e.to_string())?;
    let store = opts.target.open()?;
    serve_store(store, opts.addr, clock, opts.banner.clone(), token_key)
}

pub fn serve_store(
    store: DynStore,
    addr: &str,
    clock: Clock,
    banner: Option<String>,
    token_key: Option<TokenKey>,
) -> Result<(), String> {
    let policies = crate::registry::presets()?;
    let mut engine = Engine::open(store, policies).map_err(|e| e.to_string())?;
    let keyed = token_key.is_some();
    let sealed = engine.use_token_key(token_key).map_err(|e| e.to_string())?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "机构令牌已加密存储 / sealed plaintext institution tokens"
        );
    }
    if !keyed && !engine.state().institutions.is_empty() {
        tracing::warn!(
            "未指定 --token-key：机构令牌以明文存储 / no --token-key: institution tokens are stored in clear"
        );
    }
    let (handle, writer) = EngineHandle::spawn(engine);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    wait_for_the_next_second();
    let result = runtime.block_on(async move {
        let app = App::new(handle, clock).map_err(|e| e.to_string())?;
        let n = app.load_gateways().await.map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("Gongji 已启动 / listening on http://{local}  ({n} 家机构可接入)");
        if let Some(b) = banner {
            println!("{b}");
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            println!("正在停止 / shutting down ...");
        };
        gongji_server::serve(app, listener, shutdown)
            .await
            .map_err(|e| e.to_string())
    });
    drop(runtime);
    writer.join();
    result
}

/// The server refuses gateway timestamps from before the second it starts serving in
/// (`gongji_server::gateway`): the process before it may have accepted them. Starting in a
/// second that began after the store was opened (so after any earlier writer was gone) puts
/// every request that process accepted before that second, and every request signed after
/// this one starts after it. Costs under a second at start.
fn wait_for_the_next_second() {
    let into_second = chrono::Utc::now().timestamp_subsec_millis();
    std::thread::sleep(std::time::Duration::from_millis(
        u64::from(1_000_u32.saturating_sub(into_second)) + 1,
    ));
}
