#!/usr/bin/env bash
# The end-to-end suites on a real Prosody: builds the Lua module for Lua 5.4
# (what Debian's Prosody runs), prepares a Python environment with slixmpp
# and pytest under target/py, and runs tests/prosody/test_*.py. Every test
# starts its own Prosody on free loopback ports with a throw-away data
# directory, and stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

missing=()
command -v prosody >/dev/null || missing+=(prosody)
[ -d /usr/lib/prosody/modules/mod_invites_page ] || missing+=(prosody-modules)
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
	echo "missing: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "--> building the Lua 5.4 module and the command-line tool"
cargo build --quiet --locked -p xmpp-invites-lua -p xmpp-invites-cli
mkdir -p target/lua/lua54
cp target/debug/libxmpp_invites.so target/lua/lua54/xmpp_invites.so

if [ ! -x target/py/bin/python ] || ! target/py/bin/python -c "import slixmpp, pytest" 2>/dev/null; then
	echo "--> preparing target/py (slixmpp, pytest)"
	python3 -m venv target/py
	target/py/bin/pip install --quiet --disable-pip-version-check -r tests/prosody/requirements.txt
fi

export XI_MODULE_DIR="$PWD/target/lua/lua54"
export XI_CLI="$PWD/target/debug/xmpp-invites"
exec target/py/bin/python -m pytest -q -rs -p no:cacheprovider tests/prosody "$@"
