"""The pause protocol: a job pauses while the file ``RUN/pause`` exists.

A detached job cannot be reached through memory, and a signal cannot say "pause" without
stopping its process, so the request is a file anyone may create or remove: the
workbench, ``sqlbench runs pause|resume RUN`` or a shell's ``touch``. The job polls it
(``sqlbench.distill.control``) and marks the pause with ``paused``/``resumed`` events."""

from __future__ import annotations

import os
from pathlib import Path

PAUSE_FILE = "pause"
PAUSABLE_KINDS = ("distill",)  # the jobs that poll the file


def pause_path(run_path: str | os.PathLike) -> Path:
    return Path(run_path) / PAUSE_FILE


def set_paused(run_path: str | os.PathLike, paused: bool) -> None:
    p = pause_path(run_path)
    if paused:
        p.touch()
    else:
        p.unlink(missing_ok=True)


def is_paused(run_path: str | os.PathLike) -> bool:
    return pause_path(run_path).exists()
