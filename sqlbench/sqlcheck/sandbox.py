"""The two engines model-written SQL runs in, locked down.

SQLite (the default): in-memory only; an authorizer allows plain reads, writes and
DDL and refuses ATTACH/DETACH (which also catches ``VACUUM INTO 'file'``), PRAGMA
(including ``pragma_*`` table functions), virtual tables and extension loading; a
progress handler stops statements at the deadline; a page-count cap, a value-length
cap and a process-wide heap cap bound memory. A built context is kept as the bytes of
``serialize()`` and copied into a fresh connection per candidate with ``deserialize()``.

DuckDB (for contexts/golds SQLite cannot run): external access off (no files, no
ATTACH, no extension install/load), configuration locked, one thread, a memory cap,
no spill directory; statements run in a worker thread, ``interrupt()`` is called at
the deadline and the caller gets its verdict then even if DuckDB is slow to stop. A
built context stays open and each candidate runs in a rolled-back transaction on a
cursor of it.

Both engines: statements that attach, pragma, vacuum, copy, install/load, set, or call
file/settings functions are refused before they run (a clear detail; the engine guards
above are what make it safe).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

from sqlbench.sqlcheck.dialect import READ_ONLY_WORDS, first_keyword, unsafe_reason

# Kinds of SandboxError; the verdict layer maps them onto reasons.
UNSAFE, TIMEOUT, SYNTAX, EXECUTION = "unsafe", "timeout", "syntax", "execution"

PAGE_LIMIT = 64 * 1024  # 4 KiB pages: 256 MiB per database
VALUE_LIMIT = 16 * 1024 * 1024  # longest string/blob/row SQLite may build
HEAP_LIMIT = 2 * 1024 * 1024 * 1024  # process-wide SQLite heap cap
PROGRESS_OPS = 2000  # VM instructions between deadline checks


class SandboxError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Result:
    """Rows of the last statement (None when it returns no result set)."""

    rows: list[tuple] | None
    ncols: int = 0
    overflow: bool = False  # more than max_rows rows (rows holds the first max_rows)


State = dict[str, tuple[str, int, list[tuple], bool]]  # name -> (type, ncols, rows, overflow)

_S = sqlite3
_ALLOWED = frozenset(
    getattr(_S, n)
    for n in (
        "SQLITE_SELECT SQLITE_READ SQLITE_INSERT SQLITE_UPDATE SQLITE_DELETE SQLITE_FUNCTION "
        "SQLITE_CREATE_TABLE SQLITE_CREATE_INDEX SQLITE_CREATE_VIEW SQLITE_CREATE_TRIGGER "
        "SQLITE_CREATE_TEMP_TABLE SQLITE_CREATE_TEMP_INDEX SQLITE_CREATE_TEMP_VIEW SQLITE_CREATE_TEMP_TRIGGER "
        "SQLITE_DROP_TABLE SQLITE_DROP_INDEX SQLITE_DROP_VIEW SQLITE_DROP_TRIGGER "
        "SQLITE_DROP_TEMP_TABLE SQLITE_DROP_TEMP_INDEX SQLITE_DROP_TEMP_VIEW SQLITE_DROP_TEMP_TRIGGER "
        "SQLITE_ALTER_TABLE SQLITE_TRANSACTION SQLITE_SAVEPOINT SQLITE_RECURSIVE SQLITE_ANALYZE SQLITE_REINDEX"
    ).split()
)
_ACTION_NAMES = {
    _S.SQLITE_ATTACH: "ATTACH (or VACUUM)",
    _S.SQLITE_DETACH: "DETACH",
    _S.SQLITE_PRAGMA: "PRAGMA",
    _S.SQLITE_CREATE_VTABLE: "virtual tables",
    _S.SQLITE_DROP_VTABLE: "virtual tables",
}
_DENIED_FUNCTIONS = frozenset(
    {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile", "sqlar_compress",
     "sqlar_uncompress", "sqlite_dbpage", "fts5"}
)
# PRAGMAs a dataset's context may set (they change no file and no process state).
_CONTEXT_PRAGMAS = frozenset({"foreign_keys", "recursive_triggers", "defer_foreign_keys", "case_sensitive_like"})
_SYNTAX_MARKERS = ("syntax error", "incomplete input", "unrecognized token")

_heap_once = threading.Lock()
_heap_set = False


def _cap_heap(conn: sqlite3.Connection) -> None:
    global _heap_set
    with _heap_once:
        if not _heap_set:
            (current,) = conn.execute("PRAGMA hard_heap_limit").fetchone()
            if current == 0 or current > HEAP_LIMIT:
                conn.execute(f"PRAGMA hard_heap_limit={HEAP_LIMIT}")
            _heap_set = True


class SqliteSandbox:
    """One fresh in-memory SQLite database (optionally a copy of a built context), or
    (``path`` given) a real database file opened read-only and immutable, under the
    same guards (see sqlcheck/dbfile.py)."""

    engine = "sqlite"

    def __init__(self, image: bytes | None = None, *, max_rows: int = 10_000, max_bytes: int = 64 << 20,
                 trusted: bool = False, path: str | None = None):
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.trusted = trusted  # building a dataset's context: a few harmless PRAGMAs pass
        self.deadline = math.inf
        self.denied: str | None = None
        self.path = path
        if path is not None:
            from sqlbench.sqlcheck.dbfile import connect_readonly

            conn = connect_readonly(path)
        else:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        _cap_heap(conn)
        if image is not None:
            conn.deserialize(image)
        conn.execute("PRAGMA temp_store=MEMORY")  # never a temp file on the host
        conn.execute(f"PRAGMA max_page_count={PAGE_LIMIT}")
        conn.execute(f"PRAGMA temp.max_page_count={PAGE_LIMIT}")
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
        conn.set_authorizer(self._authorize)
        conn.set_progress_handler(self._progress, PROGRESS_OPS)
        self.conn = conn

    # -- guards ------------------------------------------------------------------
    def _authorize(self, action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
        if action in _ALLOWED:
            if action == _S.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
                self.denied = f"{arg2}()"
                return _S.SQLITE_DENY
            return _S.SQLITE_OK
        if action == _S.SQLITE_PRAGMA and self.trusted and str(arg1).lower() in _CONTEXT_PRAGMAS:
            return _S.SQLITE_OK
        self.denied = _ACTION_NAMES.get(action, f"action {action}")
        if action == _S.SQLITE_PRAGMA and arg1:
            self.denied = f"PRAGMA {arg1}"
        return _S.SQLITE_DENY

    def _progress(self) -> bool:
        return time.monotonic() > self.deadline

    # -- running -----------------------------------------------------------------
    def run(self, statements: Sequence[str], deadline: float) -> Result:
        """Run statements in order; the rows of the last one. Raises SandboxError."""
        self.deadline = deadline
        result = Result(rows=None)
        for stmt in statements:
            if not self.trusted:
                why = unsafe_reason(stmt, "sqlite")
                if why:
                    raise SandboxError(UNSAFE, why)
            self.denied = None
            try:
                cur = self.conn.execute(stmt)
                result = self._fetch(cur) if cur.description is not None else Result(rows=None)
            except sqlite3.Error as e:
                raise self._classify(e) from None
            except SandboxError:
                raise
            except Exception as e:  # NUL in the text, huge integers, sqlite3.Warning, MemoryError
                raise SandboxError(EXECUTION, str(e) or type(e).__name__) from None
        return result

    def _fetch(self, cur: sqlite3.Cursor) -> Result:
        rows: list[tuple] = []
        nbytes = 0
        while True:
            batch = cur.fetchmany(512)
            if not batch:
                break
            rows.extend(batch)
            for row in batch:
                for v in row:
                    if isinstance(v, (str, bytes)):
                        nbytes += len(v)
            if nbytes > self.max_bytes:
                raise SandboxError(EXECUTION, f"result larger than {self.max_bytes >> 20} MiB")
            if len(rows) > self.max_rows:
                return Result(rows=rows[: self.max_rows], ncols=len(cur.description), overflow=True)
        return Result(rows=rows, ncols=len(cur.description))

    def _classify(self, e: sqlite3.Error) -> SandboxError:
        msg = str(e)
        if self.denied or "not authorized" in msg or "too many attached" in msg:
            return SandboxError(UNSAFE, f"refused: {self.denied or msg}")
        if msg == "interrupted" and time.monotonic() > self.deadline:
            return SandboxError(TIMEOUT, "stopped at the time limit")
        if any(m in msg for m in _SYNTAX_MARKERS):
            return SandboxError(SYNTAX, msg)
        return SandboxError(EXECUTION, msg)

    # -- state -------------------------------------------------------------------
    def schema(self) -> tuple:
        return tuple(self.conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall())

    def changed_since(self, schema: tuple) -> bool:
        """Whether any statement wrote rows or changed the schema (cheap check that
        lets read-only candidates skip the final-state comparison)."""
        return self.conn.total_changes > 0 or self.schema() != schema

    def state(self, deadline: float) -> State:
        self.deadline = deadline
        try:
            names = self.conn.execute(
                "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            ).fetchall()
            out: State = {}
            for typ, name in names:
                quoted = '"' + name.replace('"', '""') + '"'
                r = self._fetch(self.conn.execute(f"SELECT * FROM {quoted}"))
                out[name.lower()] = (typ, r.ncols, r.rows or [], r.overflow)
            # An index changes no rows, so without this a CREATE INDEX task would accept
            # an answer that does nothing. Keyed by table and columns: names are arbitrary.
            for (sql,) in self.conn.execute(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
            ).fetchall():
                key, unique = _index_key(sql)
                out[key] = ("index", 1, [(unique,)], False)
            return out
        except sqlite3.Error as e:
            raise self._classify(e) from None

    def image(self) -> bytes:
        # serialize() itself asks PRAGMA page_count, which the authorizer refuses.
        self.conn.set_authorizer(None)
        try:
            return self.conn.serialize()
        finally:
            self.conn.set_authorizer(self._authorize)

    def close(self) -> None:
        self.conn.close()


_INDEX_SQL = re.compile(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s.*?\bON\s+(.+?)\s*\((.*)\)", re.I | re.S)


def _index_key(sql: str) -> tuple[str, bool]:
    m = _INDEX_SQL.match(sql)
    if not m:
        return " ".join(sql.lower().split()), False
    table = m.group(2).strip().strip('"`[]').lower()
    cols = ",".join(c.strip().strip('"`[]').lower() for c in m.group(3).split(","))
    return f"on {table}({cols})", bool(m.group(1))


DUCK_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "threads": 1,
    "max_memory": "512MB",
    "temp_directory": "",  # no spilling to disk
    "lock_configuration": True,
}


class DuckSandbox:
    """A locked-down in-memory DuckDB database: a fresh one, or (``template`` given) a
    transaction on a cursor of an already built one, rolled back by ``close()`` so the
    next candidate sees the context unchanged. Opening a DuckDB database costs ~10 ms,
    a cursor and a rolled-back transaction well under 1 ms."""

    engine = "duckdb"

    def __init__(self, *, max_rows: int = 10_000, max_bytes: int = 64 << 20, trusted: bool = False,
                 template: Any = None, on_close: Any = None):
        import duckdb

        self.duckdb = duckdb
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.trusted = trusted
        self._lock = threading.Lock()
        self._abandoned = False
        self._on_close = on_close
        if template is None:
            self.conn = duckdb.connect(":memory:", config=dict(DUCK_CONFIG))
        else:
            self.conn = template.cursor()  # same database (and locked settings), own transaction
            self.conn.begin()

    def run(self, statements: Sequence[str], deadline: float) -> Result:
        for stmt in statements:
            why = unsafe_reason(stmt, "duckdb")
            if why:
                raise SandboxError(UNSAFE, why)
        # DuckDB checks for interrupts between vectors, but a single huge operation
        # (repeat('x', 2e9)) ignores it for many seconds. The statements run in a
        # worker thread so the caller gets its timeout verdict on time regardless; an
        # abandoned worker closes its own connection when DuckDB lets go.
        box: dict[str, Any] = {}
        worker = threading.Thread(target=self._work, args=(list(statements), deadline, box), daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            self.conn.interrupt()
            worker.join(0.5)
            if worker.is_alive():
                with self._lock:
                    self._abandoned = True
                raise SandboxError(TIMEOUT, "stopped at the time limit")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _work(self, statements: list[str], deadline: float, box: dict[str, Any]) -> None:
        try:
            result = Result(rows=None)
            for stmt in statements:
                self.conn.execute(stmt)
                desc = self.conn.description
                # DuckDB answers INSERT/UPDATE/DELETE/CREATE with a one-row "Count" result;
                # SQLite returns no result set, and neither does a gold there: drop it.
                counted = desc is not None and len(desc) == 1 and desc[0][0] == "Count" \
                    and first_keyword(stmt) not in READ_ONLY_WORDS
                result = self._fetch() if desc is not None and not counted else Result(rows=None)
            box["result"] = result
        except SandboxError as e:
            box["error"] = e
        except self.duckdb.Error as e:
            box["error"] = self._classify(e, deadline)
        except Exception as e:  # values Python cannot hold, odd types
            box["error"] = SandboxError(EXECUTION, str(e) or type(e).__name__)
        finally:
            with self._lock:
                if self._abandoned:
                    self.conn.close()

    def _fetch(self) -> Result:
        ncols = len(self.conn.description)
        rows = self.conn.fetchmany(self.max_rows + 1)
        nbytes = sum(len(v) for row in rows for v in row if isinstance(v, (str, bytes)))
        if nbytes > self.max_bytes:
            raise SandboxError(EXECUTION, f"result larger than {self.max_bytes >> 20} MiB")
        if len(rows) > self.max_rows:
            return Result(rows=rows[: self.max_rows], ncols=ncols, overflow=True)
        return Result(rows=rows, ncols=ncols)

    def _classify(self, e: Exception, deadline: float) -> SandboxError:
        d = self.duckdb
        msg = str(e).split("\n")[0]
        if isinstance(e, d.InterruptException) or time.monotonic() > deadline:
            return SandboxError(TIMEOUT, "stopped at the time limit")
        if isinstance(e, d.PermissionException) or "configuration has been locked" in msg:
            return SandboxError(UNSAFE, f"refused: {msg}")
        if isinstance(e, d.ParserException):
            return SandboxError(SYNTAX, msg)
        return SandboxError(EXECUTION, msg)

    def state(self, deadline: float) -> State:
        names = self.run(
            ["SELECT table_type, table_name FROM information_schema.tables "
             "WHERE table_schema = 'main' ORDER BY table_name"],
            deadline,
        ).rows or []
        out: State = {}
        for typ, name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            r = self.run([f"SELECT * FROM {quoted}"], deadline)
            out[name.lower()] = ("view" if "VIEW" in typ.upper() else "table", r.ncols, r.rows or [], r.overflow)
        return out

    def close(self) -> None:
        try:
            with self._lock:
                if not self._abandoned:
                    self.conn.close()  # a cursor's open transaction is rolled back
        finally:
            if self._on_close is not None:
                self._on_close()
