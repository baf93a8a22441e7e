//! `gongji serve`: production, described by one config file; and the serving both it and the
//! demo share.
//!
//! `serve` always runs as [`Deployment::production`]: it never has the development SMS
//! sender, the development face check or the open till, whatever its flags. The demo's
//! conveniences are only in `gongji demo` (demo.rs), which calls [`serve_store`] with
//! [`Setup::demo`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::registry::{Target, EXIT_OK, EXIT_UNUSABLE};
use chrono::NaiveDateTime;
use gongji_engine::token_seal::TokenKey;
use gongji_engine::{Engine, EngineHandle};
use gongji_nhsa::open_envelope::{self, SigningKey};
use gongji_server::app::DynStore;
use gongji_server::config::{Config, Database};
use gongji_server::deployment::Deployment;
use gongji_server::limits::LimitsConfig;
use gongji_server::open_api::OpenApi;
use gongji_server::service::auth::{FaceVerifier, SmsSender};
use gongji_server::service::providers::{self, FaceConfig, SmsConfig};
use gongji_server::{App, Clock, HttpLimits, Listeners};
use gongji_store::privacy::PrivacyKey;

/// `gongji serve`'s command line: the config file and the overrides tests and scripts use.
pub struct ServeArgs<'a> {
    pub config: Option<&'a Path>,
    /// Overrides the config's database: a SQLite file...
    pub db: Option<&'a Path>,
    /// ...or a PostgreSQL URL (`--database` / GONGJI_DATABASE).
    pub database: Option<&'a str>,
    /// Overrides `[http] listen`.
    pub addr: Option<&'a str>,
    /// Pins the server's clock (tests of a given day): `yyyy-MM-dd HH:mm:ss`.
    pub now: Option<&'a str>,
    /// Overrides `[institutions] token_key_file`.
    pub token_key: Option<&'a Path>,
    /// Overrides `[privacy]`: encrypts persons' ID and phone numbers with this key file.
    pub privacy_key: Option<&'a Path>,
}

/// How a server runs, besides its database and clock.
pub struct Setup {
    pub deployment: Deployment,
    pub limits: HttpLimits,
    pub addr: String,
    pub tls: Option<gongji_server::http::TlsAcceptor>,
    pub admin_addr: Option<SocketAddr>,
    /// `None`: the development providers of the demo.
    pub providers: Option<Providers>,
    /// Printed before serving (the mode and what it means).
    pub notice: String,
    /// Printed after the server listens (the demo's guide).
    pub banner: Option<String>,
    /// The SM4 key of the gateway tokens at rest; `None`: stored as given.
    pub token_key: Option<TokenKey>,
    /// The platform's SM2 key of the app partners' envelope; `None`: `/open/v1` refuses.
    pub open_api_key: Option<SigningKey>,
    /// The key of persons' ID and phone numbers at rest; `None`: stored in clear.
    pub privacy_key: Option<PrivacyKey>,
    /// Ends the process once the writer stops (PostgreSQL: a lost connection is a lost
    /// lease, and only a fresh process, started by the supervisor, can take it again).
    pub exit_when_writer_stops: bool,
    /// This province's peers (`[province]`, `[[peers]]`); `None`: `/peer/v1` refuses.
    pub peers: Option<gongji_server::peer::Peers>,
}

/// People's sign-in providers of a production server.
pub struct Providers {
    pub sms: Arc<dyn SmsSender>,
    pub face: Arc<dyn FaceVerifier>,
    pub payment: Arc<dyn providers::PaymentProvider>,
}

impl Setup {
    /// The demo: development providers, open metrics, plain HTTP on `addr`.
    pub fn demo(addr: &str, notice: String, banner: String) -> Setup {
        Setup {
            deployment: Deployment::demo(),
            limits: HttpLimits::default(),
            addr: addr.to_string(),
            tls: None,
            admin_addr: None,
            providers: None,
            notice,
            banner: Some(banner),
            token_key: None,
            open_api_key: None,
            privacy_key: None,
            exit_when_writer_stops: false,
            peers: None,
        }
    }
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

pub fn parse_clock(now: Option<&str>) -> Result<Clock, String> {
    match now {
        None => Ok(Clock::System),
        Some(t) => NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
            .map(Clock::starting_at)
            .map_err(|_| format!("--now {t:?}: 应为 yyyy-MM-dd HH:mm:ss")),
    }
}

pub fn run(args: &ServeArgs<'_>) -> u8 {
    init_logging();
    match run_production(args) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_UNUSABLE
        }
    }
}

fn run_production(args: &ServeArgs<'_>) -> Result<(), String> {
    let config = match args.config {
        Some(file) => Config::load(file).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let clock = parse_clock(args.now)?;
    let target = target(args, &config)?;
    let mut setup = production_setup(args, &config)?;
    setup.exit_when_writer_stops = target.database.is_some();
    let store = target.open()?;
    serve_store(store, clock, setup)
}

/// The command line's database first, then the config's, then `gongji.db`.
fn target(args: &ServeArgs<'_>, config: &Config) -> Result<Target, String> {
    database_target(config, args.db, args.database)
}

/// The database of `--database URL` or `--db FILE`, else the config's, else `gongji.db`.
pub(crate) fn database_target(
    config: &Config,
    db: Option<&Path>,
    database: Option<&str>,
) -> Result<Target, String> {
    if let Some(url) = database {
        return Ok(Target {
            db: PathBuf::from("gongji.db"),
            database: Some(url.to_string()),
        });
    }
    if let Some(db) = db {
        return Ok(Target::sqlite(db));
    }
    Ok(match config.database().map_err(|e| e.to_string())? {
        Some(Database::Sqlite(db)) => Target::sqlite(&db),
        Some(Database::Postgres(url)) => Target {
            db: PathBuf::from("gongji.db"),
            database: Some(url),
        },
        None => Target::sqlite(Path::new("gongji.db")),
    })
}

fn production_setup(args: &ServeArgs<'_>, config: &Config) -> Result<Setup, String> {
    let mut deployment = Deployment::production();
    deployment.https = config.https();
    deployment.metrics_token = config.metrics_token().map_err(|e| e.to_string())?;
    let tls = match &config.tls {
        Some(t) => Some(gongji_server::http::tls_acceptor(
            &config.path(&t.cert_file),
            &config.path(&t.key_file),
        )?),
        None => None,
    };
    let admin_addr = config.metrics.admin_addr.map(|a| a.0);
    let mut notice = String::from("生产模式 / production mode");
    if let Some(file) = args.config {
        notice.push_str(&format!("  配置 / config: {}", file.display()));
    }
    if deployment.metrics_token.is_none() && admin_addr.is_none() {
        notice.push_str(
            "\n/metrics 未开放：配置 [metrics] token_file 或 admin_addr / /metrics is off: set [metrics] token_file or admin_addr",
        );
    }
    if let Some(section) = &config.limits {
        let limits: LimitsConfig = config
            .section("limits", section)
            .map_err(|e| e.to_string())?;
        deployment.sign_in_limit = limits.sign_in_limit(deployment.sign_in_limit)?;
    }
    let token_key = match args.token_key {
        Some(file) => Some(file.to_path_buf()),
        None => config
            .institutions
            .token_key_file
            .as_deref()
            .map(|f| config.path(f)),
    };
    let token_key = token_key
        .map(|f| TokenKey::from_file(&f))
        .transpose()
        .map_err(|e| e.to_string())?;
    let privacy_key = match args.privacy_key {
        Some(file) => Some(PrivacyKey::from_file(file)),
        None => config.privacy_key().transpose(),
    }
    .transpose()
    .map_err(|e| e.to_string())?;
    let open_api_key = match &config.open_api.platform_key_file {
        Some(file) => {
            let key = crate::partner::read_platform_key(&config.path(file))?;
            notice.push_str(&format!(
                "\n开放接口平台公钥 / open API platform public key: {}",
                open_envelope::verifying_key_hex(key.verifying_key())
            ));
            Some(key)
        }
        None => None,
    };
    Ok(Setup {
        deployment,
        limits: config.http.limits(),
        addr: args
            .addr
            .map(str::to_string)
            .unwrap_or_else(|| config.http.listen.0.to_string()),
        tls,
        admin_addr,
        providers: Some(sign_in_providers(config)?),
        notice,
        banner: None,
        token_key,
        open_api_key,
        privacy_key,
        exit_when_writer_stops: false,
        peers: crate::province::peers_of(config)?,
    })
}

/// The SMS sender and face verifier the config describes. A missing section is a provider
/// that refuses every use (短信服务未配置 with 503), so production never falls back to the
/// development ones.
fn sign_in_providers(config: &Config) -> Result<Providers, String> {
    let sms = match &config.sms {
        Some(section) => {
            let mut c: SmsConfig = config.section("sms", section).map_err(|e| e.to_string())?;
            c.resolve_paths(|p| config.path(p));
            providers::build_sms(&c)?
        }
        None => {
            tracing::warn!(
                "短信服务未配置：参保人无法登录 / no [sms] provider: insured persons cannot sign in"
            );
            providers::sms_not_configured()
        }
    };
    let face = match &config.face {
        Some(section) => {
            let mut c: FaceConfig = config.section("face", section).map_err(|e| e.to_string())?;
            c.resolve_paths(|p| config.path(p));
            providers::build_face(&c)?
        }
        None => {
            tracing::warn!(
                "人脸核验未配置：无法授权共济 / no [face] provider: holders cannot authorise mutual aid"
            );
            providers::face_not_configured()
        }
    };
    let payment: Arc<dyn providers::PaymentProvider> = match &config.payment {
        Some(section) => {
            let mut c: providers::PaymentConfig = config
                .section("payment", section)
                .map_err(|e| e.to_string())?;
            c.resolve_paths(|p| config.path(p));
            providers::build_payment(&c)?
        }
        None => {
            tracing::warn!(
                "在线缴费服务未配置：无法在线缴纳保费 / no [payment] provider: premiums cannot be paid online"
            );
            Arc::new(providers::NotConfiguredPayment)
        }
    };
    Ok(Providers { sms, face, payment })
}

/// Sleeps into the next whole second: the gateway refuses timestamps from before the
/// server started (a replay of headers signed for the process before), and timestamps are
/// whole seconds.
fn wait_for_the_next_second() {
    let into_second = chrono::Utc::now().timestamp_subsec_millis();
    std::thread::sleep(std::time::Duration::from_millis(
        u64::from(1_000_u32.saturating_sub(into_second)) + 1,
    ));
}

/// Ctrl-C (SIGINT), listened for from the call on: a signal right after the server says it
/// listens is a clean stop, not the default kill.
#[cfg(unix)]
fn on_interrupt() -> Result<impl std::future::Future<Output = ()> + Send, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    Ok(async move {
        let _ = sigint.recv().await;
    })
}

#[cfg(not(unix))]
fn on_interrupt() -> Result<impl std::future::Future<Output = ()> + Send, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Serves `store` as `setup` says until Ctrl-C.
pub fn serve_store(mut store: DynStore, clock: Clock, setup: Setup) -> Result<(), String> {
    let policies = crate::registry::presets()?;
    let privacy_on = setup.privacy_key.is_some();
    let sealed = crate::privacy::apply(
        &mut store,
        setup.privacy_key.clone(),
        crate::privacy::Progress::Log,
    )?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "已加密存储参保人的身份证号和手机号 / sealed stored ID and phone numbers"
        );
    }
    if !privacy_on && !setup.deployment.is_demo() {
        tracing::warn!(
            "未开启 [privacy]：身份证号和手机号以明文存储 / [privacy] is off: ID and phone numbers are stored in clear"
        );
    }
    let mut engine = Engine::open(store, policies).map_err(|e| e.to_string())?;
    let keyed = setup.token_key.is_some();
    let sealed = engine
        .use_token_key(setup.token_key.clone())
        .map_err(|e| e.to_string())?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "机构令牌已加密存储 / sealed plaintext institution tokens"
        );
    }
    if !keyed && !setup.deployment.is_demo() && !engine.state().institutions.is_empty() {
        tracing::warn!(
            "未配置 token_key_file：机构令牌以明文存储 / no token key: institution tokens are stored in clear"
        );
    }
    let (handle, writer) = EngineHandle::spawn(engine);
    let watched = setup.exit_when_writer_stops.then(|| handle.clone());
    let watched_after = watched.clone();
    wait_for_the_next_second();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(async move {
        let Setup {
            deployment,
            limits,
            addr,
            tls,
            admin_addr,
            providers,
            notice,
            banner,
            token_key,
            open_api_key,
            privacy_key: _,
            exit_when_writer_stops: _,
            peers,
        } = setup;
        let mut app = App::new(handle, clock)
            .map_err(|e| e.to_string())?
            .with_deployment(deployment)
            .with_open_api(OpenApi::new(open_api_key, token_key));
        if let Some(p) = providers {
            app = app.with_providers(p.sms, p.face).with_payment(p.payment);
        }
        if let Some(peers) = peers {
            let ledger = gongji_server::peer::engine_ledger::EngineLedger::new(
                app.engine.clone(),
                app.clock.clone(),
                peers.province,
            );
            println!(
                "跨省共济：本省 {:02}，对方省份 {} 个 / cross-province quotas: province {:02}, {} peers",
                peers.province,
                peers.peers().count(),
                peers.province,
                peers.peers().count()
            );
            app = app.with_peers(peers.with_ledger(std::sync::Arc::new(ledger)));
            if let Some(peers) = app.peers.clone() {
                tokio::spawn(gongji_server::peer::outbox::drive(
                    peers,
                    app.peer_wake.clone(),
                ));
            }
        }
        let n = app.load_gateways().await.map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let admin = match admin_addr {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a)
                    .await
                    .map_err(|e| format!("[metrics] admin_addr {a}: {e}"))?,
            ),
            None => None,
        };
        let interrupted = on_interrupt()?;
        println!("{notice}");
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("Gongji 已启动 / listening on {scheme}://{local}  ({n} 家机构可接入)");
        if let Some(a) = admin.as_ref().and_then(|a| a.local_addr().ok()) {
            println!("管理地址（/metrics）/ admin address: http://{a}/metrics");
        }
        if let Some(b) = banner {
            println!("{b}");
        }
        let writer_stopped = writer_stopped(watched);
        let shutdown = async {
            tokio::select! {
                _ = interrupted => println!("正在停止 / shutting down ..."),
                why = writer_stopped => eprintln!(
                    "写入已停止，进程退出以便重新启动并重新取得写入租约 / the writer stopped ({why}); exiting so that a fresh process can take the writer lease again"
                ),
            }
        };
        let listeners = Listeners {
            public: listener,
            tls,
            admin,
        };
        gongji_server::serve_with(app, listeners, limits, shutdown)
            .await
            .map_err(|e| e.to_string())
    });
    drop(runtime);
    // Every handle must be gone before the writer thread can end.
    let stopped = watched_after.and_then(|h| h.stopped().map(str::to_string));
    writer.join();
    match stopped {
        Some(why) => Err(format!("写入已停止 / the writer stopped: {why}")),
        None => result,
    }
}

/// Resolves once the writer has stopped (never, when not watched). Polled: a stop is rare
/// and a fifth of a second is small beside the restart that follows.
async fn writer_stopped(watched: Option<EngineHandle<DynStore>>) -> String {
    let Some(handle) = watched else {
        return std::future::pending().await;
    };
    loop {
        if let Some(why) = handle.stopped() {
            return why.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
