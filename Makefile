# vpce-probe — the two set-up commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
TARGET := x86_64-unknown-linux-gnu
STATIC := RUSTFLAGS="-C target-feature=+crt-static"
CARGO_TARGET := --target $(TARGET)
BIN_DEBUG := target/$(TARGET)/debug/vpce-probe
BIN_RELEASE := target/$(TARGET)/release/vpce-probe

.PHONY: demo test setup setup-test build release dist packages fmt-check clippy unit-e2e static-check units-check packages-check fleet-check release-check clean

## demo: build the static binary and run it against a local emulated AWS it starts itself
demo: setup release
	VPCE_PROBE_BIN=$(BIN_RELEASE) scripts/demo.sh

## test: install what is needed, then fmt, clippy, unit + end-to-end tests, static-binary check
test: setup-test fmt-check clippy unit-e2e static-check units-check packages-check fleet-check release-check

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --packaging

build:
	$(STATIC) cargo build --locked $(CARGO_TARGET)

release:
	$(STATIC) cargo build --locked --release $(CARGO_TARGET)

## dist: the smallest binary (fat LTO, opt-level z): slow, for packages
dist:
	$(STATIC) cargo build --locked --profile dist $(CARGO_TARGET)
	ls -l target/$(TARGET)/dist/vpce-probe

fmt-check:
	cargo fmt --all -- --check

clippy:
	$(STATIC) cargo clippy --locked --all-targets $(CARGO_TARGET) -- -D warnings

unit-e2e:
	$(STATIC) cargo test --locked $(CARGO_TARGET)

static-check: build
	scripts/static-check.sh $(BIN_DEBUG)

## units-check: systemd-analyze verify and the exposure score of systemd/*.{service,timer}
units-check: build
	tests/systemd/check-units.sh $(BIN_DEBUG)

## packages-check: build the .deb and .rpm around the static binary and inspect them
packages-check: build
	tests/packaging/check-packages.sh $(BIN_DEBUG)

## fleet-check: lint and test the SSM document, the State Manager association, the CloudFormation
## fleet dashboard/alarms and the Prometheus alerting rules
fleet-check:
	tests/packaging/check-fleet.sh

## release-check: the release workflow against its schema, cargo deny (licenses, bans, sources)
## and the CycloneDX SBOM
release-check:
	tests/release/check-release.sh

## packages: the .deb and .rpm of the release binary, in target/packaging/
packages: release
	tests/packaging/check-packages.sh $(BIN_RELEASE)

clean:
	cargo clean
