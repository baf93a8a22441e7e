#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS_PER_TARGET seconds (default 30), starting
# from the seed corpus in fuzz/corpus/TARGET. New inputs go to a scratch directory, so the
# committed corpus is left as it is; a crash is written to fuzz/artifacts/TARGET/ and fails
# the script. Longer runs: README, "Reliability".
#
# cargo-fuzz needs nightly-only compiler flags (sanitizers, coverage instrumentation);
# RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# Release code with debug assertions (integer overflow panics); no sanitizer: the code under
# test is safe Rust, and without AddressSanitizer the build and every run are about twice as fast.
flags=(-O -a -s none)

started=$(date +%s)
cargo fuzz build "${flags[@]}"
built=$(date +%s)
echo "fuzz targets built in $((built - started)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
targets=$(cargo fuzz list)
for target in $targets; do
    echo "== fuzz $target (${seconds} s)"
    mkdir -p "$scratch/$target"
    cargo fuzz run "${flags[@]}" "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        2>"$scratch/$target.log" || {
        tail -40 "$scratch/$target.log"
        echo "fuzz target $target failed: see fuzz/artifacts/$target/" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$scratch/$target.log" || true
done
echo "fuzzing: $(echo "$targets" | wc -w) targets x ${seconds} s, $(($(date +%s) - started)) s in all"
