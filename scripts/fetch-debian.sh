#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-debian.sh LOCKFILE OUTDIR
#
# Download the Debian packages pinned in LOCKFILE (one per line:
# "package version arch pool-path sha256", see the *.lock files in
# tools/iommufd_hwq/e2e), verify each against its sha256 and unpack them
# with dpkg-deb -x into OUTDIR. Nothing is installed and no maintainer
# script runs: the files are Debian's, as built. A lock is for one
# architecture (its packages are of that one or "all"), any architecture:
# debian-arm64.lock gives the root tree packed into the e2e arm64
# initramfs, debian-amd64.lock a tree whose qemu-system-aarch64 runs on an
# x86-64 host through the tree's own loader (see that lock's header).
#
# The .debs are cached in $CACHE_DIR/debian (default
# ~/.cache/iommufd-hwq). Each is fetched from
# $DEBIAN_MIRROR, by default the Debian archive that this machine's apt
# sources name, or, when that fails (a superseded backports or
# point-release version is gone from the pool), from $DEBIAN_SNAPSHOT if
# set: a snapshot of the archive taken after the lock was resolved (see the
# lock's header for the date).
#
# OUTDIR is owned by this script: it is built in OUTDIR.new and swapped in
# whole, so it never holds a mix of two locks. A stamp in OUTDIR
# (.fetch-debian.stamp) records the lock's sha256; a run with the same lock
# does nothing. An OUTDIR without the stamp that is not empty is never
# removed.
#
# Besides the packages' files, OUTDIR gets the merged-/usr aliases lib ->
# usr/lib and, where the packages ship usr/lib32, usr/lib64 or usr/libx32,
# the same for those (no package in a lock ships them, base-files does on a
# real system), since the binaries' ELF interpreter is
# /lib/ld-linux-aarch64.so.1 on arm64 and /lib64/ld-linux-x86-64.so.2 on
# amd64.
#
# Unless DEBIAN_FULL=1, the 64 MiB
# padded flash images under usr/share/AAVMF (6 x 64 MiB in the arm64 lock;
# usr/share/qemu-efi-aarch64/QEMU_EFI.fd is the one needed) and
# usr/share/{doc,man,lintian} are left out to keep the tree small. A run
# fails if that pruning leaves a symbolic link dangling that was not before.
#
# Needs: dpkg-deb, sha256sum, and curl or wget.
set -euo pipefail

# apt_uri: the Debian archive URI of the machine's apt sources.
# shellcheck source=scripts/apt-uri.sh
. "$(dirname "$0")/apt-uri.sh"

MIRROR=${DEBIAN_MIRROR:-$(apt_uri | head -n 1)}
MIRROR=${MIRROR%/}
SNAPSHOT=${DEBIAN_SNAPSHOT:-}
CACHE=${CACHE_DIR:-$HOME/.cache/iommufd-hwq}/debian
FULL=${DEBIAN_FULL:-0}
STAMP_NAME=.fetch-debian.stamp

die() {
	echo "fetch-debian: $*" >&2
	exit 1
}

log() {
	echo "fetch-debian: $*"
}

[ $# -eq 2 ] || die "usage: $0 LOCKFILE OUTDIR"
LOCK=$1
OUT=${2%/}
[ -f "$LOCK" ] || die "no lock file $LOCK"
[ -n "$OUT" ] || die "refusing OUTDIR '$2'"
[ -n "$MIRROR" ] || die "no Debian archive URI in /etc/apt; set DEBIAN_MIRROR"

command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
command -v sha256sum >/dev/null || die "sha256sum not found"
if command -v curl >/dev/null; then
	GET=curl
elif command -v wget >/dev/null; then
	GET=wget
else
	die "neither curl nor wget found"
fi

# The stamp ties OUTDIR to the lock's content and to the pruning mode.
stamp="$(sha256sum <"$LOCK" | cut -d' ' -f1) full=$FULL"
if [ -f "$OUT/$STAMP_NAME" ] && [ "$(cat "$OUT/$STAMP_NAME")" = "$stamp" ]; then
	log "$OUT is up to date with $LOCK"
	exit 0
fi
if [ -d "$OUT" ] && [ ! -f "$OUT/$STAMP_NAME" ] && [ -n "$(ls -A "$OUT")" ]; then
	die "$OUT is not empty and was not made by this script; remove it first"
fi

# download URL DEST: fetch URL into DEST, failing on any HTTP error.
download() {
	if [ "$GET" = curl ]; then
		curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$1"
	else
		wget -q --tries=3 --timeout=20 -O "$2" "$1"
	fi
}

# sha_ok FILE SHA256: whether FILE exists and has the checksum SHA256.
sha_ok() {
	[ -f "$1" ] && echo "$2  $1" | sha256sum -c --status -
}

# fetch_deb POOLPATH SHA256: make sure the cache holds the verified .deb.
fetch_deb() {
	local path=$1 sum=$2 deb part base
	deb="$CACHE/${path##*/}"
	sha_ok "$deb" "$sum" && return 0
	rm -f "$deb"
	part="$deb.part"
	for base in "$MIRROR" ${SNAPSHOT:+"$SNAPSHOT"}; do
		if download "$base/$path" "$part"; then
			if sha_ok "$part" "$sum"; then
				mv "$part" "$deb"
				return 0
			fi
			echo "fetch-debian: $base/$path: sha256 mismatch" >&2
		else
			echo "fetch-debian: $base/$path: download failed" >&2
		fi
		rm -f "$part"
	done
	die "cannot fetch ${path##*/} with sha256 $sum"
}

mkdir -p "$CACHE"
debs=()
declare -A listed=()
lock_arch=
n=0
while read -r pkg ver arch path sum extra; do
	case $pkg in
	'' | '#'*) continue ;;
	esac
	n=$((n + 1))
	if [ -n "$extra" ] || ! [[ $sum =~ ^[0-9a-f]{64}$ ]]; then
		die "$LOCK: malformed line for $pkg"
	fi
	if [ "$arch" != all ]; then
		[ -z "$lock_arch" ] || [ "$arch" = "$lock_arch" ] ||
			die "$LOCK: $pkg $ver is $arch, other packages $lock_arch"
		lock_arch=$arch
	fi
	listed[$pkg]=1
	fetch_deb "$path" "$sum"
	debs+=("$CACHE/${path##*/}")
done <"$LOCK"
[ "$n" -gt 0 ] || die "$LOCK lists no package"
log "$n ${lock_arch:-all} packages verified in $CACHE"

stage="$OUT.new"
rm -rf "$stage"
mkdir -p "$stage"
# After a failure, leave no half-made tree behind.
trap 'rm -rf "$stage"' EXIT
for deb in "${debs[@]}"; do
	dpkg-deb -x "$deb" "$stage"
done
for d in lib lib32 lib64 libx32; do
	if [ -d "$stage/usr/$d" ] && [ ! -e "$stage/$d" ] && [ ! -L "$stage/$d" ]; then
		ln -s "usr/$d" "$stage/$d"
	fi
done
# dangling: the symbolic links of the stage that point nowhere.
dangling() {
	(cd "$stage" && find . -xtype l | LC_ALL=C sort)
}
if [ "$FULL" != 1 ]; then
	before=$(dangling)
	rm -rf "$stage/usr/share/AAVMF" "$stage/usr/share/doc" \
		"$stage/usr/share/man" "$stage/usr/share/lintian"
	broken=$(LC_ALL=C comm -13 <(echo "$before") <(dangling))
	[ -z "$broken" ] || die "pruning left dangling links: $(echo $broken)"
fi
# What the e2e runs start, when the lock has the package that ships it.
check_file() {
	[ -z "${listed[$1]:-}" ] || [ -f "$stage/$2" ] ||
		die "no $2 of $1 after extraction"
}
check_file qemu-system-arm usr/bin/qemu-system-aarch64
check_file qemu-efi-aarch64 usr/share/qemu-efi-aarch64/QEMU_EFI.fd
echo "$stamp" >"$stage/$STAMP_NAME"

rm -rf "$OUT"
mv "$stage" "$OUT"
log "unpacked $n packages into $OUT ($(du -sh "$OUT" | cut -f1))"
