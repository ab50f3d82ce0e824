"""Distill: start a distillation or attach to one, and watch verdicts stream in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static

from screens.base import View
from screens.jobs import RunFollower, RunUpdate, fmt_eta, is_paused, read_sample, set_paused
from screens.widgets.counters import Counters
from screens.widgets.sample_table import SampleTable

PROVIDERS = ("Transformers", "OpenAI", "Groq", "HuggingFace", "vLLM")
POLL_S = 0.1  # ≤ 10 updates a second, whatever the job's rate


def distill_flags(provider: str, model: str, dataset: str, limit: str) -> list[str]:
    """Command-line flags for ``sqlbench distill`` from the form (blank = config.yaml decides)."""
    args = ["--provider", provider] if provider else []
    if model.strip():
        args += ["--model", model.strip()]
    if dataset.strip():
        args += ["--dataset-repo-id", dataset.strip()]
    if limit.strip():
        args += ["--limit", limit.strip()]
    return args


class DistillView(View):
    HELP = """
# Distill

Ask a teacher model for `<think>` reasoning and `<sql>` for each task, validate every
answer in the SQL sandbox, and keep the valid ones. The job runs as a separate
process (`sqlbench distill --run-dir …`): closing the workbench never stops it, and
reopening shows it again.

* **Start** runs a new distillation with the provider/model/dataset/limit above
  (blank fields: the values in config.yaml, see *Config*).
* Open a run on *Runs* to attach to it; the table follows the newest samples
  (the last 1,000 are kept on screen, every sample stays on disk).
* **Enter** on a row opens the sample: question, schema, reasoning, candidate SQL beside
  the gold SQL, the validator's verdict.
* **Pause** creates `RUN/pause` (the job stops taking new tasks); press again to resume.
* **Stop** asks first, then sends SIGTERM: the run ends *interrupted* and can be resumed.
"""

    FOCUS = "#distill-table"
    BINDINGS = [
        Binding("ctrl+s", "start", "Start"),
        Binding("p", "pause", "Pause/resume"),
        Binding("s", "stop", "Stop"),
        Binding("x", "rejected", "Rejected"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="distill-form", classes="form-row"):
            yield Select([(p, p) for p in PROVIDERS], prompt="provider", id="distill-provider", allow_blank=False,
                         value="Transformers")
            yield Input(placeholder="model (blank: config / tiny student)", id="distill-model")
            yield Input(placeholder="dataset (blank: bundled)", id="distill-dataset")
            yield Input(placeholder="limit", id="distill-limit", type="integer")
            yield Button("Start", id="distill-start", variant="primary")
        with Horizontal(classes="run-row"):
            yield Label("No run attached — start one, or open one on Runs.", id="distill-run")
            yield Button("Pause", id="distill-pause")
            yield Button("Stop", id="distill-stop", variant="error")
        with Horizontal(classes="progress-row", id="distill-progress-row"):
            # no indeterminate pulse while nothing is attached: hidden until a run is
            yield ProgressBar(id="distill-progress", show_eta=False, total=1)
            yield Label("", id="distill-eta")
        yield Counters(id="distill-counters")
        yield SampleTable(id="distill-table")

    def on_mount(self) -> None:
        self.follower: RunFollower | None = None
        self.run_path: Path | None = None
        self.status = ""
        settings = self.workbench.settings.distill
        if settings.provider in PROVIDERS:
            self.query_one("#distill-provider", Select).value = settings.provider
        self.query_one("#distill-model", Input).value = settings.model or ""
        self.query_one("#distill-dataset", Input).value = settings.dataset_repo_id or ""
        self.query_one("#distill-limit", Input).value = str(settings.limit or "")
        self.query_one(Counters).show({})

    # ---- following -------------------------------------------------------------------
    def attach(self, path: Path) -> None:
        self.run_path = Path(path)
        self.follower = RunFollower(self.run_path, window=self.query_one(SampleTable).window)
        self.query_one(SampleTable).reset()
        self.query_one("#distill-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#distill-progress-row").display = True
        self._show_run_label("attaching…")
        self.follow(self.follower)

    @work(thread=True, exclusive=True, group="distill-follow")
    def follow(self, follower: RunFollower) -> None:
        self.poll_run(follower, POLL_S)

    def apply_update(self, follower: RunFollower, upd: RunUpdate) -> None:
        if follower is not self.follower:
            return  # a stale batch from a run we left
        self.status = upd.status
        self.query_one(SampleTable).add_samples(upd.samples)
        counts = follower.counts()
        progress = follower.progress
        self.query_one(Counters).show(counts, progress)
        total = progress.get("total") or upd.info.get("total")
        bar = self.query_one("#distill-progress", ProgressBar)
        if total:
            bar.update(total=total, progress=counts["done"])
        eta = progress.get("eta_s") if upd.status == "running" else None
        self.query_one("#distill-eta", Label).update(
            f"{counts['done']}/{total or '?'}" + (f"  ETA {fmt_eta(eta)}" if eta is not None else "")
        )
        self._show_run_label(upd.status)

    def _show_run_label(self, status: str) -> None:
        if self.run_path is None:
            return
        paused = status == "running" and is_paused(self.run_path)
        label = Text.assemble((self.run_path.name, "bold"), "  ",
                              ("paused" if paused else status, "yellow" if paused else "cyan"))
        self.query_one("#distill-run", Label).update(label)
        self.query_one("#distill-pause", Button).label = "Resume" if paused else "Pause"

    # ---- actions ----------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"distill-start": self.action_start, "distill-pause": self.action_pause,
         "distill-stop": self.action_stop}.get(event.button.id or "", lambda: None)()

    def on_sample_table_selected(self, event: SampleTable.Selected) -> None:
        event.stop()
        self.open_selected()

    def open_selected(self) -> None:
        table = self.query_one(SampleTable)
        seq = table.seq_at_cursor()
        if seq is None:
            return
        rec = table.records.get(seq) or (read_sample(self.run_path, seq) if self.run_path else None)
        if rec is not None:
            from screens.modals import SampleScreen

            self.app.push_screen(SampleScreen(rec))

    def form_args(self) -> list[str]:
        return distill_flags(
            str(self.query_one("#distill-provider", Select).value or ""),
            self.query_one("#distill-model", Input).value,
            self.query_one("#distill-dataset", Input).value,
            self.query_one("#distill-limit", Input).value,
        )

    def action_start(self, extra: list[str] | None = None) -> None:
        job = self.workbench.start_job("distill", self.form_args() + list(extra or []))
        if job is not None:
            self.attach(job.run_path)

    def action_pause(self) -> None:
        if self.run_path is None or self.status != "running":
            self.app.notify("No running distillation to pause", severity="warning")
            return
        paused = not is_paused(self.run_path)
        set_paused(self.run_path, paused)
        self.app.notify("Paused: the job finishes its current batch, then waits" if paused else "Resumed")
        self._show_run_label(self.status)

    def action_stop(self) -> None:
        if self.run_path is None:
            return
        self.workbench.confirm_stop(self.run_path)

    def action_rejected(self) -> None:
        if self.run_path is not None:
            self.workbench.open_rejected(self.run_path)

    def snapshot(self) -> dict[str, Any]:
        """What the screen shows, for tests and the benchmark."""
        f = self.follower
        return {"rows": self.query_one(SampleTable).row_count, **(f.counts() if f else {})}
