#!/usr/bin/env bash
# The C suite of xmpp-invites: `bash tests/c/run.sh` (called by the main
# test command).
#
# 1. scripts/c-stage.sh builds the C ABI and stages an installed-style prefix
#    (target/c-stage: header, libxmpp_invites.so.X.Y.Z with its SONAME
#    libxmpp_invites.so.0.Y (0.x) and the .so link, .a, xmpp_invites.pc);
# 2. every function the header declares is exported, and is exercised by
#    tests/c/test_bad_input.c; the header compiles with -Wall -Wextra
#    -Werror -pedantic in every C dialect from C99 (strict and GNU: GCC's
#    default is gnu17, where `unix` and `linux` are macros) and as C++,
#    and a C++ program links against it and calls it;
# 3. the tests (tests/c/test_*.c), the example (bindings/c/example.c) and a
#    leak canary are built with the flags pkg-config gives, twice:
#      asan      -fsanitize=address,undefined, linked against the static
#                library, run with LeakSanitizer on;
#      valgrind  no sanitizers, linked against the shared library, run under
#                valgrind --leak-check=full (errors and definite, indirect or
#                possible leaks fail; still-reachable blocks are allowed);
# 4. each test must end with "N passed, 0 failed" and exit 0; the example
#    must succeed; the canary, which leaks on purpose, must be caught by
#    both leak checkers (proof that they see the Rust library's memory).
#
# Build outputs go to target/c-tests/. Exits non-zero if any step fails and
# names the failed steps.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
start=$SECONDS
cc="${CC:-gcc}"
cxx="${CXX:-g++}"

# --- prerequisites ----------------------------------------------------------
missing=()
command -v "$cc" >/dev/null || missing+=(gcc)
command -v "$cxx" >/dev/null || missing+=(g++)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v readelf >/dev/null || missing+=(binutils)
if command -v pkg-config >/dev/null; then
	pkg-config --exists jansson || missing+=(libjansson-dev)
else
	missing+=(pkg-config)
	[ -f /usr/include/jansson.h ] || missing+=(libjansson-dev)
fi
if ((${#missing[@]})); then
	echo "tests/c: missing: ${missing[*]}" >&2
	echo "tests/c: install them with: apt-get install -y ${missing[*]}" >&2
	exit 1
fi
for tool in cargo rustc; do
	command -v "$tool" >/dev/null || { echo "tests/c: $tool is not installed (https://rustup.rs)" >&2; exit 1; }
done

out="${CARGO_TARGET_DIR:-$root/target}/c-tests"
stage="${CARGO_TARGET_DIR:-$root/target}/c-stage"
rm -rf "$out"
mkdir -p "$out/asan" "$out/valgrind" "$out/logs"

# The sanitizer runtimes come with gcc; check they link before relying on them.
san_flags=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
echo 'int main(void) { return 0; }' >"$out/probe.c"
if ! "$cc" "${san_flags[@]}" "$out/probe.c" -o "$out/probe" 2>"$out/logs/probe.log"; then
	cat "$out/logs/probe.log" >&2
	echo "tests/c: $cc cannot link with -fsanitize=address,undefined" >&2
	echo "tests/c: install the runtimes with: apt-get install -y libasan8 libubsan1" >&2
	exit 1
fi

# --- steps ------------------------------------------------------------------
passed=0
failures=()
pass() { passed=$((passed + 1)); echo "    ok: $1${2:+: $2}"; }
fail() { failures+=("$1"); echo "FAILED: $1${2:+: $2}" >&2; }

echo "==> c: stage the library (scripts/c-stage.sh)"
if ! bash scripts/c-stage.sh; then
	echo "FAILED: c-stage (scripts/c-stage.sh)" >&2
	echo "c tests: 0 passed, 1 failed (c-stage)"
	exit 1
fi
export PKG_CONFIG_PATH="$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
version="$(pkg-config --modversion xmpp_invites)"
read -r -a xi_cflags <<<"$(pkg-config --cflags xmpp_invites)"
read -r -a xi_libs_shared <<<"$(pkg-config --libs xmpp_invites)"
# The static link of a user who has both files in libdir: the archive by
# name, plus the system libraries of Libs.private.
read -r -a xi_libs_static <<<"$(pkg-config --static --libs xmpp_invites)"
for i in "${!xi_libs_static[@]}"; do
	[ "${xi_libs_static[$i]}" = -lxmpp_invites ] && xi_libs_static[i]=-l:libxmpp_invites.a
done
read -r -a jansson <<<"$(pkg-config --cflags --libs jansson)"

# The SONAME that shared-library programs must record, and so load.
soname=$(readelf -d "$stage/lib/libxmpp_invites.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case "$soname" in
libxmpp_invites.so.[0-9]*) ;;
*) fail "soname" "expected a versioned SONAME, got '${soname:-none}'" ;;
esac

echo "==> c: header, exports and bad-input coverage"
grep -oE '\bxi_[a-z0-9_]+\(' "$stage/include/xmpp_invites.h" | tr -d '(' | sort -u >"$out/header.syms"
nm -D --defined-only "$stage/lib/libxmpp_invites.so" | awk '$2 == "T" { print $3 }' | sort -u >"$out/so.syms"
nm --defined-only "$stage/lib/libxmpp_invites.a" 2>/dev/null | awk '$2 == "T" && $3 ~ /^xi_/ { print $3 }' | sort -u >"$out/a.syms"
untested=$(while read -r f; do grep -qw "$f" tests/c/test_bad_input.c || echo "$f"; done <"$out/header.syms")
if ! diff -u "$out/header.syms" "$out/so.syms" >"$out/logs/exports.diff"; then
	cat "$out/logs/exports.diff"
	fail "exports" "the shared library's xi_ functions differ from the header's"
elif ! diff -u "$out/header.syms" "$out/a.syms" >"$out/logs/exports-static.diff"; then
	cat "$out/logs/exports-static.diff"
	fail "exports" "the static library's xi_ functions differ from the header's"
elif [ -n "$untested" ]; then
	fail "coverage" "not in tests/c/test_bad_input.c: $(echo $untested)"
else
	pass "coverage" "$(wc -l <"$out/header.syms") functions declared, exported (.so and .a) and exercised"
fi

echo "==> c: the header in every dialect"
# Each dialect the compiler knows; GNU dialects predefine `unix` and
# `linux`, which must not appear as names in the header.
printf '#include <xmpp_invites.h>\nint main(void) { return xi_version() == 0; }\n' >"$out/dialect.c"
dialects_ok=()
dialects_failed=0
for std in c99 gnu99 c11 gnu11 c17 gnu17 c2x gnu2x; do
	if "$cc" -std="$std" -Wall -Wextra -Werror -pedantic "${xi_cflags[@]}" -fsyntax-only "$out/dialect.c" \
		>"$out/logs/dialect-$std.log" 2>&1; then
		dialects_ok+=("$std")
	else
		cat "$out/logs/dialect-$std.log" >&2
		fail "header $std" "$cc -std=$std cannot compile a file that includes the header"
		dialects_failed=1
	fi
done
# C++: the header's extern "C" block, proven by linking and calling.
printf '#include <xmpp_invites.h>\n#include <cstring>\nint main() { return std::strcmp(xi_result_name(XI_RESULT_OK), "ok") != 0; }\n' >"$out/dialect.cpp"
for std in c++11 c++17 c++20; do
	if "$cxx" -std="$std" -Wall -Wextra -Werror -pedantic "${xi_cflags[@]}" "$out/dialect.cpp" -o "$out/dialect-$std" \
		"${xi_libs_shared[@]}" "-Wl,-rpath,$stage/lib" >"$out/logs/dialect-$std.log" 2>&1 &&
		"$out/dialect-$std" >>"$out/logs/dialect-$std.log" 2>&1; then
		dialects_ok+=("$std")
	else
		cat "$out/logs/dialect-$std.log" >&2
		fail "header $std" "$cxx -std=$std: a C++ program that includes the header does not build, link or run"
		dialects_failed=1
	fi
done
((dialects_failed)) || pass "header" "compiles as ${dialects_ok[*]}"

# name, source, extra flags
programs=(
	"test_vectors tests/c/test_vectors.c jansson"
	"test_api tests/c/test_api.c jansson"
	"test_bad_input tests/c/test_bad_input.c -"
	"test_rng_madvise tests/c/test_rng_madvise.c -"
	"example bindings/c/example.c -"
	"leak_canary tests/c/leak_canary.c -"
)
base_cflags=(-std=c11 -Wall -Wextra -Werror -g "-DXI_EXPECTED_VERSION=\"$version\"")

build() { # variant name src extra
	local variant=$1 name=$2 src=$3 extra=$4 bin="$out/$1/$2" log="$out/logs/$1-$2.build.log"
	local -a flags=("${base_cflags[@]}" "${xi_cflags[@]}") libs=()
	[ "$extra" = jansson ] && libs+=("${jansson[@]}")
	if [ "$variant" = asan ]; then
		flags+=(-O1 "${san_flags[@]}")
		libs+=("${xi_libs_static[@]}")
	else
		flags+=(-O0)
		libs+=("${xi_libs_shared[@]}" "-Wl,-rpath,$stage/lib")
	fi
	if ! "$cc" "${flags[@]}" "$src" -o "$bin" "${libs[@]}" >"$log" 2>&1; then
		cat "$log" >&2
		fail "$variant build $name" "$cc failed (log: $log)"
		return 1
	fi
	# Prove which library the program uses.
	local needed
	needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep xmpp_invites || true)
	if [ "$variant" = asan ] && [ -n "$needed" ]; then
		fail "$variant build $name" "expected the static library, but it needs $needed"
		return 1
	fi
	if [ "$variant" = valgrind ] && { [ -z "$soname" ] || [ "$needed" != "$soname" ]; }; then
		fail "$variant build $name" "expected NEEDED ${soname:-a versioned SONAME}, got '${needed:-nothing}'"
		return 1
	fi
}

# Runs a built program; checks its exit status and output.
run() { # variant name
	local variant=$1 name=$2 bin="$out/$1/$2" log="$out/logs/$1-$2.log" vglog="$out/logs/$1-$2.valgrind.log"
	local -a cmd=("$bin")
	[ "$name" = test_vectors ] && cmd+=("$root/tests/vectors")
	if [ "$variant" = valgrind ]; then
		cmd=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible
			--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
			--track-origins=yes --log-file="$vglog" "${cmd[@]}")
	fi
	local rc=0 t0=$SECONDS
	ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:halt_on_error=1" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
		"${cmd[@]}" >"$log" 2>&1 || rc=$?
	local took="$((SECONDS - t0)) s"
	[ -f "$vglog" ] && cat "$vglog" >>"$log"

	if [ "$name" = leak_canary ]; then
		# It leaks on purpose: the checker must say so, naming both leaks.
		local caught=no
		if [ "$variant" = asan ]; then
			[ $rc -ne 0 ] && grep -q 'LeakSanitizer: detected memory leaks' "$log" &&
				grep -q 'xi_token_generate' "$log" && grep -q 'xi_record_from_json' "$log" && caught=yes
		else
			[ $rc -eq 99 ] && grep -q 'definitely lost in' "$log" &&
				grep -q 'xi_token_generate' "$log" && grep -q 'xi_record_from_json' "$log" && caught=yes
		fi
		if [ $caught = yes ]; then
			pass "$variant $name" "its deliberate leaks were reported"
		else
			cat "$log" >&2
			fail "$variant $name" "the deliberate leaks were NOT reported (exit $rc): the leak checker does not work"
		fi
		return 0
	fi

	local last
	last=$(grep -v '^==[0-9]*==' "$log" | tail -n 1 || true)
	if [ $rc -ne 0 ]; then
		cat "$log" >&2
		fail "$variant $name" "exit status $rc (log: $log)"
	elif [ "$name" = example ]; then
		if [ "$last" = "example: ok" ]; then pass "$variant $name" "$took"; else
			cat "$log" >&2
			fail "$variant $name" "no 'example: ok'"
		fi
	elif [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
		pass "$variant $name" "$last, $took"
	else
		cat "$log" >&2
		fail "$variant $name" "the last line is '$last', not 'N passed, 0 failed'"
	fi
	if [ "$variant" = valgrind ] && [ $rc -eq 0 ] && ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
		fail "$variant $name" "valgrind reported errors (log: $log)"
	fi
	return 0
}

for variant in asan valgrind; do
	echo "==> c: $variant: build and run (${out#"$root"/}/$variant)"
	for p in "${programs[@]}"; do
		read -r name src extra <<<"$p"
		build "$variant" "$name" "$src" "$extra" && run "$variant" "$name"
	done
done

echo
if ((${#failures[@]})); then
	echo "c tests: $passed passed, ${#failures[@]} failed in $((SECONDS - start)) s; failed steps:"
	printf '  %s\n' "${failures[@]}"
	exit 1
fi
echo "c tests: $passed passed, 0 failed in $((SECONDS - start)) s"
