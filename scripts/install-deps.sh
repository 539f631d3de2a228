#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything Intake needs to build, run and test on Debian 12.
# Idempotent; run as root.
set -euo pipefail

pkgs=(
  # build
  build-essential meson ninja-build pkg-config cmake git
  clang libclang-rt-14-dev clang-format
  # libraries
  libsodium-dev libnng-dev libmbedtls-dev liblmdb-dev lmdb-utils
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libcmocka-dev libseccomp-dev
  # tests: independent implementations and tools
  python3 python3-nacl python3-protobuf
  golang-go golang-golang-x-mod-dev
  curl ca-certificates openssl procps psmisc iproute2
  # browser tests
  nodejs npm chromium
)

missing=()
for p in "${pkgs[@]}"; do
  # A nodejs build that bundles npm (NodeSource) conflicts with Debian's npm.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The submitter page's libsodium.js and word-list module (web/vendor/) and
# the browser tests' playwright-core, from the npm registry, pinned by the
# committed lock files; skipped when already in place.
bash "$(dirname "$0")/fetch-web-deps.sh"
