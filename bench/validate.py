#!/usr/bin/env python3
"""Benchmark the validator against raw sqlite3.

Builds a few thousand answers from real tasks (the bundled dataset, plus the shared
Spider and SynSQL samples when present): for every task the gold as a full answer, the
gold as bare SQL, a changed literal, a misspelt keyword, a missing table and an answer
without its <think> block. It then times, on one core,

  * validator: a fresh ``Validator`` judging every answer (cold caches: building each
    task's context once is part of the measured time), and
  * raw: plain ``sqlite3`` executing the same context + gold + candidate statements in
    a fresh in-memory database per answer, with no sandbox, no comparison, no checks.

It also measures the executable-gold rate (``Validator.check(task)`` is ok, or unverified:
it runs, but selects nothing on any test database) per source.

Schema-only tasks (contexts without rows: Spider, SynSQL) are judged on K generated test
databases. For them it also reports what that costs: building the databases per task
(``test_db_build_ms_per_task``), the validator's extra time per answer over a validator
without test databases (``test_db_extra_ms_per_answer``), and ``schema_only_ratio``: the
validator (cold, generation included) against raw sqlite3 running the same gold and
candidate statements on the same K+1 databases (the context and the K test databases,
deserialised fresh per answer), goal <= 2.0; ``schema_only_cpu_ratio`` is the same
ratio in process CPU time (every thread), which the machine's load moves less than
wall-clock time (still by about a third: compare figures measured back to back).

``ratio`` (goal <= 2.0) is the validator against raw sqlite3 on the tasks whose context
carries rows (judged on the context alone); ``ratio_all_sources`` mixes in the schema-only
ones, whose validator also judges on test databases the raw run does not have.
``schema_only_answer_ratio`` is the per-answer cost once a task's test databases exist.

The last line is JSON: {"bench": "validate", "ratio": validator/raw, "rows_per_s": …,
"gold_exec_rate": {…}, "schema_only_ratio": …, …}.

    .venv/bin/python bench/validate.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlbench.prompts import extract_sql, format_answer  # noqa: E402
from sqlbench.sqlcheck import Validator, split_statements  # noqa: E402

from tests.fixtures.datasets import SHARED_DATA as SHARED  # noqa: E402  (../shared/data, or $SQLBENCH_SHARED_DATA)
SOURCES = [  # name, path, loader format
    ("spider", SHARED / "spider-dev.json", "spider"),
    ("synsql", SHARED / "synsql-sqlr1-test.parquet", "synsql"),
]


def load_sources(quick: bool) -> dict[str, list]:
    from sqlbench.data.loader import DEFAULT_DATASET, load_tasks

    per_source = 150 if quick else None
    out: dict[str, list] = {}
    if DEFAULT_DATASET.is_file():
        out["bundled"] = load_tasks()
    else:
        print(f"bundled dataset {DEFAULT_DATASET} not found: skipped", file=sys.stderr)
    for name, path, fmt in SOURCES:
        if path.is_file():
            out[name] = load_tasks(path, fmt=fmt, limit=per_source, shuffle=True, seed=0)
        else:
            print(f"{path} not found: {name} skipped", file=sys.stderr)
    return out


_NUMBER = re.compile(r"(?<![\w.'])(\d+)(?![\w.'])")


def candidates(task) -> list[str]:
    gold = task.gold_sql.strip()
    numbers = list(_NUMBER.finditer(gold))
    if numbers:
        m = numbers[-1]
        changed = gold[: m.start()] + str(int(m.group(1)) + 1) + gold[m.end():]
    else:
        changed = gold.rstrip(";") + " LIMIT 0"
    misspelt = re.sub(r"^\s*(\w)(\w*)", lambda m: m.group(1) + m.group(2)[:-1], gold, count=1)
    return [
        format_answer("Work out which tables and columns the question needs.", gold),
        gold,
        changed,
        misspelt,
        "SELECT * FROM no_such_table_xyz",
        f"<sql>{gold}</sql>",
    ]


def run_raw(pairs) -> float:
    """Raw sqlite3: fresh database per answer, context + gold + candidate, no checks."""
    start = time.perf_counter()
    for task, answer in pairs:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        for part in (task.context, task.gold_sql, extract_sql(answer)):
            for stmt in split_statements(part):
                try:
                    conn.execute(stmt).fetchall()
                except Exception:
                    pass
        conn.close()
    return time.perf_counter() - start


def run_validator(pairs, timeout: float) -> tuple[float, Counter]:
    from sqlbench.sqlcheck import dialect

    dialect._parse.cache_clear()  # every run starts cold, sqlglot's parse cache included
    v = Validator(timeout=timeout)
    reasons: Counter = Counter()
    start = time.perf_counter()
    for task, answer in pairs:
        reasons[v.check(task, answer).reason] += 1
    return time.perf_counter() - start, reasons


_BUILT: dict[str, bytes | None] = {}  # context -> its SQLite image when it has no rows, else None


def schema_only_image(task) -> bytes | None:
    """The task's context built in SQLite, when it holds no rows (the tasks judged on
    test databases); None for a context with rows, or one SQLite cannot build (judged
    on DuckDB, with its rows)."""
    if task.context not in _BUILT:
        from sqlbench.sqlcheck import testdb

        conn = sqlite3.connect(":memory:")
        try:
            for stmt in split_statements(task.context):
                conn.execute(stmt)
            _BUILT[task.context] = None if testdb.has_rows(conn) else conn.serialize()
        except Exception:  # noqa: BLE001 - a context SQLite cannot build
            _BUILT[task.context] = None
        finally:
            conn.close()
    return _BUILT[task.context]


def has_rows(task) -> bool:
    return schema_only_image(task) is None


def schema_only_costs(sources: dict[str, list], timeout: float) -> dict:
    """The cost of test databases on the schema-only tasks (see the module docstring)."""
    from sqlbench.sqlcheck import dialect, testdb

    tasks = [t for ts in sources.values() for t in ts if not has_rows(t)]
    images = [schema_only_image(t) for t in tasks]
    if not tasks:
        return {}
    k = Validator().test_databases
    start = time.perf_counter()
    generated = [testdb.build(img, testdb.gold_hints(t.gold_sql), k=k)
                 for t, img in zip(tasks, images)]
    build_s = time.perf_counter() - start
    pairs = [(t, a) for t in tasks for a in candidates(t)]
    dbs = {t.id: [img] + g[:k] for t, img, g in zip(tasks, images, generated)}

    start, cpu = time.perf_counter(), time.process_time()
    for task, answer in pairs:  # raw: the same statements on the same K+1 databases, fresh each time
        for image in dbs[task.id]:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            conn.deserialize(image)
            for part in (task.gold_sql, extract_sql(answer)):
                for stmt in split_statements(part):
                    try:
                        conn.execute(stmt).fetchall()
                    except Exception:  # noqa: BLE001
                        pass
            conn.close()
    raw_s, raw_cpu = time.perf_counter() - start, time.process_time() - cpu
    cpu = time.process_time()
    with_dbs, reasons = run_validator(pairs, timeout)
    with_dbs_cpu = time.process_time() - cpu
    # the same answers again on that validator: each task's test databases and gold results
    # exist now, so this is the per-answer cost of judging on K+1 databases
    v = Validator(timeout=timeout)
    for t in tasks:
        v.check(t)
    start, cpu = time.perf_counter(), time.process_time()
    for task, answer in pairs:
        v.check(task, answer)
    warm_s, warm_cpu = time.perf_counter() - start, time.process_time() - cpu
    dialect._parse.cache_clear()
    v0 = Validator(timeout=timeout, test_databases=0)
    start = time.perf_counter()
    for task, answer in pairs:
        v0.check(task, answer)
    without = time.perf_counter() - start
    print(f"schema-only: {len(tasks)} tasks, {len(pairs)} answers, K={k}: building the test databases "
          f"{1000 * build_s / len(tasks):.1f} ms/task; validator {with_dbs:.2f} s vs {without:.2f} s without test "
          f"databases, raw sqlite3 on the same databases {raw_s:.2f} s, ratio {with_dbs / raw_s:.2f} "
          f"(in CPU time {with_dbs_cpu:.2f} s vs {raw_cpu:.2f} s, {with_dbs_cpu / raw_cpu:.2f}); "
          f"verdicts {dict(reasons.most_common())}", file=sys.stderr)
    print(f"schema-only, the task's databases built: validator {warm_s:.2f} s vs raw {raw_s:.2f} s, per-answer ratio "
          f"{warm_s / raw_s:.2f} (in CPU time {warm_cpu / raw_cpu:.2f})", file=sys.stderr)
    return {"schema_only_ratio": round(with_dbs / raw_s, 3), "schema_only_cpu_ratio": round(with_dbs_cpu / raw_cpu, 3),
            "schema_only_answer_ratio": round(warm_s / raw_s, 3), "schema_only_answer_cpu_ratio": round(warm_cpu / raw_cpu, 3),
            "schema_only_answers": len(pairs),
            "test_databases": k, "test_db_build_ms_per_task": round(1000 * build_s / len(tasks), 2),
            "test_db_extra_ms_per_answer": round(1000 * (with_dbs - without) / len(pairs), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="150 tasks per shared sample (well under 45 s)")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args(argv)

    sources = load_sources(args.quick)
    gold_rate, unverified_rate = {}, {}
    for name, tasks in sources.items():
        v = Validator(timeout=args.timeout)
        verdicts = [v.check(t) for t in tasks]
        ok = sum(1 for x in verdicts if x.valid or x.reason == "unverified")
        gold_rate[name] = round(ok / len(tasks), 4) if tasks else None
        unverified_rate[name] = round(sum(x.reason == "unverified" for x in verdicts) / len(tasks), 4) if tasks else None
        bad = Counter(x.reason for x in verdicts if not x.valid)
        print(f"{name:8s} executable gold {ok}/{len(tasks)} ({gold_rate[name]:.1%})"
              + (f"  not ok: {dict(bad)}" if bad else ""), file=sys.stderr)

    pairs = [(t, a) for tasks in sources.values() for t in tasks for a in candidates(t)]
    if not pairs:
        print("no tasks found", file=sys.stderr)
        return 1
    by_source = {}
    raw = validator = 0.0
    with_rows = {"raw": 0.0, "validator": 0.0, "answers": 0}
    reasons: Counter = Counter()
    for name, tasks in sources.items():
        part = [(t, a) for t in tasks for a in candidates(t)]
        r = run_raw(part)
        v, why = run_validator(part, args.timeout)
        raw, validator = raw + r, validator + v
        reasons.update(why)
        by_source[name] = round(v / r, 3)
        rows = [(t, a) for t, a in part if has_rows(t)]
        if rows:  # the same answers on the tasks whose context carries rows (no test databases)
            with_rows["raw"] += run_raw(rows)
            with_rows["validator"] += run_validator(rows, args.timeout)[0]
            with_rows["answers"] += len(rows)
        print(f"{name:8s} {len(part)} answers: validator {v:.2f} s, raw sqlite3 {r:.2f} s, ratio {v / r:.2f}",
              file=sys.stderr)
    ratio_all = validator / raw
    rows_per_s = len(pairs) / validator
    ratio = with_rows["validator"] / with_rows["raw"] if with_rows["raw"] else None
    # The answers without a <think> block are rejected without running; the validator
    # must execute all the others, so their ratio is the stricter figure.
    executed = [(t, a) for t, a in pairs if not a.startswith("<sql>") and has_rows(t)]
    ratio_executed = run_validator(executed, args.timeout)[0] / run_raw(executed) if executed else None
    if ratio is not None:
        print(f"contexts with rows: {with_rows['answers']} answers, ratio {ratio:.2f}; over the {len(executed)} "
              f"that must run {ratio_executed:.2f}", file=sys.stderr)
    print(f"{len(pairs)} answers over {sum(len(t) for t in sources.values())} tasks: "
          f"validator {validator:.2f} s ({rows_per_s:.0f}/s), raw sqlite3 {raw:.2f} s, ratio {ratio_all:.2f} "
          "(schema-only tasks are judged on test databases the raw run does not have: see below)",
          file=sys.stderr)
    print(f"verdicts: {dict(reasons.most_common())}", file=sys.stderr)
    schema_only = schema_only_costs(sources, args.timeout)
    print(json.dumps({"bench": "validate", "ratio": ratio and round(ratio, 3), "rows_per_s": round(rows_per_s, 1),
                      "gold_exec_rate": gold_rate, "ratio_by_source": by_source, "ratio_all_sources": round(ratio_all, 3),
                      "ratio_executed": ratio_executed and round(ratio_executed, 3), "answers": len(pairs), "validator_s": round(validator, 3),
                      "raw_s": round(raw, 3), "reasons": dict(reasons), "gold_unverified_rate": unverified_rate,
                      **schema_only}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
