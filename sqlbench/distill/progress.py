"""Counters of a running distillation, the periodic ``progress`` event and the headless
progress bar (rich, on stderr, only when it is a terminal; a summary line always)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlbench.runs.outcome import Tally


@dataclass
class Counters(Tally):
    """The run's tally (the run store's one classification rule) plus its clock."""

    total: int = 0  # samples the run needs (tasks x num_samples)
    done_at_start: int = 0
    t0: float = field(default_factory=time.monotonic)
    t_end: float | None = None  # set when generation ends (dataset writing is not generation)

    def start_clock(self) -> None:
        self.done_at_start = self.done
        self.t0 = time.monotonic()

    def stop_clock(self) -> None:
        self.t_end = time.monotonic()

    def elapsed(self) -> float:
        return (self.t_end or time.monotonic()) - self.t0

    def rate(self) -> float:
        elapsed = self.elapsed()
        return (self.done - self.done_at_start) / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        r = self.rate()
        return round((self.total - self.done) / r, 1) if r > 0 else None

    def snapshot(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "valid": self.valid, "unverified": self.unverified,
                "invalid_by_reason": dict(sorted(self.invalid_by_reason.items())), "failed": self.failed,
                "samples_per_s": round(self.rate(), 3), "eta_s": self.eta()}

    def summary(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.invalid_by_reason.items()))
        elapsed = self.elapsed()
        return (f"{self.done}/{self.total} samples: {self.valid} valid, "
                f"{f'{self.unverified} unverified, ' if self.unverified else ''}{self.invalid} invalid"
                f"{f' ({reasons})' if reasons else ''}, {self.failed} failed"
                f"{f', {self.unjudged} not validated' if self.unjudged else ''}"
                f" in {elapsed:.1f}s ({self.rate():.1f} samples/s)")


class ProgressView:
    """A rich progress bar when stderr is a terminal; silent otherwise."""

    def __init__(self, counters: Counters, label: str, stream: TextIO | None = None, enabled: bool | None = None):
        self.counters = counters
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._progress = None
        self._task = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[counts]}"), TextColumn("{task.fields[rate]}"),
                                      TimeRemainingColumn(), console=Console(file=self.stream), transient=False)
            self._progress.start()
            self._task = self._progress.add_task(label, total=counters.total, completed=counters.done,
                                                 counts="", rate="")

    def refresh(self) -> None:
        if self._progress is None:
            return
        c = self.counters
        reasons = " ".join(f"{k}:{v}" for k, v in sorted(c.invalid_by_reason.items()))
        unverified = f" [blue]{c.unverified} unverified[/]" if c.unverified else ""
        counts = f"[green]{c.valid} valid[/]{unverified} [yellow]{c.invalid} invalid[/]{f' ({reasons})' if reasons else ''} [red]{c.failed} failed[/]"
        self._progress.update(self._task, completed=c.done, counts=counts, rate=f"{c.rate():.1f}/s")

    def close(self) -> None:
        if self._progress is not None:
            self.refresh()
            self._progress.stop()
            self._progress = None
