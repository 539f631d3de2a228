# SPDX-License-Identifier: Apache-2.0
"""Least privilege of the real processes (docs/privsep.md).

Started as root, the gateway, the worker's monitor and the worker's child
each run as nobody after start-up, with a seccomp filter, NO_NEW_PRIVS, no
core dumps and not dumpable; the monitor holds the vault and locked key
memory, the child holds neither; intake still works end to end; SIGTERM
stops the worker cleanly through its child; a killed monitor takes its
child with it.  Exits 77 (skipped) when not run as root.
"""
import os
import signal
import sys

from corpus import write_corpus
from stack import Results, Stack, wait_for

NOBODY = 65534


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d))
    return out


def fds(pid):
    out = []
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, n)))
        except OSError:
            pass
    return out


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


def check_locked_down(res, name, pid):
    st = status(pid)
    res.check(st["Uid"] == [str(NOBODY)] * 4,
              "%s runs as nobody (Uid %s)" % (name, " ".join(st["Uid"])))
    res.check(st["Gid"] == [str(NOBODY)] * 4,
              "%s group nogroup (Gid %s)" % (name, " ".join(st["Gid"])))
    res.check(st.get("Groups", []) == [str(NOBODY)],
              "%s has no other groups (%s)" % (name, st.get("Groups")))
    res.check(st["CapEff"] == ["0000000000000000"],
              "%s has no capabilities" % name)
    res.check(st["NoNewPrivs"] == ["1"], "%s NO_NEW_PRIVS" % name)
    # 2 = SECCOMP_MODE_FILTER
    res.check(st["Seccomp"] == ["2"], "%s seccomp filter on" % name)
    # A process that is not dumpable has its /proc files owned by root
    # although it runs as nobody (proc(5), PR_SET_DUMPABLE).
    res.check(os.stat("/proc/%d/status" % pid).st_uid == 0,
              "%s not dumpable (/proc/PID owned by root)" % name)
    res.check(core_limit(pid) == ["0", "0"],
              "%s core file size limit 0 (%s)" % (name, core_limit(pid)))
    return st


def main():
    if os.geteuid() != 0:
        print("SKIP: not root: nothing to drop")
        return 77
    res = Results()
    st = Stack(workers=1, name="privsep").start()
    try:
        wait_for(lambda: any("worker.started" in l for l in
                             st.logs_text().decode().splitlines()),
                 20, "the worker's monitor answering its child")
        gw = st.procs["gateway"].pid
        mon = st.procs["worker0"].pid
        kids = wait_for(lambda: children(mon), 10, "the worker's child")
        res.check(len(kids) == 1, "the worker has one child (%s)" % kids)
        child = kids[0]
        check_locked_down(res, "gateway", gw)
        mst = check_locked_down(res, "worker monitor", mon)
        cst = check_locked_down(res, "worker child", child)
        res.check(cst["Name"] == ["intake-wk-child"],
                  "the child is the network child (%s)" % cst["Name"])
        # What each holds.
        mf, cf = fds(mon), fds(child)
        res.check(any(p.endswith("/vault/data.mdb") for p in mf),
                  "the monitor holds the vault")
        res.check(not any("/vault/" in p or "/keys/" in p for p in cf),
                  "the child holds no vault or key file (%s)" % cf)
        # ASan makes mlock a no-op: the lock is only visible without it.
        with open("/proc/%d/exe" % mon, "rb") as f:
            asan = b"__asan_init" in f.read()
        res.check(asan or int(mst["VmLck"][0]) > 0,
                  "the monitor's key memory is locked (VmLck %s kB%s)" %
                  (mst["VmLck"][0], ", ASan: not checked" if asan else ""))
        res.check(int(cst["VmLck"][0]) == 0,
                  "the child has no locked (secret) memory")
        # Intake works through the sandboxes, reconnects included.
        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus)
        p = st.load(corpus, 40, clients=2)
        out, err = p.communicate(timeout=120)
        res.check(p.returncode == 0, "40 submissions accepted (%s)" %
                  err.strip()[-200:])
        wait_for(lambda: len(st.vault_messages()[0]) >= 40, 60,
                 "40 messages in the vault")
        res.check(len(st.vault_messages()[0]) == 40,
                  "the monitor committed all 40")
        # SIGTERM reaches the child through the monitor; both end well.
        rc = st.stop("worker0")
        res.check(rc == 0, "SIGTERM: the worker exits 0 (rc %s)" % rc)
        res.check(not os.path.exists("/proc/%d" % child),
                  "the child is gone with it")
        # A monitor killed outright takes its child along (PDEATHSIG).
        st.start_worker(0)
        mon = st.procs["worker0"].pid
        kids = wait_for(lambda: children(mon), 10, "the new child")
        child = kids[0]
        wait_for(lambda: status(child)["Seccomp"] == ["2"], 10,
                 "the new child sandboxed")
        st.kill("worker0")
        gone = wait_for(lambda: not os.path.exists("/proc/%d" % child) or
                        status(child)["State"][0] == "Z", 10,
                        "the child dying with its monitor")
        res.check(gone, "kill -9 of the monitor kills the child")
        # No process was killed by its filter during all this.
        res.check(b"child.died" not in st.logs_text(),
                  "no sandbox violation in the logs")
        res.check(st.alive("gateway"), "the gateway is alive")
    finally:
        st.close()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
