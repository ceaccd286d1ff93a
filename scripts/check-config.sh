#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fail when a value requested by a config fragment did not make it into the
# final .config (a dependency was missing, or an option was renamed).
set -euo pipefail
config=$1; shift
fail=0
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		opt=${line%%=*}
		want=$line ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		want=$line ;;
	*) continue ;;
	esac
	have=$(grep -E "^($opt=|# $opt is not set)" "$config" || true)
	# An unset bool may also be absent when its dependencies are off.
	if [ "$have" != "$want" ] && ! { [ -z "$have" ] && [[ $want == "# "* ]]; }; then
		echo "config: requested '$want', got '${have:-<absent>}'" >&2
		fail=1
	fi
done < <(cat "$@")
exit $fail
