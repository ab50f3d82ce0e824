"""Line charts drawn in braille (2x4 dots a cell), one colour per series, with integer
step ticks, axis labels, a legend, optional EMA smoothing and log scale; redrawn at
most twice a second and only when data or size changed.

Drawn by hand rather than through plotext (6.x changed its API to signals with no
per-series colour, legend or tick control) or textual-plot (a new dependency whose
zoom and pan a live tail does not need): this renderer is a few dozen lines of pure
code, draws a 40x10 chart of 5 series in about a millisecond, and gives the same text
for the same data (snapshot tests).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

from rich.text import Text
from textual.widgets import Static

REDRAW_INTERVAL = 0.5  # ≤ 2 Hz, whatever the job's logging rate
_PHASES = itertools.count()  # each chart's redraw clock starts at its own phase (see Curve.on_mount)
# distinct on dark and light themes; series i takes PALETTE[i % len]
PALETTE = ("#4fc3f7", "#ffb74d", "#81c784", "#f06292", "#ba68c8", "#fff176", "#4db6ac", "#e57373",
           "#90a4ae", "#aed581")
_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row in cell][column in cell]


def downsample(xs: Sequence[float], ys: Sequence[float], width: int) -> tuple[list[float], list[float]]:
    """At most ``width`` points: bucket means over x, so a 100k-step run costs a
    screen-width of drawing and keeps its shape (a spike shows as a higher bucket)."""
    n = len(xs)
    if width <= 0 or n <= width:
        return list(xs), list(ys)
    out_x, out_y = [], []
    for b in range(width):
        lo, hi = b * n // width, (b + 1) * n // width
        if hi <= lo:
            continue
        out_x.append(sum(xs[lo:hi]) / (hi - lo))
        out_y.append(sum(ys[lo:hi]) / (hi - lo))
    return out_x, out_y


def ema(ys: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average as TensorBoard and W&B smooth (weight 0: none), with
    the start-up bias corrected so the first points are not dragged towards zero."""
    if weight <= 0:
        return list(ys)
    out, avg = [], 0.0
    for i, y in enumerate(ys, 1):
        avg = weight * avg + (1 - weight) * y
        out.append(avg / (1 - weight ** i))
    return out


def int_ticks(lo: float, hi: float, most: int) -> list[int]:
    """Whole-number ticks (steps are whole) on a 1-2-5 spacing, at most ``most`` of them."""
    lo_i, hi_i = math.ceil(lo), math.floor(hi)
    if hi_i < lo_i:
        return []
    step = 1
    while (hi_i - lo_i) // step + 1 > max(2, most):
        step = _next_step(step)
    first = math.ceil(lo_i / step) * step
    return list(range(first, hi_i + 1, step)) or [lo_i]


def _next_step(step: int) -> int:
    digits = 10 ** (len(str(step)) - 1)
    lead = step // digits
    return (2 if lead == 1 else 5 if lead == 2 else 10) * digits


def fmt(v: float) -> str:
    """Compact: 3 significant digits, no float noise (``0.000123`` → ``1.23e-4``)."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        m, e = f"{v:.2e}".split("e")
        return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
    return f"{v:.3g}"


@dataclass
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    color: str = PALETTE[0]
    extra: dict = field(default_factory=dict)


def render_chart(title: str, series: Sequence[Series], width: int, height: int, *, log: bool = False,
                 smooth: float = 0.0, xlabel: str = "step") -> Text:
    """``height`` lines of ``width`` cells: title + legend, the plot with y ticks, the x
    axis with integer step ticks, and the x label."""
    width, height = max(width, 16), max(height, 4)
    out = Text(no_wrap=True, overflow="crop")
    # --- title and legend (last value of each series, in its colour)
    head = Text(title, style="bold")
    if log:
        head.append(" (log)", style="dim")
    if smooth > 0:
        head.append(f" (EMA {smooth:g})", style="dim")
    for s in series:
        if s.ys:
            head.append("  ")
            if len(series) > 1:
                head.append(f"━ {s.label} ", style=s.color)
            head.append(fmt(s.ys[-1]), style=f"bold {s.color}")
    head.truncate(width)
    out.append_text(head)
    out.append("\n")
    rows = height - 3
    pts: list[tuple[Series, list[float], list[float]]] = []
    for s in series:
        xs, ys = list(s.xs), ema(s.ys, smooth)
        if log:
            kept = [(x, math.log10(y)) for x, y in zip(xs, ys) if y > 0]
            xs, ys = [k[0] for k in kept], [k[1] for k in kept]
        if xs:
            pts.append((s, xs, ys))
    if not pts:
        body = "(no data yet)" if not any(s.ys for s in series) else "(nothing > 0 to draw on a log scale)"
        for r in range(height - 1):
            out.append(body.center(width) if r == (height - 1) // 2 else " " * width, style="dim")
            if r < height - 2:
                out.append("\n")
        return out
    xmin = min(min(xs) for _, xs, _ in pts)
    xmax = max(max(xs) for _, xs, _ in pts)
    ymin = min(min(ys) for _, _, ys in pts)
    ymax = max(max(ys) for _, _, ys in pts)
    if ymax == ymin:  # a flat line sits in the middle (labels stay true: no padding otherwise)
        ymin, ymax = ymin - 0.5, ymax + 0.5
    if xmax == xmin:
        xmin, xmax = xmin - 0.5, xmax + 0.5

    def real(v: float) -> float:
        return 10 ** v if log else v

    labels = [fmt(real(ymax)), fmt(real((ymin + ymax) / 2)), fmt(real(ymin))]
    gutter = min(9, max(len(xlabel) + 1, max(len(x) for x in labels) + 1))
    pw = max(4, width - gutter - 1)
    dots_w, dots_h = pw * 2, rows * 4
    masks = [[0] * pw for _ in range(rows)]
    colors: list[list[str]] = [[""] * pw for _ in range(rows)]

    def plot(px: int, py: int, color: str) -> None:
        if 0 <= px < dots_w and 0 <= py < dots_h:
            r, c = py // 4, px // 2
            masks[r][c] |= _BITS[py % 4][px % 2]
            colors[r][c] = color

    for s, xs, ys in pts:
        xs, ys = downsample(xs, ys, dots_w)
        if len(xs) == 1:  # a lone point (one held-out check so far) fills its cell: one dot would vanish
            px = round((xs[0] - xmin) / (xmax - xmin) * (dots_w - 1)) // 2 * 2
            py = round((ymax - ys[0]) / (ymax - ymin) * (dots_h - 1)) // 4 * 4
            for dx in (0, 1):
                for dy in range(4):
                    plot(px + dx, py + dy, s.color)
            continue
        prev = None
        for x, y in zip(xs, ys):
            px = round((x - xmin) / (xmax - xmin) * (dots_w - 1))
            py = round((ymax - y) / (ymax - ymin) * (dots_h - 1))
            if prev is None:
                plot(px, py, s.color)
            else:  # a straight segment from the previous point, dot by dot
                x0, y0 = prev
                n = max(abs(px - x0), abs(py - y0), 1)
                for i in range(1, n + 1):
                    plot(x0 + round((px - x0) * i / n), y0 + round((py - y0) * i / n), s.color)
            prev = (px, py)

    # each label on the row where its value is drawn (the middle one too, with an even row count)
    mid_row = round((dots_h - 1) / 2) // 4
    tick_rows = {0: labels[0], mid_row: labels[1], rows - 1: labels[2]} if rows >= 3 else \
        {0: labels[0], rows - 1: labels[2]}
    for r in range(rows):
        lab = tick_rows.get(r)
        out.append((lab or "").rjust(gutter - 1) + " ", style="dim")
        out.append("┤" if lab else "│", style="dim")
        run_style, run = None, []
        for c in range(pw):
            m = masks[r][c]
            ch, st = (chr(0x2800 + m), colors[r][c]) if m else (" ", "")
            if st != run_style and run:
                out.append("".join(run), style=run_style or "")
                run = []
            run_style = st
            run.append(ch)
        if run:
            out.append("".join(run), style=run_style or "")
        out.append("\n")
    # --- x axis: integer step ticks, and what x is
    ticks = int_ticks(xmin, xmax, max(2, pw // 7))
    axis = ["─"] * pw
    under = [" "] * pw
    for t in ticks:
        c = round((t - xmin) / (xmax - xmin) * (pw - 1))
        axis[c] = "┬"
        lab = str(t)
        start = min(max(0, c - len(lab) // 2), pw - len(lab))
        if all(ch == " " for ch in under[max(0, start - 1):start + len(lab) + 1]):
            under[start:start + len(lab)] = list(lab)
    out.append(" " * gutter + "└" + "".join(axis) + "\n", style="dim")
    out.append(f"{xlabel[:gutter - 1]:>{gutter - 1}}  ", style="italic dim")  # the x axis label, under the y ticks
    out.append("".join(under), style="dim")
    return out


class Curve(Static):
    """One metric of one stage, over steps, for one run or several overlaid. Data calls
    mark it dirty; a timer redraws (≤ 2 Hz), and only while it is on screen."""

    DEFAULT_CSS = """
    Curve { height: 1fr; min-width: 24; min-height: 6; }
    """

    def __init__(self, title: str, key: str, stage: str = "", **kw) -> None:
        super().__init__(**kw)
        self.chart_title = title
        self.key = key  # the metric
        self.stage = stage
        self.series: dict[str, Series] = {}  # run label -> its points
        self.smooth = 0.0
        self.log_scale = False
        self._dirty = True
        self._drawn_size = (0, 0)

    @property
    def chart_key(self) -> str:
        return f"{self.stage}:{self.key}" if self.stage else self.key

    @property
    def ys(self) -> list[float]:
        """The first run's values (the followed run)."""
        first = next(iter(self.series.values()), None)
        return first.ys if first else []

    @property
    def xs(self) -> list[float]:
        first = next(iter(self.series.values()), None)
        return first.xs if first else []

    def on_mount(self) -> None:
        # charts mounted together would all redraw in the same tick: one long stall of the
        # event loop. Each starts its clock at its own phase, spreading them over the interval.
        phase = (next(_PHASES) % 10 + 1) / 10 * REDRAW_INTERVAL
        self.set_timer(phase, lambda: self.set_interval(REDRAW_INTERVAL, self._maybe_redraw))
        self.call_after_refresh(self._maybe_redraw)

    def reset(self) -> None:
        self.series = {}
        self._dirty = True

    def drop(self, label: str) -> None:
        if self.series.pop(label, None) is not None:
            self._dirty = True

    def extend(self, points: Sequence[tuple[float, float]], label: str = "", color: str = PALETTE[0]) -> None:
        s = self.series.get(label)
        if s is None:
            s = self.series[label] = Series(label, [], [], color)
        s.color = color
        for x, y in points:
            if y is None or (isinstance(y, float) and math.isnan(y)):
                continue
            s.xs.append(float(x))
            s.ys.append(float(y))
        if points:
            self._dirty = True

    def set_options(self, *, smooth: float | None = None, log: bool | None = None) -> None:
        if smooth is not None and smooth != self.smooth:
            self.smooth, self._dirty = smooth, True
        if log is not None and log != self.log_scale:
            self.log_scale, self._dirty = log, True

    def on_resize(self) -> None:
        self._dirty = True

    def render_now(self) -> Text:
        return render_chart(self.chart_title, list(self.series.values()), self.content_size.width,
                            self.content_size.height, log=self.log_scale, smooth=self.smooth)

    def _maybe_redraw(self) -> None:
        size = (self.content_size.width, self.content_size.height)
        if not self._dirty and size == self._drawn_size:
            return
        if size[0] <= 0 or size[1] <= 0 or not self.display:
            return
        self._dirty, self._drawn_size = False, size
        # the chart fills the cell the grid gives it: new text never changes its size, so
        # no layout pass over the whole screen (a dozen charts redrawing each paid one)
        self.update(self.render_now(), layout=False)

    def redraw(self) -> None:
        """Draw now (after a resize or option change the user is looking at)."""
        self._dirty = True
        self._maybe_redraw()
