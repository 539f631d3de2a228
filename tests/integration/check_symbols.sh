#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_symbols.sh NM BINARY PRESENT ABSENT...
#
# Link-time proof that BINARY contains no code that could do what ABSENT
# names do (docs/privsep.md: the gateway cannot load an intake secret
# key): none of ABSENT is defined or referenced in its symbol table.
# PRESENT, a symbol it must define, shows nm really read the binary.
set -u
nm_prog=$1
bin=$2
present=$3
shift 3
syms=$("$nm_prog" "$bin") || { echo "nm failed on $bin"; exit 1; }
fail=0
if ! printf '%s\n' "$syms" | grep -Eq "[[:space:]][TtDdBb][[:space:]]+$present\$"; then
  echo "FAIL - $present not defined in $bin (wrong binary, or stripped?)"
  fail=1
else
  echo "ok   - $present defined in $bin"
fi
for s in "$@"; do
  if printf '%s\n' "$syms" | grep -Eq "[[:space:]]$s\$"; then
    echo "FAIL - $bin links $s"
    fail=1
  else
    echo "ok   - $bin does not link $s"
  fi
done
exit $fail
