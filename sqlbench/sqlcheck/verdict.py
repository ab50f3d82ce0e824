"""The Validator: judge a candidate answer for a task by running it next to the gold.

Per task (keyed by context text, then by gold SQL) the context is built once — in
SQLite when it can run there, as written or transpiled from MySQL/PostgreSQL habits by
sqlglot statement by statement, else in DuckDB — and the gold is run once; its rows,
whether it orders them, and the final state it leaves are cached. A candidate then
costs its own statements and one comparison: on a read-only copy of the built database
kept open for reads (SQLite), else on a fresh copy. The candidate always runs on the
engine that ran its gold.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from sqlbench import records as R
from sqlbench.prompts import extract_sql, looks_like_answer, parse_answer
from sqlbench.records import Task, Verdict
from sqlbench.sqlcheck import compare as C
from sqlbench.sqlcheck.dbfile import COPY_LIMIT, DbFileError, copy_image, file_key, probe
from sqlbench.sqlcheck import duckworker, testdb
from sqlbench.sqlcheck.dialect import (
    READ_ONLY_WORDS,
    SOURCE_DIALECTS,
    auto_ids,
    first_keyword,
    has_top_level_order_by,
    order_key_columns,
    parses,
    rewrites,
    split_statements,
)
from sqlbench.sqlcheck.sandbox import (
    DEFAULT_MAX_MEMORY_MB,
    EXECUTION,
    GRACE,
    SYNTAX,
    TIMEOUT,
    UNSAFE,
    DuckSandbox,
    Result,
    SandboxError,
    SqliteSandbox,
    State,
    call_by_deadline,
    call_each_by_deadline,
    input_error,
)

_DUCK_READS = ("mysql", "postgres", "sqlite", "tsql")
_DAMAGED = ("malformed", "file is not a database", "disk I/O error")  # SQLite's words for a damaged file


@dataclass
class _Built:
    """A task's context, built (or not) on each engine."""

    sqlite_image: bytes | None = None
    sqlite_schema: tuple = ()
    sqlite_error: str | None = None
    duck_statements: list[str] | None = None
    duck_error: str | None = None
    duck_tried: bool = False
    db_path: str | None = None  # a real database file, run read-only in place (no image)
    has_rows: bool = True  # a table holds a row: the context's own data can judge


_UNSET = object()


@dataclass
class _Gold:
    """A task's gold, run once: what a candidate is compared against."""

    engine: str | None  # "sqlite" | "duckdb" | None when the row cannot be judged
    reason: str = R.OK  # bad_context / gold_error when engine is None
    detail: str = ""
    result: Result = field(default_factory=lambda: Result(rows=None))
    ordered: bool = False
    expected_norm: list[tuple] | None = None
    changed: bool = False
    state: State | None = None
    built: _Built | None = None
    sql: str = ""  # the gold as written, when that is what ran on SQLite; else "" (no ties)
    # the same gold on each generated test database (schema-only contexts)
    tests: list["_Gold"] = field(default_factory=list)
    unverified: str = ""  # why the data cannot tell answers apart ("" when it can)
    _ties: Any = _UNSET

    def tie_groups(self) -> tuple[int, ...] | None:
        """Runs of result rows the gold's ORDER BY leaves tied; parsed on first need (a
        candidate with the right rows in another order), which is rare: most golds never
        pay for sqlglot here."""
        if self._ties is _UNSET:
            # the raw rows, compared exactly: normalised ints above 2**53 would look tied
            rows = self.result.rows
            self._ties = C.tie_groups(rows, order_key_columns(self.sql)) \
                if self.ordered and self.sql and rows else None
        return self._ties


@dataclass
class _DuckTemplate:
    """A DuckDB database holding a built context; runs take turns on it."""

    built: _Built
    conn: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Reader:
    """A read-only SQLite sandbox kept open on a built database. Read-only answers take
    turns on it instead of each deserialising a fresh copy: its authorizer allows reads
    only, so no answer can change what the next one sees (a write sends the answer to a
    fresh copy, where the usual rules judge it)."""

    built: _Built
    sb: SqliteSandbox
    lock: threading.Lock = field(default_factory=threading.Lock)
    evicted: bool = False


CHECK_SLACK = 0.9  # seconds past the check's deadline by which its verdict comes back, whatever runs over
DUCK_TEMPLATES = 16  # built DuckDB databases kept open (each holds a DuckDB instance)
_PREPARE_ERRORS = ("no such ", "ambiguous column", "misuse of aggregate")  # SQLite's, before any row
READERS = 64  # built SQLite databases kept open for read-only answers (a task and its test databases: 4-6)
# The copies readers hold live in SQLite's process-wide heap (a quarter of max_memory_mb):
# together they keep at most an eighth of it, counted twice over for the pages read from
# them, so an answer's own sorts and joins keep the rest. A larger database gets fresh copies.
READER_SHARE = 8
# Words that make a statement starting like a read write after all (WITH … DELETE, EXPLAIN
# UPDATE), or that SQLite's authorizer counts as a write on a read-only connection (the
# json_each/json_tree table-valued functions): such statements go to a fresh copy at once,
# rather than being refused on the reader and run again.
_MAY_WRITE = re.compile(r"\b(insert|update|delete|upsert|json_each|json_tree|pragma_\w+)\b", re.I)
_TRANSACTION_WORDS = frozenset({"begin", "commit", "rollback", "end", "abort", "start", "savepoint", "release"})


TEST_IMAGE_CACHE = 256  # (context, gold hints) -> generated test database images
# context -> its schema as testdb reads it: a few, as every column is an object the cyclic
# GC walks (kept for all 2,048 cached contexts, they made it a tenth of a cold validator's time)
TEST_BASES = 32
FEW_ROWS = 3  # a gold result of fewer distinct rows on a test database calls for the spares
SPARE_TEST_DATABASES = 2  # generated beyond K only when the gold selects nothing (or few rows) on one of the K


class Validator:
    """Thread-safe; keeps an LRU of built contexts and gold results.

    ``test_databases`` (K) small databases are generated for a context that carries no
    rows (see :mod:`sqlbench.sqlcheck.testdb`); with ``test_databases_with_rows`` they are
    added to contexts with rows too. A candidate is ``ok`` only when it matches the gold
    on the context and on every test database; when the gold's result cannot tell answers
    apart there (empty, or only NULL/0, everywhere), the verdict is ``unverified``.
    """

    def __init__(self, timeout: float = 2.0, max_rows: int = 10_000, *, max_bytes: int = 64 << 20,
                 cache_size: int = 2048, max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
                 max_copy_bytes: int = COPY_LIMIT, test_databases: int = 3, test_databases_with_rows: bool = False):
        self.timeout = float(timeout)
        self.max_copy_bytes = int(max_copy_bytes)
        self.max_rows = int(max_rows)
        self.max_bytes = int(max_bytes)
        self.max_memory_mb = int(max_memory_mb)
        self.cache_size = cache_size
        self.test_databases = max(0, int(test_databases))
        self.test_databases_with_rows = bool(test_databases_with_rows)
        self._test_images: OrderedDict[tuple, list[bytes]] = OrderedDict()
        self._test_bases: OrderedDict[str, tuple] = OrderedDict()
        self._lock = threading.Lock()
        self._duck_lock = threading.Lock()  # one DuckDB build per context, without blocking the caches
        self._contexts: OrderedDict[str, _Built] = OrderedDict()
        self._golds: OrderedDict[tuple[str, str], _Gold] = OrderedDict()
        self._duck_templates: OrderedDict[int, _DuckTemplate] = OrderedDict()
        self._readers: OrderedDict[int, _Reader] = OrderedDict()
        self._reader_held = 0  # _reader_bytes of the readers in _readers (kept as they come and go)
        self._flights: dict[Any, threading.Event] = {}  # preparations under way
        duckworker.pool(self.max_memory_mb).prestart()

    @classmethod
    def from_settings(cls, validate_settings: Any) -> "Validator":
        """A validator with the ``validate.*`` settings (timeout, max_rows, test_databases,
        test_databases_with_rows): what every command and reward should judge with."""
        s = validate_settings
        return cls(timeout=s.timeout, max_rows=s.max_rows,
                   test_databases=getattr(s, "test_databases", 3),
                   test_databases_with_rows=getattr(s, "test_databases_with_rows", False),
                   max_memory_mb=getattr(s, "max_memory_mb", DEFAULT_MAX_MEMORY_MB),
                   max_copy_bytes=int(getattr(s, "max_copy_mb", COPY_LIMIT / (1 << 20)) * (1 << 20)))

    # -- public ------------------------------------------------------------------
    def check(self, task: Task, candidate: str | None = None) -> Verdict:
        """The verdict, within ``timeout`` + CHECK_SLACK seconds: the whole check (the
        task's first preparation included: building its database, test databases, the
        gold's run, sqlglot's rewrites) runs under one deadline, and a check that runs
        over it is a ``timeout``. A preparation cut off goes on in the background and
        is cached for the next check of the task."""
        deadline = time.monotonic() + self.timeout
        progress = _Progress()
        done, verdict = call_by_deadline(lambda: self._check(task, candidate, deadline, progress),
                                         deadline + CHECK_SLACK - GRACE, lambda: None)
        return verdict if done else self._timed_out(progress)

    def check_many(self, items: Iterable[tuple[Task, str | None]]) -> list[Verdict]:
        """The verdicts of (task, candidate) pairs, in order: each is what ``check``
        gives, under its own deadline from when it starts, but the pairs take one
        hand-off to a guarded thread between them (one each costs ~0.2 ms on a small VM,
        a tenth of a short answer's check). What judges many answers at once (a GRPO
        step, ``validate``, ``eval``) judges through this."""
        items = list(items)
        progress = [_Progress() for _ in items]

        def one(i: int, task: Task, candidate: str | None) -> Callable[[float], Verdict]:
            return lambda start: self._check(task, candidate, start + self.timeout, progress[i])

        ran = call_each_by_deadline([one(i, t, c) for i, (t, c) in enumerate(items)],
                                    self.timeout + CHECK_SLACK - GRACE)
        return [verdict if done else self._timed_out(p) for (done, verdict), p in zip(ran, progress)]

    def _timed_out(self, progress: "_Progress") -> Verdict:
        return Verdict(False, R.TIMEOUT, f"stopped at the {self.timeout:g} s time limit ({progress.phase})",
                       sql=progress.sql)

    def _check(self, task: Task, candidate: str | None, deadline: float, progress: "_Progress") -> Verdict:
        if candidate is None:
            gold = self._gold(task)
            if gold.engine is None:
                return Verdict(False, gold.reason, gold.detail, sql=task.gold_sql)
            if gold.unverified:
                return Verdict(False, R.UNVERIFIED, f"gold executes ({gold.engine}) but {gold.unverified}",
                               sql=task.gold_sql)
            tested = f"; checked on {len(gold.tests)} test databases" if gold.tests else ""
            return Verdict(True, R.OK, f"gold executes ({gold.engine}{tested})", sql=task.gold_sql)

        if looks_like_answer(candidate):
            answer = parse_answer(candidate)
            sql = answer.sql or extract_sql(candidate)
            if not answer.well_formed:
                return Verdict(False, R.FORMAT, _format_detail(candidate, answer), sql=sql)
        else:
            sql = extract_sql(candidate)
        progress.sql = sql
        if not sql.strip():
            return Verdict(False, R.SYNTAX, "empty SQL", sql=sql)
        refused = input_error(sql)  # too long or a NUL: before any parser or engine sees it
        if refused is not None:
            return Verdict(False, _REASON[refused.kind], refused.message, sql=sql)

        gold = self._gold(task)
        if gold.engine is None:
            return Verdict(False, gold.reason, gold.detail, sql=sql)
        progress.phase = "running the answer"
        verdict = None
        stmts = split_statements(sql)  # once: the answer runs on every test database
        for i, g in enumerate([gold] + gold.tests):
            try:
                g, result, changed, state = self._run_answer(task, gold, g, sql, deadline, stmts)
            except SandboxError as e:
                return Verdict(False, _REASON[e.kind], _on_db(i, self._error_detail(e)), sql=sql)
            verdict = self._compare(g, sql, result, changed, state, deadline)
            if not verdict.valid:
                return replace(verdict, detail=_on_db(i, verdict.detail))
        if gold.unverified:
            return Verdict(False, R.UNVERIFIED, f"the answer runs, but {gold.unverified}", sql=sql)
        if gold.tests:
            return replace(verdict, detail=f"same result as the gold query on the context and "
                                           f"{len(gold.tests)} test databases")
        return verdict

    def result_rows(self, task: Task, sql: str) -> list[tuple[list[tuple] | None, list[tuple] | None]]:
        """(gold rows, answer rows) on each database the verdict judges on: the task's
        own, then its test databases, for the benchmark EX rules (sqlcheck/ex_rules.py),
        which must hold on every one, as Spider's test-suite accuracy asks. None for a
        side with no result set, or that fails or overflows ``max_rows``. [] when the
        gold does not run, or past the deadline (one deadline, as ``check``)."""
        deadline = time.monotonic() + self.timeout

        def rows() -> list[tuple[list[tuple] | None, list[tuple] | None]]:
            gold = self._gold(task)
            if gold.engine is None:
                return []
            stmts = split_statements(sql)
            out = []
            for g in [gold] + gold.tests:
                try:
                    g, result, _, _ = self._run_answer(task, gold, g, sql, deadline, stmts)
                except SandboxError:
                    out.append((g.result.rows, None))
                    continue
                out.append((g.result.rows, None if result.overflow else result.rows))
            return out

        done, value = call_by_deadline(rows, deadline + CHECK_SLACK - GRACE, lambda: None)
        return value if done else []

    def __getstate__(self) -> dict:
        # Sent to worker processes (Ray, process pools) as settings only: caches and
        # the lock stay behind and are rebuilt there.
        return {"timeout": self.timeout, "max_rows": self.max_rows, "max_bytes": self.max_bytes,
                "cache_size": self.cache_size, "max_memory_mb": self.max_memory_mb,
                "max_copy_bytes": self.max_copy_bytes, "test_databases": self.test_databases,
                "test_databases_with_rows": self.test_databases_with_rows}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def clear(self) -> None:
        """Drop every cache (and close the DuckDB databases kept open)."""
        with self._lock:
            self._contexts.clear()
            self._golds.clear()
            self._test_images.clear()
            self._test_bases.clear()
            templates = list(self._duck_templates.values())
            self._duck_templates.clear()
            readers = list(self._readers.values())
            self._readers.clear()
            self._reader_held = 0
        for reader in readers:
            self._evict(reader)
        for tpl in templates:
            with tpl.lock:
                tpl.conn.close()

    # -- caches ------------------------------------------------------------------
    def _cached(self, cache: OrderedDict, key: Any) -> Any:
        with self._lock:
            value = cache.get(key)
            if value is not None:
                cache.move_to_end(key)
            return value

    def _store(self, cache: OrderedDict, key: Any, value: Any, size: int | None = None) -> Any:
        """Put ``value`` in an LRU of ``size`` entries (``cache_size`` by default)."""
        with self._lock:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > (size or self.cache_size):
                cache.popitem(last=False)
        return value

    def _gold(self, task: Task) -> _Gold:
        if task.db_path or task.db_error:  # the task's data is a real database file
            return self._file_gold(task)
        return self._once(self._golds, (task.context, task.gold_sql), lambda: self._prepare_gold(task))

    def _once(self, cache: OrderedDict, key: Any, make: Any) -> Any:
        """The cached value, else made once: a check that finds it being made (by a check
        cut off at its deadline, or another thread) waits for that one."""
        value = self._cached(cache, key)
        if value is not None:
            return value
        with self._lock:
            flight = self._flights.get(key)
            mine = flight is None
            if mine:
                flight = self._flights[key] = threading.Event()
        if not mine:
            flight.wait()
            value = self._cached(cache, key)
            return value if value is not None else self._store(cache, key, make())
        try:
            return self._store(cache, key, make())
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.set()

    def _run_answer(self, task: Task, gold: _Gold, g: _Gold, sql: str, deadline: float,
                    stmts: list[str]) -> tuple[_Gold, Result, bool, State | None]:
        """The answer run against ``g`` (the gold, or its run on a test database): (the gold
        it was judged against, result, changed, state). A dialect form SQLite cannot run
        even after sqlglot's rewrites (EXTRACT, say) is no reason to reject an answer whose
        gold runs on DuckDB too, so both are run there, only where the context alone
        judges (test databases are SQLite images); text that is not SQL in any dialect (a
        misspelt first word, prose) is no dialect form. Raises the first run's error."""
        try:
            return (g, *self._run_candidate(g, sql, deadline, stmts))
        except SandboxError as e:
            if gold.tests or not _worth_rewriting(e, g.engine) or (e.kind == SYNTAX and _not_sql_at_all(e, stmts)):
                raise
            other = self._duck_gold(task, g)
            if other is None:
                raise
            try:
                return (other, *self._run_candidate(other, sql, deadline, stmts))
            except SandboxError:
                raise e from None

    def _duck_gold(self, task: Task, gold: _Gold) -> _Gold | None:
        """The gold judged on DuckDB, for a candidate the gold's SQLite cannot run; None
        when the gold already ran there or does not run there."""
        if gold.engine != "sqlite" or task.db_path:  # a database file runs on SQLite alone
            return None
        def make() -> _Gold:
            with self._duck_lock:
                self._build_duck(gold.built, task.context)
            if gold.built.duck_statements is None:
                return _Gold(None, R.BAD_CONTEXT, "the context does not build on duckdb")
            return self._gold_on(task, gold.built, "duckdb", gold.ordered)

        duck = self._once(self._golds, (task.context, task.gold_sql, "duckdb"), make)
        return duck if duck.engine is not None else None

    def _built(self, context: str) -> _Built:
        built = self._cached(self._contexts, context)
        if built is None:
            built = self._store(self._contexts, context, self._build_sqlite(context))
        return built

    # -- tasks backed by a database file ---------------------------------------------
    def _file_gold(self, task: Task) -> _Gold:
        """Gold results of a file-backed task, cached per (database file, gold)."""
        if task.db_error:
            return _Gold(None, R.BAD_CONTEXT, task.db_error)
        try:
            fkey = file_key(task.db_path)
        except DbFileError as e:
            return _Gold(None, R.BAD_CONTEXT, str(e))
        return self._once(self._golds, (fkey, task.gold_sql), lambda: self._prepare_file_gold(task, fkey))

    def _prepare_file_gold(self, task: Task, fkey: tuple) -> _Gold:
        stmts = split_statements(task.gold_sql)
        if not stmts:
            return _Gold(None, R.GOLD_ERROR, "the gold SQL is empty")
        ordered = has_top_level_order_by(task.gold_sql)
        # A SELECT runs on the file in place; only a gold that writes needs a (capped) copy.
        writes = any(first_keyword(s) not in READ_ONLY_WORDS for s in stmts)
        try:
            gold = self._gold_on(task, self._file_built(fkey, copy=writes), "sqlite", ordered)
            if gold.engine is None and not writes and "readonly" in gold.detail:  # e.g. WITH ... DELETE
                gold = self._gold_on(task, self._file_built(fkey, copy=True), "sqlite", ordered)
        except DbFileError as e:
            return _Gold(None, R.BAD_CONTEXT, str(e))
        if gold.engine is None and any(m in gold.detail for m in _DAMAGED):  # the file, not the gold
            return _Gold(None, R.BAD_CONTEXT, f"{fkey[0]}: corrupt SQLite database ({gold.detail})")
        return gold

    def _file_built(self, fkey: tuple, copy: bool) -> _Built:
        key = ("file", fkey, copy)
        built = self._cached(self._contexts, key)
        if built is None:
            path = fkey[0]
            schema = probe(path)
            built = _Built(sqlite_image=copy_image(path, self.max_copy_bytes), sqlite_schema=schema) if copy \
                else _Built(sqlite_schema=schema, db_path=path)
            self._store(self._contexts, key, built)
        return built

    # -- building a task ---------------------------------------------------------
    def _sqlite(self, image: bytes | None = None, trusted: bool = False, path: str | None = None,
                read_only: bool | None = None) -> SqliteSandbox:
        # A task's database file: read-only and immutable (no locks, nothing written beside it).
        return SqliteSandbox(image, max_rows=self.max_rows, max_bytes=self.max_bytes, trusted=trusted,
                             max_memory_mb=self.max_memory_mb, path=path, immutable=True if path else None,
                             read_only=read_only)

    def _duck(self, trusted: bool = False, **kw: Any) -> DuckSandbox:
        return DuckSandbox(max_rows=self.max_rows, max_bytes=self.max_bytes, trusted=trusted,
                           max_memory_mb=self.max_memory_mb, **kw)

    def _build_sqlite(self, context: str) -> _Built:
        sb = self._sqlite(trusted=True)
        deadline = time.monotonic() + self.timeout
        try:
            for stmt in split_statements(context):
                auto = auto_ids(stmt, "sqlite")
                err = _try_variants(sb, [auto] if auto else [[stmt]], deadline)
                if err is not None and err.kind not in (UNSAFE, TIMEOUT):
                    alternatives = rewrites(stmt, "sqlite", deadline=deadline)
                    if alternatives and _try_variants(sb, alternatives, deadline) is None:
                        err = None
                if err is not None:
                    return _Built(sqlite_error=f"{_short(stmt)}: {err.message}")
            return _Built(sqlite_image=sb.image(), sqlite_schema=sb.schema(), has_rows=testdb.has_rows(sb.conn))
        except SandboxError as e:
            return _Built(sqlite_error=e.message)
        except (sqlite3.Error, MemoryError) as e:  # serialising under SQLite's heap limit: a verdict, not a crash
            return _Built(sqlite_error=f"the built context cannot be copied: {e}")
        finally:
            sb.close()

    def _build_duck(self, built: _Built, context: str) -> None:
        """Fill in the DuckDB statements that rebuild the context (once per context)."""
        if built.duck_tried:
            return
        try:
            sb = self._duck(trusted=True)  # waits for a starting worker: not the context's time
        except SandboxError as e:
            built.duck_error = e.message
            if e.kind != TIMEOUT:
                built.duck_tried = True
            return
        kept: list[str] = []
        deadline = time.monotonic() + self.timeout
        try:
            for stmt in split_statements(context):
                if first_keyword(stmt) == "pragma":
                    continue  # SQLite/MySQL session settings mean nothing here
                auto = auto_ids(stmt, "duckdb")
                variants = ([auto] if auto else []) + [[stmt]] + rewrites(stmt, "duckdb", _DUCK_READS, deadline)
                for variant in variants:
                    try:
                        sb.run(variant, deadline)
                    except SandboxError as e:
                        err = e
                        continue
                    kept.extend(variant)
                    break
                else:
                    built.duck_error = f"{_short(stmt)}: {err.message}"
                    break
            else:
                built.duck_statements = kept
        finally:
            sb.close()
            built.duck_tried = True

    def _prepare_gold(self, task: Task) -> _Gold:
        built = self._built(task.context)
        ordered = has_top_level_order_by(task.gold_sql)
        gold_err: str | None = None
        if not split_statements(task.gold_sql):
            return _Gold(None, R.GOLD_ERROR, "the gold SQL is empty")
        if built.sqlite_image is not None:
            gold = self._gold_on(task, built, "sqlite", ordered)
            if gold.engine is not None:
                return self._with_tests(task, gold)
            if gold.detail.startswith("gold result"):
                return gold
            gold_err = gold.detail
        with self._duck_lock:
            self._build_duck(built, task.context)
        if built.duck_statements is not None:
            gold = self._gold_on(task, built, "duckdb", ordered)
            if gold.engine is not None:
                return self._with_tests(task, gold)
            gold_err = gold_err or gold.detail
        if gold_err is not None:
            return _Gold(None, R.GOLD_ERROR, gold_err)
        return _Gold(None, R.BAD_CONTEXT, f"the context does not build: {built.sqlite_error or built.duck_error}")

    def _with_tests(self, task: Task, gold: _Gold) -> _Gold:
        """Add the gold's results on generated test databases when the context carries no
        rows (or always, with test_databases_with_rows), and decide whether the data can
        tell answers apart at all."""
        built = gold.built
        if built.has_rows and not self.test_databases_with_rows:
            return gold  # today's behaviour: the context's own rows judge
        if gold.engine == "sqlite" and self.test_databases:
            k = self.test_databases
            hints = testdb.gold_hints(task.gold_sql)
            subs = self._golds_on(task, built, gold, self._images_for(task, built, hints, 0, k))
            # A database where the gold selects nothing (or a row or two) says little about a
            # wrong filter: only then are spares generated (about half the golds never pay for
            # them), and the K where the gold selects most kept. A gold that cannot select more
            # (an aggregate without GROUP BY: one row) gains nothing from them.
            few = min(FEW_ROWS, hints.most_rows) if hints.most_rows else FEW_ROWS
            if len(subs) < k or any(_trivial(s) or _size(s) < few for s in subs):
                spares = self._golds_on(task, built, gold, self._images_for(task, built, hints, k, SPARE_TEST_DATABASES))
                pool = subs + spares
                ranked = sorted(range(len(pool)), key=lambda i: (_trivial(pool[i]), -_size(pool[i]), i))
                subs = [pool[i] for i in sorted(ranked[:k])]
            gold.tests = subs
        if all(_trivial(g) for g in [gold] + gold.tests):
            n = len(gold.tests)
            where = f"the context and {n} generated test database{'s' if n != 1 else ''}" if n else "the context"
            what = "changes nothing" if gold.result.rows is None else "returns no rows (or only NULL/0)"
            gold.unverified = f"the gold query {what} on {where}: the data cannot tell answers apart"
        return gold

    def _golds_on(self, task: Task, built: _Built, gold: _Gold, images: list[bytes]) -> list[_Gold]:
        """The gold on each test database (one it fails on, too many rows say, is left out)."""
        subs = []
        for image in images:
            test_built = _Built(sqlite_image=image, sqlite_schema=built.sqlite_schema, has_rows=True)
            sub = self._gold_on(task, test_built, "sqlite", gold.ordered)
            if sub.engine == "sqlite":
                subs.append(sub)
        return subs

    def _images_for(self, task: Task, built: _Built, hints: testdb.Hints, first: int, k: int) -> list[bytes]:
        """Test databases number first..first+k-1 of a task, cached per (context, gold hints)."""
        key = (task.context, hints.key(), first, k)
        images = self._cached(self._test_images, key)
        if images is None:
            deadline = time.monotonic() + max(self.timeout, 1.0)
            base = self._cached(self._test_bases, task.context)
            if base is None:  # read once per context, not per gold and database
                base = testdb.read_base(built.sqlite_image, deadline, rows=built.has_rows)
                if base is not None and time.monotonic() <= deadline:  # not cut short by the deadline
                    self._store(self._test_bases, task.context, base, TEST_BASES)
            images = self._store(self._test_images, key, testdb.build(
                built.sqlite_image, hints, k=k, first=first, deadline=deadline, base=base), TEST_IMAGE_CACHE)
        return images

    def _gold_on(self, task: Task, built: _Built, engine: str, ordered: bool) -> _Gold:
        deadline = time.monotonic() + self.timeout
        stmts = split_statements(task.gold_sql)
        variants = [stmts]
        last: SandboxError | None = None
        i = 0
        readers = True
        while i < len(variants):
            variant = variants[i]
            i += 1
            sb = reader = None
            try:
                sb, reader = self._open(built, engine, deadline, variant, readers)
                result = sb.run(variant, deadline)
                if result.overflow:
                    return _Gold(None, R.GOLD_ERROR, f"gold result has more than {self.max_rows} rows")
                changed = self._changed(sb, built, variant)
                state = sb.state(deadline) if changed else None
                expected = C.prepare_expected(result.rows, ordered) if result.rows is not None else None
                # ties are worked out from the SQL that ran only when it is the gold as
                # written on SQLite (the dialect order_key_columns reads)
                as_written = task.gold_sql if engine == "sqlite" and variant is stmts else ""
                return _Gold(engine, R.OK, "", result, ordered, expected, changed, state, built, as_written)
            except SandboxError as e:
                self._spoiled(reader, e)
                if reader is not None and e.kind == UNSAFE:
                    readers, i = False, i - 1  # a write in a read: again on a fresh copy
                    continue
                if e.kind in (UNSAFE, TIMEOUT):
                    last = last or e
                    break
                if last is None:  # sqlglot only when the gold does not run as written
                    last = e
                    variants += rewrites(task.gold_sql, engine, SOURCE_READS[engine], deadline)
            finally:
                self._close(sb, reader)
        assert last is not None
        what = "timed out" if last.kind == TIMEOUT else "fails"
        return _Gold(None, R.GOLD_ERROR, f"the gold query {what} on {engine}: {last.message}")

    def _fresh(self, built: _Built, engine: str, deadline: float, statements: list[str] = ()):
        """A database holding the built context, for one gold or candidate run."""
        if engine == "sqlite":
            return self._sqlite(built.sqlite_image, path=built.db_path)
        # DuckDB: a rolled-back transaction on the cached built database, unless the
        # statements manage transactions themselves or the database is busy.
        if not any(first_keyword(s) in _TRANSACTION_WORDS for s in statements):
            tpl = self._duck_template(built, deadline)
            # a template whose worker is busy with another run: a fresh database elsewhere
            if tpl is not None and not tpl.conn.worker.lock.locked() \
                    and tpl.lock.acquire(timeout=max(0.0, min(0.2, deadline - time.monotonic()))):
                try:
                    return self._duck(template=tpl.conn, on_close=tpl.lock.release, deadline=deadline)
                except SandboxError as e:
                    if e.kind == UNSAFE:
                        raise
        sb = self._duck(deadline=deadline)
        try:
            sb.run(built.duck_statements or [], deadline)
        except SandboxError:
            sb.close()
            raise
        return sb

    def _duck_template(self, built: _Built, deadline: float) -> "_DuckTemplate | None":
        key = id(built)
        with self._lock:
            tpl = self._duck_templates.get(key)
            if tpl is not None and tpl.built is built and tpl.conn.alive:
                self._duck_templates.move_to_end(key)
                return tpl
        try:
            sb = self._duck(deadline=deadline)
        except SandboxError:
            return None
        try:
            sb.run(built.duck_statements or [], deadline)
        except SandboxError:
            sb.close()
            return None
        tpl = _DuckTemplate(built=built, conn=sb.conn)
        evicted = []
        with self._lock:
            self._duck_templates[key] = tpl
            while len(self._duck_templates) > DUCK_TEMPLATES:
                evicted.append(self._duck_templates.popitem(last=False)[1])
        for old in evicted:
            with old.lock:  # wait for a run in progress on it
                old.conn.close()
        return tpl

    def _open(self, built: _Built, engine: str, deadline: float, statements: list[str],
              readers: bool = True) -> tuple[Any, _Reader | None]:
        """(sandbox, reader) for one run: the built database's reader for read-only
        statements on SQLite (when free), else a fresh copy (reader None)."""
        if readers and engine == "sqlite" and built.db_path is None \
                and all(first_keyword(s) in READ_ONLY_WORDS and not _MAY_WRITE.search(s) for s in statements):
            reader = self._reader(built)
            if reader is not None:
                return reader.sb, reader
        return self._fresh(built, engine, deadline, statements), None

    def _close(self, sb: Any, reader: _Reader | None) -> None:
        if reader is not None:
            self._release(reader)
        elif sb is not None:
            sb.close()

    def _reader_budget(self) -> int:
        return (self.max_memory_mb << 20) // 4 // READER_SHARE

    def _reader(self, built: _Built) -> _Reader | None:
        """The built database's reader, held for one run; None when it is busy (another
        thread's run), too large to keep, or cannot open: the caller then takes a fresh copy."""
        key = id(built)
        with self._lock:
            reader = self._readers.get(key)
            if reader is not None and reader.built is built and not reader.sb.abandoned:
                self._readers.move_to_end(key)
                return reader if reader.lock.acquire(blocking=False) else None
        budget = self._reader_budget()
        if _reader_bytes(built) > budget // 4:
            return None
        try:
            sb = self._sqlite(built.sqlite_image, read_only=True)
        except (SandboxError, sqlite3.Error, MemoryError):
            return None
        reader = _Reader(built=built, sb=sb)
        reader.lock.acquire()
        with self._lock:
            other = self._readers.get(key)
            if other is not None and other.built is built and not other.sb.abandoned:
                reader = None  # another thread opened one meanwhile: it stays the only one
            else:
                if other is not None:  # an abandoned one, replaced
                    self._reader_held -= _reader_bytes(other.built)
                self._readers[key] = reader
                self._readers.move_to_end(key)
                self._reader_held += _reader_bytes(built)
                evicted = []
                while len(self._readers) > 1 and (len(self._readers) > READERS or self._reader_held > budget):
                    old = self._readers.popitem(last=False)[1]
                    self._reader_held -= _reader_bytes(old.built)
                    evicted.append(old)
        if reader is None:
            sb.close()
            return None
        for old in evicted:
            self._evict(old)
        return reader

    def _spoiled(self, reader: _Reader | None, e: SandboxError) -> None:
        """Retire a reader after a run that may have left it unusable: an interrupted
        statement keeps SQLite's interrupt in force on its connection, and a memory
        failure may leave a statement open. Errors found while preparing (a missing
        table, a syntax error) leave nothing behind."""
        if reader is None or e.kind in (SYNTAX, UNSAFE) or e.message.startswith(_PREPARE_ERRORS):
            return
        reader.evicted = True
        with self._lock:
            if self._readers.get(id(reader.built)) is reader:
                del self._readers[id(reader.built)]
                self._reader_held -= _reader_bytes(reader.built)

    @staticmethod
    def _evict(reader: _Reader) -> None:
        reader.evicted = True  # first: a run ending now sees it after releasing the lock
        Validator._close_if_free(reader)

    @staticmethod
    def _release(reader: _Reader) -> None:
        reader.lock.release()
        if reader.evicted:  # evicted during the run (or before it): whoever gets the lock closes it
            Validator._close_if_free(reader)

    @staticmethod
    def _close_if_free(reader: _Reader) -> None:
        if reader.lock.acquire(blocking=False):  # else the run holding it closes it when it ends
            try:
                reader.sb.close()
            finally:
                reader.lock.release()

    def _changed(self, sb, built: _Built, statements: list[str]) -> bool:
        if isinstance(sb, SqliteSandbox):
            # a read-only database (a task's file, a reader) cannot change: only reads are
            # authorized (temp tables live apart and are not state)
            return not sb.read_only and sb.changed_since(built.sqlite_schema)
        # DuckDB's parser sees statements the split above may have hidden ($$…$$)
        return sb.changed_since() or any(first_keyword(s) not in READ_ONLY_WORDS for s in statements)

    def _context_state(self, gold: _Gold, deadline: float) -> State:
        sb = self._fresh(gold.built, gold.engine, deadline)
        try:
            return sb.state(deadline)
        finally:
            sb.close()

    # -- judging a candidate -----------------------------------------------------
    def _run_candidate(self, gold: _Gold, sql: str, deadline: float,
                       stmts: list[str] | None = None) -> tuple[Result, bool, State | None]:
        stmts = split_statements(sql) if stmts is None else stmts
        if not stmts:
            raise SandboxError(SYNTAX, "empty SQL")
        first: SandboxError | None = None
        variants: list[list[str]] = [stmts]
        i = 0
        readers = True
        while i < len(variants):
            sb = reader = None
            try:
                sb, reader = self._open(gold.built, gold.engine, deadline, variants[i], readers)
                result = sb.run(variants[i], deadline)
                changed = self._changed(sb, gold.built, variants[i])
                state = sb.state(deadline) if (changed or gold.changed) else None
                return result, changed, state
            except SandboxError as e:
                self._spoiled(reader, e)
                if reader is not None and e.kind == UNSAFE:
                    readers = False  # a write in a read (WITH … DELETE): judged on a fresh copy
                    continue
                if e.kind in (UNSAFE, TIMEOUT):
                    raise
                if first is None:
                    first = e
                    if e.kind == SYNTAX and _not_sql_at_all(e, stmts):
                        raise e
                    if _worth_rewriting(e, gold.engine):
                        variants += rewrites(sql, gold.engine, SOURCE_READS[gold.engine], deadline)
            finally:
                self._close(sb, reader)
            i += 1
        assert first is not None
        if first.kind == SYNTAX and (_not_sql_at_all(first, stmts) or not parses(sql, deadline=deadline)):
            raise first
        raise SandboxError(EXECUTION, first.message)

    def _compare(self, gold: _Gold, sql: str, result: Result, changed: bool, state: State | None,
                 deadline: float) -> Verdict:
        exp = gold.result
        if exp.rows is not None:
            if result.rows is None:
                return Verdict(False, R.MISMATCH, "the gold query returns rows; the answer's last statement returns none",
                               sql=sql, expected=C.preview(exp.rows), got=[])
            if result.overflow:
                return Verdict(False, R.MISMATCH,
                               f"more than {self.max_rows} rows returned, {len(exp.rows)} expected",
                               sql=sql, expected=C.preview(exp.rows), got=C.preview(result.rows))
            d = C.compare_results(exp.rows, result.rows, gold.ordered, expected_ncols=exp.ncols,
                                  got_ncols=result.ncols, expected_norm=gold.expected_norm,
                                  ties=lambda: self._tie_groups(gold, deadline))
            if d is not None:
                return Verdict(False, R.MISMATCH, d.detail, sql=sql, expected=d.expected, got=d.got)
        if changed or gold.changed:
            try:
                expected_state = gold.state if gold.changed else self._context_state(gold, deadline)
            except SandboxError as e:
                return Verdict(False, _REASON[e.kind], self._error_detail(e), sql=sql)
            d = C.compare_states(expected_state or {}, state or {})
            if d is not None:
                return Verdict(False, R.MISMATCH, d.detail, sql=sql, expected=d.expected, got=d.got)
        return Verdict(True, R.OK, "same result as the gold query", sql=sql)

    def _tie_groups(self, gold: _Gold, deadline: float) -> tuple[int, ...] | None:
        """The gold's runs of tied rows: from its output columns when every ORDER BY key is
        one, else from the gold re-run with its keys selected (see ordering.py)."""
        ties = gold.tie_groups()
        if ties is not None or not (gold.ordered and gold.sql and gold.engine == "sqlite"):
            return ties
        if order_key_columns(gold.sql) is not None:
            return None  # the keys are output columns and leave no ties
        from sqlbench.sqlcheck.ordering import key_query

        q = key_query(gold.sql)
        rows = gold.result.rows or []
        if q is None or len(rows) < 2:
            return None
        sb = self._sqlite(gold.built.sqlite_image)
        try:
            keyed = sb.run([q[0]], deadline)
        except SandboxError:
            return None
        finally:
            sb.close()
        ncols = gold.result.ncols
        # the keyed rows must be the gold's rows, in the gold's order, compared exactly
        if keyed.rows is None or keyed.overflow or len(keyed.rows) != len(rows) \
                or any(tuple(k[:ncols]) != tuple(r) for k, r in zip(keyed.rows, rows)):
            return None
        ties = C.tie_groups(keyed.rows, tuple(range(ncols, ncols + q[1])))
        gold._ties = ties
        return ties

    def _error_detail(self, e: SandboxError) -> str:
        if e.kind == TIMEOUT:
            return f"stopped at the {self.timeout:g} s time limit"
        return e.message


SOURCE_READS = {"sqlite": SOURCE_DIALECTS, "duckdb": _DUCK_READS}
_REASON = {UNSAFE: R.UNSAFE, TIMEOUT: R.TIMEOUT, SYNTAX: R.SYNTAX, EXECUTION: R.EXECUTION}


def _reader_bytes(built: _Built) -> int:
    """What a reader on ``built`` holds in SQLite's heap: its copy, and as much again in
    pages read from it (a generous count)."""
    return 2 * len(built.sqlite_image or b"")


def _worth_rewriting(e: SandboxError, engine: str) -> bool:
    # Wrong column names and the like are the model's mistake, not a dialect habit;
    # sqlglot (~0.3 ms a statement) is only worth it when the engine rejects the form.
    if engine == "duckdb" or e.kind == SYNTAX:
        return True
    return "no such function" in e.message or 'near "' in e.message


# Words a statement can start with in some dialect: text starting otherwise is not SQL.
_STATEMENT_WORDS = frozenset(
    "select with insert update delete replace merge upsert create drop alter truncate values table from "
    "show describe desc explain begin start commit rollback end savepoint release grant revoke "
    "comment rename analyze reindex vacuum pragma attach detach set use call do copy load install "
    "export import checkpoint summarize pivot unpivot pivot_wider pivot_longer prepare execute deallocate".split()
)


def _not_sql_at_all(e: SandboxError, stmts: list[str]) -> bool:
    """SQLite choked on the very first word, and no dialect starts a statement with it
    (prose such as "Here is the query:" or a misspelt SELECT): a syntax error without
    asking sqlglot."""
    first = first_keyword(stmts[0])
    return (f'near "{first}"' in e.message.lower()) and first not in _STATEMENT_WORDS


def _try_variants(sb, variants: list[list[str]], deadline: float) -> SandboxError | None:
    """Run the first variant that works on ``sb``; the first error when none does."""
    first = None
    for variant in variants:
        try:
            sb.run(variant, deadline)
            return None
        except SandboxError as e:
            first = first or e
            if e.kind in (UNSAFE, TIMEOUT):
                return e
    return first


def _trivial(gold: _Gold) -> bool:
    """A gold result that cannot tell a right answer from a wrong one: no rows, or only
    NULL/0 values (an aggregate over nothing), or a write that changed nothing."""
    rows = gold.result.rows
    if rows is None:
        return not gold.changed
    return all(v is None or (isinstance(v, (int, float)) and v == 0) for row in rows for v in row)


def _size(gold: _Gold) -> int:
    rows = gold.result.rows
    return int(gold.changed) if rows is None else min(len(set(map(repr, rows))), 64)


class _Progress:
    """How far a check got: what its timeout verdict says when it is cut off."""

    def __init__(self) -> None:
        self.phase = "preparing the task: its database and gold query"
        self.sql = ""


def _on_db(i: int, detail: str) -> str:
    return detail if i == 0 else f"on test database {i}: {detail}"


def _short(stmt: str, n: int = 60) -> str:
    s = " ".join(stmt.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _format_detail(text: str, answer) -> str:
    if not answer.think:
        return "the answer has no non-empty <think>…</think> block"
    if not answer.sql:
        return "the answer has no non-empty <sql>…</sql> block after its reasoning"
    return "the <sql> block must follow the <think> block"
