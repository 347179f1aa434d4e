# keyadm: build, test, lint, bench.
GO          ?= go
BIN         := bin/keyadm
PKG         := github.com/keyadm/keyadm
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE        ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS     := -s -w -X $(PKG)/internal/cli.version=$(VERSION) -X $(PKG)/internal/cli.commit=$(COMMIT) -X $(PKG)/internal/cli.date=$(DATE)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test lint stress bench bench-tools bench-serve cluster-up cluster-down docs readme release-snapshot release-check clean

all: build

## build: the keyadm binary, pure Go (CGO_ENABLED=0), in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/keyadm

## test: unit, conformance and end-to-end tests; PostgreSQL ones too when
## KEYADM_TEST_POSTGRES holds a server URL (see README)
test:
	@[ -n "$$KEYADM_TEST_POSTGRES" ] || echo "KEYADM_TEST_POSTGRES is not set: the PostgreSQL tests skip (see README, Development)"
	$(GO) test -count=1 ./...

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## stress: long tests, also run by CI: 20 s of mixed load from 16 processes
## and a kill -9 loop per engine, a silent server, and 10 s fuzz runs
## (.ci/fuzz tells Go's fuzztime race, go.dev/issue/75804, from a finding)
stress:
	KEYADM_STRESS=1 $(GO) test -count=1 -timeout 10m -run 'Stress' ./cmd/keyadm/
	./.ci/fuzz ./internal/apikey/ FuzzParseSecret
	./.ci/fuzz ./internal/apikey/ FuzzParseDuration
	./.ci/fuzz ./internal/apikey/ FuzzNormalizeSetting
	./.ci/fuzz ./internal/output/ FuzzOutputRoundTrip

## bench-tools: what the benchmarks run beside keyadm, installed with apt-get
## when missing: the sqlite3 shell (a floor), GNU time (peak memory),
## taskset (pinning), psql (PostgreSQL's floor)
BENCH_TOOLS := sqlite3:sqlite3 /usr/bin/time:time taskset:util-linux psql:postgresql-client
bench-tools:
	@missing=""; for t in $(BENCH_TOOLS); do cmd=$${t%%:*}; pkg=$${t#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; fi

## bench: benchmarks at 10k, 100k and 1M keys: whole processes and verify
## beside their floors measured in the same run (internal/bench), then the
## store suite's benchmarks on each engine (storetest, BenchmarkConformance)
## (BENCHMARKS.md); PostgreSQL too when
## KEYADM_TEST_POSTGRES is set. KEYADM_BENCH_MAX=100000 makes a quick run.
bench: build bench-tools
	{ KEYADM_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 2s -timeout 60m ./internal/bench/ && \
	  $(GO) test -run '^$$' -bench Conformance -benchtime 2s -timeout 60m ./internal/store/sqlite/ ./internal/store/postgres/; } | tee bench.out

## bench-serve: POST /v1/verify under load with 100k keys: keyadm serve, a
## trivial net/http server and the load generator as three processes
## (BENCHMARKS.md), with keys carrying a rate limit and credits beside keys
## without; PostgreSQL too when KEYADM_TEST_POSTGRES is set; one and two
## serve --read-db processes on the test cluster's standby beside its
## primary when KEYADM_TEST_PRIMARY/STANDBY are set (eval "$(./.ci/cluster up)");
## last, verify's latency in 5 s windows around serve's first flush (SQLite)
bench-serve: build bench-tools
	KEYADM_BENCH_SERVE=1 KEYADM_BIN=$(CURDIR)/$(BIN) $(GO) test -run TestServe -v -count=1 -timeout 30m ./internal/bench/ | tee bench-serve.out

## cluster-up: a PostgreSQL primary (127.0.0.1:25432), a streaming hot standby
## (25433, synchronous with remote_apply unless SYNC=0) and pgbouncer in
## transaction mode (26432, installed with apt-get when missing), apart from
## the server on 5432; prints the KEYADM_TEST_* URLs (docs/scaling.md)
cluster-up:
	@./.ci/cluster up

## cluster-down: stop the cluster and remove its folder
cluster-down:
	@./.ci/cluster down

## docs: the markdown command reference (docs/cli, committed; a test checks it)
## and man pages (dist/man), from the command tree
docs:
	rm -rf docs/cli dist/man
	$(GO) run ./internal/tools/gendocs -md docs/cli -man dist/man

## readme: run every "$ " command in README.md in a new home folder and write
## back their real output (needs port 8080 free, curl and jq)
readme: build
	$(GO) run ./internal/tools/readmetour -bin bin README.md

GORELEASER_VERSION := v2.15.2
GORELEASER := $(shell $(GO) env GOPATH)/bin/goreleaser

# goreleaser, installed with go install at the pinned version (the first
# build takes a few minutes).
$(GORELEASER):
	$(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

## release-check: goreleaser accepts .goreleaser.yaml
release-check: $(GORELEASER)
	$(GORELEASER) check

## release-snapshot: all six archives in dist/, without publishing
release-snapshot: $(GORELEASER)
	$(GORELEASER) release --snapshot --clean

clean:
	rm -rf bin dist build
