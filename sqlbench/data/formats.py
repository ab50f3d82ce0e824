"""Source formats: turn one raw row of a known layout into a :class:`Task`.

Each format names the columns it needs; detection looks at the columns a source has,
so a dataset is read the same way whether it came from the Hub, a file or a run
directory. Everything here is pure (no I/O): Spider's schemas arrive as an
already-parsed ``tables.json`` list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlbench.errors import DatasetError
from sqlbench.records import Task

GRETEL, SPIDER, SYNSQL, DISTILLED = "gretel", "spider", "synsql", "distilled"
# sqlbench's own record layout (Task fields: run-directory samples.jsonl, eval answers).
SQLBENCH = "sqlbench"
# BIRD (question, evidence, SQL, db_id, difficulty): its data lives in database files only.
BIRD = "bird"
FORMATS = (GRETEL, SPIDER, SYNSQL, DISTILLED, SQLBENCH, BIRD)

# Columns `sqlbench distill` adds to its source rows.
DISTILLED_COLUMNS = ("reasoning", "sql_answer", "completion", "messages", "valid", "reason",
                     "teacher_model", "provider")
# Of those, what a distilled row carries into Task.metadata (the rest stays in Task.row).
_DISTILLED_META = ("reasoning", "sql_answer", "valid", "reason", "teacher_model", "provider")
_GRETEL_META = ("domain", "sql_complexity", "sql_task_type")


@dataclass(frozen=True)
class SourceFormat:
    name: str
    needed: tuple[str, ...]  # column names as a user would write them (dotted = nested)
    note: str = ""  # extra need that is not a column (Spider's tables.json)

    def missing(self, columns: Iterable[str]) -> list[str]:
        cols = set(columns)
        return [c for c in self.needed if c not in cols and c.split(".")[0] not in cols]

    def describe(self) -> str:
        extra = f" + {self.note}" if self.note else ""
        return f"{self.name} ({', '.join(self.needed)}{extra})"


_SPECS = {
    GRETEL: SourceFormat(GRETEL, ("sql_prompt", "sql_context", "sql")),
    SPIDER: SourceFormat(SPIDER, ("db_id", "question", "query"), "tables.json"),
    SYNSQL: SourceFormat(SYNSQL, ("question", "prompt", "reward_model.ground_truth.sql")),
    SQLBENCH: SourceFormat(SQLBENCH, ("question", "context", "gold_sql")),
    BIRD: SourceFormat(BIRD, ("question", "SQL", "db_id"), "--db-dir or a db_path column"),
}
# Detection order: SynSQL rows also have `sql`/`question`, so test the most specific first.
_DETECT_ORDER = (SYNSQL, GRETEL, BIRD, SPIDER, SQLBENCH)


def columns_of(rows: Iterable[Mapping[str, Any]], sample: int = 50) -> list[str]:
    """Column names of the first rows, in first-seen order."""
    seen: dict[str, None] = {}
    for i, row in enumerate(rows):
        if i >= sample:
            break
        for k in row:
            seen.setdefault(k, None)
    return list(seen)


def _base_format(columns: Iterable[str]) -> str | None:
    cols = list(columns)
    for name in _DETECT_ORDER:
        if not _SPECS[name].missing(cols):
            return name
    return None


def _is_distilled(columns: Iterable[str]) -> bool:
    cols = set(columns)
    # A completion column alone also marks one: the teacher's answer came with the row.
    return "reasoning" in cols or "completion" in cols


def detect_format(columns: Iterable[str], fmt: str | None = None, *, source: str = "dataset") -> tuple[str, str]:
    """``(format, base format)``: base is the layout a distilled row was made from
    (for other formats the two are equal). Raises DatasetError naming needed and found columns."""
    cols = list(columns)
    if fmt is not None and fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)}")
    base = _base_format(cols)
    if fmt in (None, DISTILLED):
        if base is None:
            # A distilled row of sqlbench's own making always has `messages`: the schema is in there.
            if fmt == DISTILLED and "messages" in cols and "sql" in cols:
                return DISTILLED, DISTILLED
            candidates = " or ".join(_SPECS[n].describe() for n in _DETECT_ORDER)
            raise DatasetError(
                f"{source}: cannot tell its format; needed columns: {candidates}; "
                f"found: {', '.join(cols) or '(none)'}"
            )
        if fmt == DISTILLED or _is_distilled(cols):
            return DISTILLED, base
        return base, base
    missing = _SPECS[fmt].missing(cols)
    if missing:
        raise DatasetError(
            f"{source}: not in {fmt} format: missing {', '.join(missing)}; "
            f"needed: {_SPECS[fmt].describe()}; found: {', '.join(cols) or '(none)'}"
        )
    return fmt, fmt


# ---- per-format converters ---------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _row_id(row: Mapping[str, Any], index: int, db_id: str | None = None) -> str:
    rid = row.get("id")
    if rid is not None and rid != "":
        return str(rid)
    return f"{db_id}-{index}" if db_id else str(index)


def _meta(row: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: row[k] for k in keys if row.get(k) not in (None, "")}


def gretel_task(row: Mapping[str, Any], index: int) -> Task:
    return Task(
        id=_row_id(row, index),
        question=_text(row.get("sql_prompt")),
        context=_text(row.get("sql_context")),
        gold_sql=_text(row.get("sql")),
        explanation=_text(row.get("sql_explanation")),
        metadata=_meta(row, _GRETEL_META + ("db_id",)),
        row=row,
    )


def _nested(row: Mapping[str, Any], dotted: str) -> Any:
    """``a.b.c`` from nested dicts, or from a flat column named ``a.b.c`` (CSV, pandas
    json_normalize), or from a JSON string stored in the top-level column."""
    if dotted in row:
        return row[dotted]
    head, _, rest = dotted.partition(".")
    value: Any = row.get(head)
    for part in rest.split(".") if rest else ():
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _messages(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [{"role": "user", "content": value}]
    if isinstance(value, Mapping):
        return [value]
    try:
        return [m for m in value if isinstance(m, Mapping)]
    except TypeError:
        return []


_SYNSQL_SCHEMA = re.compile(
    r"Database Schema:\s*\n(.*?)(?:\n\s*External Knowledge:|\n\s*SQL Complexity Level:|<\|im_end\|>|\Z)",
    re.S | re.I,
)
_CREATE = re.compile(r"CREATE\s+TABLE\b.*?\n\)\s*;?", re.S | re.I)


def synsql_schema(prompt: Any) -> str:
    """The schema DDL SQL-R1 embeds in the system text of its prompt: prefer the
    ``Database Schema:`` section, fall back to every CREATE TABLE block."""
    texts = [_text(m.get("content")) for m in _messages(prompt)]
    ordered = sorted(texts, key=lambda t: "Database Schema:" not in t)
    for text in ordered:
        m = _SYNSQL_SCHEMA.search(text)
        if m and m.group(1).strip():
            return _terminate(_STATEMENT_START.split(m.group(1).strip()))
    for text in ordered:
        blocks = _CREATE.findall(text)
        if blocks:
            return _terminate(blocks)
    return ""


# SQL-R1 separates its CREATE statements by blank lines, without semicolons.
_STATEMENT_START = re.compile(r"\n\s*\n(?=\s*CREATE\s)", re.I)


def _terminate(statements: Iterable[str]) -> str:
    """Statements joined so a script runner executes each one: every one ends in ``;``."""
    out = []
    for stmt in statements:
        stmt = stmt.strip()
        if stmt:
            out.append(stmt if stmt.endswith(";") else stmt + ";")
    return "\n\n".join(out)


def synsql_task(row: Mapping[str, Any], index: int) -> Task:
    db_id = _text(row.get("db_id")) or _text(_nested(row, "reward_model.ground_truth.db_id"))
    gold = _text(_nested(row, "reward_model.ground_truth.sql")) or _text(row.get("sql"))
    question = _text(row.get("question"))
    knowledge = _text(row.get("external_knowledge")).strip()
    if knowledge:
        # SQL-R1 shows this to the model beside the question; without it some golds
        # cannot be derived from the question alone.
        question = f"{question}\n\nExternal knowledge: {knowledge}"
    meta = _meta(row, ("db_id", "sql_complexity", "question_style", "external_knowledge"))
    if db_id:
        meta["db_id"] = db_id
    if row.get("cot"):
        meta["reasoning"] = row["cot"]
    return Task(
        id=_row_id(row, index, db_id or None),
        question=question,
        context=synsql_schema(row.get("prompt")),
        gold_sql=gold,
        explanation="",
        metadata=meta,
        row=row,
    )


# Spider's column types -> SQLite declared types (types that also parse in duckdb).
_SPIDER_TYPES = {"text": "TEXT", "number": "NUMERIC", "time": "TEXT", "boolean": "BOOLEAN", "others": "TEXT"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def spider_ddl(schema: Mapping[str, Any]) -> str:
    """CREATE TABLE statements for one Spider database (one ``tables.json`` entry):
    declared types, primary keys (composite when several), foreign keys; referenced
    tables first where the keys allow it, so engines that check references at CREATE time work."""
    tables = list(schema.get("table_names_original") or schema.get("table_names") or [])
    columns = list(schema.get("column_names_original") or schema.get("column_names") or [])
    types = list(schema.get("column_types") or [])
    by_table: dict[int, list[int]] = {t: [] for t in range(len(tables))}
    for ci, (ti, _name) in enumerate(columns):
        if ti >= 0 and ti in by_table:
            by_table[ti].append(ci)
    pks: dict[int, list[int]] = {}
    for pk in schema.get("primary_keys") or []:
        for ci in pk if isinstance(pk, list) else [pk]:
            if 0 <= ci < len(columns):
                pks.setdefault(columns[ci][0], []).append(ci)
    fks: dict[int, list[tuple[int, int]]] = {}
    seen_fk: set[tuple[int, int]] = set()
    for pair in schema.get("foreign_keys") or []:
        src, dst = pair
        if (src, dst) in seen_fk or not (0 <= src < len(columns) and 0 <= dst < len(columns)):
            continue
        seen_fk.add((src, dst))
        fks.setdefault(columns[src][0], []).append((src, dst))

    order: list[int] = []
    state: dict[int, int] = {}  # 1 = visiting, 2 = done

    def visit(t: int) -> None:
        if state.get(t):
            return  # done, or a cycle: keep the original order for the rest of the cycle
        state[t] = 1
        for _src, dst in fks.get(t, []):
            ref = columns[dst][0]
            if ref != t:
                visit(ref)
        state[t] = 2
        order.append(t)

    for t in range(len(tables)):
        visit(t)

    statements = []
    for t in order:
        if str(tables[t]).lower().startswith("sqlite_"):
            continue  # SQLite's own bookkeeping (sqlite_sequence): engines refuse to create it
        lines = []
        for ci in by_table[t]:
            ctype = _SPIDER_TYPES.get(str(types[ci]).lower() if ci < len(types) else "text", "TEXT")
            lines.append(f"  {_q(columns[ci][1])} {ctype}")
        if t in pks:
            lines.append(f"  PRIMARY KEY ({', '.join(_q(columns[c][1]) for c in pks[t])})")
        for src, dst in fks.get(t, []):
            lines.append(
                f"  FOREIGN KEY ({_q(columns[src][1])}) REFERENCES "
                f"{_q(tables[columns[dst][0]])} ({_q(columns[dst][1])})"
            )
        statements.append(f"CREATE TABLE {_q(tables[t])} (\n" + ",\n".join(lines) + "\n);")
    return "\n\n".join(statements)


class SpiderSchemas:
    """``tables.json`` indexed by db_id, DDL built once per database."""

    def __init__(self, tables: Iterable[Mapping[str, Any]], origin: str = "tables.json"):
        self.origin = origin
        self._schemas = {t["db_id"]: t for t in tables if isinstance(t, Mapping) and "db_id" in t}
        self._ddl: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._schemas)

    def __contains__(self, db_id: object) -> bool:
        return db_id in self._schemas

    def ddl(self, db_id: str) -> str:
        if db_id not in self._ddl:
            if db_id not in self._schemas:
                raise DatasetError(f"database {db_id!r} is not described in {self.origin}; pass the tables.json of this dataset")
            self._ddl[db_id] = spider_ddl(self._schemas[db_id])
        return self._ddl[db_id]


def spider_task(row: Mapping[str, Any], index: int, schemas: SpiderSchemas | None,
                db_backed: bool = False) -> Task:
    """``db_backed``: the schema will come from the row's database file (--db-dir), so
    a missing tables.json is no error."""
    db_id = _text(row.get("db_id"))
    if schemas is not None and (not db_backed or db_id in schemas):
        context = schemas.ddl(db_id)
    else:
        context = _context_from_messages(row)
        if not context and not db_backed:
            raise DatasetError(
                "Spider rows need their tables.json: put tables.json (or *tables*.json) beside the "
                "questions file, or pass tables=PATH"
            )
    return Task(
        id=_row_id(row, index, db_id or None),
        question=_text(row.get("question")),
        context=context,
        gold_sql=_text(row.get("query")),
        explanation="",
        metadata=_meta(row, ("db_id",)),
        row=row,
    )


def bird_task(row: Mapping[str, Any], index: int) -> Task:
    """A BIRD row; the schema comes from its database file (see data/dbschema.py)."""
    db_id = _text(row.get("db_id"))
    question = _text(row.get("question"))
    evidence = _text(row.get("evidence")).strip()
    if evidence:
        # BIRD's "external knowledge": some golds cannot be derived from the question alone.
        question = f"{question}\n\nExternal knowledge: {evidence}"
    meta = _meta(row, ("db_id", "difficulty", "evidence"))
    if row.get("difficulty") not in (None, ""):
        meta.setdefault("sql_complexity", row["difficulty"])  # eval's breakdown by complexity
    rid = row.get("id") if row.get("id") not in (None, "") else row.get("question_id")
    return Task(
        id=str(rid) if rid not in (None, "") else (f"{db_id}-{index}" if db_id else str(index)),
        question=question,
        context="",
        gold_sql=_text(row.get("SQL")),
        explanation="",
        metadata=meta,
        row=row,
    )


def sqlbench_task(row: Mapping[str, Any], index: int) -> Task:
    """A row in sqlbench's own layout; ``sql`` there may be a model's answer, so the gold
    is only ever ``gold_sql``."""
    rid = row.get("id") if row.get("id") not in (None, "") else row.get("task_id")
    meta = row.get("metadata") if isinstance(row.get("metadata"), Mapping) else {}
    return Task(
        id=str(rid) if rid not in (None, "") else str(index),
        question=_text(row.get("question")),
        context=_text(row.get("context")),
        gold_sql=_text(row.get("gold_sql")),
        explanation=_text(row.get("explanation")),
        metadata={**meta, **_meta(row, _GRETEL_META + ("db_id",))},
        row=row,
    )


# prompts.user_message: question, then the schema, then (hint_gold) a reference solution.
_SCHEMA_IN_USER = re.compile(r"\n\nDatabase schema:\n(.*?)(?:\n\nReference solution \(|\Z)", re.S)


def _context_from_messages(row: Mapping[str, Any]) -> str:
    """The schema sqlbench itself put in the user message (prompts.user_message)."""
    for m in _messages(row.get("messages") or []):
        if m.get("role") == "user":
            hit = _SCHEMA_IN_USER.search(_text(m.get("content")))
            if hit:
                return hit.group(1).strip()
    return ""


def _question_from_messages(row: Mapping[str, Any]) -> str:
    for m in _messages(row.get("messages") or []):
        if m.get("role") == "user":
            return _text(m.get("content")).split("\n\nDatabase schema:\n", 1)[0].strip()
    return ""


def task_for(fmt: str, base: str, row: Mapping[str, Any], index: int,
             schemas: SpiderSchemas | None = None, db_backed: bool = False) -> Task:
    """One row -> Task, given the format pair from :func:`detect_format`."""
    if base == GRETEL:
        task = gretel_task(row, index)
    elif base == SYNSQL:
        task = synsql_task(row, index)
    elif base == SPIDER:
        task = spider_task(row, index, schemas, db_backed)
    elif base == BIRD:
        task = bird_task(row, index)
    elif base == SQLBENCH:
        task = sqlbench_task(row, index)
    else:  # a distilled row whose source layout is unknown: rebuild from its messages
        task = Task(
            id=_row_id(row, index),
            question=_text(row.get("question")) or _question_from_messages(row),
            context=_text(row.get("context")) or _context_from_messages(row),
            gold_sql=_text(row.get("sql")),
            row=row,
        )
    if fmt != DISTILLED:
        return task
    meta = dict(task.metadata)
    meta.update(_meta(row, _DISTILLED_META))
    if "reasoning" not in meta and row.get("think"):  # samples.jsonl keeps the parsed think block
        meta["reasoning"] = row["think"]
    return Task(task.id, task.question, task.context, task.gold_sql, task.explanation, meta, row)

