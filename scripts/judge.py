#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge one boot's test results and kernel console, or total several.

One boot:  judge.py --name N --tests "..." --console C --results R
                    --timed-out 0|1 --summary OUT
Totals:    judge.py --total SUMMARY...

A boot fails on any failed test, any kernel oops, panic, BUG, WARNING,
lockdep, KASAN, UBSAN, kmemleak or hung-task report in the console, a test
program that exits non-zero or hangs, or a boot that does not finish.
"""

import argparse
import json
import re
import sys

# Kernel console lines that fail a run wherever they appear.
REPORTS = [
    (re.compile(r"Oops|general protection fault|Kernel panic"), "oops/panic"),
    (re.compile(r"\bBUG[: ]"), "BUG"),
    (re.compile(r"WARNING:|------------\[ cut here \]"), "WARNING"),
    (re.compile(r"possible (recursive|circular) locking|"
                r"inconsistent lock state|DEBUG_LOCKS_WARN_ON|"
                r"suspicious RCU usage|lock held when returning|"
                r"INFO: lockdep is turned off"),
     "lockdep"),
    (re.compile(r"KASAN"), "KASAN"),
    (re.compile(r"UBSAN"), "UBSAN"),
    (re.compile(r"blocked for more than \d+ seconds|detected stalls?"),
     "hung"),
    (re.compile(r"CFI failure"), "CFI"),
]
# Lines that match a pattern above but are not reports.
BENIGN = [
    re.compile(r"^hwq: "),
    re.compile(r"kmemleak: Kernel memory leak detector initialized"),
    re.compile(r"kmemleak: Automatic memory scanning thread"),
]

# Leaks in upstream code outside the HW queue, reported but not failed on.
# Each is matched by functions that all appear in the leak's backtrace.
# None today: patch 0003 fixes the one iommufd_fail_nth used to hit.
KNOWN_LEAKS = []

TAP = re.compile(r"^(not ok|ok) \d+ (\S+)(.*)$")
# A digest of a deterministic run's results, which every configuration must
# reproduce: "# hwq-digest <name> <value> ...".
DIGEST = re.compile(r"^#\s+hwq-digest (\S+) (\S+)")
KUNIT_SUITE = re.compile(r"^    # Subtest: (\S+)")
KUNIT_CASE = re.compile(r"^    (not ok|ok) \d+ (\S+)(.*)$")
PRINTK_TIME = re.compile(r"^\[\s*\d+\.\d+\] ")


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return [l.rstrip("\r\n").replace("\r", "") for l in f]
    except FileNotFoundError:
        return []


def tap_status(result, rest):
    if result == "not ok":
        return "fail"
    if re.search(r"#\s*SKIP", rest, re.I):
        return "skip"
    return "pass"


def judge(args):
    console = [PRINTK_TIME.sub("", l) for l in read_lines(args.console)]
    results = read_lines(args.results)
    tests = []       # (name, status, detail)
    problems = []    # failures that are not single tests

    wanted = args.tests.split()

    # Selftest programs, from the second serial port.
    seen_done = False
    suite = None
    suite_ran = {}
    in_leaks = False
    leaks = []
    digests = {}
    for line in results:
        if line == "@@hwq kmemleak":
            in_leaks = True
            continue
        if line == "@@hwq kmemleak end":
            in_leaks = False
            continue
        if in_leaks:
            leaks.append(line)
            continue
        if line.startswith("@@hwq suite "):
            suite = line.split()[2]
            suite_ran[suite] = None
            continue
        if line.startswith("@@hwq end "):
            rc = int(line.rsplit("rc=", 1)[1])
            suite_ran[suite] = rc
            if rc == 124 or rc == 143:
                problems.append(f"{suite}: timed out")
            elif rc != 0 and not any(t[0].startswith(suite + ":") and
                                     t[1] == "fail" for t in tests):
                problems.append(f"{suite}: exited with {rc}")
            suite = None
            continue
        if line == "@@hwq done":
            seen_done = True
            continue
        m = DIGEST.match(line)
        if m and suite:
            digests[f"{suite}:{m.group(1)}"] = m.group(2)
            continue
        m = TAP.match(line)
        if m and suite:
            tests.append((f"{suite}:{m.group(2)}",
                          tap_status(m.group(1), m.group(3)), ""))
    for t in wanted:
        s = t.split(":")[0]
        if s == "kunit":
            continue
        if s not in suite_ran:
            problems.append(f"{s}: did not run")
        elif suite_ran[s] is None:
            problems.append(f"{s}: did not finish")
    if not seen_done:
        problems.append("boot: did not finish" +
                        (" (timed out)" if args.timed_out == "1" else ""))

    # KUnit, from the kernel console.
    if "kunit" in [t.split(":")[0] for t in wanted]:
        ksuite = None
        nkunit = 0
        kseen = {}
        for line in console:
            m = KUNIT_SUITE.match(line)
            if m:
                ksuite = m.group(1)
                continue
            m = KUNIT_CASE.match(line)
            if m and ksuite:
                # A module's suites run at each load: a case counts once,
                # failed if any of its runs failed.
                name = f"kunit:{ksuite}.{m.group(2)}"
                status = tap_status(m.group(1), m.group(3))
                if name in kseen:
                    i = kseen[name]
                    if status == "fail":
                        tests[i] = (name, status, "")
                    continue
                kseen[name] = len(tests)
                tests.append((name, status, ""))
                nkunit += 1
        if nkunit == 0 and args.expect_kunit == "1":
            problems.append("kunit: no KUnit results in the console")

    # Kernel reports, from the console.
    reports = []
    for i, line in enumerate(console):
        if any(b.search(line) for b in BENIGN):
            continue
        for pat, kind in REPORTS:
            if pat.search(line):
                reports.append(f"kernel {kind}: {line.strip()}")
                break
    # A report usually spans lines; keep the first line of each kind.
    seen = set()
    for r in reports:
        kind = r.split(":")[0]
        if kind in seen:
            continue
        seen.add(kind)
        problems.append(r)

    blocks = []
    for l in leaks:
        if l.startswith("unreferenced object"):
            blocks.append([l])
        elif blocks:
            blocks[-1].append(l)
    unknown = []
    for b in blocks:
        funcs = {m.group(1) for m in
                 (re.match(r"\s+([A-Za-z0-9_.]+)\+0x", l) for l in b) if m}
        known = [name for name, sig in KNOWN_LEAKS if sig <= funcs]
        if known:
            print(f"   known leak ({known[0]}): {b[0]}")
        else:
            unknown.append(b)
    if unknown:
        problems.append(f"kmemleak: {len(unknown)} leaked objects")
        for b in unknown[:5]:
            print("\n".join(b))

    npass = sum(1 for t in tests if t[1] == "pass")
    nfail = sum(1 for t in tests if t[1] == "fail")
    nskip = sum(1 for t in tests if t[1] == "skip")

    per_suite = {}
    for name, status, _ in tests:
        s = name.split(":")[0]
        d = per_suite.setdefault(s, {"pass": 0, "fail": 0, "skip": 0})
        d[status] += 1

    print(f"== {args.name}")
    for s, d in per_suite.items():
        print(f"   {s}: {d['pass']} passed, {d['fail']} failed, "
              f"{d['skip']} skipped")
    for name, status, _ in tests:
        if status == "fail":
            print(f"   FAIL {args.name}/{name}")
    for p in problems:
        print(f"   FAIL {args.name}/{p}")

    summary = {
        "name": args.name,
        "passed": npass,
        "failed": nfail + len(problems),
        "skipped": nskip,
        "suites": per_suite,
        "tests": {name: status for name, status, _ in tests},
        "digests": digests,
        "problems": problems,
    }
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=1)
    return 0 if summary["failed"] == 0 else 1


def merge(out, paths):
    """Merge the summaries of several boots of one kernel into one."""
    parts = [json.load(open(p)) for p in paths]
    m = {"name": parts[0]["name"], "passed": 0, "failed": 0, "skipped": 0,
         "suites": {}, "tests": {}, "digests": {}, "problems": []}
    for p in parts:
        for k in ("passed", "failed", "skipped"):
            m[k] += p[k]
        for suite, d in p["suites"].items():
            md = m["suites"].setdefault(suite, {"pass": 0, "fail": 0, "skip": 0})
            for k in md:
                md[k] += d[k]
        m["tests"].update(p["tests"])
        m["digests"].update(p.get("digests", {}))
        m["problems"] += p["problems"]
    with open(out, "w") as f:
        json.dump(m, f, indent=1)
    return 0


def show(path, details):
    """Print a kernel's per-suite totals and failures, after boot details."""
    for d in details:
        for line in open(d):
            if not line.startswith(("== ", "   ")) or "known leak" in line:
                print(line, end="")
    s = json.load(open(path))
    print(f"== {s['name']}")
    for suite, d in s["suites"].items():
        print(f"   {suite}: {d['pass']} passed, {d['fail']} failed, "
              f"{d['skip']} skipped")
    for name, status in s["tests"].items():
        if status == "fail":
            print(f"   FAIL {s['name']}/{name}")
    for p in s["problems"]:
        print(f"   FAIL {s['name']}/{p}")
    return 0


def platform(name):
    """What a configuration runs on: its name without the implementation
    (rust-arm64-64k: arm64-64k; rust and c: the host's)."""
    return name.partition("-")[2]


def compare(sums):
    """Compare the configurations of one platform; returns 1 on a difference."""
    rc = 0
    # Each suite among the configurations that ran it (compile-fail, for
    # one, runs once, on the host)
    suites = {}
    for s in sums:
        for suite in s["suites"]:
            suites.setdefault(suite, []).append(s)
    for suite in sorted(suites):
        have = suites[suite]
        if suite == "kunit" or len(have) < 2:
            continue
        views = {s["name"]: {k: v for k, v in s["tests"].items()
                             if k.startswith(suite + ":")} for s in have}
        first = next(iter(views.values()))
        same = all(v == first for v in views.values())
        print(f"compare {suite}: " +
              ("identical on " if same else "DIFFERENT on ") +
              ", ".join(views))
        if not same:
            rc = 1
    # Deterministic runs (the fuzzer) must get the same answers
    have = [s for s in sums if s.get("digests")]
    keys = set.intersection(*(set(s["digests"]) for s in have)) \
        if len(have) > 1 else set()
    if keys:
        diff = sorted(k for k in keys
                      if len({s["digests"][k] for s in have}) > 1)
        print(f"compare digests: {len(keys) - len(diff)} of {len(keys)} "
              "identical on " + ", ".join(s["name"] for s in have))
        for k in diff:
            print(f"   DIFFERENT {k}: " + ", ".join(
                f"{s['name']} {s['digests'][k]}" for s in have))
        if diff:
            rc = 1
    return rc


def total(paths):
    sums = [json.load(open(p)) for p in paths]
    # Every selftest suite must give identical results on every configuration
    # of a platform (KUnit suites differ by design: they test Rust code).
    # Results of checks run on the host (compile-fail) have no platform.
    rc = 0
    platforms = {}
    for s in sums:
        platforms.setdefault(platform(s["name"]), []).append(s)
    for group in platforms.values():
        if len(group) > 1:
            rc |= compare(group)
    p = sum(s["passed"] for s in sums)
    f = sum(s["failed"] for s in sums) + rc
    k = sum(s["skipped"] for s in sums)
    line = f"{p} passed, {f} failed"
    if k:
        line += f", {k} skipped"
    print(line)
    return 1 if f else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name")
    ap.add_argument("--tests", default="")
    ap.add_argument("--console")
    ap.add_argument("--results")
    ap.add_argument("--timed-out", default="0")
    ap.add_argument("--expect-kunit", default="1")
    ap.add_argument("--summary")
    ap.add_argument("--total", nargs="+")
    ap.add_argument("--merge", nargs="+", metavar=("OUT", "IN"))
    ap.add_argument("--show", nargs="+", metavar=("SUMMARY", "DETAILS"))
    args = ap.parse_args()
    if args.total:
        return total(args.total)
    if args.merge:
        return merge(args.merge[0], args.merge[1:])
    if args.show:
        return show(args.show[0], args.show[1:])
    return judge(args)


if __name__ == "__main__":
    sys.exit(main())
