# Two entry points for a fresh machine with Python 3.11:
#   make demo   install fangpin, build a synthetic county's year and serve it on 127.0.0.1:8000
#   make test   install fangpin with its test tools and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench system

$(BIN)/fangpin: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m fangpin.engine.warm
	touch $@

system:
	bash scripts/system-deps.sh

demo: $(BIN)/fangpin
	$(BIN)/fangpin demo

lint: $(BIN)/fangpin
	$(BIN)/ruff check src tests bench

test: system $(BIN)/fangpin lint
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(BIN)/fangpin
	$(BIN)/python -m bench.settle
