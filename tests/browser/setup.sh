#!/usr/bin/env bash
# Installs what the admin page's browser test needs: Debian's chromium when /usr/bin/chromium
# is missing, and the pinned playwright-core from npm into Deno's cache.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
deno cache tests/browser/admin_browser_test.ts >/dev/null
