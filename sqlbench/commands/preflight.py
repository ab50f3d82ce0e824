"""Before a job is started: what the CLI would refuse in its flags, found without
spending a process on it (the workbench's Distill and Train forms call this)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class FieldError:
    field: str  # the settings key at fault (e.g. ``max_steps``), which names the form field
    message: str

    def __str__(self) -> str:
        return self.message


_HUB_DATASET = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


def check_job(kind: str, settings: Any, flags: dict[str, Any]) -> FieldError | None:
    """What the CLI would refuse in these flags, found before a process is spent on it:
    the settings models' own rules (so the words are the CLI's), plus a dataset or model
    that is neither on disk nor shaped like a Hub id."""
    from sqlbench.config import apply_flags
    from sqlbench.errors import SqlbenchError

    for key, value in flags.items():
        if value is None:
            continue
        try:
            apply_flags(settings, kind, {key: value})
        except SqlbenchError as e:
            return FieldError(key, str(e).replace("command line: ", ""))
    if kind == "distill" and flags.get("provider"):
        from sqlbench.providers import canonical_name

        try:
            canonical_name(str(flags["provider"]))
        except SqlbenchError as e:
            return FieldError("provider", f"--provider: {e}")
    dataset = flags.get("dataset_repo_id")
    if dataset:
        err = _check_dataset(str(dataset))
        if err:
            return FieldError("dataset_repo_id", err)
    model = flags.get("model")
    if model:
        err = _check_model(str(model))
        if err:
            return FieldError("model", err)
    return None


def _check_dataset(text: str) -> str | None:
    from sqlbench.data.loader import _looks_local

    if Path(text).expanduser().exists():
        return None
    if _looks_local(text):
        return f"dataset: no such file or folder: {text}"
    if not _HUB_DATASET.match(text):
        return f"dataset: {text!r} is neither a file, a folder nor a Hub id (owner/name)"
    return None


def _check_model(text: str) -> str | None:
    if text == "tiny":
        return None
    from sqlbench.errors import SqlbenchError
    from sqlbench.inference.models import resolve_model_path

    try:
        resolve_model_path(text)
    except SqlbenchError as e:
        return f"model: {e}"
    return None
