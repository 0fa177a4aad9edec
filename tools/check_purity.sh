#!/usr/bin/env bash
# The session core and codec do no I/O and read no wall clock (STYLE.md, principle 1).
set -u
cd "$(dirname "$0")/.."
found=$(grep -rnE 'Date\.now\(|new Date\(\)|setTimeout\(|setInterval\(|Deno\.' src/session src/message 2>/dev/null | grep -vE ':[0-9]+:[[:space:]]*(//|\*)')
if [ -n "$found" ]; then
  printf 'I/O or wall clock in the session core or codec:\n%s\n' "$found" >&2
  exit 1
fi
bad=$(grep -rnE "from \"(jsr:|npm:|https?:)" src adapters mod.ts 2>/dev/null)
if [ -n "$bad" ]; then
  printf 'Non-relative imports in library code:\n%s\n' "$bad" >&2
  exit 1
fi
