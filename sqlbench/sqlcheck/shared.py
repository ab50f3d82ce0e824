"""The process-wide validator: one instance, so each task's database (and its test
databases) is built once and reused by every later check in the process: the GRPO
execution reward and training's held-out evaluation judge with the same one."""

from __future__ import annotations

import threading

_validator = None
_lock = threading.Lock()


def get_validator():
    """The shared validator (a default ``Validator`` until one is set)."""
    global _validator
    with _lock:
        if _validator is None:
            from sqlbench.sqlcheck.verdict import Validator

            _validator = Validator()
        return _validator


def set_validator(validator) -> None:
    """Share ``validator`` (e.g. built from the ``validate.*`` settings); None goes back
    to a default one on next use."""
    global _validator
    with _lock:
        _validator = validator
