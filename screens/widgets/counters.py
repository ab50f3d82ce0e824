"""Counters by verdict and throughput for a distillation."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from screens.timefmt import fmt_eta
from screens.widgets.badge import STYLES


def counters_text(counts: dict[str, Any], progress: dict[str, Any] | None = None) -> Text:
    """``valid 5 · invalid 6 (mismatch 2, syntax 1 …) · failed 1 · 3.2/s · ETA 12s``."""
    progress = progress or {}
    t = Text()
    t.append("valid ", style="dim")
    t.append(str(counts.get("valid", 0)), style=STYLES["valid"])
    if counts.get("unverified"):  # apart from mismatch: the data could not decide
        t.append("   unverified ", style="dim")
        t.append(str(counts["unverified"]), style=STYLES["unverified"])
    t.append("   invalid ", style="dim")
    t.append(str(counts.get("invalid", 0)), style="bold yellow")
    by = counts.get("invalid_by_reason") or {}
    if by:
        t.append(" (")
        for i, (reason, n) in enumerate(sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))):
            if i:
                t.append(", ")
            t.append(reason, style=STYLES.get(reason, ""))
            t.append(f" {n}")
        t.append(")")
    t.append("   failed ", style="dim")
    t.append(str(counts.get("failed", 0)), style=STYLES["failed"])
    if counts.get("unjudged"):  # a --no-validate run: answered, never judged
        t.append("   not validated ", style="dim")
        t.append(str(counts["unjudged"]), style=STYLES["unjudged"])
    rate = progress.get("samples_per_s")
    if rate is not None:
        t.append(f"   {float(rate):.1f} samples/s", style="cyan")
    if progress.get("eta_s") is not None and progress.get("done") != progress.get("total"):
        t.append(f"   ETA {fmt_eta(progress.get('eta_s'))}", style="dim")
    return t


class Counters(Static):
    def show(self, counts: dict[str, Any], progress: dict[str, Any] | None = None) -> None:
        self.update(counters_text(counts, progress))
