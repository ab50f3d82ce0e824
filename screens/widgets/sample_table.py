"""A DataTable of distilled samples holding a bounded window (the newest rows).

Older rows are dropped from the widget, never from disk: a row's full record is read
back from samples.jsonl by its line number when someone opens it.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual.widgets import DataTable

from screens.jobs import sample_outcome
from screens.widgets.badge import badge

COLUMNS = ("#", "task", "question", "verdict", "latency", "tries")


def _short(text: Any, n: int) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def sample_row(seq: int, rec: dict[str, Any]) -> tuple[Any, ...]:
    lat = rec.get("latency_s")
    return (
        Text(str(seq + 1), style="dim"),
        _short(rec.get("task_id"), 14),
        _short(rec.get("question"), 60),
        badge(sample_outcome(rec)),
        f"{float(lat):.2f}s" if lat is not None else "–",
        str(rec.get("attempts") or 1),
    )


class SampleTable(DataTable):
    """Rows keyed by the sample's line number in samples.jsonl."""

    def __init__(self, *, window: int = 1000, follow: bool = True, **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.window = window
        self.follow = follow  # keep the newest row in view while the cursor sits on the last row
        self.records: dict[int, dict[str, Any]] = {}

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def reset(self) -> None:
        self.clear()
        self.records.clear()

    def add_samples(self, samples: Iterable[tuple[int, dict[str, Any]]]) -> None:
        samples = list(samples)[-self.window:]
        if not samples:
            return
        at_end = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        for seq, rec in samples:
            key = str(seq)
            if seq in self.records:
                continue
            self.records[seq] = rec
            self.add_row(*sample_row(seq, rec), key=key)
        excess = self.row_count - self.window
        if excess > 0:
            for seq in sorted(self.records)[:excess]:
                self.remove_row(str(seq))
                del self.records[seq]
        if self.follow and at_end:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def seq_at_cursor(self) -> int | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return int(key.value) if key.value is not None else None
