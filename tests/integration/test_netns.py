# SPDX-License-Identifier: Apache-2.0
"""Several hosts on one machine: the gateway in one network namespace, two
workers in another, joined by a veth pair with addresses from a private
test range that exist only inside the two namespaces.  The workers dial
the gateway over tls+tcp:// with mutual TLS (a link CA and certificates
made here with openssl); submissions (intake-load, run in the gateway's
namespace, on its loopback) must all arrive in the vault.  A third worker
whose certificate comes from another CA runs the whole time: the gateway
refuses its handshake, never counts it as connected, and its vault stays
empty.  Skips with a message (exit 77) when namespaces cannot be created
here.
"""
import os
import subprocess
import sys

from corpus import write_corpus
from stack import Results, Stack, exe, parse_kv, read_acked, wait_for

N = 200
GW_ADDR, WK_ADDR = "10.231.77.1", "10.231.77.2"
LINK_PORT = 9100
GW_NAME = "gateway.link.test"  # the name workers check (not the address)


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True,
                          text=True, check=check)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True)


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", crt, "-days", "2", "-subj", "/CN=" + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, crt


def make_cert(d, name, ca, usage, dns=None):
    """A leaf certificate signed by ca = (key, crt); the key 0600."""
    key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
    crt, ext = os.path.join(d, name + ".crt"), os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=%s\n" % usage)
        if dns:
            f.write("subjectAltName=DNS:%s\n" % dns)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=" + (dns or name))
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0],
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    os.chmod(key, 0o600)
    return crt, key


def add_lines(path, lines):
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")


def tls_lines(crt, key, ca, server_name=None):
    out = ["link_tls_cert = " + crt, "link_tls_key = " + key,
           "link_tls_ca = " + ca]
    if server_name:
        out.append("link_tls_server_name = " + server_name)
    return out


def handshake(inns, wk_ns, cert, ca):
    """openssl s_client from the workers' namespace, with cert (crt, key)
    or none: True when the gateway completed the handshake."""
    argv = inns + [wk_ns, "openssl", "s_client", "-connect",
                   "%s:%d" % (GW_ADDR, LINK_PORT), "-servername", GW_NAME,
                   "-CAfile", ca, "-verify_return_error", "-tls1_2"]
    if cert:
        argv += ["-cert", cert[0], "-key", cert[1]]
    # -tls1_2: the gateway's mbedTLS 2 speaks TLS 1.2, where a refused
    # client certificate fails the handshake itself.  A short write
    # then EOF: an accepted session reads nothing back (SP header wrong
    # is answered by closing, after the handshake succeeded).
    p = subprocess.run(argv, input=b"", capture_output=True, timeout=20)
    out = p.stdout.decode(errors="replace")
    return p.returncode == 0 and "Verify return code: 0 (ok)" in out


def vault_has_messages(vault_dir):
    r = subprocess.run([exe("intake-vault-ls"), vault_dir],
                       capture_output=True, text=True, check=True)
    return any(ln.startswith("message ") for ln in r.stdout.splitlines())


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
        # The network itself is the environment, not the code under test:
        # a root that may create namespaces but not address a veth pair
        # (seen in a chroot) skips with the refusal, not a failure.
        try:
            ip("netns", "add", wk_ns)
            ip("link", "add", "veg" + tag, "type", "veth", "peer", "name",
               "vew" + tag)
            ip("link", "set", "veg" + tag, "netns", gw_ns)
            ip("link", "set", "vew" + tag, "netns", wk_ns)
            ip("-n", gw_ns, "addr", "add", GW_ADDR + "/30", "dev",
               "veg" + tag)
            ip("-n", wk_ns, "addr", "add", WK_ADDR + "/30", "dev",
               "vew" + tag)
            for ns, dev in ((gw_ns, "veg" + tag), (wk_ns, "vew" + tag)):
                ip("-n", ns, "link", "set", "lo", "up")
                ip("-n", ns, "link", "set", dev, "up")
        except subprocess.CalledProcessError as e:
            print("SKIP: this host refuses the test network: `%s`: %s" %
                  (" ".join(e.cmd), (e.stderr or "").strip()))
            return 77
        link = "tls+tcp://%s:%d" % (GW_ADDR, LINK_PORT)
        st = Stack(workers=2, name="netns", link=link)
        pki = os.path.join(st.dir, "pki")
        os.makedirs(pki)
        ca = make_ca(pki, "link-ca")
        other_ca = make_ca(pki, "other-ca")
        gw_cert = make_cert(pki, "gateway", ca, "serverAuth", dns=GW_NAME)
        add_lines(st.gateway_conf, tls_lines(gw_cert[0], gw_cert[1], ca[1])
                  + ["log_dir = " + os.path.join(st.dir, "glog")])
        wk_certs = []
        for i in range(2):
            c = make_cert(pki, "worker%d" % i, ca, "clientAuth")
            wk_certs.append(c)
            add_lines(st.worker_confs[i],
                      tls_lines(c[0], c[1], ca[1], GW_NAME))
        # intake-logd pushes the log over the same TLS link (its own
        # client certificate).
        lc = make_cert(pki, "logd", ca, "clientAuth")
        logd_conf = os.path.join(st.dir, "logd.conf")
        add_lines(logd_conf, [
            "link_url = " + link, "keys_dir = " + st.keys,
            "vault_dir = " + st.vault,
            "vault_key = " + os.path.join(st.keys, "vault.key"),
            "log_interval_ms = 300"] + tls_lines(lc[0], lc[1], ca[1],
                                                 GW_NAME))
        # The intruder: a well-formed worker that trusts the gateway's
        # CA, with a certificate from a CA the gateway does not trust.
        # Its own vault, so that anything delivered to it would show.
        rogue = make_cert(pki, "rogue", other_ca, "clientAuth")
        rogue_conf = os.path.join(st.dir, "rogue.conf")
        rogue_vault = os.path.join(st.dir, "vault-rogue")
        with open(st.worker_confs[0]) as f:
            lines = [ln for ln in f.read().splitlines()
                     if ln and not ln.startswith(("link_tls_cert",
                                                  "link_tls_key",
                                                  "vault_dir", "worker_id"))]
        add_lines(rogue_conf, lines + [
            "vault_dir = " + rogue_vault, "worker_id = rogue",
            "link_tls_cert = " + rogue[0], "link_tls_key = " + rogue[1]])
        inns = ["ip", "netns", "exec"]
        st._start("gateway", inns + [gw_ns, exe("intake-gateway"),
                                     "--config", st.gateway_conf])

        def healthy():
            r = subprocess.run(inns + [gw_ns, "curl", "-sf", "-m", "2",
                                       st.url + "/healthz"],
                               capture_output=True)
            return r.returncode == 0
        wait_for(healthy, 20, "gateway /healthz in its namespace")

        def connected():
            r = subprocess.run(inns + [gw_ns, "curl", "-sf", "-m", "2",
                                       "http://127.0.0.1:%d/metrics"
                                       % st.metrics_port],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                if line.startswith("intake_gw_workers_connected "):
                    return int(float(line.split()[1]))
            return -1
        # The TLS listener itself: a link-CA client certificate completes
        # the handshake, one from another CA or none does not.
        t.check(handshake(inns, wk_ns, wk_certs[0], ca[1]),
                "a link-CA worker certificate completes the handshake")
        t.check(not handshake(inns, wk_ns, rogue, ca[1]),
                "a certificate from another CA is refused in the handshake")
        t.check(not handshake(inns, wk_ns, None, ca[1]),
                "no client certificate is refused in the handshake")
        st._start("rogue", inns + [wk_ns, exe("intake-worker"), "--config",
                                   rogue_conf])
        st._start("logd", inns + [wk_ns, exe("intake-logd"), "--config",
                                  logd_conf])
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

        most = [connected()]

        def arrived():
            most.append(connected())
            msgs, _ = st.vault_messages()
            return len(msgs) >= N and msgs
        msgs = wait_for(arrived, 120, "vault to hold every submission")
        most.append(connected())
        missing = [s for s, _ in acked if s not in msgs]
        t.check(len(acked) == N and not missing,
                "all %d submissions crossed tls+tcp:// into the vault "
                "(%d missing)" % (N, len(missing)))
        def published():
            r = subprocess.run(inns + [gw_ns, "curl", "-sf", "-m", "2",
                                       st.url + "/log/checkpoint"],
                               capture_output=True, text=True)
            lines = r.stdout.split("\n")
            return (r.returncode == 0 and len(lines) > 1 and
                    lines[1].isdigit() and int(lines[1]) >= N and
                    int(lines[1]))
        size = wait_for(published, 60, "intake-logd's checkpoint over TLS")
        t.check(size >= N, "intake-logd pushed a checkpoint of %d leaves "
                "over tls+tcp://" % size)
        most.append(connected())
        # Two workers and intake-logd: three link-CA clients.
        t.check(max(most) <= 3 and most[-1] == 3,
                "the gateway counted the link-CA clients and never the "
                "intruder (intake_gw_workers_connected samples %s)"
                % sorted(set(most)))
        t.check(not os.path.exists(os.path.join(rogue_vault, "data.mdb"))
                or not vault_has_messages(rogue_vault),
                "the intruder's vault holds no submission")
        with open(os.path.join(st.logs, "rogue.log"), "rb") as f:
            rlog = f.read()
        t.check(b"batch.committed" not in rlog,
                "the intruder's log shows no batch")
        for name in ("gateway", "worker0", "worker1", "logd", "rogue"):
            t.check(st.alive(name), name + " still running")
    finally:
        if st is not None:
            st.close()
        ip("netns", "del", wk_ns, check=False)
        ip("netns", "del", gw_ns, check=False)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
