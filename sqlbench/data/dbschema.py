"""Tasks backed by real database files: find each row's file, and describe it for the prompt.

A row's database is its own ``db_path`` column (relative paths are tried beside the
dataset file, then from the working directory), else ``DB_DIR/<db_id>/<db_id>.sqlite``
(or ``.db``), the Spider/BIRD layout. The prompt's schema comes from the file itself:
its CREATE statements plus a few sample rows per table, as INSERT statements
(``prompts.fit_task`` drops those first when a prompt is too long). Nothing here runs a
model's SQL: the validator opens the file itself (sqlcheck/dbfile.py).

A row whose file is missing or unreadable keeps its place with ``Task.db_error`` set (one
line naming the db_id or the file): the validator judges it ``bad_context`` and the run goes on.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlbench.records import Task
from sqlbench.sqlcheck.dbfile import DbFileError, connect_readonly, describe_error, probe

DB_SUFFIXES = (".sqlite", ".db")
SAMPLE_ROWS = 3  # per table, in the prompt
SAMPLE_CHARS = 60  # longest text value shown in a sample row


def candidate_paths(db_dir: str | os.PathLike, db_id: str) -> list[Path]:
    folder = Path(db_dir).expanduser() / db_id
    return [folder / f"{db_id}{suffix}" for suffix in DB_SUFFIXES]


def resolve_database(row: Mapping[str, Any], db_id: str, db_dir: str | os.PathLike | None,
                     base: Path | None = None) -> tuple[str, str]:
    """``(path, "")`` for the row's database file, or ``("", one-line error)``."""
    own = row.get("db_path")
    if isinstance(own, str) and own.strip():
        p = Path(own.strip()).expanduser()
        tried = [p] if p.is_absolute() else [q for q in ((base / p) if base else None, p) if q is not None]
        for q in tried:
            if q.is_file():
                return str(q.resolve()), ""
        return "", f"no database file for db_path {own.strip()!r}: tried {', '.join(map(str, tried))}"
    if db_dir is None:
        return "", ""
    if not db_id:
        return "", f"the row has no db_id (nor db_path) to find its database under {db_dir}"
    tried = candidate_paths(db_dir, db_id)
    for q in tried:
        if q.is_file():
            return str(q.resolve()), ""
    return "", f"no database file for db_id {db_id!r}: tried {', '.join(map(str, tried))}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "X'" + bytes(v)[:16].hex() + "'"
    text = str(v)
    # One line, no ';' (prompts split statements on it), and short: it is only a sample.
    text = " ".join(text.replace(";", ",").split())
    if len(text) > SAMPLE_CHARS:
        text = text[: SAMPLE_CHARS - 1] + "…"
    return "'" + text.replace("'", "''") + "'"


def schema_context(path: str | os.PathLike, sample_rows: int = SAMPLE_ROWS) -> str:
    """The file's CREATE TABLE/VIEW statements, each table followed by up to
    ``sample_rows`` of its rows as one INSERT. Reads only those rows, never the whole file.
    Raises DbFileError (one line naming the file)."""
    objects = probe(path)
    conn = connect_readonly(path)
    out: list[str] = []
    try:
        for typ, name, sql in objects:
            if typ not in ("table", "view") or not sql or name.startswith("sqlite_"):
                continue
            out.append(sql.strip().rstrip(";") + ";")
            if typ != "table" or sample_rows <= 0:
                continue
            rows = conn.execute(f"SELECT * FROM {_ident(name)} LIMIT {int(sample_rows)}").fetchall()
            if rows:
                values = ", ".join("(" + ", ".join(_literal(v) for v in r) + ")" for r in rows)
                out.append(f"INSERT INTO {_ident(name)} VALUES {values};")
    except sqlite3.Error as e:
        raise describe_error(path, e) from None
    finally:
        conn.close()
    return "\n".join(out)


def attach_databases(tasks: Iterable[Task], db_dir: str | os.PathLike | None,
                     base: Path | None = None) -> list[Task]:
    """Tasks with ``db_path`` (and a schema read from the file) or ``db_error`` set.
    Each file is read once, however many rows use it."""
    schemas: dict[str, tuple[str, str]] = {}
    out = []
    for t in tasks:
        db_id = str((t.metadata or {}).get("db_id") or t.row.get("db_id") or "")
        path, error = resolve_database(t.row, db_id, db_dir, base)
        if error:
            out.append(replace(t, db_error=error))
            continue
        if not path:  # neither a db_path column on this row nor a --db-dir
            out.append(t)
            continue
        if path not in schemas:
            try:
                schemas[path] = (schema_context(path), "")
            except DbFileError as e:
                schemas[path] = ("", str(e))
        context, error = schemas[path]
        out.append(replace(t, context=context or t.context, db_path=path, db_error=error))
    return out


def database_problems(tasks: Iterable[Task]) -> list[str]:
    """One line per distinct database problem, with how many rows it affects."""
    counts: dict[str, int] = {}
    for t in tasks:
        if t.db_error:
            counts[t.db_error] = counts.get(t.db_error, 0) + 1
    return [f"{msg} ({n} row{'s' if n != 1 else ''} judged bad_context)" for msg, n in counts.items()]
