#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One bounded libFuzzer run, as the meson test suite 'fuzz' starts it:
#   run-fuzz.sh FUZZER NAME SECONDS CORPUS_DIR WORK_DIR
# Starts from the committed corpus (read only) and writes what it learns to
# WORK_DIR/corpus/NAME, crashes to WORK_DIR/crashes/NAME/.  Never writes
# into the source tree.
set -uo pipefail
if [ $# -ne 5 ]; then
  echo "usage: $0 FUZZER NAME SECONDS CORPUS_DIR WORK_DIR" >&2
  exit 2
fi
fuzzer=$1 name=$2 secs=$3 corpus=$4 work=$5
mkdir -p "$work/corpus/$name" "$work/crashes/$name" || exit 1

# Exit 1 on any finding: libFuzzer's default 77 means "skipped" to meson.
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
  -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/$name/" \
  "$work/corpus/$name" "$corpus"
rc=$?
if [ $rc -ne 0 ]; then
  echo "fuzz_$name: FAILED (exit $rc). Input(s) that broke it:" >&2
  ls -l "$work/crashes/$name/" >&2
  echo "Reproduce: $fuzzer <file>; once fixed, commit the file as" >&2
  echo "  tests/fuzz/corpus/$name/regress-<what> so every build replays it." >&2
fi
exit $rc
