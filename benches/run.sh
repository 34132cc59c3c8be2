#!/usr/bin/env bash
# Runs the benchmarks and prints their tables (see benches/README.md).
#
#   benches/run.sh core      criterion: the core's hot paths
#   benches/run.sh ratios    the core against the floor; the C API against the core
#   benches/run.sh lua       the Lua module against stock Prosody's Lua, one lua5.4 process
#   benches/run.sh all       all of the above
#
# Needs what ./scripts/test.sh installs (lua5.4 and its headers, a C
# compiler, prosody).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-all}"

core() { cargo bench --locked --bench core; }
ratios() { cargo bench --locked --bench ratios; }
lua() {
	cargo build --quiet --locked --release -p xmpp-invites-lua
	mkdir -p target/lua/lua54-release
	cp target/release/libxmpp_invites.so target/lua/lua54-release/xmpp_invites.so
	# The validate floor (benches/lua/floor.c), a plain C module.
	cc -O2 -shared -fPIC $(pkg-config --cflags lua5.4) benches/lua/floor.c \
		-o target/lua/lua54-release/xi_bench_floor.so
	XI_MODULE_DIR=target/lua/lua54-release lua5.4 benches/lua/vs_stock.lua
}

case "$what" in
core | ratios | lua) "$what" ;;
all) core && ratios && lua ;;
*)
	echo "usage: benches/run.sh [core|ratios|lua|all]" >&2
	exit 2
	;;
esac
