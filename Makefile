# The two quickstart commands work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_LAKE ?= demo-lake

.PHONY: install demo test bench goldens sample-logs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	rm -rf $(DEMO_LAKE)
	$(BIN)/trailwise demo --lake $(DEMO_LAKE)
	@printf '\n== trailwise report --lake $(DEMO_LAKE) --output demo-report.html\n'
	$(BIN)/trailwise report --lake $(DEMO_LAKE) --output demo-report.html

test: install
	$(BIN)/ruff check pipeline cli tests bench
	@# mypy needs the installed names (trailwise.pipeline), which exist only as a package-dir
	@# mapping: give it a tree of symlinks with those names.
	mkdir -p .typecheck/trailwise
	for d in pipeline cli queries; do ln -sfn ../../$$d .typecheck/trailwise/$$d; done
	cd .typecheck && MYPYPATH=. ../$(BIN)/mypy --explicit-package-bases -p trailwise.pipeline
	@# --dist loadgroup: each xdist_group runs on one worker, so the Spark tests start two JVMs
	@# ("spark": the queries; "spark-ingest": ingest and bulk), one per worker, and balance.
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: install
	$(BIN)/python bench/bench_mapping.py
	$(BIN)/python bench/bench_expand.py
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_queries.py
	$(BIN)/python bench/bench_runs.py
	$(BIN)/python bench/bench_report.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_resource.py

goldens: install
	$(BIN)/python -m tests.goldens

sample-logs: install
	$(BIN)/python bench/generate_logs.py sample --out sample_logs

clean:
	rm -rf $(VENV) $(DEMO_LAKE) demo-report.html .pytest_cache .mypy_cache .ruff_cache
