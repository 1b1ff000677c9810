# hesscale-cli: build, test, run the studies. `make help` lists the targets.
CARGO ?= cargo
BIN := target/release/hesscale-cli

.PHONY: help build test lint

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

build: ## Build the release binary (target/release/hesscale-cli)
	$(CARGO) build --release

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings

test: lint ## Everything CI checks: lint, the Rust test suite (release), the figure scripts' tests
	$(CARGO) test --release
	$(MAKE) figures-test

include plots/figures.mk
