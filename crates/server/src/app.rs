//! What every handler shares: the engine handle, the readers, the gateway credentials, the
//! nonce cache, the clock and the metrics.
//!
//! Where reads run: the store's reads (records, reports, searches, the audit log: everything
//! of [`ReadStore`]) run on read-only connections of their own, on tokio's blocking
//! threads, never on the writer's thread, so a long report does not hold settlements back.
//! Only reads of the engine's in-memory state (balances, bindings, persons) go to the
//! writer, between batches, and they must stay cheap (hash lookups, no store access).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{NaiveDateTime, TimeDelta};
use gongji_engine::{Engine, EngineError, EngineHandle, Outcome, Request};
use gongji_nhsa::auth::NonceCache;
use gongji_store::{FullStore, ReadStore, ReaderSource, StoreError};
use tokio::sync::oneshot;

use crate::deployment::Deployment;
use crate::limits::SignInLimiter;
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
    /// The 国密 envelope of app partners: the platform's key and the replay store.
    pub open_api: Arc<crate::open_api::OpenApi>,
    /// This province's peers and the quota's books (issue 14); `None`: `/peer/v1` refuses.
    pub peers: Option<Arc<crate::peer::Peers>>,
    /// Wakes the outbox driver when a step is written.
    pub peer_wake: crate::peer::outbox::Wake,
    /// Where residents' and agents' premiums are paid with outside money (issue 13).
    pub payment: Arc<dyn crate::service::providers::PaymentProvider>,
    /// Till operators' sign-in attempts.
    pub operator_lockout: Arc<crate::service::operators::Lockout>,
    /// The per-source limit of sign-in requests, as the deployment sets it.
    pub(crate) sign_in_limiter: Arc<SignInLimiter>,
    /// Read-only connections for [`App::read_store`]; `None` when the store has no second
    /// way in (an in-memory database), and then those reads run on the writer.
    readers: Option<Arc<Readers>>,
    sequence: Arc<AtomicU64>,
}

/// Most reads of the store at once, so that a burst of page views opens at most this many
/// database connections (each PostgreSQL session costs the server a process); the rest wait
/// their turn. They are also the connections kept open between reads.
const READERS_MAX: usize = 8;

/// A pool of read-only connections on the writer's database.
struct Readers {
    source: Arc<dyn ReaderSource>,
    idle: Mutex<Vec<Box<dyn ReadStore + Send>>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl Readers {
    fn new(source: Arc<dyn ReaderSource>) -> Readers {
        Readers {
            source,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(READERS_MAX)),
        }
    }

    /// Runs `f` on an idle connection, or a new one; blocks (call it off the runtime).
    fn run<T>(
        &self,
        f: impl FnOnce(&mut dyn ReadStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match idle {
            Some(c) => c,
            None => self.source.open_reader()?,
        };
        let out = f(conn.as_mut());
        // A connection whose read failed may be broken: it is closed rather than kept.
        if out.is_ok() {
            if let Ok(mut idle) = self.idle.lock() {
                if idle.len() < READERS_MAX {
                    idle.push(conn);
                }
            }
        }
        out
    }
}

impl Drop for Readers {
    /// A blocking PostgreSQL client closes by blocking on a runtime of its own, which panics
    /// on an async runtime's thread, where the last `App` is dropped when the server stops:
    /// the idle connections are closed on a plain thread instead.
    fn drop(&mut self) {
        let idle = match self.idle.get_mut() {
            Ok(idle) => std::mem::take(idle),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// How far a gateway timestamp may be from now, in seconds.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

impl App {
    /// The readers open on the store the engine writes (asked of the writer once, at start).
    pub fn new(engine: EngineHandle<DynStore>, clock: Clock) -> prometheus::Result<App> {
        let readers = reader_source_of(&engine).map(|s| Arc::new(Readers::new(s)));
        Ok(App {
            engine,
            readers,
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
            open_api: Arc::default(),
            peers: None,
            peer_wake: crate::peer::outbox::Wake::default(),
            payment: Arc::new(crate::service::providers::DevPayment::default()),
            operator_lockout: Arc::default(),
            sign_in_limiter: Arc::new(SignInLimiter::new(Deployment::demo().sign_in_limit)),
            sequence: Arc::new(AtomicU64::new(first_sequence())),
        })
    }

    /// Replaces the SMS sender and the face verifier (production providers); call before
    /// serving, as it starts a fresh set of sessions.
    pub fn with_providers(mut self, sms: Arc<dyn SmsSender>, face: Arc<dyn FaceVerifier>) -> App {
        self.auth = Arc::new(AuthContext::new(sms, face));
        self
    }

    /// Replaces the payment provider (production's, or a test's); call before serving.
    pub fn with_payment(
        mut self,
        payment: Arc<dyn crate::service::providers::PaymentProvider>,
    ) -> App {
        self.payment = payment;
        self
    }

    /// Sets the deployment (demo or production); call before serving.
    pub fn with_deployment(mut self, deployment: Deployment) -> App {
        self.sign_in_limiter = Arc::new(SignInLimiter::new(deployment.sign_in_limit));
        self.deployment = Arc::new(deployment);
        self
    }

    /// Sets the app partners' envelope keys (the platform's SM2 key, the key that opens
    /// partners' sealed secrets); call before serving.
    pub fn with_open_api(mut self, open_api: crate::open_api::OpenApi) -> App {
        self.open_api = Arc::new(open_api);
        self
    }

    /// Sets this province's peers and the books the quota's steps act on; call before
    /// serving (and start [`crate::peer::outbox::drive`] beside it).
    pub fn with_peers(mut self, peers: crate::peer::Peers) -> App {
        self.peers = Some(Arc::new(peers));
        self
    }

    /// Replaces where the store's reads open their connections; call before serving.
    pub fn with_readers(mut self, source: Arc<dyn ReaderSource>) -> App {
        self.readers = Some(Arc::new(Readers::new(source)));
        self
    }

    /// Where the store's reads open their connections, if they run beside the writer.
    pub fn reader_source(&self) -> Option<Arc<dyn ReaderSource>> {
        self.readers.as_ref().map(|r| r.source.clone())
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

    /// Runs a read of the store on a read-only connection, on a blocking thread: never on
    /// the writer. Without readers (an in-memory database) it runs on the writer.
    pub async fn read_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let Some(readers) = self.readers.clone() else {
            return self
                .read(move |engine| f(engine.store_mut()))
                .await?
                .map_err(EngineError::Store);
        };
        let reader_failed = |e: String| EngineError::Store(StoreError::Io(format!("reader: {e}")));
        let permit = readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| reader_failed(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            readers.run(f)
        })
        .await
        .map_err(|e| reader_failed(e.to_string()))?
        .map_err(EngineError::Store)
    }

    /// Runs a read of the engine's in-memory state on the writer thread, between batches.
    /// Keep it cheap (no store access: that is [`App::read_store`]). Refused with
    /// GJ-WRITER-STOPPED once the writer has stopped, as its state is then not the store's.
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
    EngineError::WriterStopped
}

/// Asks the writer, once, where its store opens read-only connections. Blocks briefly:
/// called at start, when the writer is idle.
fn reader_source_of(engine: &EngineHandle<DynStore>) -> Option<Arc<dyn ReaderSource>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let asked = engine.read(Box::new(move |engine| {
        let _ = tx.send(engine.store_mut().reader_source());
    }));
    if !asked {
        return None;
    }
    rx.recv().ok().flatten()
}
