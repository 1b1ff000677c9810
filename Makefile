# hesscale-cli: build, test, run the studies. `make help` lists the targets.
CARGO ?= cargo
BIN := target/release/hesscale-cli

.PHONY: help build test lint quality quality-small

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

# The quality study (README "### quality"). Both pass --resume: rerunning continues.
QUALITY_OUT ?= results

quality: build ## The default quality study (widths 16,32,64 x 30 seeds) into results/ (or QUALITY_OUT), resumable
	$(BIN) quality --widths 16,32,64 --seeds 30 --out-dir $(QUALITY_OUT) --resume

quality-small: build ## A quick quality grid that feeds every quality figure (< 1 min) into results/ (or QUALITY_OUT)
	$(BIN) quality --activations tanh,relu --losses cross_entropy,mse --widths 8,16,32 \
		--seeds 5 --samples 100 --out-dir $(QUALITY_OUT) --resume
