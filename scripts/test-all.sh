#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds Intake and runs every test: unit, integration, interoperability,
# browser, short bounded fuzz runs, then the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer.  Exits non-zero if any
# test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

jobs=$(nproc)

echo "== build (gcc) and all tests"
meson setup build --wipe >/dev/null 2>&1 || meson setup build >/dev/null
ninja -C build
meson test -C build --print-errorlogs --num-processes "$jobs"

echo "== build (clang, ASan+UBSan) and all tests again"
CC=clang meson setup build-asan --wipe -Db_sanitize=address,undefined \
  -Db_lundef=false -Dfuzz=enabled >/dev/null 2>&1 ||
  CC=clang meson setup build-asan -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzz=enabled >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes "$jobs"
echo "test-all: every suite passed"
