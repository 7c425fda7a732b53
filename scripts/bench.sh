#!/usr/bin/env bash
# Hot-path benchmarks at 1 and 2 CPUs, COUNT runs each, into bench/out/bench.txt, summarised
# with benchstat (installed from the Go module proxy when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-6}
mkdir -p bench/out
go test -run '^$' -bench . -benchmem -cpu 1,2 -count "$count" -benchtime 2s \
  ./internal/jsonscan/ ./internal/decode/... ./internal/ingest/ ./internal/lake/ | tee bench/out/bench.txt
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
"$(go env GOPATH)/bin/benchstat" bench/out/bench.txt | tee bench/out/benchstat.txt
