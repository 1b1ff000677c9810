# Figures from a results directory. Included by the main Makefile (`include plots/figures.mk`);
# paths are relative to the repository root, where make runs.
#
#   make figures                      # results/*.csv -> plots/out/*.png, *.pdf
#   make figures FIGURES_RESULTS=dir FIGURES_OUT=dir
#   make figures-test                 # unittest suite of the figure scripts (synthetic data)
#   make figure-example               # the README's plots/example_normalized_l1.png
#   make figure-example-trained       # plots/example_trained_normalized_l1.png (ICML 2024 grid)
#
# The first run creates the virtual environment plots/.venv from plots/requirements.txt;
# a stamp file inside it re-installs only when requirements.txt changes.

FIGURES_PYTHON ?= python3
FIGURES_RESULTS ?= results
FIGURES_OUT ?= plots/out
FIGURES_VENV := plots/.venv
FIGURES_STAMP := $(FIGURES_VENV)/.requirements-installed

$(FIGURES_STAMP): plots/requirements.txt
	$(FIGURES_PYTHON) -m venv $(FIGURES_VENV)
	$(FIGURES_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r plots/requirements.txt
	touch $@

.PHONY: figures figures-test figure-example figure-example-optimize figure-example-trained figure-example-rl figure-example-rl-mujoco
figures: $(FIGURES_STAMP) ## Render every figure that has data: results/*.csv -> plots/out/
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(FIGURES_RESULTS) --out $(FIGURES_OUT)

figures-test: $(FIGURES_STAMP) ## Test the figure scripts on synthetic data
	$(FIGURES_VENV)/bin/python -m unittest discover -s plots/tests -v

# The README's example: fig1 for the cross_entropy cells at width 32 of `make quality-small`
# (one ReLU and one tanh panel) at 100 dpi, well under 150 KB.
FIGURES_EXAMPLE := plots/example_normalized_l1.png
figure-example: $(FIGURES_STAMP) ## Render the README's example figure from make quality-small data -> plots/example_normalized_l1.png
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(FIGURES_RESULTS) \
		--out $(FIGURES_OUT)/example --only fig1 --where loss=cross_entropy --where width=32 --dpi 100
	cp $(FIGURES_OUT)/example/fig1_normalized_l1.png $(FIGURES_EXAMPLE)

# The optimize section's figures: fig5 and fig6 of `make optimize` (results/optimize-mnist)
# at 100 dpi, copied next to the quality example.
OPTIMIZE_RESULTS ?= results/optimize-mnist
figure-example-optimize: $(FIGURES_STAMP) ## Render the optimize figures from make optimize data -> plots/example_*.png
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(OPTIMIZE_RESULTS) \
		--out $(FIGURES_OUT)/optimize --only fig5 --only fig6 --dpi 100
	cp $(FIGURES_OUT)/optimize/fig5_learning_curves.png plots/example_learning_curves.png
	cp $(FIGURES_OUT)/optimize/fig6_step_size_sensitivity.png plots/example_step_size_sensitivity.png

# The trained-network figure: fig7 of the ICML 2024 quality grid (`hesscale-cli quality
# --preset experiments/icml2024.json`, results/icml2024) at 100 dpi, next to the others.
ICML2024_RESULTS ?= results/icml2024
figure-example-trained: $(FIGURES_STAMP) ## Render fig7 from the icml2024 preset's data -> plots/example_trained_normalized_l1.png
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(ICML2024_RESULTS) \
		--out $(FIGURES_OUT)/trained --only fig7 --dpi 100
	cp $(FIGURES_OUT)/trained/fig7_trained_normalized_l1.png plots/example_trained_normalized_l1.png

# The rl section's figures: fig9 and fig10 of `make rl` (results/rl-small) at 100 dpi.
RL_RESULTS ?= results/rl-small
figure-example-rl: $(FIGURES_STAMP) ## Render the rl figures from make rl data -> plots/example_rl_*.png
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(RL_RESULTS) \
		--out $(FIGURES_OUT)/rl --only fig9 --only fig10 --dpi 100
	cp $(FIGURES_OUT)/rl/fig9_rl_learning_curves.png plots/example_rl_learning_curves.png
	cp $(FIGURES_OUT)/rl/fig10_rl_step_size_sensitivity.png plots/example_rl_step_size_sensitivity.png

# The MuJoCo rl figures: fig9 of `make rl-mujoco` (results/rl-mujoco-small, one step size)
# and fig10 of the same grid at large step sizes (results/rl-mujoco-large, README "rl on
# MuJoCo"), at 100 dpi.
RL_MUJOCO_RESULTS ?= results/rl-mujoco-small
RL_MUJOCO_LARGE_RESULTS ?= results/rl-mujoco-large
figure-example-rl-mujoco: $(FIGURES_STAMP) ## Render the MuJoCo rl figures (fig9 of make rl-mujoco, fig10 of its large-step-size grid) -> plots/example_rl_mujoco_*.png
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(RL_MUJOCO_RESULTS) \
		--out $(FIGURES_OUT)/rl-mujoco --only fig9 --dpi 100
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(RL_MUJOCO_LARGE_RESULTS) \
		--out $(FIGURES_OUT)/rl-mujoco-large --only fig10 --dpi 100
	cp $(FIGURES_OUT)/rl-mujoco/fig9_rl_learning_curves.png plots/example_rl_mujoco_learning_curves.png
	cp $(FIGURES_OUT)/rl-mujoco-large/fig10_rl_step_size_sensitivity.png plots/example_rl_mujoco_step_size_sensitivity.png
