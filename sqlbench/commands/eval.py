"""Execution accuracy of a model on a dataset: greedy answers to each task, judged by
the SQL validator against the task's gold query.

Writes R/eval.json (execution_accuracy, ex_spider, ex_bird, format_rate, n,
by_sql_complexity, by_sql_task_type, model, dataset, match) and R/answers.jsonl (one judged answer per task)
into an eval run directory R (default runs/<timestamp>-eval), then prints a table.
--model takes a model folder, a train run directory (its model/), an adapter folder,
a .gguf file (converted once into a cached folder), a Hub id, or a named student
(tiny, smollm2-135m); default: the tiny offline student. Three execution-accuracy rules:
sqlbench's own (execution_accuracy), Spider test-suite's result_eq (ex_spider) and
BIRD's set equality (ex_bird); --match picks the one the table shows."""

from __future__ import annotations

import argparse
import json

from sqlbench.commands.base import load_context, test_databases_flag, with_validate_flags

FLAGS = ("model", "gguf_file", "dataset_repo_id", "split", "limit", "max_new_tokens", "batch_size", "db_dir", "match")


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--model", help="model folder, train run directory, adapter folder, .gguf file, Hub id, or a named student "
                      "(tiny, smollm2-135m; default: the tiny offline student)")
    a("--gguf-file", metavar="NAME", help="the GGUF file to use when --model's folder or Hub repo holds several")
    a("--dataset-repo-id", help="any loader source (default: the bundled dataset)")
    a("--split", help="dataset split (default train)")
    a("--db-dir", metavar="DIR", help="database files DIR/<db_id>/<db_id>.sqlite (or .db) to run the SQL on")
    a("--match", choices=["sqlbench", "spider", "bird"],
      help="execution-accuracy rule of the printed table (default sqlbench); eval.json has all three")
    a("--limit", type=int, help="evaluate the first N tasks (default 100)")
    a("--max-new-tokens", type=int, help="tokens per answer (default 256)")
    a("--batch-size", type=int, help="tasks per generation batch (default 8)")
    a("--run-dir", help="eval run directory (default runs/<timestamp>-eval)")
    a("--json", action="store_true", help="print eval.json instead of the table")
    a("--device", default=None, metavar="D",
      help="torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:N, mps "
      "(default: config device, auto)")
    test_databases_flag(parser)


def run(args: argparse.Namespace) -> int:
    from sqlbench.evaluation.accuracy import format_table, run_eval

    from sqlbench.training.tiny import default_tiny_model

    flags = {k: getattr(args, k, None) for k in FLAGS}
    ctx = with_validate_flags(load_context(args, "eval", flags, top_flags={"device": args.device}), args)
    path = run_eval(ctx.settings, ctx.secrets, run_dir=args.run_dir, tiny=default_tiny_model)
    result = json.loads((path / "eval.json").read_text())
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result, ctx.settings.eval.match))
        print(f"model {result['model']} on {result['dataset']}: {path}")
    return 0
