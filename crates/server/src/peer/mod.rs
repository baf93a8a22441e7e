//! Provinces as peers (issue 14): `POST /peer/v1/...`, the calls one province's Gongji makes
//! to another's to move a cross-province quota, and the client and outbox driver that make
//! them.
//!
//! Every call and every answer is signed with the sending province's SM2 key
//! (`gongji_nhsa::peer_auth`); the receiver checks, in order, each refusing with a stable
//! code and changing nothing: peers are configured → the calling province is one → the
//! headers are well formed → the signature verifies with that province's key → the
//! timestamp is within ±300 s and not from before this process started → the nonce was not
//! used in the window. Then the step, idempotent by its transfer id, through the
//! [`QuotaLedger`]. The answer (a refusal too, once the caller is known) is signed over its
//! status, body and the request's nonce.

pub mod client;
pub mod conservation;
pub mod engine_ledger;
pub mod fault;
pub mod ledger;
pub mod memory;
pub mod outbox;
pub mod service;
pub mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gongji_nhsa::auth::{AuthError, NonceCache};
use gongji_nhsa::peer_auth::{
    self, PeerAuthError, SignedAnswer, SignedRequest, SigningKey, VerifyingKey, HEADER_NONCE,
    HEADER_PROVINCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::errors::{status_of, ErrorBody};
use crate::app::{App, TIMESTAMP_WINDOW_SECS};
use crate::service::{ServiceError, ServiceResult};

pub use ledger::{QuotaLedger, Verdict};

/// A peer province as the config names it.
#[derive(Clone)]
pub struct Peer {
    pub code: u32,
    /// Without a trailing slash.
    pub url: String,
    pub key: VerifyingKey,
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Peer({:02} {})", self.code, self.url)
    }
}

/// This province's key, its peers, the replay store of their calls, and the books.
pub struct Peers {
    pub province: u32,
    key: SigningKey,
    peers: BTreeMap<u32, Peer>,
    nonces: Mutex<NonceCache>,
    ledger: Option<Arc<dyn QuotaLedger>>,
}

impl Peers {
    pub fn new(province: u32, key: SigningKey, peers: Vec<Peer>) -> Peers {
        Peers {
            province,
            key,
            peers: peers.into_iter().map(|p| (p.code, p)).collect(),
            nonces: Mutex::new(NonceCache::new(
                TIMESTAMP_WINDOW_SECS,
                NonceCache::RATE_MAX_DEFAULT,
            )),
            ledger: None,
        }
    }

    /// The books the routes and the driver act on.
    pub fn with_ledger(mut self, ledger: Arc<dyn QuotaLedger>) -> Peers {
        self.ledger = Some(ledger);
        self
    }

    pub fn ledger(&self) -> Option<&Arc<dyn QuotaLedger>> {
        self.ledger.as_ref()
    }

    pub fn peer(&self, code: u32) -> Option<&Peer> {
        self.peers.get(&code)
    }

    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The key a caller's signature verifies with: a peer's, or this province's own (its
    /// operators asking their own server for figures, `gongji peer check`).
    fn caller_key(&self, code: u32) -> Option<VerifyingKey> {
        if code == self.province {
            return Some(self.key.verifying_key().clone());
        }
        self.peers.get(&code).map(|p| p.key.clone())
    }
}

/// Why a call between provinces was refused or failed. Codes in `service::codes`, status in
/// `api::errors::status_of`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerRefusal {
    /// This server has no `[province]` and `[[peers]]`.
    NotConfigured,
    /// The calling province is not one of this server's peers.
    UnknownProvince,
    /// A header missing or malformed.
    Malformed(PeerAuthError),
    /// The signature does not verify with the province's key.
    BadSignature,
    /// The timestamp is outside the window or from before this process started.
    Stale,
    /// The nonce was used in the window.
    Replayed,
    /// The peer could not be reached, or answered with a server error.
    Unreachable(String),
    /// A lowering went unanswered however often it was asked: it may or may not have been
    /// made, and asking again with its id makes it at most once.
    LowerUnanswered { tries: u32, why: String },
    /// The peer's answer is not signed by its key, or is not what the call expects.
    BadAnswer(String),
    /// The peer refused what was asked (its code and Chinese message).
    Refused { code: String, message_zh: String },
}

impl PeerRefusal {
    fn of_auth(e: PeerAuthError) -> PeerRefusal {
        match e {
            PeerAuthError::BadSignature => PeerRefusal::BadSignature,
            other => PeerRefusal::Malformed(other),
        }
    }
}

impl From<PeerRefusal> for ServiceError {
    fn from(r: PeerRefusal) -> ServiceError {
        ServiceError::Peer(r)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, PeerRefusal> {
    headers
        .get(name)
        .ok_or(PeerRefusal::Malformed(PeerAuthError::MissingHeader(name)))?
        .to_str()
        .map_err(|_| PeerRefusal::Malformed(PeerAuthError::BadHeader(name)))
}

/// The caller, once its signature, timestamp and nonce passed.
struct Caller {
    province: u32,
    nonce: String,
}

fn authenticate(
    app: &App,
    peers: &Peers,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
) -> Result<Caller, (PeerRefusal, Option<String>)> {
    let nonce = header(headers, HEADER_NONCE)
        .and_then(|n| peer_auth::check_nonce(n).map_err(PeerRefusal::of_auth))
        .map_err(|e| (e, None))?
        .to_string();
    let with_nonce = |e: PeerRefusal| (e, Some(nonce.clone()));
    let from_text = header(headers, HEADER_PROVINCE).map_err(with_nonce)?;
    let province = from_text
        .parse::<u32>()
        .ok()
        .filter(|_| from_text.len() == 2)
        .ok_or(PeerRefusal::Malformed(PeerAuthError::BadHeader(
            HEADER_PROVINCE,
        )))
        .map_err(with_nonce)?;
    let key = peers
        .caller_key(province)
        .ok_or(PeerRefusal::UnknownProvince)
        .map_err(with_nonce)?;
    let timestamp = header(headers, HEADER_TIMESTAMP)
        .and_then(|t| peer_auth::parse_timestamp(t).map_err(PeerRefusal::of_auth))
        .map_err(with_nonce)?;
    let signature = header(headers, HEADER_SIGNATURE).map_err(with_nonce)?;
    let to = format!("{:02}", peers.province);
    peer_auth::verify_request(
        &key,
        &SignedRequest {
            method: "POST",
            path,
            from: from_text,
            to: &to,
            timestamp,
            nonce: &nonce,
            body,
        },
        signature,
    )
    .map_err(|e| with_nonce(PeerRefusal::of_auth(e)))?;
    if timestamp < app.serving_since_unix {
        return Err(with_nonce(PeerRefusal::Stale));
    }
    let now = app.clock.unix_now();
    let checked = match peers.nonces.lock() {
        Ok(mut cache) => cache.check_and_insert(from_text, &nonce, timestamp, now),
        Err(_) => Err(AuthError::NonceReplayed),
    };
    match checked {
        Ok(()) => Ok(Caller { province, nonce }),
        Err(AuthError::ClockSkew { .. }) => Err(with_nonce(PeerRefusal::Stale)),
        Err(_) => Err(with_nonce(PeerRefusal::Replayed)),
    }
}

/// The answer, signed over its status and body and the request's nonce when there is one to
/// bind it to.
fn signed(
    app: &App,
    peers: Option<&Peers>,
    nonce: Option<&str>,
    status: StatusCode,
    body: Vec<u8>,
) -> Response {
    let mut response = (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body.clone(),
    )
        .into_response();
    let (Some(peers), Some(nonce)) = (peers, nonce) else {
        return response;
    };
    let timestamp = app.clock.unix_now();
    let from = format!("{:02}", peers.province);
    let signature = peer_auth::sign_answer(
        &peers.key,
        &SignedAnswer {
            status: status.as_u16(),
            from: &from,
            timestamp,
            request_nonce: nonce,
            body: &body,
        },
    );
    let h = response.headers_mut();
    for (name, value) in [
        (HEADER_PROVINCE, from),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_NONCE, nonce.to_string()),
        (HEADER_SIGNATURE, signature),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

fn error_body(e: &ServiceError) -> Vec<u8> {
    serde_json::to_vec(&ErrorBody {
        code: e.code().to_string(),
        message_zh: e.message_zh(),
        message_en: e.message_en(),
    })
    .unwrap_or_default()
}

/// `POST /peer/v1/...`: every step between provinces.
pub async fn serve(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Some(peers) = app.peers.clone() else {
        let e = ServiceError::from(PeerRefusal::NotConfigured);
        return signed(&app, None, None, status_of(&e), error_body(&e));
    };
    let path = uri.path().to_string();
    let caller = match authenticate(&app, &peers, &headers, &path, &body) {
        Ok(c) => c,
        Err((refusal, nonce)) => {
            tracing::warn!(path, ?refusal, "省际调用被拒绝 / peer call refused");
            let e = ServiceError::from(refusal);
            return signed(
                &app,
                Some(&peers),
                nonce.as_deref(),
                status_of(&e),
                error_body(&e),
            );
        }
    };
    let answer = match peers.ledger() {
        Some(ledger) => {
            step(
                ledger.as_ref(),
                peers.province,
                caller.province,
                &path,
                &body,
            )
            .await
        }
        None => Err(StepError::from(PeerRefusal::NotConfigured)),
    };
    match answer {
        Ok(body) => signed(
            &app,
            Some(&peers),
            Some(&caller.nonce),
            StatusCode::OK,
            body,
        ),
        Err(e) => {
            tracing::info!(
                path,
                from = caller.province,
                code = e.code(),
                "省际步骤未执行 / peer step refused"
            );
            signed(
                &app,
                Some(&peers),
                Some(&caller.nonce),
                e.status(),
                e.body(),
            )
        }
    }
}

fn json_in<T: DeserializeOwned>(body: &[u8]) -> ServiceResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ServiceError::BadRequest(crate::api::errors::without_values(&e.to_string())))
}

fn json_out<T: Serialize>(value: &T) -> Result<Vec<u8>, StepError> {
    serde_json::to_vec(value).map_err(|e| ServiceError::BadRequest(e.to_string()).into())
}

/// A transfer's verdict as the answer: applied is 200, refused a signed 422 with the
/// refusal's code, which the sender takes as final and releases on.
fn verdict_out(transfer_id: &str, verdict: Verdict) -> Result<Vec<u8>, StepError> {
    match verdict {
        Verdict::Applied => json_out(&wire::StateOut {
            state: "credited".into(),
            transfer_id: Some(transfer_id.to_string()),
            amount: None,
        }),
        Verdict::Refused { code, message_zh } => Err(StepError::Refused { code, message_zh }),
    }
}

/// Why a step was not done: an error of this side, or the rules' final "no" to a transfer
/// (kept under its transfer id and answered the same on every repeat).
enum StepError {
    Service(ServiceError),
    Refused { code: String, message_zh: String },
}

impl From<ServiceError> for StepError {
    fn from(e: ServiceError) -> StepError {
        StepError::Service(e)
    }
}

impl From<PeerRefusal> for StepError {
    fn from(e: PeerRefusal) -> StepError {
        StepError::Service(e.into())
    }
}

impl StepError {
    fn code(&self) -> &str {
        match self {
            StepError::Service(e) => e.code(),
            StepError::Refused { code, .. } => code,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            StepError::Service(e) => status_of(e),
            // A refusal by the rules, as `status_of` answers `EngineError::Refused`.
            StepError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn body(&self) -> Vec<u8> {
        match self {
            StepError::Service(e) => error_body(e),
            StepError::Refused { code, message_zh } => serde_json::to_vec(&ErrorBody {
                code: code.clone(),
                message_zh: message_zh.clone(),
                message_en: "The receiving province refused the transfer.".to_string(),
            })
            .unwrap_or_default(),
        }
    }
}

async fn step(
    ledger: &dyn QuotaLedger,
    own: u32,
    caller: u32,
    path: &str,
    body: &[u8],
) -> Result<Vec<u8>, StepError> {
    use gongji_core::quota::Direction;
    use wire::*;
    // Only the figures may be asked by this province of itself: a transfer with oneself
    // is not one.
    if caller == own && path != PATH_FIGURES {
        return Err(PeerRefusal::UnknownProvince.into());
    }
    match path {
        PATH_ELIGIBILITY => {
            let ask: EligibilityIn = json_in(body)?;
            let e = ledger.eligibility(&ask.ask(caller)).await?;
            json_out(&EligibilityOut::from(e))
        }
        PATH_BIND => {
            let b = json_in::<BindIn>(body)?.binding(caller, own)?;
            ledger.bind_in(&b).await?;
            json_out(&StateOut {
                state: "bound".into(),
                transfer_id: None,
                amount: None,
            })
        }
        PATH_END => {
            let p = json_in::<PartiesIn>(body)?.parties(caller, own)?;
            ledger.end_in(&p).await?;
            json_out(&StateOut {
                state: "ended".into(),
                transfer_id: None,
                amount: None,
            })
        }
        PATH_CREDIT => {
            let t = json_in::<TransferIn>(body)?.transfer(Direction::Grant, caller, own)?;
            fault::point(fault::Point::BeforeCredit);
            let verdict = ledger.credit(&t).await?;
            fault::point(fault::Point::AfterCredit);
            verdict_out(&t.id, verdict)
        }
        PATH_RETURN => {
            let t = json_in::<TransferIn>(body)?.transfer(Direction::Return, own, caller)?;
            fault::point(fault::Point::BeforeCredit);
            let verdict = ledger.return_credit(&t).await?;
            fault::point(fault::Point::AfterCredit);
            verdict_out(&t.id, verdict)
        }
        PATH_LOWER => {
            let ask: LowerIn = json_in(body)?;
            let p = PartiesIn {
                holder_psn_no: ask.holder_psn_no.clone(),
                relative_psn_no: ask.relative_psn_no.clone(),
            }
            .parties(caller, own)?;
            let amount = ask.amount.as_deref().map(parse_amount).transpose()?;
            let lower_id = ask.checked_lower_id()?;
            let taken = ledger.lower(&p, amount, lower_id.as_deref()).await?;
            fault::point(fault::Point::AfterTakeReturn);
            json_out(&match taken {
                Some(t) => StateOut {
                    state: "returning".into(),
                    transfer_id: Some(t.id),
                    amount: Some(amount_text(t.amount)),
                },
                None => StateOut {
                    state: "nothing".into(),
                    transfer_id: None,
                    amount: None,
                },
            })
        }
        PATH_CONFIRM => {
            let ask: IdIn = json_in(body)?;
            let found = ledger.lookup(&ask.transfer_id).await?;
            json_out(&StateOut {
                state: match &found {
                    Some((_, Verdict::Applied)) => "credited",
                    Some((_, Verdict::Refused { .. })) => "refused",
                    None => "unknown",
                }
                .into(),
                amount: found.map(|(a, _)| amount_text(a)),
                transfer_id: Some(ask.transfer_id),
            })
        }
        PATH_SPENDING => {
            let p = json_in::<PartiesIn>(body)?.parties(caller, own)?;
            let spends = ledger.spends(&p).await?;
            json_out(&SpendingsOut {
                spends: spends.iter().map(SpendingOut::of).collect(),
            })
        }
        PATH_FIGURES => {
            let ask: FiguresIn = json_in(body)?;
            let peer = match (caller == own, ask.peer.as_deref()) {
                (true, Some(p)) => p
                    .parse::<u32>()
                    .map_err(|_| ServiceError::BadRequest("peer".to_string()))?,
                (true, None) => return Err(ServiceError::BadRequest("peer".to_string()).into()),
                (false, _) => caller,
            };
            let figures = ledger.figures(peer).await?;
            json_out(&FiguresOut::of(own, &figures))
        }
        _ => Err(ServiceError::NotFound("省际接口").into()),
    }
}
