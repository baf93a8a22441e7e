//! What every handler shares: the engine handle, the gateway credentials, the nonce cache,
//! the clock and the metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{NaiveDateTime, TimeDelta};
use gongji_engine::{Engine, EngineError, EngineHandle, Outcome, Request};
use gongji_nhsa::auth::NonceCache;
use gongji_store::FullStore;
use tokio::sync::oneshot;

use crate::deployment::Deployment;
use crate::metrics::Metrics;
use crate::service::auth::{AuthContext, FaceVerifier, SmsSender};

/// The store the server runs on: the engine's writes and the API's reads.
pub type DynStore = Box<dyn FullStore>;

/// The time the server works in. Tests pin it; production follows the system clock.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    /// The system clock shifted so that it read `at` when the server started.
    StartingAt {
        at: NaiveDateTime,
        offset: TimeDelta,
    },
    /// Stands still until moved (tests of expiry and of collection windows).
    Manual(Arc<Mutex<NaiveDateTime>>),
}

impl Clock {
    pub fn starting_at(at: NaiveDateTime) -> Clock {
        Clock::StartingAt {
            at,
            offset: at - chrono::Local::now().naive_local(),
        }
    }

    pub fn manual(at: NaiveDateTime) -> Clock {
        Clock::Manual(Arc::new(Mutex::new(at)))
    }

    /// Moves a manual clock; other clocks ignore it.
    pub fn set(&self, at: NaiveDateTime) {
        if let Clock::Manual(t) = self {
            if let Ok(mut t) = t.lock() {
                *t = at;
            }
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        let system = chrono::Local::now().naive_local();
        match self {
            Clock::System => system,
            Clock::StartingAt { offset, .. } => system + *offset,
            Clock::Manual(t) => t.lock().map(|t| *t).unwrap_or(system),
        }
    }

    /// Unix seconds, for the gateway timestamp window (always the real clock).
    pub fn unix_now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// An institution's gateway credentials.
#[derive(Clone, Debug)]
pub struct Gateway {
    pub fixmedins_code: String,
    /// The institution's division, for answers to requests whose envelope does not parse.
    pub admdvs: gongji_core::codes::Admdvs,
    /// Hospital or pharmacy: which transactions it may call.
    pub kind: gongji_core::codes::InstitutionKind,
    pub token: String,
}

#[derive(Clone)]
pub struct App {
    pub engine: EngineHandle<DynStore>,
    pub gateways: Arc<RwLock<HashMap<String, Gateway>>>,
    pub nonces: Arc<Mutex<NonceCache>>,
    /// The Unix second this process started serving the interface in: gateway timestamps
    /// before it are refused (see `gateway.rs`).
    pub serving_since_unix: i64,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Sign-in providers, sessions and rate limits of the REST API and pages.
    pub auth: Arc<AuthContext>,
    /// Demo or production, and the deployment facts handlers ask about.
    pub deployment: Arc<Deployment>,
    sequence: Arc<AtomicU64>,
}

/// How far a gateway timestamp may be from now, in seconds.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

impl App {
    pub fn new(engine: EngineHandle<DynStore>, clock: Clock) -> prometheus::Result<App> {
        Ok(App {
            engine,
            gateways: Arc::new(RwLock::new(HashMap::new())),
            nonces: Arc::new(Mutex::new(NonceCache::new(
                TIMESTAMP_WINDOW_SECS,
                NonceCache::RATE_MAX_DEFAULT,
            ))),
            serving_since_unix: chrono::Utc::now().timestamp(),
            clock,
            metrics: Arc::new(Metrics::new()?),
            auth: Arc::new(AuthContext::development()),
            deployment: Arc::new(Deployment::demo()),
            sequence: Arc::new(AtomicU64::new(first_sequence())),
        })
    }

    /// Replaces the SMS sender and the face verifier (production providers); call before
    /// serving, as it starts a fresh set of sessions.
    pub fn with_providers(mut self, sms: Arc<dyn SmsSender>, face: Arc<dyn FaceVerifier>) -> App {
        self.auth = Arc::new(AuthContext::new(sms, face));
        self
    }

    /// Sets the deployment (demo or production); call before serving.
    pub fn with_deployment(mut self, deployment: Deployment) -> App {
        self.deployment = Arc::new(deployment);
        self
    }

    /// Loads the gateway credentials of every institution from the engine.
    pub async fn load_gateways(&self) -> Result<usize, EngineError> {
        let gateways = self
            .read(|engine| {
                engine
                    .state()
                    .institutions
                    .values()
                    .map(|i| {
                        (
                            i.paasid.clone(),
                            Gateway {
                                fixmedins_code: i.code.clone(),
                                admdvs: i.admdvs,
                                kind: i.kind,
                                token: i.token.clone(),
                            },
                        )
                    })
                    .collect::<HashMap<_, _>>()
            })
            .await?;
        let n = gateways.len();
        if let Ok(mut g) = self.gateways.write() {
            *g = gateways;
        }
        Ok(n)
    }

    /// The gateway check over this server's credentials and nonce store.
    pub fn gateway_check(&self) -> crate::gateway::GatewayCheck<'_> {
        crate::gateway::GatewayCheck {
            gateways: &self.gateways,
            nonces: &self.nonces,
            window_secs: TIMESTAMP_WINDOW_SECS,
            serving_since_unix: self.serving_since_unix,
        }
    }

    pub fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// Submits a request and waits for its durable answer.
    pub async fn submit(&self, request: Request) -> Result<Outcome, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.engine.submit(
            request,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Runs a read on the writer thread, between batches.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<DynStore>) -> T + Send + 'static,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        let sent = self.engine.read(Box::new(move |engine| {
            let _ = tx.send(f(engine));
        }));
        if !sent {
            return Err(writer_gone());
        }
        rx.await.map_err(|_| writer_gone())
    }
}

/// Where this process's `inf_refmsgid` sequence starts: the real clock in microseconds. A
/// server restarted after a crash, even within the same second, starts past every number the
/// one before it handed out (no server answers a message per microsecond), so no reference id
/// is issued twice; starting at 1 reissued the previous process's ids.
fn first_sequence() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(1)
        % gongji_nhsa::RefIds::SEQUENCE_MODULUS
}

fn writer_gone() -> EngineError {
    EngineError::Store(gongji_store::StoreError::Io("writer stopped".into()))
}
