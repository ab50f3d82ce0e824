"""What every view of the workbench shares."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
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
        last = None
        while not worker.is_cancelled:
            upd = follower.poll()
            # a confirmed Stop changes what the header and buttons say before the job has
            # written anything: `stopping…` shows at once, not at the job's next record
            now = (upd.status, follower.path in self.workbench.stopping)
            if upd or now != last:
                last = now
                self.app.call_from_thread(self.apply_update, follower, upd)  # type: ignore[attr-defined]
            if not upd and not self.workbench.live:
                return  # tests and screenshots: one full read, then a still picture
            time.sleep(poll_s if upd.status in ("running", "starting") else 1.0)

    def run_header(self, path: Path, status: str, info: dict[str, Any], *, paused: bool = False) -> Text:
        """``<run>  <status>  <why it failed>``: the status in its own colour, ``stopping…``
        between a confirmed Stop and the job's end, and a failed run's last error line."""
        from screens.widgets.badge import status_badge

        live = status in ("running", "starting")
        shown = "stopping…" if live and Path(path) in self.workbench.stopping else "paused" if live and paused \
            else status
        text = Text.assemble((Path(path).name, "bold"), "  ", status_badge(shown))
        if status == "failed":
            text.append("  " + failure_line(info), style="red")
        return text

    def job_pid(self) -> int | None:
        """The followed run's job process while it runs (its launch record's until the
        job writes run.json), for the load line; None otherwise."""
        status = getattr(self, "status", "")
        path = getattr(self, "run_path", None)
        if path is None or status not in ("running", "starting"):
            return None
        pid = (getattr(self, "info", None) or {}).get("pid")
        if not pid:
            from sqlbench.runs.jobs import launch_info

            pid = launch_info(path).get("pid")
        return int(pid) if pid else None

    def note_status(self, path: Path, status: str, info: dict[str, Any]) -> None:
        """A toast when the followed run ends badly (once per run and status)."""
        key = (Path(path), status)
        if status not in ("failed", "interrupted") or key in self._noted:
            return
        self._noted.add(key)
        if status == "failed":
            self.app.notify(failure_line(info), title=f"{Path(path).name} failed", severity="error", timeout=10)
        elif Path(path) in self.workbench.stopping:
            self.app.notify(f"{Path(path).name} stopped: resume it from Runs", title="interrupted")

    @property
    def _noted(self) -> set:
        if not hasattr(self, "_noted_set"):
            self._noted_set: set = set()
        return self._noted_set

    def help_markdown(self) -> str:
        from screens.actions import ACTIONS, key_of

        keymap = getattr(self.app, "keymap", {})
        scope = self.id.removesuffix("-view") if self.id else ""
        rows = [f"| `{key_of(a.id, keymap)}` | {a.label.rstrip('…')}: {a.help} | `{a.id}` |"
                for a in ACTIONS if a.scope == scope]
        table = ("\n\n| key | action | id (for `keys:`) |\n|---|---|---|\n" + "\n".join(rows)) if rows else ""
        return self.HELP.strip() + table

    # ---- starting a job: only ever after an explicit Start or a confirmation -------------
    def start_question(self) -> str | None:
        """What starting would do, in one line; None when the form is refused (the view
        has shown why)."""
        return None

    def action_confirm_start(self) -> None:
        """A key (or the palette) asks first; only the Start button starts at once."""
        question = self.start_question()
        if question is None:
            return
        from screens.modals import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                self.action_start()  # type: ignore[attr-defined]

        self.app.push_screen(ConfirmScreen(question, yes="Start", variant="primary"), done)


def failure_line(info: dict[str, Any]) -> str:
    """The last line of a failed run's error (a traceback's last line says the most)."""
    import re

    lines = [ln.strip() for ln in str(info.get("error") or "").splitlines() if ln.strip()]
    if not lines:
        return "failed (no error recorded: see stdout.log)"
    # the CLI's "sqlbench distill: error: command line: …" prefix says nothing the screen does not
    return re.sub(r"^sqlbench [\w-]+: error: (command line: )?", "", lines[-1])
