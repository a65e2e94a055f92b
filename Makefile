# The two set-up-and-go commands (see README): `make report` and `make test`.
# Both create .venv from the pinned lock on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ICB    ?= QOP
THEMES ?= all
JOBS   ?= 2

.PHONY: report test test-fast lint venv demo clean-reports snapshots lab

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "iwt needs Python >= 3.11, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (iwt)" >/dev/null
	touch $@

# Byte-compile the package up front: where PYTHONDONTWRITEBYTECODE is set, every process of a
# run (the runner and each kernel) would otherwise compile it again.
report: venv
	$(BIN)/python -m compileall -q iwt_helpers
	$(BIN)/iwt report --icb $(ICB) --themes $(THEMES) --jobs $(JOBS)

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider tests notebooks

# Unit tests only (under 20 s): the quick loop while editing. The ten slowest are listed after the
# run: a unit test that builds a data set or starts a process belongs in integration. Compiled modules
# (and pytest's rewritten test modules) are cached in __pycache__ even where PYTHONDONTWRITEBYTECODE is
# set: compiling the package and every test module again took about 2 s of each run. nbval is left out
# (no unit test is a notebook): it imports nbformat, and so jsonschema's format checkers, whose grammar
# takes 1-3 s to build; no unit test imports nbformat at the top for the same reason. The tests run in one
# worker per core (pytest-xdist, `-n auto`): on 2 cores 15.6 s against 23.8 s in one process.
test-fast: venv
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -p no:cacheprovider -p no:nbval -n auto -m unit --durations=10 tests

lint: venv
	$(BIN)/ruff check .

# Rewrite tests/snapshots/ from the demo data, after a change meant to move the numbers.
snapshots: venv
	$(BIN)/python tools/update_snapshots.py

# JupyterLab on the notebooks, with the project's settings (jupyter_config/: no news pop-up).
lab: venv
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter_config $(BIN)/jupyter lab notebooks/

demo: venv
	$(BIN)/iwt data demo

clean-reports:
	rm -rf reports/*/ reports/index.html reports/manifest.json
