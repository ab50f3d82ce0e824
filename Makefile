# Two entry points, both self-installing: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build from local disk; on a GPU machine: make setup TORCH="torch==<your cuda build>"
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/sqlbench

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b --quick || exit 1; done

clean-venv:
	rm -rf $(VENV)
