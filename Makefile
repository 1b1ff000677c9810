# hesscale-cli: build, test, run the studies. `make help` lists the targets.
CARGO ?= cargo
BIN := target/release/hesscale-cli

.PHONY: help build test lint cost

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

build: ## Build the release binary (target/release/hesscale-cli)
	$(CARGO) build --release

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings

test: lint ## Everything CI checks: lint, then the whole test suite in release mode
	$(CARGO) test --release

COST_ARGS ?=
cost: build ## Time the gradient and every method on the default sweeps into results/ (COST_ARGS=--force to replace)
	$(BIN) cost --out-dir results $(COST_ARGS)
