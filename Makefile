# Quick start: `make demo` runs the paper's experiment on Satellite (WVAD beside the peers),
# `make test` runs the suite.
# Both create the local virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-floor lint clean

$(STAMP): pyproject.toml constraints/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/dev.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m wvad.demo

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

test: lint
	$(PY) -m pytest -q -n auto

# The suite's core against the oldest versions pyproject.toml declares (constraints/floor.txt),
# in a second environment .floor; CI runs it after `make test`.
FLOOR := .floor
FLOOR_TESTS := tests/test_estimator.py tests/test_persistence.py tests/test_sklearn_contract.py \
	tests/test_encoding.py tests/evidence tests/data/test_readers.py

$(FLOOR)/.installed: pyproject.toml constraints/floor.txt
	test -x $(FLOOR)/bin/python || $(PYTHON) -m venv $(FLOOR)
	$(FLOOR)/bin/python -m pip install -q --upgrade pip
	$(FLOOR)/bin/python -m pip install -q --only-binary :all: -c constraints/floor.txt \
		-e ".[data]" pytest hypothesis
	touch $@

test-floor: $(FLOOR)/.installed
	$(FLOOR)/bin/python -m pytest -q -p no:cacheprovider $(FLOOR_TESTS)

clean:
	rm -rf $(VENV) $(FLOOR) build dist src/*.egg-info .pytest_cache .ruff_cache
