"""The two engines model-written SQL runs in, locked down: one implementation for the
validator, the GRPO rewards and chat's read-only connections (sqlbench/inference/dbconn.py).

Every run holds three limits:

* input: SQL over ``MAX_SQL_BYTES`` is refused (``unsafe``, the cap named), a NUL
  character is a ``syntax`` error; sqlglot sees only short, shallow text (dialect.py);
* time: SQLite statements run on a pooled runner thread and the caller gets its verdict
  at the deadline plus at most ``GRACE`` seconds, even when one engine call ignores
  interrupts (SQLite's ``instr`` on megabyte strings): that call is abandoned and its
  connection closed when it lets go (``VALUE_LIMIT`` bounds it to seconds). Inside a
  validator check, which is itself such a guarded call, statements run on the check's
  own runner (one hand-off per check, or per batch of checks: ``call_each_by_deadline``).
  A DuckDB call still running then is ended by killing its worker process;
* memory: a quarter of ``max_memory_mb`` (``validate.max_memory_mb``) is SQLite's
  process-wide hard heap limit (an eighth, at most 256 MiB, each database's size in pages) and the address
  space of each DuckDB worker process (``RLIMIT_AS``: DuckDB's own ``memory_limit``, half
  of it, does not cover ``repeat``, ``lpad`` or list building); no value may exceed
  ``VALUE_LIMIT`` in SQLite, and ``printf``/``format`` are replaced by a copy that
  refuses a ``%c`` repeated past it (SQLite 3.40 loops 2^31 times in one VM step there).

SQLite (the default): in-memory, or a user's file opened read-only (``path=``); an
authorizer allows plain reads, writes and DDL (reads only for a file) and refuses
ATTACH/DETACH (which also catches ``VACUUM INTO 'file'``), PRAGMA (including
``pragma_*`` table functions), virtual tables and extension loading; a progress handler
stops statements at the deadline. A built context is kept as the bytes of
``serialize()`` and copied into a fresh connection per candidate with ``deserialize()``.

DuckDB (for contexts/golds SQLite cannot run, and DuckDB files in chat), in worker
processes (sqlcheck/duckworker.py): external access off (no files, no ATTACH, no extension install/load), configuration locked, one
thread, a memory cap, no spill directory. A string is split by DuckDB's own parser and
run one statement at a time, so a statement SQLite's splitter cannot see (``$$…$$``
quoting) is still checked, and a COMMIT cannot end the transaction a shared template
is protected by. A built context stays open and each candidate runs in a rolled-back
transaction on a cursor of it.

Both engines: statements that attach, pragma, vacuum, copy, install/load, set, or call
file/settings functions are refused before they run (a clear detail; the engine guards
above are what make it safe).
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import quote

from sqlbench.sqlcheck.dialect import unsafe_reason

# Kinds of SandboxError; the verdict layer maps them onto reasons.
UNSAFE, TIMEOUT, SYNTAX, EXECUTION = "unsafe", "timeout", "syntax", "execution"

DEFAULT_MAX_MEMORY_MB = 1024  # validate.max_memory_mb
MAX_SQL_BYTES = 100_000  # longer model-written SQL is refused before anything parses it
PAGE_SIZE = 4096
PAGE_LIMIT = 64 * 1024  # 4 KiB pages: 256 MiB per database at most (an eighth of the cap below that)
# Longest string/blob/row SQLite may build. It also bounds the quadratic string
# functions (instr/replace/trim on a crafted 1 MiB value take seconds, on 16 MiB hours).
VALUE_LIMIT = 1024 * 1024
PROGRESS_OPS = 2000  # VM instructions between deadline checks
GRACE = 0.5  # seconds past the deadline before a run that ignores interrupts is abandoned


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
    columns: list[str] | None = None  # the result's column names (chat shows them)


def input_error(sql: str) -> SandboxError | None:
    """Why model-written SQL is refused before any engine or parser sees it, or None."""
    if len(sql) > MAX_SQL_BYTES or len(sql.encode("utf-8", "surrogatepass")) > MAX_SQL_BYTES:
        size = len(sql.encode("utf-8", "surrogatepass"))
        return SandboxError(UNSAFE, f"refused: the SQL is {size:,} bytes, over the {MAX_SQL_BYTES:,}-byte limit")
    if "\x00" in sql:
        return SandboxError(SYNTAX, "the SQL contains a NUL character")
    return None


# ---- runner threads ---------------------------------------------------------------
class _Job:
    __slots__ = ("fn", "done", "result", "error", "deadline")

    def __init__(self, fn: Callable[[], Any], deadline: float):
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.deadline = deadline


_here = threading.local()  # .job: the job a runner thread is running


class _Runner(threading.Thread):
    """A thread that runs engine calls for callers who must not wait past a deadline.
    Kept in a small idle pool: a hand-off costs ~40 µs, a new thread ~250 µs."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="sqlbench-sandbox")
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.start()

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            _here.job = job
            try:
                job.result = job.fn()
            except BaseException as e:  # handed to the caller, never lost
                job.error = e
            finally:
                _here.job = None
            job.done.set()
            with _pool_lock:
                if len(_idle) >= _POOL_MAX:
                    return
                _idle.append(self)


_pool_lock = threading.Lock()
_idle: list[_Runner] = []
_POOL_MAX = 8


def _take_runner() -> _Runner:
    """An idle runner from the pool, else a new one."""
    with _pool_lock:
        runner = _idle.pop() if _idle else None
    return runner if runner is not None else _Runner()


def call_by_deadline(fn: Callable[[], Any], deadline: float, interrupt: Callable[[], None]) -> tuple[bool, Any]:
    """Run ``fn`` on a runner thread. (True, its result) when it returns by ``deadline``
    (plus GRACE after ``interrupt()`` is called at the deadline), re-raising what it
    raised; (False, None) when it is still running then: it is abandoned, and must
    release its own resources when it finishes.

    Called on a runner whose own caller gives up no later than this caller would (a
    statement of a validator check: the check is the guarded call), ``fn`` runs right
    here: a second hand-off (~0.1 ms, as long as a small query) would guard nothing
    the first does not. Its ``interrupt`` is still called at its deadline, by the
    watchdog, as the hand-off's waiter would."""
    if math.isinf(deadline):
        return True, fn()
    outer = getattr(_here, "job", None)
    if outer is not None and outer.deadline <= deadline + GRACE:
        key = _watchdog.watch(deadline, interrupt)
        try:
            return True, fn()
        finally:
            _watchdog.unwatch(key)
    job = _Job(fn, deadline)
    _take_runner().jobs.put(job)
    if not job.done.wait(max(0.0, deadline - time.monotonic())):
        interrupt()
        if not job.done.wait(GRACE):
            return False, None
    if job.error is not None:
        raise job.error
    return True, job.result


class _Batch:
    """Calls run one after another on one runner (see :func:`call_each_by_deadline`).
    ``results`` grows as they end; ``started`` is when the current one began, moved on in
    the same locked step that records the last one's result, so a caller never sees a
    call's result without the next call's clock. The lock settles the race between a
    call ending and its caller giving up on it."""

    def __init__(self, calls: Sequence[Callable[[float], Any]], allowance: float, job: _Job):
        self.calls, self.allowance, self.job = calls, allowance, job
        self.lock = threading.Lock()
        self.results: list[Any] = []
        self.started = time.monotonic()
        self.given_up = False

    def _start(self) -> None:  # under the lock
        self.started = time.monotonic()
        self.job.deadline = self.started + self.allowance  # what the call's inline statements compare with

    def __call__(self) -> None:  # on the runner
        with self.lock:
            if self.given_up:
                return
            self._start()
        for call in self.calls:
            value = call(self.started)  # only this thread writes started
            with self.lock:
                if self.given_up:  # too late: the caller has already answered for it
                    return
                self.results.append(value)
                if len(self.results) < len(self.calls):
                    self._start()


def call_each_by_deadline(calls: Sequence[Callable[[float], Any]], allowance: float) -> list[tuple[bool, Any]]:
    """Run ``calls`` one after another on one runner thread: what calling
    :func:`call_by_deadline` for each in turn gives, with one hand-off for them all
    instead of one each (on a small VM, a hand-off wakes the other core twice: ~0.2 ms,
    a tenth of judging a short answer).

    Each call is given the time it starts and ``allowance`` seconds: [(True, its
    result)], or (False, None) for a call still running at its start + allowance +
    GRACE; that call is abandoned with its runner (it must release its own resources
    when it finishes, and nothing after it runs there) and the calls after it go on on
    another runner. The first exception a call raises is re-raised here, the calls
    after it not run, as a loop of calls would; so are the caller's own (an interrupt):
    nothing more of the batch runs. The calls guard their own engine calls (a check's
    statements are watched inline): a late call gets no interrupt."""
    out: list[tuple[bool, Any]] = []
    while len(out) < len(calls):
        job = _Job(lambda: None, time.monotonic() + allowance)
        batch = job.fn = _Batch(calls[len(out):], allowance, job)
        _take_runner().jobs.put(job)
        try:
            while True:
                with batch.lock:
                    i, started = len(batch.results), batch.started
                if i == len(batch.calls):  # all ended: the runner is signalling
                    job.done.wait()
                    break
                # one wake-up when the batch ends; one more only when a call runs past its time
                if job.done.wait(max(0.0, started + allowance + GRACE - time.monotonic())):
                    break
                with batch.lock:
                    if len(batch.results) == i and batch.started == started:
                        batch.given_up = True
                        break
        except BaseException:
            with batch.lock:  # the caller is gone (an interrupt): nothing more of the batch runs
                batch.given_up = True
            raise
        if job.error is not None and not batch.given_up:
            raise job.error
        out += [(True, r) for r in batch.results]
        if batch.given_up:
            out.append((False, None))
    return out


class _Watchdog:
    """One thread that calls the ``interrupt`` of each call running inline at that
    call's deadline. It sleeps until the earliest deadline among the calls still
    running (no wake-up per call), and an interrupt is only ever called under the lock
    that ``unwatch`` takes: once a call is unwatched, its connection (a reader another
    check may take next) is never interrupted on its behalf."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: dict[int, tuple[float, Callable[[], None]]] = {}
        self._keys = itertools.count()
        self._wake = math.inf  # when the thread wakes next
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, interrupt: Callable[[], None]) -> int:
        key = next(self._keys)
        with self._cond:
            self._watched[key] = (deadline, interrupt)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="sqlbench-watchdog")
                self._thread.start()
            elif deadline < self._wake:
                self._cond.notify()
        return key

    def unwatch(self, key: int) -> None:
        with self._cond:
            self._watched.pop(key, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key in [k for k, (d, _) in self._watched.items() if d <= now]:
                    _, interrupt = self._watched.pop(key)
                    try:
                        interrupt()
                    except Exception:  # noqa: BLE001 - a connection closed meanwhile
                        pass
                self._wake = min((d for d, _ in self._watched.values()), default=math.inf)
                self._cond.wait(None if math.isinf(self._wake) else max(0.0, self._wake - now))


_watchdog = _Watchdog()


def _after_fork_in_child() -> None:
    # A forked child has none of the parent's threads (no watchdog, no idle runner) and
    # perhaps a lock held at the fork.
    global _watchdog, _pool_lock, _idle
    _watchdog = _Watchdog()
    _pool_lock = threading.Lock()
    _idle = []


os.register_at_fork(after_in_child=_after_fork_in_child)


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

_READ_ONLY = frozenset({_S.SQLITE_SELECT, _S.SQLITE_READ, _S.SQLITE_FUNCTION, _S.SQLITE_RECURSIVE})

_heap_lock = threading.Lock()
_heap_cap = 0  # the process-wide cap set so far (0: none yet)


def _cap_heap(conn: sqlite3.Connection, max_memory_mb: int) -> None:
    """SQLite's heap limit is process-wide: the largest cap any sandbox asked for holds
    (a validator never gets less than it was configured with). A quarter of the cap:
    what malloc holds beyond SQLite's count (per-thread arenas, fragmentation: measured
    up to 1.6 times as much) and a result of up to ``max_bytes`` stay under it."""
    global _heap_cap
    cap = max(1, int(max_memory_mb)) << 18
    with _heap_lock:
        if _heap_cap >= cap:
            return
        conn.execute(f"PRAGMA hard_heap_limit={cap}")
        conn.execute(f"PRAGMA soft_heap_limit={cap * 3 // 4}")  # shed page cache first
        _heap_cap = cap


def _release_memory() -> None:
    """Give the memory a statement stopped at its limit held back to the system. Runs
    take turns on pooled threads, and glibc keeps what one thread freed in that thread's
    arena: without this, each arena would keep its own high-water mark."""
    global _trim
    if _trim is None:
        try:
            import ctypes

            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _trim = False
    if _trim:
        _trim(0)


_trim: Any = None


def _page_limit(max_memory_mb: int) -> int:
    # an eighth of the cap: half of SQLite's heap limit, so a full database is "full",
    # not out of memory
    return max(256, min(PAGE_LIMIT, (int(max_memory_mb) << 20) // 8 // PAGE_SIZE))


# ---- printf/format, bounded ---------------------------------------------------------
# SQLite 3.40 builds printf('%.*c', n, 'x') by appending one character n times, in one VM
# step that no progress handler or interrupt reaches (2^31 times: ~12 s, whatever the
# length limit). The replacement works out the repeat counts first; any over the
# length limit gives NULL, which is what SQLite returns for text over that limit.
_PRINTF_SPEC = re.compile(r"%([-+ #!0,]*)(\*|[0-9]*)(?:\.(\*|[0-9]*))?l{0,2}(.)", re.S)
_helper = threading.local()


def _helper_conn() -> sqlite3.Connection:
    conn = getattr(_helper, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
        _helper.conn = conn
    return conn


def _as_int32(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        (value,) = _helper_conn().execute("SELECT CAST(? AS INTEGER)", (value,)).fetchone()
    value = value or 0
    return ((value & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000  # C's (int) of the int64


def _printf_overflows(args: tuple) -> bool:
    fmt = args[0]
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    if not isinstance(fmt, str) or "%" not in fmt:
        return False
    i = 1  # next argument
    for m in _PRINTF_SPEC.finditer(fmt):
        _, width, precision, conv = m.groups()
        if conv == "%":
            continue
        if width == "*":
            i += 1
        count = None
        if precision == "*":
            count = abs(_as_int32(args[i])) if i < len(args) else 0
            i += 1
        elif precision:
            count = int(precision) & 0x7FFFFFFF
        i += 1
        if conv == "c" and count is not None and count > VALUE_LIMIT:
            return True
    return False


def _bounded_printf(*args: Any) -> Any:
    if args and _printf_overflows(args):
        return None
    marks = ", ".join("?" * len(args))
    return _helper_conn().execute(f"SELECT printf({marks})", args).fetchone()[0]


def sqlite_file_uri(path: str | os.PathLike, *, immutable: bool | None = None) -> str:
    """A read-only URI for a user's SQLite file that leaves nothing beside it.

    ``mode=ro`` alone still makes SQLite create ``-wal``/``-shm`` files next to a
    WAL-mode database. Such a database without a ``-wal`` file has nothing outside the
    main file, so it is opened ``immutable=1`` (no locks, no side files). A ``-wal``
    file that is already there may hold committed rows the main file lacks: then the
    database is opened plainly read-only (reading it needs the existing ``-shm``).
    ``immutable=True`` forces immutable (files nothing else writes to)."""
    p = Path(path).resolve()
    if immutable is None:
        immutable = _wal_mode(p) and not Path(f"{p}-wal").exists()
    return f"file:{quote(str(p))}?mode=ro" + ("&immutable=1" if immutable else "")


def _wal_mode(path: Path) -> bool:
    """Bytes 18-19 of a SQLite header are 2, 2 for a WAL-mode database."""
    try:
        with path.open("rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and head[19] == 2


class SqliteSandbox:
    """One fresh in-memory SQLite database (optionally a copy of a built context), or
    a user's SQLite file opened read-only (``path``), where only reads are authorized
    (a task's database file is opened immutable too: see sqlcheck/dbfile.py)."""

    engine = "sqlite"

    def __init__(self, image: bytes | None = None, *, max_rows: int = 10_000, max_bytes: int = 64 << 20,
                 trusted: bool = False, max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
                 path: str | os.PathLike | None = None, immutable: bool | None = None,
                 read_only: bool | None = None):
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.trusted = trusted  # building a dataset's context: a few harmless PRAGMAs pass
        # Read-only (a file, or an image kept open for many reads): only reads are authorized,
        # so nothing a statement does can change what the next one sees.
        self.read_only = path is not None if read_only is None else read_only
        self.deadline = math.inf
        self.denied: str | None = None
        self._lock = threading.Lock()
        self._abandoned = False
        self.path = path
        if path is not None:
            conn = sqlite3.connect(sqlite_file_uri(path, immutable=immutable), uri=True,
                                   isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            _cap_heap(conn, max_memory_mb)
            if image is not None:
                conn.deserialize(image)
            conn.execute("PRAGMA temp_store=MEMORY")  # never a temp file on the host
            pages = _page_limit(max_memory_mb)
            if path is None:
                conn.execute(f"PRAGMA max_page_count={pages}")
            if self.read_only:
                conn.execute("PRAGMA query_only=ON")
            conn.execute(f"PRAGMA temp.max_page_count={pages}")
            conn.execute(f"PRAGMA cache_size=-{min(pages * PAGE_SIZE >> 10, 64 << 10)}")  # KiB
        except BaseException:
            conn.close()
            raise
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, max(MAX_SQL_BYTES, 1 << 20) if not trusted else 1 << 30)
        conn.create_function("printf", -1, _bounded_printf, deterministic=True)
        conn.create_function("format", -1, _bounded_printf, deterministic=True)
        conn.set_authorizer(self._authorize)
        conn.set_progress_handler(self._progress, PROGRESS_OPS)
        self.conn = conn

    # -- guards ------------------------------------------------------------------
    def _authorize(self, action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
        allowed = _READ_ONLY if self.read_only else _ALLOWED
        if action in allowed:
            if action == _S.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
                self.denied = f"{arg2}()"
                return _S.SQLITE_DENY
            return _S.SQLITE_OK
        if action == _S.SQLITE_PRAGMA and self.trusted and str(arg1).lower() in _CONTEXT_PRAGMAS:
            return _S.SQLITE_OK
        self.denied = _ACTION_NAMES.get(action, f"action {action}")
        if action == _S.SQLITE_PRAGMA and arg1:
            self.denied = f"PRAGMA {arg1}"
        elif self.read_only and action not in _ACTION_NAMES:
            self.denied = "writes (the database is read-only)"
        return _S.SQLITE_DENY

    def _progress(self) -> bool:
        return time.monotonic() > self.deadline

    # -- running -----------------------------------------------------------------
    def run(self, statements: Sequence[str], deadline: float) -> Result:
        """Run statements in order; the rows of the last one. Raises SandboxError, by
        ``deadline`` + GRACE at the latest."""
        if not self.trusted:
            for stmt in statements:
                err = input_error(stmt)
                if err is not None:
                    raise err
                why = unsafe_reason(stmt, "sqlite")
                if why:
                    raise SandboxError(UNSAFE, why)
        return self._by_deadline(lambda: self._run(statements), deadline)

    def _run(self, statements: Sequence[str]) -> Result:
        result = Result(rows=None)
        for stmt in statements:
            self.denied = None
            cur = None
            try:
                cur = self.conn.execute(stmt)
                result = self._fetch(cur) if cur.description is not None else Result(rows=None)
            except sqlite3.Error as e:
                raise self._classify(e) from None
            except SandboxError:
                raise
            except MemoryError:  # SQLITE_NOMEM: the heap limit
                _release_memory()
                raise SandboxError(EXECUTION, f"out of memory: over the {_heap_cap >> 20} MiB SQLite heap "
                                              "limit (a quarter of validate.max_memory_mb)") from None
            except Exception as e:  # huge integers, sqlite3.Warning
                raise SandboxError(EXECUTION, str(e) or type(e).__name__) from None
            finally:
                # reset now, not when collected: a statement left open (rows past max_rows)
                # holds a read and keeps an interrupt in force on a connection kept for reuse
                if cur is not None:
                    cur.close()
        return result

    def _by_deadline(self, fn: Callable[[], Any], deadline: float) -> Any:
        self.deadline = deadline

        def guarded() -> Any:
            try:
                return fn()
            finally:
                with self._lock:
                    if self._abandoned:
                        self.conn.close()

        done, value = call_by_deadline(guarded, deadline, self.conn.interrupt)
        if not done:
            with self._lock:
                self._abandoned = True
            raise SandboxError(TIMEOUT, "stopped at the time limit")
        return value

    def _fetch(self, cur: sqlite3.Cursor) -> Result:
        rows: list[tuple] = []
        nbytes = 0
        columns = [d[0] for d in cur.description]
        while True:
            # small batches: a row may hold values up to VALUE_LIMIT each, and a batch is
            # built in Python before its size is known
            batch = cur.fetchmany(16)
            if not batch:
                break
            rows.extend(batch)
            for row in batch:
                for v in row:
                    if isinstance(v, (str, bytes)):
                        nbytes += len(v)
            if nbytes > self.max_bytes:
                del rows, batch
                _release_memory()
                raise SandboxError(EXECUTION, f"result larger than {self.max_bytes >> 20} MiB")
            if len(rows) > self.max_rows:
                return Result(rows=rows[: self.max_rows], ncols=len(columns), overflow=True, columns=columns)
        return Result(rows=rows, ncols=len(columns), columns=columns)

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
        """The schema table. Bounded work (the page cap bounds it), so it runs without
        the deadline: a run that ended just in time must not fail here."""
        self.deadline = math.inf
        try:
            return tuple(self.conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall())
        except sqlite3.Error as e:
            raise self._classify(e) from None

    def changed_since(self, schema: tuple) -> bool:
        """Whether any statement wrote rows or changed the schema (cheap check that
        lets read-only candidates skip the final-state comparison). Raises SandboxError."""
        return self.conn.total_changes > 0 or self.schema() != schema

    def state(self, deadline: float) -> State:
        # Views run the candidate's expressions: same deadline and runner as run().
        return self._by_deadline(self._state, deadline)

    def _state(self) -> State:
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

    @property
    def abandoned(self) -> bool:
        """A run here outlived its deadline: the connection is closed when it ends."""
        return self._abandoned

    def close(self) -> None:
        with self._lock:
            if not self._abandoned:  # an abandoned run closes the connection itself
                self.conn.close()


_INDEX_SQL = re.compile(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s.*?\bON\s+(.+?)\s*\((.*)\)", re.I | re.S)


def _index_key(sql: str) -> tuple[str, bool]:
    m = _INDEX_SQL.match(sql)
    if not m:
        return " ".join(sql.lower().split()), False
    table = m.group(2).strip().strip('"`[]').lower()
    cols = ",".join(c.strip().strip('"`[]').lower() for c in m.group(3).split(","))
    return f"on {table}({cols})", bool(m.group(1))


def duck_config(max_memory_mb: int = DEFAULT_MAX_MEMORY_MB) -> dict[str, Any]:
    """The locked-down settings every DuckDB database of model-written SQL opens with."""
    from sqlbench.sqlcheck.duckworker import duck_config as config

    return config(max_memory_mb)


def duck_statements(sql: str) -> list[str]:
    """``sql`` split by DuckDB's own parser (``$$…$$``, ``E'…'`` quoting included), one
    text per statement; raises ``duckdb.ParserException`` when DuckDB cannot parse it."""
    import duckdb

    return [st.query.strip().rstrip(";").strip() for st in duckdb.extract_statements(sql)]


class DuckSandbox:
    """A locked-down DuckDB database in a capped worker process (sqlcheck/duckworker.py):
    a fresh in-memory one, a user's file opened read-only (``path``), or (``template``: a
    ``Handle`` kept open) a transaction on a cursor of an already open one, rolled back
    by ``close()`` so the next run sees it unchanged. Opening a database costs ~10 ms, a
    cursor and a rolled-back transaction well under 1 ms, a request ~0.1 ms.

    ``deadline`` bounds the opening (a worker may still be starting); without one it
    may take up to the worker's start-up time. Raises SandboxError."""

    engine = "duckdb"

    def __init__(self, *, max_rows: int = 10_000, max_bytes: int = 64 << 20, trusted: bool = False,
                 template: Any = None, on_close: Any = None, max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
                 path: str | os.PathLike | None = None, deadline: float | None = None):
        from sqlbench.sqlcheck import duckworker as W

        self._w = W
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.trusted = trusted
        self.shared = template is not None  # its transaction protects a database others use
        self.wrote = False  # a statement DuckDB's parser calls a write ran
        self._on_close = on_close
        answer_by = deadline + GRACE if deadline is not None else time.monotonic() + W.SPAWN_TIMEOUT
        try:
            if template is not None:
                if not template.alive:
                    raise SandboxError(TIMEOUT, W.LOST)
                self.conn = template.cursor(answer_by)
            else:
                self.conn = W.Handle.open(W.pool(max_memory_mb), None if path is None else str(path), answer_by)
        except W.WorkerError as e:
            if on_close is not None:
                on_close()
            raise SandboxError(e.kind, e.message) from None
        except SandboxError:
            if on_close is not None:
                on_close()
            raise

    def run(self, statements: Sequence[str], deadline: float) -> Result:
        for stmt in statements:
            err = None if self.trusted else input_error(stmt)
            if err is not None:
                raise err
            why = unsafe_reason(stmt, "duckdb")
            if why:
                raise SandboxError(UNSAFE, why)
        # DuckDB checks for interrupts between vectors, but a single huge operation
        # (repeat('x', 2e9)) ignores it for many seconds: its worker is then killed at
        # the deadline plus GRACE, and the caller has its timeout verdict on time.
        try:
            rows, ncols, overflow, columns, wrote = self.conn.run(
                list(statements), deadline, self.shared, self.max_rows, self.max_bytes)
        except self._w.WorkerError as e:
            raise SandboxError(e.kind, e.message) from None
        self.wrote = self.wrote or wrote
        return Result(rows=rows, ncols=ncols, overflow=overflow, columns=columns)

    def changed_since(self, schema: Any = None) -> bool:
        """Whether a statement DuckDB's parser calls a write ran."""
        return self.wrote

    def state(self, deadline: float) -> State:
        wrote = self.wrote
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
        self.wrote = wrote
        return out

    def close(self) -> None:
        try:
            self.conn.close()  # a cursor's open transaction is rolled back
        finally:
            if self._on_close is not None:
                self._on_close()
