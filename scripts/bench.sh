#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the benchmarks on each given kernel and print them side by side.
#   bench.sh NAME:BZIMAGE...
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
names=()
for spec in "$@"; do
	name=${spec%%:*}
	names+=("$name")
	# -icount: guest time follows executed instructions, so ns/op repeat.
	QEMU_SMP=1 QEMU_EXTRA="-icount shift=1,sleep=off" \
	TESTS=${BENCH_TESTS:-bench_mem bench_speed} "$REPO/scripts/check.sh" "$spec" >/dev/null || {
		echo "bench: $name run failed; see $BUILD/runs/$name" >&2
		exit 1
	}
	cp "$BUILD/runs/$name/tests.log" "$BUILD/runs/$name/bench.log"
done
python3 "$REPO/scripts/bench-report.py" "${names[@]/#/$BUILD/runs/}"
