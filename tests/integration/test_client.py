# SPDX-License-Identifier: Apache-2.0
"""The reference client as a submitter uses it: intake-submit fetches and
verifies the key bundle, seals, posts and prints the receipt and a new
passphrase; a follow-up with the passphrase joins the same case; replies
sealed by the worker tier are opened with the passphrase; a wrong pinned
key, a mistyped passphrase and a tampered bundle are refused."""
import os
import subprocess
import sys

from stack import Results, Stack, exe, file_contains, parse_kv, wait_for


def submit(st, *args, pin=None, env=None):
    argv = [exe("intake-submit")] + list(args) + [
        "--url", st.url, "--org-pub", pin or st.org_pub, "--quiet"]
    return subprocess.run(argv, capture_output=True, text=True, env=env)


def main():
    t = Results()
    st = Stack(workers=1, name="client").start()
    try:
        r = submit(st, "send", "--category", "relative", "--lang", "en",
                   "--text", "Is my son Ivanov Petr, born 1999, a prisoner?",
                   "--field", "unit=00000")
        kv = parse_kv(r.stdout)
        t.check(r.returncode == 0 and len(kv.get("submission_id", "")) == 64,
                "send prints a receipt (%s)" % r.stderr.strip())
        words = kv.get("passphrase", "").split()
        t.check(len(words) >= 7, "a new passphrase of %d words" % len(words))
        passfile = os.path.join(st.dir, "pass.txt")
        with open(passfile, "w") as f:
            f.write(kv.get("passphrase", "") + "\n")
        os.chmod(passfile, 0o600)

        r2 = submit(st, "send", "--passphrase-file", passfile, "--category",
                    "none", "--text", "Any news about him?")
        kv2 = parse_kv(r2.stdout)
        t.check(r2.returncode == 0 and "passphrase" not in kv2,
                "a follow-up with the passphrase prints no new one")
        msgs = wait_for(lambda: (lambda m: len(m) >= 2 and m)(
            st.vault_messages()[0]), 60, "both messages in the vault")
        a, b = kv["submission_id"], kv2.get("submission_id")
        t.check(a in msgs and b in msgs and
                msgs[a]["case"] == msgs[b]["case"],
                "the follow-up joined the first message's case")
        t.check(msgs[a]["queue"] == "captivity",
                "the inquiry is in the captivity queue (%s)"
                % msgs[a].get("queue"))

        r = submit(st, "replies", "--passphrase-file", passfile)
        t.check(r.returncode == 0 and parse_kv(r.stdout).get("replies")
                == "0", "no replies yet")
        text = "We received your message and are checking the lists."
        p = subprocess.run([exe("post_reply"), st.link, passfile, text],
                           capture_output=True, text=True)
        t.check(p.returncode == 0, "the worker tier posted a sealed reply")
        r = submit(st, "replies", "--passphrase-file", passfile)
        t.check(r.returncode == 0 and ("text=" + text) in r.stdout
                and parse_kv(r.stdout).get("replies") == "1",
                "the reply opens with the passphrase")
        t.check(not file_contains(os.path.join(st.spool, "data.mdb"),
                                  [text.encode()]),
                "the reply is ciphertext in the gateway's spool")

        # A mistyped word is caught by the checksum, on the device.
        bad = words[:]
        bad[1] = bad[2] if bad[1] != bad[2] else bad[3]
        with open(passfile, "w") as f:
            f.write(" ".join(bad) + "\n")
        r = submit(st, "replies", "--passphrase-file", passfile)
        t.check(r.returncode != 0 and "passphrase" in r.stderr,
                "a mistyped passphrase is refused (%s)" % r.stderr.strip())

        # A different pinned organisation key: the bundle must not verify.
        other = os.path.join(st.dir, "other.hex")
        with open(other, "w") as f:
            f.write("11" * 32 + "\n")
        r = submit(st, "send", "--text", "x", pin=other)
        t.check(r.returncode != 0 and "verif" in r.stderr,
                "a bundle not signed by the pinned key is refused (%s)"
                % r.stderr.strip())
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
