#!/usr/bin/env bash
# Point-in-time recovery, once, on a throwaway cluster (unix socket only, nothing on the
# network): WAL archived with the archive_command the README gives, a base backup from
# scripts/pg-backup.sh, settlements before and after a target time, recovery to that time.
# Rows committed before the target must be there, rows after it must not.
set -euo pipefail
cd "$(dirname "$0")/.."

bindir="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$bindir/initdb" ] || bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ ! -x "$bindir/initdb" ]; then
    echo "PostgreSQL not installed (scripts/ensure-postgres.sh)" >&2
    exit 1
fi

work="$(mktemp -d /tmp/gongji-pitr-XXXXXX)"
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$work"
    as_pg=(runuser -u postgres --)
fi
run() { "${as_pg[@]}" "$@"; }
cleanup() {
    for d in "$work/primary" "$work/recovered"; do
        [ -f "$d/postmaster.pid" ] && run "$bindir/pg_ctl" -D "$d" stop -m immediate >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
sock="$work"
psql() { run "$bindir/psql" -h "$sock" -p "$port" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 "$@"; }

run "$bindir/initdb" -D "$work/primary" -U postgres --auth=trust --no-sync >/dev/null
run mkdir "$work/archive"
cat >> "$work/primary/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $work/archive/%f && cp %p $work/archive/%f'
CONF
run "$bindir/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null

psql -c "CREATE TABLE settlements (setl_id TEXT PRIMARY KEY, amount_fen BIGINT NOT NULL,
         settled_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())"
settle() { psql -c "INSERT INTO settlements (setl_id, amount_fen)
                    SELECT '$1-' || g, g FROM generate_series(1, $2) g"; }
settle before-backup 100
run bash scripts/pg-backup.sh "$work/backups" -h "$sock" -p "$port" -U postgres >/dev/null
settle after-backup 50
target="$(psql -c "SELECT clock_timestamp()")"
sleep 1
settle after-target 70
psql -c "SELECT pg_switch_wal()" >/dev/null
# Wait until the segment holding the last rows is archived.
for _ in $(seq 1 100); do
    [ "$(psql -c "SELECT last_failed_wal IS NULL AND archived_count > 0 FROM pg_stat_archiver")" = t ] &&
        [ "$(psql -c "SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver")" = t ] && break
    sleep 0.1
done
run "$bindir/pg_ctl" -D "$work/primary" stop -m immediate >/dev/null

base="$(ls -d "$work"/backups/base-* | head -1)"
run cp -a "$base" "$work/recovered"
run chmod 700 "$work/recovered"
cat >> "$work/recovered/postgresql.conf" <<CONF
archive_mode = off
restore_command = 'cp $work/archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
CONF
run touch "$work/recovered/recovery.signal"
run "$bindir/pg_ctl" -D "$work/recovered" -l "$work/recovered.log" -w start >/dev/null
for _ in $(seq 1 100); do
    [ "$(psql -c "SELECT NOT pg_is_in_recovery()")" = t ] && break
    sleep 0.1
done

counts="$(psql -c "SELECT split_part(setl_id, '-', 1) || '-' || split_part(setl_id, '-', 2), COUNT(*)
                   FROM settlements GROUP BY 1 ORDER BY 1" | tr '\n' ' ')"
expected="after-backup|50 before-backup|100 "
if [ "$counts" != "$expected" ]; then
    echo "point-in-time recovery to $target: expected [$expected], got [$counts]" >&2
    tail -20 "$work/recovered.log" >&2
    exit 1
fi
echo "point-in-time recovery: 150 settlements before the target present, 70 after it absent"
