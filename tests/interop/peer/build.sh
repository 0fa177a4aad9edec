#!/usr/bin/env bash
# Builds the QuickFIX counterparty: tests/interop/peer/build/peer
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
if [ ! -x build/peer ] || [ peer.cpp -nt build/peer ]; then
  g++ -O2 -std=gnu++14 -Wno-deprecated -DHAVE_SSL=1 -o build/peer peer.cpp -lquickfix -lpthread -lssl -lcrypto
fi
echo "$(pwd)/build/peer"
