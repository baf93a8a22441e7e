//! A whole request body, as the institution interface receives it: the envelope is parsed and
//! validated, then its `input` is decoded for its `infno`. Refusing is fine; panicking is not.
#![no_main]

use gongji_nhsa::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(envelope) = Envelope::parse(body) else {
        return;
    };
    // Debug output is what the server logs: it must never fail on any accepted envelope.
    let _ = format!("{envelope:?}");
    let _ = envelope.check_path_infno(Some(&envelope.infno));
    if let Ok(input) = envelope.decode_input() {
        assert_eq!(input.infno().code(), envelope.infno.trim());
        let _ = format!("{input:?}");
    }
});
