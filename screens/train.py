"""Train: start `sqlbench train` or attach to a run; live curves (one per metric and
stage, other runs overlaid to compare) and the sampled completions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal
from textual.widgets import Button, Checkbox, Collapsible, DataTable, Input, Label, ProgressBar

from screens.actions import bindings
from screens.base import View
from screens.timefmt import fmt_eta
from sqlbench.runs.follow import RunFollower, RunUpdate
from screens.widgets import form
from screens.widgets.curve import PALETTE, Curve
from screens.widgets.form import Field
from screens.widgets.load import LoadLine
from sqlbench.training.eta import Eta, TrainClock

POLL_S = 0.25
# (metric key, title) shown by default, in this order; rewards/<fn>/mean follow the total.
# Every other numeric metric TRL logs is charted too, shown when the filter names it.
FIXED_CURVES = (
    ("reward", "total reward"),
    ("kl", "KL"),
    ("completions/mean_length", "completion length"),
    ("eval/execution_accuracy", "held-out execution accuracy"),
    ("frac_reward_zero_std", "frac_reward_zero_std"),
    ("learning_rate", "learning rate"),
    ("loss", "loss"),
)
NOT_METRICS = {"step", "stage", "epoch", "t", "total_flos", "train_runtime"}
STAGES = ("auto", "sft", "grpo", "both")
STAGE_ORDER = {"sft": 0, "grpo": 1}
SMOOTH = 0.6  # EMA weight when smoothing is on
STATE_FILE = ".workbench-state.json"  # under runs_dir: what Train compares, across restarts
MAX_COMPARE = 5

FIELDS = (
    Field("model", "model", placeholder="blank: config / tiny student"),
    Field("dataset_repo_id", "dataset", placeholder="distill run, file, owner/name; blank: bundled"),
    Field("stage", "stage", "select", choices=STAGES),
    Field("max_steps", "max steps", "int"),
    Field("per_device_train_batch_size", "batch size", "int"),
    Field("gradient_accumulation_steps", "grad accum", "int"),
    Field("lora_r", "LoRA r", "int"),
    Field("lora_alpha", "LoRA alpha", "int"),
    Field("lora_dropout", "LoRA dropout", "float"),
    Field("num_processes", "processes", "int"),  # > 1: data-parallel under torchrun
)
ROWS = (("model", "dataset_repo_id", "stage", "num_processes"),
        ("max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "lora_r", "lora_alpha",
         "lora_dropout"))


def curve_id(key: str) -> str:
    return "curve-" + "".join(c if c.isalnum() else "-" for c in key)


def reward_keys(metrics: list[dict[str, Any]]) -> list[str]:
    keys = {k for m in metrics for k in m if k.startswith("rewards/") and k.endswith("/mean")}
    return sorted(keys)


def metric_title(key: str) -> str:
    if key.startswith("rewards/") and key.endswith("/mean"):
        return f"reward: {key.split('/')[1]}"
    return dict(FIXED_CURVES).get(key, key)


def metric_rank(key: str) -> tuple[int, str]:
    """Default charts first (in FIXED_CURVES order, rewards after the total), then the rest."""
    fixed = [k for k, _ in FIXED_CURVES]
    if key in fixed:
        return (fixed.index(key) * 2, key)
    if key.startswith("rewards/") and key.endswith("/mean"):
        return (1, key)
    return (100, key)


def is_default(key: str) -> bool:
    return metric_rank(key)[0] < 100


def points_by_chart(metrics: list[dict[str, Any]]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(stage, metric) -> [(step, value)]: each stage apart (SFT and GRPO steps both
    start at 1; one axis for both would zig-zag)."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i, m in enumerate(metrics):
        stage = str(m.get("stage") or "train")
        x = m.get("step", i)
        for key, v in m.items():
            if key in NOT_METRICS or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if isinstance(v, float) and not math.isfinite(v):
                continue
            out.setdefault((stage, key), []).append((x, v))
    return out


def chart_matches(stage: str, key: str, filt: str) -> bool:
    """Blank filter: the default charts. Otherwise every word must appear in
    ``stage metric title`` (``grpo len`` finds completion lengths of GRPO)."""
    if not filt.strip():
        return is_default(key)
    hay = f"{stage} {key} {metric_title(key)}".lower()
    return all(w in hay for w in filt.lower().split())


def eta_text(eta: Eta, running: bool) -> str:
    """``grpo step 4/8  ETA 24s``; ``ETA estimating…`` while the stage (or one still to
    come) is not timed yet: never a figure taken from another stage or the set-up."""
    where = (f"{eta.stage} " if eta.stage else "") + f"step {eta.step}/{eta.max_steps or '?'}"
    if not running:
        return where
    if eta.seconds is not None:
        return f"{where}  ETA {fmt_eta(eta.seconds)}"
    if eta.stage_seconds is not None and eta.later:
        return f"{where}  ETA estimating… ({eta.stage} {fmt_eta(eta.stage_seconds)} left, then {', '.join(eta.later)})"
    return f"{where}  ETA estimating…"


def load_state(root: Path) -> dict[str, Any]:
    from sqlbench.runs.store import read_json_object

    return read_json_object(Path(root) / STATE_FILE)


def save_state(root: Path, **fields: Any) -> None:
    from sqlbench.runs import atomic_write

    state = {**load_state(root), **fields}
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        atomic_write(Path(root) / STATE_FILE, json.dumps(state, indent=2) + "\n")
    except OSError:
        pass  # a read-only runs folder: the selection just is not remembered


class TrainView(View):
    HELP = """
# Train

Fine-tune the student: SFT on the distilled reasoning, then GRPO with SQL rewards
(format, syntax, execution against gold, schema use). The job runs as a separate
process (`sqlbench train --run-dir …`); open a train run on *Runs* to follow one.

* **The form** (collapsed while a run is followed): model, dataset, stage, max steps,
  batch size, gradient accumulation and LoRA r / alpha / dropout; blank fields take
  config.yaml's values. The engine's settings models check it before anything starts,
  and the field at fault is outlined.
* **Curves**: one chart per metric and stage (SFT and GRPO apart), integer step ticks,
  a colour per series, the last value in the title. By default: total reward, each
  reward function, KL, completion length, held-out execution accuracy,
  `frac_reward_zero_std` (groups with no learning signal), learning rate and loss.
  **Type in the metrics box** (`/`) to choose others: every word must match, e.g.
  `grpo len`. **Smooth** (`m`) draws an EMA, **Log y** (`l`) a log scale. Charts scroll
  when they do not all fit; they redraw at most twice a second.
* **ETA**: each stage's own pace, from its start; `estimating…` until three of its steps
  are timed, and while a stage still to come (GRPO after SFT) has not run: SFT's pace
  says nothing about GRPO's.
* **Compare** (`c`) overlays up to five other train runs on every chart, one colour per
  run (letters in the legend); the choice is remembered in the runs folder.
* **Completions**: the latest sampled completions with their per-reward scores;
  **enter** (or `o`) opens one in full: prompt, completion, gold SQL, every score.
* **Stop** asks first, then sends SIGTERM; the run ends *interrupted* and can resume from
  its last checkpoint.
"""

    FOCUS = "#train-completions"
    BINDINGS = bindings("train")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        fields = {f.key: f for f in FIELDS}
        with Collapsible(title="New training run", collapsed=False, id="train-form", classes="job-form"):
            for i, row in enumerate(ROWS):
                with Horizontal(classes="form-row"):
                    for key in row:
                        yield form.build("train", fields[key])
                    if i == 0:
                        yield Button("Start", id="train-start", variant="primary")
        with Horizontal(classes="run-row compact-row"):
            yield Label("No run attached — start one, or open one on Runs.", id="train-run")
            yield Button("Stop", id="train-stop", variant="error", compact=True, disabled=True)
        with Horizontal(classes="progress-row", id="train-progress-row"):
            # no indeterminate pulse while nothing is attached: hidden until a run is
            yield ProgressBar(id="train-progress", show_eta=False, total=1)
            yield Label("", id="train-eta")
            yield LoadLine(self.job_pid, id="train-load")
        with Horizontal(id="train-tools", classes="compact-row"):
            yield Input(placeholder="filter metrics (blank: main)", id="train-filter", compact=True)
            yield Checkbox("Smooth", id="train-smooth", compact=True)
            yield Checkbox("Log y", id="train-log", compact=True)
            yield Button("Compare…", id="train-compare", compact=True)
        yield Label("", id="train-shown")
        yield Grid(id="train-curves")
        yield DataTable(id="train-completions", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.follower: RunFollower | None = None
        self.clock = TrainClock()
        self.run_path: Path | None = None
        self.status = ""
        self.info: dict[str, Any] = {}
        self.compare: list[Path] = []
        self.compare_followers: list[RunFollower] = []
        self.completions: list[dict[str, Any]] = []
        s = self.workbench.settings.train
        for f in FIELDS:
            w = self.query_one("#" + form.field_id("train", f.key))
            value = getattr(s, f.key)
            if isinstance(w, Input):
                w.value = "" if value is None else str(value)
            else:
                w.value = str(value)  # type: ignore[attr-defined]
        # the completion before its scores: at 80 columns the scores alone filled the width
        self.query_one("#train-completions", DataTable).add_columns("step", "stage", "advantage", "completion",
                                                                     "rewards")
        self.compare = [p for p in (Path(x) for x in load_state(self.workbench.runs_root).get("compare", []))
                        if (p / "run.json").is_file()][:MAX_COMPARE]
        self._show_compare_legend()
        self.call_after_refresh(form.label_selects, self)

    # ---- following ----------------------------------------------------------------------
    def attach(self, path: Path) -> None:
        self.run_path = Path(path)
        self.follower = RunFollower(self.run_path)
        self.clock = TrainClock()
        self.status, self.info = "", {}
        self.compare_followers = [RunFollower(p) for p in self.compare if Path(p) != self.run_path]
        for curve in self.query(Curve):
            curve.reset()
        self.completions = []
        self.query_one("#train-completions", DataTable).clear()
        self.query_one("#train-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#train-progress-row").display = True
        self.query_one("#train-eta", Label).update("")
        self.query_one("#train-form", Collapsible).collapsed = True  # room for the curves
        self.call_after_refresh(self._focus_after_fold)
        self.query_one("#train-run", Label).update(Text.assemble((self.run_path.name, "bold"), ("  attaching…", "dim")))
        self.query_one("#train-stop", Button).disabled = True
        self._show_compare_legend()
        self.follow(self.follower, list(self.compare_followers))

    @work(thread=True, exclusive=True, group="train-follow")
    def follow(self, follower: RunFollower, others: list[RunFollower]) -> None:
        import time

        from textual.worker import get_current_worker

        # the compared runs first (finished ones are read once), then the followed one
        for other in others:
            upd = other.poll()
            if upd:
                self.app.call_from_thread(self.apply_update, other, upd)
        worker = get_current_worker()
        last = None
        while not worker.is_cancelled:
            upd = follower.poll()
            now = (upd.status, follower.path in self.workbench.stopping)  # `stopping…` at once (see View.poll_run)
            if upd or now != last:
                last = now
                self.app.call_from_thread(self.apply_update, follower, upd)
            for other in others:  # live compared runs keep growing too
                if other.run.status == "running":
                    more = other.poll()
                    if more:
                        self.app.call_from_thread(self.apply_update, other, more)
            if not upd and not self.workbench.live:
                return
            time.sleep(POLL_S if upd.status in ("running", "starting") else 1.0)

    def _series_label(self, follower: RunFollower) -> tuple[str, str]:
        """(legend label, colour): the followed run is A, compared runs B, C, …"""
        if not self.compare_followers:
            return "", ""
        runs = [self.follower, *self.compare_followers]
        i = next((n for n, f in enumerate(runs) if f is follower), 0)
        return "ABCDEFG"[i], PALETTE[i % len(PALETTE)]

    def apply_update(self, follower: RunFollower, upd: RunUpdate) -> None:
        primary = follower is self.follower
        if not primary and follower not in self.compare_followers:
            return  # a stale batch from a run we left
        if upd.metrics:
            self._add_points(follower, points_by_chart(upd.metrics))
        if not primary:
            return
        self.status, self.info = upd.status, upd.info
        if upd.status not in ("running", "starting"):
            self.workbench.stopping.discard(follower.path)
        self._show_completions(upd.completions)
        for ev in upd.events:
            self.clock.feed(ev)
        eta = self.clock.eta()
        bar = self.query_one("#train-progress", ProgressBar)
        if eta.max_steps:
            bar.update(total=eta.max_steps, progress=eta.step)
        self.query_one("#train-eta", Label).update(eta_text(eta, upd.status == "running"))
        self.query_one("#train-run", Label).update(self.run_header(follower.path, upd.status, upd.info))
        self.query_one("#train-stop", Button).disabled = (upd.status not in ("running", "starting")
                                                          or follower.path in self.workbench.stopping)
        self.note_status(follower.path, upd.status, upd.info)

    def _add_points(self, follower: RunFollower, points: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
        grid = self.query_one("#train-curves", Grid)
        charts = {(c.stage, c.key): c for c in self.query(Curve)}
        label, color = self._series_label(follower)
        new = False
        for (stage, key), pts in points.items():
            chart = charts.get((stage, key))
            if chart is None:
                chart = Curve(f"{metric_title(key)} · {stage}", key, stage, id=curve_id(f"{stage}-{key}"))
                charts[(stage, key)] = chart
                new = True
            if not color:  # one run: each chart its own colour, so neighbours never look alike
                order = sorted(charts, key=lambda sk: (metric_rank(sk[1]), STAGE_ORDER.get(sk[0], 9)))
                c = PALETTE[order.index((stage, key)) % len(PALETTE)]
            else:
                c = color
            chart.extend(pts, label, c)
        if new:
            ordered = sorted(charts.values(), key=lambda c: (metric_rank(c.key), STAGE_ORDER.get(c.stage, 9)))
            mounted = [c for c in ordered if c.is_mounted]
            fresh = [c for c in ordered if not c.is_mounted]
            if fresh:
                grid.mount_all(fresh)
                self.call_after_refresh(self._reorder, ordered)
            self._apply_filter()

    def _reorder(self, ordered: list[Curve]) -> None:
        grid = self.query_one("#train-curves", Grid)
        try:
            grid.sort_children(key=lambda w: ordered.index(w) if w in ordered else 0)
        except Exception:  # noqa: BLE001 - order is cosmetic; a chart mid-mount keeps its place
            pass
        self._fit_grid()

    # ---- which charts show, and how big -----------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "train-filter":
            self._apply_filter()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        smooth = SMOOTH if self.query_one("#train-smooth", Checkbox).value else 0.0
        log = self.query_one("#train-log", Checkbox).value
        for c in self.query(Curve):
            c.set_options(smooth=smooth, log=log)
            c.redraw()

    def _apply_filter(self) -> None:
        filt = self.query_one("#train-filter", Input).value
        charts = list(self.query(Curve))
        shown = 0
        for c in charts:
            c.display = chart_matches(c.stage, c.key, filt)
            shown += bool(c.display)
        self.query_one("#train-shown", Label).update(Text(
            f"{shown} of {len(charts)} charts" + ("" if shown else " — none match the filter"), style="dim")
            if charts else "")
        self._fit_grid()

    def on_resize(self) -> None:
        self._fit_grid()

    def _fit_grid(self) -> None:
        """Columns from the width (≥ 38 cells a chart), rows of at least 9 lines: at 80x24
        two charts side by side, and whatever does not fit scrolls, nothing vanishes."""
        grid = self.query_one("#train-curves", Grid)
        width, height = grid.size
        if width <= 0:
            return
        shown = sum(1 for c in self.query(Curve) if c.display) or 1
        cols = max(1, min(4, width // 38, shown))
        rows_needed = math.ceil(shown / cols)
        row_h = max(9, min(16, height // max(1, rows_needed))) if height > 0 else 10
        grid.styles.grid_size_columns = cols
        grid.styles.grid_rows = str(row_h)

    # ---- completions --------------------------------------------------------------------------
    def _show_completions(self, completions: list[dict[str, Any]]) -> None:
        if not completions:
            return
        table = self.query_one("#train-completions", DataTable)
        for c in completions:
            self.completions.append(c)
            scores = c.get("rewards") or {}
            score_text = " ".join(f"{k}={float(v):.2f}" for k, v in scores.items() if isinstance(v, (int, float)))
            adv = c.get("advantage")
            table.add_row(str(c.get("step", "")), str(c.get("stage", "")),
                          f"{float(adv):+.2f}" if isinstance(adv, (int, float)) else "–",
                          " ".join(str(c.get("completion") or "").split())[:48], score_text)
        while table.row_count > 50:
            table.remove_row(next(iter(table.rows)))
            self.completions.pop(0)
        table.move_cursor(row=table.row_count - 1, animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "train-completions":
            event.stop()
            self.action_open_completion()

    def action_open_completion(self) -> None:
        table = self.query_one("#train-completions", DataTable)
        if not self.completions or table.row_count == 0:
            return
        from screens.modals import CompletionScreen

        self.app.push_screen(CompletionScreen(self.completions[min(table.cursor_row, len(self.completions) - 1)]))

    # ---- compare ---------------------------------------------------------------------------------
    def action_compare(self) -> None:
        from screens.modals import CompareScreen
        from sqlbench.runs import list_runs

        runs = [r.path for r in list_runs(self.workbench.runs_root) if r.kind == "train" and r.path != self.run_path]
        if not runs:
            self.app.notify("No other train run to compare with", severity="warning")
            return

        def done(chosen: list[Path] | None) -> None:
            if chosen is not None:
                self.set_compare(chosen)

        self.app.push_screen(CompareScreen(runs, [p for p in self.compare if p in runs], MAX_COMPARE), done)

    def set_compare(self, paths: list[Path]) -> None:
        """Overlay these runs (remembered in the runs folder) and redraw from scratch."""
        self.compare = [Path(p) for p in paths][:MAX_COMPARE]
        root = self.workbench.runs_root
        save_state(root, compare=[str(p) for p in self.compare])
        if self.run_path is not None:
            self.attach(self.run_path)
        else:
            self._show_compare_legend()

    def _show_compare_legend(self) -> None:
        label = self.query_one("#train-shown", Label)
        if not self.compare or self.run_path is None:
            return
        others = [p for p in self.compare if p != self.run_path]
        t = Text("A ", style=f"bold {PALETTE[0]}")
        t.append(self.run_path.name)
        for i, p in enumerate(others, 1):
            t.append(f"   {'ABCDEFG'[i]} ", style=f"bold {PALETTE[i]}")
            t.append(p.name)
        label.update(t)

    def _focus_after_fold(self) -> None:
        """The folded form took the focus with it (the Start button): hand it to the run's
        table, where this screen's keys work."""
        focused = self.app.focused
        if focused is None or self.query_one("#train-form") in focused.ancestors:
            self.query_one("#train-completions").focus()

    # ---- actions ----------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"train-start": self.action_start, "train-stop": self.action_stop,
         "train-compare": self.action_compare}.get(event.button.id or "", lambda: None)()

    def action_filter(self) -> None:
        self.query_one("#train-filter", Input).focus()

    def action_smooth(self) -> None:
        box = self.query_one("#train-smooth", Checkbox)
        box.value = not box.value

    def action_log_scale(self) -> None:
        box = self.query_one("#train-log", Checkbox)
        box.value = not box.value

    def form_flags(self) -> tuple[dict[str, Any], Any]:
        from sqlbench.commands.preflight import check_job

        flags, error = form.read(self, "train", FIELDS)
        if error is None:
            error = check_job("train", self.workbench.settings, flags)
        return flags, error

    def form_args(self) -> list[str]:
        return form.to_args(self.form_flags()[0])

    def start_question(self) -> str | None:
        flags, error = self.form_flags()
        if error is not None:
            self.query_one("#train-form", Collapsible).collapsed = False
            form.show_error(self, "train", error)
            return None
        form.clear_errors(self)
        shown = "  ".join(f"{k}={v}" for k, v in flags.items()) or "the settings of config.yaml"
        return f"Start training? {shown}"

    def action_start(self, extra: list[str] | None = None) -> None:
        if self.start_question() is None:
            return
        job = self.workbench.start_job("train", self.form_args() + list(extra or []))
        if job is not None:
            self.attach(job.run_path)

    def action_stop(self) -> None:
        if self.run_path is not None:
            self.workbench.confirm_stop(self.run_path)

    def curves(self) -> dict[str, int]:
        """Points of the followed run per chart (``stage:metric``), for tests."""
        return {c.chart_key: len(c.ys) for c in self.query(Curve)}
