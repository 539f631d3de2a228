# SPDX-License-Identifier: Apache-2.0
"""The chat WebSocket with real processes (docs/chat.md): the reference
client's chat mode subscribes with a passphrase; an operator's reply
(intake-op -> intake-opd -> vault outbox -> worker link -> gateway spool)
is pushed to it; a follow-up typed on its stdin is submitted over the
WebSocket and joins the case; a late subscriber gets the stored reply;
bad frames get an Error frame and change nothing; the per-connection
limits (rate, subscriptions, idle, frame size, text frames) hold and are
counted; the page's static files carry their headers."""
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request

from stack import Results, Stack, exe, free_port, parse_kv, wait_for
from test_operator import Ops
import wsclient

IDLE_MS = 3000
MAX_FRAME = 64 * 1024


class ChatStack(Stack):
    """The stack with the chat endpoint on its own port."""

    def __init__(self, **kw):
        self.chat_port = free_port()
        self.chat_url = "ws://127.0.0.1:%d/v1/chat" % self.chat_port
        super().__init__(**kw)

    def _write_configs(self):
        super()._write_configs()
        with open(self.gateway_conf) as f:
            text = f.read()
        extra = ["chat_listen = " + self.chat_url,
                 "chat_idle_ms = %d" % IDLE_MS,
                 "chat_max_frame = %d" % MAX_FRAME,
                 "chat_frames_per_second = 5"]
        with open(self.gateway_conf, "w") as f:
            f.write(text.rstrip("\n") + "\n" + "\n".join(extra) + "\n")


def submit(st, *args):
    argv = [exe("intake-submit")] + list(args) + [
        "--url", st.url, "--org-pub", st.org_pub, "--quiet"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


class ChatClient:
    """intake-submit chat, its output read line by line with arrival
    times."""

    def __init__(self, st, passfile):
        env = dict(os.environ, INTAKE_CHAT_PING_MS="1000")
        self.p = subprocess.Popen(
            [exe("intake-submit"), "chat", "--url", st.url, "--org-pub",
             st.org_pub, "--passphrase-file", passfile, "--chat-url",
             st.chat_url, "--lang", "ru"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))

    def wait_line(self, pred, timeout):
        """The first line (time, text) satisfying pred, or None."""
        for t, l in self.seen:
            if pred(l):
                return t, l
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                t, l = self.lines.get(timeout=max(0.01,
                                                  end - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append((t, l))
            if pred(l):
                return t, l
        return None

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def finish(self, timeout=30):
        self.p.stdin.close()
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        for l in self.p.stdout:
            self.seen.append((time.monotonic(), l.rstrip("\n")))
        return rc


def ws(st):
    return wsclient.WS("127.0.0.1", st.chat_port, "/v1/chat")


def frames_until(w, pred, timeout=5):
    """Server frames received until one satisfies pred (returned last)."""
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        f = wsclient.server_frame(w.recv(timeout=end - time.monotonic()))
        got.append(f)
        if pred(f):
            break
    return got


def bad_frames(t, st):
    """Each bad frame: an Error frame with the right name, nothing
    stored, the connection still usable."""
    before = st.metric("intake_gw_chat_bad_frames_total")
    spooled = st.metric("intake_gw_spool_depth")
    msgs = len(st.vault_messages()[0])
    w = ws(st)
    cases = [
        (b"\xff\xff\xff", "format", "garbage"),
        (wsclient.client_frame(1, ping=True, version=2), "version",
         "version 2"),
        (wsclient.field_varint(1, 1) + wsclient.field_varint(2, 5),
         "missing", "no kind"),
        (wsclient.client_frame(2, subscribe=b"\x01" * 31), "range",
         "a 31-byte mailbox id"),
        (wsclient.client_frame(3, unsubscribe=b"\x01" * 33), "range",
         "a 33-byte mailbox id"),
        (wsclient.client_frame(4, submit=b""), "missing",
         "an empty submission"),
    ]
    for payload, name, what in cases:
        w.send(payload)
        seq, kind, p, _ = wsclient.server_frame(w.recv(timeout=5))
        t.check(kind == "error" and wsclient.error_name(p) == name,
                "%s: Error %s (got %s %s)" % (
                    what, name, kind,
                    wsclient.error_name(p) if kind == "error" else ""))
        time.sleep(0.25)  # under the frame rate: these test the decoder
    # A submission that the submit path refuses: the same checks as HTTP.
    sub = (wsclient.field_varint(1, 1) +
           wsclient.varint(2 << 3 | 5) + (0xdead).to_bytes(4, "little") +
           wsclient.field_bytes(3, b"\x00" * 560))
    w.send(wsclient.client_frame(9, submit=sub))
    seq, kind, p, _ = wsclient.server_frame(w.recv(timeout=5))
    t.check(seq == 9 and kind == "error" and
            wsclient.error_name(p) == "key_unknown",
            "an unknown intake key id: Error key_unknown for seq 9 (the "
            "HTTP path's check)")
    time.sleep(0.25)
    w.send(wsclient.client_frame(10, ping=True))
    seq, kind, _, _ = wsclient.server_frame(w.recv(timeout=5))
    t.check(seq == 10 and kind == "pong",
            "after all that the connection still answers a ping")
    w.close()
    t.check(st.metric("intake_gw_chat_bad_frames_total") - before ==
            len(cases), "each bad frame counted once in metrics")
    t.check(st.metric("intake_gw_spool_depth") == spooled and
            len(st.vault_messages()[0]) == msgs,
            "bad frames stored nothing")

    # A text frame: a browser sends them only when told to; refused by
    # closing with 1003.
    w = ws(st)
    w.send_frame(0x1, b"hello")
    try:
        w.recv(timeout=5)
        closed = None
    except (wsclient.Closed, OSError):
        closed = w.close_code
    t.check(closed == 1003, "a text frame closes with 1003 (%s)" % closed)
    w.sock.close()
    # Larger than chat_max_frame: closed with 1009 before it is read.
    w = ws(st)
    try:
        w.send(wsclient.client_frame(1, submit=b"\x00" * (MAX_FRAME + 10)))
        w.recv(timeout=5)
        closed = None
    except (wsclient.Closed, OSError):
        closed = w.close_code
    t.check(closed == 1009, "a frame over chat_max_frame closes with 1009 "
            "(%s)" % closed)
    w.sock.close()


def limits(t, st):
    # Frame rate: 5/s sustained, 10 in a burst; 30 at once.
    before = st.metric("intake_gw_chat_rate_limited_total")
    w = ws(st)
    for i in range(30):
        w.send(wsclient.client_frame(100 + i, ping=True))
    got = []
    try:
        while len(got) < 30:
            got.append(wsclient.server_frame(w.recv(timeout=3)))
    except (wsclient.Closed, OSError):
        pass
    pongs = [f for f in got if f[1] == "pong"]
    busy = [f for f in got if f[1] == "error" and
            wsclient.error_name(f[2]) == "busy"]
    t.check(len(got) == 30 and 8 <= len(pongs) <= 12 and
            len(busy) == 30 - len(pongs),
            "30 frames at once: about a burst (10) answered, the rest "
            "'busy' (%d pongs, %d busy)" % (len(pongs), len(busy)))
    t.check(st.metric("intake_gw_chat_rate_limited_total") - before ==
            len(busy), "rate refusals counted")
    w.close()

    # Subscriptions: 4 per connection.
    w = ws(st)
    names = []
    for i in range(5):
        w.send(wsclient.client_frame(200 + i, subscribe=bytes([i]) * 32))
        f = frames_until(w, lambda f: f[1] in ("subscribed", "error"))[-1]
        names.append(f[1] if f[1] == "subscribed"
                     else wsclient.error_name(f[2]))
        time.sleep(0.25)
    t.check(names == ["subscribed"] * 4 + ["range"],
            "four subscriptions, the fifth refused (%s)" % names)
    w.close()

    # Idle: no frame for chat_idle_ms closes the connection.
    before = st.metric("intake_gw_chat_idle_closed_total")
    w = ws(st)
    t0 = time.monotonic()
    try:
        w.recv(timeout=IDLE_MS / 1000 + 5)
        closed = False
    except (wsclient.Closed, OSError):
        closed = True
    dt = time.monotonic() - t0
    t.check(closed and IDLE_MS / 1000 - 0.5 <= dt <= IDLE_MS / 1000 + 2,
            "an idle connection is closed after chat_idle_ms (%.1f s)" % dt)
    wait_for(lambda: st.metric("intake_gw_chat_idle_closed_total") >
             before, 5, "the idle close counted")
    w.sock.close()


def static_headers(t, st):
    with urllib.request.urlopen(st.url + "/index.html", timeout=10) as r:
        h = r.headers
        t.check(r.status == 200 and
                h.get("Content-Security-Policy") == "frame-ancestors 'none'"
                and h.get("X-Content-Type-Options") == "nosniff"
                and h.get("Referrer-Policy") == "no-referrer"
                and h.get("X-Frame-Options") == "DENY"
                and h.get("Content-Type", "").startswith("text/html"),
                "index.html with frame-ancestors 'none', nosniff, "
                "no-referrer, DENY")
    for path in ("/../gateway.conf", "/.git/config", "/%2e%2e/x",
                 "//etc/passwd"):
        status, _ = st.http("GET", path)
        t.check(status == 400, "%s refused (%d)" % (path, status))
    status, _ = st.http("GET", "/no-such-file.js")
    t.check(status == 404, "a missing file is 404")


def main():
    t = Results()
    st = ChatStack(workers=1, name="chat").start()
    try:
        static_headers(t, st)
        bad_frames(t, st)
        limits(t, st)

        ops = Ops(st)
        wait_for(lambda: ops.run("dev-admin", "queues")[0].returncode == 0,
                 30, "intake-opd answers")
        r = submit(st, "send", "--category", "surrender", "--lang", "ru",
                   "--text", "Хочу сдаться, нас двое, у старой фермы")
        kv = parse_kv(r.stdout)
        case = kv["submission_id"]
        passfile = os.path.join(st.dir, "pass.txt")
        with open(passfile, "w") as f:
            f.write(kv["passphrase"] + "\n")
        os.chmod(passfile, 0o600)
        wait_for(lambda: len(st.vault_messages()[0]) >= 1, 60,
                 "the submission in the vault")

        c = ChatClient(st, passfile)
        t.check(c.wait_line(lambda l: l == "subscribed=1", 10) is not None,
                "chat mode subscribes (empty mailbox)")
        r, rows = ops.run("dev-triage", "next", "surrender")
        t.check(r.returncode == 0, "the operator claims the case")
        marker = "Ждите у фермы, CHAT-1"
        r, _ = ops.run("dev-triage", "reply", case, "--text", marker)
        t_sent = time.monotonic()
        t.check(r.returncode == 0, "intake-op reply (%s)" % r.stderr.strip())
        got = c.wait_line(lambda l: l == "text=" + marker, 10)
        dt = got[0] - t_sent if got else None
        t.check(got is not None and dt < 2.0,
                "the reply arrives over the WebSocket within 2 s of "
                "intake-op returning (%s s)" %
                ("%.2f" % dt if dt is not None else "never"))

        # A follow-up typed on stdin: submitted over the WebSocket, the
        # receipt checked by the client, the message joins the case.
        n_before = len(st.vault_messages()[0])
        c.send("Спасибо, идём к ферме")
        got = c.wait_line(lambda l: l.startswith("submission_id="), 15)
        t.check(got is not None, "the follow-up's receipt (verified) comes "
                "back over the WebSocket")
        wait_for(lambda: len(st.vault_messages()[0]) > n_before, 60,
                 "the follow-up in the vault")
        r, rows = ops.run("dev-triage", "show", case)
        texts = [x.get("text", "") for x in rows
                 if x.get("type") == "message"]
        t.check(any("идём к ферме" in x for x in texts),
                "the chat follow-up joined the same case (%d messages)"
                % len(texts))
        rc = c.finish()
        t.check(rc == 0, "chat mode ends cleanly at the end of stdin (%s)"
                % rc)

        # A late subscriber: the stored reply, then subscribed.
        c2 = ChatClient(st, passfile)
        got = c2.wait_line(lambda l: l == "text=" + marker, 10)
        sub = c2.wait_line(lambda l: l == "subscribed=1", 10)
        t.check(got is not None and sub is not None and got[0] <= sub[0],
                "a new subscription gets the stored reply before "
                "'subscribed'")
        c2.finish()
        t.check(st.metric("intake_gw_chat_replies_pushed_total") >= 1 and
                st.metric("intake_gw_chat_submissions_total") >= 2,
                "pushes and submissions counted")
        t.check(st.alive("gateway"), "the gateway is still running")
    finally:
        st.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
