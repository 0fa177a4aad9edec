#!/usr/bin/env bash
# Builds the QuickFIX counterparty (tests/interop/peer/build/peer) and the QuickFIX side of the
# codec benchmark (build/codec_bench, run by bench/vs_quickfix.ts), both with -O2.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
if [ ! -x build/peer ] || [ peer.cpp -nt build/peer ]; then
  g++ -O2 -std=gnu++14 -Wno-deprecated -DHAVE_SSL=1 -o build/peer peer.cpp -lquickfix -lpthread -lssl -lcrypto
fi
if [ ! -x build/codec_bench ] || [ codec_bench.cpp -nt build/codec_bench ]; then
  g++ -O2 -std=gnu++14 -Wno-deprecated -o build/codec_bench codec_bench.cpp -lquickfix -lpthread
fi
echo "$(pwd)/build/peer"
