"""What every view of the workbench shares."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.containers import Vertical
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from screens.app import SqlbenchApp


class View(Vertical):
    """One tab of the workbench. ``HELP`` is the markdown F1 shows for it."""

    HELP = ""
    FOCUS = ""  # selector of the widget that takes focus when the tab opens (never a text
    # field, except on Chat: number keys switch tabs only when no text field has focus)

    @property
    def workbench(self) -> "SqlbenchApp":
        return self.app  # type: ignore[return-value]

    def poll_run(self, follower: Any, poll_s: float) -> None:
        """Body of a view's thread worker following a run: read new records off the
        event loop, apply each update on it (blocking, so a slow UI slows the reader,
        never the other way round) until cancelled."""
        worker = get_current_worker()
        last_status = None
        while not worker.is_cancelled:
            upd = follower.poll()
            if upd or upd.status != last_status:
                last_status = upd.status
                self.app.call_from_thread(self.apply_update, follower, upd)  # type: ignore[attr-defined]
            if not upd and not self.workbench.live:
                return  # tests and screenshots: one full read, then a still picture
            time.sleep(poll_s if upd.status == "running" else 1.0)

    def help_markdown(self) -> str:
        keys = []
        for b in self.BINDINGS:  # type: ignore[attr-defined]
            key, desc = (b.key, b.description) if hasattr(b, "key") else (b[0], b[2] if len(b) > 2 else "")
            if desc:
                keys.append(f"| `{key}` | {desc} |")
        table = ("\n\n| key | action |\n|---|---|\n" + "\n".join(keys)) if keys else ""
        return self.HELP.strip() + table
