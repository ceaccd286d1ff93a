#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Attribute the instructions hwq_prof counted to kernel functions.

    profile.py N NAME:VMLINUX:COUNTS...

COUNTS is hwq_prof's output for a loop of N operations on the kernel whose
vmlinux is VMLINUX. Prints the instructions per operation of each function
(and of user space), one column per kernel, with the difference of the
first kernel from the last, largest differences first.
"""
import bisect
import subprocess
import sys


def symbols(vmlinux):
    addrs, names = [], []
    out = subprocess.run(["nm", "-n", vmlinux], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            addrs.append(int(parts[0], 16))
            names.append(parts[2])
    return addrs, demangle(names)


def demangle(names):
    """Rust symbols demangled (llvm-cxxfilt knows Rust's v0 mangling)."""
    out = subprocess.run(["llvm-cxxfilt-19"], input="\n".join(names),
                         check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def profile(n, vmlinux, counts):
    addrs, names = symbols(vmlinux)
    per = {}
    header = ""
    for line in open(counts):
        if line.startswith("#"):
            header = line.strip()
            continue
        vaddr, insns, execs = line.split()
        vaddr, total = int(vaddr, 16), int(insns) * int(execs)
        if vaddr < 0xffff800000000000:
            name = "[user]"
        else:
            i = bisect.bisect_right(addrs, vaddr) - 1
            name = names[i] if i >= 0 else "[kernel?]"
        per[name] = per.get(name, 0) + total
    return {k: v / n for k, v in per.items()}, header


def main():
    n = int(sys.argv[1])
    runs = []
    for spec in sys.argv[2:]:
        label, vmlinux, counts = spec.split(":", 2)
        prof, header = profile(n, vmlinux, counts)
        runs.append((label, prof))
        print(f"{label}: {header}, {sum(prof.values()):.0f} instructions per op")
    names = sorted({k for _, p in runs for k in p},
                   key=lambda k: -abs(runs[0][1].get(k, 0) - runs[-1][1].get(k, 0))
                   if len(runs) > 1 else -runs[0][1].get(k, 0))
    labels = [label for label, _ in runs]
    print(f"{'function':<70}" + "".join(f"{label:>12}" for label in labels)
          + (f"{'diff':>10}" if len(runs) > 1 else ""))

    def row(name, vals):
        diff = f"{vals[0] - vals[-1]:>+10.1f}" if len(runs) > 1 else ""
        print(f"{name[:70]:<70}" + "".join(f"{v:>12.1f}" for v in vals) + diff)

    # Functions under one instruction per operation (interrupts, timer
    # ticks, work that runs now and then) are summed in one row.
    rest = [0.0] * len(runs)
    for k in names:
        vals = [p.get(k, 0) for _, p in runs]
        if max(vals) < 1:
            rest = [r + v for r, v in zip(rest, vals)]
            continue
        row(k, vals)
    row("[functions under 1 per op]", rest)
    row("total", [sum(p.values()) for _, p in runs])


if __name__ == "__main__":
    main()
