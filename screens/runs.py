"""Runs: every run directory under the runs folder, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from screens.actions import bindings
from screens.base import View
from screens.widgets.badge import status_badge

REFRESH_S = 2.0


def scan_runs(root: Path) -> list[dict[str, Any]]:
    """The engine's runs list (launched-only runs too), read in the scan worker."""
    from sqlbench.errors import RunDirError
    from sqlbench.runs.summary import summarize_all  # after the first frame

    try:
        return summarize_all(root)
    except RunDirError:
        return []


class RunsView(View):
    HELP = """
# Runs

Every run directory under the runs folder (`runs_dir` in config.yaml), newest first,
with its kind, status, start time (UTC) and headline counts or last metrics.
The list follows the folder: runs started from a shell appear within seconds.

* **Open** a distill run to follow it on *Distill* (and see its rejected samples on
  *Rejected*), a train run to follow it on *Train*.
* **Resume** reruns an *interrupted* run's own command with the same `--run-dir`: it
  continues where it stopped.
* **Stop** sends SIGTERM to a running job (after you confirm); it ends *interrupted*.
"""

    FOCUS = "#runs-table"
    BINDINGS = bindings("runs")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        yield Static(id="runs-root", classes="subtitle")
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield table
        # the buttons join right after the first frame: five Buttons cost as much as a
        # bare Textual app's whole first paint, and the Footer shows the same actions
        yield Horizontal(classes="buttons", id="runs-buttons")

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        # Text labels, not markup strings: markup would load rich's emoji table first
        table.add_column(Text("run"), key="run")
        table.add_column(Text("kind"), key="kind")
        table.add_column(Text("status"), key="status")
        table.add_column(Text("started (UTC)"), key="started")
        table.add_column(Text("progress"), key="brief")
        self.rows: dict[str, dict[str, Any]] = {}
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        self.refresh_runs()
        if self.workbench.live:
            self.set_interval(REFRESH_S, self.refresh_runs)
        await self.query_one("#runs-buttons", Horizontal).mount_all([
            Button("Open", id="runs-open", variant="primary"),
            Button("New distill", id="runs-new-distill"),
            Button("New train", id="runs-new-train"),
            Button("Resume", id="runs-resume"),
            Button("Stop", id="runs-stop", variant="error"),
        ])
        self._update_buttons()

    @property
    def root(self) -> Path:
        return self.workbench.runs_root

    @work(thread=True, exclusive=True, group="runs-scan")
    def refresh_runs(self) -> None:
        rows = scan_runs(self.root)  # disk reads off the event loop
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        # A newcomer's first screen is an empty runs folder: say where to begin.
        hint = ("   no runs yet: press 7 (or F8) for Quickstart (the whole loop, offline), or n for a distillation", "bold") \
            if not rows else ("", "")
        self.query_one("#runs-root", Static).update(
            Text.assemble(("runs folder ", "dim"), str(self.root), ("   ", ""), (f"{len(rows)} runs", "dim"), hint)
        )
        table = self.query_one("#runs-table", DataTable)
        keep = table.cursor_row
        current = self.selected_id()
        new = {r["id"]: r for r in rows}
        if list(new) != list(self.rows):
            table.clear()
            for r in rows:
                table.add_row(*self._cells(r), key=r["id"])
            if current in new:
                table.move_cursor(row=list(new).index(current), animate=False)
            elif rows:
                table.move_cursor(row=min(keep, len(rows) - 1), animate=False)
        else:
            for r in rows:
                if r != self.rows.get(r["id"]):
                    for col, cell in zip(("run", "kind", "status", "started", "brief"), self._cells(r)):
                        table.update_cell(r["id"], col, cell)
        self.rows = new
        self._update_buttons()

    @staticmethod
    def _cells(r: dict[str, Any]) -> tuple[Any, ...]:
        from screens.timefmt import fmt_time

        brief = r.get("brief") or ""
        if r.get("status") == "failed":
            from screens.base import failure_line

            brief = Text(failure_line(r)[:100], style="red")
        return (r["id"], r["kind"], status_badge(r["status"]), fmt_time(r.get("started")), brief)

    def selected_id(self) -> str | None:
        table = self.query_one("#runs-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    def selected(self) -> dict[str, Any] | None:
        rid = self.selected_id()
        return self.rows.get(rid) if rid else None

    def _update_buttons(self) -> None:
        """Resume only for an interrupted run, Stop only for a running one."""
        run = self.selected()
        status = run["status"] if run else ""
        for bid, ok in (("#runs-open", run is not None), ("#runs-resume", status == "interrupted"),
                        ("#runs-stop", status in ("running", "starting"))):
            hits = self.query(bid)
            if hits:
                hits.first().disabled = not ok

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_buttons()

    # ---- actions ----------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        action = {
            "runs-open": self.action_open_run,
            "runs-new-distill": self.action_new_distill,
            "runs-new-train": self.action_new_train,
            "runs-resume": self.action_resume_run,
            "runs-stop": self.action_stop_run,
        }.get(event.button.id or "")
        if action:
            action()

    def action_refresh(self) -> None:
        self.refresh_runs()

    def action_open_run(self) -> None:
        run = self.selected()
        if run is None:
            self.app.notify("No run selected", severity="warning")
            return
        self.workbench.open_run(Path(run["path"]))

    def action_new_distill(self) -> None:
        self.workbench.action_show("distill")

    def action_new_train(self) -> None:
        self.workbench.action_show("train")

    def action_resume_run(self) -> None:
        run = self.selected()
        if run is None:
            return
        from sqlbench.runs.jobs import can_resume

        if not can_resume(run["status"]):
            self.app.notify(f"{run['id']} is {run['status']}: only interrupted runs can be resumed",
                            severity="warning")
            return
        from screens.modals import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                self.workbench.resume_run(Path(run["path"]))

        self.app.push_screen(ConfirmScreen(f"Resume {run['id']}? Its own command runs again with the same "
                                           "--run-dir.", yes="Resume", variant="primary"), done)

    def action_stop_run(self) -> None:
        run = self.selected()
        if run is None:
            return
        self.workbench.confirm_stop(Path(run["path"]))
