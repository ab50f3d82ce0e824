#!/usr/bin/env python3
"""Benchmark the validator against raw sqlite3.

Builds a few thousand answers from real tasks (the bundled dataset, plus the shared
Spider and SynSQL samples when present): for every task the gold as a full answer, the
gold as bare SQL, a changed literal, a misspelt keyword, a missing table and an answer
without its <think> block. It then times, on one core,

  * validator: a fresh ``Validator`` judging every answer (cold caches: building each
    task's context once is part of the measured time, and so are sqlglot's parses),
    through ``check_many`` as ``validate``, ``eval`` and the GRPO reward judge, and
  * raw: plain ``sqlite3`` executing the same context + gold + candidate statements in
    a fresh in-memory database per answer (each text split into statements once, by
    SQLite's tokenizer rules), with no sandbox, no comparison, no checks.

The two take turns, 16 tasks at a time, so a machine that speeds up or slows down
during the run weighs on both alike (run one after the other, the same code measured
1.7 to 3.0 times raw sqlite3 on this machine).

It also measures the executable-gold rate (``Validator.check(task)`` is ok, or unverified:
it runs, but selects nothing on any test database) per source.

Schema-only tasks (contexts without rows: Spider, SynSQL) are judged on K generated test
databases. For them it also reports what that costs: building the databases per task
(``test_db_build_ms_per_task``), the validator's extra time per answer over a validator
without test databases (``test_db_extra_ms_per_answer``), and ``schema_only_ratio``: the
validator (cold, generation included) against raw sqlite3 running the same gold and
candidate statements (split once per answer) on the same K+1 databases (the context and
the K test databases, deserialised fresh per answer), goal <= 2.0; ``schema_only_cpu_ratio``
is the same ratio in process CPU time (every thread).

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
import gc
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


def raw_split(sql: str) -> list[str]:
    """Statements as the raw harness splits an answer's text: SQLite's tokenizer rules,
    once per text it is given (the validator's cache of splits is the validator's)."""
    from sqlbench.sqlcheck.dialect import _split

    return _split(sql)


def raw_runner(pairs):
    """Raw sqlite3: fresh database per answer, context + gold + candidate, no checks."""
    def run(part) -> None:
        for task, answer in part:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            for text in (task.context, task.gold_sql, extract_sql(answer)):
                for stmt in raw_split(text):
                    try:
                        conn.execute(stmt).fetchall()
                    except Exception:
                        pass
            conn.close()
    return run


def cold_caches() -> None:
    """Empty the process-wide caches a validator fills (sqlglot's parses, statement
    splits), so the validator a run starts pays for them as a fresh process would."""
    from sqlbench.sqlcheck import dialect

    dialect._parse.cache_clear()
    dialect._split_cached.cache_clear()


def judged_by(v: Validator, reasons: Counter | None = None):
    """A runner: ``v`` judges the answers (counting their verdicts into ``reasons``), a
    turn's answers at a time, as ``validate``, ``eval`` and the GRPO reward do."""
    def run(part) -> None:
        for verdict in v.check_many(part):
            if reasons is not None:
                reasons[verdict.reason] += 1
    return run


def validator_runner(timeout: float, reasons: Counter | None = None, **kw):
    """A fresh validator judging answers (its caches fill as it goes)."""
    cold_caches()
    return judged_by(Validator(timeout=timeout, **kw), reasons)


CHUNK_TASKS = 16  # tasks per turn when runs take turns


def turns(pairs):
    """The answers CHUNK_TASKS tasks at a time (the answers of one task in one turn)."""
    chunk: list = []
    tasks = 0
    for i, (task, answer) in enumerate(pairs):
        chunk.append((task, answer))
        tasks += i + 1 == len(pairs) or pairs[i + 1][0] is not task
        if tasks == CHUNK_TASKS or i + 1 == len(pairs):
            yield chunk
            chunk, tasks = [], 0


def clocked(total: list[float], run, part) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    run(part)
    total[0] += time.perf_counter() - wall
    total[1] += time.process_time() - cpu


def settle() -> None:
    """Free what earlier phases left (their validators' readers are cyclic garbage holding
    SQLite databases in its process-wide heap), so a phase is not timed with them."""
    gc.collect()


def interleaved(pairs, runners) -> list[list[float]]:
    """[wall s, CPU s] of each runner on the same answers, the runners taking turns, so
    a machine that speeds up or slows down during the bench weighs on each alike (run
    one after the other, the same code measured 1.7 to 3.0 times raw sqlite3)."""
    settle()
    totals = [[0.0, 0.0] for _ in runners]
    for i, part in enumerate(turns(pairs)):
        order = list(zip(totals, runners))
        for total, run in order if i % 2 == 0 else order[::-1]:  # who goes first alternates
            clocked(total, run, part)
    return totals


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
    from sqlbench.sqlcheck import testdb

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

    def raw(part) -> None:  # the same statements on the same K+1 databases, fresh each time
        for task, answer in part:
            split = [raw_split(task.gold_sql), raw_split(extract_sql(answer))]
            for image in dbs[task.id]:
                conn = sqlite3.connect(":memory:", isolation_level=None)
                conn.deserialize(image)
                for stmts in split:
                    for stmt in stmts:
                        try:
                            conn.execute(stmt).fetchall()
                        except Exception:  # noqa: BLE001
                            pass
                conn.close()

    reasons: Counter = Counter()
    settle()
    cold, warm, without = Validator(timeout=timeout), Validator(timeout=timeout), \
        Validator(timeout=timeout, test_databases=0)

    totals = {name: [0.0, 0.0] for name in ("raw", "cold", "warm", "without")}
    for i, part in enumerate(turns(pairs)):
        if i % 2 == 0:  # who goes first alternates
            clocked(totals["raw"], raw, part)
        cold_caches()  # sqlglot's parses and splits of this turn's SQL: paid by the validator timed
        clocked(totals["cold"], judged_by(cold, reasons), part)
        if i % 2 == 1:
            clocked(totals["raw"], raw, part)
        for task in {id(t): t for t, _ in part}.values():  # not timed: this turn's test databases and gold results
            warm.check(task)
        # the same answers on a validator whose databases exist: the per-answer cost of judging on K+1 databases
        clocked(totals["warm"], judged_by(warm), part)
        cold_caches()
        clocked(totals["without"], judged_by(without), part)
    (raw_s, raw_cpu), (with_dbs, with_dbs_cpu) = totals["raw"], totals["cold"]
    (warm_s, warm_cpu), without_s = totals["warm"], totals["without"][0]
    print(f"schema-only: {len(tasks)} tasks, {len(pairs)} answers, K={k}: building the test databases "
          f"{1000 * build_s / len(tasks):.1f} ms/task; validator {with_dbs:.2f} s vs {without_s:.2f} s without test "
          f"databases, raw sqlite3 on the same databases {raw_s:.2f} s, ratio {with_dbs / raw_s:.2f} "
          f"(in CPU time {with_dbs_cpu:.2f} s vs {raw_cpu:.2f} s, {with_dbs_cpu / raw_cpu:.2f}); "
          f"verdicts {dict(reasons.most_common())}", file=sys.stderr)
    print(f"schema-only, the task's databases built: validator {warm_s:.2f} s vs raw {raw_s:.2f} s, per-answer ratio "
          f"{warm_s / raw_s:.2f} (in CPU time {warm_cpu / raw_cpu:.2f})", file=sys.stderr)
    return {"schema_only_ratio": round(with_dbs / raw_s, 3), "schema_only_cpu_ratio": round(with_dbs_cpu / raw_cpu, 3),
            "schema_only_answer_ratio": round(warm_s / raw_s, 3), "schema_only_answer_cpu_ratio": round(warm_cpu / raw_cpu, 3),
            "schema_only_answers": len(pairs),
            "test_databases": k, "test_db_build_ms_per_task": round(1000 * build_s / len(tasks), 2),
            "test_db_extra_ms_per_answer": round(1000 * (with_dbs - without_s) / len(pairs), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="150 tasks per shared sample (well under 45 s)")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args(argv)

    sources = load_sources(args.quick)
    gold_rate, unverified_rate = {}, {}
    for name, tasks in sources.items():
        if not tasks:
            gold_rate[name] = unverified_rate[name] = None
            continue
        v = Validator(timeout=args.timeout)
        verdicts = [v.check(t) for t in tasks]
        ok = sum(1 for x in verdicts if x.valid or x.reason == "unverified")
        gold_rate[name] = round(ok / len(tasks), 4)
        unverified_rate[name] = round(sum(x.reason == "unverified" for x in verdicts) / len(tasks), 4)
        v.clear()  # its readers and caches are not the timed validators'
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
        if not tasks:
            print(f"{name:8s} no tasks: left out of the timings", file=sys.stderr)
            continue
        part = [(t, a) for t in tasks for a in candidates(t)]
        (r, _), (v, _) = interleaved(part, [raw_runner(part), validator_runner(args.timeout, reasons)])
        raw, validator = raw + r, validator + v
        by_source[name] = round(v / r, 3)
        rows = [(t, a) for t, a in part if has_rows(t)]
        if rows:  # the same answers on the tasks whose context carries rows (no test databases)
            (rows_raw, _), (rows_validator, _) = interleaved(rows, [raw_runner(rows), validator_runner(args.timeout)])
            with_rows["raw"] += rows_raw
            with_rows["validator"] += rows_validator
            with_rows["answers"] += len(rows)
        print(f"{name:8s} {len(part)} answers: validator {v:.2f} s, raw sqlite3 {r:.2f} s, ratio {v / r:.2f}",
              file=sys.stderr)
    ratio_all = validator / raw
    rows_per_s = len(pairs) / validator
    ratio = with_rows["validator"] / with_rows["raw"] if with_rows["raw"] else None
    # The answers without a <think> block are rejected without running; the validator
    # must execute all the others, so their ratio is the stricter figure.
    executed = [(t, a) for t, a in pairs if not a.startswith("<sql>") and has_rows(t)]
    if executed:
        (r, _), (v, _) = interleaved(executed, [raw_runner(executed), validator_runner(args.timeout)])
        ratio_executed = v / r
    else:
        ratio_executed = None
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
