# Figures from a results directory. Included by the main Makefile (`include plots/figures.mk`);
# paths are relative to the repository root, where make runs.
#
#   make figures                      # results/*.csv -> plots/out/*.png, *.pdf
#   make figures FIGURES_RESULTS=dir FIGURES_OUT=dir
#   make figures-test                 # unittest suite of the figure scripts (synthetic data)
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

.PHONY: figures figures-test
figures: $(FIGURES_STAMP) ## Render every figure that has data: results/*.csv -> plots/out/
	$(FIGURES_VENV)/bin/python plots/make_figures.py --results $(FIGURES_RESULTS) --out $(FIGURES_OUT)

figures-test: $(FIGURES_STAMP) ## Test the figure scripts on synthetic data
	$(FIGURES_VENV)/bin/python -m unittest discover -s plots/tests -v
