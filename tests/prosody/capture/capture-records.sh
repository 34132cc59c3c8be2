#!/bin/bash
# Regenerate tests/vectors/prosody_records.json from a stock Prosody install.
#
# Needs: the Debian 12 packages prosody (0.12.3), lua-dbi-sqlite3, sqlite3, jq.
# Only prosodyctl is run, against a throw-away config and data dir in a mktemp
# directory: no server is started, nothing listens, the system Prosody config
# and data are not touched.
#
# usage: tests/prosody/capture/capture-records.sh [OUTPUT.json]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(realpath -m "${1:-$here/../../vectors/prosody_records.json}")"
idnhost="münchen.example"

for tool in prosodyctl sqlite3 jq dpkg-query; do
	command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

work="$(mktemp -d -t prosody-capture.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# prosodyctl reads plugins as the current user; keep a private copy of ours.
mkdir -p "$work/plugins"
cp "$here/mod_invites_capture.lua" "$work/plugins/"

# setup NAME STORAGE -> config file $work/NAME.cfg.lua, data dir $work/NAME/data
setup() {
	local name="$1" storage="$2"
	mkdir -p "$work/$name/data" "$work/$name/certs"
	sed -e "s|@DATA@|$work/$name/data|g" \
	    -e "s|@PLUGINS@|$work/plugins|g" \
	    -e "s|@STORAGE@|$storage|g" \
	    -e "s|@IDNHOST@|$idnhost|g" \
	    "$here/prosody.cfg.lua.in" > "$work/$name/prosody.cfg.lua"
}

# invite NAME "what" prosodyctl-args... : run one command, record token -> what
invite() {
	local name="$1" what="$2"; shift 2
	local output uri token
	output="$(prosodyctl --config "$work/$name/prosody.cfg.lua" "$@" 2>&1)" || {
		printf 'prosodyctl %s failed:\n%s\n' "$*" "$output" >&2; exit 1; }
	uri="$(printf '%s\n' "$output" | grep '^xmpp:' | tail -n 1)" || {
		printf 'no URI from prosodyctl %s:\n%s\n' "$*" "$output" >&2; exit 1; }
	token="$(printf '%s\n' "$uri" | sed -n 's/.*[?;]preauth=\([A-Za-z0-9_-]*\).*/\1/p')"
	[ -n "$token" ] || { echo "no token in $uri" >&2; exit 1; }
	printf '%s\t%s\n' "$token" "$what (printed URI: $uri)" >> "$work/$name/whats.tsv"
}

# what-map for jq: {"token": "what", ...}
whats_json() { jq -Rn '[inputs | split("\t") | {(.[0]): .[1]}] | add' < "$work/$1/whats.tsv"; }

### 1. SQL storage (SQLite3) ###############################################
setup sql sql
gen=(mod_invites generate)
cap=(mod_invites_capture)
invite sql 'prosodyctl mod_invites generate example.com' "${gen[@]}" example.com
invite sql 'prosodyctl mod_invites generate example.com --admin' "${gen[@]}" example.com --admin
invite sql 'prosodyctl mod_invites generate example.com --role prosody:admin' "${gen[@]}" example.com --role prosody:admin
invite sql 'prosodyctl mod_invites generate example.com --group g1 --group g2' "${gen[@]}" example.com --group g1 --group g2
invite sql 'prosodyctl mod_invites generate example.com --reset romeo' "${gen[@]}" example.com --reset romeo
invite sql "prosodyctl mod_invites generate example.com --reset 'a?b' (username needing URI escaping)" "${gen[@]}" example.com --reset 'a?b'
invite sql "prosodyctl mod_invites generate $idnhost (IDN host, configured as UTF-8)" "${gen[@]}" "$idnhost"
invite sql 'create_contact("romeo", true, nil) (contact invite that also allows registration)' "${cap[@]}" contact example.com romeo yes
invite sql 'create_contact("romeo", false, nil) (contact-only invite)' "${cap[@]}" contact example.com romeo no
invite sql 'create_contact("juliet", true, {groups={"family"}}) (contact invite with additional_data)' "${cap[@]}" contact example.com juliet yes '{"groups":["family"]}'
invite sql "create_contact(\"a?b\", true, nil) (inviter username needing URI escaping)" "${cap[@]}" contact example.com 'a?b' yes
invite sql 'create_account("romeo", nil, nil) (bound account invite, no additional_data)' "${cap[@]}" account example.com romeo
invite sql 'create_account("100%", {}, nil) (bound account invite, empty additional_data, username needing URI escaping)' "${cap[@]}" account example.com '100%' '{}'
invite sql 'create_account(nil, {roles={["prosody:admin"]=true}}, 3600) (unbound account invite, explicit ttl)' "${cap[@]}" account example.com - '{"roles":{"prosody:admin":true}}' 3600
invite sql "create_account(\"jürgen\", nil, nil) on $idnhost (non-ASCII username and host)" "${cap[@]}" account "$idnhost" 'jürgen'
invite sql "create_contact(\"jürgen\", true, nil) on $idnhost (non-ASCII inviter and host)" "${cap[@]}" contact "$idnhost" 'jürgen' yes
invite sql 'create_group({"g1"}, nil, nil) (group invite without ttl)' "${cap[@]}" group example.com g1
invite sql 'create_group({"g1","g2"}, nil, 3600) (group invite with ttl: reusable)' "${cap[@]}" group example.com g1,g2 3600

sqlite3 -json "$work/sql/data/prosody.sqlite" \
	"SELECT host, user, store, key, type, value FROM prosody WHERE store = 'invite_token' ORDER BY rowid" \
	> "$work/sql/rows.json"
whats_json sql > "$work/sql/whats.json"
jq --slurpfile whats "$work/sql/whats.json" '
	map(. + {what: (($whats[0][.key] // error("row for unknown token \(.key)"))
		+ (if .user == "" then " -- host-level record (user \"\" = nil)"
		   else " -- user-level record of inviter \(.user)" end))})
' "$work/sql/rows.json" > "$work/sql_rows.json"

### 2. Internal (file) storage ###############################################
setup int internal
invite int 'prosodyctl mod_invites generate example.com' "${gen[@]}" example.com
invite int 'prosodyctl mod_invites generate example.com --admin' "${gen[@]}" example.com --admin
invite int 'prosodyctl mod_invites generate example.com --reset romeo' "${gen[@]}" example.com --reset romeo
invite int 'create_contact("romeo", true, nil)' "${cap[@]}" contact example.com romeo yes
invite int 'create_contact("romeo", false, nil) (contact-only: user-level key only)' "${cap[@]}" contact example.com romeo no
invite int 'create_account("100%", {}, nil)' "${cap[@]}" account example.com '100%' '{}'
invite int 'create_group({"g1","g2"}, nil, 3600) (reusable)' "${cap[@]}" group example.com g1,g2 3600
invite int "prosodyctl mod_invites generate $idnhost" "${gen[@]}" "$idnhost"
invite int "create_contact(\"jürgen\", true, nil) on $idnhost" "${cap[@]}" contact "$idnhost" 'jürgen' yes

whats_json int > "$work/int/whats.json"
(cd "$work/int/data" && find . -path '*invite_token*' -type f | sed 's|^\./||' | LC_ALL=C sort) > "$work/int/files.txt"
[ -s "$work/int/files.txt" ] || { echo "no invite_token files written" >&2; exit 1; }
echo '[]' > "$work/internal_files.json"
while IFS= read -r path; do
	case "$path" in
		*/invite_token.dat) level="host-level map store file (user = nil)";;
		*/invite_token/*) level="user-level map store file of the inviter";;
		*) level="file of store invite_token";;
	esac
	jq --arg path "$path" --rawfile content "$work/int/data/$path" \
	   --arg level "$level" --slurpfile whats "$work/int/whats.json" '
		. + [{path: $path, content: $content,
		      what: ($level + "; holds: " + ([$whats[0] | to_entries[]
		             | select(.key as $t | $content | contains($t))
		             | "\(.key) <- \(.value)"] | join("; ")))}]
	' "$work/internal_files.json" > "$work/internal_files.tmp"
	mv "$work/internal_files.tmp" "$work/internal_files.json"
done < "$work/int/files.txt"

### 3. Assemble ###############################################################
version="$(dpkg-query -W -f='${Package} ${Version}' prosody 2>/dev/null || prosodyctl about | head -n 1)"
lua="$(head -n 1 "$(command -v prosodyctl)" | sed 's/^#! *//')"
source="Stock $version (Debian 12), run by $lua; captured $(date -u +%Y-%m-%dT%H:%M:%SZ) by tests/prosody/capture/capture-records.sh: prosodyctl mod_invites generate (stock CLI) plus the throw-away helper mod_invites_capture.lua, which calls mod_invites' create_contact/create_account/create_group on a prosodyctl dummy host. sql_rows: storage = \"sql\", SQLite3 table prosody, store invite_token, in insertion order, value exactly as stored. internal_files: storage = \"internal\", raw files under data_path. Tokens and timestamps are as Prosody generated them."

mkdir -p "$(dirname "$out")"
jq -n --arg source "$source" \
	--slurpfile rows "$work/sql_rows.json" \
	--slurpfile files "$work/internal_files.json" \
	'{source: $source, sql_rows: $rows[0], internal_files: $files[0]}' > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(jq '.sql_rows | length' "$out") sql rows, $(jq '.internal_files | length' "$out") files)"
