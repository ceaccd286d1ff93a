#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot each given kernel under QEMU with a busybox initramfs, run the tests,
# and judge the results and the kernel console.
#
#   check.sh [--verbose] [--run] NAME:BZIMAGE...
#
# Test output goes to the second serial port and the kernel console to the
# first, so that kernel messages never garble test results. Environment:
#   TESTS         which tests to run (see the Makefile); empty runs all
#   BOOT_TIMEOUT  seconds before a boot counts as hung
#   SELFTEST_DIR  the statically linked test programs
#   BUILD         where run logs go (BUILD/runs/NAME)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
SELFTEST_DIR=${SELFTEST_DIR:-$BUILD/selftests}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
TESTS=${TESTS:-}
QEMU_EXTRA=${QEMU_EXTRA:-}
QEMU_SMP=${QEMU_SMP:-2}
verbose=0
run_mode=0

while [ $# -gt 0 ]; do
	case "$1" in
	--verbose) verbose=1; shift ;;
	--run) run_mode=1; shift ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--verbose] [--run] NAME:BZIMAGE..." >&2; exit 2; }

# The default test list: every suite, KUnit results from the boot log.
default_tests() {
	local t
	echo kunit
	for t in "$SELFTEST_DIR"/*; do
		case "$(basename "$t")" in bench_*) continue ;; esac
		[ -x "$t" ] && basename "$t"
	done
}

if [ "$run_mode" = 1 ] && [ -z "$TESTS" ]; then
	if [ -x "$SELFTEST_DIR/hwq_demo" ]; then
		TESTS="hwq_demo"
	else
		TESTS="iommufd:-f:iommufd_viommu"
	fi
fi
[ -n "$TESTS" ] || TESTS=$(default_tests | tr '\n' ' ')

make_initramfs() { # dir
	local root=$1/root t suite
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests}
	cp /bin/busybox "$root/bin/busybox"
	for t in $TESTS; do
		suite=${t%%:*}
		[ "$suite" = kunit ] && continue
		if [ ! -x "$SELFTEST_DIR/$suite" ]; then
			echo "check: no test program '$suite' in $SELFTEST_DIR" >&2
			exit 2
		fi
		cp "$SELFTEST_DIR/$suite" "$root/tests/"
	done
	# One line per test: the program, then its arguments.
	for t in $TESTS; do
		suite=${t%%:*}
		[ "$suite" = kunit ] && continue
		if [ "$t" = "$suite" ]; then
			echo "$suite"
		elif [[ ${t#*:} == -* ]]; then
			echo "$suite ${t#*:}" | tr ':' ' '
		else
			echo "$suite -r ${t#*:}"
		fi
	done >"$root/tests.list"
	cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp
cd /tmp
exec 3>/dev/ttyS1
echo "@@hwq begin" >&3
while read -r prog args; do
	echo "hwq: running \$prog \$args" >/dev/kmsg
	echo "@@hwq suite \$prog \$args" >&3
	timeout $TEST_TIMEOUT /tests/\$prog \$args </dev/null >&3 2>&1
	echo "@@hwq end \$prog rc=\$?" >&3
done </tests.list
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo "hwq: kmemleak scan" >/dev/kmsg
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	echo "@@hwq kmemleak" >&3
	cat /sys/kernel/debug/kmemleak >&3
	echo "@@hwq kmemleak end" >&3
fi
echo "@@hwq done" >&3
echo "hwq: done" >/dev/kmsg
reboot -f
EOF
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$1/initramfs.cpio.gz"
}

rc=0
summaries=()
for spec in "$@"; do
	name=${spec%%:*}
	image=${spec#*:}
	dir=$BUILD/runs/$name
	mkdir -p "$dir"
	rm -f "$dir"/console.log "$dir"/tests.log
	make_initramfs "$dir"
	echo "check: booting $name kernel ($image)"
	start=$(date +%s)
	set +e
	# shellcheck disable=SC2086
	timeout --foreground -k 10 "$BOOT_TIMEOUT" qemu-system-x86_64 \
		-machine q35 -cpu max -m 4G -smp "$QEMU_SMP" -no-reboot \
		-display none -monitor none \
		-serial "file:$dir/console.log" -serial "file:$dir/tests.log" \
		-kernel "$image" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 hugepages=64 kmemleak=on printk.time=1 rdinit=/init" \
		$QEMU_EXTRA
	qrc=$?
	set -e
	echo "check: $name boot finished in $(( $(date +%s) - start )) s (qemu exit $qrc)"
	if [ "$verbose" = 1 ]; then
		sed -n '/^@@hwq begin/,/^@@hwq done/p' "$dir/tests.log" | grep -v '^@@hwq'
	fi
	# KUnit suites exist only where Rust code is built in.
	config=$(dirname "$image")/../../../.config
	expect_kunit=0
	grep -q '^CONFIG_IOMMUFD_HW_QUEUE_RUST=y' "$config" 2>/dev/null && expect_kunit=1
	if ! python3 "$REPO/scripts/judge.py" --name "$name" --tests "$TESTS" \
		--expect-kunit "$expect_kunit" \
		--console "$dir/console.log" --results "$dir/tests.log" \
		--timed-out "$([ $qrc = 124 ] && echo 1 || echo 0)" \
		--summary "$dir/summary.txt"; then
		rc=1
	fi
	summaries+=("$dir/summary.txt")
done

python3 "$REPO/scripts/judge.py" --total "${summaries[@]}" || rc=1
exit $rc
