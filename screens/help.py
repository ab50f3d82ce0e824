"""F1 help: the focused screen's own page, then the keys every screen shares."""

from __future__ import annotations

GLOBAL_KEYS = """
## Everywhere

| key | action |
|---|---|
| `1`–`7` | Runs, Config, Distill, Rejected, Train, Chat, Quickstart |
| `ctrl+p` | command palette: every action, themes, screenshots |
| `F1` | this help |
| `tab` / `shift+tab` | move focus |
| `ctrl+q` | quit (asks first when a job started here still runs; jobs keep running) |

Jobs run as separate processes writing run directories under the runs folder; the
workbench only follows them, so closing it stops nothing.
"""


def help_markdown(view) -> str:
    body = view.help_markdown() if hasattr(view, "help_markdown") else ""
    return f"{body}\n\n{GLOBAL_KEYS.strip()}\n"
