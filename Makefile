# segmint: two commands set everything up on a fresh machine.
#   make demo   venv + install + sample company + full pipeline on DuckDB + HTML report
#   make test   venv + install + lint (ruff, mypy) + the whole pytest suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
DEMO_CUSTOMERS ?= 10000
# the demo's first run: a month before the generated data's as-of time (2026-11-01)
DEMO_FIRST_AS_OF ?= 2026-10-01
UV_VERSION := 0.13.9

.PHONY: demo test lint format bench install java chromium clean lock

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) scripts/check_python.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

# Spark needs a JVM; install one from the distribution if the machine has none.
java:
	@bash scripts/ensure_java.sh

# The report tests check the HTML report in headless Chromium; install it if missing.
chromium:
	@bash scripts/ensure_chromium.sh

demo: install
	$(BIN)/segmint generate --customers $(DEMO_CUSTOMERS) --seed 7 --out $(DEMO_DIR)/data
	@# a run a month before the data's as-of time first, so the report shows how customers
	@# moved between segments from one run to the next (the migration Sankey)
	$(BIN)/segmint run $(DEMO_DIR)/data/segmint.yml --as-of $(DEMO_FIRST_AS_OF) --no-report
	$(BIN)/segmint run $(DEMO_DIR)/data/segmint.yml --report $(DEMO_DIR)/report.html
	@# generated data carries ground truth: score identity and clusters on it, and write the
	@# report again (English and Chinese) with those scores in it
	$(BIN)/segmint identity evaluate $(DEMO_DIR)/data/segmint.yml --truth $(DEMO_DIR)/data/truth/records.csv
	$(BIN)/segmint segments evaluate $(DEMO_DIR)/data/segmint.yml --truth $(DEMO_DIR)/data/truth
	$(BIN)/segmint report $(DEMO_DIR)/data/segmint.yml --out $(DEMO_DIR)/report.html
	$(BIN)/segmint report $(DEMO_DIR)/data/segmint.yml --out $(DEMO_DIR)/report_zh.html --lang zh
	@echo "results: warehouse $(DEMO_DIR)/data/warehouse.duckdb; reports $(DEMO_DIR)/report.html (English), $(DEMO_DIR)/report_zh.html (中文)"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: install java chromium lint
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/pytest -q --timeout 900 -n 2 --dist loadfile --durations 25

bench: install java
	$(BIN)/python bench/run.py
	$(BIN)/python bench/clv.py
	$(BIN)/python bench/predict_scoring.py --reuse
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/profiles.py

# Re-pin every dependency (run after editing pyproject.toml).
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -q -o requirements.lock

clean:
	rm -rf $(VENV) $(DEMO_DIR) .mypy_cache .ruff_cache .pytest_cache
