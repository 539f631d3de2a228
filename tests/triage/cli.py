#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""intake-triage as staff use it: good and bad lines, --rules, --explain.

usage: cli.py INTAKE_TRIAGE RULES_FILE
"""
import json
import os
import subprocess
import sys
import tempfile


def run(binary, args, data):
    p = subprocess.run([binary] + args, input=data, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check(cond, what):
    if not cond:
        print("FAIL: " + what)
        sys.exit(1)
    print("ok: " + what)


def main(binary, rules):
    lines = [
        # 1: good, with extra members (nested kept) and stale labels.
        '{"id":"x1","text":"\\u0445\\u043e\\u0447\\u0443 сдаться под '
        'Бахмутом","meta":{"a":[1,2]},"queue":"other","n":1.5}',
        # 2: not JSON
        '{"text": "unterminated',
        # 3: blank (skipped, not an error)
        '   ',
        # 4: no text
        '{"id":"x4"}',
        # 5: text is not a string
        '{"text": 5}',
        # 6: good, English, form hint ignored
        '{"text":"my son was killed, where is his body?",'
        '"form_category":"surrender"}',
        # 7: trailing garbage
        '{"text":"a"} x',
        # 8: invalid UTF-8 inside the string
        b'{"text":"\xd0"}'.decode('latin-1'),
    ]
    # Line 8 carries a raw invalid byte: encode it byte for byte.
    data = b"\n".join(l.encode('latin-1') if i == 7 else l.encode()
                      for i, l in enumerate(lines)) + b"\n"
    rc, out, err = run(binary, [], data)
    check(rc == 1, "bad lines give exit status 1 (got %d)" % rc)
    outs = [json.loads(l) for l in out.splitlines()]
    check(len(outs) == 2, "the two good lines are still written")
    a, b = outs
    check(list(a.keys()) == ["id", "text", "meta", "n", "queue", "urgency",
                             "language"],
          "members kept in order, stale labels replaced: %s" % list(a))
    check(a["meta"] == {"a": [1, 2]} and a["n"] == 1.5,
          "nested and numeric values kept verbatim")
    check((a["queue"], a["urgency"], a["language"]) ==
          ("surrender", "critical", "ru"), "line 1 classified: %s" % a)
    check((b["queue"], b["language"]) == ("casualty", "en"),
          "line 6 classified, form hint ignored: %s" % b)
    for n in (2, 4, 5, 7, 8):
        check(("line %d:" % n) in err, "error names line %d" % n)
    check("line 3:" not in err, "a blank line is not an error")

    # --explain adds the signals.
    rc, out, err = run(binary, ["--explain"], b'{"text":"hochu v plen"}\n')
    o = json.loads(out)
    check(rc == 0 and "surrender" in o["signals"].split(),
          "--explain lists the signals: %s" % o.get("signals"))

    # --rules: the file given is used; a bad one names its line.
    rc, out, err = run(binary, ["--rules", rules], b'{"text":"test"}\n')
    check(rc == 0 and json.loads(out)["language"] == "en",
          "--rules with the shipped file")
    with tempfile.NamedTemporaryFile("w", suffix=".rules",
                                     delete=False) as f:
        f.write("version 1\n[queue]\nother =\nbogus line\n")
        bad = f.name
    try:
        rc, out, err = run(binary, ["--rules", bad], b'{"text":"x"}\n')
    finally:
        os.unlink(bad)
    check(rc == 2 and "line 4:" in err and out == "",
          "a bad rules file: exit 2, error names line 4 (%r)" % err)
    rc, out, err = run(binary, ["--bogus"], b"")
    check(rc == 2 and "usage" in err, "unknown option: usage, exit 2")

    # An overlong line is refused, the next one still processed.
    big = b'{"text":"' + b"a" * (1024 * 1024 + 10) + b'"}\n'
    rc, out, err = run(binary, [], big + b'{"text":"ok"}\n')
    check(rc == 1 and "line 1: longer than" in err and
          len(out.splitlines()) == 1, "overlong line refused, next kept")
    print("PASS")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
