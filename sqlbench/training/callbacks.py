"""TrainerCallbacks that stream a training run into its run directory.

``metrics.jsonl`` gets every TRL log unchanged plus ``step``, ``stage`` and ``epoch``;
``completions.jsonl`` a sample of each logged step's completions with their per-reward
scores and the gold SQL; ``events.jsonl`` stage/step/checkpoint/eval marks. Each record
is flushed when written, so a TUI in another process can draw live curves.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence

from transformers import TrainerCallback

from sqlbench.records import Task
from sqlbench.runs import RunDir
from sqlbench.training.eta import StageClock


def _clean(value: Any) -> Any:
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            return str(value)
    return value


def _user_text(prompt: Any) -> str:
    """The last user message of a conversational prompt (the question + schema)."""
    if isinstance(prompt, list):
        users = [m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users else ""
    return str(prompt)


class RunDirCallback(TrainerCallback):
    """Metrics, step events, checkpoints and the stop request (SIGINT/SIGTERM)."""

    def __init__(self, run: RunDir, stage: str, *, stop: threading.Event | None = None,
                 step_offset: int = 0):
        self.run = run
        self.stage = stage
        self.stop = stop
        self.step_offset = step_offset  # steps of earlier stages, for a run-wide step axis
        self._clock = StageClock(stage)
        self.stopped = False

    def on_train_begin(self, args, state, control, **kwargs):
        self._clock = StageClock(self.stage, state.max_steps)
        self._clock.begin(state.global_step, time.time())  # > 0 when resuming: this session only
        self.run.event("stage", name=self.stage, max_steps=state.max_steps, step=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        # None until this stage's own pace is known (sqlbench.training.eta says why)
        self._clock.step(state.global_step, time.time(), state.max_steps)
        eta = self._clock.seconds_left()
        self.run.event("step", stage=self.stage, step=state.global_step, max_steps=state.max_steps,
                       eta_s=round(eta, 1) if eta is not None else None)
        if self.stop is not None and self._agree(self.stop.is_set()):
            self.stop.set()  # a rank that saw no signal stops (and exits 130) with the others
            # Save where we are and stop cleanly; --resume continues from this checkpoint.
            control.should_save = True
            control.should_training_stop = True
            self.stopped = True
        return control

    @staticmethod
    def _agree(local: bool) -> bool:
        from sqlbench.training.distributed import any_rank_stops

        return any_rank_stops(local)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        record = {k: _clean(v) for k, v in logs.items()}
        record.update(step=state.global_step, stage=self.stage, epoch=_clean(state.epoch))
        self.run.append("metrics", record)

    def on_save(self, args, state, control, **kwargs):
        from pathlib import Path

        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.run.event("checkpoint", stage=self.stage, step=state.global_step, path=str(path))


class CompletionsCallback(TrainerCallback):
    """After each GRPO log, append up to ``per_step`` of the step's completions with their
    per-reward scores and the task's gold SQL to ``completions.jsonl``."""

    def __init__(self, run: RunDir, tasks: Sequence[Task], per_step: int = 4, stage: str = "grpo"):
        from sqlbench.prompts import user_message

        self.run = run
        self.per_step = per_step
        self.stage = stage
        self.trainer = None  # set after the trainer exists (it owns the completion buffer)
        self._gold = {user_message(t): t.gold_sql for t in tasks}
        self._last_step = -1

    def _gold_for(self, prompt: Any) -> str | None:
        text = _user_text(prompt)
        gold = self._gold.get(text)
        if gold is None:  # prompt was shortened to fit: match on the question
            q = text.split("\n\nDatabase schema:", 1)[0]
            for k, v in self._gold.items():
                if k.split("\n\nDatabase schema:", 1)[0] == q:
                    return v
        return gold

    def on_log(self, args, state, control, logs=None, **kwargs):
        from sqlbench.training.rewards import completion_text

        tr = self.trainer
        if tr is None or not hasattr(tr, "_logs") or state.global_step == self._last_step:
            return
        self._last_step = state.global_step
        buf = tr._logs
        prompts, completions = list(buf["prompt"]), list(buf["completion"])
        rewards = {name: list(vals) for name, vals in buf["rewards"].items()}
        advantages = list(buf["advantages"])
        for i in range(min(self.per_step, len(completions))):
            prompt = prompts[i]
            self.run.append("completions", {
                "step": state.global_step,
                "stage": self.stage,
                "prompt": _user_text(prompt),
                "completion": completion_text(completions[i]),
                "rewards": {name: vals[i] for name, vals in rewards.items() if i < len(vals)},
                "advantage": advantages[i] if i < len(advantages) else None,
                "gold_sql": self._gold_for(prompt),
            })


class HeldOutEvalCallback(TrainerCallback):
    """Every ``eval_steps`` (and at the end), greedy answers on the held-out tasks judged
    by the validator: ``eval/execution_accuracy`` and ``eval/format_rate`` go into the
    metrics independently of the reward weights (a guard against reward hacking)."""

    def __init__(self, run: RunDir, tasks: Sequence[Task], *, stage: str, eval_steps: int,
                 max_new_tokens: int, system_prompt: str | None = None, batch_size: int = 8,
                 max_prompt_tokens: int = 512, on_result: Callable[[dict], None] | None = None,
                 stop: threading.Event | None = None):
        self.run = run
        self.tasks = list(tasks)
        self.stage = stage
        self.eval_steps = eval_steps
        self.max_new_tokens = max_new_tokens
        self.system_prompt = system_prompt
        self.batch_size = batch_size
        self.max_prompt_tokens = max_prompt_tokens
        self.on_result = on_result
        self.stop = stop  # a stop request skips the check: exit promptly with the checkpoint
        self.last: dict | None = None
        self._done_step = -1

    def _evaluate(self, model, tokenizer, state):
        from sqlbench.evaluation.accuracy import evaluate_model

        if not self.tasks or state.global_step == self._done_step or (self.stop is not None and self.stop.is_set()):
            return
        self._done_step = state.global_step
        was_training = model.training
        model.eval()  # no dropout in the greedy answers
        summary, _ = evaluate_model(model, tokenizer, self.tasks, max_new_tokens=self.max_new_tokens,
                                    batch_size=self.batch_size, system_prompt=self.system_prompt,
                                    max_prompt_tokens=self.max_prompt_tokens)
        if was_training:
            model.train()
        rec = {"eval/execution_accuracy": summary["execution_accuracy"],
               "eval/format_rate": summary["format_rate"], "eval/n": summary["n"],
               "step": state.global_step, "stage": self.stage, "epoch": _clean(state.epoch)}
        self.run.append("metrics", rec)
        self.run.event("eval", stage=self.stage, step=state.global_step,
                       execution_accuracy=summary["execution_accuracy"], format_rate=summary["format_rate"])
        self.last = rec
        if self.on_result:
            self.on_result(rec)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if self.eval_steps and state.global_step % self.eval_steps == 0 and model is not None:
            self._evaluate(model, processing_class, state)

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if model is not None:
            self._evaluate(model, processing_class, state)


class ConsoleCallback(TrainerCallback):
    """One short line per log instead of transformers' dict dump."""

    KEYS = ("loss", "reward", "reward_std", "rewards/execution/mean", "kl", "eval/execution_accuracy",
            "mean_token_accuracy", "learning_rate")

    def __init__(self, stage: str, log: Callable[[str], None]):
        self.stage = stage
        self.log = log

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "train_runtime" in logs:
            return
        parts = [f"{k.split('/')[-2] if k.startswith('rewards/') else k}={_clean(logs[k]):.4g}"
                 for k in self.KEYS if isinstance(_clean(logs.get(k)), (int, float))]
        self.log(f"{self.stage} step {state.global_step}/{state.max_steps} " + " ".join(parts))
