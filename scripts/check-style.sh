#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mechanical style checks (docs: /work/shared/design/style.md, point 13):
#
#  1. clang-format --dry-run --Werror on every C file in git (the repo's
#     .clang-format; Debian 12's clang-format 14 is the reference).
#  2. Banned calls, like curl's checksrc: sprintf vsprintf strcpy strcat
#     strncpy strtok sscanf atoi atol gets anywhere, and memcmp in files
#     that handle secrets (use sodium_memcmp: constant time).  Comments and
#     string literals are ignored.  A line may waive one call with a reason:
#         memcmp(a, b, n) /* check-style: allow(memcmp) public ids */
#
# Prints file:line for every problem; exits 1 if there is any, else 0.
# Usage: scripts/check-style.sh [--no-format] [FILE...]
# (default: every tracked *.c and *.h; meson test suite 'style' runs it.)
set -uo pipefail
# Paths given on the command line are relative to where we were started.
args=()
for a in "$@"; do
	case "$a" in
	--*) args+=("$a") ;;
	/*) args+=("$a") ;;
	*) args+=("$PWD/$a") ;;
	esac
done
set -- "${args[@]}"
cd "$(dirname "$0")/.." || exit 2

do_format=1
if [ "${1:-}" = "--no-format" ]; then
	do_format=0
	shift
fi

# Never checked: generated code and code we vendor (none committed yet).
exclude_re='(\.pb-c\.[ch]$|^build[^/]*/|/node_modules/|^third_party/|^subprojects/)'

if [ $# -gt 0 ]; then
	files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files -- '*.c' '*.h' | grep -Ev "$exclude_re")
else
	mapfile -t files < <(find . -name '*.[ch]' -not -path './build*' |
		sed 's|^\./||' | grep -Ev "$exclude_re" | sort)
fi
# Only files that exist (a deletion not yet committed).
present=()
for f in "${files[@]}"; do
	[ -f "$f" ] && present+=("$f")
done
files=("${present[@]}")

fail=0

# ------------------------------------------------------------- format
if [ $do_format = 1 ]; then
	if ! command -v clang-format >/dev/null; then
		echo "check-style: clang-format not found (apt-get install clang-format)" >&2
		exit 2
	fi
	unformatted=()
	for f in "${files[@]}"; do
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			unformatted+=("$f")
		fi
	done
	for f in "${unformatted[@]}"; do
		# The first place that differs, as file:line: message.
		line=$(clang-format --dry-run "$f" 2>&1 |
			grep -m1 -oE ':[0-9]+:[0-9]+: warning' | cut -d: -f2)
		echo "$f:${line:-1}: not clang-formatted; fix: clang-format -i $f"
	done
	if [ ${#unformatted[@]} -gt 0 ]; then
		fail=1
	fi
fi

# ------------------------------------------------------- banned calls
# Files that hold or compare secrets: key material, passphrases, MACs.
secret_re='((^|/)keys/|(^|/)(crypto|vcrypto|passphrase|keyring|keyfile|keystore|secret|askpass)[^/]*\.[ch]$)'

py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! printf '%s\n' "${files[@]}" |
	SECRET_RE="$secret_re" "$py" -c '
import os, re, sys

BANNED = {
    "sprintf": "snprintf or itk_buf_printf",
    "vsprintf": "vsnprintf",
    "strcpy": "a length-checked copy (memcpy with a checked length)",
    "strcat": "itk_buf_put_str",
    "strncpy": "a length-checked memcpy (strncpy may not terminate)",
    "strtok": "an itk_reader loop (strtok keeps hidden state)",
    "sscanf": "itk_reader or itk_parse_u64",
    "atoi": "itk_parse_u64 (atoi cannot report errors)",
    "atol": "itk_parse_u64 (atol cannot report errors)",
    "gets": "fgets",
}
SECRET_RE = re.compile(os.environ["SECRET_RE"])
CALL = re.compile(r"(?<![A-Za-z0-9_.>])(%s)\s*\(" %
                  "|".join(sorted(list(BANNED) + ["memcmp"], key=len,
                                  reverse=True)))
WAIVE = re.compile(r"check-style:\s*allow\((\w+)\)")

def strip(text):
    """Blanks out comments and string/char literals, keeping newlines."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"\x27":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)

bad = 0
for path in sys.stdin.read().split("\n"):
    if not path:
        continue
    try:
        raw = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print("%s: cannot read: %s" % (path, e))
        bad += 1
        continue
    secret = SECRET_RE.search(path) is not None
    rawlines = raw.split("\n")
    for no, line in enumerate(strip(raw).split("\n"), 1):
        for m in CALL.finditer(line):
            name = m.group(1)
            if name == "memcmp" and not secret:
                continue
            waived = WAIVE.findall(rawlines[no - 1])
            if name in waived:
                continue
            if name == "memcmp":
                why = ("memcmp in a file that handles secrets: use "
                       "sodium_memcmp (constant time), or waive with "
                       "/* check-style: allow(memcmp) <why it is public> */")
            else:
                why = "%s is banned: use %s" % (name, BANNED[name])
            print("%s:%d: %s" % (path, no, why))
            bad += 1
sys.exit(1 if bad else 0)
'; then
	fail=1
fi

if [ $fail = 0 ]; then
	echo "check-style: ${#files[@]} files OK (format, banned calls)"
else
	echo "check-style: FAILED (see above)"
fi
exit $fail
