# Deep Learning from the Foundations — `make help` lists the targets.
# Every target works on a fresh clone: it installs what it needs first.
SHELL   := /bin/bash
# the Python that made .venv (so that a rebuild, after a pull changes setup.py, uses it again), else python3
VENV_PYTHON := $(shell awk -F' *= *' '$$1 == "executable" {e = $$2} $$1 == "home" {h = $$2} $$1 == "version" {split($$2, v, "."); p = h "/python" v[1] "." v[2]} END {print e ? e : p}' .venv/pyvenv.cfg 2>/dev/null)
PYTHON  ?= $(or $(wildcard $(VENV_PYTHON)),python3)
VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
STAMP   := $(VENV)/.installed
GPU_STAMP := $(VENV)/.installed-gpu
# Triton (the extra '.[gpu]', about 1 GB): for contributors and CI always, for learners only on a machine with an NVIDIA GPU
GPU_EXTRA := $(if $(shell command -v nvidia-smi),$(GPU_STAMP))
WORKERS ?= 2
NBS     ?= nbs/*.ipynb
NB      ?=
BUSY    ?= 2
ARGS    ?=
WIDE    ?= --wide-vectors
PORT    ?= 8000
DOCS    := $(shell sed -n 's/^doc_path *= *//p' settings.ini)
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)

.DEFAULT_GOAL := help
.PHONY: help install check exercises run data export test test-nbs lab outputs bench docs docs-serve test-browser clean

help: ## Show the targets, for learners first, then for contributors
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n%s\n", substr($$0, 5)} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): setup.py settings.ini
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is not installed: install it (Debian/Ubuntu: apt install python3.12 python3.12-venv) or name one you have (ls /usr/bin/python3*), e.g. make lab PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'): the course needs 3.10 or newer; name one, e.g. make lab PYTHON=python3.12"; exit 1; }
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print(sys.version_info[:2])')" != "$$($(PYTHON) -c 'import sys; print(sys.version_info[:2])')" ]; then \
		echo "$(VENV) was made with another Python: making it afresh with $(PYTHON)"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the course's packages into $(VENV): PyTorch alone is a download of about 1 GB (several GB with its CUDA libraries), minutes on a slow link"
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name 'Python 3 (dl-foundations)' >/dev/null
	touch $@

$(GPU_STAMP): $(STAMP)
	@echo "Installing Triton, the extra .[gpu] (about 1 GB)"
	$(PY) -m pip install --progress-bar on -e '.[dev,gpu]'
	touch $@

##@ For learners
lab: install $(GPU_EXTRA) exercises ## Set everything up (first time: a few minutes), then open the course in JupyterLab (ARGS='--port 9999' etc.)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/README.md $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

check: install ## Check the install in seconds: Python, the course package, the data, the Jupyter kernel, a lesson's code
	@$(PY) tools/check.py

exercises: ## Write your copy of each lesson into exercises/, answers replaced by stubs (a copy there is kept; FORCE=1 replaces them all)
	@$(PYTHON) tools/exercises.py $(if $(filter 1 yes true,$(FORCE)),--force)

run: $(STAMP) $(GPU_EXTRA) data ## Run notebooks top to bottom on a quiet machine, naming the first cell that fails (NB=nbs/01_matmul.ipynb for one)
	@$(MAKE) --no-print-directory test-nbs BUSY=0 NB=$(NB)

bench: $(STAMP) $(GPU_EXTRA) data ## Benchmark the matmul ladder, backward pass, autograd engine and training into bench-results/ (ARGS=--quick: half a minute or less without a GPU, once compiled)
	$(PY) -m exp.bench $(WIDE) $(ARGS)

docs-serve: docs ## Build the website, then serve it at http://127.0.0.1:8000 (PORT=8001 for another port)
	@echo "Serving $(DOCS)/ at http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(PY) -m http.server --bind 127.0.0.1 --directory $(DOCS) $(PORT)

install: $(STAMP) data ## Create .venv with the course package, dev tools, a Jupyter kernel and the data

data: $(STAMP) ## Fetch MNIST into the cache (DLF_DATA, an absolute path, else dl-foundations/mnist in the user cache folder, e.g. ~/.cache) and verify it
	@$(PY) -c "from exp.nb_00 import fetch_mnist; print('MNIST ready in', fetch_mnist())"

##@ For contributors (see CONTRIBUTING.md)
export: $(STAMP) ## Check the notebooks, write exp/ from them (nbdev_export on a scratch copy) and clean them (nbdev_clean)
	$(PY) tools/export.py

test: $(GPU_STAMP) data ## Run everything CI checks: gates, every notebook top to bottom, pytest
	$(PY) tools/gates.py lint exports clean outputs
	$(MAKE) --no-print-directory test-nbs NB=
	$(BIN)/pytest -q -n $(WORKERS) tests

test-nbs: $(STAMP) $(GPU_EXTRA) data ## Run the notebooks top to bottom, each in a fresh process as in a fresh kernel, while BUSY=2 busy loops keep the cores busy (BUSY=0: quiet; NB=nbs/01_matmul.ipynb for one)
	$(PY) tools/busy.py $(BUSY) -- $(PY) tools/test_nbs.py --workers $(WORKERS) $(or $(NB),$(NBS))

# the notebooks `make outputs` re-runs: NB=, else NBS= (by default all), less 01c where there is no GPU (its saved outputs come from one)
OUT_NBS = $(or $(NB),$(if $(GPU_EXTRA),$(NBS),$(filter-out nbs/01c_gpu.ipynb,$(wildcard $(NBS)))))

outputs: $(GPU_STAMP) data ## Re-run notebooks and save their outputs (NB=nbs/01_matmul.ipynb for one; 01c only on a GPU unless named), then clean them
	$(PY) tools/outputs.py $(OUT_NBS)

docs: $(STAMP) ## Build the course website into _docs/ from the notebooks and their saved outputs (offline)
	$(PY) tools/docs.py

test-browser: $(STAMP) ## Check the website in headless Chromium, network cut off (installs Debian's chromium if missing, with sudo when not root)
	@command -v chromium >/dev/null || { $(AS_ROOT) apt-get update -qq && \
	  $(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	REQUIRE_BROWSER=1 DOCS_SCREENSHOT=_proc/docs-screenshot.png $(BIN)/pytest -q tests/test_docs.py -k browser
	@echo "Screenshot of a notebook page: _proc/docs-screenshot.png"

clean: ## Remove the virtual environment and build leftovers (the data cache stays)
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis _docs _proc bench-results
	find . -name __pycache__ -prune -exec rm -rf {} +
