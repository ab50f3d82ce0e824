"""Line charts drawn with plotext, sized to the widget and redrawn at most twice a second."""

from __future__ import annotations

import math
import re
from typing import Sequence

from rich.text import Text
from textual.widgets import Static

_BG = re.compile(r"\x1b\[48;5;\d+m")  # plotext paints a background; let the theme's show through
REDRAW_INTERVAL = 0.5


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


def render_curve(title: str, xs: Sequence[float], ys: Sequence[float], width: int, height: int) -> Text:
    import plotext as plt  # cheap, but only screens that draw need it

    width, height = max(width, 20), max(height, 5)
    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("dark")
    px, py = downsample(xs, ys, max(8, width - 8))
    if px:
        sig = fig.signal(px, py)
        sig.lines()
        fig.draw(sig)
    last = f"  {ys[-1]:.4g}" if ys else "  (no data yet)"
    fig.title(f"{title}{last}")
    return Text.from_ansi(_BG.sub("", fig.build().string()))


class Curve(Static):
    """One metric over steps. ``set_data`` marks it dirty; a timer redraws (≤ 2 Hz)."""

    DEFAULT_CSS = """
    Curve { height: 12; min-width: 30; }
    """

    def __init__(self, title: str, key: str, **kw) -> None:
        super().__init__(**kw)
        self.chart_title = title
        self.key = key
        self.xs: list[float] = []
        self.ys: list[float] = []
        self._dirty = True
        self._drawn_size = (0, 0)

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL, self._maybe_redraw)
        self.call_after_refresh(self._maybe_redraw)

    def reset(self) -> None:
        self.xs, self.ys = [], []
        self._dirty = True

    def extend(self, points: Sequence[tuple[float, float]]) -> None:
        for x, y in points:
            if y is None or (isinstance(y, float) and math.isnan(y)):
                continue
            self.xs.append(float(x))
            self.ys.append(float(y))
        if points:
            self._dirty = True

    def on_resize(self) -> None:
        self._dirty = True

    def _maybe_redraw(self) -> None:
        size = (self.content_size.width, self.content_size.height)
        if not self._dirty and size == self._drawn_size:
            return
        if size[0] <= 0 or size[1] <= 0:
            return
        self._dirty, self._drawn_size = False, size
        self.update(render_curve(self.chart_title, self.xs, self.ys, size[0], size[1]))
