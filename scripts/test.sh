#!/usr/bin/env bash
# The project's test command (README). CI runs exactly this on a clean clone.
# It installs what the tests need and cannot assume (see the comments below), then runs
# formatting, lints and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
bash scripts/ensure-postgres.sh
cargo test --workspace --locked
bash scripts/pg-pitr-test.sh
bash scripts/failover-test.sh
# Cross-province quotas: a province killed at each step boundary (a fault-test build), and
# two provinces on loopback through HTTP (about 40 s together).
cargo test -p gongji-cli --locked --features fault-test --test quota_crash
bash scripts/two-provinces.sh

echo "== fuzz (short: every target 15 s; installs cargo-fuzz if missing)"
bash scripts/fuzz.sh 15
bash scripts/browser-test.sh
