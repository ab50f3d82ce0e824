"""Followers that tail run directories, for the screens.

The workbench never runs a long job inside its own process: the engine's job control
(:mod:`sqlbench.jobs`, re-exported here) starts ``python -m sqlbench <kind> --run-dir R …``
detached, and the screens follow ``R`` exactly as they would follow a run started by
someone else from a shell. Stop is SIGTERM to the job's pid; pause is the file ``R/pause``.

Nothing here touches a widget: the screens call these from timers or thread workers.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlbench.jobs import (PAUSE_FILE, STARTING, STDOUT_LOG, Job, JobManager, check_job, cli_argv, is_paused,
                           launch_info, pending_status, resume_argv, set_paused, settle, stop)
from sqlbench.runs import FAILED, FINISHED, INTERRUPTED, RUNNING, RunDir, TailCursor


# ---- what a sample is, at a glance -----------------------------------------------------
UNVERIFIED = "unverified"  # the data cannot tell right from wrong: neither valid nor a mismatch


def sample_outcome(rec: dict[str, Any]) -> str:
    """``valid``, ``unverified``, ``failed`` (the teacher never answered) or the invalid
    verdict's reason."""
    if rec.get("status") == "failed" or (rec.get("error") and not rec.get("verdict")):
        return "failed"
    verdict = rec.get("verdict") or {}
    if UNVERIFIED in (rec.get("reason"), verdict.get("reason")):
        return UNVERIFIED  # whatever a valid flag says: never counted as accepted here
    valid = rec.get("valid", verdict.get("valid"))
    if valid:
        return "valid"
    return rec.get("reason") or verdict.get("reason") or "invalid"


# ---- following a run directory ---------------------------------------------------------
@dataclass
class RunUpdate:
    """What changed in a run since the last poll (a batch for the UI to apply)."""

    info: dict[str, Any]
    status: str
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (seq, record)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    completions: list[dict[str, Any]] = field(default_factory=list)
    dropped_samples: int = 0  # older samples not sent (outside the window); still counted

    def __bool__(self) -> bool:
        return bool(self.events or self.samples or self.metrics or self.completions or self.dropped_samples)


class RunFollower:
    """Tails one run directory's streams incrementally (byte cursors, complete lines only).

    Counters are kept over the whole run while only the newest ``window`` samples are
    handed to the UI, so attaching to a run with a million samples costs one pass over
    the file and a bounded table.
    """

    def __init__(self, path: str | os.PathLike, window: int = 1000, batch: int = 5000) -> None:
        self.run = RunDir(path)
        self.window = window
        self.batch = batch
        self.cursors = {s: TailCursor() for s in ("events", "samples", "metrics", "completions")}
        self.seq = 0
        self.outcomes: Counter[str] = Counter()
        self.progress: dict[str, Any] = {}
        self.step: dict[str, Any] = {}
        self.latency_sum = 0.0

    @property
    def path(self) -> Path:
        return self.run.path

    def poll(self) -> RunUpdate:
        info = self.run.info()
        if not info and settle(self.path):  # its job died before writing run.json
            info = self.run.info()
        status = self.run.status if info else (pending_status(self.path) or "?")
        upd = RunUpdate(info=info, status=status)
        upd.events = self._drain("events")
        for ev in upd.events:
            if ev.get("type") == "progress":
                self.progress = ev
            elif ev.get("type") == "step":
                self.step = ev
        recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=self.window)
        drained = self._drain("samples")
        for rec in drained:
            self.outcomes[sample_outcome(rec)] += 1
            self.latency_sum += float(rec.get("latency_s") or 0.0)
            recent.append((self.seq, rec))
            self.seq += 1
        upd.dropped_samples = len(drained) - len(recent)
        upd.samples = list(recent)
        upd.metrics = self._drain("metrics")
        upd.completions = self._drain("completions")[-50:]
        return upd

    def _drain(self, stream: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            got = self.run.tail(stream, self.cursors[stream], max_records=self.batch)
            out.extend(got)
            if len(got) < self.batch:
                return out

    def counts(self) -> dict[str, Any]:
        valid = self.outcomes.get("valid", 0)
        failed = self.outcomes.get("failed", 0)
        invalid = {k: v for k, v in self.outcomes.items() if k not in ("valid", "failed", UNVERIFIED)}
        return {"done": self.seq, "valid": valid, "unverified": self.outcomes.get(UNVERIFIED, 0), "failed": failed,
                "invalid": sum(invalid.values()), "invalid_by_reason": invalid}


def read_sample(path: str | os.PathLike, seq: int) -> dict[str, Any] | None:
    """One sample by its line number, read from disk (rows outside the table's window)."""
    for i, rec in enumerate(RunDir(path).iter_records("samples")):
        if i == seq:
            return rec
    return None


# ---- a cheap summary for the runs list ----------------------------------------------------
def last_events(path: Path, nbytes: int = 65536) -> list[dict[str, Any]]:
    """The events in the last ``nbytes`` of events.jsonl (a runs list must not read a
    whole 100 MB stream to show one line)."""
    p = path / "events.jsonl"
    try:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - nbytes))
            data = fh.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    if size > nbytes:
        lines = lines[1:]  # the first one is cut
    out = []
    for raw in lines:
        try:
            out.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return out


def run_brief(path: Path) -> dict[str, Any]:
    """kind, status, started and a short "counts or last metrics" string for one run."""
    run = RunDir(path)
    if not run.exists():
        settle(path)  # a job that died before writing run.json gets the one it never wrote
        if not run.exists():  # still starting: listed from its launch record
            launch = launch_info(path)
            return {"id": path.name, "path": path, "kind": launch.get("kind", "?"),
                    "status": pending_status(path) or "?", "started": launch.get("launched"),
                    "brief": "starting…", "error": None}
    try:
        info = run.info()
        status = run.status
    except Exception as e:  # a half-written run.json from another process: show, don't crash
        return {"id": path.name, "path": path, "kind": "?", "status": "?", "started": None, "brief": str(e)[:60]}
    events = last_events(path)
    brief = ""
    last = next((e for e in reversed(events) if e.get("type") in ("progress", "step")), None)
    if last and last.get("type") == "progress":
        brief = f"{last.get('done', 0)}/{last.get('total', '?')} done · {last.get('valid', 0)} valid"
        if last.get("failed"):
            brief += f" · {last['failed']} failed"
    elif last and last.get("type") == "step":
        brief = f"{last.get('stage', '')} step {last.get('step', '?')}/{last.get('max_steps', '?')}"
        metrics = last_metrics(path)
        if "reward" in metrics:
            brief += f" · reward {float(metrics['reward']):.3f}"
    if (info.get("processes") or 1) > 1:  # a multi-process train (sqlbench train --num-processes)
        brief = f"{info['processes']} processes" + (f" · {brief}" if brief else "")
    return {"id": path.name, "path": path, "kind": info.get("kind", "?"), "status": status,
            "started": info.get("started"), "brief": brief, "error": info.get("error")}


def last_metrics(path: Path) -> dict[str, Any]:
    p = path / "metrics.jsonl"
    try:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            lines = fh.read().split(b"\n")
    except FileNotFoundError:
        return {}
    for raw in reversed(lines):
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(rec, dict) and "reward" in rec:
            return rec
    return {}


def fmt_time(t: float | None) -> str:
    """Run times in UTC, so screenshots and tests do not depend on the machine's zone."""
    if not t:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(t)))


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(max(0, float(seconds)))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


__all__ = [
    "FAILED", "FINISHED", "INTERRUPTED", "PAUSE_FILE", "RUNNING", "STARTING", "STDOUT_LOG", "Job", "JobManager",
    "RunFollower", "RunUpdate", "check_job", "cli_argv", "fmt_eta", "fmt_time", "is_paused", "last_events",
    "launch_info", "pending_status", "read_sample", "resume_argv", "run_brief", "sample_outcome", "set_paused",
    "settle", "stop",
]
