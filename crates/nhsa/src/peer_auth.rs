//! Signatures between provinces (issue 14): each Gongji signs the calls it makes to a peer
//! province, and the answers it gives, with its SM2 key; the other side verifies with the
//! public key its config names for that province.
//!
//! A request's signing string binds the method, the path, both provinces, the timestamp,
//! a nonce and the SM3 hash of the body; an answer's binds the status, the answering
//! province, the request's nonce (so an answer cannot be replayed onto another request)
//! and the SM3 hash of its body. The signature is SM2 over SM3 with the default user id
//! (GB/T 32918), the same as the app partners' envelope ([`crate::open_envelope`]).
//!
//! No clock and no codes here: the server gives the time, keeps the nonces and gives each
//! [`PeerAuthError`] its stable code.

use std::fmt;

use base64::Engine as _;
use sm2::dsa::signature::Verifier;
use sm2::dsa::Signature;
use sm3::{Digest, Sm3};

pub use crate::open_envelope::{SigningKey, VerifyingKey};

/// The sending province's code (2 digits).
pub const HEADER_PROVINCE: &str = "x-gongji-province";
/// Unix seconds when the request or answer was signed.
pub const HEADER_TIMESTAMP: &str = "x-gongji-timestamp";
/// The request's nonce; an answer repeats the request's.
pub const HEADER_NONCE: &str = "x-gongji-nonce";
/// Base64 of the 64-byte r‖s signature.
pub const HEADER_SIGNATURE: &str = "x-gongji-signature";

/// The longest nonce accepted (a UUID's 36 characters with room to spare).
pub const NONCE_BYTES_MAX: usize = 64;

const REQUEST_TAG: &str = "GONGJI-PEER-REQUEST-1";
const ANSWER_TAG: &str = "GONGJI-PEER-ANSWER-1";
const SIGNATURE_BYTES: usize = 64;

/// What a province signs when it calls another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path with its query, as sent (`/peer/v1/quota/credit`).
    pub path: &'a str,
    /// The calling province.
    pub from: &'a str,
    /// The called province: a request signed for one peer does not pass at another.
    pub to: &'a str,
    pub timestamp: i64,
    pub nonce: &'a str,
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    pub fn signing_string(&self) -> String {
        format!(
            "{REQUEST_TAG}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.method.to_ascii_uppercase(),
            self.path,
            self.from,
            self.to,
            self.timestamp,
            self.nonce,
            body_hash(self.body)
        )
    }
}

/// What the called province signs in its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAnswer<'a> {
    pub status: u16,
    /// The answering province.
    pub from: &'a str,
    pub timestamp: i64,
    /// The nonce of the request this answers.
    pub request_nonce: &'a str,
    pub body: &'a [u8],
}

impl SignedAnswer<'_> {
    pub fn signing_string(&self) -> String {
        format!(
            "{ANSWER_TAG}\n{}\n{}\n{}\n{}\n{}",
            self.status,
            self.from,
            self.timestamp,
            self.request_nonce,
            body_hash(self.body)
        )
    }
}

/// Why a signed call or answer was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerAuthError {
    /// A header is missing (named).
    MissingHeader(&'static str),
    /// A header is not of its form: the timestamp not Unix seconds, the nonce empty or too long.
    BadHeader(&'static str),
    /// The signature is not Base64 of 64 bytes, or does not verify with the peer's key.
    BadSignature,
}

impl fmt::Display for PeerAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAuthError::MissingHeader(name) => write!(f, "missing header {name}"),
            PeerAuthError::BadHeader(name) => write!(f, "malformed header {name}"),
            PeerAuthError::BadSignature => write!(f, "the signature does not verify"),
        }
    }
}

impl std::error::Error for PeerAuthError {}

/// Lowercase hex of SM3(body).
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sm3::digest(body))
}

pub fn sign_request(key: &SigningKey, request: &SignedRequest<'_>) -> String {
    crate::open_envelope::sign(key, &request.signing_string())
}

pub fn sign_answer(key: &SigningKey, answer: &SignedAnswer<'_>) -> String {
    crate::open_envelope::sign(key, &answer.signing_string())
}

pub fn verify_request(
    key: &VerifyingKey,
    request: &SignedRequest<'_>,
    signature_b64: &str,
) -> Result<(), PeerAuthError> {
    verify(key, &request.signing_string(), signature_b64)
}

pub fn verify_answer(
    key: &VerifyingKey,
    answer: &SignedAnswer<'_>,
    signature_b64: &str,
) -> Result<(), PeerAuthError> {
    verify(key, &answer.signing_string(), signature_b64)
}

/// The timestamp header's value, checked for form only (the window is the server's).
pub fn parse_timestamp(text: &str) -> Result<i64, PeerAuthError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| PeerAuthError::BadHeader(HEADER_TIMESTAMP))
}

/// The nonce header's value: 1 to [`NONCE_BYTES_MAX`] visible ASCII characters.
pub fn check_nonce(text: &str) -> Result<&str, PeerAuthError> {
    if text.is_empty()
        || text.len() > NONCE_BYTES_MAX
        || !text.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(PeerAuthError::BadHeader(HEADER_NONCE));
    }
    Ok(text)
}

fn verify(key: &VerifyingKey, text: &str, signature_b64: &str) -> Result<(), PeerAuthError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| PeerAuthError::BadSignature)?;
    if bytes.len() != SIGNATURE_BYTES {
        return Err(PeerAuthError::BadSignature);
    }
    let signature = Signature::from_slice(&bytes).map_err(|_| PeerAuthError::BadSignature)?;
    key.verify(text.as_bytes(), &signature)
        .map_err(|_| PeerAuthError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open_envelope::signing_key_from_bytes;

    fn key(seed: u8) -> SigningKey {
        signing_key_from_bytes(&[seed; 32]).expect("key")
    }

    fn request(body: &[u8]) -> SignedRequest<'_> {
        SignedRequest {
            method: "POST",
            path: "/peer/v1/quota/credit",
            from: "37",
            to: "44",
            timestamp: 1_800_000_000,
            nonce: "n-1",
            body,
        }
    }

    #[test]
    fn a_request_verifies_only_as_signed_and_only_with_the_senders_key() {
        let a = key(7);
        let signature = sign_request(&a, &request(b"{\"amount\":\"100.00\"}"));
        assert_eq!(
            verify_request(
                a.verifying_key(),
                &request(b"{\"amount\":\"100.00\"}"),
                &signature
            ),
            Ok(())
        );
        for changed in [
            SignedRequest {
                body: b"{\"amount\":\"900.00\"}",
                ..request(b"")
            },
            SignedRequest {
                path: "/peer/v1/quota/return",
                ..request(b"{\"amount\":\"100.00\"}")
            },
            SignedRequest {
                to: "45",
                ..request(b"{\"amount\":\"100.00\"}")
            },
            SignedRequest {
                timestamp: 1_800_000_001,
                ..request(b"{\"amount\":\"100.00\"}")
            },
            SignedRequest {
                nonce: "n-2",
                ..request(b"{\"amount\":\"100.00\"}")
            },
        ] {
            assert_eq!(
                verify_request(a.verifying_key(), &changed, &signature),
                Err(PeerAuthError::BadSignature),
                "{changed:?}"
            );
        }
        assert_eq!(
            verify_request(
                key(8).verifying_key(),
                &request(b"{\"amount\":\"100.00\"}"),
                &signature
            ),
            Err(PeerAuthError::BadSignature),
            "another province's key"
        );
        assert_eq!(
            verify_request(a.verifying_key(), &request(b""), "not base64!"),
            Err(PeerAuthError::BadSignature)
        );
    }

    #[test]
    fn an_answer_is_bound_to_the_request_it_answers() {
        let b = key(9);
        let answer = SignedAnswer {
            status: 200,
            from: "44",
            timestamp: 1_800_000_000,
            request_nonce: "n-1",
            body: b"{\"state\":\"credited\"}",
        };
        let signature = sign_answer(&b, &answer);
        assert_eq!(
            verify_answer(b.verifying_key(), &answer, &signature),
            Ok(())
        );
        let other = SignedAnswer {
            request_nonce: "n-2",
            ..answer.clone()
        };
        assert_eq!(
            verify_answer(b.verifying_key(), &other, &signature),
            Err(PeerAuthError::BadSignature)
        );
        let refused = SignedAnswer {
            status: 422,
            ..answer
        };
        assert_eq!(
            verify_answer(b.verifying_key(), &refused, &signature),
            Err(PeerAuthError::BadSignature)
        );
    }

    #[test]
    fn the_body_hash_is_sm3() {
        // GB/T 32905 example 1.
        assert_eq!(
            body_hash(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn headers_are_checked_for_form() {
        assert_eq!(parse_timestamp(" 1800000000 "), Ok(1_800_000_000));
        assert!(parse_timestamp("soon").is_err());
        assert!(check_nonce("").is_err());
        assert!(check_nonce("a b").is_err());
        assert!(check_nonce(&"x".repeat(65)).is_err());
        assert_eq!(check_nonce("0f3a-77"), Ok("0f3a-77"));
    }
}
