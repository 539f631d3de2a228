# SPDX-License-Identifier: Apache-2.0
"""Access enforced by queue keys (docs/vault.md), with real processes:
intake-opd runs WITHOUT the intake secret keys; an operator granted the
surrender queue reads a surrender case, writes a note and a reply that
reaches the submitter; an operator of another queue is refused by the
checks, and when the checks are bypassed (qkey_probe opens the vault
directly with the vault key, intake-opd's service key and that operator's
grants) nothing of the case's content opens.  Phone intake writes its copy
directly; a move re-wraps the case's keys to the new queue.  Revocation:
the ceremony rotates a queue key and re-signs the grants without the
revoked operator; new cases and, after an approved bulk move, old ones no
longer open with the key it kept."""
import os
import secrets
import shutil
import subprocess
import sys

from stack import Results, Stack, exe, file_contains, parse_kv, wait_for
from test_operator import Ops, cases, submit


def keys(st, *args):
    return subprocess.run([exe("intake-keys")] + list(args) +
                          ["--dir", st.keys], capture_output=True,
                          text=True)


def probe(st, opd_keys, case, marker, who, qfile=None, key=None):
    r = subprocess.run([exe("qkey_probe"), st.vault,
                        os.path.join(st.keys, "vault.key"),
                        os.path.join(opd_keys, "service.key"),
                        qfile or os.path.join(st.keys, "queue-keys.bin"),
                        os.path.join(st.keys, "org.pub"), case, marker,
                        key or os.path.join(st.keys, "operators",
                                            who + ".key")],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return {"error": r.stderr.strip()}
    return {k: int(v) for k, v in
            (p.split("=", 1) for p in r.stdout.split())}


class KeyOps(Ops):
    """Ops, but intake-opd gets a copy of the key store without any intake
    or queue secret key."""

    def __init__(self, st):
        for name, q in (("tri-surr", "surrender"), ("tri-capt2", "captivity")):
            subprocess.run([exe("intake-keys"), "new-operator", name,
                            "--role", "triage", "--queues", q, "--dev",
                            "--dir", st.keys], check=True,
                           capture_output=True)
        self.opd_keys = os.path.join(st.dir, "opd-keys")
        self.made = keys(st, "queue-keys")
        shutil.copytree(st.keys, self.opd_keys)
        for n in os.listdir(self.opd_keys):
            if n.endswith(".key") and (n.startswith("intake-") or
                                       n.startswith("queue-") or
                                       n == "org.key"):
                os.unlink(os.path.join(self.opd_keys, n))
        real = st.keys
        st.keys = self.opd_keys  # Ops writes opd.conf with st.keys
        try:
            super().__init__(st)
        finally:
            st.keys = real

    def key(self, who, ext=".key"):
        return os.path.join(self.st.keys, "operators", who + ext)


def main():
    t = Results()
    st = Stack(workers=1, name="qkeys").start()
    try:
        ops = KeyOps(st)
        t.check(ops.made.returncode == 0 and "grant" in ops.made.stdout,
                "intake-keys signs the queue-keys file with grants (%s)"
                % ops.made.stdout.strip())
        left = sorted(n for n in os.listdir(ops.opd_keys)
                      if n.startswith(("intake-", "queue-")) and
                      n.endswith(".key"))
        t.check(left == [], "intake-opd's key store holds no intake or "
                "queue secret key (%s)" % left)
        wait_for(lambda: ops.run("tri-surr", "queues")[0].returncode == 0,
                 30, "intake-opd answers")
        log = open(os.path.join(st.logs, "opd.log")).read()
        t.check("queue_keys.loaded" in log and "intake_keys=0" in log,
                "intake-opd started with queue keys and no intake key")

        mark = "QK" + secrets.token_hex(6)
        r = submit(st, "send", "--category", "surrender", "--lang", "ru",
                   "--text", "Хочу сдаться завтра у моста " + mark)
        kv = parse_kv(r.stdout)
        case = kv.get("submission_id", "")
        passfile = os.path.join(st.dir, "pass.txt")
        with open(passfile, "w") as f:
            f.write(kv.get("passphrase", "") + "\n")
        os.chmod(passfile, 0o600)
        wait_for(lambda: case in st.vault_messages()[0], 60,
                 "the case in the vault")

        # The granted operator reads, notes and answers.
        r, rows = ops.run("tri-surr", "next", "surrender")
        t.check(r.returncode == 0 and cases(rows) == [case],
                "the surrender operator claims the case (%s)"
                % r.stderr.strip())
        r, _ = ops.run("tri-surr", "note", case, "--text",
                       "caller sounds credible " + mark)
        t.check(r.returncode == 0, "a note under the case key (%s)"
                % r.stderr.strip())
        r, rows = ops.run("tri-surr", "show", case)
        msgs = [x for x in rows if x.get("type") == "message"]
        notes = [x for x in rows if x.get("type") == "note"]
        t.check(r.returncode == 0 and msgs and mark in msgs[0]["text"],
                "show opens the copy with the operator's queue key, "
                "without intake keys (%s)" % r.stderr.strip())
        t.check(notes and mark in notes[0]["text"],
                "show opens the note with the case key")
        r, _ = ops.run("tri-surr", "reply", case, "--text",
                       "Мы получили. " + mark)
        t.check(r.returncode == 0, "reply (%s)" % r.stderr.strip())
        got = wait_for(lambda: (lambda x: mark in x.stdout and x)(
            submit(st, "replies", "--passphrase-file", passfile)), 30,
            "the reply in the mailbox")
        t.check(mark in got.stdout, "the submitter reads the reply")

        # Another queue's operator: refused by the checks ...
        r, _ = ops.run("tri-capt2", "show", case)
        t.check(r.returncode == 3 and "may not work" in r.stderr,
                "the captivity operator is refused by the queue check")
        # ... and with the checks bypassed nothing opens.
        p = probe(st, ops.opd_keys, case, mark, "tri-capt2")
        t.check(p.get("messages") == 1 and p.get("copies") == 1,
                "the probe sees the case's message and its copy (%s)" % p)
        t.check(p.get("opened") == 0 and p.get("marker") == 0,
                "the captivity operator's keys open no copy")
        t.check(p.get("service_as_queue") == 0 and
                p.get("service_as_intake") == 0,
                "intake-opd's own key opens neither the copy nor the "
                "sealed submission")
        t.check(p.get("notes_opened") == 0 and p.get("note_marker") == 0,
                "the vault key alone opens no note or reply copy")
        t.check(not file_contains(os.path.join(st.vault, "data.mdb"),
                                  [mark.encode()]),
                "no plaintext in data.mdb")
        good = probe(st, ops.opd_keys, case, mark, "tri-surr")
        t.check(good.get("opened") == 1 and good.get("marker") == 1,
                "control: the surrender operator's keys open it (%s)"
                % good)

        # Phone intake: the copy is written directly.
        pm = "PH" + secrets.token_hex(6)
        r, rows = ops.run("dev-phone", "phone-intake", "--lang", "uk",
                          "--category", "relative", "--text",
                          "Мати питає про сина " + pm)
        phone = cases(rows)
        t.check(r.returncode == 0 and len(phone) == 1,
                "phone intake without intake secret keys (%s)"
                % r.stderr.strip())
        r, rows = ops.run("dev-supervisor", "show", phone[0] if phone
                          else "0")
        msgs = [x for x in rows if x.get("type") == "message"]
        t.check(r.returncode == 0 and msgs and pm in msgs[0]["text"],
                "a supervisor reads the phone case from its copy (%s)"
                % r.stderr.strip()[-200:])

        # A move re-wraps the case's keys to the new queue.
        r, rows = ops.run("dev-supervisor", "move", case, "captivity")
        t.check(r.returncode == 0, "move (%s)" % r.stderr.strip())
        r, rows = ops.run("tri-capt2", "show", case)
        msgs = [x for x in rows if x.get("type") == "message"]
        notes = [x for x in rows if x.get("type") == "note"]
        t.check(r.returncode == 0 and msgs and mark in msgs[0]["text"] and
                notes and all(mark in n["text"] for n in notes),
                "after the move the captivity operator reads the thread "
                "and its notes (%s)" % r.stderr.strip())
        p = probe(st, ops.opd_keys, case, mark, "tri-surr")
        t.check(p.get("opened") == 0,
                "and the surrender key no longer opens it (%s)" % p)
        r, rows = ops.run("dev-supervisor", "history", case)
        t.check(any(x["action"] == "move" and "rewrapped=" in x["detail"]
                    for x in rows), "history records the re-wrap")

        # Revocation: tri-capt2 leaves the captivity queue.  It keeps its
        # key and the old queue-keys file (so captivity-1's secret).
        old_qk = os.path.join(st.dir, "queue-keys-old.bin")
        old_key = os.path.join(st.dir, "tri-capt2-kept.key")
        shutil.copy(os.path.join(st.keys, "queue-keys.bin"), old_qk)
        shutil.copy(os.path.join(st.keys, "operators", "tri-capt2.key"),
                    old_key)
        p = probe(st, ops.opd_keys, case, mark, "", old_qk, old_key)
        t.check(p.get("opened") == 1,
                "before the rotation its captivity-1 key opens the case")
        for d in (st.keys, ops.opd_keys):
            for ext in (".key", ".pub"):
                os.unlink(os.path.join(d, "operators", "tri-capt2" + ext))
        r1 = keys(st, "new-queue-key", "captivity")
        r2 = keys(st, "queue-keys")
        t.check(r1.returncode == 0 and "captivity-2" in r1.stdout and
                r2.returncode == 0,
                "the ceremony rotates captivity to version 2 and re-signs "
                "the grants (%s)" % (r1.stderr + r2.stderr).strip()[-200:])
        shutil.copy(os.path.join(st.keys, "queue-keys.bin"), ops.opd_keys)
        st.stop("opd")
        st._start("opd", [exe("intake-opd"), "--config",
                          os.path.join(st.dir, "opd.conf")])
        wait_for(lambda: ops.run("tri-surr", "queues")[0].returncode == 0,
                 30, "intake-opd answers after the restart")
        # New cases are sealed to captivity-2 ...
        m2 = "RV" + secrets.token_hex(6)
        r = submit(st, "send", "--category", "relative", "--lang", "en",
                   "--text", "Is my brother a prisoner of war? " + m2)
        new = parse_kv(r.stdout).get("submission_id", "")
        wait_for(lambda: new in st.vault_messages()[0], 60,
                 "the new case in the vault")
        r, rows = ops.run("dev-supervisor", "show", new)
        msgs = [x for x in rows if x.get("type") == "message"]
        t.check(r.returncode == 0 and msgs and m2 in msgs[0]["text"] and
                any(x.get("queue") == "captivity" for x in rows
                    if x.get("type") == "case"),
                "a new captivity case opens with captivity-2 (%s)"
                % [x for x in rows if x.get("type") == "case"])
        p = probe(st, ops.opd_keys, new, m2, "", old_qk, old_key)
        t.check(p.get("copies") == 1 and p.get("opened") == 0,
                "the revoked operator's kept key does not open it (%s)" % p)
        # ... and the old case is re-wrapped by an approved bulk move.
        sup2 = os.path.join(ops.opd_keys, "operators", "sup2.key")
        r, rows = ops.run("sup2", "bulk-move", "captivity", case, key=sup2)
        appr = [x for x in rows if x.get("type") == "approval"]
        aid = appr[0]["approval"] if appr else "0" * 32
        r, _ = ops.run("dev-supervisor", "approve", aid)
        t.check(r.returncode == 0, "a second supervisor approves the "
                "re-wrap (%s)" % r.stderr.strip()[-200:])
        p = probe(st, ops.opd_keys, case, mark, "", old_qk, old_key)
        t.check(p.get("opened") == 0,
                "after the re-wrap the revoked key opens nothing (%s)" % p)
        p = probe(st, ops.opd_keys, case, mark, "dev-supervisor")
        t.check(p.get("opened") == 1 and p.get("marker") == 1,
                "control: a granted supervisor still opens it (%s)" % p)
        r, rows = ops.run("dev-supervisor", "history", case)
        t.check(any(x["action"] == "move" and
                    "rewrapped=2 left=0" in x["detail"] for x in rows),
                "history records the approved re-wrap (copy and case key)")

        t.check(not file_contains(os.path.join(st.vault, "data.mdb"),
                                  [mark.encode(), pm.encode(),
                                   m2.encode()]),
                "no plaintext in the vault at the end")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
