//! The calling side: signs a step for a peer, sends it, and accepts an answer only when the
//! peer's key signed it for this request. An unsigned or wrongly signed answer is a failure
//! to retry, never a refusal: nobody but the peer may make A release a reservation.

use std::time::Duration;

use gongji_nhsa::peer_auth::{
    self, SignedAnswer, SignedRequest, HEADER_NONCE, HEADER_PROVINCE, HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{PeerRefusal, Peers};
use crate::api::errors::ErrorBody;

/// How long one call may take before it counts as unanswered.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What became of a call.
#[derive(Debug)]
pub enum CallError {
    /// The peer answered, signed, with a refusal of the step itself (4xx other than the
    /// authentication's): final, the step will not succeed by asking again.
    Refused { status: u16, body: ErrorBody },
    /// No usable answer (network, timeout, 5xx, authentication, unverified answer): retry.
    Failed(PeerRefusal),
}

impl CallError {
    pub fn code(&self) -> String {
        match self {
            CallError::Refused { body, .. } => body.code.clone(),
            CallError::Failed(r) => crate::service::ServiceError::Peer(r.clone())
                .code()
                .to_string(),
        }
    }
}

fn fresh_nonce() -> String {
    let bytes: [u8; 16] = rand::rngs::OsRng.gen();
    hex::encode(bytes)
}

/// Signs and sends `body` to `path` of province `to` (or of this province itself, at
/// `own_url`, for its figures); returns the verified answer's body.
pub async fn call<T: Serialize, R: DeserializeOwned>(
    http: &reqwest::Client,
    peers: &Peers,
    to: u32,
    path: &str,
    body: &T,
) -> Result<R, CallError> {
    let (url, key) = match peers.peer(to) {
        Some(p) => (p.url.clone(), p.key.clone()),
        None => return Err(CallError::Failed(PeerRefusal::UnknownProvince)),
    };
    call_at(http, peers, to, &url, &key, path, body).await
}

/// [`call`] to a base URL and key given by the caller (this province's own server).
pub async fn call_at<T: Serialize, R: DeserializeOwned>(
    http: &reqwest::Client,
    peers: &Peers,
    to: u32,
    base_url: &str,
    key: &peer_auth::VerifyingKey,
    path: &str,
    body: &T,
) -> Result<R, CallError> {
    let body = serde_json::to_vec(body)
        .map_err(|e| CallError::Failed(PeerRefusal::BadAnswer(e.to_string())))?;
    let from = format!("{:02}", peers.province);
    let to_text = format!("{to:02}");
    let nonce = fresh_nonce();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = peer_auth::sign_request(
        peers.key(),
        &SignedRequest {
            method: "POST",
            path,
            from: &from,
            to: &to_text,
            timestamp,
            nonce: &nonce,
            body: &body,
        },
    );
    let url = format!("{}{path}", base_url.trim_end_matches('/'));
    let answer = http
        .post(&url)
        .timeout(CALL_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_PROVINCE, &from)
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_NONCE, &nonce)
        .header(HEADER_SIGNATURE, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| CallError::Failed(PeerRefusal::Unreachable(e.without_url().to_string())))?;
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| CallError::Failed(PeerRefusal::Unreachable(e.without_url().to_string())))?;
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let unverified = |why: &str| CallError::Failed(PeerRefusal::BadAnswer(why.to_string()));
    if status >= 500 {
        return Err(CallError::Failed(PeerRefusal::Unreachable(format!(
            "HTTP {status}"
        ))));
    }
    let (Some(answer_from), Some(answer_ts), Some(answer_nonce), Some(answer_sig)) = (
        get(HEADER_PROVINCE),
        get(HEADER_TIMESTAMP),
        get(HEADER_NONCE),
        get(HEADER_SIGNATURE),
    ) else {
        return Err(unverified("unsigned answer"));
    };
    let answer_ts = peer_auth::parse_timestamp(&answer_ts).map_err(|_| unverified("timestamp"))?;
    if answer_from != to_text || answer_nonce != nonce {
        return Err(unverified("answer for another province or request"));
    }
    peer_auth::verify_answer(
        key,
        &SignedAnswer {
            status,
            from: &answer_from,
            timestamp: answer_ts,
            request_nonce: &nonce,
            body: &bytes,
        },
        &answer_sig,
    )
    .map_err(|_| unverified("signature"))?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&bytes).map_err(|_| unverified("body"));
    }
    let body: ErrorBody = serde_json::from_slice(&bytes).map_err(|_| unverified("error body"))?;
    // 401 and 429 are about this call (a clock, a key, a nonce), not about the step; a
    // transfer id the peer holds with another amount is not a "no" to release on (that
    // could create money): it stays in flight, shown to staff.
    let mismatch = body.code == gongji_core::Refusal::QuotaTransferMismatch.code();
    if status == 401 || status == 429 || mismatch {
        return Err(CallError::Failed(PeerRefusal::BadAnswer(body.code)));
    }
    Err(CallError::Refused { status, body })
}
