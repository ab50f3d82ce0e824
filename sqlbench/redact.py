"""Keep secrets out of every byte sqlbench writes.

Secrets are registered once when they are loaded (see ``config.load_secrets``); every
writer of run-directory records, logs and published artifacts passes its text through
``redact``, so a key that leaks into an error message or a URL is still masked.
"""

from __future__ import annotations

import threading
from typing import Any

MASK = "***"
_MIN_LEN = 6  # shorter values would mask ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= _MIN_LEN:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not _secrets:
        return text
    for s in sorted(_secrets, key=len, reverse=True):
        if s in text:
            text = text.replace(s, MASK)
    return text


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj
