# One command sets up and runs the demo on the built-in sandbox: `make demo`.
# One command runs the tests: `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/lapor-sync: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: setup demo test lint
setup: $(BIN)/lapor-sync

demo: setup
	$(BIN)/lapor-sync demo

test: setup
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check lapor_sync tests scripts
	$(BIN)/mypy
