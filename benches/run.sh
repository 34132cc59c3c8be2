#!/usr/bin/env bash
# Runs the benchmarks and prints their tables (see benches/README.md).
#
#   benches/run.sh core      criterion: the core's hot paths
#   benches/run.sh ratios    the core against the floor; the C API against the core
#   benches/run.sh lua       the Lua module against stock Prosody's Lua, one lua5.4 process
#                            (benches/run.sh lua --json: the same as JSON)
#   benches/run.sh all       all of the above
#   benches/run.sh lua-smoke the Lua bench once, briefly, on a debug build:
#                            that it runs and its checks hold (a test suite)
#
# Needs what ./scripts/test.sh installs (lua5.4 and its headers, a C
# compiler, prosody).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-all}"

core() { cargo bench --locked --bench core; }
ratios() { cargo bench --locked --bench ratios; }
# lua_bench PROFILE DIR: builds xmpp_invites.so and the floors
# (benches/lua/floor.c, a plain C module) into DIR and runs the bench.
lua_bench() {
	local profile=$1 dir=$2
	shift 2
	cargo build --quiet --locked --profile "$profile" -p xmpp-invites-lua
	mkdir -p "$dir"
	local out=debug
	[ "$profile" = dev ] || out=$profile
	cp "target/$out/libxmpp_invites.so" "$dir/xmpp_invites.so"
	cc -O2 -Wall -Wextra -Werror -shared -fPIC $(pkg-config --cflags lua5.4) benches/lua/floor.c \
		-o "$dir/xi_bench_floor.so"
	# Ours's rows time the fast path: a call it hands on raises.
	XMPP_INVITES_LUA_FAST_ONLY=1 XI_MODULE_DIR="$dir" lua5.4 benches/lua/vs_stock.lua "$@"
}
lua() { lua_bench release target/lua/lua54-release "$@"; }
lua_smoke() { XI_BENCH_SMOKE=1 lua_bench dev target/lua/lua54-smoke; }

case "$what" in
core | ratios) "$what" ;;
lua) lua "${@:2}" ;;
lua-smoke) lua_smoke ;;
all) core && ratios && lua ;;
*)
	echo "usage: benches/run.sh [core|ratios|lua|all|lua-smoke]" >&2
	exit 2
	;;
esac
