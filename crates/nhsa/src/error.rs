//! Why a request could not be read: one stable code per variant, a Chinese and an English
//! message that name the field, and [`WireError::err_msg`] for the response envelope.
//!
//! Messages never echo personal data: only code values, message ids and short number texts
//! (truncated to [`ECHO_CHARS_MAX`] characters) are quoted back.

use std::fmt;

use gongji_core::money::MoneyParseError;

/// The most characters of a client's value quoted back in an error message.
pub const ECHO_CHARS_MAX: usize = 32;

/// A request the wire layer refuses. Nothing has been changed when one is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The body is larger than [`crate::BODY_BYTES_MAX`].
    BodyTooLarge { bytes: usize, max: usize },
    /// The body is not UTF-8 JSON, or its top level is not an object.
    BadJson { detail: String },
    /// The same key appears twice in one object (parsers disagree on which one wins).
    DuplicateKey { field: String },
    /// A required field is absent, `null` or an empty string.
    MissingField { field: String },
    /// A field has the wrong JSON type, an unknown code, or a malformed date, time or id.
    BadField {
        field: String,
        problem: FieldProblem,
    },
    /// An amount, price or count is not an exact decimal within its scale and range.
    BadAmount {
        field: String,
        problem: AmountProblem,
    },
    /// An array has more elements than its named limit.
    TooManyLines {
        field: String,
        count: usize,
        max: usize,
    },
    /// `infno` names no transaction this interface serves.
    UnknownInfno { infno: String },
    /// The infno in the URL path differs from the body's `infno`.
    InfnoMismatch { path: String, body: String },
    /// `msgid` is not institution code (12) + yyyyMMddHHmmss + 4 digits, or names another
    /// institution than `fixmedins_code`.
    BadMsgid {
        msgid: String,
        problem: MsgidProblem,
    },
}

/// What is wrong with a field (see [`WireError::BadField`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    NotText,
    NotObject,
    NotArray,
    /// Not one of the field's code values.
    BadCode {
        value: String,
    },
    /// A code value the transaction does not allow here (e.g. 2101/2102 `med_type` must be 41).
    NotAllowed {
        value: String,
        allowed: &'static str,
    },
    /// Not a date-time in the given format (e.g. `yyyy-MM-dd HH:mm:ss`).
    BadDateTime {
        format: &'static str,
    },
    /// Not a non-negative whole number.
    BadInteger,
    /// Not a 6-digit administrative division code.
    BadAdmdvs,
    /// Must be exactly this many characters.
    BadLength {
        expected: usize,
    },
    TooLong {
        max: usize,
    },
    /// Differs from the same field in another element of the request (e.g. `feedetail[0]`).
    Mismatch {
        other: String,
    },
    /// The same value already appears in another element (e.g. a repeated `feedetl_sn`).
    Repeated {
        other: String,
    },
    /// An end date before the begin date.
    EndBeforeBegin,
    /// An array that must have at least one element is empty.
    Empty,
}

/// What is wrong with a number (see [`WireError::BadAmount`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountProblem {
    NotANumber { text: String },
    TooManyDecimals { text: String, max: u32 },
    OutOfRange { text: String },
    Negative { text: String },
}

/// What is wrong with a `msgid` (see [`WireError::BadMsgid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgidProblem {
    /// Not 30 ASCII characters.
    BadLength,
    /// Characters 13-26 are not a real date-time yyyyMMddHHmmss.
    BadTime,
    /// The last 4 characters are not digits.
    BadSequence,
    /// The first 12 characters differ from `fixmedins_code`.
    InstitutionMismatch,
}

/// Truncates a client's value for quoting in a message.
pub(crate) fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(ECHO_CHARS_MAX).collect();
    if text.chars().count() > ECHO_CHARS_MAX {
        out.push('…');
    }
    out
}

impl AmountProblem {
    pub(crate) fn from_parse(err: MoneyParseError, text: &str) -> AmountProblem {
        let text = echo(text);
        match err {
            MoneyParseError::Empty | MoneyParseError::NotANumber => {
                AmountProblem::NotANumber { text }
            }
            MoneyParseError::TooManyDecimals { max } => {
                AmountProblem::TooManyDecimals { text, max }
            }
            MoneyParseError::OutOfRange => AmountProblem::OutOfRange { text },
        }
    }

    fn zh(&self) -> String {
        match self {
            AmountProblem::NotANumber { text } => format!("“{text}”不是数字"),
            AmountProblem::TooManyDecimals { text, max } => {
                format!("“{text}”超过{max}位小数")
            }
            AmountProblem::OutOfRange { text } => format!("“{text}”超出范围"),
            AmountProblem::Negative { text } => format!("“{text}”不能为负数"),
        }
    }

    fn en(&self) -> String {
        match self {
            AmountProblem::NotANumber { text } => format!("\"{text}\" is not a number"),
            AmountProblem::TooManyDecimals { text, max } => {
                format!("\"{text}\" has more than {max} decimals")
            }
            AmountProblem::OutOfRange { text } => format!("\"{text}\" is out of range"),
            AmountProblem::Negative { text } => format!("\"{text}\" must not be negative"),
        }
    }
}

impl FieldProblem {
    fn zh(&self) -> String {
        match self {
            FieldProblem::NotText => "应为字符串".to_string(),
            FieldProblem::NotObject => "应为对象".to_string(),
            FieldProblem::NotArray => "应为数组".to_string(),
            FieldProblem::BadCode { value } => format!("代码“{value}”无效"),
            FieldProblem::NotAllowed { value, allowed } => {
                format!("此交易不接受“{value}”，应为{allowed}")
            }
            FieldProblem::BadDateTime { format } => format!("应为{format}格式"),
            FieldProblem::BadInteger => "应为非负整数".to_string(),
            FieldProblem::BadAdmdvs => "应为6位医保区划代码".to_string(),
            FieldProblem::BadLength { expected } => format!("长度应为{expected}位"),
            FieldProblem::TooLong { max } => format!("超过{max}字节"),
            FieldProblem::Mismatch { other } => format!("与{other}不一致"),
            FieldProblem::Repeated { other } => format!("与{other}重复"),
            FieldProblem::EndBeforeBegin => "结束日期早于开始日期".to_string(),
            FieldProblem::Empty => "不能为空数组".to_string(),
        }
    }

    fn en(&self) -> String {
        match self {
            FieldProblem::NotText => "must be a string".to_string(),
            FieldProblem::NotObject => "must be an object".to_string(),
            FieldProblem::NotArray => "must be an array".to_string(),
            FieldProblem::BadCode { value } => format!("\"{value}\" is not a valid code"),
            FieldProblem::NotAllowed { value, allowed } => {
                format!("\"{value}\" is not allowed in this transaction, expected {allowed}")
            }
            FieldProblem::BadDateTime { format } => format!("must have the format {format}"),
            FieldProblem::BadInteger => "must be a non-negative whole number".to_string(),
            FieldProblem::BadAdmdvs => "must be a 6-digit admdvs code".to_string(),
            FieldProblem::BadLength { expected } => {
                format!("must be exactly {expected} characters")
            }
            FieldProblem::TooLong { max } => format!("is longer than {max} bytes"),
            FieldProblem::Mismatch { other } => format!("differs from {other}"),
            FieldProblem::Repeated { other } => format!("repeats {other}"),
            FieldProblem::EndBeforeBegin => "the end date is before the begin date".to_string(),
            FieldProblem::Empty => "must not be an empty array".to_string(),
        }
    }
}

impl MsgidProblem {
    fn zh(self) -> &'static str {
        match self {
            MsgidProblem::BadLength => "应为30位：机构编码12位+yyyyMMddHHmmss+4位顺序号",
            MsgidProblem::BadTime => "第13-26位不是有效时间yyyyMMddHHmmss",
            MsgidProblem::BadSequence => "末4位应为数字顺序号",
            MsgidProblem::InstitutionMismatch => "前12位与fixmedins_code不一致",
        }
    }

    fn en(self) -> &'static str {
        match self {
            MsgidProblem::BadLength => {
                "must be 30 characters: institution code (12) + yyyyMMddHHmmss + 4 digits"
            }
            MsgidProblem::BadTime => "characters 13-26 are not a valid yyyyMMddHHmmss",
            MsgidProblem::BadSequence => "the last 4 characters must be digits",
            MsgidProblem::InstitutionMismatch => {
                "the first 12 characters differ from fixmedins_code"
            }
        }
    }
}

impl WireError {
    /// Every code a [`WireError`] can carry, for the error catalogue.
    pub const CODES: &'static [&'static str] = &[
        "GJ-WIRE-BODY-TOO-LARGE",
        "GJ-WIRE-BAD-JSON",
        "GJ-WIRE-DUPLICATE-KEY",
        "GJ-WIRE-MISSING-FIELD",
        "GJ-WIRE-BAD-FIELD",
        "GJ-WIRE-BAD-AMOUNT",
        "GJ-WIRE-TOO-MANY-LINES",
        "GJ-WIRE-UNKNOWN-INFNO",
        "GJ-WIRE-INFNO-MISMATCH",
        "GJ-WIRE-BAD-MSGID",
    ];

    /// The stable code, e.g. `GJ-WIRE-MISSING-FIELD`.
    pub const fn code(&self) -> &'static str {
        match self {
            WireError::BodyTooLarge { .. } => "GJ-WIRE-BODY-TOO-LARGE",
            WireError::BadJson { .. } => "GJ-WIRE-BAD-JSON",
            WireError::DuplicateKey { .. } => "GJ-WIRE-DUPLICATE-KEY",
            WireError::MissingField { .. } => "GJ-WIRE-MISSING-FIELD",
            WireError::BadField { .. } => "GJ-WIRE-BAD-FIELD",
            WireError::BadAmount { .. } => "GJ-WIRE-BAD-AMOUNT",
            WireError::TooManyLines { .. } => "GJ-WIRE-TOO-MANY-LINES",
            WireError::UnknownInfno { .. } => "GJ-WIRE-UNKNOWN-INFNO",
            WireError::InfnoMismatch { .. } => "GJ-WIRE-INFNO-MISMATCH",
            WireError::BadMsgid { .. } => "GJ-WIRE-BAD-MSGID",
        }
    }

    /// The field the error is about (`input.feedetail[3].cnt`), where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            WireError::DuplicateKey { field }
            | WireError::MissingField { field }
            | WireError::BadField { field, .. }
            | WireError::BadAmount { field, .. }
            | WireError::TooManyLines { field, .. } => Some(field),
            WireError::UnknownInfno { .. } | WireError::InfnoMismatch { .. } => Some("infno"),
            WireError::BadMsgid { .. } => Some("msgid"),
            WireError::BodyTooLarge { .. } | WireError::BadJson { .. } => None,
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            WireError::BodyTooLarge { bytes, max } => {
                format!("报文{bytes}字节，超过上限{max}字节")
            }
            WireError::BadJson { detail } => format!("报文不是有效的JSON对象（{detail}）"),
            WireError::DuplicateKey { field } => format!("字段{field}重复出现"),
            WireError::MissingField { field } => format!("缺少必填字段{field}"),
            WireError::BadField { field, problem } => format!("字段{field}{}", problem.zh()),
            WireError::BadAmount { field, problem } => {
                format!("数值字段{field}：{}", problem.zh())
            }
            WireError::TooManyLines { field, count, max } => {
                format!("{field}有{count}条，超过上限{max}条")
            }
            WireError::UnknownInfno { infno } => format!("不支持的交易编号“{}”", echo(infno)),
            WireError::InfnoMismatch { path, body } => format!(
                "地址中的交易编号“{}”与报文infno“{}”不一致",
                echo(path),
                echo(body)
            ),
            WireError::BadMsgid { msgid, problem } => {
                format!("报文ID“{}”{}", echo(msgid), problem.zh())
            }
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            WireError::BodyTooLarge { bytes, max } => {
                format!("the body has {bytes} bytes, more than the limit of {max}")
            }
            WireError::BadJson { detail } => format!("the body is not a JSON object ({detail})"),
            WireError::DuplicateKey { field } => format!("the field {field} appears twice"),
            WireError::MissingField { field } => format!("the required field {field} is missing"),
            WireError::BadField { field, problem } => {
                format!("the field {field} {}", problem.en())
            }
            WireError::BadAmount { field, problem } => {
                format!("the number {field}: {}", problem.en())
            }
            WireError::TooManyLines { field, count, max } => {
                format!("{field} has {count} elements, more than the limit of {max}")
            }
            WireError::UnknownInfno { infno } => {
                format!("transaction \"{}\" is not served", echo(infno))
            }
            WireError::InfnoMismatch { path, body } => format!(
                "the infno in the path \"{}\" differs from the body's infno \"{}\"",
                echo(path),
                echo(body)
            ),
            WireError::BadMsgid { msgid, problem } => {
                format!("msgid \"{}\" {}", echo(msgid), problem.en())
            }
        }
    }

    /// For the response envelope's `err_msg`: `CODE: 中文说明`.
    pub fn err_msg(&self) -> String {
        format!("{}: {}", self.code(), self.message_zh())
    }
}

impl fmt::Display for WireError {
    /// `CODE: 中文说明 / English message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} / {}",
            self.code(),
            self.message_zh(),
            self.message_en()
        )
    }
}

impl std::error::Error for WireError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<WireError> {
        vec![
            WireError::BodyTooLarge { bytes: 2, max: 1 },
            WireError::BadJson {
                detail: "x".to_string(),
            },
            WireError::DuplicateKey {
                field: "a".to_string(),
            },
            WireError::MissingField {
                field: "a".to_string(),
            },
            WireError::BadField {
                field: "a".to_string(),
                problem: FieldProblem::NotText,
            },
            WireError::BadAmount {
                field: "a".to_string(),
                problem: AmountProblem::Negative {
                    text: "-1".to_string(),
                },
            },
            WireError::TooManyLines {
                field: "a".to_string(),
                count: 2,
                max: 1,
            },
            WireError::UnknownInfno {
                infno: "1".to_string(),
            },
            WireError::InfnoMismatch {
                path: "1".to_string(),
                body: "2".to_string(),
            },
            WireError::BadMsgid {
                msgid: "m".to_string(),
                problem: MsgidProblem::BadLength,
            },
        ]
    }

    #[test]
    fn each_variant_has_its_own_listed_code() {
        let errors = one_of_each();
        let codes: Vec<&str> = errors.iter().map(WireError::code).collect();
        assert_eq!(codes, WireError::CODES);
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }

    #[test]
    fn err_msg_is_code_then_chinese_naming_the_field() {
        let e = WireError::MissingField {
            field: "input.data.psn_no".to_string(),
        };
        assert_eq!(
            e.err_msg(),
            "GJ-WIRE-MISSING-FIELD: 缺少必填字段input.data.psn_no"
        );
        assert!(e.message_en().contains("input.data.psn_no"));
        assert!(e.to_string().starts_with("GJ-WIRE-MISSING-FIELD: "));
    }

    #[test]
    fn echoed_values_are_truncated() {
        let long = "9".repeat(100);
        let e = WireError::UnknownInfno { infno: long };
        assert!(e.message_zh().chars().count() < 60);
    }
}
