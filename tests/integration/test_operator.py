# SPDX-License-Identifier: Apache-2.0
"""Staff at work with real processes: the reference client submits, the
operator service (intake-opd) and intake-op claim, read and answer; the
submitter reads the answer with its passphrase.  Urgency order, lease
expiry, concurrent claims, refusals by role and queue, phone intake."""
import json
import os
import subprocess
import sys
import threading

from stack import Results, Stack, exe, file_contains, parse_kv, wait_for

LEASE = 8


def submit(st, *args):
    argv = [exe("intake-submit")] + list(args) + [
        "--url", st.url, "--org-pub", st.org_pub, "--quiet"]
    return subprocess.run(argv, capture_output=True, text=True)


class Ops:
    def __init__(self, st):
        self.st = st
        self.ipc = "ipc://" + os.path.join(st.dir, "op.ipc")
        subprocess.run([exe("intake-keys"), "new-operator", "tri-capt",
                        "--role", "triage", "--queues", "captivity",
                        "--dev", "--dir", st.keys],
                       check=True, capture_output=True)
        # A second supervisor (two-person rule), and an export recipient
        # outside the service's key store.
        subprocess.run([exe("intake-keys"), "new-operator", "sup2",
                        "--role", "supervisor", "--dev", "--dir", st.keys],
                       check=True, capture_output=True)
        self.recipient_dir = os.path.join(st.dir, "recipient")
        subprocess.run([exe("intake-keys"), "new-operator", "ngo-handover",
                        "--role", "admin", "--dev", "--dir",
                        self.recipient_dir],
                       check=True, capture_output=True)
        conf = os.path.join(st.dir, "opd.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "listen = " + self.ipc,
                "link_url = " + st.link,
                "keys_dir = " + st.keys,
                "vault_dir = " + st.vault,
                "vault_key = " + os.path.join(st.keys, "vault.key"),
                "lease_seconds = %d" % LEASE, ""]))
        st._start("opd", [exe("intake-opd"), "--config", conf])
        self.templates = os.path.join(os.path.dirname(__file__), "..",
                                      "..", "operator", "templates.txt")

    def key(self, who, ext=".key"):
        return os.path.join(self.st.keys, "operators", who + ext)

    def run(self, who, *args, json_out=True, key=None):
        argv = [exe("intake-op"), "--key", key or self.key(who),
                "--url", self.ipc, "--templates", self.templates]
        if json_out:
            argv.append("--json")
        r = subprocess.run(argv + list(args), capture_output=True,
                           text=True, timeout=60)
        rows = []
        if json_out and r.returncode == 0:
            rows = [json.loads(x) for x in r.stdout.splitlines() if x]
        return r, rows


def cases(rows):
    return [x["case"] for x in rows if x.get("type") == "case"]


def main():
    t = Results()
    st = Stack(workers=1, name="operator").start()
    try:
        ops = Ops(st)
        wait_for(lambda: ops.run("dev-admin", "queues")[0].returncode == 0,
                 30, "intake-opd answers")
        ids = []
        for i in range(6):
            r = submit(st, "send", "--category", "relative", "--lang", "en",
                       "--text", "Is my brother Sidorov %d a prisoner?" % i)
            ids.append(parse_kv(r.stdout)["submission_id"])
        r = submit(st, "send", "--category", "surrender", "--lang", "ru",
                   "--text", "Хочу сдаться в плен завтра в 6 утра у моста, "
                   "нас трое", "--field", "where=мост у Кременной")
        kv = parse_kv(r.stdout)
        surrender = kv["submission_id"]
        passfile = os.path.join(st.dir, "pass.txt")
        with open(passfile, "w") as f:
            f.write(kv["passphrase"] + "\n")
        os.chmod(passfile, 0o600)
        wait_for(lambda: len(st.vault_messages()[0]) >= 7, 60,
                 "7 messages in the vault")

        r, rows = ops.run("dev-triage", "next", "surrender")
        t.check(r.returncode == 0 and cases(rows) == [surrender],
                "next surrender claims the surrender offer (%s)"
                % r.stderr.strip())
        r, rows = ops.run("dev-triage", "show", surrender)
        msgs = [x for x in rows if x.get("type") == "message"]
        t.check(r.returncode == 0 and msgs and "сдаться" in msgs[0]["text"]
                and msgs[0]["fields"].get("where") == "мост у Кременной",
                "show decrypts the thread")
        r, _ = ops.run("dev-triage", "reply", surrender, "--template",
                       "safe-surrender")
        t.check(r.returncode == 0, "reply with the safe-surrender template "
                "(%s)" % r.stderr.strip())
        got = wait_for(lambda: (lambda x: "Оставайтесь" in x.stdout and x)(
            submit(st, "replies", "--passphrase-file", passfile)), 30,
            "the reply in the mailbox")
        t.check("Оставайтесь в безопасном месте" in got.stdout,
                "the submitter reads the reply, in Russian")
        r, rows = ops.run("dev-triage", "history", surrender)
        acts = [x["action"] for x in rows]
        def in_order(seq, want):
            it = iter(seq)
            return all(w in it for w in want)
        t.check(acts and acts[0] == "next" and
                in_order(acts, ["next", "show", "reply", "reply_sent"]),
                "history records next, show, reply, reply_sent in order "
                "(%s)" % acts)

        # Lease: another operator gets nothing from the queue until the
        # lease expires; then the case returns.
        r, _ = ops.run("dev-supervisor", "next", "surrender")
        t.check(r.returncode == 3 and "no free case" in r.stderr,
                "a claimed case is not handed out twice")
        r2 = wait_for(lambda: (lambda x: x[0].returncode == 0 and x)(
            ops.run("dev-supervisor", "next", "surrender")), LEASE + 15,
            "the lease to expire")
        t.check(cases(r2[1]) == [surrender],
                "an expired lease returns the case to its queue")

        # Refusals: queue, role, case in another queue; nothing changes.
        r, _ = ops.run("tri-capt", "next", "surrender")
        t.check(r.returncode == 3 and "may not work" in r.stderr,
                "triage without the queue is refused (%s)" % r.stderr.strip())
        r, _ = ops.run("tri-capt", "show", surrender)
        t.check(r.returncode == 3, "nor may it show a surrender case")
        r, _ = ops.run("dev-phone", "next", "captivity")
        t.check(r.returncode == 3 and "role" in r.stderr,
                "the phone role may not claim cases")
        r, rows = ops.run("dev-supervisor", "history", surrender)
        t.check(r.returncode == 0 and all(x["operator"] != "tri-capt"
                                          for x in rows),
                "refused requests changed nothing")

        # Concurrency: 20 operators pull the captivity queue at once.
        out, lock = [], threading.Lock()

        def pull(who):
            r, rows = ops.run(who, "next", "captivity")
            with lock:
                out.append((r.returncode, cases(rows)))
        th = [threading.Thread(target=pull, args=(w,)) for w in
              ["dev-triage", "dev-supervisor", "tri-capt"] * 6 +
              ["dev-triage", "dev-supervisor"]]
        for x in th:
            x.start()
        for x in th:
            x.join()
        got = [c for rc, cs in out if rc == 0 for c in cs]
        t.check(len(got) == 6 and len(set(got)) == 6 and
                set(got) == set(ids),
                "20 concurrent pulls: each of the 6 cases claimed once")
        t.check(sum(1 for rc, _ in out if rc == 3) == 14,
                "the other 14 pulls find no free case")

        # Phone intake lives like a web case.
        r, rows = ops.run("dev-phone", "phone-intake", "--lang", "ru",
                          "--category", "relative", "--text",
                          "Звонила мать: сын попал в плен под Бахмутом, "
                          "просит узнать, жив ли он")
        phone = cases(rows)
        t.check(r.returncode == 0 and len(phone) == 1,
                "phone-intake makes a case (%s)" % r.stderr.strip())
        r, rows = ops.run("dev-supervisor", "search", "--queue",
                          "captivity", "--state", "open")
        t.check(phone and phone[0] in cases(rows),
                "the phone case is in the captivity queue")
        # Two-person rule: an export waits for a second supervisor.
        rpub = os.path.join(ops.recipient_dir, "operators",
                            "ngo-handover.pub")
        rkey = os.path.join(ops.recipient_dir, "operators",
                            "ngo-handover.key")
        r, rows = ops.run("dev-supervisor", "export", surrender, "--to",
                          rpub)
        appr = [x for x in rows if x.get("type") == "approval"]
        t.check(r.returncode == 0 and len(appr) == 1 and
                appr[0]["cases"] == [surrender] and
                appr[0]["detail"] == "export to ngo-handover",
                "export is stored for approval (%s)" % r.stderr.strip())
        aid = appr[0]["approval"] if appr else "0" * 32
        r, rows = ops.run("sup2", "pending")
        t.check(r.returncode == 0 and [x["approval"] for x in rows] == [aid],
                "pending lists it for the second supervisor")
        r, _ = ops.run("dev-supervisor", "approve", aid)
        t.check(r.returncode == 3 and "second supervisor" in r.stderr,
                "the requester cannot approve it (%s)" % r.stderr.strip())
        r, _ = ops.run("dev-triage", "approve", aid)
        t.check(r.returncode == 3 and "role" in r.stderr,
                "a triage operator cannot approve")
        out = os.path.join(st.dir, "handover.itx")
        r, rows = ops.run("sup2", "approve", aid, "--out", out)
        t.check(r.returncode == 0 and os.path.exists(out) and
                os.stat(out).st_mode & 0o777 == 0o600,
                "a second supervisor approves: the export file is written "
                "0600 (%s)" % r.stderr.strip())
        r, _ = ops.run("sup2", "approve", aid)
        t.check(r.returncode == 3, "an approval runs once")
        blob = open(out, "rb").read() if os.path.exists(out) else b""
        t.check(blob and "сдаться".encode() not in blob,
                "the export file holds no plaintext")
        r = subprocess.run([exe("intake-op"), "--json", "--key", rkey,
                            "open-export", out, "--signer-pub",
                            ops.key("sup2", ".pub")],
                           capture_output=True, text=True, timeout=60)
        rows = [json.loads(x) for x in r.stdout.splitlines() if x] \
            if r.returncode == 0 else []
        msgs = [x for x in rows if x.get("type") == "message"]
        head = [x for x in rows if x.get("type") == "export"]
        t.check(r.returncode == 0 and msgs and "сдаться" in msgs[0]["text"]
                and head and head[0]["requested_by"] == "dev-supervisor"
                and head[0]["approved_by"] == "sup2",
                "the recipient opens the export with its key (%s)"
                % r.stderr.strip())
        r = subprocess.run([exe("intake-op"), "--key", rkey, "open-export",
                            out, "--signer-pub",
                            ops.key("dev-supervisor", ".pub")],
                           capture_output=True, text=True, timeout=60)
        t.check(r.returncode == 3, "another expected signer is refused")
        r = subprocess.run([exe("intake-op"), "--key",
                            ops.key("dev-triage"), "open-export", out],
                           capture_output=True, text=True, timeout=60)
        t.check(r.returncode == 3 and "not sealed to this key" in r.stderr,
                "another key cannot open it")
        r, rows = ops.run("dev-supervisor", "history", surrender)
        t.check(any(x["action"] == "export" and
                    "approved-by=sup2" in x["detail"] for x in rows),
                "history records the export and its approver")

        # Bulk close under the same rule.
        r, rows = ops.run("sup2", "bulk-close", "duplicate", *ids)
        appr = [x for x in rows if x.get("type") == "approval"]
        aid = appr[0]["approval"] if appr else "0" * 32
        r, rows = ops.run("dev-supervisor", "search", "--queue",
                          "captivity", "--state", "open")
        t.check(set(ids) <= set(cases(rows)),
                "a bulk close waits: the cases are still open")
        r, rows = ops.run("dev-supervisor", "approve", aid)
        closed = [x["case"] for x in rows if x.get("type") == "case"
                  and not x["open"]]
        r2, rows = ops.run("dev-supervisor", "search", "--queue",
                           "captivity", "--state", "open")
        t.check(r.returncode == 0 and set(closed) == set(ids) and
                not set(ids) & set(cases(rows)),
                "approved by another supervisor, all %d close" % len(ids))

        # Output for people: aligned columns, no colour off a terminal;
        # every command explains itself.
        r, _ = ops.run("dev-supervisor", "search", "--queue", "captivity",
                       json_out=False)
        lines = r.stdout.splitlines()
        head = lines[0] if lines else ""
        qa, sa = head.find("QUEUE"), head.find("STATE")
        t.check(r.returncode == 0 and "\033" not in r.stdout and
                len(lines) >= 8 and qa > 0 and sa > qa and
                all(x[qa:].startswith("captivity ") and
                    x[sa:].split()[0] in ("open", "closed")
                    for x in lines[1:]),
                "tables are aligned and plain when not on a terminal")
        r = subprocess.run([exe("intake-op"), "--help"],
                           capture_output=True, text=True)
        names = [x.split()[0] for x in r.stdout.splitlines()
                 if x.startswith("  ")]
        helps = [subprocess.run([exe("intake-op"), n, "--help"],
                                capture_output=True, text=True)
                 for n in names]
        t.check(len(names) == 19 and
                all(h.returncode == 0 and h.stdout.startswith("usage:")
                    and n in h.stdout for n, h in zip(names, helps)),
                "every one of the %d commands has --help" % len(names))

        t.check(not file_contains(os.path.join(st.vault, "data.mdb"), [
                "Бахмутом".encode(), "сдаться".encode(),
                "Оставайтесь".encode()]),
                "no plaintext in the vault")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
