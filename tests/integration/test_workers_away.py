# SPDX-License-Identifier: Apache-2.0
"""Workers away: the gateway keeps accepting into its spool, refuses with
503 once the spool is full, and drains to empty when workers return."""
import os
import sys

from corpus import write_corpus
from stack import Results, Stack, parse_kv, wait_for


def main():
    t = Results()
    # A small spool: about 400 submissions of the smallest bucket.
    st = Stack(workers=2, spool_max_bytes=1 << 20, name="away")
    try:
        st.start_gateway()
        corpus = os.path.join(st.dir, "corpus.tsv")
        write_corpus(corpus)
        p = st.load(corpus, 300, clients=4)
        out, _ = p.communicate(timeout=300)
        t.check(p.returncode == 0, "300 accepted with no worker connected")
        t.check(st.metric("intake_gw_spool_depth") == 300,
                "spool holds 300 (%s)" % st.metric("intake_gw_spool_depth"))
        msgs, _ = st.vault_messages()
        t.check(len(msgs) == 0, "vault untouched while workers are away")

        # Fill the spool: the gateway must refuse with 503, not fail.
        p = st.load(corpus, 2000, clients=4, deadline=5)
        out, _ = p.communicate(timeout=300)
        res = parse_kv(out)
        full = st.metric("intake_gw_rejections_total{reason=\"full\"}")
        t.check(int(res.get("failed", "0")) > 0 and full > 0,
                "spool full answers 503 full (%d refusals)" % full)
        t.check(st.healthy(), "gateway healthy while full")
        held = int(st.metric("intake_gw_spool_depth"))
        acked_total = 300 + int(res.get("acked", "0"))
        t.check(held == acked_total,
                "spool holds exactly what was acknowledged (%d vs %d)"
                % (held, acked_total))

        for i in range(2):
            st.start_worker(i)
        wait_for(lambda: st.metric("intake_gw_spool_depth") == 0, 120,
                 "spool to drain")
        msgs = wait_for(lambda: (lambda m: len(m) >= acked_total and m)(
            st.vault_messages()[0]), 60, "vault to fill")
        t.check(len(msgs) == acked_total,
                "vault holds all %d after the drain" % acked_total)
        p = st.load(corpus, 50, clients=2)
        p.communicate(timeout=120)
        t.check(p.returncode == 0, "accepting again after the drain")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
