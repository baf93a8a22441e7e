//! Running the `gongji` binary (the path is the test crate's `CARGO_BIN_EXE_gongji`).

use std::process::{Command, Output};

/// Runs `bin args`, with the log at `warn`, to its end.
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("run gongji {args:?}: {e}"))
}

/// [`run`], which must exit 0; its stdout. A failure shows both outputs.
pub fn must_succeed(bin: &str, args: &[&str]) -> String {
    let out = run(bin, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "gongji {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
