//! The request envelope (parsed and validated from bytes) and the response envelope.
//!
//! A request's `input` is kept as its exact source text ([`RawValue`], see [`crate::number`])
//! for [`crate::input::decode_input`]; it is never turned into a `serde_json::Value`, which
//! would lose the digits of its amounts.

use std::fmt;

use chrono::NaiveDateTime;
use gongji_core::codes::{Admdvs, Channel};
use gongji_core::pii::PersonName;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::{FieldProblem, MsgidProblem, WireError};
use crate::input::{decode_input, TxInput};
use crate::reader::Node;
use crate::wire_time;
use crate::BODY_BYTES_MAX;

/// The length of an institution code (`fixmedins_code`), which also opens every msgid.
pub const FIXMEDINS_CODE_LEN: usize = 12;

/// A sender's message id: institution code (12) + yyyyMMddHHmmss + 4-digit sequence.
/// The idempotency key of a request.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Msgid {
    text: String,
    sent_at: NaiveDateTime,
    sequence: u16,
}

impl Msgid {
    pub const LEN: usize = FIXMEDINS_CODE_LEN + 14 + 4;

    /// Checks the shape and that the first 12 characters are `fixmedins_code`.
    pub fn parse(text: &str, fixmedins_code: &str) -> Result<Msgid, WireError> {
        let bad = |problem| WireError::BadMsgid {
            msgid: text.to_string(),
            problem,
        };
        if text.len() != Msgid::LEN || !text.is_ascii() {
            return Err(bad(MsgidProblem::BadLength));
        }
        let (code, rest) = text.split_at(FIXMEDINS_CODE_LEN);
        let (time, seq) = rest.split_at(14);
        let sent_at = wire_time::parse_compact(time).ok_or_else(|| bad(MsgidProblem::BadTime))?;
        if !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(MsgidProblem::BadSequence));
        }
        let sequence = seq.parse().map_err(|_| bad(MsgidProblem::BadSequence))?;
        if code != fixmedins_code {
            return Err(bad(MsgidProblem::InstitutionMismatch));
        }
        Ok(Msgid {
            text: text.to_string(),
            sent_at,
            sequence,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The institution code it starts with.
    pub fn institution(&self) -> &str {
        &self.text[..FIXMEDINS_CODE_LEN]
    }

    /// The sender's time inside it.
    pub fn sent_at(&self) -> NaiveDateTime {
        self.sent_at
    }

    pub fn sequence(&self) -> u16 {
        self.sequence
    }
}

impl fmt::Display for Msgid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A validated request envelope. Field names are the wire names.
#[derive(Clone)]
pub struct Envelope {
    /// As sent (trimmed); checked against the served transactions by [`Envelope::decode_input`].
    pub infno: String,
    pub msgid: Msgid,
    /// Where care happens (the spec spells it `mdtrtarea_admvs`).
    pub mdtrtarea_admvs: Admdvs,
    /// Where the person is insured; required when the input carries a `psn_no`.
    pub insuplc_admdvs: Option<Admdvs>,
    pub recer_sys_code: String,
    pub dev_no: Option<String>,
    pub dev_safe_info: Option<String>,
    pub cainfo: Option<String>,
    pub signtype: Option<String>,
    /// From 9001.
    pub sign_no: Option<String>,
    pub enc_type: Option<String>,
    pub infver: String,
    /// `opter_type` 1, 2, 3 as [`Channel::Window`], [`Channel::SelfServiceTerminal`],
    /// [`Channel::MobileTerminal`].
    pub opter_type: Channel,
    pub opter: String,
    pub opter_name: PersonName,
    pub inf_time: NaiveDateTime,
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// The transaction's input object, exact text.
    pub input: Box<RawValue>,
}

/// `opter_type`: 1 clerk, 2 self-service terminal, 3 mobile terminal.
pub fn parse_opter_type(code: &str) -> Option<Channel> {
    match code.trim() {
        "1" => Some(Channel::Window),
        "2" => Some(Channel::SelfServiceTerminal),
        "3" => Some(Channel::MobileTerminal),
        _ => None,
    }
}

impl Envelope {
    /// Parses and validates a request body of at most [`BODY_BYTES_MAX`] bytes.
    pub fn parse(body: &[u8]) -> Result<Envelope, WireError> {
        if body.len() > BODY_BYTES_MAX {
            return Err(WireError::BodyTooLarge {
                bytes: body.len(),
                max: BODY_BYTES_MAX,
            });
        }
        let n = Node::root(body)?;
        let infno = n.text("infno")?.trim().to_string();
        let msgid_text = n.text("msgid")?;
        let fixmedins_code = n.text("fixmedins_code")?;
        if fixmedins_code.len() != FIXMEDINS_CODE_LEN
            || !fixmedins_code.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(WireError::BadField {
                field: "fixmedins_code".to_string(),
                problem: FieldProblem::BadLength {
                    expected: FIXMEDINS_CODE_LEN,
                },
            });
        }
        let msgid = Msgid::parse(&msgid_text, &fixmedins_code)?;
        Ok(Envelope {
            infno,
            msgid,
            mdtrtarea_admvs: n.admdvs("mdtrtarea_admvs")?,
            insuplc_admdvs: n.opt_admdvs("insuplc_admdvs")?,
            recer_sys_code: n.text("recer_sys_code")?,
            dev_no: n.opt_text("dev_no")?,
            dev_safe_info: n.opt_text("dev_safe_info")?,
            cainfo: n.opt_text("cainfo")?,
            signtype: n.opt_text("signtype")?,
            sign_no: n.opt_text("sign_no")?,
            enc_type: n.opt_text("enc_type")?,
            infver: n.text("infver")?,
            opter_type: n.code("opter_type", parse_opter_type)?,
            opter: n.text("opter")?,
            opter_name: PersonName::new(n.text("opter_name")?),
            inf_time: n.strict_datetime("inf_time")?,
            fixmedins_code,
            fixmedins_name: n.text("fixmedins_name")?,
            input: n.raw_object("input")?.to_owned(),
        })
    }

    /// Decodes `input` for this envelope's `infno`, and requires `insuplc_admdvs` when the
    /// input names a patient by `psn_no`.
    pub fn decode_input(&self) -> Result<TxInput, WireError> {
        let tx = decode_input(&self.infno, &self.input)?;
        if tx.psn_no().is_some() && self.insuplc_admdvs.is_none() {
            return Err(WireError::MissingField {
                field: "insuplc_admdvs".to_string(),
            });
        }
        Ok(tx)
    }

    /// Checks an infno appended to the URL (`.../callService/2207`) against the body's.
    pub fn check_path_infno(&self, path_infno: Option<&str>) -> Result<(), WireError> {
        match path_infno {
            Some(p) if p.trim() != self.infno => Err(WireError::InfnoMismatch {
                path: p.to_string(),
                body: self.infno.clone(),
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Envelope {
    /// Leaves out `input` (personal data) and the device's security fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("infno", &self.infno)
            .field("msgid", &self.msgid.as_str())
            .field("mdtrtarea_admvs", &self.mdtrtarea_admvs)
            .field("insuplc_admdvs", &self.insuplc_admdvs)
            .field("recer_sys_code", &self.recer_sys_code)
            .field("dev_no", &self.dev_no)
            .field("infver", &self.infver)
            .field("opter_type", &self.opter_type)
            .field("opter", &self.opter)
            .field("opter_name", &self.opter_name)
            .field("inf_time", &self.inf_time)
            .field("fixmedins_code", &self.fixmedins_code)
            .field("fixmedins_name", &self.fixmedins_name)
            .field("input_bytes", &self.input.get().len())
            .finish_non_exhaustive()
    }
}

// ---- response ----

/// `infcode`: sent as a JSON number, 0 or -1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum InfCode {
    Success,
    Failure,
}

impl InfCode {
    pub const fn value(self) -> i32 {
        match self {
            InfCode::Success => 0,
            InfCode::Failure => -1,
        }
    }
}

impl Serialize for InfCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.value())
    }
}

/// The empty `output` object `{}` (2202, 2203, 2205, and every failure).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize)]
pub struct EmptyOutput {}

/// The receiver's reference and times for one answer.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct RefIds {
    /// admdvs (6) + yyyyMMddHHmmss + 10-digit sequence.
    pub inf_refmsgid: String,
    /// When the request arrived: yyyyMMddHHmmssSSS.
    pub refmsg_time: String,
    /// When the answer was made: yyyyMMddHHmmssSSS.
    pub respond_time: String,
}

impl RefIds {
    /// The sequence is taken modulo 10¹⁰ to fit its 10 digits.
    pub const SEQUENCE_MODULUS: u64 = 10_000_000_000;

    /// `admdvs` is the answering centre's division (normally the envelope's
    /// `mdtrtarea_admvs`); the times are passed in, never read from a clock here.
    pub fn new(
        admdvs: Admdvs,
        received_at: NaiveDateTime,
        responded_at: NaiveDateTime,
        sequence: u64,
    ) -> RefIds {
        RefIds {
            inf_refmsgid: format!(
                "{admdvs}{}{:010}",
                wire_time::format_compact(received_at),
                sequence % RefIds::SEQUENCE_MODULUS
            ),
            refmsg_time: wire_time::format_compact_millis(received_at),
            respond_time: wire_time::format_compact_millis(responded_at),
        }
    }
}

/// The response envelope, serialized in this field order:
/// `infcode, inf_refmsgid, refmsg_time, respond_time, err_msg, output`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Response<O> {
    infcode: InfCode,
    inf_refmsgid: String,
    refmsg_time: String,
    respond_time: String,
    err_msg: String,
    output: O,
}

impl<O: Serialize> Response<O> {
    /// `infcode` 0, `err_msg` "".
    pub fn success(ids: RefIds, output: O) -> Response<O> {
        Response {
            infcode: InfCode::Success,
            inf_refmsgid: ids.inf_refmsgid,
            refmsg_time: ids.refmsg_time,
            respond_time: ids.respond_time,
            err_msg: String::new(),
            output,
        }
    }

    /// `infcode` -1 with `err_msg` (`CODE: 中文说明`, e.g. from [`WireError::err_msg`] or an
    /// engine refusal) and an empty `output`.
    pub fn failure(ids: RefIds, err_msg: impl Into<String>) -> Response<O>
    where
        O: Default,
    {
        Response {
            infcode: InfCode::Failure,
            inf_refmsgid: ids.inf_refmsgid,
            refmsg_time: ids.refmsg_time,
            respond_time: ids.respond_time,
            err_msg: err_msg.into(),
            output: O::default(),
        }
    }

    /// A failure for a request the wire layer refused.
    pub fn wire_failure(ids: RefIds, error: &WireError) -> Response<O>
    where
        O: Default,
    {
        Response::failure(ids, error.err_msg())
    }

    pub fn infcode(&self) -> InfCode {
        self.infcode
    }

    pub fn inf_refmsgid(&self) -> &str {
        &self.inf_refmsgid
    }

    pub fn err_msg(&self) -> &str {
        &self.err_msg
    }

    pub fn output(&self) -> &O {
        &self.output
    }

    /// The bytes to send (and to keep for replaying the same msgid).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}
