//! The interface's date and time formats, parsed strictly by position and printed by hand.
//!
//! | format | example | used for |
//! | --- | --- | --- |
//! | `yyyy-MM-dd HH:mm:ss` | `2024-03-05 09:30:00` | inf_time, begntime, setl_time |
//! | `yyyy-MM-dd` | `2024-03-05` | brdy, psn_insu_date, stmt_begndate |
//! | `yyyyMMddHHmmss` | `20240305093000` | inside msgid and inf_refmsgid |
//! | `yyyyMMddHHmmssSSS` | `20240305093000123` | refmsg_time, respond_time |
//!
//! No clock is read here: the caller passes the time.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

pub const DATETIME_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";
pub const DATE_FORMAT: &str = "yyyy-MM-dd";
pub const COMPACT_FORMAT: &str = "yyyyMMddHHmmss";

/// The number at `text[at..at + len]`, if those bytes are all ASCII digits.
fn digits(text: &[u8], at: usize, len: usize) -> Option<u32> {
    let part = text.get(at..at + len)?;
    part.iter().try_fold(0_u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn date_at(b: &[u8], y: usize, m: usize, d: usize) -> Option<NaiveDate> {
    let year = i32::try_from(digits(b, y, 4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(b, m, 2)?, digits(b, d, 2)?)
}

fn time_at(b: &[u8], h: usize, m: usize, s: usize) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(digits(b, h, 2)?, digits(b, m, 2)?, digits(b, s, 2)?)
}

/// Strictly `yyyy-MM-dd`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
        .then(|| date_at(b, 0, 5, 8))
        .flatten()
}

/// Strictly `yyyy-MM-dd HH:mm:ss`.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    Some(date_at(b, 0, 5, 8)?.and_time(time_at(b, 11, 14, 17)?))
}

/// `yyyy-MM-dd HH:mm:ss`, or a bare `yyyy-MM-dd` read as midnight. Input times such as
/// `begntime` and `fee_ocur_time` are sent both ways by real clients.
pub fn parse_datetime_or_date(text: &str) -> Option<NaiveDateTime> {
    parse_datetime(text).or_else(|| parse_date(text).map(|d| d.and_time(NaiveTime::MIN)))
}

/// `yyyy-MM-dd`, or the date part of `yyyy-MM-dd HH:mm:ss`.
pub fn parse_date_or_datetime(text: &str) -> Option<NaiveDate> {
    parse_date(text).or_else(|| parse_datetime(text).map(|t| t.date()))
}

/// Strictly `yyyyMMddHHmmss`.
pub fn parse_compact(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 14 {
        return None;
    }
    Some(date_at(b, 0, 4, 6)?.and_time(time_at(b, 8, 10, 12)?))
}

/// `yyyy-MM-dd`.
pub fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `yyyy-MM-dd HH:mm:ss`.
pub fn format_datetime(t: NaiveDateTime) -> String {
    format!(
        "{} {:02}:{:02}:{:02}",
        format_date(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `yyyyMMddHHmmss`.
pub fn format_compact(t: NaiveDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `yyyyMMddHHmmssSSS`. A leap second's milliseconds are shown as 999.
pub fn format_compact_millis(t: NaiveDateTime) -> String {
    let millis = (t.nanosecond() / 1_000_000).min(999);
    format!("{}{millis:03}", format_compact(t))
}

pub(crate) mod ser {
    use super::*;
    use serde::Serializer;

    pub fn date<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_date(*d))
    }

    pub fn datetime<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_datetime(*t))
    }

    /// An absent date is sent as the empty string, as the interface sends every empty text.
    pub fn opt_date<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.map(format_date).unwrap_or_default())
    }

    pub fn opt_datetime<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.map(format_datetime).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        let t = parse_datetime("2024-03-05 09:30:07").unwrap();
        assert_eq!(format_datetime(t), "2024-03-05 09:30:07");
        assert_eq!(format_compact(t), "20240305093007");
        assert!(parse_datetime("2024-3-05 09:30:07").is_none());
        assert!(parse_datetime("2024-03-05T09:30:07").is_none());
        assert!(parse_datetime("2024-02-30 09:30:07").is_none());
        assert!(parse_datetime("2024-03-05 24:00:00").is_none());
        assert!(parse_datetime("+024-03-05 09:30:07").is_none());
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
        assert!(parse_date("2023-02-29").is_none());
        assert_eq!(parse_compact("20240305093007"), Some(t));
        assert!(parse_compact("2024030509300").is_none());
        assert_eq!(
            parse_datetime_or_date("2024-03-05")
                .map(format_datetime)
                .as_deref(),
            Some("2024-03-05 00:00:00")
        );
    }

    #[test]
    fn formats_millis() {
        let t = NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_milli_opt(9, 30, 7, 45)
            .unwrap();
        assert_eq!(format_compact_millis(t), "20240305093007045");
    }
}
