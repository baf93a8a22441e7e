#!/usr/bin/env bash
# Browser tests of the pages (issue 5): Debian's headless Chromium, driven by playwright-core
# from tests/browser, against the demo (`gongji demo --no-build`: the shown SMS code, the
# development face check and the open till are the demo's; `gongji serve` never has them) on a
# fresh demo database over loopback.
#
# Installs what it needs when missing: Debian's chromium and a CJK font (so that screenshots
# show Chinese, not boxes) with apt-get, and the Node packages of tests/browser with `npm ci`
# (playwright-core and axe-core only; no browser is downloaded). Screenshots of every page at
# 360×780 and 1280×900 go to artifacts/screenshots/ (gitignored).
# Two servers run: one with its clock pinned to $NOW, and one on a copy of the same database
# with its clock at $NOW2, inside Yuncheng's premium collection window (1 Sep – 25 Dec), for the
# premium journey. Staff users `admin` (admin) and `clerk` (clerk) are made with `gongji staff add`;
# the tests make a till operator `till` with `gongji operator add` for each institution whose till
# they use, and sign in to /terminal as that operator (the open till is the demo's only).
# Exits non-zero on any failure; the runner closes with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NOW="2026-03-10 09:00:00"
NOW2="2026-10-10 09:00:00"
STAFF_PASSWORD="browser-test-$$-$RANDOM"
OPERATOR_PASSWORD="till-test-$$-$RANDOM"

if [ ! -x "$CHROMIUM" ] || [ -z "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  echo "== installing chromium and fonts-noto-cjk (apt-get)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
  echo "== npm ci (tests/browser)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== cargo build (gongji)"
cargo build --locked -p gongji-cli --bin gongji
BIN="$ROOT/target/debug/gongji"

WORK=$(mktemp -d)
SERVER_PID=""
SERVER2_PID=""
cleanup() {
  for pid in $SERVER_PID $SERVER2_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== demo database and its registry"
"$BIN" demo --no-serve --fresh --db "$WORK/demo.db" >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; exit 1; }
"$BIN" export --db "$WORK/demo.db" "$WORK/registry" >/dev/null
for role in admin clerk; do
  "$BIN" staff add --db "$WORK/demo.db" --username "$role" --role "$role" --password "$STAFF_PASSWORD" >/dev/null
done
cp "$WORK/demo.db" "$WORK/demo2.db"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_up() { # port pid log
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then cat "$3"; echo "server did not start"; exit 1; fi
    sleep 0.1
  done
  echo "server on $1 did not answer"; exit 1
}
PORT=$(free_port)
echo "== gongji demo on 127.0.0.1:$PORT (--now \"$NOW\")"
"$BIN" demo --no-build --db "$WORK/demo.db" --addr "127.0.0.1:$PORT" --now "$NOW" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
wait_up "$PORT" "$SERVER_PID" "$WORK/serve.log"
PORT2=$(free_port)
echo "== gongji demo on 127.0.0.1:$PORT2 (--now \"$NOW2\", a copy of the database)"
"$BIN" demo --no-build --db "$WORK/demo2.db" --addr "127.0.0.1:$PORT2" --now "$NOW2" >"$WORK/serve2.log" 2>&1 &
SERVER2_PID=$!
wait_up "$PORT2" "$SERVER2_PID" "$WORK/serve2.log"

# scripts/screenshots.sh runs tests/browser/screenshots.mjs with this same setup, its pictures
# going to docs/screenshots instead.
SCRIPT=${BROWSER_SCRIPT:-tests/browser/run.mjs}
SHOTS_OUT=${SHOTS_OUT:-artifacts/screenshots}
mkdir -p "$SHOTS_OUT"
echo "== browser tests ($SCRIPT)"
status=0
started=$(date +%s)
BASE_URL="http://127.0.0.1:$PORT" DATA_DIR="$WORK/registry" SHOTS_DIR="$ROOT/$SHOTS_OUT" \
  BASE_URL2="http://127.0.0.1:$PORT2" TODAY2="${NOW2%% *}" STAFF_PASSWORD="$STAFF_PASSWORD" \
  GONGJI_BIN="$BIN" DB_PATH="$WORK/demo.db" OPERATOR_PASSWORD="$OPERATOR_PASSWORD" \
  CHROMIUM="$CHROMIUM" TODAY="${NOW%% *}" node "$SCRIPT" || status=$?
echo "== browser tests took $(( $(date +%s) - started )) s"

if [ "$status" -ne 0 ]; then
  echo "-- server log (last 40 lines)"
  tail -n 40 "$WORK/serve.log" || true
  echo "-- second server log (last 20 lines)"
  tail -n 20 "$WORK/serve2.log" || true
fi
exit "$status"
