#!/usr/bin/env bash
# The report tests render the HTML report in headless Chromium and check that the charts drew.
# Install Debian's chromium package when the machine has no Chromium or Chrome binary.
set -euo pipefail
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done
echo "chromium not found: installing Debian's chromium package" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version
