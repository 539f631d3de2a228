# SPDX-License-Identifier: Apache-2.0
"""1,000 submissions from 8 concurrent clients through the real stack:
gateway -> nng -> 2 workers -> LMDB vault.  Every acknowledged submission
must be in the vault exactly once, in the queue its text calls for."""
import os
import sys

from corpus import triage_expected, write_corpus
from stack import Results, Stack, parse_kv, read_acked, wait_for

N = int(os.environ.get("INTAKE_E2E_COUNT", "1000"))


def main():
    t = Results()
    st = Stack(workers=2, name="e2e").start()
    try:
        corpus = os.path.join(st.dir, "corpus.tsv")
        rows = write_corpus(corpus)
        expected = triage_expected(rows)
        acked_log = os.path.join(st.dir, "acked.log")
        p = st.load(corpus, N, clients=8, acked_log=acked_log)
        out, err = p.communicate(timeout=600)
        res = parse_kv(out)
        t.check(p.returncode == 0, "intake-load acknowledged all (%s)"
                % res.get("acked"))
        acked = read_acked(acked_log)
        t.check(len(acked) == N, "%d acknowledgements logged" % len(acked))
        t.check(len({s for s, _ in acked}) == N, "ids are distinct")

        def drained():
            msgs, _ = st.vault_messages()
            return len(msgs) >= N and msgs
        msgs = wait_for(drained, 120, "vault to hold every submission")
        _, totals = st.vault_messages()
        t.check(totals.get("messages") == N,
                "vault counts %s messages" % totals.get("messages"))
        missing = [s for s, _ in acked if s not in msgs]
        t.check(not missing, "no acknowledged submission missing (%d)"
                % len(missing))
        dups = [s for s, m in msgs.items() if m["count"] != 1]
        t.check(not dups, "none stored twice (%d)" % len(dups))
        wrong = [(s, ln) for s, ln in acked
                 if s in msgs and msgs[s]["queue"] != expected[ln]]
        t.check(not wrong, "every message in the queue its text calls for "
                "(%d wrong)" % len(wrong))
        agree = sum(1 for s, ln in acked
                    if s in msgs and msgs[s]["queue"] == rows[ln]["queue"])
        t.check(agree >= 0.95 * N, "queue agrees with the human label for "
                "%.1f%%" % (100.0 * agree / N))
        t.check(wait_for(lambda: st.metric("intake_gw_spool_depth") == 0, 30,
                         "spool to drain") is True, "spool drained to empty")
        for name in ("gateway", "worker0", "worker1"):
            t.check(st.alive(name), name + " still running")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
