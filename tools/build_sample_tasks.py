#!/usr/bin/env python3
"""Build sqlbench's bundled sample dataset, ``sqlbench/data/sample/tasks.jsonl``, from the
per-domain data files in ``tools/sample_tasks/`` (one YAML file per domain: tables with
their seed rows, then tasks with question, gold SQL, explanation, complexity and type).

    python tools/build_sample_tasks.py             # check every task, then write tasks.jsonl
    python tools/build_sample_tasks.py --check     # check only
    python tools/build_sample_tasks.py --out PATH  # write somewhere else (the rebuild test)
    python tools/build_sample_tasks.py --show 12   # print task 12 and what its gold does

A task's ``sql_context`` holds only the tables its gold SQL names. Every task is judged by
the engine's own ``sqlbench.sqlcheck.Validator`` (its gold runs, and judged as an answer it
matches itself); the other checks here are about the data, not about judging answers. The
output is the same bytes on every run. Run it with the project's environment: it imports
sqlbench from this checkout.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "tools" / "sample_tasks"
OUT_PATH = ROOT / "sqlbench" / "data" / "sample" / "tasks.jsonl"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # judge with this checkout's engine, not an installed one

# Column order of every JSON line (gretel synthetic_text_to_sql layout).
FIELDS = (
    "id",
    "domain",
    "domain_description",
    "sql_complexity",
    "sql_complexity_description",
    "sql_task_type",
    "sql_task_type_description",
    "sql_prompt",
    "sql_context",
    "sql",
    "sql_explanation",
)

COMPLEXITY = {
    "basic SQL": "basic SQL with a simple select statement",
    "aggregation": "aggregation functions (COUNT, SUM, AVG, MIN, MAX, etc.), and HAVING clause",
    "single join": "only one join (specify inner, outer, cross)",
    "multiple_joins": "two or more joins (specify inner and/or outer)",
    "subqueries": "subqueries, including correlated and nested subqueries",
    "window functions": "window functions (e.g., ROW_NUMBER, LEAD, LAG, RANK, NTILE, PERCENT_RANK, etc.) "
    "with partitioning and ordering",
    "set operations": "set operations such as UNION, INTERSECT, and EXCEPT",
    "CTEs": "common table expressions",
    "date functions": "date and time functions (date, strftime, julianday) on ISO-8601 text dates",
}

TASK_TYPES = {
    "analytics and reporting": "generating reports, dashboards, and analytical insights",
    "data retrieval": "basic data fetching queries",
    "data manipulation": "inserting, updating, or deleting records",
    "data definition": "creating, altering, or dropping tables and other database objects",
}
READS = ("analytics and reporting", "data retrieval")
TASK_KEYS = ("complexity", "task_type", "question", "sql", "explanation")


class DataError(Exception):
    """A data file that cannot be read as written: one line naming the file and the place."""


# --------------------------------------------------------------------------
# Reading the data files
# --------------------------------------------------------------------------

# Plain (unquoted) YAML scalars that safe_load turns into something other than what a
# reader of the file sees: NO -> False, 2024-01-05 -> a date, 0123 -> 83, 1:30 -> 90.
_PLAIN_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+([eE][-+]?[0-9]+)?)?")
_TAGS = "tag:yaml.org,2002:"


def lint_scalars(text: str, name: str) -> None:
    """Refuse plain scalars YAML would silently convert; quoting them keeps them text."""

    def walk(node) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.style is not None:  # quoted or block: always a string
                return
            tag = node.tag.removeprefix(_TAGS)
            bad = tag in ("bool", "timestamp") or (tag in ("int", "float") and not _PLAIN_NUMBER.fullmatch(node.value))
            if bad:
                raise DataError(f"{name}:{node.start_mark.line + 1}: YAML would read {node.value} as {tag}, "
                                f"not as written: quote it ('{node.value}'), or write a plain number")
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(key)
                walk(value)

    walk(yaml.compose(text, Loader=yaml.SafeLoader))


def one_line(text: str) -> str:
    """SQL and prose are stored on a single line; the files may wrap them freely."""
    return " ".join(text.split())


def sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported value {value!r}")


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]]  # (name, definition)
    foreign_keys: dict[str, tuple[str, str]]  # column -> (parent table, parent column)
    rows: list[list]

    def create_sql(self, present: set[str]) -> str:
        parts = [f"{col} {definition}" for col, definition in self.columns]
        for col, (parent, parent_col) in self.foreign_keys.items():
            # only when the parent is in the same context, so every context stands alone
            if parent in present:
                parts.append(f"FOREIGN KEY ({col}) REFERENCES {parent}({parent_col})")
        return f"CREATE TABLE {self.name} ({', '.join(parts)});"

    def insert_sql(self) -> str:
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in self.rows)
        return f"INSERT INTO {self.name} ({', '.join(c for c, _ in self.columns)}) VALUES {values};"


@dataclass
class SampleTask:
    file: str
    domain: str
    description: str
    complexity: str
    task_type: str
    question: str
    sql: str
    explanation: str
    tables: list[Table]

    def context(self) -> str:
        present = {t.name for t in self.tables}
        return "\n".join(s for t in self.tables for s in (t.create_sql(present), t.insert_sql()))

    def record(self, task_id: int) -> dict:
        values = {
            "id": task_id,
            "domain": self.domain,
            "domain_description": self.description,
            "sql_complexity": self.complexity,
            "sql_complexity_description": COMPLEXITY[self.complexity],
            "sql_task_type": self.task_type,
            "sql_task_type_description": TASK_TYPES[self.task_type],
            "sql_prompt": self.question,
            "sql_context": self.context(),
            "sql": self.sql,
            "sql_explanation": self.explanation,
        }
        return {k: values[k] for k in FIELDS}


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict) or not value:
        raise DataError(f"{where}: expected a non-empty mapping")
    return value


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: expected text")
    return one_line(value)


def read_table(name, spec, where: str) -> Table:
    if not isinstance(name, str) or not re.fullmatch(r"\w+", name):
        raise DataError(f"{where}: a table name is a plain identifier, got {name!r}")
    spec = _mapping(spec, where)
    unknown = set(spec) - {"columns", "foreign_keys", "rows"}
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}")
    columns = [(c, _text(d, f"{where}.columns.{c}")) for c, d in _mapping(spec.get("columns"), f"{where}.columns").items()]
    for col, _ in columns:
        if not isinstance(col, str) or not re.fullmatch(r"\w+", col):
            raise DataError(f"{where}.columns: a column name is a plain identifier, got {col!r}")
    fks = {}
    for col, ref in (spec.get("foreign_keys") or {}).items():
        m = re.fullmatch(r"(\w+)\((\w+)\)", str(ref))
        if col not in dict(columns) or m is None:
            raise DataError(f"{where}.foreign_keys.{col}: expected a column of {name}: parent_table(parent_column)")
        fks[col] = (m.group(1), m.group(2))
    rows = spec.get("rows")
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{where}.rows: expected a list of rows")
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            raise DataError(f"{where}.rows[{i}]: {row!r} does not match columns {[c for c, _ in columns]}")
        for v in row:
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, str))):
                raise DataError(f"{where}.rows[{i}]: {v!r} is not text, a number or null")
    return Table(name, columns, fks, rows)


def read_domain(path: Path) -> list[SampleTask]:
    text = path.read_text(encoding="utf-8")
    try:
        lint_scalars(text, path.name)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}") from None
    data = _mapping(data, path.name)
    unknown = set(data) - {"domain", "description", "tables", "tasks"}
    if unknown:
        raise DataError(f"{path.name}: unknown keys {sorted(unknown)}")
    domain = _text(data.get("domain"), f"{path.name}: domain")
    if not re.fullmatch(r"\d\d_" + re.escape(domain), path.stem):
        raise DataError(f"{path.name}: a domain's file is named NN_{domain}.yaml")
    description = _text(data.get("description"), f"{path.name}: description")
    tables = [read_table(n, s, f"{path.name}: tables.{n}") for n, s in _mapping(data.get("tables"), f"{path.name}: tables").items()]
    tasks = []
    entries = data.get("tasks")
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{path.name}: tasks: expected a list of tasks")
    for i, entry in enumerate(entries, start=1):
        where = f"{path.name}: tasks[{i}]"
        entry = _mapping(entry, where)
        if set(entry) != set(TASK_KEYS):
            raise DataError(f"{where}: a task has exactly the keys {list(TASK_KEYS)}, got {list(entry)}")
        if entry["complexity"] not in COMPLEXITY:
            raise DataError(f"{where}: complexity {entry['complexity']!r} is not one of {list(COMPLEXITY)}")
        if entry["task_type"] not in TASK_TYPES:
            raise DataError(f"{where}: task_type {entry['task_type']!r} is not one of {list(TASK_TYPES)}")
        sql = _text(entry["sql"], f"{where}.sql")
        sql = sql if sql.endswith(";") else sql + ";"
        # the tables the gold names (in definition order) make its context
        used = [t for t in tables if re.search(rf"\b{t.name}\b", sql, re.IGNORECASE)]
        if not used:
            raise DataError(f"{where}: the sql names none of the tables {[t.name for t in tables]}")
        tasks.append(SampleTask(path.name, domain, description, entry["complexity"], entry["task_type"],
                                _text(entry["question"], f"{where}.question"), sql,
                                _text(entry["explanation"], f"{where}.explanation"), used))
    return tasks


def read_all(data_dir: Path) -> list[SampleTask]:
    files = sorted(data_dir.glob("*.yaml"))
    if not files:
        raise DataError(f"{data_dir}: no *.yaml data files")
    return [task for path in files for task in read_domain(path)]


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

AGG_RE = re.compile(r"\b(COUNT|SUM|AVG|MIN|MAX|TOTAL|GROUP_CONCAT)\s*\(|\bGROUP BY\b", re.I)
JOIN_RE = re.compile(r"\bJOIN\b", re.I)
WINDOW_RE = re.compile(r"\bOVER\s*\(", re.I)
CTE_RE = re.compile(r"^(CREATE\s+(VIEW|TABLE)\s+\w+\s+AS\s+)?WITH\b", re.I)
SET_RE = re.compile(r"\b(UNION|INTERSECT|EXCEPT)\b", re.I)
SUBQ_RE = re.compile(r"\(\s*SELECT\b", re.I)
DATE_RE = re.compile(r"\b(date|time|datetime|strftime|julianday)\s*\(", re.I)
STATEMENT_TYPES = {
    "SELECT": READS,
    "WITH": READS,
    "INSERT": ("data manipulation",),
    "UPDATE": ("data manipulation",),
    "DELETE": ("data manipulation",),
    "CREATE": ("data definition",),
    "ALTER": ("data definition",),
    "DROP": ("data definition",),
}


def strip_parens(sql: str) -> str:
    """The top level of a query: string literals emptied, parenthesised parts removed."""
    sql = re.sub(r"'(?:[^']|'')*'", "''", sql)
    prev = None
    while prev != sql:
        prev = sql
        sql = re.sub(r"\([^()]*\)", "()", sql)
    return sql


def top_level(sql: str, word: str) -> bool:
    return bool(re.search(rf"\b{word}\b", strip_parens(sql), re.I))


def label_problems(task: SampleTask) -> list[str]:
    """The complexity and task-type labels against what the SQL uses."""
    sql = re.sub(r"'(?:[^']|'')*'", "''", task.sql)
    joins = len(JOIN_RE.findall(sql))
    has = {
        "aggregation": bool(AGG_RE.search(sql)),
        "single join": joins == 1,
        "multiple_joins": joins >= 2,
        "window functions": bool(WINDOW_RE.search(sql)),
        "CTEs": bool(CTE_RE.search(sql)),
        "set operations": bool(SET_RE.search(sql)),
        "subqueries": bool(SUBQ_RE.search(sql)),
        "date functions": bool(DATE_RE.search(sql)),
    }
    advanced = ("single join", "multiple_joins", "window functions", "CTEs", "set operations")
    problems = []
    if task.complexity == "basic SQL":
        extra = [k for k in ("aggregation", *advanced, "subqueries") if has[k]]
        if extra and task.task_type in READS:
            problems.append(f"labelled basic SQL but uses {extra}")
        if any(has[k] for k in advanced) and task.task_type not in READS:
            problems.append("labelled basic SQL but uses advanced features")
    elif task.complexity == "aggregation":
        extra = [k for k in (*advanced, "subqueries") if has[k]]
        if extra:
            problems.append(f"labelled aggregation but uses {extra}")
        if not has["aggregation"]:
            problems.append("labelled aggregation but has no aggregate")
    elif not has[task.complexity]:
        problems.append(f"labelled {task.complexity} but the SQL does not use it")
    verb = sql.lstrip().split()[0].upper()
    if task.task_type not in STATEMENT_TYPES.get(verb, ()):
        problems.append(f"statement {verb} does not fit task type {task.task_type}")
    if re.search(r"'now'|\b(random|changes|last_insert_rowid)\s*\(", task.sql, re.I):
        problems.append("non-deterministic function")
    if top_level(task.sql, "LIMIT") and not top_level(task.sql, "ORDER BY"):
        problems.append("LIMIT without a top-level ORDER BY")
    return problems


def connect(context: str, reverse: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    if reverse:
        # Scans without ORDER BY come back in reverse: a gold whose output follows storage
        # order (ties in its ORDER BY, a bare column beside an aggregate) gives itself away.
        conn.execute("PRAGMA reverse_unordered_selects = ON")
    conn.executescript(context)
    return conn


def run_gold(task: SampleTask, reverse: bool = False):
    """What the gold leaves behind: its rows (a read) or the database's dump (a change)."""
    conn = connect(task.context(), reverse)
    try:
        if task.task_type in READS:
            return conn.execute(task.sql).fetchall()
        conn.executescript(task.sql)
        return sorted(conn.iterdump())
    finally:
        conn.close()


def output_problems(task: SampleTask) -> list[str]:
    """Properties of the gold's own output that graders rely on (see the sample README)."""
    from sqlbench.sqlcheck.compare import tie_groups
    from sqlbench.sqlcheck.dialect import order_key_columns

    try:
        out, reversed_out = run_gold(task), run_gold(task, reverse=True)
    except sqlite3.Error as exc:
        return [f"the gold fails in plain SQLite: {exc}"]
    problems = []
    if out != reversed_out:
        problems.append("the gold's output depends on storage order")
    if task.task_type not in READS:
        return problems
    if not out:
        problems.append("the gold returns no rows")
    elif all(v is None for row in out for v in row):
        problems.append("the gold returns only NULLs")
    if any(isinstance(v, float) and abs(v - round(v, 2)) > 1e-9 for row in out for v in row):
        problems.append("the gold returns floats not rounded to 2 places")
    if len(out) > 1 and not top_level(task.sql, "ORDER BY"):
        problems.append("a multi-row result without a top-level ORDER BY")
    # SQLite's sorter keeps ties in one order even when scans run backwards, so ties are
    # found the way the Validator finds them: consecutive rows equal on the ORDER BY keys
    elif tie_groups(out, order_key_columns(task.sql)):
        problems.append("the gold's ORDER BY leaves rows tied: add a key that breaks the tie")
    return problems


def validator_problems(validator, task, sample: SampleTask) -> list[str]:
    """The engine's judgement: the gold runs, it matches itself, and a change can be told
    from doing nothing."""
    problems = []
    for what, candidate in (("the gold", None), ("the gold judged as an answer", task.gold_sql)):
        verdict = validator.check(task, candidate)
        if not verdict.valid:
            problems.append(f"{what}: {verdict.reason}: {verdict.detail}")
    if sample.task_type not in READS and validator.check(task, "SELECT 1;").valid:
        problems.append("the validator accepts doing nothing for this change")
    return problems


def check(samples: list[SampleTask], records: list[dict]) -> int:
    from sqlbench.data.loader import task_from_row
    from sqlbench.sqlcheck import Validator

    validator = Validator(timeout=5.0)
    errors = 0
    seen: dict[str, int] = {}
    for rec, sample in zip(records, samples):
        judged = validator_problems(validator, task_from_row(rec, "gretel", index=rec["id"] - 1), sample)
        problems = label_problems(sample) + (judged or output_problems(sample))
        key = sample.question.lower()
        if key in seen:
            problems.append(f"duplicate question (also task {seen[key]})")
        seen.setdefault(key, rec["id"])
        for p in problems:
            print(f"ERROR task {rec['id']} ({sample.file}): {p}\n    SQL: {sample.sql}")
        errors += len(problems)
    return errors


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def report(records: list[dict]) -> None:
    def show(title, counter):
        print(f"\n{title}:")
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key:<28} {n:>4}")

    print(f"total tasks: {len(records)}")
    show("by domain", Counter(r["domain"] for r in records))
    show("by sql_complexity", Counter(r["sql_complexity"] for r in records))
    show("by sql_task_type", Counter(r["sql_task_type"] for r in records))
    n_mod = sum(r["sql_task_type"] not in READS for r in records)
    print(f"\nDML/DDL share: {n_mod}/{len(records)} = {100.0 * n_mod / len(records):.1f}%")


def show(records: list[dict], samples: list[SampleTask], ids: set[int]) -> None:
    for rec, sample in zip(records, samples):
        if ids and rec["id"] not in ids:
            continue
        print(f"#{rec['id']} [{sample.file} | {rec['sql_complexity']} | {rec['sql_task_type']}]")
        print("Q:", rec["sql_prompt"])
        print("SQL:", rec["sql"])
        print("EXPL:", rec["sql_explanation"])
        if sample.task_type in READS:
            cur = connect(rec["sql_context"]).execute(rec["sql"])
            print("  cols:", [c[0] for c in cur.description])
            for row in cur.fetchall():
                print("  ", row)
        else:
            before = set(connect(rec["sql_context"]).iterdump())
            after = run_gold(sample)
            for line in after:
                if line not in before:
                    print("  +", line)
            for line in sorted(before - set(after)):
                print("  -", line)
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check every task, write nothing")
    parser.add_argument("--show", nargs="*", type=int, metavar="ID", help="print these tasks (all when none given)")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder of the per-domain YAML files")
    parser.add_argument("--out", type=Path, default=OUT_PATH, help="where to write tasks.jsonl")
    args = parser.parse_args(argv)
    try:
        samples = read_all(args.data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    records = [s.record(i) for i, s in enumerate(samples, start=1)]
    if args.show is not None:
        show(records, samples, set(args.show))
        return 0

    errors = check(samples, records)
    report(records)
    print(f"\nchecks: {errors} error(s)")
    if errors:
        return 1
    if not args.check:
        with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} tasks to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
