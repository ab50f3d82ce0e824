"""Hostile SQL: no file is read or written, nothing is attached or loaded, runaway
queries stop at the time limit, results are capped. Every test runs in an empty
working directory and checks that it stays empty."""

import time

import pytest

from sqlbench.sqlcheck import Validator
from tests.fixtures.sqlcheck import SHOP_CONTEXT, make_task

# A gold only DuckDB runs (INTERVAL arithmetic), so answers are judged on DuckDB.
DUCK_GOLD = "SELECT name FROM customers WHERE DATE '2024-01-01' - INTERVAL 1 YEAR < DATE '2024-01-01'"


def _files(path):
    return sorted(p.name for p in path.rglob("*"))


@pytest.fixture
def tasks():
    return {"sqlite": make_task("SELECT name FROM customers"), "duckdb": make_task(DUCK_GOLD)}


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_file_access_attach_and_extensions_are_refused(engine, tasks, validator, empty_cwd, tmp_path):
    task = tasks[engine]
    assert validator.check(task).detail == f"gold executes ({engine})"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text("a\n1\n")
    hostile = [
        "ATTACH 'evil.db' AS evil",
        f"ATTACH '{outside}/evil.db' AS evil; CREATE TABLE evil.t (a)",
        "ATTACH ':memory:' AS m",
        "DETACH main",
        "VACUUM INTO 'copy.db'",
        f"VACUUM INTO '{outside}/copy.db'",
        "VACUUM",
        "PRAGMA table_info(customers)",
        "SELECT * FROM pragma_table_info('customers')",
        "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so')",
        "SELECT readfile('/etc/passwd')",
        "SELECT writefile('written.txt', 'x')",
        "CREATE VIRTUAL TABLE v USING fts5(x)",
        f"SELECT * FROM read_csv('{secret}')",
        f"SELECT * FROM read_text('{secret}')",
        "SELECT * FROM glob('*')",
        f"COPY customers TO '{outside}/dump.csv'",
        "COPY customers TO 'dump.csv'",
        "EXPORT DATABASE 'exported'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 8",
        "SELECT name FROM customers; ATTACH 'late.db' AS late",
        "SELECT * FROM 'data.csv'",
        "SELECT * FROM duckdb_extensions()",
        "SELECT current_setting('home_directory')",
        "SELECT * FROM query('PRAGMA version')",
        "CREATE SECRET s (TYPE s3)",
        f"SELECT * FROM sqlite_scan('{outside}/x.db', 't')",
    ]
    for sql in hostile:
        v = validator.check(task, sql)
        assert not v.valid
        # On SQLite these name a table or statement that does not exist: harmless errors.
        harmless = engine == "sqlite" and sql in ("SELECT * FROM 'data.csv'", "CREATE SECRET s (TYPE s3)",
                                                  "SELECT * FROM glob('*')")
        assert v.reason == ("execution" if harmless else "unsafe"), (sql, v)
    assert _files(empty_cwd) == []
    assert _files(outside) == ["secret.csv"]


def test_attach_vacuum_into_and_pragmas_are_unsafe_on_sqlite(tasks, validator, empty_cwd, tmp_path):
    task = tasks["sqlite"]
    for sql in ("ATTACH 'evil.db' AS evil", f"VACUUM INTO '{tmp_path}/copy.db'",
                "SELECT * FROM pragma_table_info('customers')", "SELECT load_extension('x')",
                "SELECT name FROM customers WHERE name IN (SELECT name FROM pragma_database_list)"):
        v = validator.check(task, sql)
        assert v.reason == "unsafe" and v.detail.startswith("refused"), (sql, v)
    assert _files(empty_cwd) == []
    assert not (tmp_path / "copy.db").exists()


def test_vacuum_into_is_caught_by_the_authorizer_itself(empty_cwd, tmp_path):
    """Without the keyword pre-check, SQLite's authorizer still refuses it (ATTACH)."""
    from sqlbench.sqlcheck.sandbox import SandboxError, SqliteSandbox

    sb = SqliteSandbox(trusted=True)  # trusted skips the keyword pre-check
    sb.run(["CREATE TABLE t (a)"], time.monotonic() + 1)
    for target in ("copy.db", str(tmp_path / "copy.db")):
        with pytest.raises(SandboxError) as e:
            sb.run([f"VACUUM INTO '{target}'"], time.monotonic() + 1)
        assert e.value.kind == "unsafe"
    with pytest.raises(SandboxError):
        sb.run(["ATTACH 'x.db' AS x"], time.monotonic() + 1)
    assert _files(empty_cwd) == [] and not (tmp_path / "copy.db").exists()


RUNAWAY = [
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r",
    # The filter needs every combination: DuckDB 2 computes MAX(a.id + b.id + ...) over a bare
    # cross product from per-table maxima in milliseconds, so that shape is no runaway there.
    "SELECT COUNT(*) FROM orders a, orders b, orders c, orders d, orders e, orders f, orders g, orders h, "
    "orders i, orders j, orders k, orders l, orders m, orders n "
    "WHERE (a.id + b.id + c.id + d.id + e.id + f.id + g.id + h.id + i.id + j.id + k.id + l.id + m.id + n.id) % 7 = 3",
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT MAX(x) FROM r ORDER BY 1",
]


@pytest.mark.timeout(60)  # guards a hang; the verdict itself says where the run stopped
@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
@pytest.mark.parametrize("sql", RUNAWAY, ids=["recursive", "cross-join", "recursive-sort"])
def test_runaway_queries_stop_at_the_time_limit(engine, sql, tasks, empty_cwd):
    v = Validator(timeout=0.5)
    task = tasks[engine]
    assert v.check(task).valid
    verdict = v.check(task, sql)
    assert verdict.reason == "timeout" and "0.5 s" in verdict.detail
    assert v.check(task, "SELECT name FROM customers").valid  # the validator still works
    assert _files(empty_cwd) == []


@pytest.mark.timeout(60)
def test_an_uninterruptible_duckdb_operation_still_returns_on_time(tasks, empty_cwd):
    """repeat() builds one huge string without checking for interrupts: the caller
    gets its timeout verdict anyway, and the call is ended with its worker process."""
    from sqlbench.sqlcheck import duckworker

    v = Validator(timeout=60)  # the task's first check builds it on DuckDB: not what is tested
    assert v.check(tasks["duckdb"]).valid
    assert v.check(tasks["duckdb"], "SELECT name FROM customers").valid
    # 0.1 s + the 0.5 s grace stays well under what repeat() takes (about 1 s idle, more
    # when loaded). On a loaded machine the deadline can still pass before the statement
    # starts (DuckDB then stops at its first interrupt check, no kill needed): try until a
    # run was under way.
    v.timeout = 0.1
    for _ in range(8):
        workers = duckworker.pool(v.max_memory_mb).pids()
        verdict = v.check(tasks["duckdb"], "SELECT length(repeat('x', 300000000))")
        assert verdict.reason == "timeout" and "0.1 s" in verdict.detail
        gone = [pid for pid in workers if pid not in duckworker.pool(v.max_memory_mb).pids()]
        if gone:
            break
    assert len(gone) == 1  # the worker running it was killed, not left to finish
    v.timeout = 60
    assert v.check(tasks["duckdb"], "SELECT name FROM customers").valid  # the validator still works
    assert _files(empty_cwd) == []


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_results_are_capped_in_rows(engine, tasks):
    v = Validator(timeout=2.0, max_rows=100)
    big = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r"
    verdict = v.check(tasks[engine], big)
    assert verdict.reason == "mismatch" and verdict.detail.startswith("more than 100 rows returned")
    assert len(verdict.got) == 10
    gold_too_big = make_task("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 500) SELECT x FROM r")
    assert v.check(gold_too_big).reason == "gold_error"


def test_memory_is_capped(empty_cwd):
    v = Validator(timeout=5.0)
    task = make_task("SELECT name FROM customers")
    # A string doubling each step: SQLite's length limit stops it long before RAM runs out.
    huge = "WITH RECURSIVE r(s, n) AS (SELECT 'x', 0 UNION ALL SELECT s || s, n + 1 FROM r WHERE n < 40) " \
           "SELECT MAX(LENGTH(s)) FROM r"
    verdict = v.check(task, huge)
    assert verdict.reason == "execution" and "too big" in verdict.detail
    verdict = v.check(task, "SELECT length(replace(hex(zeroblob(10000000)), '0', 'xxxxxxxxxx'))")
    assert verdict.reason == "execution" and "too big" in verdict.detail
    # Many medium rows: the result byte cap stops it.
    v2 = Validator(timeout=5.0, max_bytes=1 << 20)
    wide = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 5000) SELECT zeroblob(10000) FROM r"
    verdict = v2.check(task, wide)
    assert verdict.reason == "execution" and "larger than" in verdict.detail
    # A table filling the database: the page cap stops it.
    fill = ("CREATE TABLE big AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
            "SELECT n, zeroblob(1000000) AS b FROM r")
    verdict = v.check(task, fill)
    assert verdict.reason == "execution" and "full" in verdict.detail
    assert _files(empty_cwd) == []


def test_hostile_context_makes_a_bad_context_not_a_file(empty_cwd, tmp_path):
    v = Validator(timeout=0.5)
    for context in (f"ATTACH '{tmp_path}/ctx.db' AS c; CREATE TABLE t (a)",
                    "CREATE TABLE t (a); INSERT INTO t WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
                    "SELECT COUNT(*) FROM r"):
        verdict = v.check(make_task("SELECT 1", context), "SELECT 1")
        assert verdict.reason == "bad_context", verdict
    assert _files(empty_cwd) == [] and not (tmp_path / "ctx.db").exists()
    # The harmless PRAGMA a dataset context may carry is fine.
    assert v.check(make_task("SELECT name FROM customers", "PRAGMA foreign_keys = ON;\n" + SHOP_CONTEXT)).valid


def test_a_sandbox_kept_open_runs_on_after_a_capped_read_and_a_late_interrupt():
    """The validator keeps read-only databases open across answers: after a read cut at
    max_rows, a read that failed half-way and an interrupt sent as a run ended (what a
    deadline does), the next read runs and sees the same rows, and a write hidden in a
    read is refused. (The sequence that did leave an interrupt in force, hostile
    statements through the validator, is test_sqlcheck_limits' hostile-statement test.)"""
    import sqlite3

    from sqlbench.sqlcheck.sandbox import SqliteSandbox

    conn = sqlite3.connect(":memory:")
    conn.executescript("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3), (4), (5);")
    sb = SqliteSandbox(conn.serialize(), max_rows=2, max_bytes=100, read_only=True)
    try:
        assert sb.run(["SELECT a.x FROM t a, t b"], time.monotonic() + 5).overflow
        # a read that fails half-way, its error kept (as the validator keeps the first one)
        with pytest.raises(Exception, match="larger than") as failed:
            sb.run(["SELECT zeroblob(60) FROM t"], time.monotonic() + 5)
        sb.conn.interrupt()
        assert sb.run(["SELECT count(*) FROM t"], time.monotonic() + 5).rows == [(5,)]
        assert failed.value is not None
        with pytest.raises(Exception, match="refused"):
            sb.run(["WITH s AS (SELECT 1) DELETE FROM t"], time.monotonic() + 5)
        assert sb.run(["SELECT count(*) FROM t"], time.monotonic() + 5).rows == [(5,)]
    finally:
        sb.close()
