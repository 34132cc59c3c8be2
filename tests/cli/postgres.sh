#!/usr/bin/env bash
# Runs the PostgreSQL variant of the xmpp-invites-cli tests against a
# throw-away PostgreSQL server: a fresh cluster in a temporary directory,
# listening on a free port on 127.0.0.1 only (its socket in that directory),
# run as an unprivileged user (PostgreSQL refuses to run as root), stopped
# and deleted on exit. Installs nothing: needs Debian's `postgresql` package.
#
# Usage: bash tests/cli/postgres.sh [extra cargo test arguments]
set -euo pipefail

cd "$(dirname "$0")/../.."

# The newest PostgreSQL whose server binaries are installed.
bindir=""
for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && bindir=$dir
done
if [ -z "$bindir" ]; then
    echo "postgres.sh: no PostgreSQL server found under /usr/lib/postgresql/*/bin." >&2
    echo "postgres.sh: install it with: apt-get install -y postgresql" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xi-pg.XXXXXX")
as_user=()
if [ "$(id -u)" = 0 ]; then
    # PostgreSQL will not run as root: run it as nobody, owning the cluster.
    if ! command -v runuser >/dev/null; then
        echo "postgres.sh: running as root needs runuser (util-linux) to start PostgreSQL as nobody" >&2
        exit 1
    fi
    as_user=(runuser -u nobody --)
    chown nobody "$work"
fi

# Stops the server if it runs (a pid file says so).
stop_server() {
    if [ -f "$work/data/postmaster.pid" ]; then
        "${as_user[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}
stop() {
    stop_server
    rm -rf "$work"
}
trap stop EXIT INT TERM

"${as_user[@]}" "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 \
    --locale=C --no-sync >"$work/initdb.log" 2>&1 || {
    cat "$work/initdb.log" >&2
    echo "postgres.sh: initdb failed" >&2
    exit 1
}

# A free port: nothing answers on it now. Candidates stay below Linux's
# range for outgoing connections (32768 and up by default), whose ports a
# recent run's connections may still hold in TIME_WAIT, where no probe
# sees them; and a start that fails (the port taken in between) is tried
# again on another port.
free_port() {
    local candidate
    for _ in $(seq 1 50); do
        candidate=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "postgres.sh: found no free port on 127.0.0.1" >&2
    return 1
}
started=""
for attempt in 1 2 3 4 5; do
    port=$(free_port) || exit 1
    if "${as_user[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c fsync=off -c max_connections=100" \
        start >/dev/null; then
        started=1
        break
    fi
    echo "postgres.sh: the server did not start on port $port (attempt $attempt of 5)" >&2
    # A start that timed out leaves the server running: stop it, or the
    # next attempt fails on its lock file.
    stop_server
done
if [ -z "$started" ]; then
    cat "$work/server.log" >&2
    echo "postgres.sh: the server did not start" >&2
    exit 1
fi
echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($work)"

export XI_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port"
export XI_TEST_POSTGRES_REQUIRED=1
cargo test -p xmpp-invites-cli --test postgres "$@" -- --ignored --test-threads 2
