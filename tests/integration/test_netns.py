# SPDX-License-Identifier: Apache-2.0
"""Several hosts on one machine: the gateway in one network namespace, two
workers in another, joined by a veth pair with addresses from a private
test range that exist only inside the two namespaces.  The workers dial
the gateway over tcp://; submissions (intake-load, run in the gateway's
namespace, on its loopback) must all arrive in the vault.  Skips with a
message (exit 77) when namespaces cannot be created here.
"""
import os
import subprocess
import sys

from corpus import write_corpus
from stack import Results, Stack, exe, parse_kv, read_acked, wait_for

N = 200
GW_ADDR, WK_ADDR = "10.231.77.1", "10.231.77.2"
LINK_PORT = 9100


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True,
                          text=True, check=check)


def main():
    tag = "%d" % os.getpid()
    gw_ns, wk_ns = "itk-gw-" + tag, "itk-wk-" + tag
    if ip("netns", "add", gw_ns, check=False).returncode != 0:
        print("SKIP: cannot create a network namespace here (need "
              "CAP_SYS_ADMIN)")
        return 77
    t = Results()
    st = None
    try:
        ip("netns", "add", wk_ns)
        ip("link", "add", "veg" + tag, "type", "veth", "peer", "name",
           "vew" + tag)
        ip("link", "set", "veg" + tag, "netns", gw_ns)
        ip("link", "set", "vew" + tag, "netns", wk_ns)
        ip("-n", gw_ns, "addr", "add", GW_ADDR + "/30", "dev", "veg" + tag)
        ip("-n", wk_ns, "addr", "add", WK_ADDR + "/30", "dev", "vew" + tag)
        for ns, dev in ((gw_ns, "veg" + tag), (wk_ns, "vew" + tag)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        st = Stack(workers=2, name="netns",
                   link="tcp://%s:%d" % (GW_ADDR, LINK_PORT))
        inns = ["ip", "netns", "exec"]
        st._start("gateway", inns + [gw_ns, exe("intake-gateway"),
                                     "--config", st.gateway_conf])

        def healthy():
            r = subprocess.run(inns + [gw_ns, "curl", "-sf", "-m", "2",
                                       st.url + "/healthz"],
                               capture_output=True)
            return r.returncode == 0
        wait_for(healthy, 20, "gateway /healthz in its namespace")
        for i in range(2):
            st._start("worker%d" % i, inns + [wk_ns, exe("intake-worker"),
                                               "--config",
                                               st.worker_confs[i]])
        # The worker namespace cannot reach the gateway's HTTP side
        # (loopback there), only the link address.
        r = subprocess.run(inns + [wk_ns, "curl", "-sf", "-m", "2",
                                   st.url + "/healthz"], capture_output=True)
        t.check(r.returncode != 0, "workers' namespace cannot reach the "
                "gateway's loopback HTTP")
        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus)
        acked_log = os.path.join(st.dir, "acked.log")
        p = subprocess.run(inns + [gw_ns, exe("intake-load"), "--url",
                                   st.url, "--org-pub", st.org_pub,
                                   "--corpus", corpus, "--count", str(N),
                                   "--clients", "4", "--acked-log",
                                   acked_log, "--deadline", "120"],
                           capture_output=True, text=True, timeout=180)
        res = parse_kv(p.stdout)
        t.check(p.returncode == 0, "intake-load acknowledged all (%s)"
                % res.get("acked"))
        acked = read_acked(acked_log)

        def arrived():
            msgs, _ = st.vault_messages()
            return len(msgs) >= N and msgs
        msgs = wait_for(arrived, 120, "vault to hold every submission")
        missing = [s for s, _ in acked if s not in msgs]
        t.check(len(acked) == N and not missing,
                "all %d submissions crossed tcp:// into the vault "
                "(%d missing)" % (N, len(missing)))
        for name in ("gateway", "worker0", "worker1"):
            t.check(st.alive(name), name + " still running")
    finally:
        if st is not None:
            st.close()
        ip("netns", "del", wk_ns, check=False)
        ip("netns", "del", gw_ns, check=False)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
