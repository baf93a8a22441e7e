#!/usr/bin/env bash
# Regenerates the phone-size (360×780) screenshots of the main journeys in docs/screenshots/,
# which README.md shows. Same setup as the browser tests (scripts/browser-test.sh: Debian's
# chromium and a CJK font, playwright-core, a fresh demo database served with its clock
# pinned), running tests/browser/screenshots.mjs instead of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
BROWSER_SCRIPT=tests/browser/screenshots.mjs SHOTS_OUT=docs/screenshots exec bash scripts/browser-test.sh
