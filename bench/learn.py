#!/usr/bin/env python3
"""Does GRPO teach the tiny student anything beyond SFT? A few minutes on CPU.

One ``sqlbench train --stage both`` run (full fine-tuning) on the bundled tasks, from the
default tiny student (warmed up), with a held-out split the run never trains on:

  * SFT-only: the run's SFT stage result (``RUN/sft/model``);
  * SFT + GRPO: the final model (``RUN/model``), GRPO started from that SFT model.

Both are evaluated the same way (greedy, validator against the gold) on the same
held-out tasks; execution accuracy and format rate are printed side by side. Last line
is JSON: {"bench": "learn", "sft": {...}, "sft_grpo": {...}, "delta_execution_accuracy": ...,
"delta_format_rate": ...}. Goal: SFT + GRPO above SFT-only.

    .venv/bin/python bench/learn.py [--sft-steps N] [--grpo-steps N] [--held-out N]

``--student NAME`` (e.g. ``smollm2-135m``) runs the learning proof on a named student
instead: the bundled tasks split with a fixed seed, stratified by sql_complexity, into
--train-tasks for training and --held-out (default 100) held out; LoRA SFT then GRPO; the
base model zero-shot, SFT only and SFT + GRPO evaluated on the same held-out tasks, each
with a 95 % Wilson interval, and SFT vs SFT + GRPO compared by an exact McNemar test.
Every stage is cached in --run-dir (training resumes, evaluations are reused).
Last line: {"bench": "learn", "student", "base", "sft", "sft_grpo", "mcnemar", ...}.
"""

from __future__ import annotations

import argparse
import json
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


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warm-steps", type=int, default=None,
                    help="tiny-model warm-up before the run (default: the default student's)")
    ap.add_argument("--sft-steps", type=int, default=300)
    ap.add_argument("--grpo-steps", type=int, default=200)
    ap.add_argument("--held-out", type=int, default=None, help="held-out tasks (default 40; 100 with --student)")
    ap.add_argument("--grpo-lr", type=float, default=5e-5, help="GRPO learning rate (default 5e-5)")
    ap.add_argument("--lora", action="store_true", help="LoRA instead of full fine-tuning")
    ap.add_argument("--run-dir", default=None, help="keep the training run here (default: a temp folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--student", default=None, help="a named student (smollm2-135m) instead of the tiny one")
    ap.add_argument("--train-tasks", type=int, default=300, help="with --student: training tasks (default 300)")
    ap.add_argument("--sft-lr", type=float, default=3e-4, help="with --student: SFT learning rate (default 3e-4)")
    ap.add_argument("--num-generations", type=int, default=4,
                    help="with --student: GRPO completions per prompt (default 4; a step is one prompt's)")
    args = ap.parse_args(argv)
    if args.student:
        return real_student(args)
    args.held_out = args.held_out or 40

    import transformers

    transformers.logging.set_verbosity_error()
    from sqlbench.config import Secrets, Settings
    from sqlbench.data.loader import load_tasks
    from sqlbench.evaluation.accuracy import evaluate_model
    from sqlbench.inference.models import load_model
    from sqlbench.training.data import split_tasks
    from sqlbench.training.job import run_train

    t0 = time.time()
    from sqlbench.training.tiny import WARM_STEPS

    args.warm_steps = WARM_STEPS if args.warm_steps is None else args.warm_steps
    model_dir = warm_student(args.warm_steps)
    work = Path(args.run_dir) if args.run_dir else Path(tempfile.mkdtemp(prefix="sqlbench-bench-learn-")) / "run"
    settings = Settings.model_validate({
        "runs_dir": str(work.parent), "cache_dir": str(ROOT / ".cache" / "sqlbench"),
        "max_prompt_length": 256, "max_seq_length": 512, "temperature": 1.0,
        "train": {"model": str(model_dir), "stage": "both",
                  "eval_split": args.held_out, "eval_steps": 10_000, "save_steps": 10_000,
                  "per_device_train_batch_size": 8, "num_generations": 4, "max_completion_length": 128,
                  "sft_learning_rate": 2e-3, "learning_rate": args.grpo_lr, "beta": 0.04, "lora_r": 32,
                  "lora_alpha": 64, "full": not args.lora, "seed": args.seed, "sft_max_steps": args.sft_steps},
    })
    settings.train.max_steps = args.grpo_steps
    path = run_train(settings, Secrets(), run_dir=work, log=_stderr)
    train_s = time.time() - t0

    tasks = load_tasks()
    _, held_out = split_tasks(tasks, args.held_out, seed=args.seed)
    results = {}
    for name, folder in (("sft", path / "sft" / "model"), ("sft_grpo", path / "model")):
        model, tok = load_model(folder)
        summary, _ = evaluate_model(model, tok, held_out, max_new_tokens=128, batch_size=8,
                                    max_prompt_tokens=settings.max_prompt_length)
        results[name] = {"execution_accuracy": summary["execution_accuracy"], "format_rate": summary["format_rate"],
                         "n": summary["n"], "reasons": summary["reasons"]}

    print(f"\nheld-out tasks: {len(held_out)}  (SFT {args.sft_steps} steps, GRPO {args.grpo_steps} steps, "
          f"tiny model warm-up {args.warm_steps}; {time.time() - t0:.0f}s, training {train_s:.0f}s)", file=sys.stderr)
    print(f"{'':14}{'SFT only':>12}{'SFT + GRPO':>14}", file=sys.stderr)
    for key, label in (("execution_accuracy", "exec accuracy"), ("format_rate", "format rate")):
        print(f"{label:14}{results['sft'][key]:>12.1%}{results['sft_grpo'][key]:>14.1%}", file=sys.stderr)
    print(f"reasons SFT:        {results['sft']['reasons']}", file=sys.stderr)
    print(f"reasons SFT + GRPO: {results['sft_grpo']['reasons']}", file=sys.stderr)
    print(json.dumps({
        "bench": "learn", "held_out": len(held_out), "sft_steps": args.sft_steps, "grpo_steps": args.grpo_steps,
        "grpo_lr": args.grpo_lr, "full": not args.lora,
        "sft": {k: results["sft"][k] for k in ("execution_accuracy", "format_rate")},
        "sft_grpo": {k: results["sft_grpo"][k] for k in ("execution_accuracy", "format_rate")},
        "delta_execution_accuracy": round(results["sft_grpo"]["execution_accuracy"]
                                          - results["sft"]["execution_accuracy"], 4),
        "delta_format_rate": round(results["sft_grpo"]["format_rate"] - results["sft"]["format_rate"], 4),
    }))
    return 0


def real_student(args) -> int:
    """The learning proof on a named student; every stage cached under --run-dir."""
    import transformers

    transformers.logging.set_verbosity_error()
    from sqlbench.config import Secrets, Settings
    from sqlbench.data.loader import load_tasks
    from sqlbench.evaluation.accuracy import evaluate_model
    from sqlbench.inference.models import load_model
    from sqlbench.stats import mcnemar, wilson
    from sqlbench.training.job import run_train
    from sqlbench.training.splits import stratified_split
    from sqlbench.training.tiny import default_tiny_model

    t0 = time.time()
    held_n = args.held_out or 100
    work = Path(args.run_dir or ROOT / "runs" / f"bench-learn-{args.student}")
    work.mkdir(parents=True, exist_ok=True)
    train, held = stratified_split(load_tasks(), held_n, n_train=args.train_tasks, seed=args.seed)
    data = work / "train.jsonl"
    data.write_text("".join(json.dumps(dict(t.row)) + "\n" for t in train))
    settings = Settings.model_validate({
        "runs_dir": str(work), "cache_dir": str(ROOT / ".cache" / "sqlbench"),
        "max_prompt_length": 256, "max_seq_length": 512, "temperature": 1.0,
        "train": {"model": args.student, "dataset_repo_id": str(data), "stage": "both",
                  "eval_split": 0, "eval_steps": 10_000, "save_steps": 10,
                  "per_device_train_batch_size": max(4, args.num_generations), "num_generations": args.num_generations,
                  "max_completion_length": 128, "sft_learning_rate": args.sft_lr, "learning_rate": args.grpo_lr, "beta": 0.04,
                  "full": False, "seed": args.seed, "sft_max_steps": args.sft_steps, "max_steps": args.grpo_steps},
    })
    run = work / "run"
    timings = {}
    t = time.time()
    run_train(settings, Secrets(), run_dir=run, resume=(run / "run.json").is_file(), log=_stderr)
    timings["train_s"] = round(time.time() - t)
    summary = json.loads((run / "summary.json").read_text())
    timings.update({f"{stage}_s": round(summary[stage]["seconds"]) for stage in summary["stages"]})
    results = {}
    for name, spec in (("base", args.student), ("sft", run / "sft" / "model"), ("sft_grpo", run / "model")):
        cached = work / f"eval-{name}.json"
        if cached.is_file():
            results[name] = json.loads(cached.read_text())
            continue
        t = time.time()
        model, tok = load_model(spec, cache_dir=settings.cache_dir, tiny=default_tiny_model)
        summary, answers = evaluate_model(model, tok, held, max_new_tokens=128, batch_size=8,
                                          max_prompt_tokens=settings.max_prompt_length)
        n = summary["n"]
        k = sum(a["valid"] for a in answers)
        results[name] = {"execution_accuracy": summary["execution_accuracy"],
                         "ci95": [round(x, 4) for x in wilson(k, n)], "format_rate": summary["format_rate"],
                         "n": n, "reasons": summary["reasons"], "valid": [bool(a["valid"]) for a in answers],
                         "seconds": round(time.time() - t)}
        cached.write_text(json.dumps(results[name]))
    test = mcnemar(results["sft"]["valid"], results["sft_grpo"]["valid"])
    picture = held_out_curves(run, results, args)
    print(f"\n{args.student}: {len(train)} training / {len(held)} held-out tasks (stratified by sql_complexity); "
          f"SFT {args.sft_steps} steps, GRPO {args.grpo_steps}; {time.time() - t0:.0f}s", file=sys.stderr)
    for name, label in (("base", "base zero-shot"), ("sft", "SFT only"), ("sft_grpo", "SFT + GRPO")):
        r = results[name]
        print(f"{label:16} EX {r['execution_accuracy']:6.1%} [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]  "
              f"format {r['format_rate']:6.1%}", file=sys.stderr)
    print(f"McNemar SFT vs SFT + GRPO: {test['b_only']} tasks only SFT + GRPO solved, {test['a_only']} only SFT; "
          f"p = {test['p']:.3g}", file=sys.stderr)
    print(f"curves: {picture}", file=sys.stderr)
    print(json.dumps({"bench": "learn", "student": args.student, "train_tasks": len(train), "held_out": len(held),
                      "sft_steps": args.sft_steps, "grpo_steps": args.grpo_steps, "grpo_lr": args.grpo_lr,
                      "num_generations": args.num_generations, **timings,
                      **{k: {x: v[x] for x in ("execution_accuracy", "ci95", "format_rate")} for k, v in results.items()},
                      "mcnemar": test}))
    return 0


def held_out_curves(run: Path, results: dict, args) -> Path:
    """The three held-out evaluations as points of the run's own metrics (base at SFT step
    0, SFT at its last step, SFT + GRPO at GRPO's last), once; then the run's picture
    (rewards, KL, held-out accuracy, completion length) as RUN/curves.svg."""
    from sqlbench.runs import RunDir
    from sqlbench.training.curves import plot_run

    rd = RunDir.open(run)
    if not any(r.get("source") == "bench/learn.py" for r in rd.read("metrics")):
        for name, stage, step in (("base", "sft", 0), ("sft", "sft", args.sft_steps), ("sft_grpo", "grpo", args.grpo_steps)):
            rd.append("metrics", {"stage": stage, "step": step, "source": "bench/learn.py", "held_out": name,
                                  "eval/execution_accuracy": results[name]["execution_accuracy"],
                                  "eval/format_rate": results[name]["format_rate"]})
        rd.close()
    return plot_run(run)


if __name__ == "__main__":
    sys.exit(main())
