//! Reading one JSON object field by field, from exact source text.
//!
//! An object is split into `(key, &RawValue)` pairs without interpreting any value, so numbers
//! keep their digits (see [`crate::number`]). Each typed getter then reads one field and, on any
//! problem, returns a [`WireError`] naming the field's full path (`input.feedetail[3].cnt`).
//!
//! Conventions, the same for every transaction:
//! * a field that is absent, `null`, or text that is empty or blank counts as absent;
//! * text fields also accept a JSON number (its text is taken as sent: `"insutype": 310`);
//! * number fields also accept a JSON string (`"medfee_sumamt": "12.30"`);
//! * an absent optional number is 0 (the interface sends an empty number as 0);
//! * unknown fields are ignored (the interface has many we do not use);
//! * a key repeated within one object is refused.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use gongji_core::codes::Admdvs;
use gongji_core::Fen;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::{echo, AmountProblem, FieldProblem, WireError};
use crate::number::{parse_amount, Count, Price};
use crate::wire_time;
use crate::TEXT_BYTES_MAX;

/// An object's members in source order, values unread.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: &'de RawValue = map.next_value()?;
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }

        d.deserialize_map(MembersVisitor)
    }
}

/// One JSON value, classified but not converted.
enum Scalar<'a> {
    Null,
    Text(String),
    Number(&'a str),
    Bool,
    Object,
    Array,
}

fn bad_json(e: &serde_json::Error) -> WireError {
    // Position only: serde_json's messages can quote the client's values.
    let kind = match e.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "not an object",
        serde_json::error::Category::Eof => "unexpected end",
    };
    WireError::BadJson {
        detail: format!("{kind} at line {} column {}", e.line(), e.column()),
    }
}

fn classify(raw: &RawValue) -> Result<Scalar<'_>, WireError> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => Scalar::Text(serde_json::from_str(text).map_err(|e| bad_json(&e))?),
        Some(b'n') => Scalar::Null,
        Some(b't' | b'f') => Scalar::Bool,
        Some(b'{') => Scalar::Object,
        Some(b'[') => Scalar::Array,
        _ => Scalar::Number(text),
    })
}

/// One JSON object and where it sits in the request.
pub(crate) struct Node<'a> {
    path: String,
    fields: BTreeMap<String, &'a RawValue>,
}

impl<'a> Node<'a> {
    fn from_members(path: String, members: Members<'a>) -> Result<Node<'a>, WireError> {
        let mut fields = BTreeMap::new();
        for (key, value) in members.0 {
            if fields.contains_key(&key) {
                return Err(WireError::DuplicateKey {
                    field: join(&path, &key),
                });
            }
            fields.insert(key, value);
        }
        Ok(Node { path, fields })
    }

    /// The top-level object of a request body.
    pub(crate) fn root(body: &'a [u8]) -> Result<Node<'a>, WireError> {
        let members: Members<'a> = serde_json::from_slice(body).map_err(|e| bad_json(&e))?;
        Node::from_members(String::new(), members)
    }

    /// An object found at `path`; anything else is `NotObject`.
    pub(crate) fn parse(path: String, raw: &'a RawValue) -> Result<Node<'a>, WireError> {
        if !raw.get().starts_with('{') {
            return Err(WireError::BadField {
                field: path,
                problem: FieldProblem::NotObject,
            });
        }
        let members: Members<'a> = serde_json::from_str(raw.get()).map_err(|e| bad_json(&e))?;
        Node::from_members(path, members)
    }

    pub(crate) fn path_of(&self, name: &str) -> String {
        join(&self.path, name)
    }

    fn bad(&self, name: &str, problem: FieldProblem) -> WireError {
        WireError::BadField {
            field: self.path_of(name),
            problem,
        }
    }

    fn missing(&self, name: &str) -> WireError {
        WireError::MissingField {
            field: self.path_of(name),
        }
    }

    /// The raw value of a field that is present and not `null`.
    fn raw(&self, name: &str) -> Option<&'a RawValue> {
        // A RawValue holds the value's text without surrounding whitespace.
        self.fields
            .get(name)
            .copied()
            .filter(|raw| raw.get() != "null")
    }

    /// The first of `names` that is present: for nodes some clients spell differently.
    pub(crate) fn first_present<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names.iter().copied().find(|n| self.raw(n).is_some())
    }

    // ---- text ----

    pub(crate) fn opt_text(&self, name: &str) -> Result<Option<String>, WireError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let text = match classify(raw)? {
            Scalar::Text(t) => t,
            Scalar::Number(n) => n.to_string(),
            Scalar::Null => return Ok(None),
            Scalar::Bool | Scalar::Object | Scalar::Array => {
                return Err(self.bad(name, FieldProblem::NotText))
            }
        };
        if text.len() > TEXT_BYTES_MAX {
            return Err(self.bad(
                name,
                FieldProblem::TooLong {
                    max: TEXT_BYTES_MAX,
                },
            ));
        }
        Ok((!text.trim().is_empty()).then_some(text))
    }

    pub(crate) fn text(&self, name: &str) -> Result<String, WireError> {
        self.opt_text(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_code<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, WireError> {
        match self.opt_text(name)? {
            None => Ok(None),
            Some(t) => parse(&t).map(Some).ok_or_else(|| {
                self.bad(
                    name,
                    FieldProblem::BadCode {
                        value: echo(t.trim()),
                    },
                )
            }),
        }
    }

    pub(crate) fn code<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, WireError> {
        self.opt_code(name, parse)?
            .ok_or_else(|| self.missing(name))
    }

    /// A `"1"`/`"0"` flag; `default` when absent.
    pub(crate) fn flag_or(&self, name: &str, default: bool) -> Result<bool, WireError> {
        Ok(self
            .opt_code(name, crate::wire_codes::parse_flag)?
            .unwrap_or(default))
    }

    pub(crate) fn opt_admdvs(&self, name: &str) -> Result<Option<Admdvs>, WireError> {
        match self.opt_text(name)? {
            None => Ok(None),
            Some(t) => Admdvs::parse(&t)
                .map(Some)
                .ok_or_else(|| self.bad(name, FieldProblem::BadAdmdvs)),
        }
    }

    pub(crate) fn admdvs(&self, name: &str) -> Result<Admdvs, WireError> {
        self.opt_admdvs(name)?.ok_or_else(|| self.missing(name))
    }

    // ---- dates and times ----

    fn time_with<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        format: &'static str,
    ) -> Result<Option<T>, WireError> {
        match self.opt_text(name)? {
            None => Ok(None),
            Some(t) => parse(&t)
                .map(Some)
                .ok_or_else(|| self.bad(name, FieldProblem::BadDateTime { format })),
        }
    }

    /// Strictly `yyyy-MM-dd HH:mm:ss` (the envelope's `inf_time`).
    pub(crate) fn strict_datetime(&self, name: &str) -> Result<NaiveDateTime, WireError> {
        self.time_with(name, wire_time::parse_datetime, wire_time::DATETIME_FORMAT)?
            .ok_or_else(|| self.missing(name))
    }

    /// `yyyy-MM-dd HH:mm:ss` or `yyyy-MM-dd`.
    pub(crate) fn opt_datetime(&self, name: &str) -> Result<Option<NaiveDateTime>, WireError> {
        self.time_with(
            name,
            wire_time::parse_datetime_or_date,
            wire_time::DATETIME_FORMAT,
        )
    }

    pub(crate) fn datetime(&self, name: &str) -> Result<NaiveDateTime, WireError> {
        self.opt_datetime(name)?.ok_or_else(|| self.missing(name))
    }

    /// `yyyy-MM-dd` or the date of `yyyy-MM-dd HH:mm:ss`.
    pub(crate) fn date(&self, name: &str) -> Result<NaiveDate, WireError> {
        self.time_with(
            name,
            wire_time::parse_date_or_datetime,
            wire_time::DATE_FORMAT,
        )?
        .ok_or_else(|| self.missing(name))
    }

    // ---- numbers ----

    /// The text of a number field (a JSON number or a string holding one); `None` if absent.
    fn number_text(&self, name: &str) -> Result<Option<Cow<'a, str>>, WireError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        match classify(raw)? {
            Scalar::Number(n) => Ok(Some(Cow::Borrowed(n))),
            Scalar::Text(t) if t.trim().is_empty() => Ok(None),
            Scalar::Text(t) => Ok(Some(Cow::Owned(t))),
            Scalar::Null => Ok(None),
            Scalar::Bool | Scalar::Object | Scalar::Array => Err(WireError::BadAmount {
                field: self.path_of(name),
                problem: AmountProblem::NotANumber {
                    text: echo(raw.get()),
                },
            }),
        }
    }

    fn non_negative<T>(
        &self,
        name: &str,
        text: &str,
        parsed: Result<T, gongji_core::money::MoneyParseError>,
        is_negative: impl Fn(&T) -> bool,
    ) -> Result<T, WireError> {
        let value = parsed.map_err(|e| WireError::BadAmount {
            field: self.path_of(name),
            problem: AmountProblem::from_parse(e, text),
        })?;
        if is_negative(&value) {
            return Err(WireError::BadAmount {
                field: self.path_of(name),
                problem: AmountProblem::Negative { text: echo(text) },
            });
        }
        Ok(value)
    }

    fn opt_amount(&self, name: &str) -> Result<Option<Fen>, WireError> {
        match self.number_text(name)? {
            None => Ok(None),
            Some(t) => self
                .non_negative(name, &t, parse_amount(&t), |f| f.is_negative())
                .map(Some),
        }
    }

    /// A required amount: at most 2 decimals, not negative.
    pub(crate) fn amount(&self, name: &str) -> Result<Fen, WireError> {
        self.opt_amount(name)?.ok_or_else(|| self.missing(name))
    }

    /// An optional amount; absent is 0.
    pub(crate) fn amount_or_zero(&self, name: &str) -> Result<Fen, WireError> {
        Ok(self.opt_amount(name)?.unwrap_or(Fen::ZERO))
    }

    /// A required unit price: at most 6 decimals, not negative.
    pub(crate) fn price(&self, name: &str) -> Result<Price, WireError> {
        let t = self.number_text(name)?.ok_or_else(|| self.missing(name))?;
        self.non_negative(name, &t, Price::parse(&t), |p| p.micro_yuan() < 0)
    }

    /// A required count: at most 4 decimals, not negative.
    pub(crate) fn count(&self, name: &str) -> Result<Count, WireError> {
        let t = self.number_text(name)?.ok_or_else(|| self.missing(name))?;
        self.non_negative(name, &t, Count::parse(&t), |c| c.ten_thousandths() < 0)
    }

    /// A required non-negative whole number (`diag_srt_no`, `fixmedins_setl_cnt`).
    pub(crate) fn uint(&self, name: &str) -> Result<u64, WireError> {
        let t = self.number_text(name)?.ok_or_else(|| self.missing(name))?;
        let t = t.trim();
        if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(name, FieldProblem::BadInteger));
        }
        t.parse()
            .map_err(|_| self.bad(name, FieldProblem::BadInteger))
    }

    // ---- nested ----

    /// The raw text of a required object field, unread (the envelope's `input`).
    pub(crate) fn raw_object(&self, name: &str) -> Result<&'a RawValue, WireError> {
        let raw = self.raw(name).ok_or_else(|| self.missing(name))?;
        if !raw.get().starts_with('{') {
            return Err(self.bad(name, FieldProblem::NotObject));
        }
        Ok(raw)
    }

    pub(crate) fn object(&self, name: &str) -> Result<Node<'a>, WireError> {
        Node::parse(self.path_of(name), self.raw_object(name)?)
    }

    /// An array of objects with at most `max` elements. Absent is an empty array unless
    /// `required`; a required array must also have at least one element.
    pub(crate) fn array(
        &self,
        name: &str,
        max: usize,
        required: bool,
    ) -> Result<Vec<Node<'a>>, WireError> {
        let Some(raw) = self.raw(name) else {
            return if required {
                Err(self.missing(name))
            } else {
                Ok(Vec::new())
            };
        };
        if !raw.get().starts_with('[') {
            return Err(self.bad(name, FieldProblem::NotArray));
        }
        // The body limit bounds this vector before the count is checked.
        let items: Vec<&'a RawValue> = serde_json::from_str(raw.get()).map_err(|e| bad_json(&e))?;
        if items.len() > max {
            return Err(WireError::TooManyLines {
                field: self.path_of(name),
                count: items.len(),
                max,
            });
        }
        if required && items.is_empty() {
            return Err(self.bad(name, FieldProblem::Empty));
        }
        let path = self.path_of(name);
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Node::parse(format!("{path}[{i}]"), item))
            .collect()
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(json: &str) -> Node<'_> {
        Node::root(json.as_bytes()).unwrap()
    }

    #[test]
    fn absent_null_and_blank_are_the_same() {
        let n = node("{ \"a\" :\n null ,\"b\":\"\",\"c\":\"  \",\"d\":\"x\"}");
        for name in ["a", "b", "c", "zz"] {
            assert_eq!(n.opt_text(name), Ok(None));
            assert_eq!(
                n.text(name),
                Err(WireError::MissingField {
                    field: name.to_string()
                })
            );
            assert_eq!(n.amount_or_zero(name), Ok(Fen::ZERO));
        }
        assert_eq!(n.text("d").as_deref(), Ok("x"));
    }

    #[test]
    fn numbers_from_numbers_or_strings_exactly() {
        let n = node(r#"{"a":12.30,"b":"12.30","c":1.234,"d":-1,"e":true,"f":310,"g":"3"}"#);
        assert_eq!(n.amount("a"), Ok(Fen::from_fen(1230)));
        assert_eq!(n.amount("b"), Ok(Fen::from_fen(1230)));
        assert!(matches!(
            n.amount("c"),
            Err(WireError::BadAmount {
                problem: AmountProblem::TooManyDecimals { max: 2, .. },
                ..
            })
        ));
        assert!(matches!(
            n.amount("d"),
            Err(WireError::BadAmount {
                problem: AmountProblem::Negative { .. },
                ..
            })
        ));
        assert!(matches!(n.amount("e"), Err(WireError::BadAmount { .. })));
        assert_eq!(n.text("f").as_deref(), Ok("310"));
        assert_eq!(n.uint("g"), Ok(3));
        assert_eq!(n.uint("f"), Ok(310));
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let body = br#"{"input":{"data":{"psn_no":"1","psn_no":"2"}}}"#;
        let root = Node::root(body).unwrap();
        let input = root.object("input").unwrap();
        assert_eq!(
            input.object("data").err(),
            Some(WireError::DuplicateKey {
                field: "input.data.psn_no".to_string()
            })
        );
    }

    #[test]
    fn arrays_are_bounded_and_paths_indexed() {
        let n = node(r#"{"l":[{"x":"1"},{"x":2.5},{}]}"#);
        assert!(matches!(
            n.array("l", 2, true),
            Err(WireError::TooManyLines {
                count: 3,
                max: 2,
                ..
            })
        ));
        let items = n.array("l", 3, true).unwrap();
        assert_eq!(
            items[2].text("x"),
            Err(WireError::MissingField {
                field: "l[2].x".to_string()
            })
        );
        assert!(n.array("none", 3, false).unwrap().is_empty());
        assert!(matches!(
            node(r#"{"l":[]}"#).array("l", 3, true),
            Err(WireError::BadField {
                problem: FieldProblem::Empty,
                ..
            })
        ));
    }

    #[test]
    fn bad_json_names_no_content() {
        let err = Node::root(br#"{"certno":"370302199001010114" oops}"#)
            .err()
            .unwrap();
        assert_eq!(err.code(), "GJ-WIRE-BAD-JSON");
        assert!(!err.message_en().contains("3703"));
        assert!(Node::root(b"[1,2]").is_err());
        assert!(Node::root(b"\xff").is_err());
    }
}
