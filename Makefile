# Two entry points (README): `make demo` runs the bot on its embedded defaults,
# `make test` runs the whole suite. Both build a local virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/rotation-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/rotation-bot
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/rotation-bot
	$(BIN)/rotation-bot demo

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(BIN)/rotation-bot
	$(BIN)/python -m benchmarks.signals
	$(BIN)/python -m benchmarks.backtest

clean:
	rm -rf $(VENV) build *.egg-info
