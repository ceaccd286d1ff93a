#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the instructions of one benchmark operation go, per kernel function:
#   profile.sh OP N NAME:OBJDIR...
#
# Boots each kernel under QEMU with one vCPU, -icount and the hwq_prof
# plugin, runs bench_profile's loop of N operations OP between its two
# markers, and prints the instructions per operation of every function that
# ran, one column per kernel (scripts/profile.py).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
PLUGIN=${PLUGIN:-$BUILD/tools/hwq_prof.so}
op=$1 n=$2
shift 2
specs=()
for spec in "$@"; do
	name=${spec%%:*} obj=${spec#*:}
	out=$BUILD/runs/$name.profile.$op
	rm -f "$out"
	if ! QEMU_SMP=1 QEMU_EXTRA="-icount shift=1,sleep=off -plugin $PLUGIN,out=$out" \
		KMEMLEAK=off TESTS="bench_profile:-o:$op:-n:$n" \
		"$REPO/scripts/check.sh" "$name:$obj/arch/x86/boot/bzImage" >/dev/null ||
		[ ! -s "$out" ]; then
		echo "profile: $op on $name failed; see $BUILD/runs/$name" >&2
		exit 1
	fi
	specs+=("$name:$obj/vmlinux:$out")
done
python3 "$REPO/scripts/profile.py" "$n" "${specs[@]}"
