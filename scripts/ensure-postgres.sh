#!/usr/bin/env bash
# Makes sure the PostgreSQL 15 server binaries are installed, for the store's contract tests
# (crates/store/tests/contract.rs starts a throwaway cluster with initdb and pg_ctl).
# Installs Debian's `postgresql` package when initdb is missing; fails loudly if it cannot.
set -euo pipefail

has_initdb() {
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        local bindir
        bindir="$(pg_config --bindir 2>/dev/null || true)"
        if [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; then
            return 0
        fi
    fi
    return 1
}

if has_initdb; then
    exit 0
fi

echo "== PostgreSQL server binaries not found: installing the postgresql package"
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure-postgres: initdb is missing and this is not root (no sudo either)." >&2
        echo "ensure-postgres: install it with: apt-get install -y postgresql" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends postgresql; }; then
    echo "ensure-postgres: 'apt-get install -y postgresql' failed; the PostgreSQL tests cannot run." >&2
    exit 1
fi
if ! has_initdb; then
    echo "ensure-postgres: postgresql is installed but no initdb was found in" \
        "/usr/lib/postgresql/15/bin or \`pg_config --bindir\`." >&2
    exit 1
fi
echo "== PostgreSQL installed"
