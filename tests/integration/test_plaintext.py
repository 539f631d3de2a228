# SPDX-License-Identifier: Apache-2.0
"""Distinctive marker strings sent through the stack never appear in the
spool or vault files, nor in any log line."""
import os
import secrets
import subprocess
import sys

from corpus import write_corpus
from stack import Results, Stack, exe, wait_for


def files_containing(root, needles):
    hits = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for nd in needles:
                if nd in data:
                    hits.append((p, nd))
    return hits


def main():
    t = Results()
    st = Stack(workers=2, name="plain").start()
    try:
        marker = "ZQXMARK" + secrets.token_hex(6)
        cyr = "МАРКЕР" + secrets.token_hex(4)
        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus, marker=marker + " " + cyr)
        p = st.load(corpus, 200, clients=4)
        p.communicate(timeout=300)
        t.check(p.returncode == 0, "200 marked submissions acknowledged")
        # One through the reference client too, with form fields.
        r = subprocess.run([exe("intake-submit"), "send", "--url", st.url,
                            "--org-pub", st.org_pub, "--category",
                            "surrender", "--lang", "ru", "--text",
                            "хочу сдаться " + marker, "--field",
                            "where=" + cyr, "--quiet"],
                           capture_output=True, text=True)
        t.check(r.returncode == 0, "intake-submit send")
        wait_for(lambda: len(st.vault_messages()[0]) >= 201, 60,
                 "vault to hold everything")
        needles = [marker.encode(), cyr.encode("utf-8")]
        hits = files_containing(st.dir, needles)
        # The corpus file is ours (the test's own plaintext): skip it.
        hits = [h for h in hits if not h[0].endswith("corpus.tsv")]
        t.check(not hits, "markers in no spool, vault or log file (%s)"
                % hits[:3])
        t.check(marker.encode() not in st.logs_text(),
                "markers in no log line")
        t.check(os.path.getsize(os.path.join(st.vault, "data.mdb")) > 0,
                "the vault was written")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
