# SPDX-License-Identifier: Apache-2.0
"""HTTPS with a certificate and key from the config (nng's TLS on mbedtls):
the reference client pins the CA, submits and gets a verified receipt;
a certificate from another CA is refused; the load generator's 100
submissions over HTTPS all land in the vault."""
import os
import subprocess
import sys

from corpus import write_corpus
from stack import Results, Stack, exe, free_port, parse_kv, wait_for


def make_cert(d, name):
    key = os.path.join(d, name + ".key")
    crt = os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1",
                    "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return crt, key


def main():
    t = Results()
    st = Stack(workers=1, name="https")
    try:
        crt, key = make_cert(st.dir, "gw")
        other, _ = make_cert(st.dir, "other")
        port = free_port()
        with open(st.gateway_conf, "a") as f:
            f.write("https_listen = https://127.0.0.1:%d\n" % port)
            f.write("tls_cert = %s\ntls_key = %s\n" % (crt, key))
        st.start()
        url = "https://127.0.0.1:%d" % port

        def send(ca):
            return subprocess.run(
                [exe("intake-submit"), "send", "--url", url, "--org-pub",
                 st.org_pub, "--ca", ca, "--category", "surrender",
                 "--text", "хочу сдаться, завтра, у моста", "--quiet"],
                capture_output=True, text=True)
        r = send(crt)
        kv = parse_kv(r.stdout)
        t.check(r.returncode == 0 and len(kv.get("submission_id", "")) == 64,
                "a receipt over HTTPS (%s)" % r.stderr.strip())
        r = send(other)
        t.check(r.returncode != 0,
                "a gateway certificate from another CA is refused")
        r = subprocess.run([exe("intake-submit"), "send", "--url", url,
                            "--org-pub", st.org_pub, "--text", "x"],
                           capture_output=True, text=True)
        t.check(r.returncode != 0, "https without a pinned CA is refused")

        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus)
        p = subprocess.run([exe("intake-load"), "--url", url, "--ca", crt,
                            "--org-pub", st.org_pub, "--corpus", corpus,
                            "--count", "100", "--clients", "4"],
                           capture_output=True, text=True, timeout=300)
        t.check(p.returncode == 0 and parse_kv(p.stdout).get("acked") ==
                "100", "100 submissions over HTTPS acknowledged")
        msgs = wait_for(lambda: (lambda m: len(m) >= 101 and m)(
            st.vault_messages()[0]), 60, "the vault to hold them")
        t.check(len(msgs) == 101, "all 101 in the vault")
        t.check(st.healthy(), "plain HTTP on loopback still served")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
