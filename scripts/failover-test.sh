#!/usr/bin/env bash
# Writer fail-over on PostgreSQL (issue 16 item 4): a pg_auto_failover monitor, a primary
# and a synchronous standby (Debian's postgresql-15-auto-failover, installed when missing),
# two supervised `gongji serve` processes on the province's database, settlements under
# load; the primary database is killed, then the serving gongji. Writing must resume, every
# acknowledged settlement must be stored once, none that was not, and `gongji verify` must
# pass (crates/cli/tests/failover.rs drives and checks it).
#
#   scripts/failover-test.sh            short form (from scripts/test.sh, about a minute)
#   scripts/failover-test.sh --long     30 s of load around each kill
#
# Everything is throwaway (a temporary directory, stopped at the end). As root, the cluster
# runs as user postgres inside a network namespace of its own, so nothing can listen beyond
# its loopback (pg_auto_failover's monitor listens on '*').
set -euo pipefail
cd "$(dirname "$0")/.."

load_seconds=3
[ "${1:-}" = "--long" ] && load_seconds=30

bindir=/usr/lib/postgresql/15/bin
if ! command -v pg_autoctl >/dev/null 2>&1 || [ ! -x "$bindir/initdb" ]; then
    echo "== pg_auto_failover not found: installing postgresql-15-auto-failover"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "failover-test: install postgresql-15-auto-failover pg-auto-failover-cli" >&2; exit 1; }
        SUDO="sudo -n"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends postgresql-15-auto-failover pg-auto-failover-cli
fi

if [ -z "${GONGJI_FAILOVER_INSIDE:-}" ]; then
    # Built before the network goes away.
    cargo build --locked -q -p gongji-cli --features failover-test --tests --bins
    if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
        exec unshare --net env GONGJI_FAILOVER_INSIDE=1 bash "$0" "$@"
    fi
    echo "failover-test: no network namespace (not root): relying on loopback listen addresses" >&2
else
    ip link set lo up
fi

work="$(mktemp -d /tmp/gongji-failover-XXXXXX)"
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$work"
    as_pg=(runuser -u postgres --)
fi
pgenv=(env "PATH=$bindir:$PATH" "XDG_CONFIG_HOME=$work/config" "XDG_DATA_HOME=$work/data"
       "XDG_RUNTIME_DIR=$work/run" "PG_REGRESS_SOCK_DIR=" "PGHOST=127.0.0.1")
run() { (cd "$work" && "${as_pg[@]}" "${pgenv[@]}" "$@"); }
pids=()
# A process and everything under it, by pid.
descendants() {
    local p
    for p in $(pgrep -P "$1" 2>/dev/null || true); do descendants "$p"; done
    echo "$1"
}
cleanup() {
    set +e
    for d in "$work"/monitor "$work"/node1 "$work"/node2; do
        [ -d "$d" ] && run pg_autoctl stop --pgdata "$d" --immediate >/dev/null 2>&1
    done
    sleep 1
    local victims=""
    for f in $(find "$work/run" -name pg_autoctl.pid 2>/dev/null) "$work"/*/postmaster.pid; do
        [ -f "$f" ] && victims="$victims $(descendants "$(head -1 "$f")")"
    done
    for p in "${pids[@]}"; do victims="$victims $(descendants "$p")"; done
    [ -n "${victims// /}" ] && kill -KILL $victims 2>/dev/null
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

base=$((20000 + RANDOM % 20000))
pm=$base; p1=$((base + 1)); p2=$((base + 2))
psql_at() { run "$bindir/psql" -h 127.0.0.1 -p "$1" -U postgres -d "$2" -XAtq -v ON_ERROR_STOP=1 -c "$3"; }

run mkdir -p "$work/config" "$work/data" "$work/run"
run chmod 700 "$work/run"
echo "== monitor on 127.0.0.1:$pm"
run pg_autoctl create monitor --pgdata "$work/monitor" --pgport "$pm" --hostname 127.0.0.1 \
    --auth trust --no-ssl --run >"$work/monitor.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
    psql_at "$pm" pg_auto_failover "SELECT 1 FROM pgautofailover.formation LIMIT 1" >/dev/null 2>&1 && break
    sleep 0.2
done
# The defaults wait 20 s before calling a node unhealthy; a test of fail-over speed asks
# for what a tuned production monitor would use.
for setting in health_check_period=500 health_check_timeout=1000 health_check_max_retries=1 \
    health_check_retry_delay=250 node_considered_unhealthy_timeout=1000 \
    primary_demote_timeout=2000; do
    psql_at "$pm" postgres "ALTER SYSTEM SET pgautofailover.${setting%%=*} = ${setting#*=}" >/dev/null
done
psql_at "$pm" postgres "SELECT pg_reload_conf()" >/dev/null
monitor="postgres://autoctl_node@127.0.0.1:$pm/pg_auto_failover?sslmode=disable"

node() {
    local name=$1 port=$2
    run pg_autoctl create postgres --pgdata "$work/$name" --pgport "$port" --hostname 127.0.0.1 \
        --listen 127.0.0.1 --auth trust --no-ssl --dbname gongji --monitor "$monitor" \
        --name "$name" --run >"$work/$name.log" 2>&1 &
    pids+=($!)
}
state_of() { psql_at "$pm" pg_auto_failover "SELECT reportedstate FROM pgautofailover.node WHERE nodeport = $1" 2>/dev/null || true; }
wait_state() {
    local port=$1 want=$2
    for _ in $(seq 1 600); do
        [ "$(state_of "$port")" = "$want" ] && return 0
        sleep 0.2
    done
    echo "node on port $port never reached $want (is $(state_of "$port"))" >&2
    tail -30 "$work"/*.log >&2
    return 1
}
echo "== primary on 127.0.0.1:$p1, standby on 127.0.0.1:$p2"
node node1 "$p1"
wait_state "$p1" single
node node2 "$p2"
wait_state "$p2" secondary
wait_state "$p1" primary
for n in node1 node2; do
    run pg_autoctl config set --pgdata "$work/$n" timeout.prepare_promotion_walreceiver 1 >/dev/null
    run pg_autoctl config set --pgdata "$work/$n" timeout.network_partition_timeout 2 >/dev/null
done
echo "   synchronous_standby_names = $(psql_at "$p1" postgres "SHOW synchronous_standby_names")"

# Kills whichever node is primary now: its keeper (found by its pid file) with its
# sub-processes, and the postmaster with every backend, each by pid.
cat >"$work/kill-primary.sh" <<KILL
set -euo pipefail
port=\$(${as_pg[*]} $bindir/psql -h 127.0.0.1 -p $pm -U postgres -d pg_auto_failover -XAtq \
    -c "SELECT nodeport FROM pgautofailover.node WHERE reportedstate IN ('primary','wait_primary','single')")
dir=$work/node1; [ "\$port" = "$p2" ] && dir=$work/node2
pidfile=\$(find $work/run -path "*\$dir*" -name pg_autoctl.pid | head -1)
keeper=\$(head -1 "\$pidfile")
postmaster=\$(head -1 "\$dir/postmaster.pid")
victims="\$keeper \$(pgrep -P "\$keeper" || true) \$postmaster \$(pgrep -P "\$postmaster" || true)"
kill -KILL \$victims 2>/dev/null || true
echo "killed the primary on port \$port"
KILL

url="host=127.0.0.1,127.0.0.1 port=$p1,$p2 user=postgres dbname=gongji target_session_attrs=read-write connect_timeout=2"
echo "== load, kill the primary database, load, kill the serving gongji, load ($load_seconds s each)"
FAILOVER_DATABASE="$url" FAILOVER_KILL_PRIMARY_DB="$work/kill-primary.sh" \
FAILOVER_LOAD_SECONDS="$load_seconds" FAILOVER_REPORT="${FAILOVER_REPORT:-$work/figures.json}" \
    cargo test --locked -q -p gongji-cli --features failover-test --test failover -- --nocapture 2>&1 |
    grep -Ev '^$|^running|^test result' || { echo "failover test failed; monitor state:"; \
        run pg_autoctl show state --pgdata "$work/monitor" || true; exit 1; }
