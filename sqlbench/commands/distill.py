"""Ask a teacher LLM for <think> reasoning + <sql> on each task, validate every answer
in the SQL sandbox, and save the samples and the final dataset in a run directory
(optionally publishing it to the Hugging Face Hub).

The teacher sees the question and the schema only; the gold SQL is used to judge
(--hint-gold shows it to the teacher, which leaks the answer). An existing --run-dir is
resumed with the settings it started with (flags given now override them): finished
tasks are not asked again. With no flags the
teacher is the tiny offline student on the bundled dataset (works offline).

Outputs: RUN/samples.jsonl (every answer with its verdict), RUN/events.jsonl,
RUN/config.yaml, and at the end RUN/dataset.jsonl + RUN/dataset/ (datasets
save_to_disk). A stopped job (SIGTERM/SIGINT, at any phase) records status
"interrupted" and exits 130; a RUN/pause file pauses dispatching until it is removed.
One job at a time holds a run directory (an OS lock on RUN/lock): a second one exits 2.

Exit codes: 0 finished, 1 failed (unexpected error), 2 a mistake you can fix (one
line), 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import sys

from sqlbench.commands.base import bool_flag, load_context, test_databases_flag, with_validate_flags

SECTION_FLAGS = ("model", "dataset_repo_id", "limit", "batch_size", "provider", "validate", "remove_no_valid",
                 "publish", "publish_repo_id", "private_repo", "retries", "use_ray", "base_url", "num_samples",
                 "max_tokens", "hint_gold", "split", "format", "db_dir", "gguf_file")


def configure(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("teacher")
    g.add_argument("--provider", metavar="NAME",
                   help="OpenAI | vLLM | Groq | HuggingFace | Transformers (case-insensitive; default Transformers)")
    g.add_argument("--model", metavar="ID", help="teacher model id, folder or endpoint (default: the tiny offline "
                   "student for Transformers; the server's first model for OpenAI)")
    g.add_argument("--gguf-file", metavar="NAME",
                   help="Transformers teacher: the GGUF file to use when --model's folder or Hub repo holds several")
    g.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint (default: base_url in config.yaml); "
                   "for Groq/HuggingFace overrides their endpoint")
    g.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (default from config.yaml)")
    g.add_argument("--max-tokens", type=int, metavar="N", help="longest answer in tokens")
    g.add_argument("--max-prompt-length", type=int, metavar="N",
                   help="Transformers teacher: fit each prompt to N tokens, dropping seed rows, then the "
                        "schema's tail, never the question (default max_prompt_length in config.yaml)")
    g.add_argument("--num-samples", type=int, metavar="K", help="answers per task; the best valid one is kept")
    bool_flag(g, "hint-gold", "show the gold SQL to the teacher (LEAKS the answer; the dataset card says so)")
    g.add_argument("--device", metavar="D", help="the Transformers teacher's torch device: auto (CUDA when present, "
                   "else CPU), cpu, cuda, cuda:N, mps (default: config device, auto)")
    d = parser.add_argument_group("data")
    d.add_argument("--dataset-repo-id", metavar="ID_OR_PATH",
                   help="Hub dataset id or local path (JSONL/JSON/Parquet/CSV/save_to_disk); default: bundled")
    d.add_argument("--split", metavar="NAME", help="dataset split (default train)")
    d.add_argument("--format", metavar="FMT",
                   help="gretel | spider | synsql | bird | distilled | sqlbench (default: detected)")
    d.add_argument("--db-dir", metavar="DIR", help="database files DIR/<db_id>/<db_id>.sqlite (or .db): "
                   "answers are judged on the real data and the prompt's schema comes from the file")
    d.add_argument("--limit", type=int, metavar="N", help="number of tasks (default 100)")
    r = parser.add_argument_group("run")
    r.add_argument("--run-dir", metavar="PATH", help="run directory (default runs/<timestamp>-distill); "
                   "an existing one is resumed")
    r.add_argument("--batch-size", type=int, metavar="N", help="concurrent requests (default 64, at most 4096)")
    r.add_argument("--retries", type=int, metavar="N", help="retries per request on 429/5xx/timeouts (default 3)")
    bool_flag(r, "validate", "judge every answer in the SQL sandbox (default on)")
    bool_flag(r, "remove-no-valid", "keep only validated answers in the dataset (needs --validate)")
    test_databases_flag(r)
    bool_flag(r, "use-ray", "run generation and validation as Ray actors (ray_address in config; local otherwise)")
    p = parser.add_argument_group("publishing")
    bool_flag(p, "publish", "push the final dataset to the Hugging Face Hub (HF_TOKEN)")
    p.add_argument("--publish-repo-id", metavar="ID", help="Hub dataset repo, e.g. your-name/sql-reasoning")
    bool_flag(p, "private-repo", "create the Hub repo as private")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    import signal
    from pathlib import Path

    from sqlbench.errors import EXIT_INTERRUPTED

    # SIGTERM is an interrupt in every phase: while settings, tasks or the teacher load
    # (here), and during the run (the pipeline's own handler: no new request, the ones
    # in flight finish, the run ends "interrupted"). Either way: exit 130, resumable.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        from sqlbench.distill import run_distill
        from sqlbench.runs import FINISHED, RunDir
        from sqlbench.training.tiny import default_tiny_model

        if args.run_dir:
            RunDir(args.run_dir).check_unlocked()  # before "resuming …": it is not ours to resume
        flags = {k: getattr(args, k, None) for k in SECTION_FLAGS}
        existing = args.run_dir and (Path(args.run_dir) / "run.json").is_file()
        ctx = load_context(args, "distill", flags, top_flags={"temperature": args.temperature,
                                                                   "max_prompt_length": args.max_prompt_length,
                                                                   "device": args.device},
                           resume=args.run_dir if existing else None)
        ctx = with_validate_flags(ctx, args)
        if args.device is not None:  # a device this machine lacks: one line, before the run directory exists
            from sqlbench.devices import pick_device

            pick_device(ctx.settings.device)
        path = run_distill(ctx.settings, ctx.secrets, run_dir=args.run_dir, argv=["sqlbench", *sys.argv[1:]],
                           tiny=default_tiny_model)
        print(path)
        return 0 if RunDir(path).status == FINISHED else EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
