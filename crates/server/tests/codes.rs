//! Every stable error code (`GJ-...`) is written once, in its code table, and used by name
//! everywhere else (issue 11): a code typed as a string elsewhere drifts from the table
//! unnoticed. This scans the non-test sources of every crate.

use std::path::{Path, PathBuf};

/// The code tables: where a `"GJ-` string belongs.
const TABLES: &[&str] = &[
    "crates/core/src/refusal.rs",
    "crates/engine/src/command.rs",
    "crates/store/src/lib.rs",
    "crates/nhsa/src/error.rs",
    "crates/nhsa/src/auth.rs",
    "crates/policy/src/lib.rs",
    "crates/server/src/service/mod.rs",
    // The deployment file's and the token key's errors, refused before a server runs.
    "crates/server/src/config.rs",
    "crates/engine/src/token_seal.rs",
    // `gongji backup` / `restore`: command-line refusals, their codes beside them.
    "crates/cli/src/backup.rs",
    // `gongji verify` / `anchor`: command-line refusals, their codes beside them.
    "crates/cli/src/anchor.rs",
];

/// Files other branches of this session rewrite (CSV import, gateway, terminal, bench): their
/// codes move into the tables when those branches merge, and the entries go from here.
const PENDING: &[&str] = &[
    "crates/engine/src/csv_io.rs",
    "crates/server/src/institution.rs",
    "crates/server/src/web/terminal_wire.rs",
    "crates/cli/src/bench/http.rs",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `"GJ-` strings of a source, outside comments, OpenAPI descriptions (attribute text
/// that documents the codes) and the unit tests at its end.
fn literals(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") || code.contains("description = \"") {
            continue;
        }
        if code.contains("\"GJ-") {
            found.push((n + 1, line.trim().to_string()));
        }
    }
    found
}

#[test]
fn no_error_code_is_written_as_a_string_outside_its_code_table() {
    let root = workspace();
    let mut files = Vec::new();
    let Ok(crates) = std::fs::read_dir(root.join("crates")) else {
        panic!("no crates/ under {}", root.display());
    };
    for krate in crates.flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    assert!(files.len() > 50, "the scan found the sources");
    let mut offenders = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if TABLES.contains(&rel.as_str()) || PENDING.contains(&rel.as_str()) {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("source");
        for (line, text) in literals(&source) {
            offenders.push(format!("{rel}:{line}: {text}"));
        }
    }
    assert!(
        offenders.is_empty(),
        "error codes written as strings outside the code tables (use the table's constant):\n{}",
        offenders.join("\n")
    );
    for table in TABLES {
        let source = std::fs::read_to_string(root.join(table)).expect("table");
        assert!(source.contains("\"GJ-"), "{table} holds codes");
    }
}

#[test]
fn the_scan_sees_a_code_in_code_and_not_in_comments_or_tests() {
    let source = "// \"GJ-X\" in a comment\nlet c = \"GJ-Y\";\n#[cfg(test)]\nmod t { \"GJ-Z\" }\n";
    assert_eq!(literals(source), vec![(2, "let c = \"GJ-Y\";".to_string())]);
}
