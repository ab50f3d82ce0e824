"""The GPU smoke suite runs only on a CUDA machine with SQLBENCH_GPU_MODEL naming a local model
folder; anywhere else every test here is skipped with the reason. None of these tests uses the
shared-data fixtures, so the CI hook that turns a skipped real-data test into a failure
(tests/fixtures/datasets.py) leaves these skips alone.

    SQLBENCH_GPU_MODEL=~/models/Qwen2.5-0.5B-Instruct pytest -m gpu tests/gpu
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

GPU_MODEL_ENV = "SQLBENCH_GPU_MODEL"


def gpu_skip_reason() -> str | None:
    """Why this machine cannot run the GPU suite, or None when it can."""
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        return "GPU smoke suite: no CUDA GPU on this machine"
    model = os.environ.get(GPU_MODEL_ENV)
    if not model:
        return f"GPU smoke suite: set {GPU_MODEL_ENV} to a local model folder (README: GPU smoke suite)"
    if not (Path(model).expanduser() / "config.json").is_file():
        return f"GPU smoke suite: {GPU_MODEL_ENV}={model} is not a local model folder (no config.json)"
    if importlib.util.find_spec("vllm") is None:
        return "GPU smoke suite: vllm is not installed (pip install -e '.[gpu]')"
    return None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    reason = gpu_skip_reason()
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gpu)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def gpu_model() -> Path:
    return Path(os.environ[GPU_MODEL_ENV]).expanduser().resolve()
