# SPDX-License-Identifier: Apache-2.0
"""The tamper-evident vault through the real stack (docs/audit.md):
intake-logd signs checkpoints and pushes the log to the gateway, which
serves it under /log/.  300 submissions; intake-audit verify passes on the
live vault and on an mdb_copy and fails, naming what, on copies with a
flipped byte, a deleted record, two swapped records, a truncated log and
an older copy (rollback); check-tiles over HTTP with a state file;
consistency between two checkpoints, and a forged fork refused; Go's
x/mod sumdb (tests/interop/go) verifies the gateway-served log; every
submitter's inclusion proof verifies (intake-submit proof); a witness
cosigns and the gateway serves the cosignature."""
import json
import os
import shutil
import subprocess
import urllib.request

from corpus import write_corpus
from stack import Results, Stack, exe, parse_kv, read_acked, wait_for


def run(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True,
                          text=True)


def audit(*args):
    return run(exe("intake-audit"), *args)


def verify_json(vault, vkey, *extra):
    r = audit("verify", vault, "--log-pub", vkey, "--json", *extra)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"raw": r.stdout + r.stderr}


def kinds(doc):
    return sorted({f["kind"] for f in doc.get("findings", [])})


def get(url):
    with urllib.request.urlopen(url, timeout=10) as f:
        return f.read()


def copy_vault(src, dst):
    os.makedirs(dst)
    r = run("mdb_copy", src, dst)
    assert r.returncode == 0, r.stderr
    return dst


def main():
    t = Results()
    st = Stack(workers=2, name="audit")
    glog = os.path.join(st.dir, "glog")
    with open(st.gateway_conf, "a") as f:
        f.write("log_dir = %s\n" % glog)
    logd_conf = os.path.join(st.dir, "logd.conf")
    with open(logd_conf, "w") as f:
        f.write("\n".join([
            "link_url = " + st.link,
            "keys_dir = " + st.keys,
            "vault_dir = " + st.vault,
            "vault_key = " + os.path.join(st.keys, "vault.key"),
            "log_interval_ms = 300", ""]))
    st.start()
    st._start("logd", [exe("intake-logd"), "--config", logd_conf])
    try:
        vkey = os.path.join(st.dir, "log.vkey")
        r = audit("vkey", "--bundle", os.path.join(st.keys, "bundle.pb"),
                  "--org-pub", st.org_pub)
        t.check(r.returncode == 0 and r.stdout.startswith(
            "intake.test/log+"), "the log verifier key from the bundle")
        with open(vkey, "w") as f:
            f.write(r.stdout)
        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus)

        def submit(n, name):
            acked = os.path.join(st.dir, name)
            p = st.load(corpus, n, clients=4, acked_log=acked)
            p.communicate(timeout=300)
            return [sid for sid, _ in read_acked(acked)]

        def settled():
            """The served checkpoint covers the whole vault log."""
            code, doc = verify_json(st.vault, vkey)
            if doc.get("leaves", 0) == 0:
                return None
            try:
                cp = get(st.url + "/log/checkpoint").decode()
            except OSError:
                return None
            size = int(cp.split("\n")[1])
            if size == doc["leaves"] == doc["checkpoint_size"]:
                return cp
            return None

        ids1 = submit(100, "acked1")
        wait_for(lambda: len(st.vault_messages()[0]) >= len(ids1), 120,
                 "the first 100 in the vault")
        cp_old = wait_for(settled, 60, "a checkpoint covering them")
        old_copy = copy_vault(st.vault, os.path.join(st.dir, "old"))
        cp_old_file = os.path.join(st.dir, "cp_old")
        with open(cp_old_file, "w") as f:
            f.write(cp_old)
        state = os.path.join(st.dir, "audit.state")
        shutil.copy(cp_old_file, state)

        ids2 = submit(200, "acked2")
        ids = ids1 + ids2
        t.check(len(ids) == 300, "300 submissions acknowledged (%d)"
                % len(ids))
        wait_for(lambda: len(st.vault_messages()[0]) >= len(ids), 120,
                 "all 300 in the vault")
        cp_new = wait_for(settled, 60, "a checkpoint covering all 300")
        cp_new_file = os.path.join(st.dir, "cp_new")
        with open(cp_new_file, "w") as f:
            f.write(cp_new)
        size = int(cp_new.split("\n")[1])
        t.check(size >= 2 * 300, "the checkpoint signs %d leaves (a case "
                "and a message leaf per new case)" % size)

        # --- verify: the live vault, a copy ---------------------------
        code, doc = verify_json(st.vault, vkey, "--checkpoint", cp_new_file)
        t.check(code == 0 and doc.get("ok") and doc["records"] >= 600,
                "verify passes on the live vault (%s)" % kinds(doc))
        good = copy_vault(st.vault, os.path.join(st.dir, "copy"))
        code, doc = verify_json(good, vkey, "--checkpoint", cp_new_file)
        t.check(code == 0 and doc.get("ok"),
                "verify passes on an mdb_copy (%s)" % kinds(doc))

        # --- tampering, each on its own copy --------------------------
        def tampered(name, *op):
            d = copy_vault(st.vault, os.path.join(st.dir, name))
            r = run(exe("vault_tamper"), d, *op)
            assert r.returncode == 0, r.stderr
            code, doc = verify_json(d, vkey, "--checkpoint", cp_new_file)
            return r.stdout.split(), code, doc

        keys, code, doc = tampered("flip", "flip", "messages")
        msgs = " ".join(f["message"] for f in doc.get("findings", []))
        t.check(code == 1 and kinds(doc) == ["record-altered"] and
                ("messages/" + keys[0]) in msgs,
                "a flipped byte: verify fails naming messages/%s (%s)"
                % (keys[0][:12], kinds(doc)))
        keys, code, doc = tampered("delete", "delete", "messages")
        msgs = " ".join(f["message"] for f in doc.get("findings", []))
        t.check(code == 1 and kinds(doc) == ["record-missing"] and
                ("messages/" + keys[0]) in msgs,
                "a deleted record: verify fails naming it (%s)" % kinds(doc))
        keys, code, doc = tampered("swap", "swap", "cases")
        msgs = " ".join(f["message"] for f in doc.get("findings", []))
        t.check(code == 1 and kinds(doc) == ["record-altered"] and
                all(("cases/" + k) in msgs for k in keys),
                "two swapped records: both named (%s)" % kinds(doc))
        _, code, doc = tampered("trunc", "truncate", "5")
        t.check(code == 1 and "truncated" in kinds(doc) and
                "record-unlogged" in kinds(doc),
                "a truncated log: truncated, and its records unlogged (%s)"
                % kinds(doc))
        code, doc = verify_json(old_copy, vkey, "--checkpoint", cp_new_file)
        t.check(code == 1 and kinds(doc) == ["truncated"] and
                "rolled back" in doc["findings"][0]["message"],
                "an older copy against the newer checkpoint: rolled back")
        code, doc = verify_json(old_copy, vkey)
        t.check(code == 0, "the older copy on its own is consistent")

        # --- the published log over HTTP -------------------------------
        r = audit("check-tiles", st.url, "--log-pub", vkey, "--state", state)
        t.check(r.returncode == 0 and ("size=%d" % size) in r.stdout,
                "check-tiles over HTTP: tiles rebuild the root, consistent "
                "with the state (%s)" % (r.stdout + r.stderr).strip())
        with open(state) as f:
            t.check(f.read() == cp_new, "the state file now holds the "
                    "new checkpoint")
        r = audit("consistency", cp_old_file, cp_new_file, "--log-pub", vkey,
                  "--tiles", st.url)
        t.check(r.returncode == 0, "consistency old -> new (%s)"
                % r.stdout.strip())
        fork = os.path.join(st.dir, "fork")
        r = run(exe("vault_tamper"), "sign",
                os.path.join(st.keys, "log.key"), "intake.test/log",
                str(size))
        with open(fork, "w") as f:
            f.write(r.stdout)
        r = audit("consistency", cp_new_file, fork, "--log-pub", vkey,
                  "--json")
        doc = json.loads(r.stdout)
        t.check(r.returncode == 1 and kinds(doc) == ["fork"],
                "a second root for the same size: FORK (%s)" % kinds(doc))
        r = audit("consistency", cp_old_file, fork, "--log-pub", vkey,
                  "--tiles", st.url, "--json")
        t.check(r.returncode == 1 and "inconsistent" in r.stdout,
                "a forged checkpoint is not consistent with the old one")
        code, doc = verify_json(good, vkey, "--checkpoint", fork)
        t.check(code == 1 and kinds(doc) == ["root-mismatch"],
                "verify against the forged checkpoint: root mismatch")

        # --- an independent implementation: Go's x/mod sumdb ------------
        gobin = os.path.join(os.environ.get("INTAKE_BUILD_DIR", ""),
                             "tests", "interop", "go", "tlog-interop-go")
        if os.path.exists(gobin):
            m = os.path.join(st.dir, "mirror")
            r = audit("check-tiles", st.url, "--log-pub", vkey, "--mirror", m)
            t.check(r.returncode == 0 and os.path.exists(
                os.path.join(m, "checkpoint")),
                "check-tiles --mirror keeps the gateway's tiles")
            shutil.copy(vkey, os.path.join(m, "vkey"))
            lines = []
            for args in (["--id", ids[0]], ["--id", ids[-1]],
                         ["--from", str(int(cp_old.split("\n")[1]))],
                         ["--from", "1"]):
                r = audit("prove", m, "--log-pub", vkey, *args)
                lines.append(r.stdout if r.returncode == 0 else "")
            t.check(all(lines) and lines[0].startswith("incl ") and
                    lines[2].startswith("cons "),
                    "intake-audit prove: inclusion and consistency lines")
            with open(os.path.join(m, "proofs.txt"), "w") as f:
                f.write("".join(lines))
            r = run(gobin, m)
            t.check(r.returncode == 0, "Go's sumdb/note and sumdb/tlog verify "
                    "the gateway-served checkpoint, tiles and our proofs "
                    "(%s)" % (r.stdout + r.stderr).strip())
        else:
            print("skip - Go interop (tlog-interop-go not built)")

        # --- receipts with proofs --------------------------------------
        bad = []
        for sid in ids:
            r = run(exe("intake-submit"), "proof", "--id", sid, "--url",
                    st.url, "--org-pub", st.org_pub)
            kv = parse_kv(r.stdout)
            if r.returncode != 0 or kv.get("verified") != "1":
                bad.append((sid, r.returncode, r.stderr.strip()))
        t.check(not bad, "all %d submitters' proofs verify (%s)"
                % (len(ids), bad[:2]))
        r = run(exe("intake-submit"), "proof", "--id", "00" * 32, "--url",
                st.url, "--org-pub", st.org_pub)
        t.check(r.returncode == 3, "an unknown id: not published (exit 3)")

        # --- a witness cosigns -----------------------------------------
        wkey = os.path.join(st.dir, "witness.key")
        r = audit("keygen", "--name", "witness.test/w1", "--out", wkey)
        t.check(r.returncode == 0 and r.stdout.startswith("witness.test/w1+"),
                "a witness key")
        r = audit("cosign", st.url, "--log-pub", vkey, "--witness-key", wkey,
                  "--post")
        t.check(r.returncode == 0 and "witness.test/w1" in r.stdout,
                "cosign: verified, cosigned, posted (%s)" % r.stderr.strip())
        served = get(st.url + "/log/checkpoint").decode()
        t.check("\u2014 witness.test/w1 " in served or
                int(served.split("\n")[1]) > size,
                "the gateway serves the cosignature with the checkpoint")
        r = audit("check-tiles", st.url, "--log-pub", vkey)
        t.check(r.returncode == 0, "the cosigned checkpoint still checks")
    finally:
        st.close(keep=t.failed > 0)
    return t.finish()


if __name__ == "__main__":
    raise SystemExit(main())
