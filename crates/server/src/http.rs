//! The accept loop: what one connection may cost the server, and TLS.
//!
//! `axum::serve` can neither time out a client that never finishes its request headers nor
//! cap connections; a few hundred stalled clients held sockets and memory for minutes. Here
//! every connection holds one permit of a semaphore (beyond the limit new ones wait in the
//! kernel's backlog), must deliver its first request's headers within the header timeout (TLS
//! handshake included), and is closed after the idle timeout without traffic; HTTP/1.1 also
//! times every header read (hyper's header timer, which includes a kept-alive connection's
//! wait for its next request), and every request is answered 408 after the request timeout.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::timeout::TimeoutLayer;

/// The TLS side of the public listener.
pub type TlsAcceptor = tokio_rustls::TlsAcceptor;

/// What one connection may cost. The defaults are the safe ones `gongji serve` runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// From accept to the end of the first request's headers (and of every HTTP/1.1 header).
    pub header_read_timeout: Duration,
    /// From the request's headers to the response's: 408 after it.
    pub request_timeout: Duration,
    /// A connection without traffic either way for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// Where to serve: the public address (with TLS when configured) and the admin address.
pub struct Listeners {
    pub public: TcpListener,
    pub tls: Option<TlsAcceptor>,
    /// Serves `/metrics` and `/healthz` only, without TLS (a loopback or internal address).
    pub admin: Option<TcpListener>,
}

impl Listeners {
    pub fn plain(public: TcpListener) -> Listeners {
        Listeners {
            public,
            tls: None,
            admin: None,
        }
    }
}

/// Serves until `shutdown` resolves; then stops accepting, lets requests in flight finish
/// (each within the request timeout) and returns.
pub async fn serve_with(
    public: Router,
    admin: Router,
    listeners: Listeners,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let public = public.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let admin = admin.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);

    let mut loops = Vec::new();
    if let Some(listener) = listeners.admin {
        loops.push(tokio::spawn(accept_loop(
            listener,
            None,
            admin,
            builder.clone(),
            limits,
            permits.clone(),
            stopping.clone(),
        )));
    }
    loops.push(tokio::spawn(accept_loop(
        listeners.public,
        listeners.tls,
        public,
        builder,
        limits,
        permits.clone(),
        stopping,
    )));

    shutdown.await;
    let _ = stop.send(true);
    for l in loops {
        let _ = l.await;
    }
    // Every connection task holds a permit until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let grace = limits.request_timeout + limits.header_read_timeout;
    let _ = tokio::time::timeout(grace, permits.acquire_many(all)).await;
    Ok(())
}

async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: that is a stop too.
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: HttpLimits,
    permits: Arc<Semaphore>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stopped(&mut stopping) => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stopping) => return,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            peer,
            router: router.clone(),
            builder: builder.clone(),
            limits,
            activity: Arc::new(Activity::new()),
            stopping: stopping.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            connection.run(stream, tls).await;
            drop(permit);
        });
    }
}

struct Connection {
    peer: SocketAddr,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: HttpLimits,
    activity: Arc<Activity>,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let io = Watched {
            inner: stream,
            activity: self.activity.clone(),
        };
        match tls {
            None => self.drive(TokioIo::new(io)).await,
            Some(acceptor) => {
                let deadline = self.activity.accepted + self.limits.header_read_timeout;
                match tokio::time::timeout_at(deadline, acceptor.accept(io)).await {
                    Ok(Ok(tls_stream)) => self.drive(TokioIo::new(tls_stream)).await,
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn drive<I>(mut self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let router = self.router.clone();
        let activity = self.activity.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            activity.requested.store(true, Ordering::Relaxed);
            // What `into_make_service_with_connect_info` would add: per-source limits read it.
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let builder = self.builder.clone();
        let conn = builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = self.activity.quiet(&self.limits) => {
                tracing::debug!(peer = %self.peer, "closing a connection: no request or no traffic in time");
            }
            _ = stopped(&mut self.stopping) => {}
        }
        // Ends an idle connection now and one with a request in flight after its answer.
        conn.as_mut().graceful_shutdown();
        let grace = self.limits.request_timeout + self.limits.header_read_timeout;
        let _ = tokio::time::timeout(grace, conn).await;
    }
}

/// When a connection last moved a byte, and whether it has made a request yet.
struct Activity {
    accepted: Instant,
    /// Milliseconds after `accepted`.
    last: AtomicU64,
    requested: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            accepted: Instant::now(),
            last: AtomicU64::new(0),
            requested: AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    /// Resolves when the connection should go: no first request within the header timeout
    /// of the accept (whatever bytes trickle in), or no traffic for the idle timeout.
    async fn quiet(&self, limits: &HttpLimits) {
        loop {
            let deadline = if self.requested.load(Ordering::Relaxed) {
                let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
                self.accepted + last + limits.idle_timeout
            } else {
                self.accepted + limits.header_read_timeout
            };
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that records its traffic in an [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The TLS acceptor for a PEM certificate chain and key (rustls with the `ring` provider;
/// HTTP/2 and HTTP/1.1 offered by ALPN; TLS 1.2 and 1.3).
pub fn tls_acceptor(
    cert_file: &std::path::Path,
    key_file: &std::path::Path,
) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "{}: 无法读取证书（PEM）/ cannot read the certificate (PEM): {e}",
                cert_file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{}: 文件中没有证书 / no certificate in the file",
            cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        format!(
            "{}: 无法读取私钥（PEM）/ cannot read the private key (PEM): {e}",
            key_file.display()
        )
    })?;
    // `ring` builds with a C compiler alone (aws-lc-rs needs cmake); rustls deprecated it only
    // for lacking post-quantum key exchange, which no client of a bureau requires yet.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            format!(
                "{} / {}: 证书与私钥不可用 / the certificate and key cannot be used: {e}",
                cert_file.display(),
                key_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
