# vipd — see README.md. `make test` is what CI runs (via .ci/run).
GO      ?= go
BIN     ?= bin
PKGS    := ./...
# VERSION is the tag of HEAD (v1.2.3, or v1.2.3-4-gabc1234 after it) and
# empty before the first tag: the binary then reports internal/version.Next
# with -dev. COMMIT is empty outside a git checkout: the binary says unknown.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X github.com/vipd/vipd/internal/version.Version=$(VERSION) -X github.com/vipd/vipd/internal/version.Commit=$(COMMIT)
# grpcnotrace leaves golang.org/x/net/trace out of grpc (the etcd
# election's client). Its HTML templates, like any reachable template
# execution, make the linker keep every exported method of the binary:
# without them vipd is 39 MB instead of 92 MB, and the idle daemon's
# resident size follows its code (bench/RESULTS.md, issue 17).
TAGS    := grpcnotrace

.PHONY: all build test vet tidy unit e2e bench bench-short bench-storm clean fmt chaos restart-loop moto-suite

all: build

# Without cgo, as `make dist` builds what users install: the e2e tests, the
# chaos suite and the benchmarks run that binary (a static one maps no libc
# or loader: about 2 MiB less resident, bench/RESULTS.md "Idle cost").
build:
	CGO_ENABLED=0 $(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# go.mod and go.sum say exactly what the code imports (go mod tidy changes
# nothing); -diff prints what tidy would change and fails.
tidy:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# Unit and in-process tests, with the race detector.
unit:
	$(GO) test -race -timeout 15m $(PKGS)

# Multi-process end-to-end tests (real vipd and vpcsim processes on loopback).
e2e: build
	VIPD_BIN=$(CURDIR)/$(BIN)/vipd VPCSIM_BIN=$(CURDIR)/$(BIN)/vpcsim $(GO) test -count=1 -timeout 25m -tags e2e ./test/e2e/...

test: tidy vet unit e2e

# Randomized fault schedules on the netns fabric (root): SEEDS=N runs N
# schedules from a random base (printed), SEED=S replays one; LENGTH is how
# long each injects faults; MODE picks overlay-route, secondary-ip or eni
# (default: by seed). Any 9 consecutive schedules inject every fault kind.
# Failures print the seed and a timeline; the last line counts the faults
# injected by kind and the violations. About 20-30 s per schedule.
SEEDS  ?= 20
LENGTH ?= 10s
chaos: build
	VIPD_BIN=$(CURDIR)/$(BIN)/vipd CHAOS_SEEDS=$(SEEDS) CHAOS_SEED=$(SEED) CHAOS_LENGTH=$(LENGTH) CHAOS_MODE=$(MODE) \
		$(GO) test -count=1 -timeout 60m -tags e2e -run '^TestChaos$$' -v ./test/e2e/

# Kill -9 (KILLS) or SIGSTOP past the lease (STOPS) of the primary, each
# followed by a restart, on the netns fabric (root): counts the nodes that
# cannot start again and prints the time taken (about 4 s a round).
KILLS ?= 200
STOPS ?= 50
restart-loop: build
	VIPD_BIN=$(CURDIR)/$(BIN)/vipd RESTART_KILLS=$(KILLS) RESTART_STOPS=$(STOPS) \
		$(GO) test -count=1 -timeout 120m -tags e2e -run '^TestRestartLoop$$' -v ./test/e2e/

# vipd against a keepalived + AWS CLI baseline on the netns fabric (root),
# scale under EC2 throttling, the AZ-outage storm, idle cost, switchover, and
# Pacemaker's aws-vpc-move-ip agent with 1, 4 and 20 route tables: tables on stdout with
# the vipd/baseline ratio last (bench/RESULTS.md). About 15 minutes on 2
# cores; BENCH_FLAGS=-short is a quick pass. Then vpcsim's Go benchmarks.
BENCH_FLAGS ?=
bench: build
	command -v keepalived >/dev/null || apt-get install -y -qq keepalived >/dev/null
	test -e /usr/lib/ocf/resource.d/heartbeat/aws-vpc-move-ip || apt-get install -y -qq resource-agents >/dev/null
	$(GO) run ./bench/cmd/vipdbench -vipd $(CURDIR)/$(BIN)/vipd $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/vpcsim/...

# The benchmarks' quick pass, as CI runs it (.ci/run): every part once
# (one round per fault and system, 10 s idle, 30 clusters in the storm),
# failing when a part cannot run or a round of vipd fails; the baseline's
# rounds may fail, that is what it is measured for. Root. About 6-10
# minutes on 2 cores.
bench-short: build
	$(GO) run ./bench/cmd/vipdbench -vipd $(CURDIR)/$(BIN)/vipd -short

# moto's own tests for EC2 networking, Route 53 and DynamoDB in server mode
# against vpcsim (test/motosuite/run.sh): the pass rate per service, and
# the failures that are not in test/motosuite/deliberate.txt. Needs python3
# with moto and pytest, and moto's git repository (MOTO_GIT, else cloned);
# not part of make test. About 2 minutes.
moto-suite: build
	VPCSIM_BIN=$(CURDIR)/$(BIN)/vpcsim test/motosuite/run.sh

# The AZ-outage storm alone (bench/storm.go; root not needed): STORM_CLUSTERS
# independent two-node clusters (dynamodb election) in one simulated account
# with EC2's throttling, every primary killed at once, then the same with
# one vipd controller serving every cluster; its table, then one line per system, the
# agents' last: `storm: N clusters, T tables, converged X s, floor Y s,
# ratio R, slowest/median S, gave up G`. About 2 minutes at 50 clusters.
STORM_CLUSTERS ?= 50
bench-storm: build
	$(GO) run ./bench/cmd/vipdbench -vipd $(CURDIR)/$(BIN)/vipd -parts storm -storm-clusters $(STORM_CLUSTERS) $(BENCH_FLAGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) dist

# Release artifacts in dist/: static binaries for linux/amd64 and arm64
# (dist/linux-ARCH/vipd) and a .deb of each
# (dist/vipd_VERSION-REVISION_ARCH.deb) with the unit files, example
# configs, docs, a manual page per command and bash, zsh and fish
# completions. The .deb is built by nfpm, a Go tool of this module
# (go.mod), so nothing outside the module proxy is needed.
DIST        ?= dist
DIST_ARCHES ?= amd64 arm64
# Debian versions must start with a digit: v1.2.3 tags give 1.2.3, untagged
# trees NEXT~git<commit> (internal/version.Next; ~ sorts before the release).
NEXT        := $(shell sed -n 's/^const Next = "v\(.*\)"/\1/p' internal/version/version.go)
DEB_VERSION ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || echo $(NEXT)~git$(COMMIT))
# Expand once: both packages get the same version even if HEAD moves.
DEB_VERSION := $(DEB_VERSION)
DEB_REVISION ?= 1
DEB_MAINTAINER := $(shell sed -n 's/^maintainer: *//p' deploy/nfpm.yaml)
# The time of the commit (reproducible builds: the manual pages' date, the
# snapshot changelog entry, the files' mtime in the .deb); now outside git.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null | grep . || date +%s)
SOURCE_DATE_EPOCH := $(SOURCE_DATE_EPOCH)
export SOURCE_DATE_EPOCH

.PHONY: dist dist-test
dist:
	rm -rf $(DIST)
	set -e; for arch in $(DIST_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags '$(TAGS)' -trimpath -ldflags '$(LDFLAGS) -s -w' -o $(DIST)/linux-$$arch/ ./cmd/vipd; \
	done
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(DIST)/host/ ./cmd/vipd
	mkdir -p $(DIST)/stage/completions
	$(DIST)/host/vipd man $(DIST)/stage/man
	gzip -9n $(DIST)/stage/man/*.1
	$(DIST)/host/vipd completion bash >$(DIST)/stage/completions/vipd
	$(DIST)/host/vipd completion zsh >$(DIST)/stage/completions/_vipd
	$(DIST)/host/vipd completion fish >$(DIST)/stage/completions/vipd.fish
	$(GO) run ./deploy/copyright -o $(DIST)/stage/copyright ./cmd/vipd
	@# The changelog: deploy/changelog.yaml, which must have the entry of a
	@# release, under a snapshot entry for an untagged tree.
	set -e; v=$(DEB_VERSION)-$(DEB_REVISION); \
	if grep -q "^- semver: $$v\$$" deploy/changelog.yaml; then \
		cp deploy/changelog.yaml $(DIST)/stage/changelog.yaml; \
	elif echo "$$v" | grep -q '~git'; then \
		{ echo "- semver: $$v"; \
		  echo "  date: $$(date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)"; \
		  echo "  packager: $(DEB_MAINTAINER)"; \
		  echo "  deb: {urgency: medium, distributions: [UNRELEASED]}"; \
		  echo "  changes:"; \
		  echo "    - note: Snapshot of commit $(COMMIT), ahead of release $(NEXT)."; \
		  cat deploy/changelog.yaml; } >$(DIST)/stage/changelog.yaml; \
	else \
		echo "deploy/changelog.yaml has no entry for $$v: add it before tagging a release" >&2; exit 1; \
	fi
	set -e; for arch in $(DIST_ARCHES); do \
		cp $(DIST)/linux-$$arch/vipd $(DIST)/stage/vipd; \
		ARCH=$$arch DEB_VERSION=$(DEB_VERSION) DEB_REVISION=$(DEB_REVISION) $(GO) tool nfpm package --config deploy/nfpm.yaml --packager deb --target $(DIST)/; \
	done
	ls -l $(DIST)/*.deb

# Install the amd64 .deb into a scratch root (dpkg -x) and run vipd version
# and vipd check against vpcsim from it, list its files, and run lintian on
# it, which must report nothing that deploy/lintian-overrides does not
# explain (deploy/dist_test.go). lintian is installed when missing and
# root; the test fails without it under CI=true.
dist-test: dist
	@if ! command -v lintian >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing lintian"; apt-get update -qq && apt-get install -y -qq --no-install-recommends lintian >/dev/null; \
	fi
	VIPD_DEB=$$(ls $(CURDIR)/$(DIST)/vipd_*_amd64.deb) $(GO) test -count=1 -timeout 5m ./deploy/

# The controller as an AWS Lambda function (provided.al2023): one bootstrap
# per architecture, zipped as Lambda wants it. dist/vipd-lambda.zip is the
# arm64 build (Graviton, the cheaper choice); -amd64/-arm64 name both.
.PHONY: lambda
lambda:
	@mkdir -p dist/lambda/arm64 dist/lambda/amd64
	for arch in arm64 amd64; do \
		GOOS=linux GOARCH=$$arch CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath \
			-ldflags '-s -w $(LDFLAGS)' -o dist/lambda/$$arch/bootstrap ./cmd/vipd-lambda || exit 1; \
		rm -f dist/vipd-lambda-$$arch.zip; \
		(cd dist/lambda/$$arch && zip -q -X ../../vipd-lambda-$$arch.zip bootstrap) || exit 1; \
	done
	cp dist/vipd-lambda-arm64.zip dist/vipd-lambda.zip
