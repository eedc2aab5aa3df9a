# Quick start: `make demo` runs the paper's experiment on Satellite (WVAD beside the peers),
# `make test` runs the suite.
# Both create the local virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml constraints/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/dev.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m wvad.demo

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

test: lint
	$(PY) -m pytest -q -n auto

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
