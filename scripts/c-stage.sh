#!/usr/bin/env bash
# Builds the C ABI (crates/xmpp-invites-ffi) and lays it out as an installed
# prefix under target/c-stage/, the way `cargo cinstall` would install it:
#
#   target/c-stage/include/xmpp_invites.h
#   target/c-stage/lib/libxmpp_invites.so.0.1.0   (SONAME libxmpp_invites.so.0.1)
#   target/c-stage/lib/libxmpp_invites.so.0.1 -> libxmpp_invites.so.0.1.0
#   target/c-stage/lib/libxmpp_invites.so -> libxmpp_invites.so.0.1
#   target/c-stage/lib/libxmpp_invites.a
#   target/c-stage/lib/pkgconfig/xmpp_invites.pc
#
# C code then builds exactly as a user's would:
#   PKG_CONFIG_PATH=target/c-stage/lib/pkgconfig pkg-config --cflags --libs xmpp_invites
# The .pc file is relocatable (${pcfiledir}), so the prefix can be copied.
# Nothing is written into the source tree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
stage="$target_dir/c-stage"

# The package version (cargo pkgid: ...#xmpp-invites-ffi@0.1.0 or ...#0.1.0)
# and the SONAME cargo-c gives it: major.minor while on 0.x (a minor release
# may break the ABI), the major alone from 1.0.
pkgid="$(cargo pkgid --locked -p xmpp-invites-ffi)"
version="${pkgid##*[#@]}"
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then abi="0.$minor"; else abi="$major"; fi
soname="libxmpp_invites.so.$abi"

echo "==> c-stage: cargo rustc --release -p xmpp-invites-ffi --lib (SONAME $soname)"
cargo rustc --release -p xmpp-invites-ffi --lib --locked -- -C "link-arg=-Wl,-soname,$soname"

so="$target_dir/release/libxmpp_invites_ffi.so"
a="$target_dir/release/libxmpp_invites_ffi.a"
for f in "$so" "$a" include/xmpp_invites.h; do
	[ -f "$f" ] || { echo "c-stage: FAILED: $f was not built" >&2; exit 1; }
done
built="$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$built" = "$soname" ] || { echo "c-stage: FAILED: SONAME '$built', not $soname" >&2; exit 1; }

# What a static Rust library needs from the system, as rustc says for this
# target (the same list cargo-c writes into Libs.private).
probe="$(mktemp -d "${TMPDIR:-/tmp}/xi-native-libs.XXXXXX")"
trap 'rm -rf "$probe"' EXIT
native_libs="$(rustc --print native-static-libs --crate-type staticlib --crate-name probe \
	--out-dir "$probe" - </dev/null 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1)"
[ -n "$native_libs" ] || native_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

rm -rf "$stage"
mkdir -p "$stage/include" "$stage/lib/pkgconfig"
cp include/xmpp_invites.h "$stage/include/"
# The cargo artifacts are named after the Rust crate (xmpp_invites_ffi); the
# installed library is libxmpp_invites (package.metadata.capi.library).
# Programs linked with -lxmpp_invites record the SONAME, and load that.
cp "$so" "$stage/lib/libxmpp_invites.so.$version"
ln -s "libxmpp_invites.so.$version" "$stage/lib/$soname"
ln -s "$soname" "$stage/lib/libxmpp_invites.so"
cp "$a" "$stage/lib/libxmpp_invites.a"

cat >"$stage/lib/pkgconfig/xmpp_invites.pc" <<EOF
prefix=\${pcfiledir}/../..
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: xmpp_invites
Description: XMPP invites (XEP-0401, XEP-0445, XEP-0379) for C servers
Version: $version
Libs: -L\${libdir} -lxmpp_invites
Libs.private: $native_libs
Cflags: -I\${includedir}
EOF

echo "c-stage: $stage (version $version, SONAME $soname)"
