//! A region's policy file: TOML text in, a validated policy (and its summary) or an error that
//! names file, line and field out.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match gongji_policy::parse_policy("fuzz.toml", text) {
        Ok(policy) => {
            let _ = gongji_policy::render_summary(&policy);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
