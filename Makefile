# Two commands do everything:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_CONFIG = data/samples/demo.yml
# Demo mode (no sign-in) runs only on a SQLite file named demo.db (tracker/demo_mode.py).
DB     ?= sqlite:///data/demo.db
PORT   ?= 8501

.PHONY: install demo test lint bench clean-demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(BIN)/.installed

## Ingest the bundled sample feeds (offline) into data/demo.db and start the dashboard in demo mode.
demo: install
	$(BIN)/tracker --config $(DEMO_CONFIG) --db $(DB) ingest
	$(BIN)/tracker --config $(DEMO_CONFIG) --db $(DB) dashboard --demo --port $(PORT)

## The whole test suite, PostgreSQL and Chromium included (installed/started when missing).
test: install
	bash scripts/test-services.sh
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/match.py --quick
	$(BIN)/python bench/ingest.py --quick
