//! Amounts as the interface writes them (yuan with at most two decimals), read and written
//! exactly and independently of `gongji_core::Fen`, so a test checks the code's money with
//! arithmetic of its own.

/// Yuan text (`-286.20`, `0.5`, `12`) to fen, exactly; anything else is an error that
/// quotes the text.
pub fn fen(text: &str) -> Result<i64, String> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || frac.len() > 2 || !digits(frac) {
        return Err(format!("not an amount with at most 2 decimals: {text:?}"));
    }
    let int: i64 = int.parse().map_err(|e| format!("{text:?}: {e}"))?;
    let frac: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|e| format!("{text:?}: {e}"))?;
    let v = int
        .checked_mul(100)
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(|| format!("{text:?}: too large"))?;
    Ok(if neg { -v } else { v })
}

/// Fen as yuan with exactly two decimals (`-0.05`, `12.30`).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_exactly() {
        for (text, f) in [
            ("-286.20", -28_620),
            ("0.5", 50),
            ("12", 1_200),
            ("0.05", 5),
        ] {
            assert_eq!(fen(text), Ok(f), "{text}");
        }
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(1_230), "12.30");
        for bad in ["", "1.234", "1e3", "--1", ".5", "12.3.4"] {
            assert!(fen(bad).is_err(), "{bad:?}");
        }
    }
}
