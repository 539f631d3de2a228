# SPDX-License-Identifier: Apache-2.0
"""Urgency with real processes: 500 inquiries (captivity and casualty, and
surrender questions without a place or time, which are 'high'), then one
surrender offer with a place and a time ('critical').  The offer is the
next case an operator pulls from the surrender queue, ahead of every older
question, and the inquiries wait in their own queues."""
import os
import sys

from stack import Results, Stack, exe, parse_kv, wait_for
from test_operator import Ops, cases, submit

INQUIRIES = [
    ("relative", "Мой брат пропал, говорят он в плену. Помогите узнать."),
    ("relative", "Погиб ли мой сын? Нам не выдали тело."),
    ("surrender", "Как сдаться в плен? Что для этого нужно сделать?"),
    ("other", "How can I surrender safely? What are the conditions?"),
]
OFFER = "Хочу сдаться сегодня ночью у моста возле Работино, нас двое."
N = 500


def main():
    t = Results()
    st = Stack(workers=2, name="urgency").start()
    try:
        ops = Ops(st)
        wait_for(lambda: ops.run("dev-admin", "queues")[0].returncode == 0,
                 30, "intake-opd answers")
        corpus = os.path.join(st.dir, "inquiries.tsv")
        with open(corpus, "w", encoding="utf-8") as f:
            for form, text in INQUIRIES:
                f.write("%s\t%s\n" % (form, text))
        p = st.load(corpus, N, clients=8)
        out, _ = p.communicate(timeout=300)
        t.check(p.returncode == 0 and parse_kv(out).get("acked") == str(N),
                "%d inquiries acknowledged" % N)
        wait_for(lambda: (lambda m: len(m) >= N and m)(
            st.vault_messages()[0]), 120, "the inquiries in the vault")

        r = submit(st, "send", "--category", "surrender", "--lang", "ru",
                   "--text", OFFER)
        offer = parse_kv(r.stdout).get("submission_id")
        t.check(r.returncode == 0 and offer, "the surrender offer accepted")
        msgs = wait_for(lambda: (lambda m: offer in m and m)(
            st.vault_messages()[0]), 60, "the offer in the vault")
        t.check(msgs[offer]["urgency"] == "critical",
                "the offer is critical (%s)" % msgs[offer]["urgency"])
        older_high = sum(1 for m in msgs.values()
                         if m["queue"] == "surrender" and
                         m["urgency"] == "high")
        t.check(older_high >= N // 4, "%d older surrender questions wait "
                "in the same queue" % older_high)

        r, rows = ops.run("dev-triage", "next", "surrender")
        t.check(r.returncode == 0 and cases(rows) == [msgs[offer]["case"]],
                "the next case pulled from the surrender queue is the offer")
        r, rows = ops.run("dev-triage", "next", "surrender")
        got = cases(rows)
        t.check(r.returncode == 0 and got and
                msgs[offer]["case"] not in got,
                "then a waiting surrender question, not the offer again")
        r, rows = ops.run("dev-admin", "queues")
        t.check(r.returncode == 0, "queues lists counts by urgency")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
