#!/usr/bin/env bash
# Benchmarks 3 and 4 of issue 7: the xmpp-invites CLI against stock
# Prosody 0.12.3 (`prosodyctl mod_invites generate`, default file storage),
# and both with 1k, 100k and 1M pending invites. See benches/cli/README.md.
#
#   benches/cli/run.sh          everything (6.5-10 minutes on a 2-core VM):
#                               benches/cli/results/{cli_vs_prosodyctl,scaling}.json
#                               and benches/cli/scaling.svg
#   benches/cli/run.sh --quick  smoke run (about 1 minute): stops at 100k invites,
#                               extrapolates the 1,000 prosodyctl runs; writes
#                               benches/cli/results/quick/ (the full results stay)
#   benches/cli/run.sh --smoke  every step once on 100 and 1,000 invites (a test
#                               suite, under a minute): that the benches and the
#                               plot work and every figure comes out; writes
#                               target/bench-cli/smoke-results/ only
#
# Other options go to bench.py (--only 3|4, --keep, --prosody-budget SECONDS,
# --work DIR; see python3 benches/cli/bench.py --help).
#
# Needs: cargo, python3 (standard library only), lua5.4 and prosody
# (Debian's 0.12.3), GNU time (/usr/bin/time). Optional: eatmydata, for the
# diagnostic row "ours without fsync". As root it installs the missing
# Debian packages; otherwise it names them. Uses ~1.5 GB of disk under
# target/bench-cli/ while it runs (removed at the end) and up to ~4 GB of
# memory (Prosody loading a 1M-invite store).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

missing=()
command -v lua5.4 >/dev/null || missing+=(lua5.4)
command -v prosodyctl >/dev/null || missing+=(prosody)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
[ -e /usr/lib/x86_64-linux-gnu/libeatmydata.so ] || [ "$(id -u)" != 0 ] || missing+=(eatmydata)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y --no-install-recommends "${missing[@]}"
	else
		echo "benches/cli/run.sh needs: apt-get install ${missing[*]}" >&2
		exit 2
	fi
fi

cargo build --quiet --release -p xmpp-invites-cli --locked

python3 benches/cli/bench.py --bin target/release/xmpp-invites "$@"

if [[ " $* " == *" --smoke "* ]]; then
	python3 benches/cli/plot.py target/bench-cli/smoke-results/scaling.json target/bench-cli/smoke-results/scaling.svg
	test -s target/bench-cli/smoke-results/scaling.svg
elif [[ " $* " == *" --quick "* ]]; then
	python3 benches/cli/plot.py benches/cli/results/quick/scaling.json benches/cli/results/quick/scaling.svg
else
	python3 benches/cli/plot.py benches/cli/results/scaling.json benches/cli/scaling.svg
fi
