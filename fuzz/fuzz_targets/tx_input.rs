//! Every transaction codec on its own: the first four bytes are the `infno` (`2207`), the rest
//! is the `input` object's JSON text, decoded as the envelope would hand it over.
#![no_main]

use gongji_nhsa::decode_input;
use gongji_nhsa::input::Infno;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (infno, json) = data.split_at(4);
    let Ok(infno) = std::str::from_utf8(infno) else {
        return;
    };
    let Ok(input) = serde_json::from_slice::<Box<RawValue>>(json) else {
        return;
    };
    if let Ok(tx) = decode_input(infno, &input) {
        assert_eq!(Some(tx.infno()), Infno::parse(infno));
        let _ = tx.psn_no();
        let _ = format!("{tx:?}");
    }
});
