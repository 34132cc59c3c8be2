#!/usr/bin/env bash
# Builds the Lua module once per Lua ABI and runs the Lua suites under the
# real interpreters: the lua54 build under lua5.4, lua53 under lua5.3,
# lua51 under lua5.1 and luajit under luajit. Module files are staged under
# target/lua/<abi>/xmpp_invites.so (never in the source tree).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

missing=()
for tool in lua5.4 lua5.3 lua5.1 luajit; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -f /usr/share/lua/5.1/dkjson.lua ] || missing+=(lua-dkjson)
command -v cc >/dev/null || missing+=(gcc)
if ((${#missing[@]})); then
	echo "missing: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

suites=(test_vectors.lua test_prosody_records.lua test_prosody_roles.lua test_api.lua test_finalisers.lua test_fast_slow.lua test_unwind.lua test_rng_madvise.lua test_rng_os.lua)
# The madvise (and the dlopen and mmap) that test_rng_madvise.lua and
# test_rng_os.lua preload in their child interpreters.
mkdir -p target/lua
cc -std=c11 -Wall -Wextra -Werror -O1 -shared -fPIC -o target/lua/madvise_shim.so tests/lua/madvise_shim.c
export XI_MADVISE_SHIM="$PWD/target/lua/madvise_shim.so"
status=0
for pair in lua54:lua5.4 lua53:lua5.3 lua51:lua5.1 luajit:luajit; do
	abi=${pair%%:*}
	interpreter=${pair#*:}
	echo "--> building the $abi module"
	if [ "$abi" = lua54 ]; then
		cargo build --quiet --locked -p xmpp-invites-lua
	else
		cargo build --quiet --locked -p xmpp-invites-lua --no-default-features --features "$abi"
	fi
	mkdir -p "target/lua/$abi"
	cp target/debug/libxmpp_invites.so "target/lua/$abi/xmpp_invites.so"
	for suite in "${suites[@]}"; do
		echo "--> $interpreter tests/lua/$suite"
		if ! XI_MODULE_DIR="target/lua/$abi" "$interpreter" "tests/lua/$suite"; then
			echo "FAILED: $interpreter tests/lua/$suite" >&2
			status=1
		fi
	done
	echo "--> $interpreter bindings/lua/example.lua"
	if ! LUA_CPATH="target/lua/$abi/?.so;;" "$interpreter" bindings/lua/example.lua >/dev/null; then
		echo "FAILED: $interpreter bindings/lua/example.lua" >&2
		status=1
	fi
done
exit "$status"
