//! The terminal's side of the institution interface: what a hospital HIS or pharmacy POS
//! sends and how it reads the answers.
//!
//! Messages are the national envelope (msgid = institution code + `yyyyMMddHHmmss` + 4-digit
//! sequence), handed to [`institution::answer_as`] as the institution the till is signed in
//! for: the same envelope parser, institution check, engine command, msgid idempotency and
//! renderer as a signed request from outside, after the gateway check that the operator's
//! sign-in stands in for. No gateway token is read or made here. Amounts are written and read
//! as exact decimal text, never through `f64`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::NaiveDateTime;
use gongji_core::codes::Admdvs;
use gongji_core::Fen;
use gongji_engine::AuditNote;
use gongji_nhsa::client;
use gongji_nhsa::number::parse_amount;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::app::App;
use crate::institution::{self, Authenticated, NotThisInstitution};

/// How often a fresh msgid is tried again when the interface says it was used before.
const MSGID_TRIES: usize = 3;
/// The stable code of a reused msgid (see the engine).
const MSGID_REUSED: &str = "GJ-IDEMPOTENCY-MSGID-REUSED";

/// The institution the till speaks for: the signed-in operator's (or, in the demo only, the
/// one chosen on the page).
#[derive(Clone, Debug)]
pub struct Institution {
    pub code: String,
    pub name: String,
    pub admdvs: Admdvs,
    pub kind: gongji_core::codes::InstitutionKind,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn next_sequence() -> u64 {
    // Start somewhere different in every process, so that a restarted server with a pinned
    // clock does not reuse the msgids of the last run.
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    let _ = SEQUENCE.compare_exchange(0, seed % 9_000 + 1, Ordering::Relaxed, Ordering::Relaxed);
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// A new msgid at `at`: institution code (12) + `yyyyMMddHHmmss` + 4-digit sequence.
pub fn new_msgid(code: &str, at: NaiveDateTime) -> String {
    client::msgid(code, at, next_sequence())
}

/// The time inside a msgid, for the times of a message that must be the same when it is
/// sent again (a resubmitted settlement must be the same request).
pub fn msgid_time(msgid: &str) -> Option<NaiveDateTime> {
    client::msgid_time(msgid)
}

/// An amount on the wire: a JSON number with exactly two decimals.
pub fn amount(f: Fen) -> Box<RawValue> {
    client::amount(f)
}

/// One message sent and its answer, as shown in the page's message log.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub infno: String,
    pub msgid: String,
    pub request: String,
    pub response: String,
    /// `infcode` 0.
    pub ok: bool,
    pub err_msg: String,
}

#[derive(Deserialize)]
struct Answer<'a> {
    infcode: i32,
    #[serde(default)]
    err_msg: Option<String>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
}

/// Who sends: the institution, the channel (`opter_type` 1 window, 2 self-service) and the
/// patient's insurance division (`insuplc_admdvs`, empty before 1101).
pub struct Sender<'a> {
    pub app: &'a App,
    pub inst: &'a Institution,
    pub opter_type: &'a str,
    pub insuplc_admdvs: &'a str,
    pub now: NaiveDateTime,
}

/// Why a message got no usable answer.
#[derive(Debug)]
pub enum CallError {
    /// The interface refused to act as the institution named (HTTP 401 from outside).
    Gateway(String),
    /// Something that should not happen: the request could not be built or the answer read.
    Internal(String),
}

impl Sender<'_> {
    /// Sends `input` as transaction `infno` under `msgid` (a new one when `None`) and returns
    /// the exchange. A new msgid that the interface says was used before is replaced and the
    /// message sent again; a given msgid is sent as it is (that is what makes a resubmitted
    /// form idempotent).
    pub async fn call<I: Serialize>(
        &self,
        infno: &str,
        msgid: Option<&str>,
        input: &I,
    ) -> Result<Exchange, CallError> {
        let mut last = None;
        for _ in 0..MSGID_TRIES {
            let id = match msgid {
                Some(m) => m.to_string(),
                None => new_msgid(&self.inst.code, self.now),
            };
            let ex = self.send(infno, &id, input, None).await?;
            let reused = !ex.ok && ex.err_msg.starts_with(MSGID_REUSED);
            if msgid.is_some() || !reused {
                return Ok(ex);
            }
            last = Some(ex);
        }
        last.ok_or_else(|| CallError::Internal("no answer".into()))
    }

    /// Sends the settlement `input` (2102 / 2207) under `msgid` with `audit`, which commits
    /// with the settlement or not at all; a replay of `msgid` writes no second row.
    pub async fn settle_audited<I: Serialize>(
        &self,
        infno: &str,
        msgid: &str,
        input: &I,
        audit: AuditNote,
    ) -> Result<Exchange, CallError> {
        self.send(infno, msgid, input, Some(audit)).await
    }

    async fn send<I: Serialize>(
        &self,
        infno: &str,
        msgid: &str,
        input: &I,
        settlement_audit: Option<AuditNote>,
    ) -> Result<Exchange, CallError> {
        let at = msgid_time(msgid).unwrap_or(self.now);
        let (opter, opter_name) = if self.opter_type == "2" {
            ("SELF01", "自助终端")
        } else {
            ("0001", "收费员")
        };
        let sender = client::Sender::new(
            self.inst.code.as_str(),
            self.inst.name.as_str(),
            self.inst.admdvs.to_string(),
        )
        .device("WEB-TERMINAL")
        .operator(self.opter_type, opter, opter_name);
        let body = sender
            .body(infno, msgid, self.insuplc_admdvs, at, input)
            .map_err(|e| CallError::Internal(format!("request: {e}")))?;
        let authenticated = Authenticated {
            fixmedins_code: self.inst.code.clone(),
            admdvs: self.inst.admdvs,
            kind: self.inst.kind,
        };
        let bytes = institution::answer_as(
            self.app,
            &authenticated,
            None,
            body.as_bytes(),
            Instant::now(),
            self.app.clock.now(),
            settlement_audit,
        )
        .await
        .map_err(|NotThisInstitution { .. }| {
            CallError::Gateway(institution::INSTITUTION_MISMATCH.to_string())
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let answer: Answer<'_> =
            serde_json::from_str(&text).map_err(|e| CallError::Internal(format!("answer: {e}")))?;
        Ok(Exchange {
            infno: infno.to_string(),
            msgid: msgid.to_string(),
            request: body,
            ok: answer.infcode == 0,
            err_msg: answer.err_msg.unwrap_or_default(),
            response: text,
        })
    }
}

impl Exchange {
    /// The `output` object read as `T`.
    pub fn output<'a, T: Deserialize<'a>>(&'a self) -> Result<T, CallError> {
        let answer: Answer<'a> = serde_json::from_str(&self.response)
            .map_err(|e| CallError::Internal(format!("answer: {e}")))?;
        let raw = answer
            .output
            .ok_or_else(|| CallError::Internal("answer without output".into()))?;
        serde_json::from_str(raw.get())
            .map_err(|e| CallError::Internal(format!("{} output: {e}", self.infno)))
    }
}

// ---- reading answers exactly ----

/// An amount read from its JSON text, exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount(pub Fen);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get().trim().trim_matches('"');
        if text.is_empty() {
            return Ok(Amount(Fen::ZERO));
        }
        parse_amount(text)
            .map(Amount)
            .map_err(|e| serde::de::Error::custom(format!("amount {text}: {e}")))
    }
}

/// 1101 output.
#[derive(Deserialize)]
pub struct PersonInfo {
    pub baseinfo: BaseInfo,
    #[serde(default)]
    pub insuinfo: Vec<InsuInfo>,
}

#[derive(Deserialize)]
pub struct BaseInfo {
    pub psn_no: String,
    pub certno: String,
    pub psn_name: String,
    pub gend: String,
    pub age: u32,
}

#[derive(Deserialize)]
pub struct InsuInfo {
    pub balc: Amount,
    pub insutype: String,
    pub psn_insu_stas: String,
    pub insuplc_admdvs: String,
    #[serde(default)]
    pub emp_name: String,
}

/// 2201 output.
#[derive(Deserialize)]
pub struct Registered {
    pub data: RegisteredData,
}

#[derive(Deserialize)]
pub struct RegisteredData {
    pub mdtrt_id: String,
}

/// 2101, 2102, 2206, 2207, 2208, 2103 output.
#[derive(Deserialize)]
pub struct Settlement {
    pub setlinfo: SetlInfo,
    #[serde(default)]
    pub setldetail: Vec<SetlDetail>,
}

#[derive(Deserialize)]
pub struct SetlInfo {
    #[serde(default)]
    pub mdtrt_id: String,
    #[serde(default)]
    pub setl_id: Option<String>,
    pub psn_name: String,
    pub certno: String,
    pub setl_time: String,
    pub med_type: String,
    pub medfee_sumamt: Amount,
    #[serde(default)]
    pub fulamt_ownpay_amt: Amount,
    #[serde(default)]
    pub overlmt_selfpay: Amount,
    #[serde(default)]
    pub preselfpay_amt: Amount,
    #[serde(default)]
    pub inscp_scp_amt: Amount,
    pub fund_pay_sumamt: Amount,
    pub acct_pay: Amount,
    #[serde(alias = "pdn_cash_pay")]
    pub psn_cash_pay: Amount,
    #[serde(default)]
    pub hosp_part_amt: Amount,
    pub balc: Amount,
    #[serde(default)]
    pub acct_mulaid_pay: Amount,
    #[serde(default)]
    pub medins_setl_id: String,
}

#[derive(Deserialize)]
pub struct SetlDetail {
    pub fund_pay_type: String,
    pub fund_payamt: Amount,
    pub fund_pay_type_name: String,
    #[serde(default)]
    pub setl_proc_info: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgids_have_the_national_shape() {
        let at = NaiveDateTime::parse_from_str("2026-03-10 09:00:05", "%Y-%m-%d %H:%M:%S")
            .unwrap_or_default();
        let m = new_msgid("P37030000001", at);
        assert_eq!(m.len(), 30);
        assert!(m.starts_with("P3703000000120260310090005"));
        assert_eq!(msgid_time(&m), Some(at));
        assert_ne!(new_msgid("P37030000001", at), m);
    }

    #[test]
    fn amounts_are_read_exactly() {
        let a: Amount = serde_json::from_str("12345678.99").unwrap_or_default();
        assert_eq!(a.0, Fen::from_fen(1_234_567_899));
        let b: Amount = serde_json::from_str("\"-0.10\"").unwrap_or_default();
        assert_eq!(b.0, Fen::from_fen(-10));
        assert!(serde_json::from_str::<Amount>("1.234").is_err());
    }
}
