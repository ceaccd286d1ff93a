#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make $WORK_SRC exactly "$BASE_SRC + overlay files + patch series".
#
# The work tree is a full copy of the base made once. Each run builds the
# desired content of every file the overlay or the series touches in a
# staging tree, then copies over only the files whose content changed, so
# an unchanged file keeps its mtime and kbuild rebuilds only what changed.
# Files touched by the previous run but no longer by this one are restored
# from the base (or removed when the base does not have them). A patch that
# does not apply cleanly aborts the run before the work tree is touched.
set -euo pipefail

: "${REPO:?}" "${BASE_SRC:?}" "${WORK_SRC:?}"
OVERLAY_DIRS=(drivers rust include Documentation tools arch)
SERIES="$REPO/patches/series"
STATE="$WORK_SRC/.overlay"
STAGE="$WORK_SRC.stage"

if [ ! -f "$WORK_SRC/.overlay-base" ] ||
   [ "$(cat "$WORK_SRC/.overlay-base")" != "$(realpath "$BASE_SRC")" ]; then
	echo "overlay: copying base tree $BASE_SRC to $WORK_SRC"
	rm -rf "$WORK_SRC"
	mkdir -p "$(dirname "$WORK_SRC")"
	cp -a "$BASE_SRC" "$WORK_SRC.tmp"
	mv "$WORK_SRC.tmp" "$WORK_SRC"
	realpath "$BASE_SRC" >"$WORK_SRC/.overlay-base"
	: >"$STATE"
fi

rm -rf "$STAGE"
mkdir -p "$STAGE"

# 1. The overlay: new files at kernel tree paths.
(cd "$REPO" && for d in "${OVERLAY_DIRS[@]}"; do
	if [ -d "$d" ]; then
		git ls-files --cached --others --exclude-standard -- "$d"
	fi
done) >"$STAGE.files"
while read -r f; do
	[ -f "$REPO/$f" ] || continue
	if [ -e "$BASE_SRC/$f" ]; then
		echo "overlay: $f exists upstream; change it with a patch instead" >&2
		exit 1
	fi
	mkdir -p "$STAGE/$(dirname "$f")"
	cp -p "$REPO/$f" "$STAGE/$f"
done <"$STAGE.files"

# 2. The patch series, applied on base copies of the files it touches.
patches=()
if [ -f "$SERIES" ]; then
	# Only the patch lines: not the new files listed under them, nor the
	# [harness] section (see the series' header).
	while IFS= read -r p; do
		case "$p" in ''|'#'*|'['*|[[:space:]]*) continue ;; esac
		patches+=("$REPO/patches/$p")
	done <"$SERIES"
fi
for p in "${patches[@]}"; do
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p; s|^--- a/\([^[:space:]]*\).*|\1|p' "$p"
done | sort -u | while read -r f; do
	[ -e "$STAGE/$f" ] && continue
	if [ -e "$BASE_SRC/$f" ]; then
		mkdir -p "$STAGE/$(dirname "$f")"
		cp -p "$BASE_SRC/$f" "$STAGE/$f"
	fi
done
for p in "${patches[@]}"; do
	if ! out=$(patch -d "$STAGE" -p1 -F0 -N -s --no-backup-if-mismatch -r - <"$p" 2>&1); then
		echo "overlay: $(basename "$p") does not apply:" >&2
		echo "$out" >&2
		exit 1
	fi
done

# 3. Install changed files; restore files the previous run touched only.
(cd "$STAGE" && find . -type f | sed 's|^\./||' | sort) >"$STATE.new"
changed=0
while read -r f; do
	if ! cmp -s "$STAGE/$f" "$WORK_SRC/$f"; then
		mkdir -p "$WORK_SRC/$(dirname "$f")"
		cp "$STAGE/$f" "$WORK_SRC/$f.ovl-tmp"
		mv "$WORK_SRC/$f.ovl-tmp" "$WORK_SRC/$f"
		changed=$((changed + 1))
	fi
done <"$STATE.new"
comm -23 <(sort -u "$STATE") "$STATE.new" | while read -r f; do
	if [ -e "$BASE_SRC/$f" ]; then
		cmp -s "$BASE_SRC/$f" "$WORK_SRC/$f" || cp "$BASE_SRC/$f" "$WORK_SRC/$f"
		echo "overlay: restored $f from the base"
	else
		rm -f "$WORK_SRC/$f"
		echo "overlay: removed $f"
	fi
done
mv "$STATE.new" "$STATE"
rm -rf "$STAGE" "$STAGE.files"
echo "overlay: $(wc -l <"$STATE") files from overlay and ${#patches[@]} patches; $changed updated"
