"""Where config.yaml is, and a cheap look at one key without validating the file.

Kept apart from ``sqlbench.config`` (pydantic) so the workbench can find its runs
folder before its first frame and validate the settings right after it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlbench.errors import ConfigError

DEFAULT_CONFIG = "config.yaml"
ENV_PREFIX = "SQLBENCH_"
# SQLBENCH_* variables that are not settings: where settings are, and what tests and
# benchmarks read (shared data, the GPU suite's model, per-rank training reports).
NOT_SETTINGS = frozenset({"SQLBENCH_CONFIG", "SQLBENCH_SHARED_DATA", "SQLBENCH_GPU_MODEL", "SQLBENCH_RANK_REPORT",
                          "SQLBENCH_LAUNCHER"})


def find_config(path: str | os.PathLike | None = None) -> Path | None:
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found (copy template.config.yaml to start one)")
        return p
    env = os.environ.get("SQLBENCH_CONFIG")
    if env:
        return find_config(env)
    p = Path(DEFAULT_CONFIG)
    return p if p.is_file() else None


def peek(key: str, default: Any, path: str | os.PathLike | None = None) -> Any:
    """A top-level setting by the usual precedence (env > file > default), unvalidated:
    any problem yields ``default`` and is reported later by ``config.load_settings``."""
    env = os.environ.get(ENV_PREFIX + key.upper())
    if env:
        return env
    try:
        import yaml

        cfg = find_config(path)
        raw = yaml.safe_load(cfg.read_text()) if cfg else None
    except Exception:  # missing or broken file: load_settings reports it, naming the line
        return default
    value = raw.get(key) if isinstance(raw, dict) else None
    return default if value is None else value
