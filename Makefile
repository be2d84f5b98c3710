# The two quickstart commands work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_LAKE ?= demo-lake

.PHONY: install demo test lint typecheck bench sample-logs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	rm -rf $(DEMO_LAKE)
	$(BIN)/trailwise ingest sample_logs --lake $(DEMO_LAKE)  || test $$? -eq 2
	$(BIN)/trailwise status --lake $(DEMO_LAKE)
	$(BIN)/trailwise query lake_summary --lake $(DEMO_LAKE)

test: install
	$(BIN)/ruff check pipeline cli tests bench
	$(BIN)/mypy pipeline
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/python -m pytest -m bench -s -q -p no:xdist bench

sample-logs: install
	$(BIN)/python bench/generate_logs.py sample --out sample_logs

clean:
	rm -rf $(VENV) $(DEMO_LAKE) .pytest_cache .mypy_cache .ruff_cache
