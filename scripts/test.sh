#!/usr/bin/env bash
# The whole suite (called by `make test`): every test, then the race detector on
# the short suite. The 10-minute soak of `parapet serve` (TestServeSoak) runs in
# its own test process beside the rest, so the suite takes about as long as the
# soak rather than the sum; it measures only its own process's heap.
set -uo pipefail
GO=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
$GO test -count=1 -timeout 30m -run '^TestServeSoak$' -v ./internal/cli >"$log" 2>&1 &
soak=$!
rc=0
$GO test -count=1 -timeout 30m -skip '^TestServeSoak$' ./... || rc=1
$GO test -count=1 -timeout 30m -race -short ./... || rc=1
(cd internal/lake/duckdbtest && $GO test -count=1 -timeout 10m ./...) || rc=1
if ! wait "$soak"; then rc=1; cat "$log"; else grep -E '^(=== RUN|--- |\s+soak_test)|heap' "$log" || true; fi
exit $rc
