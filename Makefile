# SPDX-License-Identifier: GPL-2.0
#
# Build and test the iommufd HW queue in Rust on top of Debian's Linux 7.2.
#
#   make check      install, fetch, overlay, build both configurations,
#                   boot each under QEMU and run every test
#   make run        build and boot the Rust configuration, run the HW
#                   queue walk-through verbosely
#
# See README.md for the variables that can be overridden.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := check
.DELETE_ON_ERROR:

REPO := $(abspath .)
BUILD := $(REPO)/build
TOOLS_DIR := $(BUILD)/tools
CACHE_DIR ?= $(HOME)/.cache/iommufd-hwq

# Base kernel source: Debian's linux-source-7.2 at a pinned version.
PKG_VERSION ?= 7.2.11-1~bpo13+1
PKG_SHA256 ?= 97a3aac3a9eeb8f18e8b0511af9261c54605fd23b712f1a48144360a123738a2
PKG_BASE := $(BUILD)/base
# Point BASE_SRC at another kernel tree to build on it instead.
BASE_SRC ?= $(PKG_BASE)
WORK_SRC := $(BUILD)/linux

# Configurations: "rust" has CONFIG_IOMMUFD_HW_QUEUE_RUST=y, "c" is the
# upstream C implementation. A name with "arm64" in it is an arm64 kernel
# (cross-built, booted under qemu-system-aarch64), with "64k" in it one
# with 64 KiB pages: rust-arm64, c-arm64, rust-arm64-64k, c-arm64-64k.
#
# make check tests both on x86_64 and the Rust one on arm64 with 64 KiB
# pages, where the hardware is. There the upstream suites run only beside
# the C kernel they compare with (UPSTREAM_SKIP): they fail on arm64 on
# their own assumptions and TCG's speed, identically on both (see README).
# make check-arm64 runs both configurations at both page sizes.
CONFIGS ?= rust c rust-arm64-64k
ARM64_CONFIGS ?= rust-arm64-64k c-arm64-64k rust-arm64 c-arm64
UPSTREAM_SKIP ?= $(foreach c,$(filter rust-arm64%,$(CONFIGS)),$(if $(filter $(call cfg_sibling,$(c)),$(CONFIGS)),,$(c)))
RUN_CONFIG ?= rust
JOBS ?= 3

# Tests to run; empty runs all. Names: suite (iommufd, iommufd_fail_nth,
# kunit, or a project selftest), or suite:FIXTURE.VARIANT.TEST as the
# kselftest harness names them (-r).
TESTS ?=
# Seconds a boot may take before it counts as hung.
BOOT_TIMEOUT ?= 900

LLVM_SUFFIX := -19
KMAKE_VARS := LLVM=$(LLVM_SUFFIX) RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	CLIPPY_DRIVER=/usr/bin/clippy-driver \
	BINDGEN=$(TOOLS_DIR)/cargo/bin/bindgen
export LIBCLANG_PATH := /usr/lib/llvm-19/lib

# A configuration's architecture (arm64 if its name says so, else the
# host's x86), its kernel image, and the fragments merged onto tinyconfig:
# base, the architecture's, the configuration's own (the name without
# "-arm64", "-64k" and "-e2e": rust-perf-arm64-64k is
# config/rust-perf.config), then the page size's, then make e2e's host
# options for a name with "e2e" (rust-e2e-arm64, c-e2e-arm64).
cfg_arch = $(if $(findstring arm64,$(1)),arm64,x86)
cfg_image = $(BUILD)/obj-$(1)/arch/$(if $(filter arm64,$(call cfg_arch,$(1))),arm64/boot/Image,x86/boot/bzImage)
cfg_own = $(subst -e2e,,$(subst -arm64,,$(subst -64k,,$(1))))
cfg_frags = config/base.config config/arch-$(call cfg_arch,$(1)).config \
	config/$(call cfg_own,$(1)).config $(if $(findstring 64k,$(1)),config/page-64k.config) \
	$(if $(findstring e2e,$(1)),config/e2e.config)
cfg_specs = $(foreach c,$(CONFIGS),$(c):$(call cfg_image,$(c)))

kmake = $(MAKE) -s -C $(WORK_SRC) O=$(BUILD)/obj-$(1) $(if $(filter arm64,$(call cfg_arch,$(1))),ARCH=arm64) \
	$(KMAKE_VARS) -j$(JOBS)

# Test programs and uAPI headers, per architecture.
ARCHES = $(sort $(foreach c,$(CONFIGS),$(call cfg_arch,$(c))))
arch_selftest_dir = $(BUILD)/selftests$(if $(filter arm64,$(1)),-arm64)
arch_uapi_dir = $(BUILD)/uapi$(if $(filter arm64,$(1)),-arm64)
arch_cc = $(if $(filter arm64,$(1)),aarch64-linux-gnu-gcc,gcc)
arch_rust_target = $(if $(filter arm64,$(1)),aarch64,x86_64)-unknown-linux-gnu
arch_first_config = $(firstword $(foreach c,$(CONFIGS),$(if $(filter $(1),$(call cfg_arch,$(c))),$(c))))

.PHONY: check check-arm64 e2e e2e-build e2e-guest toolchain-arm64 compile-fail run bench profile toolchain source overlay configs kernels oot selftests demo \
	clean distclean export-patches check-series bisect-series sanitizers soak clippy rustdoc docs rustfmt checkpatch FORCE

# Compile-fail tests of the Rust abstractions, against the Rust kernel's
# kernel crate (or, marked `//! crate: hw_queue`, beside the HW queue
# crate's own abstractions); run by `make check` (without TESTS) when it
# builds that kernel.
COMPILE_FAIL_DIR := $(REPO)/tools/testing/rust/iommufd
COMPILE_FAIL_SUMMARY := $(BUILD)/runs/compile-fail/summary.txt
CHECK_EXTRA := $(if $(and $(filter rust,$(CONFIGS)),$(if $(TESTS),,y)),$(COMPILE_FAIL_SUMMARY))

# make e2e (below) runs too, its results counted, when make check runs
# everything on its default configurations (not with CONFIGS or TESTS).
CHECK_E2E := $(if $(and $(filter file,$(origin CONFIGS)),$(if $(TESTS),,y)),y)

check: kernels selftests $(if $(CHECK_E2E),e2e-build)
	rm -f $(COMPILE_FAIL_SUMMARY)
	$(if $(CHECK_EXTRA),$(REPO)/scripts/compile-fail.sh --summary $(COMPILE_FAIL_SUMMARY) \
		$(BUILD)/obj-rust $(COMPILE_FAIL_DIR) || true)
	$(if $(CHECK_E2E),E2E_VERBOSE=0 $(e2e_run) || true)
	EXTRA_SUMMARIES="$(CHECK_EXTRA) $(if $(CHECK_E2E),$(E2E_SUMMARY))" UPSTREAM_SKIP="$(UPSTREAM_SKIP)" \
		$(REPO)/scripts/check.sh $(cfg_specs)

# The arm64 kernels (see ARM64_CONFIGS), with the same runner and judge;
# each page size is compared Rust against C on its own.
check-arm64:
	$(MAKE) check CONFIGS="$(ARM64_CONFIGS)"

compile-fail:
	$(MAKE) CONFIGS=rust kernels
	$(REPO)/scripts/compile-fail.sh $(BUILD)/obj-rust $(COMPILE_FAIL_DIR)

run: RUN_MODE := run
run:
	$(MAKE) CONFIGS=$(RUN_CONFIG) kernels selftests
	$(REPO)/scripts/check.sh --verbose --run \
		$(RUN_CONFIG):$(call cfg_image,$(RUN_CONFIG))

toolchain:
	TOOLS_DIR=$(TOOLS_DIR) $(REPO)/scripts/install-toolchain.sh

# What arm64 kernels and their tests need besides: QEMU for arm64, a cross
# C compiler and libc (and libcap) for the selftests, Rust's standard
# library for aarch64 for the demo, and a static arm64 busybox.
toolchain-arm64: toolchain
	TOOLS_DIR=$(TOOLS_DIR) CARGO=$(CARGO) $(REPO)/scripts/install-toolchain-arm64.sh

source: toolchain
	@if [ "$(BASE_SRC)" = "$(PKG_BASE)" ]; then \
		CACHE_DIR=$(CACHE_DIR) BASE_DIR=$(PKG_BASE) \
		PKG_VERSION='$(PKG_VERSION)' PKG_SHA256=$(PKG_SHA256) \
		$(REPO)/scripts/fetch-source.sh; \
	elif [ ! -f "$(BASE_SRC)/Makefile" ]; then \
		echo "BASE_SRC=$(BASE_SRC) is not a kernel tree" >&2; exit 1; \
	fi

overlay: source
	REPO=$(REPO) BASE_SRC=$(BASE_SRC) WORK_SRC=$(WORK_SRC) \
		$(REPO)/scripts/apply-overlay.sh

# A configuration is tinyconfig plus its fragments (cfg_frags); it is
# redone when a fragment changes.
.SECONDEXPANSION:
$(BUILD)/obj-%/.config: $$(call cfg_frags,$$*) | overlay
	mkdir -p $(BUILD)/obj-$*
	$(call kmake,$*) tinyconfig >/dev/null
	cd $(BUILD)/obj-$* && KCONFIG_CONFIG=.config \
		$(WORK_SRC)/scripts/kconfig/merge_config.sh -m -O . .config \
		$(addprefix $(REPO)/,$(call cfg_frags,$*)) >merge.log
	$(call kmake,$*) olddefconfig
	$(REPO)/scripts/check-config.sh $(BUILD)/obj-$*/.config \
		$(addprefix $(REPO)/,$(call cfg_frags,$*))

configs: $(foreach c,$(CONFIGS),$(BUILD)/obj-$(c)/.config)

# A kernel never built before starts from the objects of its built sibling
# (rust <-> c, same architecture and page size), which differs from it in
# CONFIG_IOMMUFD_HW_QUEUE_RUST alone: kbuild then rebuilds what that option
# and the Rust crates reach, not the whole tree. Its own .config is kept and
# made newer than the sibling's auto.conf, so that kbuild syncs to it; after
# each build, the configuration kbuild built with is checked against the
# fragments.
cfg_sibling = $(strip $(if $(filter rust,$(firstword $(subst -, ,$(1)))),c$(patsubst rust%,%,$(1)), \
	$(if $(filter c,$(firstword $(subst -, ,$(1)))),rust$(patsubst c%,%,$(1)))))
seed = s=$(BUILD)/obj-$(call cfg_sibling,$(1)) d=$(BUILD)/obj-$(1); \
	if [ -n "$(call cfg_sibling,$(1))" ] && [ ! -e $$d/vmlinux ] && [ -e $$s/vmlinux ]; then \
		echo "build: $(1) starts from $(call cfg_sibling,$(1))'s objects"; \
		mv $$d/.config $$d.config && cp -a $$s/. $$d/ && mv $$d.config $$d/.config && \
		touch $$d/.config || exit 1; \
	fi;

kernels: overlay configs
	@$(foreach c,$(CONFIGS),echo "build: $(c) kernel"; \
		start=$$(date +%s); \
		$(call seed,$(c)) \
		$(call kmake,$(c)) $(notdir $(call cfg_image,$(c))) modules || exit 1; \
		$(REPO)/scripts/check-config.sh $(BUILD)/obj-$(c)/include/config/auto.conf \
			$(addprefix $(REPO)/,$(call cfg_frags,$(c))) || exit 1; \
		echo "build: $(c) kernel done in $$(( $$(date +%s) - start )) s";)

# The emulated Tegra241 CMDQV built out of tree, through the top-level
# Kbuild, against each built kernel: what a developer does with the module
# alone.
oot: kernels
	@for c in $(CONFIGS); do \
		echo "oot: tegra241_cmdqv_emu.ko against the $$c kernel"; \
		$(MAKE) -s -C $(BUILD)/obj-$$c M=$(REPO) MO=$(BUILD)/oot-$$c \
			$(KMAKE_VARS) -j$(JOBS) modules || exit 1; \
		ls -l $(BUILD)/oot-$$c/drivers/iommu/iommufd/tegra241_cmdqv_emu.ko || exit 1; \
	done

# uAPI headers and the statically linked selftests: the upstream ones from
# the work tree (unmodified) and the project's own.
SELFTEST_SRC := $(WORK_SRC)/tools/testing/selftests/iommu
# The programs the kselftest Makefile lists, as the series patches it: the
# upstream ones and the project's.
SELFTESTS = $(shell sed -n 's/^TEST_GEN_PROGS += //p' $(SELFTEST_SRC)/Makefile)
BENCH_SRC := $(WORK_SRC)/tools/iommufd_hwq
BENCHES := $(basename $(notdir $(wildcard $(REPO)/tools/iommufd_hwq/*.c)))
SELFTEST_CFLAGS := -static -D_GNU_SOURCE -O2 -Wall -Wno-unused-function \
	-I$(WORK_SRC)/tools/testing/selftests -I$(SELFTEST_SRC)

# The VMM demo: a Rust program on cloud-hypervisor's iommufd-ioctls crate,
# built with the machine's cargo (rustup's, as the crate needs Rust 1.88 or
# later), its dependencies pinned by Cargo.lock, linked statically for the
# initramfs. The kernel's Rust toolchain is not involved.
DEMO_SRC := $(REPO)/tools/iommufd_hwq/hwq_demo
CARGO ?= $(firstword $(wildcard $(HOME)/.cargo/bin/cargo) $(shell command -v cargo))

# The demo for ARCH (aarch64 cross-linked with the cross gcc).
define demo_for
	cd $(DEMO_SRC) && env -u RUSTC -u RUSTDOC -u RUSTFLAGS \
		CARGO_TARGET_DIR=$(BUILD)/hwq_demo \
		CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS='-C target-feature=+crt-static' \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS='-C target-feature=+crt-static' \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
		$(CARGO) build --quiet --release --locked --target $(call arch_rust_target,$(1))
	@mkdir -p $(call arch_selftest_dir,$(1))
	@install -m 755 $(BUILD)/hwq_demo/$(call arch_rust_target,$(1))/release/hwq_demo \
		$(call arch_selftest_dir,$(1))/hwq_demo

endef

# The arm64 test programs and demo need the arm64 toolchain; every target
# that boots a kernel builds them, so it is installed here when a run has an
# arm64 kernel.
demo: $(if $(filter arm64,$(ARCHES)),toolchain-arm64)
	@test -n "$(CARGO)" || { echo "demo: no cargo; install Rust with rustup" >&2; exit 1; }
	$(foreach a,$(ARCHES),$(call demo_for,$(a)))

# The uAPI headers and test programs for ARCH, each rebuilt when its
# sources or the headers change. bench_profile's markers are x86 code that
# the x86 QEMU plugin of make profile looks for: not built for arm64.
define selftests_for
	@mkdir -p $(call arch_selftest_dir,$(1))
	@$(call kmake,$(call arch_first_config,$(1))) headers_install \
		INSTALL_HDR_PATH=$(call arch_uapi_dir,$(1)) >/dev/null
	@for t in $(SELFTESTS); do \
		src=$(SELFTEST_SRC)/$$t.c; out=$(call arch_selftest_dir,$(1))/$$t; \
		if [ ! -f $$out ] || [ -n "$$(find $(SELFTEST_SRC) $(call arch_uapi_dir,$(1))/include -newer $$out -print -quit)" ]; then \
			echo "selftest: $$t$(if $(filter arm64,$(1)), (arm64))"; \
			$(call arch_cc,$(1)) $(SELFTEST_CFLAGS) -isystem $(call arch_uapi_dir,$(1))/include \
				-o $$out $$src -lcap -lpthread; \
		fi; \
	done
	@for t in $(if $(filter arm64,$(1)),$(filter-out bench_profile,$(BENCHES)),$(BENCHES)); do \
		src=$(BENCH_SRC)/$$t.c; out=$(call arch_selftest_dir,$(1))/$$t; \
		if [ ! -f $$out ] || [ -n "$$(find $(BENCH_SRC) $(SELFTEST_SRC) $(call arch_uapi_dir,$(1))/include -newer $$out -print -quit)" ]; then \
			echo "bench: $$t$(if $(filter arm64,$(1)), (arm64))"; \
			$(call arch_cc,$(1)) $(SELFTEST_CFLAGS) -isystem $(call arch_uapi_dir,$(1))/include \
				-o $$out $$src -lcap -lpthread; \
		fi; \
	done

endef

selftests: overlay demo
	$(foreach a,$(ARCHES),$(call selftests_for,$(a)))

# Benchmarks, Rust versus C on the same run: numbers, never assertions.
bench: kernels selftests
	$(REPO)/scripts/bench.sh $(cfg_specs)

# Where the instructions of one benchmark operation (PROFILE_OP, one of
# tools/iommufd_hwq/bench_common.h's) go, per kernel function, on each of
# CONFIGS: a QEMU plugin counts the guest's instructions of PROFILE_N
# operations.
PROFILE_OP ?= alloc_destroy_4k
PROFILE_N ?= 1000
$(TOOLS_DIR)/hwq_prof.so: $(REPO)/tools/iommufd_hwq/qemu_plugin/hwq_prof.c
	@mkdir -p $(TOOLS_DIR)
	gcc -O2 -Wall -shared -fPIC -o $@ $<

profile: kernels selftests $(TOOLS_DIR)/hwq_prof.so
	$(REPO)/scripts/profile.sh $(PROFILE_OP) $(PROFILE_N) \
		$(foreach c,$(CONFIGS),$(c):$(BUILD)/obj-$(c))

# Lint the project's Rust code (the kernel crate and the HW queue crate).
clippy: overlay $(BUILD)/obj-rust/.config
	cd $(WORK_SRC) && touch $$(cd $(REPO) && git ls-files --cached --others --exclude-standard '*.rs')
	$(call kmake,rust) CLIPPY=1 bzImage modules 2>&1 | tee $(BUILD)/clippy.log
	@! grep -qE '^(warning|error)' $(BUILD)/clippy.log || \
		{ echo "clippy: warnings, see $(BUILD)/clippy.log" >&2; exit 1; }
	cd $(DEMO_SRC) && env -u RUSTC -u RUSTDOC -u RUSTFLAGS CARGO_TARGET_DIR=$(BUILD)/hwq_demo \
		$(CARGO) clippy --quiet --release --locked --target $(call arch_rust_target,x86) -- -D warnings

# The kernel crate's documentation (the driver side's abstractions), as the
# kernel's make rustdoc builds it.
rustdoc: overlay $(BUILD)/obj-rust/.config
	$(call kmake,rust) rustdoc 2>&1 | tee $(BUILD)/rustdoc.log
	@! grep -qE '^(warning|error)' $(BUILD)/rustdoc.log || \
		{ echo "rustdoc: warnings, see $(BUILD)/rustdoc.log" >&2; exit 1; }

# The documentation the project adds or changes, with the kernel's Sphinx
# setup and Debian's Sphinx; fails on a warning about those files.
DOC_DIRS := driver-api userspace-api
docs: overlay
	@command -v sphinx-build >/dev/null || apt-get install -y -q --no-install-recommends python3-sphinx python3-yaml
	$(MAKE) -s -C $(WORK_SRC) O=$(BUILD)/docs SPHINXDIRS="$(DOC_DIRS)" htmldocs 2>&1 | tee $(BUILD)/docs.log
	@! grep -E 'WARNING|ERROR' $(BUILD)/docs.log | grep -E 'iommufd' || \
		{ echo "docs: warnings in the project's documentation" >&2; exit 1; }

rustfmt: source
	rustfmt --edition 2021 --check --config-path $(BASE_SRC)/.rustfmt.toml \
		$$(git -C $(REPO) ls-files --cached --others --exclude-standard '*.rs')

# The base tree is a source package without git history, so checkpatch
# cannot look up the commits that Fixes: tags name; they are upstream's.
checkpatch: source
	cd $(REPO) && $(BASE_SRC)/scripts/checkpatch.pl --no-tree -q --ignore UNKNOWN_COMMIT_ID \
		$$(sed -e '/^#/d' -e '/^$$/d' -e 's|^|$(REPO)/patches/|' patches/series)
	cd $(REPO) && $(BASE_SRC)/scripts/checkpatch.pl --no-tree -q --file \
		$$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

export-patches: overlay
	REPO=$(REPO) BASE_SRC=$(BASE_SRC) OUT=$(BUILD)/export \
		$(REPO)/scripts/export-patches.sh

# The exported series applies with git am on a clean tree of the base and
# gives exactly the tree that make kernels builds.
check-series: export-patches
	BASE_SRC=$(BASE_SRC) WORK_SRC=$(WORK_SRC) SERIES=$(BUILD)/export \
		$(REPO)/scripts/check-series.sh

# The HW queue, mmap and backend suites and the stress test on a kCFI and a
# KCSAN kernel, each on its own (they are not compared with each other).
SANITIZER_TESTS := iommufd_hw_queue iommufd_mmap iommufd_tegra241_cmdqv \
	iommufd_hwq_stress
sanitizers:
	rc=0; for c in rust-cfi rust-kcsan; do \
		$(MAKE) check CONFIGS=$$c TESTS="$(SANITIZER_TESTS)" KMEMLEAK=off || rc=1; \
	done; exit $$rc

# A longer soak of the stress test and the fuzzer on both configurations:
# SOAK_SECONDS per stress variant, SOAK_CALLS fuzz calls.
SOAK_SECONDS ?= 600
SOAK_CALLS ?= 2000000
soak:
	HWQ_SECONDS=$(SOAK_SECONDS) HWQ_CALLS=$(SOAK_CALLS) TEST_TIMEOUT=7200 \
		BOOT_TIMEOUT=9000 $(MAKE) check TESTS="iommufd_hwq_stress iommufd_hwq_fuzz"

# Every step of the exported series builds the Rust configuration (about
# 10 min for the first step, then what each patch touches; not run in CI).
# BISECT_CONFIG names the configuration built at each step (rust-arm64-64k
# for arm64, say).
BISECT_CONFIG ?= rust
bisect-series: export-patches $(BUILD)/obj-$(BISECT_CONFIG)/.config
	BASE_SRC=$(BASE_SRC) SERIES=$(BUILD)/export CONFIG=$(BUILD)/obj-$(BISECT_CONFIG)/.config \
		IMAGE=$(notdir $(call cfg_image,$(BISECT_CONFIG))) DIR=$(BUILD)/bisect-$(BISECT_CONFIG) \
		$(REPO)/scripts/bisect-series.sh \
		$(MAKE) -s $(if $(filter arm64,$(call cfg_arch,$(BISECT_CONFIG))),ARCH=arm64) \
		$(KMAKE_VARS) -j$(JOBS)

# An unmodified QEMU and an unmodified guest on the HW queue, end to end
# (make check runs it too, see CHECK_E2E). The host is the Rust kernel for
# arm64 with KVM (E2E_CONFIG; c-e2e-arm64 for the C core), booted under TCG
# with virtualization; in it,
# Debian's arm64 QEMU 11.1 (tools/iommufd_hwq/e2e/debian-arm64.lock) runs a
# guest with an accelerated vSMMUv3 and the Tegra241 CMDQV on the emulated
# CMDQV's VFIO device. The guest kernel is the base source without the
# project's patches (config/e2e-guest.config).
E2E_CONFIG ?= rust-e2e-arm64
E2E_GUEST_OBJ := $(BUILD)/obj-e2e-guest
gmake = $(MAKE) -s -C $(BASE_SRC) O=$(E2E_GUEST_OBJ) ARCH=arm64 $(KMAKE_VARS) -j$(JOBS)

$(E2E_GUEST_OBJ)/.config: config/e2e-guest.config | source
	mkdir -p $(E2E_GUEST_OBJ)
	$(gmake) tinyconfig >/dev/null
	cd $(E2E_GUEST_OBJ) && KCONFIG_CONFIG=.config \
		$(BASE_SRC)/scripts/kconfig/merge_config.sh -m -O . .config \
		$(REPO)/config/e2e-guest.config >merge.log
	$(gmake) olddefconfig
	$(REPO)/scripts/check-config.sh $@ $(REPO)/config/e2e-guest.config

# The guest kernel, and the guest's test driver built against it.
E2E_GUEST_MODULE := $(BUILD)/e2e-guest-module/e2e_dma.ko
e2e-guest: $(E2E_GUEST_OBJ)/.config
	@echo "build: e2e guest kernel"
	@start=$$(date +%s); $(gmake) Image modules; \
		echo "build: e2e guest kernel done in $$(( $$(date +%s) - start )) s"
	$(gmake) M=$(REPO)/tools/iommufd_hwq/e2e/guest_module MO=$(dir $(E2E_GUEST_MODULE)) modules

e2e_run = $(REPO)/scripts/e2e.sh $(E2E_CONFIG):$(call cfg_image,$(E2E_CONFIG)) \
	$(E2E_GUEST_OBJ)/arch/arm64/boot/Image $(E2E_GUEST_MODULE)
E2E_SUMMARY = $(BUILD)/runs/$(E2E_CONFIG)/summary.txt

e2e-build: toolchain-arm64 e2e-guest
	$(MAKE) CONFIGS=$(E2E_CONFIG) kernels

e2e: e2e-build
	$(e2e_run)

clean:
	rm -rf $(BUILD)/obj-* $(BUILD)/selftests* $(BUILD)/uapi* $(BUILD)/runs

distclean:
	rm -rf $(BUILD)
