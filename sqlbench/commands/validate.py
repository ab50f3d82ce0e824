"""Judge answers (or gold queries) by running them in the SQL sandbox.

INPUT is any dataset the loader reads (a local JSONL/JSON/Parquet/CSV file, a
save_to_disk folder, a run directory or a Hub id; default: the bundled dataset). A row
with a `completion` column (a full <think>…</think><sql>…</sql> answer) or a
`candidate_sql` column has that judged; a row with neither has its gold query checked
against its own context (with --db-dir, against the row's database file,
DIR/<db_id>/<db_id>.sqlite or the row's db_path). Each output line is the input row (its `id` kept) plus
"verdict": {"valid", "reason", "detail", "sql"} (and small "expected"/"got" previews
when results differ). Reasons: ok format syntax execution timeout mismatch unsafe
bad_context gold_error unverified (it runs, but the data cannot tell right from wrong). A summary (counts by reason, rows/s) goes to stderr.
Exit 0 when it ran, whatever the verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from sqlbench.commands.base import load_context
from sqlbench.errors import DatasetError

PROGRESS_MIN_ROWS = 200  # shorter inputs finish before a bar is worth drawing
IN_PROCESS_MAX_ROWS = 32  # starting worker processes costs more than judging these
IN_PROCESS_CHUNK = 16  # rows judged per hand-off in process (the output streams a chunk at a time)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", nargs="?", default=None,
                        help="dataset path or Hub id (default: the bundled dataset)")
    parser.add_argument("-o", "--output", metavar="OUT.jsonl", help="write verdict lines here (default: stdout)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per query (default 2)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--max-rows", type=int, default=None, help="rows fetched per result (default 10000)")
    parser.add_argument("--test-databases", action="store_true", default=None,
                        help="also judge contexts that carry rows on generated test databases (changes verdicts; "
                             "schema-only contexts always get validate.test_databases of them)")
    parser.add_argument("--format", dest="fmt", default=None,
                        choices=["gretel", "spider", "synsql", "bird", "distilled", "sqlbench"],
                        help="dataset layout (default: detected from the columns)")
    parser.add_argument("--db-dir", metavar="DIR", default=None,
                        help="database files DIR/<db_id>/<db_id>.sqlite (or .db): run the SQL on the real data")
    parser.add_argument("--split", default="train", help="dataset split (default: train)")
    parser.add_argument("--limit", type=int, default=None, help="judge only the first N rows")


def candidate_of(row: dict[str, Any]) -> str | None:
    """The answer a row asks to judge: its completion, else its candidate SQL; None
    when the row has neither column (then its gold is checked). A column that is there
    but empty is an empty answer, judged as such, never a silent gold check."""
    for key in ("completion", "candidate_sql"):
        if key not in row:
            continue
        value = row[key]
        if isinstance(value, list):  # conversational completions: the last message
            value = next((m.get("content") for m in reversed(value) if isinstance(m, dict)), None)
        if key == "completion" and not (isinstance(value, str) and value.strip()):
            return EMPTY_COMPLETION
        return value if isinstance(value, str) else ("" if value is None else str(value))
    return None


# An empty completion must fail the format check: the tags with nothing inside do.
EMPTY_COMPLETION = "<think></think><sql></sql>"


# Worker processes keep one Validator each, so a task's built context is reused.
_VALIDATOR = None


def _init_worker(settings: dict[str, Any]) -> None:
    global _VALIDATOR
    from sqlbench.sqlcheck import Validator

    _VALIDATOR = Validator(**settings)


def _judge(items: list) -> list[dict[str, Any]]:
    return [v.to_dict() for v in _VALIDATOR.check_many(items)]


def _verdicts(items: list, workers: int, settings: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Verdicts in input order, a chunk at a time (one hand-off to the validator's
    guarded thread per chunk), from worker processes when it pays."""
    if workers <= 1 or len(items) <= IN_PROCESS_MAX_ROWS:
        _init_worker(settings)
        for start in range(0, len(items), IN_PROCESS_CHUNK):
            yield from _judge(items[start:start + IN_PROCESS_CHUNK])
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: forking a process that may already run loader/progress threads is unsafe.
    ctx = multiprocessing.get_context("spawn")
    size = max(1, min(64, len(items) // (workers * 8)))
    chunks = [items[start:start + size] for start in range(0, len(items), size)]
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(settings,)) as pool:
        try:
            for verdicts in pool.map(_judge, chunks):
                yield from verdicts
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def run(args: argparse.Namespace) -> int:
    ctx = load_context(args, "validate",
                       {"timeout": args.timeout, "workers": args.workers, "max_rows": args.max_rows,
                        "db_dir": args.db_dir, "test_databases_with_rows": args.test_databases})
    cfg = ctx.settings.validate_
    workers = cfg.workers or os.cpu_count() or 1

    from sqlbench.data.loader import load_tasks

    tasks = load_tasks(args.input, split=args.split, limit=args.limit, fmt=args.fmt,
                       token=ctx.secrets.get("hf_token"), db_dir=cfg.db_dir)
    warn_database_problems(tasks)
    items = [(t, candidate_of(dict(t.row))) for t in tasks]

    out = sys.stdout
    if args.output:
        path = Path(args.output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            out = path.open("w", encoding="utf-8")
        except OSError as e:
            raise DatasetError(f"{path}: cannot write ({e.strerror or e})") from None

    counts: Counter[str] = Counter()
    start = time.perf_counter()
    progress = _progress(len(items))
    try:
        bar = progress.add_task("validating", total=len(items)) if progress else None
        if progress:
            progress.start()
        settings = {"timeout": cfg.timeout, "max_rows": cfg.max_rows, "test_databases": cfg.test_databases,
                    "test_databases_with_rows": cfg.test_databases_with_rows, "max_memory_mb": cfg.max_memory_mb,
                    "max_copy_bytes": int(cfg.max_copy_mb * (1 << 20))}
        for (task, _), verdict in zip(items, _verdicts(items, workers, settings)):
            row = dict(task.row)
            line = {"id": row.pop("id", task.id), **row, "verdict": verdict}
            out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            if out is sys.stdout:
                out.flush()
            counts[verdict["reason"]] += 1
            if progress:
                progress.advance(bar)
    except BrokenPipeError:
        # The reader (e.g. `| head`) has gone: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if progress:
            progress.stop()
        if out is not sys.stdout:
            out.close()
    elapsed = time.perf_counter() - start
    print(summary(counts, elapsed), file=sys.stderr)
    return 0


def warn_database_problems(tasks) -> None:
    """One stderr line per missing or unreadable database file (its rows go on as bad_context)."""
    from sqlbench.data.dbschema import database_problems

    for line in database_problems(tasks):
        print(f"sqlbench: {line}", file=sys.stderr)


def summary(counts: Counter, elapsed: float) -> str:
    n = sum(counts.values())
    rate = n / elapsed if elapsed > 0 else 0.0
    parts = ", ".join(f"{reason} {count}" for reason, count in counts.most_common())
    unverified = f", {counts['unverified']} unverified" if counts.get("unverified") else ""
    return (f"validated {n} rows: {counts.get('ok', 0)} valid{unverified} ({parts or 'none'}) "
            f"in {elapsed:.2f} s, {rate:.0f} rows/s")


def _progress(total: int):
    if total < PROGRESS_MIN_ROWS:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
