"""Following a run directory as it grows: what changed since the last poll.

A follower reads a run exactly as it would read one started by someone else from a
shell: byte cursors over the append-only streams, complete lines only. Counters are kept
over the whole run (through the one classification rule, :mod:`sqlbench.runs.outcome`)
while only the newest ``window`` samples are handed over, so attaching to a run with a
million samples costs one pass over the file and a bounded table."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlbench.runs.jobs import pending_status, settle
from sqlbench.runs.outcome import Tally
from sqlbench.runs.store import RunDir, TailCursor

STREAMS = ("events", "samples", "metrics", "completions")


@dataclass
class RunUpdate:
    """What changed in a run since the last poll (a batch for a reader to apply)."""

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
    """Tails one run directory's streams incrementally."""

    def __init__(self, path: str | os.PathLike, window: int = 1000, batch: int = 5000) -> None:
        self.run = RunDir(path)
        self.window = window
        self.batch = batch
        self.cursors = {s: TailCursor() for s in STREAMS}
        self.tally = Tally()
        self.progress: dict[str, Any] = {}
        self.step: dict[str, Any] = {}
        self.latency_sum = 0.0

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def seq(self) -> int:
        """Samples read so far (the next sample's line number)."""
        return self.tally.done

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
            recent.append((self.seq, rec))
            self.tally.add(rec)
            self.latency_sum += float(rec.get("latency_s") or 0.0)
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
        return self.tally.as_dict()


def read_sample(path: str | os.PathLike, seq: int) -> dict[str, Any] | None:
    """One sample by its line number, read from disk (rows outside a table's window)."""
    for i, rec in enumerate(RunDir(path).iter_records("samples")):
        if i == seq:
            return rec
    return None
