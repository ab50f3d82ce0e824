"""Train: start `sqlbench train` or attach to a run; live reward curves and completions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Select

from screens.base import View
from screens.jobs import RunFollower, RunUpdate, fmt_eta
from screens.widgets.curve import Curve

POLL_S = 0.25
# (metric key, title); rewards/<fn>/mean curves are added as the functions appear
FIXED_CURVES = (
    ("reward", "total reward"),
    ("kl", "KL"),
    ("completions/mean_length", "completion length"),
    ("eval/execution_accuracy", "held-out execution accuracy"),
    ("frac_reward_zero_std", "frac_reward_zero_std"),
    ("learning_rate", "learning rate"),
    ("loss", "loss"),
)
STAGES = ("auto", "sft", "grpo", "both")


def train_flags(model: str, dataset: str, max_steps: str, stage: str) -> list[str]:
    args: list[str] = []
    if model.strip():
        args += ["--model", model.strip()]
    if dataset.strip():
        args += ["--dataset-repo-id", dataset.strip()]
    if max_steps.strip():
        args += ["--max-steps", max_steps.strip()]
    if stage:
        args += ["--stage", stage]
    return args


def curve_id(key: str) -> str:
    return "curve-" + "".join(c if c.isalnum() else "-" for c in key)


def reward_keys(metrics: list[dict[str, Any]]) -> list[str]:
    keys = {k for m in metrics for k in m if k.startswith("rewards/") and k.endswith("/mean")}
    return sorted(keys)


class TrainView(View):
    HELP = """
# Train

Fine-tune the student: SFT on the distilled reasoning, then GRPO with SQL rewards
(format, syntax, execution against gold, schema use). The job runs as a separate
process (`sqlbench train --run-dir …`); open a train run on *Runs* to follow one.

* Curves: total reward, each reward function's mean, KL, completion length, held-out
  execution accuracy, `frac_reward_zero_std` (groups where every completion scored the
  same: no learning signal), learning rate and loss — downsampled to the widget's width,
  redrawn at most twice a second.
* The table lists the latest sampled completions with their per-reward scores.
* **Stop** asks first, then sends SIGTERM; the run ends *interrupted* and can resume from
  its last checkpoint.
"""

    FOCUS = "#train-completions"
    BINDINGS = [Binding("ctrl+s", "start", "Start"), Binding("s", "stop", "Stop")]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Input(placeholder="model (blank: config / tiny student)", id="train-model")
            yield Input(placeholder="dataset or distill run folder (blank: bundled)", id="train-dataset")
            yield Input(placeholder="max steps", id="train-steps", type="integer")
            yield Select([(s, s) for s in STAGES], id="train-stage", allow_blank=False, value="auto")
            yield Button("Start", id="train-start", variant="primary")
        with Horizontal(classes="run-row"):
            yield Label("No run attached — start one, or open one on Runs.", id="train-run")
            yield Button("Stop", id="train-stop", variant="error")
        with Horizontal(classes="progress-row", id="train-progress-row"):
            # no indeterminate pulse while nothing is attached: hidden until a run is
            yield ProgressBar(id="train-progress", show_eta=False, total=1)
            yield Label("", id="train-eta")
        with Grid(id="train-curves"):
            for key, title in FIXED_CURVES:
                yield Curve(title, key, id=curve_id(key))
        yield DataTable(id="train-completions", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.follower: RunFollower | None = None
        self.run_path: Path | None = None
        self.status = ""
        s = self.workbench.settings.train
        self.query_one("#train-model", Input).value = s.model or ""
        self.query_one("#train-dataset", Input).value = s.dataset_repo_id or ""
        self.query_one("#train-steps", Input).value = str(s.max_steps)
        self.query_one("#train-stage", Select).value = s.stage
        self.query_one("#train-completions", DataTable).add_columns("step", "advantage", "rewards", "completion")

    def attach(self, path: Path) -> None:
        self.run_path = Path(path)
        self.follower = RunFollower(self.run_path)
        for curve in self.query(Curve):
            curve.reset()  # reward-function curves stay (empty) if the next run has others
        self.query_one("#train-completions", DataTable).clear()
        self.query_one("#train-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#train-progress-row").display = True
        self.query_one("#train-run", Label).update(Text.assemble((self.run_path.name, "bold"), ("  attaching…", "dim")))
        self.follow(self.follower)

    @work(thread=True, exclusive=True, group="train-follow")
    def follow(self, follower: RunFollower) -> None:
        self.poll_run(follower, POLL_S)

    def apply_update(self, follower: RunFollower, upd: RunUpdate) -> None:
        if follower is not self.follower:
            return
        self.status = upd.status
        grid = self.query_one("#train-curves", Grid)
        existing = {c.key for c in self.query(Curve)}
        for key in reward_keys(upd.metrics):
            if key not in existing:
                fn = key.split("/")[1]
                grid.mount(Curve(f"reward: {fn}", key, id=curve_id(key)), before=1 + len(
                    [k for k in existing if k.startswith("rewards/")]))
                existing.add(key)
        if upd.metrics:
            series: dict[str, list[tuple[float, float]]] = {}
            for i, m in enumerate(upd.metrics):
                x = m.get("step", i)
                for key in existing:
                    if isinstance(m.get(key), (int, float)):
                        series.setdefault(key, []).append((x, m[key]))
            for curve in self.query(Curve):
                curve.extend(series.get(curve.key, []))
        self._show_completions(upd.completions)
        step = follower.step
        bar = self.query_one("#train-progress", ProgressBar)
        if step.get("max_steps"):
            bar.update(total=step["max_steps"], progress=step.get("step", 0))
        eta = step.get("eta_s") if upd.status == "running" else None
        stage = step.get("stage", "")
        self.query_one("#train-eta", Label).update(
            (f"{stage} " if stage else "") + f"step {step.get('step', 0)}/{step.get('max_steps', '?')}"
            + (f"  ETA {fmt_eta(eta)}" if eta is not None else "")
        )
        self.query_one("#train-run", Label).update(Text.assemble((self.run_path.name, "bold"), "  ",
                                                                 (upd.status, "cyan")))

    def _show_completions(self, completions: list[dict[str, Any]]) -> None:
        if not completions:
            return
        table = self.query_one("#train-completions", DataTable)
        for c in completions:
            scores = c.get("rewards") or {}
            score_text = " ".join(f"{k}={float(v):.2f}" for k, v in scores.items() if isinstance(v, (int, float)))
            adv = c.get("advantage")
            table.add_row(str(c.get("step", "")), f"{float(adv):+.2f}" if isinstance(adv, (int, float)) else "–",
                          score_text, " ".join(str(c.get("completion") or "").split())[:120])
        while table.row_count > 50:
            table.remove_row(next(iter(table.rows)))
        table.move_cursor(row=table.row_count - 1, animate=False)

    # ---- actions ----------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"train-start": self.action_start, "train-stop": self.action_stop}.get(event.button.id or "", lambda: None)()

    def form_args(self) -> list[str]:
        return train_flags(self.query_one("#train-model", Input).value, self.query_one("#train-dataset", Input).value,
                           self.query_one("#train-steps", Input).value,
                           str(self.query_one("#train-stage", Select).value or ""))

    def action_start(self, extra: list[str] | None = None) -> None:
        job = self.workbench.start_job("train", self.form_args() + list(extra or []))
        if job is not None:
            self.attach(job.run_path)

    def action_stop(self) -> None:
        if self.run_path is not None:
            self.workbench.confirm_stop(self.run_path)

    def curves(self) -> dict[str, int]:
        """Points per curve, for tests."""
        return {c.key: len(c.ys) for c in self.query(Curve)}
