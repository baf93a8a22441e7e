//! Money as integer fen, exact decimal text in and out.
//!
//! There is one money type, [`Fen`]. Its field is private, arithmetic is checked,
//! and there is no conversion to or from floating point: yuan text such as
//! `"12.3"` is parsed digit by digit.

use std::fmt;

/// An amount of money in fen (0.01 yuan). May be negative (a posting's debit side).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(i64);

/// Why a piece of decimal text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyParseError {
    Empty,
    NotANumber,
    TooManyDecimals { max: u32 },
    OutOfRange,
}

impl fmt::Display for MoneyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyParseError::Empty => write!(f, "金额为空 / amount is empty"),
            MoneyParseError::NotANumber => write!(f, "金额不是数字 / amount is not a number"),
            MoneyParseError::TooManyDecimals { max } => {
                write!(f, "金额最多{max}位小数 / at most {max} decimals")
            }
            MoneyParseError::OutOfRange => write!(f, "金额超出范围 / amount out of range"),
        }
    }
}

impl std::error::Error for MoneyParseError {}

/// Arithmetic left the range of `i64` fen; a bug or absurd input, never wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl Fen {
    pub const ZERO: Fen = Fen(0);
    /// The largest amount any single input may carry: 100 million yuan.
    pub const INPUT_MAX: Fen = Fen(10_000_000_000);

    pub const fn from_fen(fen: i64) -> Fen {
        Fen(fen)
    }

    /// Whole yuan, for constants and literals: beyond the range of `i64` fen it is a
    /// compile error in a `const` and a panic elsewhere, never a wrapped amount. Amounts
    /// that come from input go through [`Fen::checked_from_yuan`] or [`Fen::parse_yuan`].
    pub const fn from_yuan(yuan: i64) -> Fen {
        match Fen::checked_from_yuan(yuan) {
            Some(fen) => fen,
            None => panic!("yuan amount beyond the range of i64 fen"),
        }
    }

    /// Whole yuan; `None` beyond the range of `i64` fen.
    pub const fn checked_from_yuan(yuan: i64) -> Option<Fen> {
        match yuan.checked_mul(100) {
            Some(fen) => Some(Fen(fen)),
            None => None,
        }
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    pub fn checked_neg(self) -> Option<Fen> {
        self.0.checked_neg().map(Fen)
    }

    pub fn checked_mul(self, count: i64) -> Option<Fen> {
        self.0.checked_mul(count).map(Fen)
    }

    /// Sum of amounts; `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(items: I) -> Option<Fen> {
        items
            .into_iter()
            .try_fold(Fen::ZERO, |acc, x| acc.checked_add(x))
    }

    /// `self - other`, but never below zero: what is left above a floor.
    pub fn saturating_sub_floor0(self, other: Fen) -> Fen {
        Fen(self.0.saturating_sub(other.0).max(0))
    }

    /// `self - other` for amounts shown, not moved (an answer's derived field): every
    /// amount an answer carries is bounded by [`Fen::INPUT_MAX`], so this never saturates
    /// in practice, and a display never panics.
    pub fn saturating_sub(self, other: Fen) -> Fen {
        Fen(self.0.saturating_sub(other.0))
    }

    /// `self + other` for amounts shown, not moved; see [`Fen::saturating_sub`].
    pub fn saturating_add(self, other: Fen) -> Fen {
        Fen(self.0.saturating_add(other.0))
    }

    /// `-self` for amounts shown, not moved; see [`Fen::saturating_sub`].
    pub fn saturating_neg(self) -> Fen {
        Fen(self.0.saturating_neg())
    }

    /// The share `ratio` of this amount, rounded half up to the fen
    /// (half away from zero for negative amounts). Fund shares use this rule.
    pub fn share(self, ratio: BasisPoints) -> Fen {
        let product = i128::from(self.0) * i128::from(ratio.0);
        let q = product / 10_000;
        let r = product % 10_000;
        let rounded = if r.abs() * 2 >= 10_000 {
            q + product.signum()
        } else {
            q
        };
        // |ratio| <= 10_000 so the result never exceeds |self|.
        Fen(rounded as i64)
    }

    /// Parses yuan text with at most 2 decimals: `"12"`, `"12.3"`, `"-0.05"`, `"+1.00"`.
    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyParseError> {
        parse_scaled(text, 2).map(Fen)
    }

    /// Parses yuan text with up to `max_decimals` decimals (prices carry up to 6),
    /// rounding to the fen half up. Used only for unit prices, never for amounts that move.
    pub fn parse_yuan_rounded(text: &str, max_decimals: u32) -> Result<Fen, MoneyParseError> {
        let scaled = parse_scaled(text, max_decimals)?;
        let divisor = 10_i64.pow(max_decimals.saturating_sub(2));
        let q = scaled / divisor;
        let r = scaled % divisor;
        let rounded = if r.abs() * 2 >= divisor {
            q + scaled.signum()
        } else {
            q
        };
        Ok(Fen(rounded))
    }

    pub fn min(self, other: Fen) -> Fen {
        Fen(self.0.min(other.0))
    }

    pub fn max(self, other: Fen) -> Fen {
        Fen(self.0.max(other.0))
    }
}

/// Parses decimal text into an integer scaled by 10^decimals, exactly.
pub fn parse_scaled(text: &str, decimals: u32) -> Result<i64, MoneyParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(MoneyParseError::Empty);
    }
    let (negative, digits) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(MoneyParseError::NotANumber);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || (digits.contains('.') && frac_part.is_empty() && int_part.is_empty())
    {
        return Err(MoneyParseError::NotANumber);
    }
    // Trailing zeros beyond the scale are harmless ("1.500" is 1.50 yuan).
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > decimals as usize {
        return Err(MoneyParseError::TooManyDecimals { max: decimals });
    }
    let mut value: i64 = 0;
    for b in int_part.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyParseError::OutOfRange)?;
    }
    for i in 0..decimals as usize {
        let digit = frac_trimmed.as_bytes().get(i).map_or(0, |b| b - b'0');
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(digit)))
            .ok_or(MoneyParseError::OutOfRange)?;
    }
    Ok(if negative { -value } else { value })
}

impl fmt::Display for Fen {
    /// Yuan with exactly two decimals: `12.30`, `-0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fen({self})")
    }
}

/// A ratio in basis points (1/10,000): 6000 is 60%.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct BasisPoints(u16);

impl BasisPoints {
    pub const ZERO: BasisPoints = BasisPoints(0);
    pub const FULL: BasisPoints = BasisPoints(10_000);

    /// `None` above 100%.
    pub const fn new(bp: u16) -> Option<BasisPoints> {
        if bp <= 10_000 {
            Some(BasisPoints(bp))
        } else {
            None
        }
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    /// Parses a decimal fraction such as `"0.6"` or `"0.05"` (catalog `selfpay_prop`).
    pub fn parse_fraction(text: &str) -> Result<BasisPoints, MoneyParseError> {
        let scaled = parse_scaled(text, 4)?;
        u16::try_from(scaled)
            .ok()
            .and_then(BasisPoints::new)
            .ok_or(MoneyParseError::OutOfRange)
    }

    /// The complement: 100% − self.
    pub fn complement(self) -> BasisPoints {
        BasisPoints(10_000 - self.0)
    }
}

impl fmt::Display for BasisPoints {
    /// As a fraction with up to 4 decimals: `0.6`, `0.05`, `1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let s = format!("{frac:04}");
            write!(f, "{whole}.{}", s.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan_text_exactly() {
        assert_eq!(Fen::parse_yuan("12.3"), Ok(Fen::from_fen(1230)));
        assert_eq!(Fen::parse_yuan("12.30"), Ok(Fen::from_fen(1230)));
        assert_eq!(Fen::parse_yuan("0.01"), Ok(Fen::from_fen(1)));
        assert_eq!(Fen::parse_yuan("-0.05"), Ok(Fen::from_fen(-5)));
        assert_eq!(Fen::parse_yuan("1000"), Ok(Fen::from_fen(100_000)));
        assert_eq!(Fen::parse_yuan(".5"), Ok(Fen::from_fen(50)));
        assert_eq!(Fen::parse_yuan("1.500"), Ok(Fen::from_fen(150)));
        assert_eq!(
            Fen::parse_yuan("0.001"),
            Err(MoneyParseError::TooManyDecimals { max: 2 })
        );
        assert_eq!(Fen::parse_yuan("1e3"), Err(MoneyParseError::NotANumber));
        assert_eq!(Fen::parse_yuan("."), Err(MoneyParseError::NotANumber));
        assert_eq!(Fen::parse_yuan(""), Err(MoneyParseError::Empty));
        assert_eq!(
            Fen::parse_yuan("99999999999999999999"),
            Err(MoneyParseError::OutOfRange)
        );
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Fen::from_fen(1230).to_string(), "12.30");
        assert_eq!(Fen::from_fen(-5).to_string(), "-0.05");
        assert_eq!(Fen::ZERO.to_string(), "0.00");
    }

    #[test]
    fn share_rounds_half_up() {
        let sixty = BasisPoints::new(6000).unwrap();
        assert_eq!(Fen::from_fen(1).share(sixty), Fen::from_fen(1)); // 0.6 -> 1
        assert_eq!(
            Fen::from_fen(5).share(BasisPoints::new(5000).unwrap()),
            Fen::from_fen(3)
        ); // 2.5 -> 3
        assert_eq!(
            Fen::from_fen(4).share(BasisPoints::new(5000).unwrap()),
            Fen::from_fen(2)
        );
        assert_eq!(Fen::from_fen(1001).share(sixty), Fen::from_fen(601)); // 600.6
    }

    #[test]
    fn parses_prices_rounding_to_the_fen() {
        assert_eq!(
            Fen::parse_yuan_rounded("1.234567", 6),
            Ok(Fen::from_fen(123))
        );
        assert_eq!(Fen::parse_yuan_rounded("1.235", 6), Ok(Fen::from_fen(124)));
    }

    #[test]
    fn basis_points_parse_and_display() {
        assert_eq!(
            BasisPoints::parse_fraction("0.6").map(|b| b.get()),
            Ok(6000)
        );
        assert_eq!(
            BasisPoints::parse_fraction("0.05").map(|b| b.get()),
            Ok(500)
        );
        assert!(BasisPoints::parse_fraction("1.5").is_err());
        assert_eq!(BasisPoints::new(500).unwrap().to_string(), "0.05");
        assert_eq!(BasisPoints::FULL.to_string(), "1");
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_is_identity(fen in -10_000_000_000i64..10_000_000_000) {
            let f = Fen::from_fen(fen);
            proptest::prop_assert_eq!(Fen::parse_yuan(&f.to_string()), Ok(f));
        }

        #[test]
        fn share_and_complement_cover_the_whole(fen in 0i64..1_000_000_000, bp in 0u16..=10_000) {
            let r = BasisPoints::new(bp).unwrap();
            let part = Fen::from_fen(fen).share(r);
            proptest::prop_assert!(part.fen() >= 0 && part.fen() <= fen);
        }
    }
}
