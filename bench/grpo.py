#!/usr/bin/env python3
"""Benchmark sqlbench's GRPO training against a bare GRPOTrainer script.

Both sides train the same warm tiny model (LoRA, same config), on the same prompts
(bundled tasks fitted to the same prompt length), with the same reward functions,
weights and GRPO settings, on CPU:

  * ours: ``sqlbench.training.job.run_train`` (what ``sqlbench train`` runs: run
    directory, metrics/completions/events streams, checkpoint-ready callbacks);
  * bare: ``trl.GRPOTrainer`` built by hand with ``GRPOConfig``, no callbacks.

Step time is TRL's own ``step_time`` metric divided by the step's mean completion
length (the two runs sample different lengths, and generation time follows them),
median over the steps after the first (which pays one-off setup). The reward share is the time spent inside the reward
functions during our run divided by our total step time. After one
throwaway run, the sides alternate (bare-ours, ours-bare, ...) so warm-up and machine
load hit both alike; the reward clock only
counts calls made during our runs. Last line is JSON:
{"bench": "grpo", "ratio": ours/bare step time, "reward_share": reward/step time}.
Goals: ratio <= 1.05, reward share <= 0.10.

    .venv/bin/python bench/grpo.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def warm_student(warm_steps: int | None = None) -> Path:
    """The warm tiny student, in the test suite's cache folder (built once, shared)."""
    from sqlbench.training.tiny import build_tiny_model
    from tests.fixtures.tiny_model import CACHE, WARM_STEPS, _key

    steps = WARM_STEPS if warm_steps is None else warm_steps
    return build_tiny_model(CACHE / _key() / f"warm{steps}", warm_steps=steps).resolve()


class RewardClock:
    """Wraps the reward registry so every call is timed (names kept for TRL's logs)."""

    def __init__(self):
        self.seconds = 0.0

    def install(self):
        import functools

        from sqlbench.training import rewards

        originals = dict(rewards.REWARDS)
        for name, fn in originals.items():
            @functools.wraps(fn)
            def timed(*a, _fn=fn, **kw):
                t = time.perf_counter()
                try:
                    return _fn(*a, **kw)
                finally:
                    self.seconds += time.perf_counter() - t
            rewards.REWARDS[name] = timed
        return originals


def step_times(logs) -> list[float]:
    """Seconds per step, normalised to the run-wide mean completion length: sampled
    lengths differ between two runs and generation time grows with them, so raw step
    times would compare luck, not overhead."""
    logs = [h for h in logs if "step_time" in h and h.get("completions/mean_length")]
    return [float(h["step_time"]) / float(h["completions/mean_length"]) for h in logs]


def bare_run(model_dir: Path, rows: list[dict], settings, out: Path) -> list[float]:
    """The reference: GRPOTrainer with nothing of ours but the data and reward functions."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from sqlbench.training.rewards import REWARDS, resolve_weights

    cfg = settings.train
    weights = resolve_weights(cfg.reward_weights)
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    args = GRPOConfig(
        output_dir=str(out), max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.per_device_train_batch_size, num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length, temperature=settings.temperature, top_p=1.0,
        beta=cfg.beta, loss_type=cfg.loss_type, scale_rewards="group", epsilon=0.2, num_iterations=1,
        mask_truncated_completions=False, reward_weights=[weights[n] for n in weights], use_vllm=False,
        seed=cfg.seed, data_seed=cfg.seed, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        bf16=False, activation_checkpointing=False, disable_tqdm=True, dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=[REWARDS[n] for n in weights], args=args,
        train_dataset=Dataset.from_list(rows), processing_class=tok,
        peft_config=LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                               target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    trainer.remove_callback(__import__("transformers").PrinterCallback)
    trainer.train()
    return step_times(trainer.state.log_history)


def _metrics(run_path: Path) -> list[dict]:
    from sqlbench.runs import RunDir

    return RunDir(run_path).read("metrics")


def ours_run(settings, out: Path) -> list[float]:
    from sqlbench.config import Secrets
    from sqlbench.runs import RunDir
    from sqlbench.training.job import run_train

    path = run_train(settings, Secrets(), run_dir=out, log=lambda s: None)
    return step_times(RunDir(path).read("metrics"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and rounds (under 45 s)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args(argv)
    steps = args.steps or (4 if args.quick else 10)
    rounds = args.rounds or (2 if args.quick else 3)

    import logging

    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("datasets").setLevel(logging.ERROR)
    from sqlbench.config import Settings
    from sqlbench.data.loader import load_tasks
    from sqlbench.training.job import _no_telemetry

    _no_telemetry()  # as our job does; the bare run must not pay for a telemetry thread either
    from sqlbench.training.data import grpo_rows
    from sqlbench.prompts import prompt_token_counter

    model_dir = warm_student()
    limit = 32
    work = Path(tempfile.mkdtemp(prefix="sqlbench-bench-grpo-"))
    settings = Settings.model_validate({
        "runs_dir": str(work / "runs"), "cache_dir": str(work / "cache"), "max_prompt_length": 256,
        "temperature": 1.0,
        "train": {"model": str(model_dir), "stage": "grpo", "max_steps": steps, "limit": limit, "eval_split": 0,
                  "per_device_train_batch_size": 8, "num_generations": 4, "max_completion_length": 64,
                  "learning_rate": 1e-4, "save_steps": 10_000, "logging_steps": 1, "seed": 0},
    })
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = grpo_rows(load_tasks(limit=limit, seed=0), count_tokens=prompt_token_counter(tok),
                     max_prompt_tokens=settings.max_prompt_length)

    clock = RewardClock()
    clock.install()
    bare_times, ours_times = [], []
    reward_s = ours_step_s = 0.0
    t0 = time.time()
    # A throwaway run first: the process's first training pays one-off costs (kernel
    # selection, allocator growth) that would otherwise land on whichever side ran first.
    bare_run(model_dir, rows, settings.model_copy(update={"train": settings.train.model_copy(update={"max_steps": 2})}),
             work / "warmup")
    for r in range(rounds):
        def ours_side():
            nonlocal reward_s, ours_step_s
            before = clock.seconds  # runs are sequential: this counts our run's reward calls only
            ours = ours_run(settings, work / f"ours{r}")
            reward_s += clock.seconds - before
            ours_step_s += sum(float(m["step_time"]) for m in _metrics(work / f"ours{r}") if "step_time" in m)
            ours_times.extend(ours[1:])

        def bare_side():
            bare_times.extend(bare_run(model_dir, rows, settings, work / f"bare{r}")[1:])

        for side in ((bare_side, ours_side) if r % 2 == 0 else (ours_side, bare_side)):
            side()
        print(f"round {r + 1}: bare {statistics.median(bare_times) * 1000:.2f} ms/step/token, ours "
              f"{statistics.median(ours_times) * 1000:.2f} ms/step/token, rewards {reward_s:.2f}s of "
              f"{ours_step_s:.2f}s", file=sys.stderr)
    ratio = statistics.median(ours_times) / statistics.median(bare_times)
    share = reward_s / max(ours_step_s, 1e-9)
    print(f"bare {statistics.median(bare_times) * 1000:.2f}, ours {statistics.median(ours_times) * 1000:.2f} "
          f"ms/step per completion token; ratio {ratio:.3f}; reward share {share:.3f}; "
          f"{time.time() - t0:.0f}s total", file=sys.stderr)
    print(json.dumps({"bench": "grpo", "ratio": round(ratio, 3), "reward_share": round(share, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
