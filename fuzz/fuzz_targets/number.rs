//! The exact number parser of the wire (amounts, prices, counts, exponents), with properties:
//! whatever parses formats back to text that parses to the same value and is a valid JSON
//! number, and the same value written as an integer with an exponent parses the same.
#![no_main]

use gongji_core::Fen;
use gongji_nhsa::number::{parse_amount, plain_decimal};
use gongji_nhsa::{Count, Price};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fn is_json_number(text: &str) -> bool {
    RawValue::from_string(text.to_string()).is_ok()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(plain) = plain_decimal(text) {
        // A rewritten exponent leaves no exponent behind.
        if text.contains(['e', 'E']) {
            assert!(!plain.contains(['e', 'E']), "{text:?} -> {plain:?}");
        }
    }
    if let Ok(fen) = parse_amount(text) {
        assert!(fen.fen().unsigned_abs() <= Fen::INPUT_MAX.fen().unsigned_abs());
        let shown = fen.to_string();
        assert!(is_json_number(&shown), "{shown:?}");
        assert_eq!(parse_amount(&shown), Ok(fen), "{text:?} -> {shown:?}");
        assert_eq!(Fen::parse_yuan(&shown), Ok(fen));
        let scaled = format!("{}e-2", fen.fen());
        assert_eq!(parse_amount(&scaled), Ok(fen), "{scaled:?}");
        // An amount is a price too, to the micro-yuan.
        let price = Price::parse(text).expect("an amount is a valid price");
        assert_eq!(price.to_fen_rounded(), fen, "{text:?}");
    }
    if let Ok(price) = Price::parse(text) {
        let shown = price.to_string();
        assert!(is_json_number(&shown), "{shown:?}");
        assert_eq!(Price::parse(&shown), Ok(price), "{text:?} -> {shown:?}");
        let scaled = format!("{}e-6", price.micro_yuan());
        assert_eq!(Price::parse(&scaled), Ok(price), "{scaled:?}");
        let _ = price.to_fen_rounded();
    }
    if let Ok(count) = Count::parse(text) {
        let shown = count.to_string();
        assert!(is_json_number(&shown), "{shown:?}");
        assert_eq!(Count::parse(&shown), Ok(count), "{text:?} -> {shown:?}");
        let scaled = format!("{}E-4", count.ten_thousandths());
        assert_eq!(Count::parse(&scaled), Ok(count), "{scaled:?}");
    }
});
