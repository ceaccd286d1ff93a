#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Export the project as a patch series that `git am` applies to the base
# kernel tree: each patch of patches/series in order, with the new files
# listed under it in the series added to it, so that every patch brings
# the code it introduces. Every new file at a kernel path must be listed
# under exactly one patch, or in the series' [harness] section.
set -euo pipefail
: "${REPO:?}" "${BASE_SRC:?}" "${OUT:?}"
OVERLAY_DIRS=(drivers rust include Documentation tools arch)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"

# The series: "patch" lines, each followed by "<tab>path" lines.
declare -A files_of=()
series=() harness=() section=
while IFS= read -r line; do
	case "$line" in
	''|'#'*) ;;
	'[harness]') section=harness ;;
	[[:space:]]*)
		spec=${line#"${line%%[![:space:]]*}"}
		[ -n "$section" ] || { echo "export: $spec is under no patch" >&2; exit 1; }
		if [ "$section" = harness ]; then
			harness+=("$spec")
		else
			files_of[$section]+="$spec"$'\n'
		fi ;;
	*)
		series+=("$line")
		section=$line ;;
	esac
done <"$REPO/patches/series"

# Each listed path must name files, and each new file must be listed once.
listed() { # spec... -> files, one per line
	(cd "$REPO" && git ls-files -- "$@")
}
all=$( (for p in "${series[@]}"; do
	while read -r spec; do
		[ -n "$spec" ] || continue
		f=$(listed "$spec")
		[ -n "$f" ] || { echo "export: $spec names no file" >&2; exit 1; }
		echo "$f"
	done <<<"${files_of[$p]:-}"
done; [ ${#harness[@]} -eq 0 ] || listed "${harness[@]}") | sort)
dups=$(uniq -d <<<"$all")
[ -z "$dups" ] || { echo "export: listed twice: $dups" >&2; exit 1; }
missing=$(comm -23 <(listed "${OVERLAY_DIRS[@]}" | sort) <(echo "$all"))
[ -z "$missing" ] || { echo "export: in no patch of the series: $missing" >&2; exit 1; }

# A scratch git tree holding only the base files the series touches.
git -C "$tmp" init -q
git -C "$tmp" config user.name "iommufd-hwq export"
git -C "$tmp" config user.email "iommufd-hwq@localhost"
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
	specs=()
	while read -r spec; do
		[ -z "$spec" ] || specs+=("$spec")
	done <<<"${files_of[$p]:-}"
	[ ${#specs[@]} -gt 0 ] || continue
	listed "${specs[@]}" | (cd "$REPO" && cpio -pdm --quiet "$tmp")
	listed "${specs[@]}" | (cd "$tmp" && xargs git add)
	git -C "$tmp" commit -q --amend --no-edit
done

git -C "$tmp" format-patch -q -o "$OUT" "$base"
ls "$OUT"
