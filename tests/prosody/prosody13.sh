#!/usr/bin/env bash
# The end-to-end suites again, on Prosody 13.0.1 and its prosody-modules
# from Debian's bookworm-backports, unpacked under target/prosody13 beside
# Debian 12's Prosody 0.12.3 (which the other suites use). Prosody 13's
# package needs nothing that Debian 12 lacks: its Lua libraries are the ones
# Prosody 0.12.3 already runs on.
#
# The two packages are fetched from Debian's pool by their exact versions
# and checked against their SHA-256. When backports moves on, the pool
# drops them and this fails loudly: update the pins from
# dists/bookworm-backports/main/binary-amd64/Packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

POOL=http://deb.debian.org/debian/pool/main/p
PACKAGES=(
	"prosody/prosody_13.0.1-1~bpo12+1_amd64.deb 08ecfab4967bc021e2264dd7756b9b29e9cec861b75aa346d956a2149c6dff27"
	"prosody-modules/prosody-modules_0.0~hg20250402.f315edc39f3d+dfsg-1~bpo12+1_all.deb 147ae335c2b16fdee53a1842eb7e3d014907c3e2fb94965185150295f3f74db6"
)
DEST=target/prosody13
ROOT_DIR="$PWD/$DEST/root"

missing=()
command -v curl >/dev/null || missing+=(curl)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v sha256sum >/dev/null || missing+=(coreutils)
if ((${#missing[@]})); then
	echo "missing: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
# The launchers get the path as a Lua string in a sed expression.
case "$ROOT_DIR" in
*[\#\'\\\&]*) echo "FAILED: $ROOT_DIR has a character the launchers cannot hold (#, ', \\ or &)" >&2; exit 1 ;;
esac
stamp="$DEST/.unpacked"
# The launchers name the unpacked tree's path: a moved clone unpacks again.
want="$(printf '%s\n' "$ROOT_DIR" "${PACKAGES[@]}")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "--> unpacking Prosody 13 from bookworm-backports into $DEST"
	rm -rf "$ROOT_DIR" "$stamp"
	mkdir -p "$DEST/debs" "$ROOT_DIR"
	for entry in "${PACKAGES[@]}"; do
		path=${entry% *} sum=${entry#* }
		deb="$DEST/debs/${path##*/}"
		# A package fetched before is kept while it has the pinned SHA-256.
		if ! echo "$sum  $deb" | sha256sum --check --quiet --status 2>/dev/null; then
			echo "--> fetching $POOL/$path"
			curl -fsS --retry 3 --connect-timeout 30 --max-time 600 -o "$deb.part" "$POOL/$path" ||
				{ echo "FAILED: could not fetch $POOL/$path (superseded in bookworm-backports? update the pins in $0)" >&2; exit 1; }
			mv "$deb.part" "$deb"
			echo "$sum  $deb" | sha256sum --check --quiet ||
				{ echo "FAILED: $deb does not have the pinned SHA-256" >&2; rm -f "$deb"; exit 1; }
		fi
		dpkg-deb -x "$deb" "$ROOT_DIR"
	done
	# The launchers look for Prosody's sources and modules where Debian
	# installs them; these look in the unpacked tree.
	for tool in prosody prosodyctl; do
		sed -i -e "s#^CFG_SOURCEDIR='/usr/lib/prosody'#CFG_SOURCEDIR='$ROOT_DIR/usr/lib/prosody'#" \
			-e "s#^CFG_PLUGINDIR='/usr/lib/prosody/modules/'#CFG_PLUGINDIR='$ROOT_DIR/usr/lib/prosody/modules/'#" \
			"$ROOT_DIR/usr/bin/$tool"
		grep -q "^CFG_SOURCEDIR='$ROOT_DIR/" "$ROOT_DIR/usr/bin/$tool" ||
			{ echo "FAILED: $tool's CFG_SOURCEDIR was not where expected" >&2; exit 1; }
	done
	echo "$want" >"$stamp"
fi
version="$(cat "$ROOT_DIR/usr/lib/prosody/prosody.version")"
[ "$version" = 13.0.1 ] || { echo "FAILED: unpacked Prosody is $version, not 13.0.1" >&2; exit 1; }

export XI_PROSODY_BIN="$ROOT_DIR/usr/bin"
export XI_PROSODY_VERSION="$version"
exec bash tests/prosody/run.sh "$@"
