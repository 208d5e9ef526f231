# floatlb — see README.md. Every target works as root on a fresh Debian box
# with Go installed; `make test` and `make demo` install what they need.

SHELL := /bin/bash
GO ?= go
BIN := bin
export GOFLAGS ?= -buildvcs=false

# Fuzz time per target in `make test` (seed corpora always run) and `make fuzz`.
FUZZTIME ?= 10s
FUZZTIME_LONG ?= 5m
FUZZ_TARGETS := ./config:FuzzParse ./loadbalancer/ipam:FuzzAllocator ./announcer/planner:FuzzCompute \
	./announcer/vrrp:FuzzParse ./announcer/vrrp:FuzzInstances ./announcer/l2/wire:FuzzParseNDPFrame \
	./announcer/controlplane:FuzzParseVIPs ./announcer/controlplane:FuzzParsePeers

.PHONY: all build deps tools lint test unit integration fuzz-short fuzz bench demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/floatlb-ccm ./cmd/ccm
	CGO_ENABLED=0 $(GO) build -o $(BIN)/floatlb-announcer ./cmd/announcer

deps:
	hack/install-deps.sh

# kube-apiserver, etcd and kubectl built from source, cached outside the tree.
tools:
	@hack/build-tools.sh >/dev/null

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: deps tools lint
	hack/check-image.sh
	FLOATLB_TOOLS_BIN=$$(hack/build-tools.sh 2>/dev/null | tail -n1) FLOATLB_REQUIRE_APISERVER=1 FLOATLB_REQUIRE_E2E=1 \
		$(GO) test -race -count=1 -timeout 30m ./...
	@$(MAKE) --no-print-directory fuzz-short

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

integration: deps tools
	FLOATLB_TOOLS_BIN=$$(hack/build-tools.sh 2>/dev/null | tail -n1) FLOATLB_REQUIRE_APISERVER=1 FLOATLB_REQUIRE_E2E=1 \
		$(GO) test -race -count=1 -timeout 30m ./test/...

fuzz-short:
	@GO=$(GO) hack/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

fuzz:
	@$(MAKE) --no-print-directory fuzz-short FUZZTIME=$(FUZZTIME_LONG)

bench: deps tools
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./loadbalancer/ipam/
	FLOATLB_TOOLS_BIN=$$(hack/build-tools.sh 2>/dev/null | tail -n1) FLOATLB_REQUIRE_APISERVER=1 \
		$(GO) test -run='^$$' -bench=. -benchtime=1x -count=1 -timeout 120m ./test/bench/

# FLOATLB_DEMO_KEEP=1 keeps it running until Ctrl-C, with commands to try.
demo: deps tools build
	FLOATLB_TOOLS_BIN=$$(hack/build-tools.sh 2>/dev/null | tail -n1) $(GO) run ./hack/demo -ccm $(BIN)/floatlb-ccm -announcer $(BIN)/floatlb-announcer

clean:
	rm -rf $(BIN)
