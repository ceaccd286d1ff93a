#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Export the project as a patch series that `git am` applies to the base
# kernel tree: the patches of patches/series first, in order, then one
# patch per overlay directory adding the project's new files.
set -euo pipefail
: "${REPO:?}" "${BASE_SRC:?}" "${OUT:?}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"

# A scratch git tree holding only the base files the series touches.
git -C "$tmp" init -q
git -C "$tmp" config user.name "iommufd-hwq export"
git -C "$tmp" config user.email "iommufd-hwq@localhost"
mapfile -t series < <(sed -e '/^#/d' -e '/^$/d' "$REPO/patches/series")
for p in "${series[@]}"; do
	sed -n 's|^--- a/\([^[:space:]]*\).*|\1|p' "$REPO/patches/$p"
done | sort -u | while read -r f; do
	mkdir -p "$tmp/$(dirname "$f")"
	cp "$BASE_SRC/$f" "$tmp/$f"
done
git -C "$tmp" add -A
git -C "$tmp" commit -q --allow-empty -m "base"
base=$(git -C "$tmp" rev-parse HEAD)

for p in "${series[@]}"; do
	git -C "$tmp" am -q --keep-cr "$REPO/patches/$p"
done

add_dir() { # subject, body, paths...
	local subject=$1 body=$2; shift 2
	local files
	files=$(cd "$REPO" && git ls-files -- "$@")
	[ -n "$files" ] || return 0
	(cd "$REPO" && echo "$files" | cpio -pdm --quiet "$tmp")
	(cd "$tmp" && echo "$files" | xargs git add)
	git -C "$tmp" commit -q -s -m "$subject" -m "$body"
}
add_dir "iommufd: Add the HW queue object in Rust" \
	"New files of the Rust implementation, the driver backend and their
documentation." \
	drivers include Documentation arch
add_dir "rust: Add iommufd abstractions" \
	"Safe abstractions used by the iommufd HW queue in Rust." rust
add_dir "selftests/iommu: Add HW queue tests" \
	"Tests of the HW queue that the upstream selftests do not cover." tools

git -C "$tmp" format-patch -q -o "$OUT" "$base"
ls "$OUT"
