#!/usr/bin/env bash
# Runs every test suite of the workspace. The README's test command; CI's
# .ci/run calls exactly this.
#
# As root it installs what the suites need from Debian; otherwise it stops
# and prints the command to run. A suite that cannot run fails: nothing is
# skipped in silence.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One run at a time per checkout: the suites share target/ (the Lua builds
# overwrite one another's library, the C and fuzz suites clear their output).
mkdir -p target
exec 9>target/.test-lock
if ! flock -n 9; then
	echo "==> another test run holds target/.test-lock; waiting for it"
	flock 9
fi

# --- prerequisites ----------------------------------------------------------
apt_packages=()
# The Lua module is tested under every interpreter it is built for.
for lua in lua5.4 lua5.3 lua5.1 luajit; do
	command -v "$lua" >/dev/null || apt_packages+=("$lua")
done
[ -f /usr/share/lua/5.1/dkjson.lua ] || apt_packages+=(lua-dkjson)
# The Lua benchmark's smoke run compiles its C floor against Lua 5.4.
[ -f /usr/include/lua5.4/lua.h ] || apt_packages+=(liblua5.4-dev)
command -v luarocks >/dev/null || apt_packages+=(luarocks)
# The C suite: a real compiler with sanitizers, valgrind, pkg-config, and
# jansson to read the JSON vectors.
for tool in gcc valgrind pkg-config; do
	command -v "$tool" >/dev/null || apt_packages+=("$tool")
done
[ -f /usr/include/jansson.h ] || apt_packages+=(libjansson-dev)
# The command-line tool's PostgreSQL suite starts a throw-away server (as
# nobody through runuser when run as root; runuser is in /sbin, off a
# user's PATH, and not needed then); one test checks local-time output.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_packages+=(postgresql)
if [ "$(id -u)" -eq 0 ]; then
	command -v runuser >/dev/null || [ -x /usr/sbin/runuser ] || [ -x /sbin/runuser ] || apt_packages+=(util-linux)
fi
[ -e /usr/share/zoneinfo/Europe/Berlin ] || apt_packages+=(tzdata)
# libFuzzer (the fuzz smoke run) links with a C++ compiler.
command -v c++ >/dev/null || apt_packages+=(g++)
# Prosody's own Lua sources are the reference the template vectors are
# checked against.
[ -f /usr/lib/prosody/util/interpolation.lua ] || apt_packages+=(prosody)
# The end-to-end suites run our modules on a real Prosody, next to Debian's
# prosody-modules web modules, driven by slixmpp in a venv.
[ -d /usr/lib/prosody/modules/mod_invites_page ] || apt_packages+=(prosody-modules)
# They run again on Prosody 13 from bookworm-backports, fetched by
# tests/prosody/prosody13.sh into target/ (it needs only curl).
command -v curl >/dev/null || apt_packages+=(curl)
# One of them runs Prosody on its SQL storage (SQLite through LuaDBI, which
# Prosody only suggests).
compgen -G "/usr/lib/*/lua/5.4/dbd/sqlite3.so" >/dev/null || apt_packages+=(lua-dbi-sqlite3)
python3 -c "import ensurepip, venv" 2>/dev/null || apt_packages+=(python3-venv)
# The CLI benches' smoke run times commands under GNU time (and, for a
# diagnostic row, with eatmydata's fsync-free preload).
[ -x /usr/bin/time ] || apt_packages+=(time)
[ -e /usr/lib/x86_64-linux-gnu/libeatmydata.so ] || apt_packages+=(eatmydata)

if ((${#apt_packages[@]})); then
	if [ "$(id -u)" -eq 0 ]; then
		echo "==> installing ${apt_packages[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null ||
			{ echo "FAILED: apt-get install ${apt_packages[*]}" >&2; exit 1; }
		# The packages start a system Prosody and PostgreSQL; the suites
		# start their own.
		if command -v service >/dev/null; then
			service prosody stop >/dev/null 2>&1 || true
			service postgresql stop >/dev/null 2>&1 || true
		fi
	else
		echo "missing packages: ${apt_packages[*]}" >&2
		echo "run: sudo apt-get install -y ${apt_packages[*]}" >&2
		exit 1
	fi
fi
# The fuzz smoke run needs cargo-fuzz, from crates.io.
if ! command -v cargo-fuzz >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "==> installing cargo-fuzz"
		cargo install --quiet cargo-fuzz --version 0.13.2 --locked ||
			{ echo "FAILED: cargo install cargo-fuzz" >&2; exit 1; }
	else
		echo "missing: cargo-fuzz; run: cargo install cargo-fuzz --version 0.13.2 --locked" >&2
		exit 1
	fi
fi
for tool in cargo rustfmt cargo-clippy; do
	command -v "$tool" >/dev/null || { echo "FAILED: $tool is not installed (rustup component add ${tool#cargo-})" >&2; exit 1; }
done

# --- suites -----------------------------------------------------------------
passed=0
failed=0
failures=()
suite() {
	local name="$1"; shift
	echo "==> $name: $*"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAILED: $name" >&2
	fi
}

suite format cargo fmt --all --check
suite clippy cargo clippy --workspace --all-targets --locked -- -D warnings
suite template-vectors-vs-stock-prosody lua5.4 tests/prosody/check_template_vectors.lua
suite example cargo run --quiet --locked -p xmpp-invites --example each_kind -- example.com
main_job() {
	# The README's main job, in a throw-away directory.
	local dir
	dir=$(mktemp -d)
	(cd "$dir" && cargo run --quiet --locked --release --manifest-path "$OLDPWD/Cargo.toml" -p xmpp-invites-cli -- create account example.com --qr >/dev/null && test -s invites.sqlite3)
	local status=$?
	rm -rf "$dir"
	return $status
}
suite main-job main_job
suite c bash tests/c/run.sh
suite lua bash tests/lua/run.sh
suite bench-lua-smoke benches/run.sh lua-smoke
# The Rust benches once each: criterion's test mode, and ratios briefly.
suite bench-rust-smoke env XI_BENCH_SMOKE=1 cargo test --locked --bench core --bench ratios
# The CLI benches once, on 100 and 1,000 invites, against prosodyctl.
suite bench-cli-smoke benches/cli/run.sh --smoke
suite rockspec luarocks lint bindings/lua/xmpp_invites-0.1.0-1.rockspec
suite cli-postgres bash tests/cli/postgres.sh
suite prosody bash tests/prosody/run.sh
suite prosody13 bash tests/prosody/prosody13.sh
suite fuzz-smoke bash scripts/fuzz.sh smoke
# Property tests draw from a fixed seed here, as the fuzz smoke does, so
# that the suite fails on a change, not on a draw (PROPTEST_RNG_SEED
# overrides; plain `cargo test` draws anew each run).
suite rust env PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-1}" cargo test --workspace --locked

echo
if ((failed)); then
	echo "failed suites: ${failures[*]}"
fi
echo "suites: $passed passed, $failed failed"
((failed == 0))
