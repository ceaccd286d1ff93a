#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Compile-fail tests of the Rust abstractions: each file in the test
# directory is a crate that misuses an abstraction under `--cfg fail` and
# must then fail to compile with the error code its `expect:` line names,
# and that uses it correctly otherwise and must then compile cleanly (the
# positive control, which shows that the failure is the misuse and nothing
# else). Both are compiled exactly as kbuild compiled the HW queue crate of
# the given kernel, against that kernel's `kernel` crate.
#
# A test with a `//! crate: hw_queue` line exercises the HW queue crate's own
# abstractions (`hw_queue/iommufd.rs`), which are not in the `kernel` crate:
# it is compiled as a module of a crate that holds those abstractions, from
# the source kbuild compiled, as the module `iommufd` beside it, and names
# them `crate::iommufd::...`. Privacy is then what it is for the HW queue
# crate's own modules.
#
#   compile-fail.sh [--summary FILE] OBJ_DIR TEST_DIR
#
# The last line is "N passed, N failed"; --summary also writes the results
# as a summary that scripts/judge.py --total counts.
set -uo pipefail
# kbuild lets the kernel's rustc use unstable options; so must this.
export RUSTC_BOOTSTRAP=1

summary=
if [ "${1:-}" = --summary ]; then
	summary=$2
	shift 2
fi
obj=${1:?usage: compile-fail.sh OBJ_DIR TEST_DIR}
tests=${2:?usage: compile-fail.sh OBJ_DIR TEST_DIR}
tests=$(cd "$tests" && pwd)
cmdfile=$obj/drivers/iommu/iommufd/.hw_queue.o.cmd
if [ ! -f "$cmdfile" ]; then
	echo "compile-fail: $cmdfile missing: build the Rust kernel first" >&2
	exit 2
fi
# The rustc command line, up to the output options.
base=$(sed -n 's|^savedcmd_drivers/iommu/iommufd/hw_queue.o := \(.*\) --out-dir .*|\1|p' "$cmdfile")
if [ -z "$base" ]; then
	echo "compile-fail: no rustc command in $cmdfile" >&2
	exit 2
fi
# The crate root kbuild compiled, the last word of the command.
root=$(sed -n 's|^savedcmd_drivers/iommu/iommufd/hw_queue.o := .* \([^ ]*hw_queue\.rs\) *$|\1|p' "$cmdfile")
root=$(cd "$obj" && realpath "$root")
abstractions=$(dirname "$root")/hw_queue/iommufd.rs
if [ ! -f "$abstractions" ]; then
	echo "compile-fail: $abstractions missing" >&2
	exit 2
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

passed=0 failed=0 results=()
for t in "$tests"/*.rs; do
	name=$(basename "$t" .rs)
	code=$(sed -n 's|^//! expect: \(E[0-9]*\)$|\1|p' "$t")
	if [ -z "$code" ]; then
		echo "not ok $name: no '//! expect: Ennnn' line"
		failed=$((failed + 1)) results+=("$name fail")
		continue
	fi
	src=$t
	if grep -q '^//! crate: hw_queue$' "$t"; then
		src=$out/$name.root.rs
		# What the test does not use of the abstractions is dead here.
		cat >"$src" <<-EOF
		//! Compile-fail test $name, in the HW queue crate.
		#[allow(dead_code, unused_imports)]
		#[path = "$abstractions"]
		mod iommufd;
		#[allow(dead_code)]
		#[path = "$t"]
		mod test;
		EOF
	fi
	run() { # extra rustc arguments
		(cd "$obj" && eval "$base" -Dwarnings --crate-name "cf_$name" \
			--out-dir "$out" --emit=obj="$out/$name.o" "$@" "$src") \
			>"$out/$name.log" 2>&1
	}
	if ! run; then
		echo "not ok $name: the positive control does not compile:"
		sed 's/^/    /' "$out/$name.log"
		failed=$((failed + 1)) results+=("$name fail")
	elif run --cfg fail; then
		echo "not ok $name: the misuse compiles"
		failed=$((failed + 1)) results+=("$name fail")
	elif ! grep -q "error\[$code\]" "$out/$name.log"; then
		echo "not ok $name: the misuse fails, but not with $code:"
		sed 's/^/    /' "$out/$name.log"
		failed=$((failed + 1)) results+=("$name fail")
	else
		echo "ok $name: $code"
		passed=$((passed + 1)) results+=("$name pass")
	fi
done
if [ -n "$summary" ]; then
	mkdir -p "$(dirname "$summary")"
	printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
tests = {"compile_fail:" + n: s for n, s in (l.split() for l in sys.stdin if l.strip())}
p = sum(s == "pass" for s in tests.values())
json.dump({"name": "compile-fail", "passed": p, "failed": len(tests) - p,
           "skipped": 0, "tests": tests, "problems": [],
           "suites": {"compile_fail": {"pass": p, "fail": len(tests) - p, "skip": 0}}},
          open(sys.argv[1], "w"), indent=1)' "$summary"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
