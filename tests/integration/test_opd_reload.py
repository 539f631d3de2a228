# SPDX-License-Identifier: Apache-2.0
"""intake-opd reads its operators again on SIGHUP, without a restart
(docs/operations.md, "Adding and removing operators").

With the real processes: an operator added to the key store is refused
until SIGHUP and accepted after it; one removed is refused after it; a
broken file in operators/ makes the reload fail with a clear log line and
the old list stays (a second new operator is still refused, the old ones
still served) until the file is mended.  Also: the ipc:// socket file has
the configured ipc_mode.  Run as root (as CI does) the service is by then
nobody and the key store root-only: the reload goes through the key-store
reader (operator/opkeys.c).
"""
import os
import shutil
import signal
import stat
import subprocess
import sys

from stack import Results, Stack, exe, wait_for


class Opd:
    def __init__(self, st):
        self.st = st
        self.ipc_path = os.path.join(st.dir, "op.ipc")
        self.ipc = "ipc://" + self.ipc_path
        self.log = os.path.join(st.logs, "opd.log")
        conf = os.path.join(st.dir, "opd.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "listen = " + self.ipc,
                "link_url = " + st.link,
                "keys_dir = " + st.keys,
                "vault_dir = " + st.vault,
                "vault_key = " + os.path.join(st.keys, "vault.key"),
                "ipc_mode = 0600", ""]))
        self.proc = st._start("opd", [exe("intake-opd"), "--config", conf])
        # Signing keys kept outside the store, so that an operator
        # removed from the store can still try.
        self.keys = os.path.join(st.dir, "op-keys")
        os.makedirs(self.keys, mode=0o700)

    def events(self, ev):
        with open(self.log, "rb") as f:
            return [l for l in f.read().decode(errors="replace").splitlines()
                    if " ev=" + ev + " " in l + " "]

    def new_operator(self, name):
        subprocess.run([exe("intake-keys"), "new-operator", name,
                        "--role", "supervisor", "--dev", "--dir",
                        self.st.keys], check=True, capture_output=True)
        src = os.path.join(self.st.keys, "operators", name + ".key")
        dst = os.path.join(self.keys, name + ".key")
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o600)
        return dst

    def queues(self, key):
        r = subprocess.run([exe("intake-op"), "--key", key, "--url",
                            self.ipc, "queues"], capture_output=True,
                           text=True, timeout=60)
        return r

    def hup(self, ev):
        """SIGHUP, then waits for one more `ev` line in the log."""
        n = len(self.events(ev))
        self.proc.send_signal(signal.SIGHUP)
        return wait_for(lambda: len(self.events(ev)) > n and
                        self.events(ev)[-1], 20, ev + " after SIGHUP")


def main():
    t = Results()
    st = Stack(workers=1, name="opdreload").start()
    try:
        op = Opd(st)
        admin = os.path.join(st.keys, "operators", "dev-admin.key")
        wait_for(lambda: op.queues(admin).returncode == 0, 30,
                 "intake-opd answers")
        mode = stat.S_IMODE(os.stat(op.ipc_path).st_mode)
        t.check(mode == 0o600, "the socket file has ipc_mode 0600 (%o)"
                % mode)
        started = op.events("opd.started")[-1]
        n0 = len([f for f in os.listdir(os.path.join(st.keys, "operators"))
                  if f.endswith(".pub")])
        t.check(n0 > 0 and "operators=%d " % n0 in started + " ",
                "the %d operators of the store at start (%s)"
                % (n0, started))

        # Added: refused before SIGHUP, accepted after.
        newbie = op.new_operator("newbie")
        r = op.queues(newbie)
        t.check(r.returncode == 3 and "unknown operator" in r.stderr,
                "a new operator is refused before SIGHUP (%d %s)"
                % (r.returncode, r.stderr.strip()))
        line = op.hup("operators.reloaded")
        t.check("operators=%d before=%d" % (n0 + 1, n0) in line,
                "SIGHUP: the reload is logged (%s)" % line)
        r = op.queues(newbie)
        t.check(r.returncode == 0, "the new operator is served after "
                "SIGHUP (%s)" % r.stderr.strip())
        t.check(op.queues(admin).returncode == 0,
                "the operators from before are still served")

        # Removed: refused after SIGHUP.
        for ext in (".key", ".pub"):
            os.unlink(os.path.join(st.keys, "operators", "newbie" + ext))
        t.check(op.queues(newbie).returncode == 0,
                "removed from the store, still served until SIGHUP")
        line = op.hup("operators.reloaded")
        t.check("operators=%d before=%d" % (n0, n0 + 1) in line,
                "reloaded: one fewer (%s)" % line)
        r = op.queues(newbie)
        t.check(r.returncode == 3 and "unknown operator" in r.stderr,
                "the removed operator is refused after SIGHUP (%s)"
                % r.stderr.strip())

        # Broken: the old list stays, and says so.
        late = op.new_operator("late")
        broken = os.path.join(st.keys, "operators", "broken.pub")
        with open(broken, "w") as f:
            f.write("this is not a key file\n")
        line = op.hup("operators.reload_failed")
        t.check("broken.pub" in line and "stay" in line,
                "a broken file: the reload fails naming it, the old list "
                "stays (%s)" % line)
        r = op.queues(late)
        t.check(r.returncode == 3 and "unknown operator" in r.stderr,
                "the new operator of the failed reload is refused")
        t.check(op.queues(admin).returncode == 0,
                "the old operators are still served")
        t.check(op.proc.poll() is None, "intake-opd is still running")
        os.unlink(broken)
        line = op.hup("operators.reloaded")
        t.check("operators=%d before=%d" % (n0 + 1, n0) in line,
                "mended: the next SIGHUP reloads (%s)" % line)
        t.check(op.queues(late).returncode == 0,
                "and the new operator is served")
        t.check(op.proc.pid == st.procs["opd"].pid and
                op.proc.poll() is None, "never restarted")
        rc = st.stop("opd")
        t.check(rc == 0, "SIGTERM: intake-opd exits 0 (rc %s)" % rc)
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
