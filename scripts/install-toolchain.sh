#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the toolchain needed to build and boot the kernel: Debian's
# rustc-web (with the core library source the kernel compiles itself),
# LLVM/Clang 19, the kernel build dependencies, QEMU and busybox, and
# bindgen-cli 0.71.1 into a project-local cargo root.
#
# Idempotent: when everything is present it only checks versions.
set -euo pipefail

TOOLS_DIR=${TOOLS_DIR:?TOOLS_DIR must be set}
BINDGEN_VERSION=0.71.1
RUSTC_MIN=1.78

DEB_PKGS=(
	rustc-web rust-web-src rust-web-clippy
	clang-19 lld-19 llvm-19 libclang-19-dev
	make bc bison flex libelf-dev libssl-dev cpio rsync xz-utils perl
	python3 gcc libc6-dev
	qemu-system-x86 busybox-static libcap-dev
)

# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install_missing toolchain "${DEB_PKGS[@]}"

# bindgen-cli, project-local (never global).
BINDGEN="$TOOLS_DIR/cargo/bin/bindgen"
if ! "$BINDGEN" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	echo "toolchain: installing bindgen-cli $BINDGEN_VERSION into $TOOLS_DIR/cargo"
	mkdir -p "$TOOLS_DIR"
	# Build with the cargo on PATH, else with Debian's (cargo-web).
	if ! CARGO=$(command -v cargo); then
		apt-get install -y -q --no-install-recommends cargo-web
		CARGO=/usr/bin/cargo
	fi
	"$CARGO" install --quiet --locked --root "$TOOLS_DIR/cargo" \
		bindgen-cli --version "$BINDGEN_VERSION"
fi

# Version checks, with a message naming what is wrong.
fail=0
check() { # name, command...
	local name=$1; shift
	if ! out=$("$@" 2>&1); then
		echo "toolchain: MISSING $name ($*)" >&2
		fail=1
	else
		echo "toolchain: $name: ${out%%$'\n'*}"
	fi
}
check rustc /usr/bin/rustc --version
check rustdoc /usr/bin/rustdoc --version
check clippy-driver /usr/bin/clippy-driver --version
check clang-19 clang-19 --version
check ld.lld-19 ld.lld-19 --version
check bindgen "$BINDGEN" --version
check qemu qemu-system-x86_64 --version
check busybox test -x /bin/busybox

rv=$(/usr/bin/rustc --version | awk '{print $2}')
if ! printf '%s\n%s\n' "$RUSTC_MIN" "$rv" | sort -V -C; then
	echo "toolchain: rustc $rv is older than $RUSTC_MIN" >&2
	fail=1
fi
sysroot=$(/usr/bin/rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
	echo "toolchain: MISSING the Rust core library source (rust-web-src)" >&2
	fail=1
fi
exit $fail
