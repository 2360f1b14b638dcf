# Two entry points for a fresh machine with Python 3.11:
#   make demo   install fangpin and run it on the shipped example
#   make test   install fangpin with its test tools and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench system

$(BIN)/fangpin: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

system:
	bash scripts/system-deps.sh

demo: $(BIN)/fangpin
	$(BIN)/fangpin policy list
	$(BIN)/fangpin settle --policy shanxi-linxian-2023 --claims examples/claims.csv \
	  --identities examples/identities.csv --out var/example-settled.csv || test $$? -eq 1
	$(BIN)/fangpin explain --policy shanxi-linxian-2023 --claims examples/claims.csv \
	  --identities examples/identities.csv --setl-id S2023000003

lint: $(BIN)/fangpin
	$(BIN)/ruff check src tests bench

test: system $(BIN)/fangpin lint
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(BIN)/fangpin
	$(BIN)/python -m bench.settle
