#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build every step of the exported series ($SERIES): a copy of the base
# tree gets the patches one at a time, and after each a configuration
# ($CONFIG, a full .config, whose architecture the make command names) is
# built, with its kernel image $IMAGE (bzImage by default), so that
# bisecting through the series never meets a tree that does not build. Symbols that
# a patch has yet to add are dropped by olddefconfig and come back from
# $CONFIG once they exist. Incremental: one tree and one object directory
# under $DIR, so a step rebuilds what its patch touched.
set -euo pipefail
: "${BASE_SRC:?}" "${SERIES:?}" "${CONFIG:?}" "${DIR:?}"
kmake=("$@")
DIR=$(realpath -m "$DIR") SERIES=$(realpath "$SERIES")
CONFIG=$(realpath "$CONFIG") BASE_SRC=$(realpath "$BASE_SRC")

tree=$DIR/linux obj=$DIR/obj
rm -rf "$tree" "$obj"
mkdir -p "$DIR" "$obj"
echo "bisect: copying the base tree"
cp -a "$BASE_SRC" "$tree"

n=0 fail=0
for p in "$SERIES"/*.patch; do
	n=$((n + 1))
	name=$(basename "$p")
	# Not git apply: under the project's work tree it would take the
	# paths as relative to the project and skip them silently.
	patch -d "$tree" -p1 -s -F0 -N --no-backup-if-mismatch -r - <"$p"
	cp "$CONFIG" "$obj/.config"
	start=$(date +%s)
	if "${kmake[@]}" -C "$tree" O="$obj" olddefconfig >/dev/null &&
	   "${kmake[@]}" -C "$tree" O="$obj" "${IMAGE:-bzImage}" modules >"$DIR/$n.log" 2>&1; then
		echo "bisect: $name builds ($(( $(date +%s) - start )) s)"
	else
		echo "bisect: $name does not build, see $DIR/$n.log" >&2
		tail -20 "$DIR/$n.log" >&2
		fail=1
	fi
done
echo "bisect: $n patches, $([ $fail = 0 ] && echo "each step builds" || echo "FAILED")"
exit $fail
