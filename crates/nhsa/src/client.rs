//! The sending side of the interface: what a hospital HIS, a pharmacy POS, the benchmark and
//! the tests put on the wire. One place builds the request envelope (with serde, so a name
//! with quotes or backslashes stays one JSON string), the msgid and the signed `x-tif-*`
//! headers; the receiving side ([`crate::envelope::Envelope::parse`]) reads exactly what this
//! writes.
//!
//! No I/O: a caller gets the body and the headers and sends them with its own HTTP client
//! (or hands them to the server in process), so this crate stays free of HTTP dependencies.

use chrono::NaiveDateTime;
use gongji_core::Fen;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::auth::{sign, HEADER_NONCE, HEADER_PAASID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::envelope::FIXMEDINS_CODE_LEN;
use crate::wire_time;

/// The interface version every request names.
pub const INFVER: &str = "V1.0";

/// The institution, system and operator a request comes from: the envelope's fields that do
/// not change from one request to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// Where care happens (the spec spells it `mdtrtarea_admvs`).
    pub mdtrtarea_admvs: String,
    pub recer_sys_code: String,
    pub dev_no: String,
    /// 1 window, 2 self-service terminal, 3 mobile terminal.
    pub opter_type: String,
    pub opter: String,
    pub opter_name: String,
}

impl Sender {
    /// A clerk at a window ("0001", 收费员) of system `GONGJI`, no device number.
    pub fn new(
        fixmedins_code: impl Into<String>,
        fixmedins_name: impl Into<String>,
        mdtrtarea_admvs: impl Into<String>,
    ) -> Sender {
        Sender {
            fixmedins_code: fixmedins_code.into(),
            fixmedins_name: fixmedins_name.into(),
            mdtrtarea_admvs: mdtrtarea_admvs.into(),
            recer_sys_code: "GONGJI".to_string(),
            dev_no: String::new(),
            opter_type: "1".to_string(),
            opter: "0001".to_string(),
            opter_name: "收费员".to_string(),
        }
    }

    /// The sending system's code (`recer_sys_code`).
    pub fn system(mut self, recer_sys_code: impl Into<String>) -> Sender {
        self.recer_sys_code = recer_sys_code.into();
        self
    }

    pub fn device(mut self, dev_no: impl Into<String>) -> Sender {
        self.dev_no = dev_no.into();
        self
    }

    /// Who operates: `opter_type` (1 window, 2 self-service, 3 mobile), id and name.
    pub fn operator(
        mut self,
        opter_type: impl Into<String>,
        opter: impl Into<String>,
        opter_name: impl Into<String>,
    ) -> Sender {
        self.opter_type = opter_type.into();
        self.opter = opter.into();
        self.opter_name = opter_name.into();
        self
    }

    /// The request body of transaction `infno` carrying `input`, for a patient insured in
    /// `insuplc_admdvs` (empty before 1101 has told the terminal), sent at `inf_time`.
    ///
    /// `input` is any serde value; amounts inside it should be [`amount`]s so they go out as
    /// exact two-decimal numbers. An input that does not serialize to a JSON object is
    /// refused by the receiver, not here.
    pub fn body<I: Serialize + ?Sized>(
        &self,
        infno: &str,
        msgid: &str,
        insuplc_admdvs: &str,
        inf_time: NaiveDateTime,
        input: &I,
    ) -> Result<String, serde_json::Error> {
        serde_json::to_string(&RequestEnvelope {
            infno,
            msgid,
            mdtrtarea_admvs: &self.mdtrtarea_admvs,
            insuplc_admdvs,
            recer_sys_code: &self.recer_sys_code,
            dev_no: &self.dev_no,
            dev_safe_info: "",
            cainfo: "",
            signtype: "",
            infver: INFVER,
            opter_type: &self.opter_type,
            opter: &self.opter,
            opter_name: &self.opter_name,
            inf_time: wire_time::format_datetime(inf_time),
            fixmedins_code: &self.fixmedins_code,
            fixmedins_name: &self.fixmedins_name,
            sign_no: "",
            input,
        })
    }

    /// A msgid of this institution: see [`msgid`].
    pub fn msgid(&self, at: NaiveDateTime, sequence: u64) -> String {
        msgid(&self.fixmedins_code, at, sequence)
    }
}

/// The envelope in the field order of the interface's examples.
#[derive(Serialize)]
struct RequestEnvelope<'a, I: ?Sized> {
    infno: &'a str,
    msgid: &'a str,
    mdtrtarea_admvs: &'a str,
    insuplc_admdvs: &'a str,
    recer_sys_code: &'a str,
    dev_no: &'a str,
    dev_safe_info: &'a str,
    cainfo: &'a str,
    signtype: &'a str,
    infver: &'a str,
    opter_type: &'a str,
    opter: &'a str,
    opter_name: &'a str,
    inf_time: String,
    fixmedins_code: &'a str,
    fixmedins_name: &'a str,
    sign_no: &'a str,
    input: &'a I,
}

/// A msgid: institution code (12) + `yyyyMMddHHmmss` of `at` + the sequence's last 4 digits.
/// A sender that sends more than 10,000 messages in one second moves `at` on a second.
pub fn msgid(fixmedins_code: &str, at: NaiveDateTime, sequence: u64) -> String {
    format!(
        "{fixmedins_code}{}{:04}",
        wire_time::format_compact(at),
        sequence % 10_000
    )
}

/// The sender's time inside a msgid (a message sent again keeps its times).
pub fn msgid_time(msgid: &str) -> Option<NaiveDateTime> {
    wire_time::parse_compact(msgid.get(FIXMEDINS_CODE_LEN..FIXMEDINS_CODE_LEN + 14)?)
}

/// The four `x-tif-*` gateway headers of one request, signed with the paasid's `token` at
/// `timestamp` (Unix seconds) under a `nonce` the sender never uses again.
pub fn signed_headers(
    paasid: &str,
    token: &str,
    timestamp: i64,
    nonce: &str,
) -> [(&'static str, String); 4] {
    let ts = timestamp.to_string();
    let signature = sign(&ts, token, nonce);
    [
        (HEADER_PAASID, paasid.to_string()),
        (HEADER_TIMESTAMP, ts),
        (HEADER_NONCE, nonce.to_string()),
        (HEADER_SIGNATURE, signature),
    ]
}

/// An amount as the wire writes it: a JSON number with exactly two decimals (`12.30`), never
/// through `f64`. Only serde_json can write it.
pub fn amount(f: Fen) -> Box<RawValue> {
    // A Fen always prints as a valid JSON number; the fallback is unreachable.
    RawValue::from_string(f.to_string())
        .unwrap_or_else(|_| RawValue::from_string("0.00".to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Envelope;
    use crate::input::TxInput;
    use gongji_core::codes::Channel;

    fn at() -> NaiveDateTime {
        wire_time::parse_datetime("2026-03-10 09:00:05").unwrap_or_default()
    }

    #[test]
    fn what_the_client_writes_the_parser_reads_back() {
        let name = r#"济南"仁和"药房\分店 \u0022 }"#;
        let sender = Sender::new("P37010200001", name, "370102")
            .system("GJTEST")
            .operator("2", "SELF01", r#"自助\"终端""#);
        let msgid = sender.msgid(at(), 12_345);
        assert_eq!(msgid, "P37010200001202603100900052345");
        let input = serde_json::json!({
            "data": {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": "37010219800101001X"}
        });
        let body = sender
            .body("2103", &msgid, "370303", at(), &input)
            .unwrap_or_default();
        let env = match Envelope::parse(body.as_bytes()) {
            Ok(env) => env,
            Err(e) => panic!("{body}: {e:?}"),
        };
        assert_eq!(env.infno, "2103");
        assert_eq!(env.msgid.as_str(), msgid);
        assert_eq!(env.msgid.sent_at(), at());
        assert_eq!(env.fixmedins_code, "P37010200001");
        assert_eq!(env.fixmedins_name, name);
        assert_eq!(env.opter_name.reveal(), r#"自助\"终端""#);
        assert_eq!(env.opter_type, Channel::SelfServiceTerminal);
        assert_eq!(env.recer_sys_code, "GJTEST");
        assert_eq!(env.inf_time, at());
        assert_eq!(env.mdtrtarea_admvs.to_string(), "370102");
        assert_eq!(
            env.insuplc_admdvs.map(|a| a.to_string()),
            Some("370303".into())
        );
        match env.decode_input() {
            Ok(TxInput::DrugCancel(c)) => assert_eq!(c.setl_id, "S1"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn amounts_go_out_exactly() {
        #[derive(Serialize)]
        struct Sum {
            medfee_sumamt: Box<RawValue>,
        }
        let text = serde_json::to_string(&Sum {
            medfee_sumamt: amount(Fen::from_fen(1_234_567_890)),
        })
        .unwrap_or_default();
        assert_eq!(text, r#"{"medfee_sumamt":12345678.90}"#);
    }

    #[test]
    fn msgid_times_read_back_and_sequences_keep_four_digits() {
        assert_eq!(msgid_time(&msgid("P37010200001", at(), 7)), Some(at()));
        assert!(msgid("P37010200001", at(), 7).ends_with("0007"));
        assert_eq!(msgid_time("short"), None);
    }

    #[test]
    fn signed_headers_pass_the_gateway_check() {
        let headers = signed_headers("paas-1", "secret", 1_773_100_000, "n-1");
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        let read = crate::auth::GatewayHeaders::from_lookup(get);
        assert_eq!(read.paasid.as_deref(), Some("paas-1"));
        assert_eq!(
            read.signature.as_deref(),
            Some(sign("1773100000", "secret", "n-1").as_str())
        );
    }
}
