#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The key ceremony end to end with the real intake-keys binary: init,
# new-*, bundle, verify, rotate, list, retire, dev-init, and the refusals a
# person will meet (wrong passphrase, open file modes, overwrite, retire
# without --force, a forged or damaged bundle).
# Usage: keys_ceremony.sh PATH/TO/intake-keys
set -uo pipefail

K=${1:?usage: keys_ceremony.sh PATH/TO/intake-keys}
T=$(mktemp -d /tmp/itk-keys-ceremony-XXXXXX)
trap 'rm -rf "$T"' EXIT
S=$T/store
pass=0
failed=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; }

# run WANT_RC DESCRIPTION CMD...: runs CMD, keeps stdout/stderr in $T/out
# and $T/err, checks the exit code.
run() {
  local want=$1 what=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then
    ok "$what (exit $rc)"
  else
    bad "$what: exit $rc, wanted $want"
    sed 's/^/    out: /' "$T/out"
    sed 's/^/    err: /' "$T/err"
  fi
}

# has FILE PATTERN DESCRIPTION
has() {
  if grep -q -- "$2" "$1"; then ok "$3"; else
    bad "$3: no '$2' in"
    sed 's/^/    /' "$1"
  fi
}

mode_of() { stat -c %a "$1"; }

# Flips one bit of byte OFFSET of FILE, in place.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf %03o $((b ^ 1)))" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

export INTAKE_KEYS_PASSPHRASE="a long test passphrase for the ceremony"
unset INTAKE_KEYS_DIR

# ----------------------------------------------------------------- help
run 0 "--help" "$K" --help
has "$T/out" "dev-init DIR" "--help lists dev-init"
for c in init new-intake new-receipt new-log new-vault new-operator bundle \
  rotate retire list verify dev-init; do
  run 0 "$c --help" "$K" "$c" --help
  has "$T/out" "Usage: intake-keys $c" "$c --help shows its usage"
done
run 2 "unknown command" "$K" frobnicate
run 2 "no store given" "$K" list
has "$T/err" "INTAKE_KEYS_DIR" "says how to name the store"
run 2 "option of another command" "$K" list --dir "$S" --force

# ----------------------------------------------------------------- init
run 2 "init without --origin" "$K" init --dir "$S"
run 0 "init" "$K" init --dir "$S" --origin intake.test/log --kdf interactive
[ "$(mode_of "$S/org.key")" = 600 ] && ok "org.key is 0600" || bad "org.key mode"
[ "$(mode_of "$S")" = 700 ] && ok "store dir is 0700" || bad "store mode"
[ -f "$S/org.pub" ] && ok "org.pub written" || bad "org.pub missing"
run 3 "init twice is refused" "$K" init --dir "$S" --origin x --kdf interactive
has "$T/err" "never overwritten" "says keys are never overwritten"

# ------------------------------------------------------------- new keys
export INTAKE_KEYS_DIR=$S
run 0 "new-intake" "$K" new-intake --days 10 --kdf interactive
run 0 "new-receipt" "$K" new-receipt --kdf interactive
run 0 "new-log" "$K" new-log --kdf interactive
run 0 "new-vault" "$K" new-vault --kdf interactive
run 3 "new-vault twice is refused" "$K" new-vault --kdf interactive
run 0 "new-operator" "$K" new-operator alice --role triage \
  --queues surrender,captivity --kdf interactive
[ -f "$S/operators/alice.key" ] && ok "operator key in operators/" ||
  bad "operators/alice.key missing"
run 2 "new-operator bad role" "$K" new-operator bob --role king
run 2 "new-operator bad name" "$K" new-operator ../bob --role admin
run 2 "new-operator bad queue" "$K" new-operator bob --role admin --queues tea
run 2 "new-intake --days 0" "$K" new-intake --days 0

# Too short a passphrase for a new key.
INTAKE_KEYS_PASSPHRASE=short run 1 "short passphrase refused" \
  "$K" new-operator carol --role phone --kdf interactive
has "$T/err" "too short" "says the passphrase is too short"
# No passphrase source at all (no variable, no file, no terminal).
run 1 "no passphrase source" env -u INTAKE_KEYS_PASSPHRASE setsid -w "$K" \
  new-operator carol --role phone --kdf interactive
has "$T/err" "INTAKE_KEYS_PASSPHRASE" "says where a passphrase comes from"

# --------------------------------------------------------------- bundle
run 0 "bundle" "$K" bundle
run 0 "verify" "$K" verify "$S/bundle.pb" --org-pub "$S/org.pub"
has "$T/out" "bundle OK" "verify says OK"
has "$T/out" "serial   1" "first bundle has serial 1"
has "$T/out" "intake.test/log" "bundle carries the origin"
first_id=$(awk '/^intake/ {print $2; exit}' "$T/out")
[ -n "$first_id" ] && [ -f "$S/intake-$first_id.key" ] &&
  ok "bundle lists the store's intake key $first_id" ||
  bad "bundle intake key id '$first_id'"
# The organisation key's hex also works as the pin.
org_hex=$(od -An -tx1 -j 44 -N 32 "$S/org.pub" | tr -d ' \n')
echo "$org_hex" >"$T/org.hex"
run 0 "verify with a hex pin" "$K" verify "$S/bundle.pb" --org-pub "$T/org.hex"

INTAKE_KEYS_PASSPHRASE="the wrong passphrase, clearly" \
  run 1 "bundle with a wrong passphrase" "$K" bundle
has "$T/err" "wrong passphrase" "says the passphrase is wrong"

# Passphrase file instead of the environment.
printf '%s\n' "$INTAKE_KEYS_PASSPHRASE" >"$T/pp"
chmod 600 "$T/pp"
run 0 "bundle with --passphrase-file" env -u INTAKE_KEYS_PASSPHRASE "$K" \
  bundle --passphrase-file "$T/pp"
chmod 644 "$T/pp"
run 1 "open passphrase file refused" env -u INTAKE_KEYS_PASSPHRASE "$K" \
  bundle --passphrase-file "$T/pp"
has "$T/err" "chmod 600" "says to chmod the passphrase file"

# --------------------------------------------------------------- rotate
run 0 "rotate" "$K" rotate --days 30 --kdf interactive
run 0 "verify after rotate" "$K" verify "$S/bundle.pb" --org-pub "$S/org.pub"
has "$T/out" "serial   3" "serial increases with every bundle"
[ "$(grep -c '^intake' "$T/out")" = 2 ] &&
  ok "rotated bundle lists current and previous" || bad "rotated bundle keys"
has "$T/out" "current" "one key is current"
has "$T/out" "previous" "the old key is still listed as previous"
new_id=$(awk '/^intake/ {print $2; exit}' "$T/out")
[ "$new_id" != "$first_id" ] && ok "the new key is listed first" ||
  bad "rotate: first listed key is still the old one"

# ----------------------------------------------------------------- list
run 0 "list" "$K" list
for k in org receipt log vault operator; do
  has "$T/out" "^$k " "list shows the $k key"
done
has "$T/out" "alice  role=triage  queues=surrender,captivity" \
  "list shows the operator's role and queues"
has "$T/out" "[0-9a-f]\{4\} [0-9a-f]\{4\} [0-9a-f]\{4\}" \
  "list shows fingerprints in groups of four"
[ "$(grep -c '^intake' "$T/out")" = 2 ] && ok "list shows 2 intake keys" ||
  bad "list intake count"

chmod 644 "$S/log.key"
run 1 "list refuses a group/world-readable key file" "$K" list
has "$T/err" "0600" "names the fix"
chmod 600 "$S/log.key"

# --------------------------------------------------------------- retire
old=$(( $(date +%s) - 100 * 86400 ))
run 0 "new-intake in the past" "$K" new-intake --not-before "$old" --days 1 \
  --kdf interactive
expired=$(awk '/^made intake key/ {print $4}' "$T/out")
[ -f "$S/intake-$expired.key" ] && ok "expired key $expired exists" ||
  bad "expired key file"
run 0 "bundle leaves the expired key out" "$K" bundle
run 0 "verify" "$K" verify "$S/bundle.pb" --org-pub "$S/org.pub"
if grep -q "$expired" "$T/out"; then bad "expired key in bundle"; else
  ok "expired key not in bundle"; fi
run 0 "nothing due with a long grace" "$K" retire --grace-days 200
has "$T/out" "nothing to retire" "says nothing is due"
run 3 "retire without --force" "$K" retire --grace-days 30
has "$T/out" "$expired" "names the key due"
[ -f "$S/intake-$expired.key" ] && ok "nothing destroyed without --force" ||
  bad "destroyed without --force"
run 0 "retire --force" "$K" retire --grace-days 30 --force
[ ! -e "$S/intake-$expired.key" ] && [ ! -e "$S/intake-$expired.pub" ] &&
  ok "expired key destroyed" || bad "expired key still there"
[ -f "$S/intake-$first_id.key" ] && [ -f "$S/intake-$new_id.key" ] &&
  ok "keys within their window kept" || bad "retire removed a live key"

# ------------------------------------------------------- forged bundles
cp "$S/bundle.pb" "$T/flipped.pb"
flip "$T/flipped.pb" 40
run 1 "a flipped bit in the bundle" "$K" verify "$T/flipped.pb" \
  --org-pub "$S/org.pub"
has "$T/err" "NOT signed" "says the bundle is not signed by the pinned key"
head -c 20 "$S/bundle.pb" >"$T/short.pb"
run 1 "a truncated bundle" "$K" verify "$T/short.pb" --org-pub "$S/org.pub"
run 2 "verify without --org-pub" "$K" verify "$S/bundle.pb"
run 1 "verify with a non-org pub" "$K" verify "$S/bundle.pb" \
  --org-pub "$S/log.pub"

# A damaged key file.
cp "$S/receipt.key" "$T/receipt.key.bak"
flip "$S/receipt.key" 30
run 1 "list with a damaged receipt.key header" "$K" list
has "$T/err" "receipt.key" "names the damaged file"
cp "$T/receipt.key.bak" "$S/receipt.key"
run 0 "list after restoring it" "$K" list

# ------------------------------------------------------------- terminal
# A person typing at a terminal: prompted, no echo, asked twice for a new
# key, and a mismatch makes nothing.  Needs Debian's python3 for a pty.
if [ -x /usr/bin/python3 ]; then
  cat >"$T/askpass_pty.py" <<'PY'
import os, pty, sys, time
exe, store, first, second = sys.argv[1:5]
env = dict(os.environ)
env.pop("INTAKE_KEYS_PASSPHRASE", None)
pid, fd = pty.fork()
if pid == 0:
    os.execve(exe, [exe, "init", "--dir", store, "--origin", "t/log",
                    "--kdf", "interactive"], env)
out, answers, deadline = b"", [first, second], time.time() + 60
while time.time() < deadline:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if answers and out.endswith(b": "):
        os.write(fd, answers.pop(0).encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(status))
PY
  P=$T/ptystore
  run 1 "terminal: two different entries" /usr/bin/python3 "$T/askpass_pty.py" "$K" \
    "$P" "typed on a terminal 1" "typed on a terminal 2"
  has "$T/out" "differ" "says the entries differ"
  [ ! -e "$P/org.key" ] && ok "nothing made on a mismatch" ||
    bad "a key was made on a mismatch"
  run 0 "terminal: passphrase typed twice" /usr/bin/python3 "$T/askpass_pty.py" \
    "$K" "$P" "typed on a terminal 1" "typed on a terminal 1"
  has "$T/out" "Same passphrase again" "asks twice for a new key"
  if grep -q "typed on a terminal" "$T/out"; then
    bad "the passphrase was echoed"
  else
    ok "no echo of the passphrase"
  fi
  for c in new-intake new-receipt new-log; do
    INTAKE_KEYS_PASSPHRASE="typed on a terminal 1" run 0 "$c after init" \
      "$K" "$c" --dir "$P" --kdf interactive
  done
  INTAKE_KEYS_PASSPHRASE="typed on a terminal 1" run 0 \
    "the typed passphrase opens org.key" "$K" bundle --dir "$P"
fi

# -------------------------------------------------------------- dev-init
unset INTAKE_KEYS_PASSPHRASE INTAKE_KEYS_DIR
D=$T/dev
run 0 "dev-init" "$K" dev-init "$D"
has "$T/err" "NOT SECURE" "dev-init warns loudly"
for f in org.key org.pub receipt.key log.key vault.key bundle.pb state \
  operators/dev-admin.key operators/dev-triage.key; do
  [ -f "$D/$f" ] && ok "dev-init made $f" || bad "dev-init: no $f"
done
ls "$D"/intake-*.key >/dev/null 2>&1 && ok "dev-init made an intake key" ||
  bad "dev-init: no intake key"
run 0 "dev bundle verifies" "$K" verify "$D/bundle.pb" --org-pub "$D/org.pub"
has "$T/out" "current" "dev bundle has a current intake key"
run 1 "dev bundle against the real org key" "$K" verify "$D/bundle.pb" \
  --org-pub "$S/org.pub"
run 3 "dev-init twice is refused" "$K" dev-init "$D"
run 0 "list of the dev store" "$K" list --dir "$D"
has "$T/out" "DEV-NO-PASSPHRASE" "list marks dev keys"
run 0 "rotate a dev store needs no passphrase" setsid -w "$K" rotate --dir "$D"
has "$T/err" "insecure_dev_key" "every use of a dev key is logged"

echo "keys_ceremony: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
