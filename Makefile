# vipd — see README.md. `make test` is what CI runs (via .ci/run).
GO      ?= go
BIN     ?= bin
PKGS    := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/vipd/vipd/internal/version.Version=$(VERSION) -X github.com/vipd/vipd/internal/version.Commit=$(COMMIT)

.PHONY: all build test vet unit e2e bench clean fmt chaos

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# Unit and in-process tests, with the race detector.
unit:
	$(GO) test -race -timeout 15m $(PKGS)

# Multi-process end-to-end tests (real vipd and vpcsim processes on loopback).
e2e: build
	VIPD_BIN=$(CURDIR)/$(BIN)/vipd VPCSIM_BIN=$(CURDIR)/$(BIN)/vpcsim $(GO) test -count=1 -timeout 15m -tags e2e ./test/e2e/...

test: vet unit e2e

# Randomized fault schedules on the netns fabric (root): SEEDS=N runs N
# schedules from a random base (printed), SEED=S replays one; LENGTH is how
# long each injects faults. Failures print the seed and a timeline.
SEEDS  ?= 20
LENGTH ?= 10s
chaos: build
	VIPD_BIN=$(CURDIR)/$(BIN)/vipd CHAOS_SEEDS=$(SEEDS) CHAOS_SEED=$(SEED) CHAOS_LENGTH=$(LENGTH) \
		$(GO) test -count=1 -timeout 30m -tags e2e -run '^TestChaos$$' -v ./test/e2e/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./bench/... ./internal/vpcsim/...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) dist
