#!/usr/bin/env python3
"""Check a guest's kernel log for signs of kernel trouble.

usage: logcheck.py [--expect clean|CATEGORY[,CATEGORY...]] LOG...

Reads kernel logs (`dmesg` output, a serial console log, `dmesg -r`) and
reports every line that shows an oops, BUG, WARNING, lockdep report, hung
task, soft or hard lockup, RCU stall, KASAN/UBSAN/KFENCE report, a kmemleak
scan that found leaks, general
protection fault, panic or call trace.  The notices that loading an
out-of-tree, unsigned module prints ("loading out-of-tree module taints
kernel.", "module verification failed: ... - tainting kernel") are
expected and are not problems.  Nor is the OOM killer's report for a
memory cgroup (the stack its "invoked oom-killer:" line dumps passes
through mem_cgroup_out_of_memory): that is a cgroup's memory.max at work,
as in the tests that set one on purpose.  A global OOM kill's report is a
problem (call-trace): the guest ran out of memory.  Nor is one known bug
of rxe on 6.1, whose exact KASAN report is listed as "known" instead:
rxe_mr_copy() reads the map pointer after its MR's last one (8 bytes, 0
bytes to the right of the map array rxe_mr_alloc() made) when a copy
ends at the end of the MR's last map (README, "Known problems"); any
other KASAN report, in rxe or not, is a problem.

Exit status: 0 clean, 1 problems found, 2 usage or read error.
With --expect (used by the tests of this checker), 0 when the verdict is
the expected one: `clean`, or problems of every CATEGORY listed.
"""

import re
import sys

# (category, pattern) in priority order: a line gets the first category
# whose pattern matches the message (the text after the log prefix).
RULES = [
    ("soft-lockup", r"BUG: soft lockup"),
    ("hard-lockup", r"Watchdog detected hard LOCKUP"),
    ("hung-task", r"INFO: task \S+ blocked for more than \d+ seconds"),
    ("rcu-stall", r"(rcu|INFO).*\b(self-)?detected (expedited )?stalls?\b"),
    ("rcu-stall", r"rcu_\w+ kthread (timer wakeup didn't happen|starved)"),
    ("kasan", r"KASAN:"),
    ("ubsan", r"UBSAN:"),
    ("kfence", r"KFENCE:"),
    ("kmemleak", r"kmemleak: \d+ new suspected memory leaks?"),
    ("lockdep", r"^(WARNING|INFO|BUG): (?!CPU: )"
                r".*\b(lock|locking|locks|RCU usage)\b"),
    ("lockdep", r"^INFO: trying to register non-static key"),
    ("gpf", r"general protection fault"),
    ("oops", r"^Oops\b"),
    ("bug", r"^kernel BUG at "),
    ("bug", r"^BUG: "),
    ("bug", r"^BUG \S+ \((Not tainted|Tainted: [^)]*)\)"),
    ("warning", r"^WARNING: "),
    ("panic", r"^Kernel panic - not syncing"),
    ("panic", r"^PANIC: "),
    ("call-trace", r"(?i)\bcall trace:"),
    ("corruption", r"\b(list_add|list_del|list) corruption\b"),
    ("refcount", r"^refcount_t: "),
    ("netdev-leak", r"unregister_netdevice: waiting for \S+ to become free"),
    ("slab-leak", r"Slab cache still has objects"),
]
RULES = [(cat, re.compile(pat)) for cat, pat in RULES]

# "<4>", "[   12.345678]", "[ T123]" / "[ C1]" (printk caller), in any mix.
PREFIX = re.compile(r"^(<\d+>)?(\[\s*\d+\.\d+\]\s?)?(\[\s*[CT]\d+\]\s?)?")

CONTEXT = 25  # lines shown after the first problem of each log

# The OOM killer's report: its first line; its "Call Trace:" comes within
# a few lines (CPU, hardware name, workqueue), the frame that says the OOM
# is a memory cgroup's within its first frames.
OOM_REPORT = re.compile(r"\binvoked oom-killer: ")
OOM_TRACE_WITHIN = 8
OOM_MEMCG_FRAME = re.compile(r"\bmem_cgroup_out_of_memory\b")
OOM_FRAMES = 12


def memcg_oom_trace(msgs, i):
    """Whether msgs[i], a call trace, is a memory cgroup OOM report's."""
    if not any(OOM_REPORT.search(m)
               for m in msgs[max(0, i - OOM_TRACE_WITHIN):i]):
        return False
    return any(OOM_MEMCG_FRAME.search(m) for m in msgs[i + 1:i + OOM_FRAMES])


# A KASAN report runs from a line of "=" to the next one, within
# KNOWN_LINES lines.
KASAN_RULE = re.compile(r"^={40,}$")
KNOWN_LINES = 300
KNOWN = [
    ("rxe_mr_copy reads one map pointer past its MR's map array "
     "(rxe on 6.1, README Known problems)",
     re.compile(r"^BUG: KASAN: slab-out-of-bounds in rxe_mr_copy\+"),
     [re.compile(r"^Read of size 8 at addr "),
      re.compile(r"is located 0 bytes to the right of$"),
      re.compile(r"^ *rxe_mr_alloc\+")]),
]


def known_reports(msgs):
    """{line index: note} for the lines of known upstream bugs' reports."""
    marked = {}
    for i, msg in enumerate(msgs):
        for note, head, musts in KNOWN:
            if not head.search(msg):
                continue
            start = i
            while start > 0 and i - start < 3 and \
                    not KASAN_RULE.search(msgs[start]):
                start -= 1
            end = i + 1
            while end < len(msgs) and end - i < KNOWN_LINES and \
                    not KASAN_RULE.search(msgs[end]):
                end += 1
            # Only a whole report, closed by its line of "=".
            if end >= len(msgs) or not KASAN_RULE.search(msgs[end]):
                continue
            block = msgs[start:end + 1]
            if all(any(m.search(b) for b in block) for m in musts):
                for j in range(start, min(end + 1, len(msgs))):
                    marked[j] = note
    return marked


def message(line):
    """The kernel message of a log line, without prefix and line end."""
    line = line.rstrip("\r\n").replace("\r", "")
    return PREFIX.sub("", line, count=1)


def classify(msg):
    """The category of a message, or None when it is not a problem."""
    for cat, pat in RULES:
        if pat.search(msg):
            return cat
    return None


def check(path):
    """Return [(line number, category, line)] and the log's lines."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    msgs = [message(line) for line in lines]
    known = known_reports(msgs)
    found = []
    for num, line in enumerate(lines, 1):
        if num - 1 in known:
            if num - 2 not in known:
                print(f"{path}:{num}: known: {known[num - 1]}")
            continue
        cat = classify(msgs[num - 1])
        if cat == "call-trace" and memcg_oom_trace(msgs, num - 1):
            continue
        if cat:
            found.append((num, cat, line.rstrip("\r\n")))
    return found, lines


def main(argv):
    args = argv[1:]
    expect = None
    if len(args) >= 2 and args[0] == "--expect":
        expect = args[1]
        args = args[2:]
    if not args or any(a.startswith("-") for a in args):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2

    categories = set()
    for path in args:
        try:
            found, lines = check(path)
        except OSError as err:
            print(f"logcheck: {err}", file=sys.stderr)
            return 2
        for num, cat, line in found:
            print(f"{path}:{num}: {cat}: {line}")
            categories.add(cat)
        if found:
            first = found[0][0]
            print(f"--- {path}, from line {first}:")
            for line in lines[first - 1:first - 1 + CONTEXT]:
                print("    " + line.rstrip("\r\n"))
            print(f"logcheck: {path}: {len(found)} problem lines "
                  f"({', '.join(sorted({c for _, c, _ in found}))})")
        else:
            print(f"logcheck: {path}: clean ({len(lines)} lines)")

    if expect is None:
        return 1 if categories else 0
    if expect == "clean":
        ok = not categories
    else:
        wanted = set(expect.split(","))
        ok = wanted <= categories
    print(f"logcheck: expected {expect}, found "
          f"{', '.join(sorted(categories)) or 'clean'}: "
          f"{'as expected' if ok else 'WRONG'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
