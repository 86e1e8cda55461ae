# Two entry points (see README): `make demo` and `make test`. Both set up what they need first and
# are cheap to repeat: the virtual environment is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= .demo
PYTEST_WORKERS ?= 2

.PHONY: demo test lint setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/casparian demo $(DEMO)
	$(BIN)/casparian --home $(DEMO)/home tui

lint: $(STAMP)
	$(BIN)/ruff format --check casparian_engine casparian_tui tests bench
	$(BIN)/ruff check casparian_engine casparian_tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
