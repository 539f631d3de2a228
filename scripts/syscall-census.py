#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Counts the system calls each Intake process makes, from an strace log.

How the allow-lists in common/sandbox.c were found (docs/privsep.md):

  strace -f -qq -o /tmp/trace.log /usr/bin/python3 tests/integration/test_e2e.py
  scripts/syscall-census.py /tmp/trace.log [--after-sandbox]

Every thread is attributed to the program its process last executed.  With
--after-sandbox only calls made after the process installed its seccomp
filter are counted (what the allow-list must contain); without it, all.
The worker's privsep child is told apart from its monitor by the
prctl(PR_SET_NAME) each sets ("intake-wk-child", "intake-wk-mon").
"""
import collections
import re
import sys

LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
RET = re.compile(r"=\s+(-?\d+|\?)")


def main():
    path = sys.argv[1]
    after = "--after-sandbox" in sys.argv[2:]
    prog = {}     # tid -> program label
    tgid = {}     # tid -> process leader
    sandboxed = set()
    pending = {}  # tid -> first half of an unfinished call
    counts = collections.defaultdict(collections.Counter)
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            tid = int(m.group(1))
            name = m.group(2) or m.group(3)
            rest = m.group(4)
            # A call interrupted by another thread's line is printed in
            # two halves: join them, count it once.
            if m.group(2) is None and rest.endswith("<unfinished ...>"):
                pending[tid] = rest
                continue
            if m.group(2) is not None:
                rest = pending.pop(tid, "") + rest
            leader = tgid.setdefault(tid, tid)
            if name == "execve":
                mm = re.match(r'"([^"]+)"', rest)
                if mm and RET.search(rest) and RET.search(rest).group(1) == "0":
                    prog[leader] = mm.group(1).rsplit("/", 1)[-1]
                    sandboxed.discard(leader)
            if name == "prctl" and "PR_SET_NAME" in rest:
                mm = re.search(r'PR_SET_NAME, "([^"]+)"', rest)
                if mm and mm.group(1).startswith("intake-"):
                    prog[leader] = mm.group(1)
            label = prog.get(leader, "?")
            if name in ("clone", "clone3", "fork", "vfork"):
                r = RET.search(rest)
                if r and r.group(1) not in ("?",) and int(r.group(1)) > 0:
                    child = int(r.group(1))
                    thread = "CLONE_THREAD" in rest or name == "clone3" and \
                        "CLONE_THREAD" in rest
                    tgid[child] = leader if thread else child
                    if not thread:
                        prog[child] = label
                        if leader in sandboxed:
                            sandboxed.add(child)
            if name == "seccomp" and "SECCOMP_SET_MODE_FILTER" in rest:
                sandboxed.add(leader)
                continue
            if not label.startswith("intake"):
                continue
            if after and leader not in sandboxed:
                continue
            counts[label][name] += 1
    for label in sorted(counts):
        c = counts[label]
        print("%s: %d distinct" % (label, len(c)))
        for name, n in sorted(c.items()):
            print("  %-22s %d" % (name, n))


if __name__ == "__main__":
    main()
