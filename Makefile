# Lanyard: the two commands are `make run` and `make test`.
CARGO ?= cargo
CONFIG ?= examples/quickstart.toml

.PHONY: run test check fmt-check clippy unit build release bench deps-run deps-test

## Start the broker on the quickstart config (memory sessions, demo directory).
run: deps-run
	$(CARGO) run --release --bin lanyard -- serve --config $(CONFIG)

## Everything CI checks: formatting, lints, and every test.
test: deps-test check

check: fmt-check clippy unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

build:
	$(CARGO) build

release:
	$(CARGO) build --release --bin lanyard

bench:
	$(CARGO) bench --workspace

deps-run:
	@scripts/ensure-deps.sh run

deps-test:
	@scripts/ensure-deps.sh test
