# SPDX-License-Identifier: Apache-2.0
"""kill -9 of the gateway, of a worker, and of both, during a load of
2,400 submissions.  After restart every acknowledged submission is in the
vault exactly once, and the clients' resends of unacknowledged submissions
get receipts (intake-load resends the same sealed bytes until one does)."""
import os
import sys

from corpus import write_corpus
from stack import Results, Stack, parse_kv, read_acked, wait_for

N = int(os.environ.get("INTAKE_CRASH_COUNT", "2400"))


def main():
    t = Results()
    st = Stack(workers=2, lease_ms=2000, name="crash").start()
    try:
        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus)
        acked_log = os.path.join(st.dir, "acked.log")
        p = st.load(corpus, N, clients=8, acked_log=acked_log, deadline=400)

        def acked_at_least(k):
            return lambda: len(read_acked(acked_log)) >= k or p.poll() is not None

        # 1. the gateway alone
        wait_for(acked_at_least(N // 6), 120, "first acknowledgements")
        t.check(p.poll() is None, "load still running at the first kill")
        st.kill("gateway")
        st.start_gateway()
        # 2. one worker alone
        wait_for(acked_at_least(N // 2), 180, "acknowledgements after restart")
        t.check(p.poll() is None, "load still running at the worker kill")
        st.kill("worker0")
        st.start_worker(0)
        # 3. gateway and the other worker together
        wait_for(acked_at_least(2 * N // 3), 180, "more acknowledgements")
        t.check(p.poll() is None, "load still running at the double kill")
        st.kill("gateway")
        st.kill("worker1")
        st.start_gateway()
        st.start_worker(1)

        out, err = p.communicate(timeout=600)
        res = parse_kv(out)
        t.check(p.returncode == 0,
                "every submission acknowledged after resends (acked=%s "
                "retries=%s)" % (res.get("acked"), res.get("retries")))
        t.check(int(res.get("retries", "0")) > 0,
                "the crashes forced resends (%s)" % res.get("retries"))
        acked = read_acked(acked_log)
        ids = {s for s, _ in acked}
        t.check(len(ids) == len(acked) == N,
                "%d distinct acknowledgements" % len(ids))

        def all_in():
            msgs, _ = st.vault_messages()
            return ids.issubset(msgs.keys()) and msgs
        msgs = wait_for(all_in, 180, "vault to hold every acknowledged id")
        _, totals = st.vault_messages()
        t.check(not (ids - msgs.keys()), "zero acknowledged submissions lost")
        dups = [s for s, m in msgs.items() if m["count"] != 1]
        t.check(not dups, "zero stored twice (%d)" % len(dups))
        t.check(totals.get("messages") == len(ids),
                "vault holds exactly the acknowledged set (%s vs %d)"
                % (totals.get("messages"), len(ids)))
        t.check(totals.get("quarantined", 0) == 0, "nothing quarantined")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
