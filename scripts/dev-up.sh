#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and starts the whole Intake stack on
# this machine with development keys (tools/intake-dev).  Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
exec tools/intake-dev "$@"
