"""Distill: start a distillation or attach to one, and watch verdicts stream in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Collapsible, Input, Label, ProgressBar, Select

from screens.actions import bindings
from screens.base import View
from screens.timefmt import fmt_eta
from sqlbench.runs.follow import RunFollower, RunUpdate, read_sample
from sqlbench.runs.pause import is_paused, set_paused
from screens.widgets import form
from screens.widgets.form import Field
from screens.widgets.load import LoadLine
from screens.widgets.counters import Counters
from screens.widgets.sample_table import SampleTable

PROVIDERS = ("Transformers", "OpenAI", "Groq", "HuggingFace", "vLLM")
POLL_S = 0.1  # ≤ 10 updates a second, whatever the job's rate


# the form: each field is the flag of the same name; blank = config.yaml decides
FIELDS = (
    Field("provider", "provider", "select", choices=PROVIDERS),
    Field("model", "model", placeholder="blank: config / tiny student"),
    Field("base_url", "base_url", placeholder="blank: config (OpenAI-compatible)"),
    Field("dataset_repo_id", "dataset", placeholder="file, folder, owner/name; blank: bundled"),
    Field("limit", "limit", "int", placeholder="tasks"),
)
ROWS = (("provider", "model", "base_url"), ("dataset_repo_id", "limit"))


class DistillView(View):
    HELP = """
# Distill

Ask a teacher model for `<think>` reasoning and `<sql>` for each task, validate every
answer in the SQL sandbox, and keep the valid ones. The job runs as a separate
process (`sqlbench distill --run-dir …`): closing the workbench never stops it, and
reopening shows it again.

* **The form** (folded while a run is followed; its title opens it): provider, model,
  base_url, dataset (a file, a folder, a distill run or a Hub `owner/name`) and limit;
  blank fields take config.yaml's values. The engine checks it before anything starts
  and outlines the field at fault. **Start** starts at once; `ctrl+s` asks first.
* A run that fails says why in the header (and a toast), even one that died before
  writing `run.json`. The load line shows the job's CPU, memory and GPU.
* Open a run on *Runs* to attach to it; the table follows the newest samples
  (the last 1,000 are kept on screen, every sample stays on disk).
* **Enter** on a row opens the sample: question, schema, reasoning, candidate SQL beside
  the gold SQL, the validator's verdict.
* **Pause** creates `RUN/pause` (the job stops taking new tasks); press again to resume.
* **Stop** asks first, then sends SIGTERM: the run ends *interrupted* and can be resumed.
"""

    FOCUS = "#distill-table"
    BINDINGS = bindings("distill")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        fields = {f.key: f for f in FIELDS}
        # the form folds away while a run is followed (its title reopens it): room for the table
        with Collapsible(title="New distillation", collapsed=False, id="distill-form", classes="job-form"):
            for i, row in enumerate(ROWS):
                with Horizontal(classes="form-row"):
                    for key in row:
                        yield form.build("distill", fields[key])
                    if i == len(ROWS) - 1:
                        yield Button("Start", id="distill-start", variant="primary")
        with Horizontal(classes="run-row compact-row"):
            yield Label("No run attached — start one, or open one on Runs.", id="distill-run")
            yield Button("Pause", id="distill-pause", disabled=True, compact=True)
            yield Button("Stop", id="distill-stop", variant="error", disabled=True, compact=True)
        with Horizontal(classes="progress-row", id="distill-progress-row"):
            # no indeterminate pulse while nothing is attached: hidden until a run is
            yield ProgressBar(id="distill-progress", show_eta=False, total=1)
            yield Label("", id="distill-eta")
            yield LoadLine(self.job_pid, id="distill-load")
        yield Counters(id="distill-counters")
        yield SampleTable(id="distill-table")

    def on_mount(self) -> None:
        self.follower: RunFollower | None = None
        self.run_path: Path | None = None
        self.status = ""
        self.info: dict[str, Any] = {}
        self._eta = ""
        settings = self.workbench.settings.distill
        provider = self.query_one("#distill-provider", Select)
        from sqlbench.errors import SqlbenchError
        from sqlbench.providers import canonical_name

        try:
            provider.value = canonical_name(settings.provider)
        except SqlbenchError:  # shown as it is, outlined, and refused on Start
            provider.set_options([(p, p) for p in (*PROVIDERS, settings.provider)])
            provider.value = settings.provider
            provider.add_class(form.ERROR_CLASS)
        self.query_one("#distill-model", Input).value = settings.model or ""
        self.query_one("#distill-base-url", Input).value = settings.base_url or ""
        self.query_one("#distill-dataset-repo-id", Input).value = settings.dataset_repo_id or ""
        self.query_one("#distill-limit", Input).value = str(settings.limit or "")
        self.query_one(Counters).show({})
        self.call_after_refresh(form.label_selects, self)

    # ---- following -------------------------------------------------------------------
    def attach(self, path: Path) -> None:
        self.run_path = Path(path)
        self.follower = RunFollower(self.run_path, window=self.query_one(SampleTable).window)
        self.status, self.info, self._eta = "", {}, ""
        self.query_one("#distill-form", Collapsible).collapsed = True
        self.call_after_refresh(self._focus_after_fold)
        self.query_one(SampleTable).reset()
        self.query_one(Counters).show({})
        self.query_one("#distill-eta", Label).update("")
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
        self.status, self.info = upd.status, upd.info
        if upd.status not in ("running", "starting"):
            self.workbench.stopping.discard(self.run_path)
        self.query_one(SampleTable).add_samples(upd.samples)
        for ev in upd.events:  # the job's own word about its input (duplicate or torn tasks)
            if ev.get("type") == "input_warning":
                messages = ev.get("messages")  # the lines the CLI printed on stderr
                text = "\n".join(map(str, messages)) if isinstance(messages, list) and messages \
                    else str(ev.get("message") or ev.get("detail") or "the input has repeated or torn tasks")
                self.app.notify(text, title="input", severity="warning", timeout=10)
        counts = follower.counts()
        progress = follower.progress
        paused = upd.status == "running" and is_paused(follower.path)
        if paused:  # an ETA is a rate's promise: while paused it stands still
            progress = {k: v for k, v in progress.items() if k != "eta_s"}
        self.query_one(Counters).show(counts, progress)
        total = progress.get("total") or upd.info.get("total")
        bar = self.query_one("#distill-progress", ProgressBar)
        if total:
            bar.update(total=total, progress=counts["done"])
        if upd.status == "running" and not paused:
            eta = progress.get("eta_s")
            self._eta = f"  ETA {fmt_eta(eta)}" if eta is not None else ""
        elif upd.status != "running":
            self._eta = ""
        self.query_one("#distill-eta", Label).update(
            f"{counts['done']}/{total or '?'}" + self._eta + ("  (paused)" if paused else ""))
        self._show_run_label(upd.status)
        self.note_status(follower.path, upd.status, upd.info)

    def _show_run_label(self, status: str) -> None:
        if self.run_path is None:
            return
        live = status in ("running", "starting")
        paused = status == "running" and is_paused(self.run_path)
        self.query_one("#distill-run", Label).update(self.run_header(self.run_path, status, self.info, paused=paused))
        pause = self.query_one("#distill-pause", Button)
        pause.label = "Resume" if paused else "Pause"
        stopping = self.run_path in self.workbench.stopping
        pause.disabled = status != "running" or stopping  # only a running job reads the pause file
        self.query_one("#distill-stop", Button).disabled = not live or stopping

    def _focus_after_fold(self) -> None:
        """The folded form took the focus with it (the Start button): hand it to the run's
        table, where this screen's keys work."""
        focused = self.app.focused
        if focused is None or self.query_one("#distill-form") in focused.ancestors:
            self.query_one(SampleTable).focus()

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

    def form_flags(self) -> tuple[dict[str, Any], Any]:
        """The form as flags, and what the engine would refuse in them (None: nothing)."""
        from sqlbench.commands.preflight import check_job

        flags, error = form.read(self, "distill", FIELDS)
        if error is None:
            error = check_job("distill", self.workbench.settings, flags)
        return flags, error

    def start_question(self) -> str | None:
        flags, error = self.form_flags()
        if error is not None:
            self.query_one("#distill-form", Collapsible).collapsed = False
            form.show_error(self, "distill", error)
            return None
        form.clear_errors(self)
        shown = "  ".join(f"{k}={v}" for k, v in flags.items()) or "the settings of config.yaml"
        return f"Start a distillation? {shown}"

    def form_args(self) -> list[str]:
        return form.to_args(self.form_flags()[0])

    def action_start(self, extra: list[str] | None = None) -> None:
        if self.start_question() is None:
            return
        flags, _ = self.form_flags()
        job = self.workbench.start_job("distill", form.to_args(flags) + list(extra or []))
        if job is not None:
            self.attach(job.run_path)

    def action_pause(self) -> None:
        if self.run_path is None or self.status != "running" or self.run_path in self.workbench.stopping:
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
