#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fail when a value requested by a config fragment did not make it into the
# final .config (a dependency was missing, or an option was renamed). When
# fragments disagree, the later one wins, as in merge_config.sh.
set -euo pipefail
config=$1; shift
fail=0
while IFS='|' read -r opt want; do
	have=$(grep -E "^($opt=|# $opt is not set)" "$config" || true)
	# An unset bool may also be absent when its dependencies are off.
	if [ "$have" != "$want" ] && ! { [ -z "$have" ] && [[ $want == "# "* ]]; }; then
		echo "config: requested '$want', got '${have:-<absent>}'" >&2
		fail=1
	fi
done < <(cat "$@" | awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { o = $0; sub(/=.*/, "", o); want[o] = $0; order[o] = NR }
	/^# CONFIG_[A-Za-z0-9_]+ is not set/ { o = $2; want[o] = $0; order[o] = NR }
	END { for (o in want) print o "|" want[o] }')
exit $fail
