#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's linux-source-7.2 at a pinned package version, verify its
# checksum and unpack the kernel tree once under $BASE_DIR.
#
# The archive URI is read from this machine's apt configuration: no host
# name is written here. The .deb is cached in $CACHE_DIR (outside the git
# work tree) so a fresh clone does not download it again.
set -euo pipefail

: "${CACHE_DIR:?}" "${BASE_DIR:?}" "${PKG_VERSION:?}" "${PKG_SHA256:?}"
PKG=linux-source-7.2
SUITE=${SUITE:-trixie-backports}
DEB="$CACHE_DIR/${PKG}_${PKG_VERSION}_all.deb"
STAMP="$BASE_DIR/.unpacked-$PKG_VERSION"

if [ -f "$STAMP" ]; then
	exit 0
fi

# apt_uri: the Debian archive URI of the machine's apt sources.
# shellcheck source=scripts/apt-uri.sh
. "$(dirname "$0")/apt-uri.sh"

fetch_deb() {
	local uri apt_dir opts
	uri=$(apt_uri | head -n1)
	if [ -z "$uri" ]; then
		echo "fetch: no Debian archive URI found in /etc/apt" >&2
		exit 1
	fi
	apt_dir="$CACHE_DIR/apt"
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $SUITE main" \
		>"$apt_dir/etc/sources.list"
	# A private apt state: the machine's own sources stay untouched.
	opts=(-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
	      -o Dir::Etc::SourceParts=/dev/null
	      -o "Dir::State::Lists=$apt_dir/lists"
	      -o "Dir::Cache=$apt_dir/cache"
	      -o APT::Sandbox::User=root)
	apt-get -q "${opts[@]}" update >/dev/null
	if ! (cd "$CACHE_DIR" && apt-get -q "${opts[@]}" download "$PKG=$PKG_VERSION"); then
		echo "fetch: $PKG $PKG_VERSION is not served by $SUITE any more." >&2
		echo "fetch: versions available now:" >&2
		apt-cache "${opts[@]}" madison "$PKG" >&2 || true
		echo "fetch: pin another with 'make PKG_VERSION=<version> PKG_SHA256=<sha256>'" >&2
		echo "fetch: (or edit both in the Makefile)." >&2
		exit 1
	fi
}

mkdir -p "$CACHE_DIR"
if [ ! -f "$DEB" ] || ! echo "$PKG_SHA256  $DEB" | sha256sum -c --quiet - 2>/dev/null; then
	rm -f "$DEB"
	fetch_deb
fi
if ! echo "$PKG_SHA256  $DEB" | sha256sum -c --quiet -; then
	echo "fetch: checksum mismatch for $DEB" >&2
	echo "fetch: expected $PKG_SHA256, got $(sha256sum "$DEB" | cut -d' ' -f1)" >&2
	rm -f "$DEB"
	exit 1
fi

echo "fetch: unpacking $PKG $PKG_VERSION into $BASE_DIR"
rm -rf "$BASE_DIR.tmp"
mkdir -p "$BASE_DIR.tmp"
dpkg-deb --fsys-tarfile "$DEB" |
	tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
	tar -xJ -C "$BASE_DIR.tmp" --strip-components=1
rm -rf "$BASE_DIR"
mv "$BASE_DIR.tmp" "$BASE_DIR"
touch "$STAMP"
