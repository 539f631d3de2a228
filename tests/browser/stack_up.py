# SPDX-License-Identifier: Apache-2.0
"""Starts the real Intake stack for the browser tests and holds it up.

Reuses tests/integration/stack.py (development keys made by the real key
tool, one gateway, workers, real nng sockets and LMDB files), with one
change: the gateway's web root is a per-stack copy of web/ made by
scripts/web-root.sh, whose pinned.js pins this stack's organisation key.

The gateway serves the chat WebSocket (chat_listen, docs/chat.md) on its
own port and the web root's pinned.js names it; --chat closed gives the
page the URL of a port nothing listens on (and the gateway no chat), so
the page must fall back to polling; --chat idle closes every chat
connection after 2.5 s without a frame (chat_idle_ms; the page pings
every 20 s), so the page must fall back and reconnect; --chat none gives
it no chat URL.

--operator also starts the operator service (intake-opd, the real staff
reply path: intake-op -> intake-opd -> vault outbox -> link -> gateway)
on an ipc:// socket in the stack's directory, with the development
operator keys dev-init made (keys/operators/dev-*.key), and waits until
it answers; the JSON line then names op_url, op_keys and op_templates.

Prints one JSON line {url, chat_url, dir, vault, keys, org_pub, web_root,
org_hex, ...} on stdout once the gateway answers, then runs until stdin
closes or it gets SIGTERM, and stops everything.  Runs with Debian's
/usr/bin/python3.

  stack_up.py [--workers N] [--chat live|closed|idle|none] [--operator]
"""
import argparse
import json
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

import stack  # noqa: E402


def start_operator(s):
    """intake-opd as tests/integration/test_operator.py runs it."""
    op_url = "ipc://" + os.path.join(s.dir, "op.ipc")
    conf = os.path.join(s.dir, "opd.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "listen = " + op_url,
            "link_url = " + s.link,
            "keys_dir = " + s.keys,
            "vault_dir = " + s.vault,
            "vault_key = " + os.path.join(s.keys, "vault.key"), ""]))
    s._start("opd", [stack.exe("intake-opd"), "--config", conf])
    op_keys = os.path.join(s.keys, "operators")
    templates = os.path.join(SRC, "operator", "templates.txt")
    probe = [stack.exe("intake-op"), "--key",
             os.path.join(op_keys, "dev-admin.key"), "--url", op_url,
             "--templates", templates, "queues"]
    stack.wait_for(lambda: subprocess.run(
        probe, capture_output=True, timeout=30).returncode == 0,
        30, "intake-opd answers")
    return {"op_url": op_url, "op_keys": op_keys, "op_templates": templates}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chat", choices=["live", "closed", "idle", "none"],
                    default="live")
    ap.add_argument("--operator", action="store_true")
    args = ap.parse_args()
    chat_url = ""
    gw_extra = []
    if args.chat != "none":
        chat_url = "ws://127.0.0.1:%d/v1/chat" % stack.free_port()
    if args.chat in ("live", "idle"):
        gw_extra.append("chat_listen = " + chat_url)
    if args.chat == "idle":
        gw_extra.append("chat_idle_ms = 2500")
    s = stack.Stack(workers=args.workers, name="browser", gw_extra=gw_extra)
    try:
        web_root = os.path.join(s.dir, "web")
        hexkey = subprocess.run(
            [os.path.join(SRC, "scripts", "web-root.sh"), web_root,
             os.path.join(s.keys, "bundle.pb"), s.org_pub,
             stack.exe("intake-keys")] + ([chat_url] if chat_url else []),
            check=True, capture_output=True, text=True).stdout.strip()
        # The one difference from the integration stack: our web root.
        with open(s.gateway_conf) as f:
            lines = f.read().splitlines()
        found = False
        for i, line in enumerate(lines):
            if line.replace(" ", "").startswith(("web_root=", "web.root=")):
                key = line.split("=", 1)[0].strip()
                lines[i] = key + " = " + web_root
                found = True
        if not found:
            raise RuntimeError("no web_root line in " + s.gateway_conf)
        with open(s.gateway_conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        s.start()
        info = {
            "url": s.url, "chat_url": chat_url, "dir": s.dir, "vault": s.vault, "keys": s.keys,
            "org_pub": s.org_pub, "web_root": web_root, "org_hex": hexkey,
            "logs": s.logs, "link": s.link,
        }
        if args.operator:
            info.update(start_operator(s))
        print(json.dumps(info), flush=True)

        def stop(signum, frame):
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, stop)
        try:
            sys.stdin.read()  # until the test runner closes our stdin
        except KeyboardInterrupt:
            pass
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
