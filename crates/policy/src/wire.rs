//! The policy file as TOML says it: private serde types, converted by hand in `convert`.
//!
//! Every scalar that is validated after parsing is wrapped in [`Spanned`] so that an error can
//! name its line. Money, ratios and codes are quoted strings ([`Quoted`]); a bare number there is
//! refused with a message that says how to write it, so no float ever reaches money.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::value::Datetime;
use toml::Spanned;

/// A string that must be written in quotes (money, ratios, codes).
#[derive(Debug)]
pub(crate) struct Quoted(pub(crate) String);

impl<'de> Deserialize<'de> for Quoted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Quoted, D::Error> {
        deserializer.deserialize_any(QuotedVisitor)
    }
}

struct QuotedVisitor;

impl<'de> Visitor<'de> for QuotedVisitor {
    type Value = Quoted;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quoted string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quoted, E> {
        Ok(Quoted(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Quoted, E> {
        Ok(Quoted(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quoted, E> {
        Err(E::custom(format!(
            "须用引号写成字符串，如 \"{v}\" / write it as a quoted string, e.g. \"{v}\""
        )))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quoted, E> {
        Err(E::custom(format!(
            "须用引号写成字符串，如 \"{v}\" / write it as a quoted string, e.g. \"{v}\""
        )))
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Quoted, E> {
        Err(E::custom(
            "须用引号写成字符串（如 \"1000.00\" 或 \"0.60\"），不可写成浮点数 / \
             write it as a quoted string such as \"1000.00\" or \"0.60\", never a float",
        ))
    }
}

/// A date, written either as a TOML local date (`2025-09-01`) or as a string (`"2025-09-01"`).
#[derive(Debug)]
pub(crate) enum RawDate {
    Text(String),
    Toml(Datetime),
}

impl<'de> Deserialize<'de> for RawDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawDate, D::Error> {
        deserializer.deserialize_any(DateVisitor)
    }
}

struct DateVisitor;

impl<'de> Visitor<'de> for DateVisitor {
    type Value = RawDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date yyyy-mm-dd")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDate, E> {
        Ok(RawDate::Text(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDate, A::Error> {
        // toml hands its datetimes to visitors as a one-entry map; let its own type read it.
        Datetime::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawDate::Toml)
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<RawDate, E> {
        Err(E::custom(
            "日期须写成 yyyy-mm-dd / a date is written yyyy-mm-dd",
        ))
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<RawDate, E> {
        Err(E::custom(
            "日期须写成 yyyy-mm-dd / a date is written yyyy-mm-dd",
        ))
    }
}

pub(crate) type S<T> = Spanned<T>;
pub(crate) type Codes = S<Vec<S<Quoted>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    pub id: S<String>,
    pub name_zh: S<String>,
    pub admdvs: S<Quoted>,
    pub version: S<String>,
    pub effective_from: S<RawDate>,
    pub binding: Binding,
    pub payment: Payment,
    #[serde(default)]
    pub pooling: Vec<Pooling>,
    pub second_reimbursement: Option<SecondReimbursement>,
    pub contribution: Option<Contribution>,
    #[serde(default)]
    pub employee_premiums: Vec<EmployeePremium>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Binding {
    pub scope: S<Vec<Scope>>,
    pub same_province_only: bool,
    pub holder_insutypes: Codes,
    pub relative_insutypes: Codes,
    pub exclude_public_medical: bool,
    pub one_spouse_two_parents: bool,
    pub max_holders_per_relative: Option<S<i64>>,
    pub max_relatives_per_holder: Option<S<i64>>,
    pub max_changes_per_month: Option<S<i64>>,
    pub one_way: bool,
    pub holder_must_be_insured_normally: bool,
    pub face_verification: bool,
    pub end_date_only_earlier: bool,
    pub auto_end_with_insurance: bool,
    /// The day the region joined cross-province mutual aid by quota (R-N3).
    #[serde(default)]
    pub cross_province_from: Option<S<RawDate>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scope {
    pub from: S<RawDate>,
    pub classes: Codes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Payment {
    pub reserve: S<Quoted>,
    pub per_relative_limits: bool,
    pub mutual_aid_follows_own_account: bool,
    pub holder_order: S<Quoted>,
    pub mutual_aid_excludes_pooled_settlements: bool,
    pub holder_credential_authorises: bool,
    pub mutual_aid_uses: Codes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pooling {
    pub name_zh: S<String>,
    pub insutype: S<Quoted>,
    pub med_types: Codes,
    pub hospital_levels: Codes,
    pub cap_group: S<String>,
    pub deductible_per_year: S<Quoted>,
    pub ratio_class_a: S<Quoted>,
    pub ratio_class_b: S<Quoted>,
    pub cap_per_visit: Option<S<Quoted>>,
    pub cap_per_day: Option<S<Quoted>>,
    pub cap_per_year: Option<S<Quoted>>,
    #[serde(default)]
    pub placeholder: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecondReimbursement {
    pub insutype: S<Quoted>,
    pub med_types: Codes,
    pub tiers: S<Vec<Tier>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tier {
    pub above: S<Quoted>,
    pub up_to: S<Quoted>,
    pub ratio: S<Quoted>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Contribution {
    pub years: S<Vec<Year>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Year {
    pub year: S<i64>,
    pub window_start: S<RawDate>,
    pub window_end: S<RawDate>,
    pub accept_days: S<Vec<S<i64>>>,
    pub categories: S<Vec<Category>>,
    #[serde(default)]
    pub extensions: Vec<Extension>,
}

/// A dated amendment extending a year's collection window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Extension {
    pub from: S<RawDate>,
    pub to: S<RawDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmployeePremium {
    #[serde(rename = "use")]
    pub kind: S<Quoted>,
    pub name_zh: S<String>,
    pub year: S<i64>,
    pub collect_from: S<RawDate>,
    pub collect_to: S<RawDate>,
    pub amount: S<Quoted>,
    #[serde(default)]
    pub placeholder: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Category {
    pub code: S<String>,
    pub name_zh: S<String>,
    pub amount: S<Quoted>,
}
