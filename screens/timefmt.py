"""Times as the screens print them."""

from __future__ import annotations

import time


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
