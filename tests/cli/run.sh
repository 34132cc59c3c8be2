#!/usr/bin/env bash
# Every test of the command-line tool (crates/xmpp-invites-cli):
#   1. cargo fmt --check and clippy -D warnings on the crate,
#   2. the Rust tests on SQLite (every command, Prosody's captured rows,
#      concurrent `use` by 2 and 8 processes, bad input, locks, permissions),
#   3. the same scenarios on a throw-away PostgreSQL server (postgres.sh).
# Exits non-zero if anything fails or cannot run; installs nothing, but says
# which Debian packages are missing.
#
# Usage: bash tests/cli/run.sh
set -euo pipefail

cd "$(dirname "$0")/../.."

missing=()
command -v cargo >/dev/null || { echo "run.sh: cargo is missing: install Rust (https://rustup.rs)" >&2; exit 1; }
command -v cc >/dev/null || missing+=(gcc libc6-dev)   # rusqlite builds its bundled SQLite
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ "$(id -u)" = 0 ]; then
    command -v runuser >/dev/null || missing+=(util-linux)   # to run PostgreSQL and the read-only test as nobody
fi
[ -e /usr/share/zoneinfo/Europe/Berlin ] || missing+=(tzdata)   # the local-time test
if [ ${#missing[@]} -gt 0 ]; then
    echo "run.sh: missing Debian packages; install them with:" >&2
    echo "    apt-get install -y ${missing[*]}" >&2
    exit 1
fi

step() {
    local started=$SECONDS
    echo "== $1"
    shift
    "$@"
    echo "== done in $((SECONDS - started)) s"
}

step "cargo fmt --check" cargo fmt -p xmpp-invites-cli -- --check
step "cargo clippy" cargo clippy -q -p xmpp-invites-cli --all-targets -- -D warnings
step "unit tests and SQLite tests" cargo test -p xmpp-invites-cli --bins --test sqlite
step "PostgreSQL tests" bash tests/cli/postgres.sh
echo "run.sh: all tests of xmpp-invites-cli passed"
