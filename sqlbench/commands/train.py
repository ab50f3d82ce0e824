"""Fine-tune a student on text-to-SQL with TRL: SFT on reasoning traces, then GRPO on
SQL rewards judged against the dataset's gold queries, staying close to the reference
policy (KL weight --beta).

Stages: --stage auto (default) runs SFT then GRPO when the data carries reasoning (a
distilled dataset, SynSQL's cot), else GRPO alone. LoRA via PEFT unless --full.
Rewards (weights with --reward-weights name=w,...; 0 disables one):
  format 0|1 strict <think>..</think><sql>..</sql> layout      (default weight 0.5)
  tags 0..1 0.25 per answer tag present exactly once            (0.25)
  syntax 0|1 the SQL parses                                      (0.25)
  schema 0..1 F1 of tables+columns used vs the gold query        (0.5)
  execution 1 result matches gold, 0.1 only runs, 0 otherwise    (2.0)
  length 0..1 penalises reasoning longer than 600 characters     (0.1)

Everything lands in the run directory (default runs/<timestamp>-train): metrics.jsonl
(every TRL log plus step/stage/epoch and eval/execution_accuracy on the held-out split
every --eval-steps), completions.jsonl (sampled completions with per-reward scores),
events.jsonl, checkpoints/, and the final adapter or model in model/ (loadable with
--model RUN by eval, chat and serve). Ctrl-C / SIGTERM save a checkpoint and stop;
--resume --run-dir RUN continues from it with the settings it started with (flags
given now, e.g. a larger --max-steps, override them). On a CUDA machine with the gpu extra,
Unsloth (4-bit + LoRA) and vLLM colocated generation are used and announced."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from sqlbench.commands.base import bool_flag, load_context, test_databases_flag, with_validate_flags

FLAGS = ("model", "gguf_file", "dataset_repo_id", "split", "limit", "stage", "max_steps", "epochs", "learning_rate",
         "sft_learning_rate", "sft_max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
         "num_generations",
         "max_completion_length", "beta", "loss_type", "lora_r", "lora_alpha", "lora_dropout", "full",
         "eval_split", "eval_steps", "save_steps", "logging_steps", "merge", "publish_repo_id", "private_repo",
         "seed", "num_processes", "accelerate_config", "vllm_mode", "vllm_server_url", "db_dir")


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--model", help="base model: folder, run directory, adapter folder, .gguf file, Hub id, or a named student "
                      "(tiny, smollm2-135m; default: the tiny offline student)")
    a("--gguf-file", metavar="NAME", help="the GGUF file to use when --model's folder or Hub repo holds several")
    a("--dataset-repo-id", help="distilled run/dataset or any loader source (default: the bundled dataset)")
    a("--split", help="dataset split (default train)")
    a("--db-dir", metavar="DIR", help="database files DIR/<db_id>/<db_id>.sqlite (or .db) the rewards run SQL on")
    a("--limit", type=int, help="use only the first N tasks")
    a("--stage", choices=["auto", "sft", "grpo", "both"], help="training stages (default auto)")
    a("--max-steps", type=int, help="optimizer steps per stage (-1: use --epochs; default 30)")
    a("--epochs", type=float, help="epochs per stage when --max-steps is -1")
    a("--learning-rate", type=float, help="GRPO learning rate (default 5e-5)")
    a("--sft-learning-rate", type=float, help="SFT learning rate (default 2e-4)")
    a("--sft-max-steps", type=int, help="SFT optimizer steps (-1: use --epochs; default: --max-steps)")
    a("--per-device-train-batch-size", type=int, help="completions per device step; divisible by --num-generations")
    a("--gradient-accumulation-steps", type=int, help="default 1")
    a("--num-generations", type=int, help="GRPO completions per prompt (default 4)")
    a("--max-completion-length", type=int, help="tokens per completion (default 256)")
    a("--max-prompt-length", type=int, metavar="N",
      help="fit each prompt to N tokens, dropping seed rows, then the schema's tail, never the question "
           "(default max_prompt_length in config.yaml)")
    a("--beta", type=float, help="KL weight towards the reference policy (default 0.04)")
    a("--loss-type", help="TRL GRPO loss: grpo, dr_grpo, dapo, bnpo, ... (default grpo)")
    a("--reward-weights", metavar="NAME=W,...", help="override reward weights, e.g. execution=3,length=0")
    a("--lora-r", type=int, help="LoRA rank (default 16)")
    a("--lora-alpha", type=int, help="LoRA alpha (default 32)")
    a("--lora-dropout", type=float, help="LoRA dropout (default 0.05)")
    bool_flag(parser, "full", "full fine-tuning instead of LoRA")
    bool_flag(parser, "merge", "also write merged weights to RUN/model (adapter then in RUN/adapter)")
    a("--eval-split", type=float, help="held-out share (<1) or count (>=1) for execution accuracy (default 0.1)")
    a("--eval-steps", type=int, help="held-out evaluation every N steps (default 10)")
    a("--save-steps", type=int, help="checkpoint every N steps (default 10)")
    a("--logging-steps", type=int, help="log metrics every N steps (default 1)")
    a("--publish-repo-id", help="push the model with a model card to this Hub repo (needs HF_TOKEN)")
    bool_flag(parser, "private-repo", "create the Hub repo private")
    a("--seed", type=int, help="default 42")
    a("--run-dir", help="run directory (default runs/<timestamp>-train)")
    a("--resume", action="store_true", help="continue the run in --run-dir from its last checkpoint")
    a("--num-processes", type=int, metavar="N",
      help="data-parallel processes under torchrun (gloo on CPU, NCCL on GPUs; default 1)")
    a("--accelerate-config", metavar="FILE",
      help="launch through `accelerate launch --config_file FILE` (DeepSpeed ZeRO-2/3, FSDP: configs/accelerate/)")
    a("--vllm-mode", choices=["colocate", "server"],
      help="GRPO generation with vLLM in the trainer's processes, or on a `trl vllm-serve` server (GPU)")
    a("--vllm-server-url", metavar="URL", help="the `trl vllm-serve` server for --vllm-mode server")
    test_databases_flag(parser)


def run(args: argparse.Namespace) -> int:
    from sqlbench.training.rewards import parse_weights

    flags = {k: getattr(args, k, None) for k in FLAGS}
    if args.reward_weights is not None:
        flags["reward_weights"] = parse_weights(args.reward_weights)
    from pathlib import Path

    resuming = args.resume and args.run_dir and (Path(args.run_dir) / "run.json").is_file()
    ctx = with_validate_flags(load_context(args, "train", flags, top_flags={"max_prompt_length": args.max_prompt_length},
                                           resume=args.run_dir if resuming else None), args)
    cfg = ctx.settings.train
    from sqlbench.training.distributed import launched

    if (cfg.num_processes > 1 or cfg.accelerate_config) and not launched():
        return _launch(args, ctx.settings)

    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():  # second Ctrl-C: give up on the clean stop
            raise KeyboardInterrupt
        print("stopping: saving a checkpoint after this step (Ctrl-C again to abort)", file=sys.stderr)
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        from sqlbench.training.job import run_train

        path = run_train(ctx.settings, ctx.secrets, run_dir=args.run_dir, resume=args.resume, stop=stop,
                         argv=["sqlbench", "train", *sys.argv[2:]] if sys.argv[1:2] == ["train"] else None)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    from sqlbench.runs import RunDir

    from sqlbench.training.distributed import Ranks

    import os

    from sqlbench.training.distributed import LAUNCHED_BY_SQLBENCH

    # under `sqlbench train --num-processes`, a cleanly stopped rank exits 0 (torchrun would
    # report any other code as a crash); the launcher exits 130 from the run's status
    interrupted = 0 if os.environ.get(LAUNCHED_BY_SQLBENCH) else 130
    if not Ranks.from_env().main:  # rank 0 reports the run (and may still be saving it)
        return interrupted if stop.is_set() else 0
    status = RunDir(path).status
    print(f"train {status}: {path}")
    return 0 if status == "finished" else interrupted


def _launch(args: argparse.Namespace, settings) -> int:
    """Run this same command in N processes; each comes back here as a launched rank."""
    from sqlbench.runs import RunDir, default_run_path
    from sqlbench.training.distributed import check_launch, launch, launch_command

    cfg = settings.train
    check_launch(cfg.num_processes, cfg.accelerate_config)
    from sqlbench.training.grpo import check_batch

    check_batch(cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps, cfg.num_generations)  # once, not per rank
    run_dir = args.run_dir or str(default_run_path("train", settings.runs_dir))
    cmd = launch_command(args._argv, cfg.num_processes, run_dir, accelerate_config=cfg.accelerate_config)
    how = f"accelerate ({cfg.accelerate_config})" if cfg.accelerate_config else "torchrun"
    print(f"train: {cfg.num_processes} processes via {how}, run directory {run_dir}", file=sys.stderr)
    rc = launch(cmd)
    run = RunDir(run_dir)
    if rc and not run.exists():
        print(f"train failed before rank 0 wrote {run_dir}: see the lines above", file=sys.stderr)
        return rc
    if run.exists() and run.status == "interrupted":  # torchrun reports a signal its own way; rank 0 said it
        return 130
    return rc
