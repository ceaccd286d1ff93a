#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# What the arm64 kernels' builds and tests need on top of install-toolchain.sh
# (the kernel itself cross-builds with the same LLVM and rustc): QEMU for
# arm64, the aarch64 cross gcc and libc with libcap for the static selftests,
# Rust's aarch64 standard library (rustup) for the demo, and a static arm64
# busybox for the initramfs, unpacked under TOOLS_DIR/arm64 (installing the
# arm64 package would remove the host's).
#
# Idempotent: when everything is present it only checks.
set -euo pipefail

TOOLS_DIR=${TOOLS_DIR:?TOOLS_DIR must be set}
CARGO=${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}
RUST_TARGET=aarch64-unknown-linux-gnu

# curl: make e2e fetches its pinned Debian packages (scripts/fetch-debian.sh).
DEB_PKGS=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross libcap-dev:arm64 curl)

# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"

export DEBIAN_FRONTEND=noninteractive
# Multiarch, for the arm64 libcap and busybox packages.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	need_root toolchain-arm64 "add the arm64 architecture"
	echo "toolchain-arm64: adding the arm64 architecture to dpkg"
	dpkg --add-architecture arm64
	apt-get update -q
fi

apt_install_missing toolchain-arm64 "${DEB_PKGS[@]}"

busybox=$TOOLS_DIR/arm64/busybox
if [ ! -x "$busybox" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# Readable by apt's download sandbox user.
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q busybox-static:arm64)
	dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/x"
	mkdir -p "$TOOLS_DIR/arm64"
	install -m 755 "$tmp/x/bin/busybox" "$busybox"
fi

rustup=$(dirname "$CARGO")/rustup
if ! "$rustup" target list --installed 2>/dev/null | grep -qx "$RUST_TARGET"; then
	echo "toolchain-arm64: adding Rust's $RUST_TARGET standard library"
	"$rustup" target add "$RUST_TARGET"
fi

echo "toolchain-arm64: $(qemu-system-aarch64 --version | head -1)"
echo "toolchain-arm64: $(aarch64-linux-gnu-gcc --version | head -1)"
echo "toolchain-arm64: arm64 busybox $(file -b "$busybox" | cut -d, -f1-2)"
