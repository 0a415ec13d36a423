# sovereign — the targets a developer and CI use.
GO ?= go

.PHONY: build test boot-test boot-cache golden lint tools bench fuzz reference

build:
	$(GO) build -o sovereign ./cmd/sovereign

# The test command README.md gives and .ci/run runs. Peer validators come
# from tests/tools/bin (make tools); without them peer tests skip locally
# and fail under CI=true.
# It first fuzzes the blueprint loader, the config.json reader and the
# injection property (a payload in any string of a kitchen-sink blueprint:
# a located error or a correctly quoted build) briefly; their seeds also run
# in every plain go test. -count=1: the peer tests run
# external validators, which Go's test cache does not see change, so a
# cached pass could hide a broken peer. -timeout 30m: cmd/sovereign/commands
# takes about two minutes on two idle cores and far longer on busy ones, and
# go test's default ten-minute limit would fail it there.
test:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime 10s ./blueprints/decode/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHFConfig$$' -fuzztime 5s ./blueprints/catalog/
	$(GO) test -run '^$$' -fuzz '^FuzzInjection$$' -fuzztime 10s ./tests/
	PATH="$(CURDIR)/tests/tools/bin:$$PATH" $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) boot-test

# Boot both reference appliances under QEMU with real systemd, Podman 5 and
# Quadlet, and check from inside the guest what came up (tests/boot). Root
# only (it skips otherwise, and fails under CI=true); the guest's base root
# and the Podman build are cached between runs ($$SOVEREIGN_BOOT_CACHE, else
# $$XDG_CACHE_HOME/sovereign-boot). boot-cache only builds that cache, so a
# cold machine's build time shows apart from the boots.
boot-test:
	PATH="$(CURDIR)/tests/tools/bin:$$PATH" $(GO) test -tags boot -count=1 -timeout 20m -v -run '^TestBoot$$' ./tests/boot/
boot-cache:
	PATH="$(CURDIR)/tests/tools/bin:$$PATH" $(GO) test -tags boot -count=1 -timeout 20m -v -run '^TestBootPrepare$$' ./tests/boot/

# Rewrite every golden file from the current output (never edit them by hand).
golden:
	SOVEREIGN_UPDATE_GOLDEN=1 $(GO) test ./...

# shellcheck over every shell script, the rendered ones in the goldens too
# (tests/shellcheck_test.go; `make test` runs it as well).
lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags boot ./tests/boot/
	PATH="$(CURDIR)/tests/tools/bin:$$PATH" $(GO) test -count=1 -run '^TestShellcheck$$' ./tests/

# Build the pinned validator binaries (quadlet, butane, ignition, ignition-validate).
tools:
	bash tests/tools/install.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime 120s ./blueprints/decode/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHFConfig$$' -fuzztime 60s ./blueprints/catalog/
	$(GO) test -run '^$$' -fuzz '^FuzzInjection$$' -fuzztime 120s ./tests/

# Build the reference appliance into out/ (offline: the pins ship with the blueprint).
reference:
	$(GO) run ./cmd/sovereign build blueprints/dgx-station-gb300.hcl -o out
