#!/usr/bin/env bash
# Build a throwaway venv at $1 with the newest versions pyproject.toml allows (no lock):
# `make lock` freezes it into constraints.txt, `make check-latest` runs the suite in it.
set -euo pipefail
dir=${1:?usage: tools/latest-venv.sh DIR}
py=${PY:-python3}
torch=${TORCH:-torch==2.13.0}
cd "$(dirname "$0")/.."
rm -rf "$dir"
"$py" -m venv "$dir"
"$dir/bin/python" -m pip install -q --upgrade pip
"$dir/bin/python" -m pip install -q "$torch"
# Everything else goes to its newest allowed version, but torch stays the build chosen above:
# an eager upgrade would otherwise swap the CPU build for a multi-GB CUDA one.
pin="$dir/torch-pin.txt"
"$dir/bin/python" -c "import torch; print('torch==' + torch.__version__)" > "$pin"
"$dir/bin/python" -m pip install -q --upgrade --upgrade-strategy eager -c "$pin" -e ".[dev]"
if [ -n "${NO_DEPS:-}" ]; then
    # shellcheck disable=SC2086  # a list of package names
    "$dir/bin/python" -m pip install -q --upgrade --no-deps $NO_DEPS
fi
