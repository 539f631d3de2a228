#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs, builds and starts the whole Intake stack on this machine with
# development keys.  Until the stack exists this builds and prints the key
# tool's help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
meson setup build >/dev/null 2>&1 || true
ninja -C build
if [ -x build/keys/intake-keys ]; then
  build/keys/intake-keys --help
fi
