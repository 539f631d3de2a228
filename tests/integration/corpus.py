# SPDX-License-Identifier: Apache-2.0
"""The labelled triage examples as an intake-load corpus."""
import json
import os
import subprocess

from stack import SRC, exe

EXAMPLES = os.path.join(SRC, "tests", "triage", "examples.jsonl")


def write_corpus(path, marker=None):
    """Writes FORM<TAB>TEXT lines; returns the list of example dicts.

    With marker, every text gets the marker appended, so tests can search
    files and logs for it.
    """
    rows = []
    with open(EXAMPLES, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    with open(path, "w", encoding="utf-8") as out:
        for r in rows:
            text = r["text"].replace("\t", " ").replace("\n", " ")
            if not text.strip():
                text = "-"
            if marker:
                text = text + " " + marker
            r["sent_text"] = text
            out.write("%s\t%s\n" % (r.get("form_category", "none"), text))
    return rows


def triage_expected(rows):
    """What the worker's own triage code says for each sent text."""
    lines = "".join(json.dumps({"text": r["sent_text"],
                                "form_category": r.get("form_category")},
                               ensure_ascii=False) + "\n" for r in rows)
    p = subprocess.run([exe("intake-triage")], input=lines,
                       capture_output=True, text=True, check=True)
    return [json.loads(l)["queue"] for l in p.stdout.splitlines()]
