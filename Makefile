# hesscale-cli: build, test, run the studies. `make help` lists the targets.
CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/hesscale-cli
# Cargo features of `make build` and the targets that use it (make test passes mujoco).
FEATURES ?=

.PHONY: help build build-mujoco mujoco mujoco-reference install test lint fuzz quality quality-small estimators cost optimize rl rl-mujoco ci-quality check-baseline baseline completions man

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

build: ## Build the release binary (target/release/hesscale-cli; FEATURES=mujoco for the MuJoCo tasks)
	$(CARGO) build --release $(if $(FEATURES),--features $(FEATURES))

# The MuJoCo tasks (README "MuJoCo tasks"): `make mujoco` installs the pinned MuJoCo library
# and Gymnasium's models into third_party/mujoco (git-ignored); the `mujoco` feature builds
# against them.
mujoco: ## Install MuJoCo 3.17.0 and Gymnasium 1.4.0's models into third_party/mujoco (pinned PyPI wheels, SHA-256 checked)
	@scripts/install-mujoco.sh

build-mujoco: mujoco ## Build the release binary with the MuJoCo tasks (cargo build --release --features mujoco)
	$(CARGO) build --release --features mujoco

MUJOCO_VENV := third_party/mujoco/venv
mujoco-reference: mujoco ## Re-record tests/data/gym/mujoco.json.gz with Gymnasium (a venv with the pinned wheels and NumPy 2.4.6)
	test -x $(MUJOCO_VENV)/bin/python || { python3 -m venv $(MUJOCO_VENV) && \
		$(MUJOCO_VENV)/bin/pip install --quiet --disable-pip-version-check \
		third_party/mujoco/wheels/*.whl numpy==2.4.6 imageio packaging; }
	$(MUJOCO_VENV)/bin/python tests/data/gym/make_mujoco_reference.py

install: ## Install hesscale-cli into ~/.cargo/bin (cargo install --locked --path .)
	$(CARGO) install --locked --path .

completions: build ## Shell completion scripts into target/completions/
	mkdir -p target/completions
	for shell in bash zsh fish; do $(BIN) completions $$shell > target/completions/hesscale-cli.$$shell; done

man: build ## The manual pages (the program's and one per subcommand) into target/man/
	mkdir -p target/man
	$(BIN) man > target/man/hesscale-cli.1
	for sub in $$($(BIN) man | sed -n 's/^hesscale\\-cli\\-\([a-z]*\)(1).*/\1/p'); do $(BIN) man $$sub > target/man/hesscale-cli-$$sub.1; done

lint: ## cargo fmt --check and clippy with warnings as errors (and, once make mujoco ran, clippy with the mujoco feature)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings
	if [ -e third_party/mujoco/.installed ]; then $(CARGO) clippy --all-targets --release --features mujoco -- -D warnings; fi

test: ## Everything CI checks: lint, the Rust tests (release), the baseline check, the figure scripts' tests; ends with "N passed, M failed"
	@MAKE=$(MAKE) CARGO=$(CARGO) scripts/run-tests.sh

FUZZ_CASES ?= 20000
fuzz: ## Feed every file reader, every study's presets and metadata arbitrary and damaged input, longer than make test does
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --test fuzz_readers

# The CI regression grids (README "Regression check"): random networks (ci-quality) and
# networks trained on the shipped MNIST subset (ci-trained); each summary must match its
# committed baseline.
CI_GRIDS := ci-quality ci-trained
CI_OUT := $(or $(CARGO_TARGET_DIR),target)/ci

ci-quality: build ## Run the CI regression grids afresh into target/ci/<grid>
	@for grid in $(CI_GRIDS); do \
		rm -rf $(CI_OUT)/$$grid && \
		echo "$(BIN) quality --preset experiments/$$grid.json --out-dir $(CI_OUT)/$$grid --quiet" && \
		$(BIN) quality --preset experiments/$$grid.json --out-dir $(CI_OUT)/$$grid --quiet || exit 1; \
	done

check-baseline: ci-quality ## Check the CI grids' error numbers against the committed baselines
	@for grid in $(CI_GRIDS); do \
		echo "$(BIN) check --baseline experiments/baselines/$$grid.csv $(CI_OUT)/$$grid/quality_summary.csv" && \
		$(BIN) check --baseline experiments/baselines/$$grid.csv $(CI_OUT)/$$grid/quality_summary.csv || exit 1; \
	done

baseline: ci-quality ## Regenerate the committed baselines, on purpose, when a change is meant to move the numbers
	mkdir -p experiments/baselines
	for grid in $(CI_GRIDS); do cp $(CI_OUT)/$$grid/quality_summary.csv experiments/baselines/$$grid.csv; done

include plots/figures.mk

# The quality study (README "### quality"). Both pass --resume: rerunning continues.
QUALITY_OUT ?= results

quality: build ## The standard quality study (widths 16,32,64 x 30 seeds) into results/ (or QUALITY_OUT), resumable
	$(BIN) quality --widths 16,32,64 --seeds 30 --out-dir $(QUALITY_OUT) --resume

quality-small: build ## A quick quality grid that feeds every quality figure (< 1 min) into results/ (or QUALITY_OUT)
	$(BIN) quality --activations tanh,relu --losses cross_entropy,mse --widths 8,16,32 \
		--seeds 5 --samples 100 --out-dir $(QUALITY_OUT) --resume

# The estimators' equal-cost comparison (README "Estimators at equal cost"): the preset on
# random networks at batch 1, the same at batch 32, and on MNIST-trained networks; then its
# error-vs-cost figure. Under 10 minutes on 2 cores; resumable.
ESTIMATORS_OUT ?= results/estimators
estimators: build ## The estimators' equal-cost comparison (experiments/estimators.json at batch 1, 32 and on MNIST-trained nets, < 10 min) and its figure
	$(BIN) quality --preset experiments/estimators.json --out-dir $(ESTIMATORS_OUT)/batch1 --resume --quiet
	$(BIN) quality --preset experiments/estimators.json --batch-size 32 --seeds 10 --samples 50 \
		--out-dir $(ESTIMATORS_OUT)/batch32 --resume --quiet
	$(BIN) quality --preset experiments/estimators.json --data mnist --inputs 784 --widths 32 \
		--train-steps 1000 --seeds 3 --samples 50 --out-dir $(ESTIMATORS_OUT)/mnist --resume --quiet
	$(MAKE) --no-print-directory $(FIGURES_STAMP)
	for run in batch1 batch32 mnist; do \
		$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(ESTIMATORS_OUT)/$$run \
			--out $(ESTIMATORS_OUT)/figures/$$run --only fig11 --dpi 100 || exit 1; \
	done

COST_ARGS ?=
cost: build ## Time the gradient and every method on the default sweeps into results/ (COST_ARGS=--force to replace)
	$(BIN) cost --out-dir results $(COST_ARGS)

# The optimize study (README "### optimize"), resumable like the quality targets.
OPTIMIZE_PRESET ?= experiments/optimize-mnist.json
optimize: build ## The small optimize study (experiments/optimize-mnist.json, under 10 minutes on 2 cores) into results/optimize-mnist, resumable
	$(BIN) optimize --preset $(OPTIMIZE_PRESET) --resume

# The rl study (README "### rl"), resumable.
RL_PRESET ?= experiments/rl-small.json
rl: build ## The small rl study (experiments/rl-small.json, under 10 minutes on 2 cores) into results/rl-small, resumable
	$(BIN) rl --preset $(RL_PRESET) --resume

rl-mujoco: build-mujoco ## The small MuJoCo rl study (experiments/rl-mujoco-small.json, about 30 minutes on 2 idle cores) into results/rl-mujoco-small, resumable
	$(BIN) rl --preset experiments/rl-mujoco-small.json --resume --yes
