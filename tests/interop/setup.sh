#!/usr/bin/env bash
# Installs QuickFIX C++ (Debian's libquickfix-dev) and g++ when missing, then builds the peer.
set -euo pipefail
cd "$(dirname "$0")"
if ! dpkg -s libquickfix-dev >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++ libquickfix-dev >/dev/null
fi
bash peer/build.sh >/dev/null
