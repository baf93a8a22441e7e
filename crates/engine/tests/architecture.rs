//! ARCHITECTURE.md's money invariant, checked on the source: outside `gongji-core`, nobody
//! computes with the integer inside a `Fen`. Sums, differences and negations go through
//! `Fen`'s checked operations, so an overflow is an error, never a wrapped amount.

use std::fs;
use std::path::{Path, PathBuf};

/// The crates that translate and store; they may read `.fen()` (to bind it into SQL, to
/// format it) but never compute with it.
const SCANNED: [&str; 3] = ["engine", "server", "store"];

#[test]
fn engine_server_and_store_never_compute_with_fen_internals() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for name in SCANNED {
        let mut files = Vec::new();
        rust_files(&crates.join(name).join("src"), &mut files);
        assert!(!files.is_empty(), "no sources found for crate {name}");
        for file in files {
            let text = fs::read_to_string(&file).unwrap_or_default();
            for line in fen_arithmetic(&text) {
                found.push(format!("{}:{line}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "arithmetic on Fen internals (use Fen's checked operations):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_every_kind_of_fen_arithmetic() {
    let flagged = |code: &str| !fen_arithmetic(code).is_empty();
    assert!(flagged("Fen::from_fen(a.fen() - b.fen())"));
    assert!(flagged("Fen::from_fen(a.fen() + b.fen())"));
    assert!(flagged("let x = count * state.balance(&key).fen();"));
    assert!(flagged("Fen::from_fen(-u.amount.fen())"));
    assert!(flagged(
        "Fen::from_fen(xs.iter().map(|u| u.amount.fen())\n    .sum())"
    ));
    assert!(!flagged("stmt.bind(u.amount.fen()); Fen::from_fen(-10)"));
    assert!(!flagged("// Fen::from_fen(a.fen() - b.fen()) in a comment"));
    assert!(!flagged("let f = |x: Fen| -> i64 { x.fen() };"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
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

/// The 1-based lines where a `.fen()` value is added, subtracted, multiplied, divided,
/// negated or summed as a bare integer.
fn fen_arithmetic(text: &str) -> Vec<usize> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let mut lines = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find(".fen()") {
        let at = from + i;
        from = at + ".fen()".len();
        let before = preceding_operator(bytes, at);
        let after = code[from..].trim_start();
        let summed = after.starts_with(')') && after[1..].trim_start().starts_with(".sum");
        let operator_after = after.starts_with(['-', '+', '*', '/', '%']);
        if before || operator_after || summed {
            lines.push(code[..at].matches('\n').count() + 1);
        }
    }
    lines.dedup();
    lines
}

/// Whether the receiver of the `.fen()` at `at` (a chain of names, fields and calls) is
/// preceded by an arithmetic operator or a minus sign.
fn preceding_operator(bytes: &[u8], at: usize) -> bool {
    let mut i = at;
    while i > 0 {
        let c = bytes[i - 1];
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'&' || c == b':' {
            i -= 1;
        } else if c == b')' {
            // Skip a balanced argument list: `state.balance(&key).fen()`.
            let mut depth = 0usize;
            while i > 0 {
                i -= 1;
                match bytes[i] {
                    b')' => depth += 1,
                    b'(' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        } else {
            break;
        }
    }
    while i > 0 && bytes[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let op = bytes[i - 1];
    let arrow = i >= 2 && op == b'>';
    !arrow && matches!(op, b'-' | b'+' | b'*' | b'/' | b'%')
}
