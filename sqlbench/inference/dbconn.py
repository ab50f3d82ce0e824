"""Read-only connections to a user's database, for chat: SQLite, DuckDB, PostgreSQL.

Two independent layers keep the database unchanged:

1. a statement guard (sqlglot) refuses anything that is not a single query before it
   reaches the engine, with a message that says why;
2. the engine itself is opened read-only — SQLite through a ``mode=ro`` URI plus an
   authorizer that allows reads only, DuckDB with ``read_only=True`` and no file-system
   access, PostgreSQL inside ``BEGIN READ ONLY`` transactions that are always rolled
   back — so a statement the guard misjudges still cannot write.

SQLite and DuckDB queries run in the validator's own sandbox (sqlbench/sqlcheck/sandbox.py)
with its limits: the input cap, the timeout (the answer comes back by then even when
the engine is stuck in one call), the row and byte caps, the value-length cap and the
memory cap (``validate.max_memory_mb``). A WAL-mode SQLite file is opened so that no
``-wal``/``-shm`` file appears beside it (see ``sqlite_file_uri``).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlparse

from sqlbench.errors import SqlbenchError
from sqlbench.sqlcheck.sandbox import (
    DEFAULT_MAX_MEMORY_MB,
    TIMEOUT,
    UNSAFE,
    DuckSandbox,
    SandboxError,
    SqliteSandbox,
    input_error,
)

READ_ONLY_REFUSAL = "refused: chat runs read-only queries only"


class DatabaseError(SqlbenchError):
    """The database given with --db cannot be opened or read."""


@dataclass
class QueryResult:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    truncated: bool = False  # more rows existed than max_rows
    error: str | None = None  # None when the query ran
    refused: bool = False  # a write (or other non-query) was refused; nothing ran
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


# ---- the statement guard ------------------------------------------------------------
_DIALECT = {"sqlite": "sqlite", "duckdb": "duckdb", "postgresql": "postgres"}


def _write_nodes():
    from sqlglot import exp

    names = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterTable",
             "TruncateTable", "Command", "Pragma", "Set", "Use", "Copy", "Attach", "Detach",
             "Transaction", "Commit", "Rollback", "LoadData", "Grant", "Revoke", "Into")
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


_EXPLAIN = re.compile(r"^\s*EXPLAIN\b(\s+ANALY[SZ]E\b)?(\s+QUERY\s+PLAN\b)?(\s+VERBOSE\b)?", re.I)
_SHOW = re.compile(r"^\s*(SHOW\s+(ALL\s+TABLES|TABLES|DATABASES|\w+)|DESCRIBE\s+\w+(\.\w+)?)\s*$", re.I)


def check_read_only(sql: str, backend: str = "sqlite") -> str | None:
    """None when ``sql`` is one read-only query, else the refusal message.

    SQL sqlglot cannot parse is let through: the read-only engine decides, and its
    error message is returned to the user unchanged.
    """
    import sqlglot
    from sqlglot.errors import ParseError

    from sqlbench.sqlcheck.dialect import parse_budget_ok

    m = _EXPLAIN.match(sql)
    if m:  # EXPLAIN [ANALYZE] [QUERY PLAN] q: read-only when q is (ANALYZE runs q)
        return check_read_only(sql[m.end():], backend) if sql[m.end():].strip() else None
    if _SHOW.match(sql):
        return None
    if not parse_budget_ok(sql):  # too long or deep for sqlglot in bounded time: the engine decides
        return None
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)  # sqlglot warns on every statement it parses as a raw Command
    try:
        trees = [t for t in sqlglot.parse(sql, dialect=_DIALECT.get(backend, backend)) if t is not None]
    except (ParseError, Exception):  # noqa: BLE001 - any parser failure: defer to the engine
        return None
    finally:
        log.setLevel(level)
    if not trees:
        return "refused: empty query"
    if len(trees) > 1:
        return f"{READ_ONLY_REFUSAL}, one statement at a time (got {len(trees)})"
    from sqlglot import exp

    tree = trees[0]
    writes = _write_nodes()
    for node in tree.walk():
        if isinstance(node, writes):
            word = sql.strip().split(None, 1)[0].upper() if isinstance(node, exp.Command) else node.key.upper()
            return f"{READ_ONLY_REFUSAL} ({word} is not allowed); the database was not changed"
    if not isinstance(tree, exp.Query):
        return f"{READ_ONLY_REFUSAL} ({tree.key.upper()} is not a query); the database was not changed"
    return None


# ---- connections --------------------------------------------------------------------
class Database:
    """A read-only connection. ``execute`` never raises for a bad query: it returns a
    QueryResult with ``error`` set. Thread-safe (one query at a time)."""

    backend = ""
    _conn: Any = None  # the engine's connection, opened by the subclass

    def __init__(self, target: str, *, timeout: float = 2.0, max_rows: int = 10_000,
                 max_memory_mb: int = DEFAULT_MAX_MEMORY_MB) -> None:
        self.target = target
        self.timeout = timeout
        self.max_rows = max_rows
        self.max_memory_mb = max_memory_mb
        self._lock = threading.Lock()

    # subclasses implement these two
    def _run(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        raise NotImplementedError

    def schema_text(self) -> str:
        """CREATE statements for every user table and view, for the prompt."""
        raise NotImplementedError

    def _classify(self, e: Exception) -> tuple[str, bool]:
        """(message, refused) for an engine error."""
        return f"{type(e).__name__}: {e}".strip(), False

    def execute(self, sql: str, *, guard: bool = True) -> QueryResult:
        """Run one read-only query with the time and row limits.

        ``guard=False`` skips the statement guard (tests use it to prove the engine
        alone refuses writes)."""
        sql = sql.strip().rstrip(";").strip()
        refused = input_error(sql)  # too long or a NUL: before the guard's parser sees it
        if refused is not None:
            return QueryResult(error=refused.message, refused=refused.kind == UNSAFE)
        if guard:
            refusal = check_read_only(sql, self.backend)
            if refusal:
                return QueryResult(error=refusal, refused=True)
        t0 = time.perf_counter()
        with self._lock:
            try:
                columns, rows, truncated = self._run(sql)
            except Exception as e:  # noqa: BLE001 - every engine error becomes a result
                msg, refused = self._classify(e)
                return QueryResult(error=msg, refused=refused, elapsed_ms=(time.perf_counter() - t0) * 1000)
        return QueryResult(columns, rows, truncated, elapsed_ms=(time.perf_counter() - t0) * 1000)

    def _timeout_message(self) -> str:
        return f"timeout: the query ran longer than {self.timeout:g}s and was stopped"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {describe_target(self.target)}>"


def _ddl(statements: Iterable[str | None]) -> str:
    """The engine's stored CREATE statements, one per line, each ending in one ';'."""
    return "\n".join(s.strip().rstrip(";") + ";" for s in statements if s)


def _fetch(cursor: Any, max_rows: int) -> tuple[list[tuple], bool]:
    rows = cursor.fetchmany(max_rows + 1)
    truncated = len(rows) > max_rows
    return [tuple(r) for r in rows[:max_rows]], truncated


class _SandboxedDatabase(Database):
    """SQLite and DuckDB: each query runs in the validator's sandbox."""

    def _run(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        return self._run_on(self._sandbox(), sql)

    def _run_on(self, box: Any, sql: str) -> tuple[list[str], list[tuple], bool]:
        r = box.run([sql], time.monotonic() + self.timeout)
        return list(r.columns or []), [tuple(x) for x in r.rows or []], r.overflow

    def _sandbox(self) -> Any:
        raise NotImplementedError

    def _classify(self, e: Exception) -> tuple[str, bool]:
        if not isinstance(e, SandboxError):
            return f"{type(e).__name__}: {_first_line(e)}", False
        text = e.message
        if e.kind == TIMEOUT:
            return self._timeout_message(), False
        low = text.lower()
        if e.kind == UNSAFE or "readonly" in low or "read-only" in low or "read only" in low:
            text = text.removeprefix("refused: ")
            return f"{READ_ONLY_REFUSAL} ({text}); the database was not changed", True
        return text, False


class SqliteDatabase(_SandboxedDatabase):
    backend = "sqlite"

    def __init__(self, target: str, **kw: Any) -> None:
        super().__init__(target, **kw)
        self._box = self._open()
        self._conn = self._box.conn

    def _open(self) -> SqliteSandbox:
        try:
            box = SqliteSandbox(path=self.target, max_rows=self.max_rows, max_memory_mb=self.max_memory_mb)
        except sqlite3.Error as e:
            raise DatabaseError(f"{self.target}: cannot open as a SQLite database ({e})") from None
        try:
            box.run(["SELECT count(*) FROM sqlite_master"], time.monotonic() + max(self.timeout, 5.0))
        except SandboxError as e:
            box.close()
            raise DatabaseError(f"{self.target}: cannot open as a SQLite database ({e.message})") from None
        return box

    def _sandbox(self) -> SqliteSandbox:
        if self._box.abandoned:  # a query stuck past its limit keeps (and then closes) that connection
            self._box = self._open()
            self._conn = self._box.conn
        return self._box

    def schema_text(self) -> str:
        with self._lock:
            box = self._sandbox()
            box.deadline = float("inf")
            rows = box.conn.execute(
                "SELECT sql FROM sqlite_master WHERE type IN ('table', 'view') AND sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'view', rowid"
            ).fetchall()
        return _ddl(r[0] for r in rows)

    def close(self) -> None:
        self._box.close()


class DuckDatabase(_SandboxedDatabase):
    backend = "duckdb"

    def __init__(self, target: str, **kw: Any) -> None:
        super().__init__(target, **kw)
        self._base = self._open()
        self._conn = self._base.conn

    def _open(self) -> DuckSandbox:
        try:
            # In a capped worker process, with no file-system access: COPY TO, ATTACH and
            # read_csv('/etc/...') are refused, and the locked configuration stops a query
            # from switching that back on.
            return DuckSandbox(path=self.target, max_rows=self.max_rows, max_memory_mb=self.max_memory_mb)
        except SandboxError as e:
            raise DatabaseError(f"{self.target}: cannot open as a DuckDB database read-only ({e.message})") from None

    def _run(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        box = self._sandbox()
        try:
            return self._run_on(box, sql)
        finally:
            box.close()

    def _sandbox(self) -> DuckSandbox:
        if not self._conn.alive:  # its worker was killed: a query ran past its limit there
            self._base = self._open()
            self._conn = self._base.conn
        # each query on its own cursor, in a transaction rolled back after it
        return DuckSandbox(template=self._conn, max_rows=self.max_rows, deadline=time.monotonic() + self.timeout)

    def close(self) -> None:
        self._base.close()

    def schema_text(self) -> str:
        with self._lock:
            if not self._conn.alive:
                self._base = self._open()
                self._conn = self._base.conn
            try:
                rows = self._conn.query(
                    "SELECT sql FROM duckdb_tables() WHERE NOT internal AND NOT temporary "
                    "UNION ALL SELECT sql FROM duckdb_views() WHERE NOT internal AND NOT temporary"
                )
            except Exception as e:  # noqa: BLE001 - the worker's error, as one line
                raise DatabaseError(f"{self.target}: cannot read the schema ({e})") from None
        return _ddl(r[0] for r in rows)


class PostgresDatabase(Database):
    backend = "postgresql"

    def __init__(self, target: str, **kw: Any) -> None:
        super().__init__(target, **kw)
        import psycopg

        try:
            self._conn = psycopg.connect(target, autocommit=False, connect_timeout=10)
        except psycopg.Error as e:
            raise DatabaseError(f"{describe_target(target)}: cannot connect ({_first_line(e)})") from None
        # Every transaction psycopg opens is BEGIN READ ONLY; the server enforces it.
        self._conn.read_only = True

    def _run(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        conn = self._conn
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET LOCAL statement_timeout = {max(1, int(self.timeout * 1000))}")
                cur.execute(sql)
                columns = [d.name for d in cur.description or []]
                rows, truncated = _fetch(cur, self.max_rows) if cur.description else ([], False)
                return columns, rows, truncated
        finally:
            conn.rollback()  # never commit anything, even a read-only transaction

    def _classify(self, e: Exception) -> tuple[str, bool]:
        import psycopg.errors as pe

        if isinstance(e, pe.QueryCanceled):
            return self._timeout_message(), False
        if isinstance(e, pe.ReadOnlySqlTransaction):
            return f"{READ_ONLY_REFUSAL} ({_first_line(e)}); the database was not changed", True
        return f"{type(e).__name__}: {_first_line(e)}", False

    def schema_text(self) -> str:
        with self._lock:
            try:
                with self._conn.cursor() as cur:
                    cur.execute(
                        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable, "
                        "t.table_type FROM information_schema.columns c JOIN information_schema.tables t "
                        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                        "WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') "
                        "AND c.table_schema NOT LIKE 'pg_toast%' AND c.table_schema NOT LIKE 'pg_temp%' "
                        "ORDER BY c.table_schema, t.table_type, c.table_name, c.ordinal_position"
                    )
                    cols = cur.fetchall()
                    cur.execute(
                        "SELECT kcu.table_schema, kcu.table_name, kcu.column_name "
                        "FROM information_schema.table_constraints tc "
                        "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
                        "AND tc.table_schema = kcu.table_schema AND tc.table_name = kcu.table_name "
                        "WHERE tc.constraint_type = 'PRIMARY KEY' ORDER BY kcu.ordinal_position"
                    )
                    pkeys = cur.fetchall()
            finally:
                self._conn.rollback()
        return postgres_ddl(cols, pkeys)


def postgres_ddl(cols: list[tuple], pkeys: list[tuple]) -> str:
    """CREATE TABLE text from information_schema rows (pure, for the prompt)."""
    tables: dict[tuple[str, str], list[str]] = {}
    kinds: dict[tuple[str, str], str] = {}
    for schema, table, column, dtype, nullable, ttype in cols:
        key = (schema, table)
        kinds[key] = ttype
        tables.setdefault(key, []).append(
            f"  {_pg_ident(column)} {dtype.upper()}" + ("" if nullable == "YES" else " NOT NULL")
        )
    pk: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in pkeys:
        pk.setdefault((schema, table), []).append(_pg_ident(column))
    out = []
    for (schema, table), lines in tables.items():
        name = _pg_ident(table) if schema == "public" else f"{_pg_ident(schema)}.{_pg_ident(table)}"
        if (schema, table) in pk:
            lines = lines + [f"  PRIMARY KEY ({', '.join(pk[(schema, table)])})"]
        word = "VIEW" if kinds[(schema, table)] == "VIEW" else "TABLE"
        if word == "VIEW":  # a view's columns, written as a table so the model sees them
            out.append(f"-- view\nCREATE TABLE {name} (\n" + ",\n".join(lines) + "\n);")
        else:
            out.append(f"CREATE TABLE {name} (\n" + ",\n".join(lines) + "\n);")
    return "\n".join(out)


_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


def _pg_ident(name: str) -> str:
    return name if _PLAIN.match(name) else '"' + name.replace('"', '""') + '"'


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# ---- opening ------------------------------------------------------------------------
_SQLITE_MAGIC = b"SQLite format 3\x00"


def detect_backend(target: str) -> str:
    """'postgresql', 'sqlite' or 'duckdb' for a --db value (URL or file path)."""
    low = target.lower()
    if low.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    for scheme in ("sqlite", "duckdb"):
        if low.startswith(scheme + ":"):
            return scheme
    path = Path(target)
    if not path.is_file():
        raise DatabaseError(f"{target}: no such database file (give a SQLite or DuckDB file or a postgresql:// URL)")
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head[8:12] == b"DUCK":
        return "duckdb"
    if path.suffix.lower() in (".duckdb", ".ddb"):
        return "duckdb"
    if path.suffix.lower() in (".sqlite", ".sqlite3", ".db") and not head:
        return "sqlite"
    raise DatabaseError(f"{target}: not a SQLite or DuckDB database file")


def _strip_scheme(target: str) -> str:
    """``sqlite:///rel.db`` / ``sqlite:////abs.db`` (SQLAlchemy's spelling) or ``sqlite:path``."""
    rest = target.split(":", 1)[1]
    rest = rest[3:] if rest.startswith("///") else rest
    return os.path.expanduser(unquote(rest))


def connect(target: str, *, timeout: float = 2.0, max_rows: int = 10_000,
            max_memory_mb: int = DEFAULT_MAX_MEMORY_MB) -> Database:
    """Open ``target`` read-only: a SQLite or DuckDB file (optionally as ``sqlite:///path``
    / ``duckdb:///path``) or a ``postgresql://`` URL."""
    backend = detect_backend(target)
    if backend == "postgresql":
        return PostgresDatabase(target, timeout=timeout, max_rows=max_rows)
    path = _strip_scheme(target) if re.match(r"^(sqlite|duckdb):", target, re.I) else target
    if not Path(path).is_file():
        raise DatabaseError(f"{path}: no such database file")
    cls = SqliteDatabase if backend == "sqlite" else DuckDatabase
    return cls(path, timeout=timeout, max_rows=max_rows, max_memory_mb=max_memory_mb)


def describe_target(target: str) -> str:
    """The target with any password removed (for messages and logs)."""
    if "://" in target:
        p = urlparse(target)
        if p.password:
            netloc = p.netloc.replace(f":{p.password}@", ":***@")
            return p._replace(netloc=netloc).geturl()
    return target
