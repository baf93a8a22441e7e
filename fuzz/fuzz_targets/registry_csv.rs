//! `gongji import`: the registry CSV files, parsed row by row into commands and run through a
//! fresh engine over an in-memory SQLite store. The input is up to five files separated by NUL
//! bytes, in the order persons, institutions, catalog, accounts, bindings (an empty part is a
//! missing file).
#![no_main]

use std::sync::OnceLock;

use gongji_core::policy::PolicySet;
use gongji_engine::csv_io::{import_dir, ACCOUNTS, BINDINGS, CATALOG, INSTITUTIONS, PERSONS};
use gongji_engine::Engine;
use gongji_store::SqliteStore;
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 5] = [PERSONS.0, INSTITUTIONS.0, CATALOG.0, ACCOUNTS.0, BINDINGS.0];

fn policies() -> PolicySet {
    static PRESETS: OnceLock<PolicySet> = OnceLock::new();
    PRESETS.get_or_init(gongji_policy::presets).clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    for (part, file) in data.split(|b| *b == 0).zip(FILES) {
        if !part.is_empty() && std::fs::write(dir.path().join(file), part).is_err() {
            return;
        }
    }
    let Ok(store) = SqliteStore::open_in_memory() else {
        return;
    };
    let Ok(mut engine) = Engine::open(store, policies()) else {
        return;
    };
    if let Ok(report) = import_dir(&mut engine, dir.path(), &mut |_, _| {}) {
        for refusal in &report.refused {
            assert!(refusal.code.starts_with("GJ-"), "{refusal}");
        }
    }
});
