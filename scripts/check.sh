#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot each given kernel under QEMU with a busybox initramfs, run the tests,
# and judge the results and the kernel console.
#
#   check.sh [--verbose] [--run] NAME:IMAGE...
#
# An x86_64 kernel (bzImage) boots under qemu-system-x86_64, an arm64 one
# (IMAGE under arch/arm64/) under qemu-system-aarch64's virt machine, both
# with TCG. Test output goes to the second serial port (x86) or a virtio
# console (arm64), the kernel console to the first serial port, so that
# kernel messages never garble test results. Environment:
#   TESTS         which tests to run (see the Makefile); empty runs all
#   KERNEL_ARGS   more kernel parameters, for debugging (for instance
#                 "panic_on_warn=1 ftrace_dump_on_oops" dumps the trace
#                 buffer at the first warning)
#   BOOT_TIMEOUT  seconds before a boot counts as hung
#   SELFTEST_DIR  the statically linked test programs (x86_64; arm64's
#                 are in SELFTEST_DIR-arm64)
#   BUILD         where run logs go (BUILD/runs/NAME)
#   UPSTREAM_SKIP names of kernels on which a run without TESTS leaves out
#                 the upstream suites (iommufd, and iommufd_fail_nth but
#                 for its device test): they boot once, with kmemleak on
#   EXTRA_ROOT    a directory whose contents are added to the initramfs
#                 (make e2e's VMM, firmware and guest)
#   EXTRA_PROGS   a directory of more test programs that TESTS may name
#   QEMU_AARCH64  the arm64 emulator (qemu-system-aarch64 by default)
#   QEMU_MACHINE  the arm64 machine and its options (virt by default)
#   QEMU_MEM      the machine's memory (4G by default)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
SELFTEST_DIR=${SELFTEST_DIR:-$BUILD/selftests}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
TESTS=${TESTS:-}
QEMU_EXTRA=${QEMU_EXTRA:-}
QEMU_SMP=${QEMU_SMP:-2}
QEMU_AARCH64=${QEMU_AARCH64:-qemu-system-aarch64}
QEMU_MACHINE=${QEMU_MACHINE:-virt}
QEMU_MEM=${QEMU_MEM:-4G}
EXTRA_ROOT=${EXTRA_ROOT:-}
EXTRA_PROGS=${EXTRA_PROGS:-}
KMEMLEAK=${KMEMLEAK:-on}
# The seed of the stress test's and the fuzzer's choices, the same for every
# kernel of the run (so the fuzzer's digests compare); HWQ_SECONDS and
# HWQ_CALLS override their bounds.
SEED=${SEED:-$(( $(date +%s) % 1000000 ))}
HWQ_SECONDS=${HWQ_SECONDS:-}
HWQ_CALLS=${HWQ_CALLS:-}
verbose=0
run_mode=0

while [ $# -gt 0 ]; do
	case "$1" in
	--verbose) verbose=1; shift ;;
	--run) run_mode=1; shift ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--verbose] [--run] NAME:IMAGE..." >&2; exit 2; }

# The architecture of a kernel image, from where the build put it.
image_arch() {
	case "$1" in */arch/arm64/*) echo arm64 ;; *) echo x86 ;; esac
}
# Where an architecture's test programs and busybox are.
selftest_dir() {
	if [ "$1" = arm64 ]; then echo "$SELFTEST_DIR-arm64"; else echo "$SELFTEST_DIR"; fi
}
busybox_of() {
	if [ "$1" = arm64 ]; then echo "$BUILD/tools/arm64/busybox"; else echo /bin/busybox; fi
}

# The test programs of the first kernel's architecture (every architecture
# has the same ones), for the default test list.
first_progs=$(selftest_dir "$(image_arch "${1#*:}")")

# The default test list: every suite, KUnit results from the boot log.
default_tests() {
	local t
	echo kunit
	for t in "$first_progs"/*; do
		case "$(basename "$t")" in bench_*) continue ;; esac
		[ -x "$t" ] && basename "$t"
	done
}

if [ "$run_mode" = 1 ] && [ -z "$TESTS" ]; then
	if [ -x "$first_progs/hwq_demo" ]; then
		TESTS="hwq_demo"
	else
		TESTS="iommufd:-f:iommufd_viommu"
	fi
fi
# Without TESTS, each kernel boots twice. kmemleak makes allocations so slow
# that iommufd_fail_nth's map_two_domains takes 25 s of the harness's fixed
# 30 s per test, so the upstream suites run with kmemleak off; KUnit, the
# project's suites and fail_nth's device test (HW queue allocation under
# fault injection) run with kmemleak on, followed by a leak scan.
plan=()
if [ -n "$TESTS" ]; then
	plan+=("$KMEMLEAK|$TESTS")
else
	all=$(default_tests | tr '\n' ' ')
	upstream="" leakcheck=""
	for t in $all; do
		case "$t" in
		iommufd) upstream+=" iommufd" ;;
		iommufd_fail_nth)
			upstream+=" iommufd_fail_nth:-T:device"
			leakcheck+=" iommufd_fail_nth:-t:device" ;;
		*) leakcheck+=" $t" ;;
		esac
	done
	plan+=("off|$upstream" "on|$leakcheck")
fi
# The plan of kernel $1: without the upstream boot if UPSTREAM_SKIP names it.
plan_of() {
	if [ -z "$TESTS" ] && [[ " ${UPSTREAM_SKIP:-} " == *" $1 "* ]]; then
		echo "${plan[1]}"
	else
		printf '%s\n' "${plan[@]}"
	fi
}

make_initramfs() { # dir tests objdir arch
	local root=$1/root t suite tests=$2 objdir=$3 arch=$4 ko tty=ttyS1 progs
	progs=$(selftest_dir "$arch")
	[ "$arch" = arm64 ] && tty=hvc0
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests,modules}
	cp "$(busybox_of "$arch")" "$root/bin/busybox"
	# The project's modules, loaded at boot (their KUnit suites run then)
	# and unloaded and loaded again by the tests.
	for ko in "$objdir"/drivers/iommu/iommufd/*.ko; do
		[ -f "$ko" ] && cp "$ko" "$root/modules/"
	done
	for t in $tests; do
		suite=${t%%:*}
		[ "$suite" = kunit ] && continue
		if [ -n "$EXTRA_PROGS" ] && [ -x "$EXTRA_PROGS/$suite" ]; then
			cp "$EXTRA_PROGS/$suite" "$root/tests/"
		elif [ -x "$progs/$suite" ]; then
			cp "$progs/$suite" "$root/tests/"
		else
			echo "check: no test program '$suite' in $progs" >&2
			exit 2
		fi
	done
	[ -z "$EXTRA_ROOT" ] || cp -a "$EXTRA_ROOT/." "$root/"
	# One line per test: the program, then its arguments.
	for t in $tests; do
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
for ko in /modules/*.ko; do
	[ -f "\$ko" ] || continue
	echo "hwq: loading \$ko" >/dev/kmsg
	insmod "\$ko" || echo "hwq: loading \$ko failed" >/dev/kmsg
done
cd /tmp
export HWQ_SEED=$SEED HWQ_SECONDS=$HWQ_SECONDS HWQ_CALLS=$HWQ_CALLS
exec 3>/dev/$tty
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

boot() { # name image dir kmemleak tests
	local name=$1 image=$2 dir=$3 kmemleak=$4 tests=$5 qrc start config arch
	local expect_kunit=0 qemu console hugepages=hugepages=64
	mkdir -p "$dir"
	rm -f "$dir"/console.log "$dir"/tests.log
	config=$(dirname "$image")/../../../.config
	arch=$(image_arch "$image")
	make_initramfs "$dir" "$tests" "$(dirname "$config")" "$arch"
	if [ "$arch" = arm64 ]; then
		qemu=("$QEMU_AARCH64" -machine "$QEMU_MACHINE" -cpu max,pauth-impdef=on
		      -serial "file:$dir/console.log"
		      -chardev "file,id=tests,path=$dir/tests.log"
		      -device virtio-serial-device -device virtconsole,chardev=tests)
		console=ttyAMA0
		# With 64 KiB pages the default huge page is 512 MiB (a PMD); the
		# tests' 2 MiB ones are contiguous-PTE huge pages there, and one
		# PMD huge page holds a large queue contiguous by construction.
		grep -q '^CONFIG_ARM64_64K_PAGES=y' "$config" &&
			hugepages="default_hugepagesz=2M hugepagesz=2M hugepages=64 hugepagesz=512M hugepages=1"
	else
		qemu=(qemu-system-x86_64 -machine q35 -cpu max,la57=off
		      -serial "file:$dir/console.log" -serial "file:$dir/tests.log")
		console=ttyS0
	fi
	echo "check: booting $name kernel ($image), kmemleak=$kmemleak"
	start=$(date +%s)
	set +e
	# shellcheck disable=SC2086
	timeout --foreground -k 10 "$BOOT_TIMEOUT" "${qemu[@]}" \
		-m "$QEMU_MEM" -smp "$QEMU_SMP" -no-reboot -display none -monitor none \
		-kernel "$image" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=$console panic=-1 $hugepages kmemleak=$kmemleak printk.time=1 rdinit=/init ${KERNEL_ARGS:-}" \
		$QEMU_EXTRA
	qrc=$?
	set -e
	echo "check: $name boot finished in $(( $(date +%s) - start )) s (qemu exit $qrc)"
	if [ "$verbose" = 1 ]; then
		sed -n '/^@@hwq begin/,/^@@hwq done/p' "$dir/tests.log" | grep -v '^@@hwq'
	fi
	# KUnit suites exist only where the project's Rust code is built: the
	# Rust HW queue, or the emulated Tegra241 CMDQV (on both kernels, a
	# module loaded at boot).
	case " $tests " in *" kunit "*)
		grep -qE '^CONFIG_(IOMMUFD_HW_QUEUE_RUST|IOMMUFD_TEGRA241_CMDQV_EMU)=[ym]' \
			"$config" 2>/dev/null && expect_kunit=1 ;;
	esac
	python3 "$REPO/scripts/judge.py" --name "$name" --tests "$tests" \
		--expect-kunit "$expect_kunit" \
		--console "$dir/console.log" --results "$dir/tests.log" \
		--timed-out "$([ $qrc = 124 ] && echo 1 || echo 0)" \
		--summary "$dir/summary.txt" >"$dir/judge.txt" || return 1
}

echo "check: seed $SEED (SEED=$SEED make check ... replays the stress and fuzz choices)"
rc=0
summaries=()
for spec in "$@"; do
	name=${spec%%:*}
	image=${spec#*:}
	parts=()
	mapfile -t kplan < <(plan_of "$name")
	if [ ${#kplan[@]} -lt ${#plan[@]} ]; then
		echo "check: $name leaves out the upstream suites (UPSTREAM_SKIP)"
	fi
	for i in "${!kplan[@]}"; do
		dir=$BUILD/runs/$name
		[ ${#kplan[@]} -gt 1 ] && dir=$BUILD/runs/$name/boot$i
		boot "$name" "$image" "$dir" "${kplan[$i]%%|*}" "${kplan[$i]#*|}" || rc=1
		parts+=("$dir/summary.txt")
	done
	if [ ${#parts[@]} -gt 1 ]; then
		python3 "$REPO/scripts/judge.py" --merge "$BUILD/runs/$name/summary.txt" \
			"${parts[@]}"
	fi
	python3 "$REPO/scripts/judge.py" --show "$BUILD/runs/$name/summary.txt" \
		"${parts[@]/%summary.txt/judge.txt}"
	summaries+=("$BUILD/runs/$name/summary.txt")
done

# Results of checks run outside the guest (EXTRA_SUMMARIES, space separated)
# count in the totals too.
for extra in ${EXTRA_SUMMARIES:-}; do
	python3 "$REPO/scripts/judge.py" --show "$extra"
	summaries+=("$extra")
done
python3 "$REPO/scripts/judge.py" --total "${summaries[@]}" || rc=1
exit $rc
