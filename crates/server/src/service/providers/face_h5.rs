//! Face verification by the H5 redirect flow that face services offer (the server obtains a
//! ticket, the person's browser visits the provider's page, the provider sends it back with a
//! result token, the server checks the result with the provider). The protocol, for a
//! provider or the adapter a bureau puts in front of its provider:
//!
//! 1. **Ticket** (server to server): `POST {api_base}/ticket` with
//!    `{"app_id","order_no","name","id_card","return_url","timestamp","nonce"}`; the provider
//!    answers `{"biz_token":"…"}`. `order_no` is Gongji's number for this check; `name` and
//!    `id_card` are the holder's, whose registered photo the face is compared with.
//! 2. **Page**: Gongji sends the browser to `{page_url}?app_id=…&biz_token=…`.
//! 3. **Return**: the provider sends the browser to `{return_url}?biz_token=…&result_token=…`
//!    (`return_url` is Gongji's `/h5/face/return`).
//! 4. **Result** (server to server): `POST {api_base}/result` with
//!    `{"app_id","biz_token","result_token","timestamp","nonce"}`; the provider answers
//!    `{"biz_token","order_no","id_card","passed":true|false}`.
//!
//! Both calls carry `Content-Type: application/json` and `X-Gongji-Signature` = hex
//! HMAC-SHA256(secret, `timestamp` + "\n" + `nonce` + "\n" + body), as the SMS webhook does;
//! the answers are trusted through TLS. Gongji accepts a result only for the check it started
//! for the person signed in now, once, before [`FACE_CHECK_TTL_SECS`], when the provider says
//! `passed` for the same `biz_token`, `order_no` and ID number.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{NaiveDateTime, TimeDelta};
use serde::Deserialize;

use super::{
    default_timeout_secs, gongji_signature, http_client, nonce, read_secret, FaceError, FacePassed,
    FacePerson, FaceRedirect, FaceVerifier, SIGNATURE_HEADER,
};

/// How long a started check may take before its result is refused.
pub const FACE_CHECK_TTL_SECS: i64 = 10 * 60;
/// Bound of the started and passed checks kept in memory; beyond it the expired go first.
pub const FACE_CHECKS_MAX: usize = 100_000;

/// `[face]` with `provider = "h5"`. The shared secret is read from `secret_file` or
/// `secret_env` (one of them).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceH5Config {
    /// Where the ticket and result calls go, e.g. `https://face.example.com/api`.
    pub api_base: String,
    /// The provider's page the person is sent to.
    pub page_url: String,
    pub app_id: String,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// This site's `/h5/face/return`, as the person's browser reaches it.
    pub return_url: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

struct Started {
    psn_no: String,
    certno: String,
    order_no: String,
    action: String,
    expires_at: NaiveDateTime,
}

pub struct FaceH5 {
    config: FaceH5Config,
    secret: String,
    client: reqwest::Client,
    started: Mutex<HashMap<String, Started>>,
    /// Passed checks' one-use tokens: whose they are and the action they were started for.
    passed: Mutex<HashMap<String, (String, String)>>,
}

impl FaceH5 {
    pub fn new(config: &FaceH5Config) -> Result<FaceH5, String> {
        let secret = read_secret(
            "face.secret",
            config.secret_file.as_deref(),
            config.secret_env.as_deref(),
        )?;
        for (what, url) in [
            ("face.api_base", &config.api_base),
            ("face.page_url", &config.page_url),
            ("face.return_url", &config.return_url),
        ] {
            reqwest::Url::parse(url).map_err(|e| format!("{what} {url}: {e}"))?;
        }
        Ok(FaceH5 {
            config: config.clone(),
            secret,
            client: http_client(config.timeout_secs)?,
            started: Mutex::new(HashMap::new()),
            passed: Mutex::new(HashMap::new()),
        })
    }

    /// One signed call to the provider; its JSON answer.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        mut body: serde_json::Value,
    ) -> Result<T, FaceError> {
        let timestamp = chrono::Utc::now().timestamp();
        let nonce = nonce();
        body["app_id"] = self.config.app_id.clone().into();
        body["timestamp"] = timestamp.into();
        body["nonce"] = nonce.clone().into();
        let bytes = serde_json::to_vec(&body).map_err(|e| FaceError::Unavailable(e.to_string()))?;
        let signature = gongji_signature(self.secret.as_bytes(), timestamp, &nonce, &bytes);
        let url = format!("{}/{path}", self.config.api_base.trim_end_matches('/'));
        let resp = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(bytes)
            .send()
            .await
            .map_err(|e| FaceError::Unavailable(format!("{path}: {}", e.without_url())))?;
        let status = resp.status();
        if status.is_client_error() && path == "result" {
            // The provider does not know this result token for this check.
            return Err(FaceError::Rejected(format!("{path}: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(FaceError::Unavailable(format!("{path}: HTTP {status}")));
        }
        resp.json()
            .await
            .map_err(|_| FaceError::Unavailable(format!("{path}: not the protocol's JSON")))
    }
}

fn random_token() -> String {
    format!("{}{}", nonce(), nonce())
}

#[derive(Deserialize)]
struct TicketAnswer {
    biz_token: String,
}

#[derive(Deserialize)]
struct ResultAnswer {
    biz_token: String,
    order_no: String,
    id_card: String,
    passed: bool,
}

#[async_trait::async_trait]
impl FaceRedirect for FaceH5 {
    async fn begin(
        &self,
        person: &FacePerson,
        action: &str,
        now: NaiveDateTime,
    ) -> Result<String, FaceError> {
        let order_no = nonce();
        let ticket: TicketAnswer = self
            .call(
                "ticket",
                serde_json::json!({
                    "order_no": order_no,
                    "name": person.name,
                    "id_card": person.certno,
                    "return_url": self.config.return_url,
                }),
            )
            .await?;
        if ticket.biz_token.is_empty() || ticket.biz_token.len() > 256 {
            return Err(FaceError::Unavailable("ticket: no biz_token".into()));
        }
        {
            let mut started = self
                .started
                .lock()
                .map_err(|_| FaceError::Unavailable("poisoned".into()))?;
            if started.len() >= FACE_CHECKS_MAX {
                started.retain(|_, s| s.expires_at > now);
                if started.len() >= FACE_CHECKS_MAX {
                    started.clear();
                }
            }
            started.insert(
                ticket.biz_token.clone(),
                Started {
                    psn_no: person.psn_no.clone(),
                    certno: person.certno.to_ascii_uppercase(),
                    order_no,
                    action: action.to_string(),
                    expires_at: now + TimeDelta::seconds(FACE_CHECK_TTL_SECS),
                },
            );
        }
        let mut url = reqwest::Url::parse(&self.config.page_url)
            .map_err(|e| FaceError::Unavailable(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("app_id", &self.config.app_id)
            .append_pair("biz_token", &ticket.biz_token);
        Ok(url.to_string())
    }

    async fn finish(
        &self,
        psn_no: &str,
        biz_token: &str,
        result_token: &str,
        now: NaiveDateTime,
    ) -> Result<FacePassed, FaceError> {
        // Taken out before anything else: a result token is good once, whatever follows.
        let started = self
            .started
            .lock()
            .map_err(|_| FaceError::Unavailable("poisoned".into()))?
            .remove(biz_token)
            .ok_or_else(|| FaceError::Rejected("no such check, or used already".into()))?;
        if started.psn_no != psn_no {
            return Err(FaceError::Rejected("the check of another person".into()));
        }
        if now >= started.expires_at {
            return Err(FaceError::Rejected("the check expired".into()));
        }
        let result: ResultAnswer = self
            .call(
                "result",
                serde_json::json!({ "biz_token": biz_token, "result_token": result_token }),
            )
            .await?;
        if !result.passed {
            return Err(FaceError::Rejected("the provider says not passed".into()));
        }
        if result.biz_token != biz_token
            || result.order_no != started.order_no
            || result.id_card.to_ascii_uppercase() != started.certno
        {
            return Err(FaceError::Rejected(
                "the provider's result is of another check or identity".into(),
            ));
        }
        let token = random_token();
        let mut passed = self
            .passed
            .lock()
            .map_err(|_| FaceError::Unavailable("poisoned".into()))?;
        if passed.len() >= FACE_CHECKS_MAX {
            passed.clear();
        }
        passed.insert(token.clone(), (started.psn_no, started.action.clone()));
        Ok(FacePassed {
            token,
            action: started.action,
        })
    }
}

impl FaceVerifier for FaceH5 {
    fn verify(&self, psn_no: &str, token: &str) -> bool {
        self.verify_for(psn_no, token, &|_| true)
    }

    fn verify_for(&self, psn_no: &str, token: &str, action_ok: &dyn Fn(&str) -> bool) -> bool {
        self.passed
            .lock()
            .ok()
            .and_then(|mut p| p.remove(token))
            .is_some_and(|(whose, action)| whose == psn_no && action_ok(&action))
    }

    fn redirect(&self) -> Option<&dyn FaceRedirect> {
        Some(self)
    }
}
