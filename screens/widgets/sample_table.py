"""The live table of distilled samples: a bounded window drawn line by line.

A DataTable re-indexes its rows on every removal, so dropping the oldest row of a
1,000-row window costs milliseconds each: at 500 samples/s that freezes the UI. This
table keeps the newest ``window`` rows in a deque and draws only the lines on screen
(Textual's line API), so appending a batch costs the batch, whatever the window.

Older rows are dropped from the widget, never from disk: a row's full record is read
back from samples.jsonl by its line number when someone opens it.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sqlbench.runs.outcome import sample_outcome
from screens.widgets.badge import badge

# (title, width); width None = takes what is left
COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("#", 7), ("task", 14), ("question", None), ("verdict", 12), ("latency", 9), ("tries", 5),
)


def _short(text: Any, n: int) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: max(0, n - 1)] + "…"


def sample_row(seq: int, rec: dict[str, Any]) -> tuple[Text, ...]:
    lat = rec.get("latency_s")
    return (
        Text(str(seq + 1), style="dim"),
        Text(_short(rec.get("task_id"), 14)),
        Text(_short(rec.get("question"), 200)),
        badge(sample_outcome(rec)),
        Text(f"{float(lat):.2f}s" if lat is not None else "–"),
        Text(str(rec.get("attempts") or 1)),
    )


class SampleTable(ScrollView, can_focus=True):
    """Rows keyed by the sample's line number in samples.jsonl (``seq``)."""

    DEFAULT_CSS = """
    SampleTable { height: 1fr; background: $surface; }
    SampleTable > .sample-table--header { text-style: bold; background: $panel; }
    SampleTable > .sample-table--cursor { background: $block-cursor-blurred-background; }
    SampleTable:focus > .sample-table--cursor { background: $block-cursor-background; text-style: bold; }
    """
    COMPONENT_CLASSES = {"sample-table--header", "sample-table--cursor"}
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open sample"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        """A row was opened (enter, or a click on the highlighted row)."""

        def __init__(self, table: "SampleTable", seq: int) -> None:
            super().__init__()
            self.table = table
            self.seq = seq

        @property
        def control(self) -> "SampleTable":
            return self.table

    def __init__(self, *, window: int = 1000, follow: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        self.window = window
        self.follow = follow  # keep the newest row in view while the cursor sits on the last row
        self.rows: deque[tuple[int, tuple[Text, ...]]] = deque(maxlen=window)
        self.records: dict[int, dict[str, Any]] = {}
        self._strips: dict[tuple[int, int, bool], Strip] = {}  # rendered rows (rows never change)
        self._strip_key: Any = None
        self._styles = (Style(), Style(), Style())

    # ---- data ------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.rows)

    def get_row_at(self, index: int) -> tuple[Text, ...]:
        return self.rows[index][1]

    def reset(self) -> None:
        self.rows.clear()
        self.records.clear()
        self.cursor_row = 0
        self._resize()

    def add_samples(self, samples: Iterable[tuple[int, dict[str, Any]]]) -> None:
        samples = list(samples)[-self.window:]
        if not samples:
            return
        at_end = not self.rows or self.cursor_row >= len(self.rows) - 1
        for seq, rec in samples:
            if seq in self.records:
                continue
            if len(self.rows) == self.window:
                old, _ = self.rows.popleft()
                self.records.pop(old, None)
                if not at_end:
                    self.cursor_row = max(0, self.cursor_row - 1)  # the highlighted row stays highlighted
            self.rows.append((seq, sample_row(seq, rec)))
            self.records[seq] = rec
        self._resize()
        if self.follow and at_end:
            self.cursor_row = len(self.rows) - 1
            self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def seq_at_cursor(self) -> int | None:
        if not self.rows:
            return None
        return self.rows[min(self.cursor_row, len(self.rows) - 1)][0]

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self.cursor_row = max(0, min(row, len(self.rows) - 1))

    # ---- drawing ----------------------------------------------------------------------
    def _resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.rows) + 1)

    def on_resize(self) -> None:
        self._resize()

    def _widths(self, width: int) -> list[int]:
        fixed = sum(w for _, w in COLUMNS if w) + len(COLUMNS)  # one space after each cell
        flex = max(10, width - fixed)
        return [w if w else flex for _, w in COLUMNS]

    def _line(self, cells: Iterable[Text], width: int, style: Style) -> Strip:
        line = Text(no_wrap=True, overflow="ellipsis")
        for cell, w in zip(cells, self._widths(width)):
            c = cell.copy()
            c.truncate(w, overflow="ellipsis", pad=True)
            line.append_text(c)
            line.append(" ")
        segments = list(line.render(self.app.console))
        return Strip(segments).crop_extend(0, width, None).apply_style(style)

    def render_lines(self, crop: Region) -> list[Strip]:
        # styles walk the DOM: resolve them once per frame, not once per line
        self._styles = (self.rich_style, self.get_component_rich_style("sample-table--header"),
                        self.get_component_rich_style("sample-table--cursor"))
        if self._strip_key != (self._styles, self.has_focus):
            self._strips.clear()
            self._strip_key = (self._styles, self.has_focus)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base, header, cursor = self._styles
        if y == 0:
            return self._line((Text(t) for t, _ in COLUMNS), width, base + header)
        index = self.scroll_offset.y + y - 1
        if index >= len(self.rows):
            return Strip([Segment(" " * width, base)])
        seq, cells = self.rows[index]
        is_cursor = index == self.cursor_row
        key = (seq, width, is_cursor)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > 512:  # rows scroll away; keep roughly a few screens' worth
                self._strips.clear()
            strip = self._strips[key] = self._line(cells, width, base + cursor if is_cursor else base)
        return strip

    # ---- moving around ----------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(row=self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(row=self.cursor_row + direction * max(1, self.scrollable_content_region.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(row=0 if where == 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        seq = self.seq_at_cursor()
        if seq is not None:
            self.post_message(self.Selected(self, seq))

    def on_click(self, event: Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y == 0 or not 0 <= index < len(self.rows):
            return
        if index == self.cursor_row:
            self.action_select()
        else:
            self.cursor_row = index

    def region_of_row(self, index: int) -> Region:
        return Region(0, index + 1, self.scrollable_content_region.width, 1)
