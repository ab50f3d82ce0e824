#!/usr/bin/env python3
"""Build sqlbench's embedded sample text-to-SQL dataset (``tasks.jsonl``).

The dataset follows the column layout of gretel ``synthetic_text_to_sql``:
``id, domain, domain_description, sql_complexity, sql_complexity_description,
sql_task_type, sql_task_type_description, sql_prompt, sql_context, sql,
sql_explanation``.

All content (schemas, seed rows, questions, gold SQL, explanations) is written
by hand below, one function per domain.  Each task's ``sql_context`` is built
from only the tables its gold SQL mentions, so it is small and self-contained.

Running this file (stdlib only)::

    python3 sqlbench/data/sample/build_tasks.py            # build + self-check
    python3 sqlbench/data/sample/build_tasks.py --check    # self-check only
    python3 sqlbench/data/sample/build_tasks.py --show ID  # print a task + result

writes ``tasks.jsonl`` next to this file deterministically (same bytes every
run) after executing every task's ``sql_context`` then ``sql`` in a fresh
in-memory SQLite database.  Any error aborts with a non-zero exit status.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections import Counter
from pathlib import Path

OUT_PATH = Path(__file__).resolve().parent / "tasks.jsonl"

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
    "basic": ("basic SQL", "basic SQL with a simple select statement"),
    "agg": (
        "aggregation",
        "aggregation functions (COUNT, SUM, AVG, MIN, MAX, etc.), and HAVING clause",
    ),
    "join": ("single join", "only one join (specify inner, outer, cross)"),
    "joins": ("multiple_joins", "two or more joins (specify inner and/or outer)"),
    "sub": ("subqueries", "subqueries, including correlated and nested subqueries"),
    "win": (
        "window functions",
        "window functions (e.g., ROW_NUMBER, LEAD, LAG, RANK, NTILE, PERCENT_RANK, etc.) "
        "with partitioning and ordering",
    ),
    "set": ("set operations", "set operations such as UNION, INTERSECT, and EXCEPT"),
    "cte": ("CTEs", "common table expressions"),
    "date": (
        "date functions",
        "date and time functions (date, strftime, julianday) on ISO-8601 text dates",
    ),
}

TASK_TYPES = {
    "ar": ("analytics and reporting", "generating reports, dashboards, and analytical insights"),
    "dr": ("data retrieval", "basic data fetching queries"),
    "dm": ("data manipulation", "inserting, updating, or deleting records"),
    "dd": ("data definition", "creating, altering, or dropping tables and other database objects"),
}


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


def sql_literal(value) -> str:
    """Render a Python value as a SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported literal {value!r}")


def one_line(text: str) -> str:
    """Collapse whitespace so SQL and prose are stored on a single line."""
    return " ".join(text.split())


class Table:
    """A table: column definitions (one per line), seed rows and foreign keys."""

    def __init__(self, name: str, columns: str, rows, fks=()):
        self.name = name
        self.columns = [c.strip().rstrip(",") for c in columns.strip().splitlines() if c.strip()]
        self.col_names = [c.split()[0] for c in self.columns]
        self.rows = [tuple(r) for r in rows]
        self.fks = list(fks)  # (column, referenced table, referenced column)
        for row in self.rows:
            if len(row) != len(self.col_names):
                raise ValueError(f"{name}: row {row!r} does not match columns {self.col_names}")

    def create_sql(self, present) -> str:
        parts = list(self.columns)
        for col, ref_table, ref_col in self.fks:
            # Only keep foreign keys whose parent table is part of the context,
            # so every context is self-contained.
            if ref_table in present:
                parts.append(f"FOREIGN KEY ({col}) REFERENCES {ref_table}({ref_col})")
        return f"CREATE TABLE {self.name} ({', '.join(parts)});"

    def insert_sql(self) -> str:
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in self.rows)
        return f"INSERT INTO {self.name} ({', '.join(self.col_names)}) VALUES {values};"


class Task:
    def __init__(self, domain, cx, tt, prompt, sql, explanation, tables=None):
        if cx not in COMPLEXITY:
            raise ValueError(f"unknown complexity {cx!r}")
        if tt not in TASK_TYPES:
            raise ValueError(f"unknown task type {tt!r}")
        self.domain = domain
        self.cx = cx
        self.tt = tt
        self.prompt = one_line(prompt)
        sql = one_line(sql)
        self.sql = sql if sql.endswith(";") else sql + ";"
        self.explanation = one_line(explanation)
        self.tables = domain.tables_for(self.sql, tables)

    def context(self) -> str:
        present = {t.name for t in self.tables}
        stmts = []
        for t in self.tables:
            stmts.append(t.create_sql(present))
            stmts.append(t.insert_sql())
        return "\n".join(stmts)

    def record(self, task_id: int) -> dict:
        cx_name, cx_desc = COMPLEXITY[self.cx]
        tt_name, tt_desc = TASK_TYPES[self.tt]
        values = {
            "id": task_id,
            "domain": self.domain.name,
            "domain_description": self.domain.description,
            "sql_complexity": cx_name,
            "sql_complexity_description": cx_desc,
            "sql_task_type": tt_name,
            "sql_task_type_description": tt_desc,
            "sql_prompt": self.prompt,
            "sql_context": self.context(),
            "sql": self.sql,
            "sql_explanation": self.explanation,
        }
        return {k: values[k] for k in FIELDS}


class Domain:
    def __init__(self, name: str, description: str):
        self.name = name
        self.description = one_line(description)
        self.tables: list[Table] = []
        self.tasks: list[Task] = []

    def table(self, name, columns, rows, fks=()):
        self.tables.append(Table(name, columns, rows, fks))

    def tables_for(self, sql, explicit=None):
        """Tables a query needs: those named in it (in definition order)."""
        if explicit is not None:
            names = set(explicit)
        else:
            names = {t.name for t in self.tables if re.search(rf"\b{t.name}\b", sql, re.IGNORECASE)}
        chosen = [t for t in self.tables if t.name in names]
        if not chosen:
            raise ValueError(f"{self.name}: no known table in {sql!r}")
        return chosen

    def q(self, cx, tt, prompt, sql, explanation, tables=None):
        """Add one hand-written task."""
        self.tasks.append(Task(self, cx, tt, prompt, sql, explanation, tables))


DOMAIN_BUILDERS = []


def domain(fn):
    DOMAIN_BUILDERS.append(fn)
    return fn


# --------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------

# === DOMAINS START ===

# === DOMAINS END ===


# --------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------

AGG_RE = re.compile(r"\b(COUNT|SUM|AVG|MIN|MAX|TOTAL|GROUP_CONCAT)\s*\(|\bGROUP BY\b", re.I)
JOIN_RE = re.compile(r"\bJOIN\b", re.I)
WINDOW_RE = re.compile(r"\bOVER\s*\(", re.I)
CTE_RE = re.compile(r"^(CREATE\s+(VIEW|TABLE)\s+\w+\s+AS\s+)?WITH\b", re.I)
SET_RE = re.compile(r"\b(UNION|INTERSECT|EXCEPT)\b", re.I)
SUBQ_RE = re.compile(r"\(\s*SELECT\b", re.I)
DATE_RE = re.compile(r"\b(date|time|datetime|strftime|julianday)\s*\(", re.I)


def strip_parens(sql: str) -> str:
    """Remove parenthesised content (repeatedly) and string literals."""
    sql = re.sub(r"'(?:[^']|'')*'", "''", sql)
    prev = None
    while prev != sql:
        prev = sql
        sql = re.sub(r"\([^()]*\)", "()", sql)
    return sql


def feature_problems(task: Task) -> list[str]:
    """Check the complexity label against what the SQL actually uses."""
    sql = re.sub(r"'(?:[^']|'')*'", "''", task.sql)
    joins = len(JOIN_RE.findall(sql))
    has = {
        "agg": bool(AGG_RE.search(sql)),
        "join": joins == 1,
        "joins": joins >= 2,
        "win": bool(WINDOW_RE.search(sql)),
        "cte": bool(CTE_RE.search(sql)),
        "set": bool(SET_RE.search(sql)),
        "sub": bool(SUBQ_RE.search(sql)),
        "date": bool(DATE_RE.search(sql)),
    }
    problems = []
    if task.cx == "basic":
        extra = [k for k in ("agg", "join", "joins", "win", "cte", "set", "sub") if has[k]]
        if extra and task.tt in ("ar", "dr"):
            problems.append(f"labelled basic SQL but uses {extra}")
        if has["join"] or has["joins"] or has["win"] or has["cte"] or has["set"]:
            if task.tt in ("dm", "dd"):
                problems.append("labelled basic SQL but uses advanced features")
    elif task.cx == "agg":
        extra = [k for k in ("join", "joins", "win", "cte", "set", "sub") if has[k]]
        if extra:
            problems.append(f"labelled aggregation but uses {extra}")
        if not has["agg"]:
            problems.append("labelled aggregation but has no aggregate")
    elif not has[task.cx]:
        problems.append(f"labelled {COMPLEXITY[task.cx][0]} but the SQL does not use it")
    verb = sql.lstrip().split()[0].upper()
    expected = {
        "SELECT": ("ar", "dr"),
        "WITH": ("ar", "dr"),
        "INSERT": ("dm",),
        "UPDATE": ("dm",),
        "DELETE": ("dm",),
        "CREATE": ("dd",),
        "ALTER": ("dd",),
        "DROP": ("dd",),
    }.get(verb)
    if expected is None or task.tt not in expected:
        problems.append(f"statement {verb} does not fit task type {TASK_TYPES[task.tt][0]}")
    if re.search(r"'now'|\b(random|changes|last_insert_rowid)\s*\(", task.sql, re.I):
        problems.append("non-deterministic function")
    if re.search(r"\bLIMIT\b", strip_parens(task.sql), re.I) and not re.search(
        r"\bORDER BY\b", strip_parens(task.sql), re.I
    ):
        problems.append("LIMIT without a top-level ORDER BY")
    return problems


def _sort_key(row):
    return tuple((0, 0) if v is None else (1, v) if isinstance(v, (int, float)) else (2, str(v)) for v in row)


def connect(context: str, reverse: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    if reverse:
        # Scans without ORDER BY come back in reverse order: exposes queries
        # whose result order (or ties in ORDER BY) depends on storage order.
        conn.execute("PRAGMA reverse_unordered_selects = ON")
    conn.executescript(context)
    return conn


def snapshot(conn: sqlite3.Connection) -> dict:
    """Final state of every table, view and index (rows as sorted multisets)."""
    state = {}
    objs = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    for typ, name, sql in objs:
        if typ in ("table", "view"):
            cols = tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{name}")'))
            rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
            state[(typ, name)] = (cols, sorted(rows, key=_sort_key))
        else:
            state[(typ, name)] = sql
    return state


def float_fragile(rows) -> bool:
    for row in rows:
        for v in row:
            if isinstance(v, float) and abs(v - round(v, 2)) > 1e-9:
                return True
    return False


def check_task(task_id: int, task: Task) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) for one task."""
    errors, warnings = [], []
    errors.extend(feature_problems(task))
    context = task.context()
    try:
        conn = connect(context)
    except sqlite3.Error as exc:
        return errors + [f"context failed: {exc}"], warnings
    if task.tt in ("ar", "dr"):
        try:
            cur = conn.execute(task.sql)
            rows = cur.fetchall()
        except sqlite3.Error as exc:
            return errors + [f"sql failed: {exc}"], warnings
        if not rows:
            errors.append("query returns no rows")
        elif all(v is None for row in rows for v in row):
            errors.append("query returns only NULLs")
        if float_fragile(rows):
            errors.append("result has floats that are not rounded to 2 places")
        ordered = bool(re.search(r"\bORDER BY\b", strip_parens(task.sql), re.I))
        if len(rows) > 1 and not ordered:
            errors.append("multi-row result without a top-level ORDER BY")
        rev_rows = connect(context, reverse=True).execute(task.sql).fetchall()
        if ordered and rows != rev_rows:
            errors.append("row order is not total (ORDER BY has ties)")
        if sorted(rows, key=_sort_key) != sorted(rev_rows, key=_sort_key):
            errors.append("result depends on storage order")
    else:
        before = snapshot(conn)
        try:
            conn.executescript(task.sql)
        except sqlite3.Error as exc:
            return errors + [f"sql failed: {exc}"], warnings
        after = snapshot(conn)
        if before == after:
            errors.append("statement did not change any table or view")
        if task.tt == "dm" and not any(
            k[0] == "table" and before.get(k) != after[k] for k in after
        ):
            errors.append("DML changed no rows")
        rev = connect(context, reverse=True)
        rev.executescript(task.sql)
        if snapshot(rev) != after:
            errors.append("final state depends on storage order")
        if task.tt == "dd" and not any(k not in before or after[k][0] != before[k][0] for k in after):
            warnings.append("DDL changes no table or view (index only)")
    return errors, warnings


def build_tasks() -> list[Task]:
    tasks = []
    for builder in DOMAIN_BUILDERS:
        d = builder()
        tasks.extend(d.tasks)
    return tasks


def report(records) -> None:
    def show(title, counter):
        print(f"\n{title}:")
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key:<28} {n:>4}")

    print(f"total tasks: {len(records)}")
    show("by domain", Counter(r["domain"] for r in records))
    show("by sql_complexity", Counter(r["sql_complexity"] for r in records))
    show("by sql_task_type", Counter(r["sql_task_type"] for r in records))
    n_mod = sum(r["sql_task_type"] in ("data manipulation", "data definition") for r in records)
    print(f"\nDML/DDL share: {n_mod}/{len(records)} = {100.0 * n_mod / len(records):.1f}%")


def main(argv) -> int:
    tasks = build_tasks()
    records = [t.record(i) for i, t in enumerate(tasks, start=1)]

    if "--show" in argv:
        ids = {int(a) for a in argv[argv.index("--show") + 1 :]}
        for rec, task in zip(records, tasks):
            if ids and rec["id"] not in ids:
                continue
            print(f"#{rec['id']} [{rec['domain']} | {rec['sql_complexity']} | {rec['sql_task_type']}]")
            print("Q:", rec["sql_prompt"])
            print("SQL:", rec["sql"])
            print("EXPL:", rec["sql_explanation"])
            conn = connect(rec["sql_context"])
            if task.tt in ("ar", "dr"):
                cur = conn.execute(rec["sql"])
                print("  cols:", [c[0] for c in cur.description])
                for row in cur.fetchall():
                    print("  ", row)
            else:
                before = snapshot(conn)
                conn.executescript(rec["sql"])
                after = snapshot(conn)
                for k in after:
                    if before.get(k) != after[k]:
                        print("  changed:", k, after[k] if k[0] != "index" else after[k])
            print()
        return 0

    errors = 0
    seen_prompts = {}
    for rec, task in zip(records, tasks):
        errs, warns = check_task(rec["id"], task)
        key = rec["sql_prompt"].lower()
        if key in seen_prompts:
            errs.append(f"duplicate prompt (also task {seen_prompts[key]})")
        seen_prompts[key] = rec["id"]
        for w in warns:
            print(f"WARNING task {rec['id']} ({rec['domain']}): {w}")
        for e in errs:
            print(f"ERROR task {rec['id']} ({rec['domain']}): {e}\n    SQL: {rec['sql']}")
        errors += len(errs)

    report(records)
    print(f"\nself-check: {errors} error(s)")
    if errors:
        return 1
    if "--check" not in argv:
        with open(OUT_PATH, "w", encoding="utf-8", newline="\n") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} tasks to {OUT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
