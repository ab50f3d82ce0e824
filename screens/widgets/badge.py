"""Verdict badges: one colour per outcome, shared by every table and detail pane."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

# outcome -> style; outcomes (sqlbench.runs.outcome) are "valid", "unverified", "failed",
# "unjudged" or an invalid verdict's reason
STYLES = {
    "valid": "bold green",
    "ok": "bold green",
    "failed": "bold magenta",
    "mismatch": "bold yellow",
    "unverified": "bold bright_blue",  # the data cannot tell right from wrong: not a mismatch
    "unjudged": "dim",  # a --no-validate run: answered, never judged, so neither valid nor invalid
    "syntax": "bold red",
    "execution": "bold red",
    "timeout": "bold dark_orange",
    "format": "bold red",
    "unsafe": "bold red",
    "bad_context": "dim",
    "gold_error": "dim",
}

# a run's status: each its own colour (a failed run must never look finished)
RUN_STYLES = {
    "starting": "bold cyan",
    "running": "bold cyan",
    "stopping…": "bold dark_orange",
    "paused": "bold yellow",
    "finished": "bold green",
    "failed": "bold white on red",
    "interrupted": "bold orange1",
    "unreadable": "bold red",  # its run.json cannot be read: listed with the reason
}


def badge(outcome: str) -> Text:
    return Text(outcome, style=STYLES.get(outcome, "bold"))


def status_badge(status: str) -> Text:
    return Text(status, style=RUN_STYLES.get(status, "bold"))


class VerdictBadge(Static):
    """A one-word verdict, coloured."""

    def set_outcome(self, outcome: str) -> None:
        self.update(badge(f" {outcome} "))
