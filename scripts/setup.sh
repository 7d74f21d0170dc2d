#!/usr/bin/env bash
# Installs what shrinkray needs on a fresh Debian/Ubuntu machine without a GPU, then the npm
# packages. Idempotent. The software GPUs: Mesa llvmpipe behind EGL (Dawn's OpenGL ES backend)
# and Chromium's SwiftShader Vulkan ICD with the Vulkan loader (Dawn's Vulkan backend); the list
# is scripts/system-packages.txt, which .ci/run installs too.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends $(cat scripts/system-packages.txt) >/dev/null
else
  echo "setup: no apt-get here; install Mesa EGL (llvmpipe) or a Vulkan driver yourself" >&2
fi
npm ci --no-audit --no-fund
