"""Verdict badges: one colour per outcome, shared by every table and detail pane."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

# outcome -> style; outcomes are "valid", "failed" or an invalid verdict's reason
STYLES = {
    "valid": "bold green",
    "ok": "bold green",
    "failed": "bold magenta",
    "mismatch": "bold yellow",
    "syntax": "bold red",
    "execution": "bold red",
    "timeout": "bold dark_orange",
    "format": "bold red",
    "unsafe": "bold red",
    "bad_context": "dim",
    "gold_error": "dim",
    "running": "bold cyan",
    "finished": "bold green",
    "interrupted": "bold yellow",
}


def badge(outcome: str) -> Text:
    return Text(outcome, style=STYLES.get(outcome, "bold"))


class VerdictBadge(Static):
    """A one-word verdict, coloured."""

    def set_outcome(self, outcome: str) -> None:
        self.update(badge(f" {outcome} "))
