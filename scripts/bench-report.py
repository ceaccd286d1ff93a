#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print benchmark lines of several runs side by side (first run = ratio base).

Lines look like 'mem: size=N key=value ...' or 'speed: op=NAME ns_per_op=N.NN'.
"""
import re
import sys


def number(v):
    """The value of a figure such as 1234 or 988.50, or None."""
    try:
        return float(v)
    except ValueError:
        return None


runs = {}
for d in sys.argv[1:]:
    name = d.rstrip("/").split("/")[-1]
    rows = {}
    for line in open(f"{d}/bench.log", errors="replace"):
        m = re.match(r"^(mem|speed): (\S+) (.*)$", line.strip())
        if m:
            rows[(m.group(1), m.group(2))] = dict(
                kv.split("=", 1) for kv in m.group(3).split())
    runs[name] = rows

names = list(runs)
keys = sorted({k for r in runs.values() for k in r},
              key=lambda k: (k[0], int(k[1].split("=")[1])
                             if k[1].split("=")[1].isdigit() else k[1]))
for kind, key in keys:
    fields = sorted({f for r in runs.values()
                     for f in r.get((kind, key), {})})
    for f in fields:
        vals = [runs[n].get((kind, key), {}).get(f, "-") for n in names]
        cells = "  ".join(f"{n}={v:>10}" for n, v in zip(names, vals))
        ratio = ""
        nums = [number(v) for v in vals]
        if len(vals) > 1 and None not in nums and nums[-1]:
            ratio = f"  {names[0]}/{names[-1]}={nums[0] / nums[-1]:.4f}"
        print(f"{kind} {key:<16} {f:<10} {cells}{ratio}")
