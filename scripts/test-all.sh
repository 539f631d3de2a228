#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds Intake and runs every test: unit, integration, interoperability,
# browser, corpus replays, then the whole suite again under AddressSanitizer
# + UndefinedBehaviorSanitizer (clang) together with short bounded fuzz runs,
# then the style checks.  Runs every step even when one fails, prints a
# summary, and exits non-zero if anything failed.  .ci/run runs exactly this.
#
# Steps:
#   1. gcc build, `meson test` (every suite but fuzz, style and flood: the
#      long flood is `meson test -C build --suite flood`; its 20 s form,
#      stack_flood_short, is in suite integration and runs here)
#   2. clang ASan+UBSan build with -Dfuzz=enabled, `meson test` (the same
#      suites), then suite fuzz: each libFuzzer target for FUZZ_SECONDS
#      from its committed corpus
#   3. scripts/check-style.sh (clang-format, banned calls)
#
# Environment (all optional):
#   ITK_BUILD=build     build directory prefix: uses $ITK_BUILD and
#                       $ITK_BUILD-asan (pick your own in a shared tree)
#   FUZZ_BUDGET=100     seconds of wall time for the whole fuzz step: each
#                       target gets BUDGET * JOBS / targets (3 to 10 s)
#   FUZZ_SECONDS=N      per fuzz target instead; a long run is a flag away:
#                       meson configure build-asan -Dfuzz_seconds=3600
#   JOBS=$(nproc)       parallel tests
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
t_start=$(date +%s)

if ! bash scripts/install-deps.sh; then
	echo "test-all: installing dependencies failed" >&2
	exit 1
fi

prefix=${ITK_BUILD:-build}
jobs=${JOBS:-$(nproc)}
fuzz_budget=${FUZZ_BUDGET:-100}
fuzz_seconds=${FUZZ_SECONDS:-10}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# A sanitizer report ends the process with an error, never just a line.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}

summary=()   # one line per step
n_pass=0 n_fail=0 n_skip=0

# record NAME RC SECONDS [DETAIL]
record() {
	local status=ok
	[ "$2" -ne 0 ] && status=FAILED
	summary+=("$(printf '%-34s %-7s %4ss  %s' "$1" "$status" "$3" "${4:-}")")
}

# Configures DIR with the remaining arguments, reusing it when it exists.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null ||
			meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# Prints cmocka's closing lines for every test of the last `meson test` in
# DIR (meson keeps each test's output in its log) and writes that run's
# "PASS FAIL SKIP" counts to DIR/meson-logs/tally.txt.
tally() {
	local dir=$1
	echo "-- cmocka results ($dir)"
	awk '/^test: /{t=$0; shown=0}
	     /^\[==========\] .* run\.|^\[  (PASSED|FAILED|SKIPPED)  \]/ {
		if (!shown) { print t; shown = 1 }
		print
	     }' "$dir/meson-logs/testlog.txt" 2>/dev/null
	"$py" - "$dir/meson-logs/testlog.json" >"$dir/meson-logs/tally.txt" <<'EOF'
import json, sys
p = f = s = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
except OSError:
    pass
print(p, f, s)
EOF
}

# run_tests NAME DIR MESON-TEST-ARGS...: one `meson test`, tallied.
run_tests() {
	local name=$1 dir=$2 t0 rc p f s
	shift 2
	t0=$(date +%s)
	echo
	echo "== $name"
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"
	rc=$?
	tally "$dir"
	read -r p f s <"$dir/meson-logs/tally.txt" || { p=0 f=0 s=0; }
	n_pass=$((n_pass + p)) n_fail=$((n_fail + f)) n_skip=$((n_skip + s))
	# meson failing with no failed test (bad setup, no tests) still fails.
	if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		n_fail=$((n_fail + 1))
	fi
	record "$name" $rc $(($(date +%s) - t0)) "$p passed, $f failed, $s skipped"
}

# build NAME CC DIR SETUP-ARGS...: configure and compile; 0 if it built.
build() {
	local name=$1 cc=$2 dir=$3 t0 rc
	shift 3
	t0=$(date +%s)
	echo
	echo "== $name"
	CC=$cc setup "$dir" "$@" && ninja -C "$dir"
	rc=$?
	record "$name" $rc $(($(date +%s) - t0))
	if [ $rc -ne 0 ]; then
		n_fail=$((n_fail + 1))
	fi
	return $rc
}

# 1. gcc
if build "build (gcc)" gcc "$prefix"; then
	run_tests "tests (gcc)" "$prefix" \
		--no-suite fuzz --no-suite style --no-suite flood
fi

# 2. clang + ASan + UBSan + libFuzzer
if build "build (clang ASan+UBSan+fuzz)" clang "$prefix-asan" \
	-Db_sanitize=address,undefined -Db_lundef=false \
	-Dfuzz=enabled -Dfuzz_seconds="$fuzz_seconds"; then
	run_tests "tests (clang ASan+UBSan)" "$prefix-asan" \
		--no-suite fuzz --no-suite style --no-suite flood
	# Share the budget: more targets, fewer seconds each.
	if [ -z "${FUZZ_SECONDS:-}" ]; then
		n=$(meson test -C "$prefix-asan" --list --suite fuzz 2>/dev/null |
			grep -c ' / fuzz_')
		if [ "${n:-0}" -gt 0 ]; then
			fuzz_seconds=$((fuzz_budget * jobs / n))
			[ $fuzz_seconds -lt 3 ] && fuzz_seconds=3
			[ $fuzz_seconds -gt 10 ] && fuzz_seconds=10
		fi
		meson configure "$prefix-asan" -Dfuzz_seconds="$fuzz_seconds" >/dev/null
	fi
	run_tests "fuzz (${fuzz_seconds}s per target)" "$prefix-asan" --suite fuzz
fi

# 3. style
echo
echo "== style"
t0=$(date +%s)
bash scripts/check-style.sh
rc=$?
record "style (clang-format, banned calls)" $rc $(($(date +%s) - t0))
if [ $rc -eq 0 ]; then
	n_pass=$((n_pass + 1))
else
	n_fail=$((n_fail + 1))
fi

echo
echo "== summary ($(($(date +%s) - t_start))s)"
printf '%s\n' "${summary[@]}"
echo "test-all: $n_pass passed, $n_fail failed, $n_skip skipped"
[ $n_fail -eq 0 ]
