//! Exact numbers on the wire: amounts (2 decimals), prices (6) and counts (4).
//!
//! # Why `RawValue` and not `arbitrary_precision`
//!
//! Without help, serde_json turns `12.30` into an `f64` before any visitor sees it, and the
//! text is gone. Two serde_json features keep the text:
//!
//! * `arbitrary_precision` stores every `serde_json::Number` as its text. But Cargo unifies
//!   features across the workspace, so switching it on here changes `Number` for every crate
//!   that links serde_json: `Value` equality becomes textual (`1.0 != 1.00`), numbers inside
//!   `#[serde(untagged)]` enums and `#[serde(flatten)]` structs stop deserializing, and a
//!   `Value` handed to a non-JSON serializer (templates, TOML) shows a private magic map.
//!   Those are surprises for the server and anything else in the workspace.
//! * `raw_value` only *adds* a type, [`serde_json::value::RawValue`], that borrows a value's
//!   exact source text. Nothing else changes for anyone. **We use this one.**
//!
//! So the decoder never builds a `serde_json::Value` for an input: it splits each object into
//! its fields as `&RawValue` (see the private `reader` module) and reads number fields from
//! their text with [`gongji_core::money::parse_scaled`], digit by digit. Clients that send
//! numbers as strings (`"12.30"`) are read the same way. Exponents (`1.5E2`), which JSON
//! allows, are rewritten to plain decimals textually before parsing.
//!
//! Going out, amounts are written as `RawValue` text produced by `Fen`'s `Display`, so the
//! bytes on the wire are `"acct_pay":12.30`, not `12.3`, and no float is ever involved.

use std::borrow::Cow;
use std::fmt;

use gongji_core::money::{parse_scaled, MoneyParseError};
use gongji_core::{BasisPoints, Fen};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Decimals an amount may carry on the wire.
pub const AMOUNT_DECIMALS: u32 = 2;

/// The largest exponent magnitude accepted in a JSON number (`1e400` is refused, not expanded
/// into a 400-digit string of zeros).
const EXPONENT_MAX: i32 = 40;

/// A unit price in micro-yuan (10⁻⁶ yuan): prices carry up to 6 decimals on the wire and are
/// kept exactly. [`Price::to_fen_rounded`] rounds to the fen when the engine needs money.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(i64);

impl Price {
    pub const DECIMALS: u32 = 6;
    /// The largest price any input may carry: 100 million yuan, as for amounts.
    pub const INPUT_MAX: Price = Price(100_000_000 * 1_000_000);

    pub const fn from_micro_yuan(micro_yuan: i64) -> Price {
        Price(micro_yuan)
    }

    pub const fn micro_yuan(self) -> i64 {
        self.0
    }

    /// A whole-fen amount as a price.
    pub fn from_fen(fen: Fen) -> Option<Price> {
        fen.fen().checked_mul(10_000).map(Price)
    }

    /// Parses price text with up to 6 decimals, exactly (exponents allowed).
    pub fn parse(text: &str) -> Result<Price, MoneyParseError> {
        let scaled = parse_scaled(&plain_decimal(text)?, Price::DECIMALS)?;
        if scaled.unsigned_abs() > Price::INPUT_MAX.0.unsigned_abs() {
            return Err(MoneyParseError::OutOfRange);
        }
        Ok(Price(scaled))
    }

    /// Rounded to the fen, half away from zero (the core's rule for prices).
    pub fn to_fen_rounded(self) -> Fen {
        const PER_FEN: i64 = 10_000;
        let q = self.0 / PER_FEN;
        let r = self.0 % PER_FEN;
        let rounded = if r.abs() * 2 >= PER_FEN {
            q + self.0.signum()
        } else {
            q
        };
        Fen::from_fen(rounded)
    }
}

impl fmt::Display for Price {
    /// Yuan with at least 2 and at most 6 decimals: `12.30`, `1.234567`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.0, Price::DECIMALS, 2)
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price({self})")
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        raw_number(self.to_string(), s)
    }
}

/// A quantity (`cnt`) in ten-thousandths: counts carry up to 4 decimals on the wire
/// (2.5 boxes is `Count::from_ten_thousandths(25_000)`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Count(i64);

impl Count {
    pub const DECIMALS: u32 = 4;
    pub const SCALE: i64 = 10_000;
    /// The largest count any input may carry: 100 million units.
    pub const INPUT_MAX: Count = Count(100_000_000 * Count::SCALE);

    pub const fn from_ten_thousandths(scaled: i64) -> Count {
        Count(scaled)
    }

    pub const fn from_units(units: i64) -> Count {
        Count(units * Count::SCALE)
    }

    /// The count scaled by 10⁴.
    pub const fn ten_thousandths(self) -> i64 {
        self.0
    }

    /// Parses count text with up to 4 decimals, exactly (exponents allowed).
    pub fn parse(text: &str) -> Result<Count, MoneyParseError> {
        let scaled = parse_scaled(&plain_decimal(text)?, Count::DECIMALS)?;
        if scaled.unsigned_abs() > Count::INPUT_MAX.0.unsigned_abs() {
            return Err(MoneyParseError::OutOfRange);
        }
        Ok(Count(scaled))
    }
}

impl fmt::Display for Count {
    /// With trailing zeros dropped: `2`, `2.5`, `0.0001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.0, Count::DECIMALS, 0)
    }
}

impl fmt::Debug for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Count({self})")
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        raw_number(self.to_string(), s)
    }
}

/// Parses an amount: at most 2 decimals, exactly, within ±[`Fen::INPUT_MAX`].
pub fn parse_amount(text: &str) -> Result<Fen, MoneyParseError> {
    let fen = Fen::parse_yuan(&plain_decimal(text)?)?;
    if fen.fen().unsigned_abs() > Fen::INPUT_MAX.fen().unsigned_abs() {
        return Err(MoneyParseError::OutOfRange);
    }
    Ok(fen)
}

/// Rewrites a JSON number with an exponent (`1.5E-1`) as plain decimal text (`0.15`), exactly.
/// Text without an exponent is returned as it is.
pub fn plain_decimal(text: &str) -> Result<Cow<'_, str>, MoneyParseError> {
    let text = text.trim();
    let Some(e_at) = text.find(['e', 'E']) else {
        return Ok(Cow::Borrowed(text));
    };
    let (mantissa, exponent) = (&text[..e_at], &text[e_at + 1..]);
    let exponent: i32 = exponent.parse().map_err(|_| MoneyParseError::NotANumber)?;
    if exponent.abs() > EXPONENT_MAX {
        return Err(MoneyParseError::OutOfRange);
    }
    let (sign, unsigned) = match mantissa.as_bytes().first() {
        Some(b'-') => ("-", &mantissa[1..]),
        Some(b'+') => ("", &mantissa[1..]),
        _ => ("", mantissa),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(MoneyParseError::NotANumber);
    }
    let digits = format!("{int_part}{frac_part}");
    // Where the decimal point falls in `digits` after applying the exponent. Both terms are
    // small: the body limit bounds the digits and EXPONENT_MAX bounds the exponent.
    let point = i64::try_from(int_part.len()).map_err(|_| MoneyParseError::OutOfRange)?
        + i64::from(exponent);
    let len = i64::try_from(digits.len()).map_err(|_| MoneyParseError::OutOfRange)?;
    let plain = if point <= 0 {
        let zeros = usize::try_from(-point).map_err(|_| MoneyParseError::OutOfRange)?;
        format!("{sign}0.{}{digits}", "0".repeat(zeros))
    } else if point >= len {
        let zeros = usize::try_from(point - len).map_err(|_| MoneyParseError::OutOfRange)?;
        format!("{sign}{digits}{}", "0".repeat(zeros))
    } else {
        let at = usize::try_from(point).map_err(|_| MoneyParseError::OutOfRange)?;
        format!("{sign}{}.{}", &digits[..at], &digits[at..])
    };
    Ok(Cow::Owned(plain))
}

/// Writes `scaled / 10^decimals` with trailing zeros dropped, keeping at least `min_decimals`.
fn write_scaled(
    f: &mut fmt::Formatter<'_>,
    scaled: i64,
    decimals: u32,
    min_decimals: usize,
) -> fmt::Result {
    let sign = if scaled < 0 { "-" } else { "" };
    let abs = scaled.unsigned_abs();
    let unit = 10_u64.pow(decimals);
    let width = decimals as usize;
    let frac = format!("{:0width$}", abs % unit);
    let trimmed = frac.trim_end_matches('0');
    let shown = if trimmed.len() < min_decimals {
        &frac[..min_decimals.min(frac.len())]
    } else {
        trimmed
    };
    if shown.is_empty() {
        write!(f, "{sign}{}", abs / unit)
    } else {
        write!(f, "{sign}{}.{shown}", abs / unit)
    }
}

/// Serializes already-valid JSON number text verbatim (through serde_json's `RawValue`).
pub fn raw_number<S: Serializer>(text: String, s: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(text).map_err(S::Error::custom)?;
    raw.serialize(s)
}

/// `#[serde(serialize_with = "gongji_nhsa::number::serialize_fen")]`: an amount as a JSON
/// number with exactly two decimals (`12.30`, `-0.05`, `0.00`).
pub fn serialize_fen<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
    raw_number(fen.to_string(), s)
}

/// A ratio as a JSON number fraction with up to 4 decimals (`0.6`, `0.05`, `1`).
pub fn serialize_ratio<S: Serializer>(ratio: &BasisPoints, s: S) -> Result<S::Ok, S::Error> {
    raw_number(ratio.to_string(), s)
}

/// An amount borrowed for serialization, for hand-written `Serialize` impls.
pub(crate) struct AmountOut(pub(crate) Fen);

impl Serialize for AmountOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_fen(&self.0, s)
    }
}

/// A ratio borrowed for serialization, for hand-written `Serialize` impls.
pub(crate) struct RatioOut(pub(crate) BasisPoints);

impl Serialize for RatioOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_ratio(&self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(text: &str) -> Result<i64, MoneyParseError> {
        parse_amount(text).map(Fen::fen)
    }

    #[test]
    fn amounts_are_exact_to_the_fen() {
        assert_eq!(fen("0.30"), Ok(30));
        assert_eq!(fen("0.1"), Ok(10));
        assert_eq!(fen("0.2"), Ok(20));
        // 0.1 + 0.2 is 0.3 exactly here, unlike in f64.
        assert_eq!(
            fen("0.1").unwrap() + fen("0.2").unwrap(),
            fen("0.3").unwrap()
        );
        assert_eq!(fen("12345678.99"), Ok(1_234_567_899));
        assert_eq!(fen("100000000.00"), Ok(10_000_000_000));
        assert_eq!(fen("100000000.01"), Err(MoneyParseError::OutOfRange));
        assert_eq!(
            fen("1.234"),
            Err(MoneyParseError::TooManyDecimals { max: 2 })
        );
        // What f64 would round to 0.3 is refused, not rounded.
        assert_eq!(
            fen("0.30000000000000004"),
            Err(MoneyParseError::TooManyDecimals { max: 2 })
        );
        assert_eq!(fen("1.50"), Ok(150));
        assert_eq!(fen("-0"), Ok(0));
    }

    #[test]
    fn exponents_are_rewritten_textually() {
        assert_eq!(plain_decimal("1.5E-1").as_deref(), Ok("0.15"));
        assert_eq!(plain_decimal("1.5e2").as_deref(), Ok("150"));
        assert_eq!(plain_decimal("-12.345e1").as_deref(), Ok("-123.45"));
        assert_eq!(plain_decimal("5e-3").as_deref(), Ok("0.005"));
        assert_eq!(plain_decimal("12.3").as_deref(), Ok("12.3"));
        assert_eq!(fen("1.23e1"), Ok(1230));
        assert_eq!(
            fen("1e-3"),
            Err(MoneyParseError::TooManyDecimals { max: 2 })
        );
        assert_eq!(fen("1e400"), Err(MoneyParseError::OutOfRange));
        assert_eq!(fen("e5"), Err(MoneyParseError::NotANumber));
    }

    #[test]
    fn prices_keep_six_decimals() {
        let p = Price::parse("1.234567").unwrap();
        assert_eq!(p.micro_yuan(), 1_234_567);
        assert_eq!(p.to_string(), "1.234567");
        assert_eq!(p.to_fen_rounded(), Fen::from_fen(123));
        assert_eq!(
            Price::parse("1.235").unwrap().to_fen_rounded(),
            Fen::from_fen(124)
        );
        assert_eq!(Price::parse("12.3").unwrap().to_string(), "12.30");
        assert_eq!(Price::parse("7").unwrap().to_string(), "7.00");
        assert_eq!(
            Price::parse("1.2345678"),
            Err(MoneyParseError::TooManyDecimals { max: 6 })
        );
    }

    #[test]
    fn counts_are_scaled_by_ten_thousand() {
        assert_eq!(Count::parse("2").unwrap().ten_thousandths(), 20_000);
        assert_eq!(Count::parse("2.5").unwrap().ten_thousandths(), 25_000);
        assert_eq!(Count::parse("0.0001").unwrap().ten_thousandths(), 1);
        assert_eq!(
            Count::parse("1.23456"),
            Err(MoneyParseError::TooManyDecimals { max: 4 })
        );
        assert_eq!(Count::from_ten_thousandths(25_000).to_string(), "2.5");
        assert_eq!(Count::from_units(3).to_string(), "3");
        assert_eq!(
            Count::parse("9007199254740993"),
            Err(MoneyParseError::OutOfRange)
        );
    }

    #[test]
    fn amounts_serialize_with_two_decimals() {
        #[derive(Serialize)]
        struct T {
            #[serde(serialize_with = "serialize_fen")]
            a: Fen,
            #[serde(serialize_with = "serialize_fen")]
            b: Fen,
            #[serde(serialize_with = "serialize_ratio")]
            r: BasisPoints,
            p: Price,
            c: Count,
        }
        let t = T {
            a: Fen::from_fen(1230),
            b: Fen::from_fen(-5),
            r: BasisPoints::new(6000).unwrap(),
            p: Price::from_micro_yuan(1_234_567),
            c: Count::from_ten_thousandths(15_000),
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":12.30,"b":-0.05,"r":0.6,"p":1.234567,"c":1.5}"#
        );
    }
}
