#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove the exported series (make export-patches in $SERIES): `git am`
# applies it to a clean git tree of the base files it touches, the result
# is, file for file, the work tree the kernels are built and tested from,
# checkpatch finds no error in any patch (its warnings are listed), and
# every new file has a maintainer.
set -euo pipefail
: "${BASE_SRC:?}" "${WORK_SRC:?}" "${SERIES:?}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
patches=("$SERIES"/*.patch)

git -C "$tmp" init -q
git -C "$tmp" config user.name "iommufd-hwq check"
git -C "$tmp" config user.email "iommufd-hwq@localhost"
sed -n 's|^--- a/\([^[:space:]]*\).*|\1|p' "${patches[@]}" | sort -u |
while read -r f; do
	mkdir -p "$tmp/$(dirname "$f")"
	cp "$BASE_SRC/$f" "$tmp/$f"
done
git -C "$tmp" add -A
git -C "$tmp" commit -q --allow-empty -m base
git -C "$tmp" am -q --keep-cr "${patches[@]}"

fail=0 files=0
while read -r f; do
	files=$((files + 1))
	if ! cmp -s "$tmp/$f" "$WORK_SRC/$f"; then
		echo "series: $f differs from $WORK_SRC" >&2
		fail=1
	fi
done < <(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "${patches[@]}" | sort -u)

# checkpatch asks "does MAINTAINERS need updating?" of every patch that adds
# a file without touching MAINTAINERS. Answer it: in the resulting tree,
# each file such a patch adds must belong to a MAINTAINERS entry other than
# THE REST, so that get_maintainer.pl finds who reviews it.
covered() { # patch
	local f sections ok=0
	for f in $(awk '/^diff --git /{f=$4} /^new file mode/{print substr(f, 3)}' "$1"); do
		sections=$(cd "$WORK_SRC" && perl scripts/get_maintainer.pl --no-git \
			--no-git-fallback --sections -f "$f" 2>/dev/null |
			grep -E '^[A-Z0-9][^:]*$' | grep -vx 'THE REST' || true)
		if [ -z "$sections" ]; then
			echo "series: $(basename "$1"): $f is in no MAINTAINERS entry" >&2
			ok=1
		fi
	done
	return $ok
}

warnings=0 answered=0
for p in "${patches[@]}"; do
	out=$("$BASE_SRC/scripts/checkpatch.pl" --no-tree -q --terse \
		--ignore UNKNOWN_COMMIT_ID "$p" || true)
	if grep -q 'does MAINTAINERS need updating' <<<"$out"; then
		if covered "$p"; then
			out=$(grep -v 'does MAINTAINERS need updating' <<<"$out" || true)
			answered=$((answered + 1))
		else
			fail=1
		fi
	fi
	if grep -q ': ERROR:' <<<"$out"; then
		grep ': ERROR:' <<<"$out" | sed "s|^|series: $(basename "$p"): |" >&2
		fail=1
	fi
	n=$(grep -c ': WARNING:' <<<"$out" || true)
	if [ "$n" -gt 0 ]; then
		grep ': WARNING:' <<<"$out" | sed "s|^|series: $(basename "$p"): |"
		warnings=$((warnings + n))
	fi
done
echo "series: ${#patches[@]} patches apply with git am on the base;" \
	"$files files identical to the work tree; checkpatch: 0 errors," \
	"$warnings warnings; $answered patches add files that MAINTAINERS" \
	"already covers"
exit $fail
