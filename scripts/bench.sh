#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the benchmarks on each given kernel and print them side by side.
#   bench.sh NAME:BZIMAGE...
#
# Each benchmark gets a boot of its own: one that frees hugepages leaves
# them on the free list in an order that is no longer physically
# contiguous for the next. The boots use -icount, so guest time follows
# executed instructions and ns/op figures repeat across boots.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
BENCH_TESTS=${BENCH_TESTS:-bench_mem bench_speed bench_cmdqv}
names=()
for spec in "$@"; do
	name=${spec%%:*}
	names+=("$name")
	: >"$BUILD/runs/$name.bench.log.tmp" 2>/dev/null ||
		{ mkdir -p "$BUILD/runs"; : >"$BUILD/runs/$name.bench.log.tmp"; }
	for t in $BENCH_TESTS; do
		if ! QEMU_SMP=1 QEMU_EXTRA="-icount shift=1,sleep=off" TESTS=$t \
			"$REPO/scripts/check.sh" "$spec" >/dev/null; then
			echo "bench: $t on $name failed; see $BUILD/runs/$name" >&2
			exit 1
		fi
		cat "$BUILD/runs/$name/tests.log" >>"$BUILD/runs/$name.bench.log.tmp"
	done
	mv "$BUILD/runs/$name.bench.log.tmp" "$BUILD/runs/$name/bench.log"
done
python3 "$REPO/scripts/bench-report.py" "${names[@]/#/$BUILD/runs/}"
