#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make e2e: an unmodified QEMU with an unmodified guest on the emulated
# Tegra241 CMDQV. Assembles what the host kernel's initramfs carries besides
# the usual test programs (Debian's arm64 QEMU and UEFI firmware, the guest
# kernel and the guest's initramfs), then boots the host kernel with KVM
# under TCG through check.sh, whose one test is e2e_vmm.
#
#   e2e.sh NAME:IMAGE GUEST_IMAGE GUEST_MODULE
#
# Environment: BUILD, CACHE_DIR, E2E_MODES, E2E_ROUNDS, E2E_L2_TIMEOUT
# (see tools/iommufd_hwq/e2e/e2e_vmm), BOOT_TIMEOUT, E2E_VERBOSE (0: the
# judge's summary only, the transcript staying in build/runs/NAME).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
SRC=$REPO/tools/iommufd_hwq/e2e
OUT=$BUILD/e2e
[ $# -eq 3 ] || { echo "usage: $0 NAME:IMAGE GUEST_IMAGE GUEST_MODULE" >&2; exit 2; }
spec=$1 guest_image=$2 guest_module=$3

# Whatever stops the run before the host boots leaves a failed summary, so
# that a caller's totals (make check's) count it.
name=${spec%%:*}
summary=$BUILD/runs/$name/summary.txt
rm -f "$summary"
setup_failed() {
	mkdir -p "$(dirname "$summary")"
	[ -f "$summary" ] || cat >"$summary" <<EOF2
{"name": "$name", "passed": 0, "failed": 1, "skipped": 0,
 "tests": {}, "suites": {}, "problems": ["e2e: setup failed"]}
EOF2
}
trap setup_failed ERR

start=$(date +%s)
mkdir -p "$OUT"
"$REPO/scripts/fetch-debian.sh" "$SRC/debian-arm64.lock" "$OUT/debian-root"

# The emulator of the host machine: Debian's QEMU 11.1 for x86-64, run
# through its own loader and libraries. Its TCG 'max' CPU has what KVM needs
# to give a guest the CMDQV's VINTF page, which is cacheable memory mapped
# with VM_PFNMAP: FEAT_S2FWB and CTR_EL0.DIC (kvm_supports_cacheable_pfnmap()
# in arch/arm64/include/asm/kvm_mmu.h). QEMU 7.2's (this machine's) lacks
# DIC, which QEMU 9.0 added, and KVM then refuses the page's memory slot
# (EINVAL). QEMU finds its modules and data next to itself (qemu-bundle),
# never the machine's.
"$REPO/scripts/fetch-debian.sh" "$SRC/debian-amd64.lock" "$OUT/l0-root"
ln -sfn ../../.. "$OUT/l0-root/usr/lib/x86_64-linux-gnu/qemu-bundle"
cat >"$OUT/qemu-system-aarch64" <<EOF2
#!/bin/sh
exec $OUT/l0-root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --inhibit-cache \\
	--library-path $OUT/l0-root/usr/lib/x86_64-linux-gnu \\
	$OUT/l0-root/usr/bin/qemu-system-aarch64 "\$@"
EOF2
chmod +x "$OUT/qemu-system-aarch64"

# The guest's initramfs: busybox, the test driver and the init.
rm -rf "$OUT/guest-root" "$OUT/root"
mkdir -p "$OUT/guest-root"/{bin,dev,proc,sys,tmp}
cp "$BUILD/tools/arm64/busybox" "$OUT/guest-root/bin/busybox"
cp "$guest_module" "$OUT/guest-root/"
cp "$SRC/guest-init" "$OUT/guest-root/init"
mkdir -p "$OUT/root/e2e"
(cd "$OUT/guest-root" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/root/e2e/guest.cpio.gz"
cp "$guest_image" "$OUT/root/e2e/Image"
# e2e_vmm's settings, which the host kernel's environment does not carry.
{
	echo "E2E_MODES='${E2E_MODES:-on:20 off on on:20:ill}'"
	echo "E2E_ROUNDS=${E2E_ROUNDS:-200}"
	echo "E2E_L2_TIMEOUT=${E2E_L2_TIMEOUT:-1800}"
} >"$OUT/root/e2e/env"
# The host's: Debian's files beside the usual test initramfs.
cp -a "$OUT/debian-root/." "$OUT/root/"
rm -f "$OUT/root/.fetch-debian.stamp"
echo "e2e: initramfs contents ready in $(( $(date +%s) - start )) s ($(du -sh "$OUT/root" | cut -f1))"

EXTRA_ROOT=$OUT/root EXTRA_PROGS=$SRC TESTS=e2e_vmm KMEMLEAK=on \
	QEMU_AARCH64=$OUT/qemu-system-aarch64 QEMU_EXTRA="-nic none -audio none" \
	QEMU_MACHINE=virt,virtualization=on,gic-version=3 QEMU_MEM=${E2E_MEM:-4G} \
	TEST_TIMEOUT=${TEST_TIMEOUT:-5400} BOOT_TIMEOUT=${BOOT_TIMEOUT:-7200} \
	"$REPO/scripts/check.sh" $([ "${E2E_VERBOSE:-1}" = 0 ] || echo --verbose) "$spec"
