#!/usr/bin/env bash
# Run every fuzz target of the module for a fixed time each (default 20s).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" | grep -v '^fuzz: elapsed' || { echo "FAIL: $pkg $target (crasher saved under testdata/fuzz)"; exit 1; }
  done
done
