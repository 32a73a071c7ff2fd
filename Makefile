# vpce-probe — the two set-up commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
TARGET := x86_64-unknown-linux-gnu
STATIC := RUSTFLAGS="-C target-feature=+crt-static"
CARGO_TARGET := --target $(TARGET)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN_DEBUG := $(TARGET_DIR)/$(TARGET)/debug/vpce-probe
BIN_RELEASE := $(TARGET_DIR)/$(TARGET)/release/vpce-probe
BIN_DIST := $(TARGET_DIR)/$(TARGET)/dist/vpce-probe

# aarch64 (Graviton): a cross build with Debian's rustc 1.96 (`rustc-web`) and its arm64 standard
# library, linked by gcc-aarch64-linux-gnu (scripts/setup.sh --cross installs them); cargo is the
# rustup one. CROSS_RUSTC=rustc uses rustup's instead (after `rustup target add $(CROSS_TARGET)`).
# The tests run the result under qemu-aarch64-static, called explicitly.
CROSS_TARGET := aarch64-unknown-linux-gnu
CROSS_RUSTC ?= /usr/bin/rustc
CROSS_PROFILE ?= cross-test
CROSS_ENV := $(STATIC) RUSTC=$(CROSS_RUSTC) \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
CROSS_BIN = $(TARGET_DIR)/$(CROSS_TARGET)/$(if $(filter dev,$(CROSS_PROFILE)),debug,$(CROSS_PROFILE))/vpce-probe
QEMU := qemu-aarch64-static
# The loopback end-to-end cases run against the aarch64 binary (tests/e2e_check.rs).
CROSS_E2E_TESTS := healthy_bucket_passes_every_check_and_leaves_nothing_behind \
	no_credentials_anywhere_fails_fast_with_a_hint read_only_writes_nothing \
	cloudwatch_sinks_deliver_and_an_outage_loses_no_report invalid_input_exits_2_with_a_clear_error \
	help_and_version_exit_0

.PHONY: demo test setup setup-test setup-cross build release dist cross cross-dist packages fmt-check clippy unit-e2e static-check units-check packages-check cross-e2e cross-static-check cross-packages-check fleet-check release-check clean

## demo: build the static binary and run it against a local emulated AWS it starts itself
demo: setup release
	VPCE_PROBE_BIN=$(BIN_RELEASE) scripts/demo.sh

## test: install what is needed, then fmt, clippy, unit + end-to-end tests, static-binary check
test: setup-test fmt-check clippy unit-e2e static-check units-check packages-check cross-e2e cross-static-check cross-packages-check fleet-check release-check

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --packaging

setup-cross:
	scripts/setup.sh --cross

build:
	$(STATIC) cargo build --locked $(CARGO_TARGET)

release:
	$(STATIC) cargo build --locked --release $(CARGO_TARGET)

## dist: the smallest binary (fat LTO, opt-level z): slow, for packages
dist:
	$(STATIC) cargo build --locked --profile dist $(CARGO_TARGET)
	ls -l $(BIN_DIST)

## cross: the static aarch64 binary, $(CROSS_PROFILE) profile (CROSS_PROFILE=dist for the smallest)
cross: setup-cross
	$(CROSS_ENV) cargo build --locked --profile $(CROSS_PROFILE) --target $(CROSS_TARGET)
	ls -l $(CROSS_BIN)

## cross-dist: the smallest aarch64 binary, for packages (slow)
cross-dist:
	$(MAKE) cross CROSS_PROFILE=dist

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

## cross-e2e: the loopback end-to-end cases against the aarch64 binary under qemu; the x86_64 test
## binaries of unit-e2e are reused (VPCE_PROBE_BIN, VPCE_PROBE_RUNNER: tests/common/mod.rs)
cross-e2e: cross
	VPCE_PROBE_BIN=$(CROSS_BIN) VPCE_PROBE_RUNNER=$(QEMU) \
	$(STATIC) cargo test --locked $(CARGO_TARGET) --test e2e_check -- --exact $(CROSS_E2E_TESTS)

cross-static-check: cross
	scripts/static-check.sh $(CROSS_BIN) $(CROSS_TARGET)

## cross-packages-check: the arm64 .deb and aarch64 .rpm around the aarch64 binary, inspected
cross-packages-check: cross
	tests/packaging/check-packages.sh $(CROSS_BIN) $(CROSS_TARGET)

## fleet-check: lint and test the SSM document, the State Manager association, the CloudFormation
## fleet dashboard/alarms and the Prometheus alerting rules
fleet-check:
	tests/packaging/check-fleet.sh

## release-check: the release workflow against its schema, cargo deny (licenses, bans, sources)
## and the CycloneDX SBOM
release-check:
	tests/release/check-release.sh

## packages: the .deb and .rpm of the dist binaries of both architectures, in target/packaging/
packages: dist cross-dist
	scripts/size-check.sh $(BIN_DIST)
	scripts/size-check.sh $(TARGET_DIR)/$(CROSS_TARGET)/dist/vpce-probe
	tests/packaging/check-packages.sh $(BIN_DIST) $(TARGET)
	tests/packaging/check-packages.sh $(TARGET_DIR)/$(CROSS_TARGET)/dist/vpce-probe $(CROSS_TARGET)

clean:
	cargo clean
