# Parapet — see README.md. `make demo` and `make test` are the two set-up commands.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X github.com/parapet-sec/parapet/internal/cli.version=$(VERSION) \
	-X github.com/parapet-sec/parapet/internal/cli.commit=$(COMMIT) \
	-X github.com/parapet-sec/parapet/internal/cli.date=$(DATE)
FUZZTIME ?= 20s
BENCHCOUNT ?= 6

.PHONY: all build demo test test-short test-duckdb lint fuzz bench bench-compare clean

all: lint test build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/parapet ./cmd/parapet

# Parapet as a service on a generated week of telemetry with attacks in it: the live pipeline,
# playbooks acting on an AWS API emulator (moto_server), the web UI. Prints the URL and a token.
demo: build
	rm -rf parapet-demo
	bin/parapet serve --demo --data parapet-demo --listen 127.0.0.1:$${PORT:-8080}

# The whole suite: lint, every test (with the 1 GiB memory test and the 10-minute soak of
# parapet serve, which runs beside the rest), then the race detector on the short suite.
test: lint
	scripts/test-deps.sh
	GO=$(GO) scripts/test.sh

# DuckDB reading the lake Parapet writes: a module of its own (cgo, a bundled DuckDB library; about
# 1.5 minutes to build cold, seconds warm). `make test` runs it too.
test-duckdb:
	cd internal/lake/duckdbtest && $(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	cd internal/lake/duckdbtest && $(GO) vet ./...

# Every fuzz target for FUZZTIME each.
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# Go benchmarks (BENCHCOUNT runs, 1 and 2 CPUs) into bench/out, summarised by benchstat.
bench:
	scripts/bench.sh $(BENCHCOUNT)

# parapet events vs jq on 1 GiB of gzipped CloudTrail, with peak RSS.
bench-compare:
	bench/compare.sh

clean:
	rm -rf bin parapet-demo bench/out
