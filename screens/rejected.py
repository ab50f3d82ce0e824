"""Rejected: every invalid or failed sample of a distillation, filterable and searchable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select

from screens.actions import bindings
from screens.base import View
from sqlbench.runs import RunDir
from sqlbench.runs.outcome import is_rejected, sample_outcome
from screens.widgets.badge import badge
from screens.widgets.sample_table import _short
from screens.widgets.sql_diff import SampleDetail

SHOWN = 1000  # rows in the table; the filter and the export see every sample
OUTCOMES = ("failed", "format", "syntax", "execution", "timeout", "mismatch", "unverified", "unsafe", "bad_context",
            "gold_error")
FOLLOW_S = 1.0  # a running distillation's new rejections join at most once a second


def rejected_samples(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of every rejected sample (invalid, unverified or failed)."""
    return [(i, r) for i, r in enumerate(RunDir(path).iter_records("samples")) if is_rejected(r)]


def reason_options(rows: list[tuple[int, dict[str, Any]]]) -> list[tuple[str, str]]:
    """``mismatch (12)``: each reason with its count, the ones present first."""
    from collections import Counter

    counts = Counter(sample_outcome(r) for _, r in rows)
    order = sorted(OUTCOMES, key=lambda o: (-counts.get(o, 0), OUTCOMES.index(o)))
    extra = [o for o in counts if o not in OUTCOMES]
    return [(f"{o} ({counts.get(o, 0)})", o) for o in [*order, *extra]]


def matches(rec: dict[str, Any], reason: str | None, search: str) -> bool:
    if reason and sample_outcome(rec) != reason:
        return False
    if search:
        s = search.lower()
        hay = " ".join(str(rec.get(k) or "") for k in ("task_id", "question", "sql", "gold_sql", "think", "error"))
        verdict = rec.get("verdict") or {}
        hay += " " + str(verdict.get("detail") or "")
        return s in hay.lower()
    return True


def export_samples(path: Path, records: list[dict[str, Any]], reason: str | None, search: str) -> Path:
    """Write the filtered set next to the run's streams; the name says the filter."""
    name = "rejected"
    if reason:
        name += f"-{reason}"
    if search:
        name += "-" + "".join(c if c.isalnum() else "_" for c in search)[:24]
    out = Path(path) / f"{name}.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return out


class RejectedView(View):
    HELP = """
# Rejected

Every sample of a distillation the validator refused (or the teacher never answered),
read from the run's `samples.jsonl`. Open a distill run on *Runs* (or press `x` on
*Distill*) to load it.

* Filter by **reason** (`format`, `syntax`, `execution`, `timeout`, `mismatch`, `unsafe`,
  `bad_context`, `gold_error`, or `failed` for teacher errors) and **search** the
  question, SQL, reasoning and validator detail.
* The detail pane shows the question, the schema, the teacher's reasoning, the candidate
  SQL beside the gold SQL, the validator's detail and both result sets when they differ.
* **Re-validate** runs the validator again on the selected sample (e.g. after a fix to
  the sandbox) and shows the new verdict.
* **Export** writes the filtered samples to `RUN/rejected[-reason][-search].jsonl`.
"""

    FOCUS = "#rejected-table"
    BINDINGS = bindings("rejected")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Select([(r, r) for r in OUTCOMES], prompt="all reasons", id="rejected-reason")
            yield Input(placeholder="search question, SQL, reasoning, detail  (/)", id="rejected-search")
            yield Button("Re-validate", id="rejected-revalidate")
            yield Button("Export", id="rejected-export")
        yield Label("No run loaded — open a distill run on Runs.", id="rejected-run")
        with Horizontal(id="rejected-body"):
            yield DataTable(id="rejected-table", cursor_type="row", zebra_stripes=True)
            yield SampleDetail(id="rejected-detail")

    def on_mount(self) -> None:
        self.run_path: Path | None = None
        self.all: list[tuple[int, dict[str, Any]]] = []
        self.filtered: list[tuple[int, dict[str, Any]]] = []
        self.overrides: dict[int, dict[str, Any]] = {}  # seq -> verdict after re-validation
        table = self.query_one("#rejected-table", DataTable)
        table.add_columns("#", "task", "verdict", "question")
        self.query_one(SampleDetail).show(None)

    # ---- loading / filtering -------------------------------------------------------------
    def load(self, path: Path) -> None:
        new_run = Path(path) != self.run_path
        self.run_path = Path(path)
        self.overrides.clear()
        self.all = []
        if new_run:  # another run: its own reasons, not the last run's filter
            self.query_one("#rejected-reason", Select).clear()
            self.query_one("#rejected-search", Input).value = ""
        self.query_one("#rejected-run", Label).update(Text.assemble((self.run_path.name, "bold"), ("  loading…", "dim")))
        self._load(self.run_path)

    @work(thread=True, exclusive=True, group="rejected-load")
    def _load(self, path: Path) -> None:
        """Read the run's samples, then keep reading while its job runs (a live
        distillation's rejections join as they are written)."""
        import time

        from textual.worker import get_current_worker

        from sqlbench.runs import TailCursor

        run, cursor, seq = RunDir(path), TailCursor(), 0
        worker = get_current_worker()
        first = True
        while not worker.is_cancelled:
            if not first and getattr(self.workbench, "active_tab", "rejected") != "rejected":
                time.sleep(FOLLOW_S)  # out of sight: nothing read, nothing held; catches up when shown
                continue
            rows = []
            while True:
                got = run.tail("samples", cursor, max_records=5000)
                for rec in got:
                    if is_rejected(rec):
                        rows.append((seq, rec))
                    seq += 1
                if len(got) < 5000:
                    break
            if rows or first:
                self.app.call_from_thread(self._loaded, path, rows)
            first = False
            if not self.workbench.live or run.status not in ("running", "starting"):
                return
            time.sleep(FOLLOW_S)

    def _loaded(self, path: Path, rows: list[tuple[int, dict[str, Any]]]) -> None:
        if path != self.run_path:
            return
        appending = bool(self.all)
        self.all.extend(rows)
        self._update_reasons()
        table = self.query_one("#rejected-table", DataTable)
        if appending and not self.reason and not self.search:
            # a live run's new rejections: appended (up to the table's window), never a rebuild a second
            self.filtered.extend(rows)
            for seq, rec in rows[:max(0, SHOWN - table.row_count)]:
                table.add_row(Text(str(seq + 1), style="dim"), _short(rec.get("task_id"), 12),
                              badge(sample_outcome(rec)), _short(rec.get("question"), 120), key=str(seq))
            self._show_count()
        else:
            self.apply_filter()

    def _update_reasons(self) -> None:
        """The reason filter's options with this run's counts, keeping the choice."""
        from textual.css.query import NoMatches

        reason = self.query_one("#rejected-reason", Select)
        keep = reason.value
        try:
            with reason.prevent(Select.Changed):
                reason.set_options(reason_options(self.all))
                if isinstance(keep, str):
                    reason.value = keep
        except NoMatches:  # the Select is still being built (a run opened as the tabs mount)
            self.call_after_refresh(self._update_reasons)

    @property
    def reason(self) -> str | None:
        v = self.query_one("#rejected-reason", Select).value
        return v if isinstance(v, str) else None

    @property
    def search(self) -> str:
        return self.query_one("#rejected-search", Input).value.strip()

    def apply_filter(self) -> None:
        reason, search = self.reason, self.search
        self.filtered = [(i, r) for i, r in self.all if matches(r, reason, search)]
        table = self.query_one("#rejected-table", DataTable)
        keep = table.cursor_row
        table.clear()
        for seq, rec in self.filtered[:SHOWN]:
            table.add_row(Text(str(seq + 1), style="dim"), _short(rec.get("task_id"), 12),
                          badge(sample_outcome(rec)), _short(rec.get("question"), 120), key=str(seq))
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)
        self._show_count()
        self.show_selected()

    def _show_count(self) -> None:
        reason, search = self.reason, self.search
        if self.run_path is not None:
            shown = f" (showing {SHOWN})" if len(self.filtered) > SHOWN else ""
            what = f"{reason} " if reason else ""
            self.query_one("#rejected-run", Label).update(Text.assemble(
                (self.run_path.name, "bold"),
                (f"   {len(self.filtered)} {what}of {len(self.all)} rejected{shown}", "dim"),
                (f"   search: {search!r}" if search else "", "dim"),
            ))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "rejected-reason":
            self.apply_filter()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "rejected-search":
            self.apply_filter()

    def selected(self) -> tuple[int, dict[str, Any]] | None:
        table = self.query_one("#rejected-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        seq = int(key)
        rec = next((r for i, r in self.filtered if i == seq), None)
        return (seq, rec) if rec is not None else None

    def show_selected(self) -> None:
        sel = self.selected()
        detail = self.query_one(SampleDetail)
        if sel is None:
            detail.show(None)
        else:
            detail.show(sel[1], self.overrides.get(sel[0]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_selected()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.show_selected()

    # ---- actions ---------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"rejected-revalidate": self.action_revalidate,
         "rejected-export": self.action_export}.get(event.button.id or "", lambda: None)()

    def action_search(self) -> None:
        self.query_one("#rejected-search", Input).focus()

    def action_reload(self) -> None:
        if self.run_path is not None:
            self.load(self.run_path)

    def action_export(self) -> None:
        if self.run_path is None:
            self.app.notify("No run loaded", severity="warning")
            return
        out = export_samples(self.run_path, [r for _, r in self.filtered], self.reason, self.search)
        self.app.notify(f"exported {len(self.filtered)} samples to {out}", title="Export")

    def action_revalidate(self) -> None:
        sel = self.selected()
        if sel is None:
            self.app.notify("No sample selected", severity="warning")
            return
        self.app.notify(f"re-validating {sel[1].get('task_id')}…")
        self._revalidate(*sel)

    @work(thread=True, group="rejected-revalidate")
    def _revalidate(self, seq: int, rec: dict[str, Any]) -> None:
        try:
            verdict = revalidate(rec, self.app.settings.validate_)
        except Exception as e:  # the validator is someone else's code: report, don't crash the UI
            self.app.call_from_thread(self.app.notify, f"re-validate failed: {e}", severity="error")
            return
        self.app.call_from_thread(self._revalidated, seq, verdict)

    def _revalidated(self, seq: int, verdict: dict[str, Any]) -> None:
        self.overrides[seq] = verdict
        self.show_selected()
        outcome = "valid" if verdict.get("valid") else verdict.get("reason")
        self.app.notify(f"sample {seq + 1}: {outcome}", title="Re-validated",
                        severity="information" if verdict.get("valid") else "warning")


def revalidate(rec: dict[str, Any], validate_settings: Any = None) -> dict[str, Any]:
    """The validator's verdict on a sample's answer, now, with the ``validate.*`` settings the
    CLI judges with (the engine's ``distill.sample.revalidate``)."""
    from sqlbench.distill.sample import revalidate as judge

    return judge(rec, validate_settings).to_dict()
