#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer, AddressSanitizer and
# LeakSanitizer), see fuzz/README.md.
#
#   scripts/fuzz.sh smoke          build every target, fuzz each for 10 s
#                                  (FUZZ_SMOKE_SECONDS) from the seeds alone
#                                  with a fixed libFuzzer seed, replay
#                                  fuzz/regressions
#   scripts/fuzz.sh long [SECONDS] SECONDS per target (600), growing fuzz/corpus
#   scripts/fuzz.sh replay         build, replay fuzz/regressions only
#
# Every mode exits non-zero on a build failure, a crash, a leak, a timeout or
# a failing regression input, and prints one summary line per target with
# its number of executions (libFuzzer's stat::number_of_executed_units).
#
# Environment: FUZZ_TARGETS (space-separated subset), FUZZ_JOBS (targets run
# side by side; default: the number of CPUs), FUZZ_TIMEOUT (seconds one input
# may take before it counts as a hang; 10), FUZZ_SMOKE_SECONDS (10),
# FUZZ_SEED (libFuzzer's -seed: 1 for smoke, so that the test suite's run
# tries the same inputs every time, on a machine of the same speed; a new
# random one per long run unless set).
#
# Stable Rust is enough: cargo-fuzz's nightly flags (-Zsanitizer=address,
# -Zsanitizer-coverage) are allowed by RUSTC_BOOTSTRAP=1, set for the fuzz
# build only. Nothing is installed here; a missing cargo-fuzz is reported with
# the command that installs it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly CARGO_FUZZ_VERSION=0.13.2
readonly INSTALL="cargo install cargo-fuzz --version $CARGO_FUZZ_VERSION --locked"

mode="${1:-}"
case "$mode" in
smoke) seconds="${FUZZ_SMOKE_SECONDS:-10}" seed="${FUZZ_SEED:-1}" ;;
long) seconds="${2:-600}" seed="${FUZZ_SEED:-0}" ;;
replay) seconds=0 ;;
*)
	echo "usage: $0 smoke | long [SECONDS] | replay" >&2
	exit 2
	;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
[[ "${seed:-0}" =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_SEED must be a whole number, not '$seed'" >&2; exit 2; }

# --- prerequisites ------------------------------------------------------------
if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "FAILED: cargo-fuzz is not installed; install it with:" >&2
	echo "  $INSTALL" >&2
	exit 1
fi
command -v python3 >/dev/null || { echo "FAILED: python3 is needed for fuzz/seed.py" >&2; exit 1; }

export RUSTC_BOOTSTRAP=1
fuzz_dir=fuzz
target_dir="$fuzz_dir/target"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$target_dir/$triple/release"
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
timeout_s="${FUZZ_TIMEOUT:-10}"

echo "==> fuzz: $(rustc --version), $(cargo fuzz --version), RUSTC_BOOTSTRAP=1"

# --- build --------------------------------------------------------------------
build_start=$SECONDS
if ! cargo fuzz build --fuzz-dir "$fuzz_dir" --target-dir "$target_dir"; then
	echo "FAILED: cargo fuzz build" >&2
	exit 1
fi
echo "==> fuzz: built in $((SECONDS - build_start)) s"

if [ -n "${FUZZ_TARGETS:-}" ]; then
	read -r -a targets <<<"$FUZZ_TARGETS"
else
	mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi
((${#targets[@]})) || { echo "FAILED: no fuzz targets" >&2; exit 1; }
for t in "${targets[@]}"; do
	[ -x "$bin_dir/$t" ] || { echo "FAILED: no binary $bin_dir/$t" >&2; exit 1; }
done

# --- seeds --------------------------------------------------------------------
# Generated from tests/vectors/ by fuzz/seed.py. A long run works in
# fuzz/corpus/<target>/ (git-ignored), which keeps what earlier runs found; a
# smoke run starts from the seeds alone every time, so that it costs the same
# and behaves the same on every machine.
corpus="$fuzz_dir/corpus"
if [ "$mode" = smoke ]; then
	corpus="$target_dir/smoke-corpus"
	rm -rf "$corpus"
fi
python3 "$fuzz_dir/seed.py" "$corpus" >/dev/null || { echo "FAILED: fuzz/seed.py" >&2; exit 1; }

logs="$fuzz_dir/logs"
mkdir -p "$logs"

# Fuzzes one target for $seconds; writes its result to $logs/<t>.result as
# "<executions> <crashes>".
fuzz_one() {
	local t="$1" log="$logs/$1.log" artifacts="$fuzz_dir/artifacts/$1" marker
	mkdir -p "$artifacts" "$corpus/$t"
	marker="$(mktemp)"
	"$bin_dir/$t" "$corpus/$t" \
		-max_total_time="$seconds" -seed="${seed:-0}" -timeout="$timeout_s" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
	local rc=$?
	local execs crashes
	execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
	crashes="$(find "$artifacts" -maxdepth 1 -type f -newer "$marker" \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
	rm -f "$marker"
	# A non-zero exit without an artifact is still a failure.
	if ((rc != 0 && crashes == 0)); then crashes=1; fi
	echo "${execs:-0} $crashes $rc" >"$logs/$t.result"
}

if ((seconds > 0)); then
	echo "==> fuzz: $mode: ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
	running=0
	for t in "${targets[@]}"; do
		fuzz_one "$t" &
		running=$((running + 1))
		if ((running >= jobs)); then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
fi

# --- regressions --------------------------------------------------------------
# Every input that once crashed a target stays here and must pass for ever.
replay_one() {
	local t="$1" dir="$fuzz_dir/regressions/$1" n=0 failed=0 f
	if [ -d "$dir" ]; then
		while IFS= read -r -d '' f; do
			n=$((n + 1))
			if ! "$bin_dir/$t" -runs=1 -timeout="$timeout_s" "$f" >"$logs/$t.replay.log" 2>&1; then
				failed=$((failed + 1))
				echo "FAILED: regression $f" >&2
				grep -m 3 -E "panicked|ERROR|assertion" "$logs/$t.replay.log" | cut -c1-400 >&2
			fi
		done < <(find "$dir" -maxdepth 1 -type f ! -name '*.md' ! -name '.*' -print0 | sort -z)
	fi
	echo "$n $failed" >"$logs/$t.replay"
}
for t in "${targets[@]}"; do replay_one "$t"; done

# --- summary ------------------------------------------------------------------
status=0
total_execs=0
total_crashes=0
echo
for t in "${targets[@]}"; do
	execs=0 crashes=0 rc=0
	if ((seconds > 0)); then read -r execs crashes rc <"$logs/$t.result"; fi
	read -r n failed <"$logs/$t.replay"
	total_execs=$((total_execs + execs))
	total_crashes=$((total_crashes + crashes))
	verdict=ok
	if ((crashes > 0 || failed > 0)); then verdict=FAILED; status=1; fi
	printf 'fuzz: %-16s %-6s %6s s  executions %10d  crashes %d  regressions %d/%d passed  %s\n' \
		"$t" "$mode" "$seconds" "$execs" "$crashes" "$((n - failed))" "$n" "$verdict"
	if ((crashes > 0)); then
		echo "      log: $logs/$t.log; inputs: $fuzz_dir/artifacts/$t/ (exit $rc)"
		grep -m 3 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|assertion" "$logs/$t.log" | cut -c1-400 | sed 's/^/      /'
	fi
done
echo "fuzz: $mode: ${#targets[@]} targets, $total_execs executions, $total_crashes crashes"
exit "$status"
