#!/usr/bin/env bash
# A base backup of a Gongji PostgreSQL cluster, for point-in-time recovery together with the
# archived WAL (README, "Reliability": the archive_command to set and how to recover).
#
#   scripts/pg-backup.sh OUT_DIR [pg_basebackup connection options, e.g. -h HOST -p PORT -U USER]
#
# Writes OUT_DIR/base-YYYYmmddTHHMMSSZ (plain format, with the WAL needed to make it consistent
# streamed alongside, and a manifest) and checks it with pg_verifybackup. The connecting role
# needs the REPLICATION attribute; libpq's PG* variables work as usual.
set -euo pipefail
out="${1:?usage: scripts/pg-backup.sh OUT_DIR [pg_basebackup options]}"
shift

bindir="$(pg_config --bindir 2>/dev/null || true)"
if [ ! -x "$bindir/pg_basebackup" ]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
fi
if [ ! -x "$bindir/pg_basebackup" ]; then
    echo "pg_basebackup not found: apt-get install -y postgresql-client" >&2
    exit 2
fi

base="$out/base-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
"$bindir/pg_basebackup" -D "$base" -Fp -X stream -c fast --manifest-checksums=SHA256 "$@"
"$bindir/pg_verifybackup" "$base"
echo "base backup: $base"
