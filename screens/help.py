"""F1 help: the focused screen's own page, then the keys every screen shares."""

from __future__ import annotations

GLOBAL_KEYS = """
## Everywhere

| key | action |
|---|---|
| `F2`–`F8` or `alt+1`–`alt+7` | Runs, Config, Distill, Rejected, Train, Chat, Quickstart (also while typing; in tmux too) |
| `1`–`7` | the same, when no text field has the focus |
| `ctrl+p` | command palette: every action below and on every screen, themes, screenshots |
| `F1` | this help |
| `tab` / `shift+tab` | move focus |
| `ctrl+q` | quit (asks first when a job started here still runs; jobs keep running) |

No key starts a job by itself: `ctrl+s` (Distill, Train), `ctrl+r` (Quickstart) and `r`
(Resume on Runs) ask first; the Start buttons start at once. Every key can be remapped in
config.yaml under `keys:` by the action's id (e.g. `distill.start: f9`; F1 on each screen
and the command palette list them).

Jobs run as separate processes writing run directories under the runs folder; the
workbench only follows them, so closing it stops nothing.
"""


def help_markdown(view) -> str:
    body = view.help_markdown() if hasattr(view, "help_markdown") else ""
    return f"{body}\n\n{GLOBAL_KEYS.strip()}\n"
