"""What a runs list shows, and what ``sqlbench runs show`` adds: one answer for the CLI
and the workbench.

A summary is cheap (run.json plus the last few KB of ``events.jsonl``), so a list of a
hundred runs, each with a 100 MB stream, is read in a blink. A launched job that has not
written its own ``run.json`` is listed from its launch record (``starting``), or settled
first when its process is gone (``failed``, with its last line). A run whose run.json
cannot be read is listed as ``unreadable`` with the reason: one bad run never hides the
others."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlbench.errors import RunDirError
from sqlbench.runs.jobs import LAUNCH_FILE, launch_info, pending_status, settle
from sqlbench.runs.outcome import tally
from sqlbench.runs.pause import is_paused
from sqlbench.runs.store import UNREADABLE, RunDir, parse_record

BRIEF_EVENTS = ("progress", "step")  # what "how far along" is read from
LAST_EVENTS = ("progress", "step", "finished")


def tail_records(path: str | os.PathLike, stream: str, nbytes: int = 65536) -> list[dict[str, Any]]:
    """The complete records in the last ``nbytes`` of ``RUN/<stream>.jsonl``, oldest first
    (a runs list must not read a whole 100 MB stream to show one line)."""
    try:
        with open(Path(path) / f"{stream}.jsonl", "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - nbytes))
            data = fh.read()
    except OSError:
        return []
    lines = data.split(b"\n")
    if size > nbytes:
        lines = lines[1:]  # the first one is cut
    # the last piece is empty, or a line still being written
    return [rec for rec in map(parse_record, lines[:-1]) if rec is not None]


def last_events(path: str | os.PathLike, nbytes: int = 65536) -> list[dict[str, Any]]:
    return tail_records(path, "events", nbytes)


def last_metrics(path: str | os.PathLike, key: str | None = "reward") -> dict[str, Any]:
    """The newest metrics record (holding ``key``, when given), or {}."""
    for rec in reversed(tail_records(path, "metrics", 16384)):
        if key is None or key in rec:
            return rec
    return {}


def _brief(path: Path, last: dict[str, Any] | None) -> str:
    """``12/12 done · 5 valid · 1 failed`` or ``grpo step 40/40 · reward 0.312``."""
    if not last:
        return ""
    if last.get("type") == "progress":
        brief = f"{last.get('done', 0)}/{last.get('total', '?')} done · {last.get('valid', 0)} valid"
        return brief + (f" · {last['failed']} failed" if last.get("failed") else "")
    brief = f"{last.get('stage', '')} step {last.get('step', '?')}/{last.get('max_steps', '?')}"
    metrics = last_metrics(path)
    if "reward" in metrics:
        try:
            brief += f" · reward {float(metrics['reward']):.3f}"
        except (TypeError, ValueError):
            pass
    return brief


def summarize(path: str | os.PathLike) -> dict[str, Any]:
    """id, path, kind, status, started, finished, error, ``brief`` (counts or the last
    step, as one short line) and ``last`` (the newest progress/step/finished event)."""
    path = Path(path)
    run = RunDir(path)
    base: dict[str, Any] = {"id": path.name, "path": str(path), "kind": "?", "status": "?", "started": None,
                            "finished": None, "error": None, "brief": ""}
    if not run.exists():
        settle(path)  # a job that died before writing run.json gets the one it never wrote
        if not run.exists():  # still starting: listed from its launch record
            launch = launch_info(path)
            return {**base, "kind": launch.get("kind", "?"), "status": pending_status(path) or "?",
                    "started": launch.get("launched"), "brief": "starting…"}
    try:
        info = run.info()
        status = run.status
    except RunDirError as e:  # a torn or foreign run.json: listed with the reason, never a crash
        return {**base, "status": UNREADABLE, "error": str(e), "brief": str(e)[:100]}
    events = last_events(path)
    out = {**base, "kind": info.get("kind", "?"), "status": status, "started": info.get("started"),
           "finished": info.get("finished"), "error": info.get("error")}
    out["brief"] = _brief(path, next((e for e in reversed(events) if e.get("type") in BRIEF_EVENTS), None))
    if (info.get("processes") or 1) > 1:  # a multi-process train (sqlbench train --num-processes)
        out["processes"] = info["processes"]
        out["brief"] = f"{info['processes']} processes" + (f" · {out['brief']}" if out["brief"] else "")
    last = next((e for e in reversed(events) if e.get("type") in LAST_EVENTS), None)
    if last:
        out["last"] = last
    return out


def _started(summary: dict[str, Any]) -> float:
    try:
        return float(summary.get("started") or 0.0)
    except (TypeError, ValueError):
        return 0.0


def summarize_all(root: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run under ``root`` (launched-only ones included), newest first."""
    root = Path(root)
    try:
        if not root.is_dir():
            return []
        paths = [p for p in root.iterdir() if (p / "run.json").is_file() or (p / LAUNCH_FILE).is_file()]
    except OSError as e:
        raise RunDirError(f"cannot list the runs folder {root}: {e.strerror or e}") from None
    rows = [summarize(p) for p in paths]
    return sorted(rows, key=lambda r: (_started(r), r["id"]), reverse=True)


def details(path: str | os.PathLike) -> dict[str, Any]:
    """A summary plus what ``sqlbench runs show`` adds: whether it is paused, its samples
    counted by outcome (a run that has samples) and its last metrics record (one that
    logs metrics)."""
    path = Path(path)
    out = summarize(path)
    out["paused"] = is_paused(path)
    run = RunDir(path)
    if run.stream_path("samples").exists():
        out["counts"] = tally(run.iter_records("samples")).as_dict()
    metrics = last_metrics(path, key=None)
    if metrics:
        out["metrics"] = metrics
    return out
