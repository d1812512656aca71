# Lanyard: the two commands are `make run` and `make test`.
CARGO ?= cargo
CONFIG ?= examples/quickstart.toml

.PHONY: run test check fmt-check clippy unit build-tests build release bench deps-run deps-test

## Start the broker on the quickstart config (memory sessions, demo directory).
run: deps-run
	$(CARGO) run --release --bin lanyard -- serve --config $(CONFIG)

## Everything CI checks: formatting, lints, and every test.
test: deps-test check

check: fmt-check
	@# Lints and the test build share no compiled code (clippy only checks, the tests need
	@# machine code), so they run side by side: each fills the other's single-threaded
	@# stretches (type-checking one large crate, linking) on a two-core machine. Clippy
	@# keeps its own target directory, since cargo locks one directory per build.
	@# Both cargo runs would otherwise create `target/` at the same moment on a fresh
	@# clone, and one can fail to find the directory the other is renaming into place.
	@mkdir -p target/lint
	$(MAKE) --no-print-directory -j2 --output-sync=target clippy build-tests
	$(CARGO) test --workspace

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --target-dir target/lint -- -D warnings

unit:
	$(CARGO) test --workspace

build-tests:
	$(CARGO) test --workspace --no-run

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
