#!/usr/bin/env bash
# The seeded simulator (crates/engine/tests/sim) for longer than CI runs it:
#   scripts/sim.sh --seeds 1000 [--from 5000] [--rounds 300]
# Seeds start at --from (default: a fresh number, printed, so a night's run does not repeat
# the last one). A failing seed prints the one command that replays it exactly.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=100
from=""
rounds=120
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --from) from="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "usage: scripts/sim.sh [--seeds N] [--from SEED] [--rounds R]" >&2; exit 2 ;;
    esac
done
if [ -z "$from" ]; then
    from=$(( $(date +%s) % 1000000000 * 1000 ))
fi
echo "== simulator: $seeds seeds from $from, $rounds rounds each"
SIM_SEEDS="$seeds" SIM_FROM="$from" SIM_ROUNDS="$rounds" \
    cargo test -p gongji-engine --test sim every_seed_keeps_the_books_under_injected_faults \
    -- --nocapture
