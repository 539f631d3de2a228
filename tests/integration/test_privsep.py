# SPDX-License-Identifier: Apache-2.0
"""Least privilege of the real processes (docs/privsep.md).

Started as root, the gateway, the worker's monitor and the worker's child,
intake-opd and intake-logd each run as nobody after start-up, with a
seccomp filter, NO_NEW_PRIVS, no core dumps and not dumpable; the monitor
holds the vault and locked key memory, the child holds neither; intake-opd's
key-store reader keeps root but is sandboxed and holds no vault, key or
locked memory; intake-opd's ipc socket is 0660 nobody:nogroup, so another
local user cannot talk to it unless in that group; intake still works end
to end, the log is signed and published; SIGTERM stops the worker cleanly
through its child; a killed monitor takes its child with it.  Exits 77
(skipped) when not run as root.
"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import urllib.request

from corpus import write_corpus
from stack import Results, Stack, exe, wait_for

NOBODY = 65534
STRANGER = 4242  # a local user of no group of ours


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


def start_opd_logd(st):
    """intake-opd (default ipc_mode) and intake-logd, as root."""
    common = ["link_url = " + st.link, "keys_dir = " + st.keys,
              "vault_dir = " + st.vault,
              "vault_key = " + os.path.join(st.keys, "vault.key")]
    ipc = os.path.join(st.dir, "op.ipc")
    with open(os.path.join(st.dir, "opd.conf"), "w") as f:
        f.write("\n".join(["listen = ipc://" + ipc] + common + [""]))
    with open(os.path.join(st.dir, "logd.conf"), "w") as f:
        f.write("\n".join(common + ["log_interval_ms = 300", ""]))
    st._start("opd", [exe("intake-opd"), "--config",
                      os.path.join(st.dir, "opd.conf")])
    st._start("logd", [exe("intake-logd"), "--config",
                       os.path.join(st.dir, "logd.conf")])
    return ipc


def op_as(ipc, key, uid, groups):
    """intake-op queues as uid with those groups (no root left), run from
    a copy beside the key: the build tree may be where uid cannot reach
    (a checkout under /root), and a refusal must come from the socket,
    not from exec."""
    op = os.path.join(os.path.dirname(key), "intake-op")
    if not os.path.exists(op):
        shutil.copyfile(exe("intake-op"), op)
        os.chmod(op, 0o755)

    def drop():
        os.setgroups(groups)
        os.setgid(uid)
        os.setuid(uid)
    return subprocess.run([op, "--key", key, "--url",
                           "ipc://" + ipc, "queues"], capture_output=True,
                          text=True, timeout=60, preexec_fn=drop)


def connect_as(path, uid, groups):
    """connect(2) to a unix socket as uid: "connected" or the errno."""
    code = ("import errno, socket, sys\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n"
            "    s.connect(sys.argv[1])\n"
            "    print('connected')\n"
            "except OSError as e:\n"
            "    print(errno.errorcode.get(e.errno, e.errno))\n")

    def drop():
        os.setgroups(groups)
        os.setgid(uid)
        os.setuid(uid)
    r = subprocess.run(["/usr/bin/python3", "-c", code, path],
                       capture_output=True, text=True, timeout=30,
                       preexec_fn=drop)
    return r.stdout.strip()


def check_opd_logd(res, st, ipc):
    wait_for(lambda: b"ev=opd.started" in st.logs_text() and
             b"ev=logd.started" in st.logs_text(), 20,
             "intake-opd and intake-logd started")
    opd, logd = st.procs["opd"].pid, st.procs["logd"].pid
    check_locked_down(res, "intake-opd", opd)
    check_locked_down(res, "intake-logd", logd)
    res.check(any(p.endswith("/vault/data.mdb") for p in fds(opd)),
              "intake-opd holds the vault")
    res.check(any(p.endswith("/vault/data.mdb") for p in fds(logd)),
              "intake-logd holds the vault")
    # The key-store reader: root, to read the 0700 store on SIGHUP, but
    # filtered, with no new privileges, holding nothing.
    kids = children(opd)
    res.check(len(kids) == 1, "intake-opd has one child (%s)" % kids)
    kst = status(kids[0])
    res.check(kst["Name"] == ["intake-opd-keys"],
              "it is the key-store reader (%s)" % kst["Name"])
    res.check(kst["NoNewPrivs"] == ["1"] and kst["Seccomp"] == ["2"],
              "the key reader: NO_NEW_PRIVS and its seccomp filter")
    res.check(os.stat("/proc/%d/status" % kids[0]).st_uid == 0 and
              core_limit(kids[0]) == ["0", "0"],
              "the key reader is not dumpable, core limit 0")
    kf = fds(kids[0])
    res.check(not any("/vault/" in p or "/keys/" in p for p in kf) and
              int(kst["VmLck"][0]) == 0,
              "the key reader holds no vault, key file or locked memory "
              "(%s)" % kf)
    # The socket: 0660, nobody:nogroup; a stranger cannot talk to it.
    sst = os.stat(ipc)
    res.check(stat.S_IMODE(sst.st_mode) == 0o660 and
              sst.st_uid == NOBODY and sst.st_gid == NOBODY,
              "the ipc socket is 0660 nobody:nogroup (%o %d:%d)" %
              (stat.S_IMODE(sst.st_mode), sst.st_uid, sst.st_gid))
    kdir = os.path.join(st.dir, "stranger")
    os.makedirs(kdir)
    key = os.path.join(kdir, "dev-admin.key")
    shutil.copyfile(os.path.join(st.keys, "operators", "dev-admin.key"),
                    key)
    for p in (kdir, key):
        os.chown(p, STRANGER, STRANGER)
    os.chmod(key, 0o600)
    r = op_as(ipc, key, STRANGER, [NOBODY])
    res.check(r.returncode == 0,
              "a user in the socket's group is served (%s)" %
              r.stderr.strip()[-200:])
    r = op_as(ipc, key, STRANGER, [])
    res.check(r.returncode != 0 and "refused" not in r.stderr,
              "another local user cannot reach intake-opd (rc %d)" %
              r.returncode)
    res.check(connect_as(ipc, STRANGER, []) == "EACCES" and
              connect_as(ipc, STRANGER, [NOBODY]) == "connected",
              "connect(2) to the socket: EACCES for another user, "
              "allowed in its group")


def log_published(st):
    try:
        with urllib.request.urlopen(st.url + "/log/checkpoint",
                                    timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def main():
    if os.geteuid() != 0:
        print("SKIP: not root: nothing to drop")
        return 77
    res = Results()
    st = Stack(workers=1, name="privsep")
    # The gateway publishes what intake-logd pushes.
    with open(st.gateway_conf, "a") as f:
        f.write("log_dir = %s\n" % os.path.join(st.dir, "glog"))
    st.start()
    try:
        ipc = start_opd_logd(st)
        wait_for(lambda: any("worker.started" in l for l in
                             st.logs_text().decode().splitlines()),
                 20, "the worker's monitor answering its child")
        gw = st.procs["gateway"].pid
        mon = st.procs["worker0"].pid
        kids = wait_for(lambda: children(mon), 10, "the worker's child")
        res.check(len(kids) == 1, "the worker has one child (%s)" % kids)
        child = kids[0]
        check_locked_down(res, "gateway", gw)
        check_opd_logd(res, st, ipc)
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
        # intake-logd signed and pushed through its sandbox.
        res.check(wait_for(lambda: log_published(st), 60,
                           "a published checkpoint"),
                  "intake-logd's checkpoint is served by the gateway")
        res.check(st.alive("opd") and st.alive("logd"),
                  "intake-opd and intake-logd still run (no filter "
                  "violation)")
        rc = st.stop("logd")
        res.check(rc == 0, "SIGTERM: intake-logd exits 0 (rc %s)" % rc)
        opd_kids = children(st.procs["opd"].pid)
        rc = st.stop("opd")
        res.check(rc == 0, "SIGTERM: intake-opd exits 0 (rc %s)" % rc)
        res.check(all(not os.path.exists("/proc/%d" % k) for k in opd_kids),
                  "its key reader is gone with it")
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
