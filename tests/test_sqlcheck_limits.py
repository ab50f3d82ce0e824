"""The limits every path that runs model-written SQL holds (validator, rewards, chat):
input size and NUL bytes, time inside one engine call, memory, bounded sqlglot work,
DuckDB's own statement split. Hostile SQL runs in an empty working directory that must
stay empty. No test reads a clock: pytest-timeout only guards against a hang (before
these fixes the printf and instr cases took 12 s and more per call)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sqlbench.sqlcheck import Validator, parses, referenced_names, split_statements
from sqlbench.sqlcheck.dialect import PARSE_MAX_CHARS, has_top_level_order_by, rewrites
from sqlbench.sqlcheck.sandbox import (
    MAX_SQL_BYTES,
    DuckSandbox,
    SandboxError,
    SqliteSandbox,
    duck_statements,
    sqlite_file_uri,
)
from tests.fixtures.sqlcheck import make_task

DUCK_GOLD = "SELECT name FROM customers WHERE DATE '2024-01-01' - INTERVAL 1 YEAR < DATE '2024-01-01'"
# One SQLite call that no progress handler or interrupt reaches: memcmp at every offset.
INSTR_BOMB = "SELECT instr(zeroblob(500000) || x'00', zeroblob(250000) || x'01')"
PRINTF_BOMB = "SELECT printf('%.*c', 2147483647, 'x')"


def _files(path):
    return sorted(p.name for p in path.rglob("*"))


@pytest.fixture
def tasks():
    return {"sqlite": make_task("SELECT name FROM customers"), "duckdb": make_task(DUCK_GOLD)}


# ---- input ------------------------------------------------------------------------
def test_a_nul_byte_is_a_syntax_verdict_not_a_crash(validator, tasks, empty_cwd):
    assert split_statements("SELECT 1\x00; SELECT 2") == ["SELECT 1\x00", "SELECT 2"]
    assert has_top_level_order_by("SELECT 1\x00; SELECT 2 ORDER BY 1")  # no ValueError
    for engine in ("sqlite", "duckdb"):
        task = tasks[engine]
        for answer in ("SELECT name FROM customers\x00;", "<think>x</think><sql>SELECT 1\x00; SELECT 2</sql>"):
            v = validator.check(task, answer)
            assert (v.reason, v.detail) == ("syntax", "the SQL contains a NUL character"), (engine, v)
    from sqlbench.training.rewards import execution_reward, schema_reward, syntax_reward

    completions = ["<think>x</think><sql>SELECT name FROM customers\x00; SELECT 2</sql>"]
    kw = {"gold_sql": ["SELECT name FROM customers"], "context": [tasks["sqlite"].context], "task_id": ["nul"]}
    assert execution_reward(completions, **kw) == [0.0]
    assert len(syntax_reward(completions, **kw)) == len(schema_reward(completions, **kw)) == 1
    assert _files(empty_cwd) == []


def test_validate_writes_every_verdict_when_a_row_has_a_nul(tmp_path, capsys):
    from sqlbench.cli import main
    from tests.fixtures.datasets import GRETEL_ROWS, write_jsonl

    rows = [dict(r) for r in GRETEL_ROWS]
    rows[0]["candidate_sql"] = rows[0]["sql"] + "\x00;"
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "verdicts.jsonl"
    assert main(["validate", str(src), "--output", str(out), "--workers", "1"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(rows)
    assert lines[0]["verdict"]["reason"] == "syntax"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_sql_over_the_size_cap_is_refused_with_the_cap_named(engine, tasks, empty_cwd):
    v = Validator(timeout=1.0)
    task = tasks[engine]
    # 1 MB of MySQL habits: sqlglot rewrites of it used to run 30 s and reach 1.16 GB
    huge = "SELECT name FROM customers WHERE " + " OR ".join(f"name ILIKE 'x{i}%'" for i in range(60_000))
    verdict = v.check(task, huge)
    assert verdict.reason == "unsafe" and f"{MAX_SQL_BYTES:,}-byte limit" in verdict.detail
    deep = "SELECT " + "(" * 100_000 + "1" + ")" * 100_000
    assert v.check(task, deep).reason == "unsafe"
    just_under = "SELECT name FROM customers WHERE " + " " * (MAX_SQL_BYTES - 60) + "1 = 1"
    assert v.check(task, just_under).valid
    # bytes, not characters: 60,000 two-byte characters are 120,000 bytes
    assert v.check(task, "SELECT '" + "é" * 60_000 + "'").reason == "unsafe"
    assert _files(empty_cwd) == []


# ---- time ------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_printf_cannot_repeat_a_character_two_billion_times(validator, tasks, empty_cwd):
    """SQLite 3.40 appends the character n times inside one VM step (~12 s each)."""
    v = validator.check(tasks["sqlite"], ", ".join([PRINTF_BOMB] + [PRINTF_BOMB[7:]] * 2))
    assert v.reason == "mismatch" and v.got == [[None, None, None]]  # NULL: text over the length limit
    sb = SqliteSandbox()
    legit = ("SELECT printf('%.*c', 3, 'x'), printf('%5.2f|%-4d|%s|%*d', 3.14159, 7, 'a', 3, 5), "
             "format('%q', 'it''s'), printf('%!.3c%%', 'y'), printf('%.*c', '4', 'z'), printf(NULL), printf()")
    got = sb.run([legit], time.monotonic() + 5).rows
    assert got == sqlite3.connect(":memory:").execute(legit).fetchall()  # SQLite's own answers
    assert got[0][:4] == ("xxx", " 3.14|7   |a|  5", "it''s", "yyy%")
    assert sb.run([PRINTF_BOMB.replace("SELECT", "SELECT 1,")], time.monotonic() + 5).rows == [(1, None)]
    sb.close()
    assert _files(empty_cwd) == []


@pytest.mark.timeout(60)
def test_one_sqlite_call_that_ignores_interrupts_still_gets_its_verdict(tasks, empty_cwd):
    v = Validator(timeout=0.5)
    assert v.check(tasks["sqlite"]).valid
    verdict = v.check(tasks["sqlite"], INSTR_BOMB)
    assert verdict.reason == "timeout" and "0.5 s" in verdict.detail
    # the same inside a view the final-state comparison reads
    verdict = v.check(tasks["sqlite"], "CREATE VIEW v AS " + INSTR_BOMB)
    assert verdict.reason in ("timeout", "mismatch"), verdict
    assert v.check(tasks["sqlite"], "SELECT name FROM customers").valid
    assert _files(empty_cwd) == []


@pytest.mark.timeout(60)
def test_a_check_runs_its_statements_on_its_own_guarded_thread(tasks):
    """One hand-off per check: the sandbox's statements run on the thread the check's
    deadline guards (a second hand-off cost as much as a small query and guarded nothing
    more), and DuckDB's go to its worker as before."""
    from sqlbench.sqlcheck import sandbox

    checks, statements = [], []
    run, check = SqliteSandbox._run, Validator._check

    def recording_run(self, stmts):
        statements.append(threading.current_thread())
        return run(self, stmts)

    def recording_check(self, *args):
        checks.append(threading.current_thread())
        return check(self, *args)

    v = Validator(timeout=30)
    SqliteSandbox._run, Validator._check = recording_run, recording_check
    try:
        assert v.check(tasks["sqlite"], "SELECT name FROM customers").valid
        assert v.check(tasks["sqlite"], "SELECT name FROM customers WHERE 0").reason == "mismatch"
    finally:
        SqliteSandbox._run, Validator._check = run, check
    assert len(checks) == 2 and threading.main_thread() not in checks  # the check itself is guarded
    assert statements and set(statements) <= set(checks), (statements, checks)
    # called outside a guarded call (chat's own sandbox), a run still hands off to a guard of its own
    got = []
    sandbox.call_by_deadline(lambda: got.append(threading.current_thread()), time.monotonic() + 30, lambda: None)
    assert got[0] is not threading.main_thread()


@pytest.mark.timeout(60)
def test_many_checks_take_one_hand_off_and_give_what_each_check_gives(tasks):
    answers = ["SELECT name FROM customers", "SELECT name FROM customers WHERE 0", "SELEC name",
               "<think>x</think>", "SELECT nope FROM customers", None]
    items = [(tasks[engine], a) for engine in ("sqlite", "duckdb") for a in answers]
    one_by_one = [Validator(timeout=30).check(t, a).to_dict() for t, a in items]
    threads, statements = [], []
    check, run = Validator._check, SqliteSandbox._run

    def recording_check(self, *args):
        threads.append(threading.current_thread())
        return check(self, *args)

    def recording_run(self, stmts):
        statements.append(threading.current_thread())
        return run(self, stmts)

    Validator._check, SqliteSandbox._run = recording_check, recording_run
    try:
        together = [v.to_dict() for v in Validator(timeout=30).check_many(items)]
    finally:
        Validator._check, SqliteSandbox._run = check, run
    assert together == one_by_one
    assert {v["reason"] for v in together} >= {"ok", "mismatch", "syntax", "format", "execution"}
    assert len(threads) == len(items) and len(set(threads)) == 1 and threading.main_thread() not in threads
    assert statements and set(statements) == set(threads)  # run inline: each check's deadline guards them
    assert Validator().check_many([]) == []


@pytest.mark.timeout(60)
def test_a_check_that_runs_over_in_a_batch_is_a_timeout_and_the_rest_are_judged(tasks, empty_cwd):
    v = Validator(timeout=0.5)
    good = "SELECT name FROM customers"
    verdicts = v.check_many([(tasks["sqlite"], good), (tasks["sqlite"], INSTR_BOMB), (tasks["sqlite"], good),
                             (tasks["sqlite"], "SELECT name FROM customers WHERE 0")])
    assert [x.reason for x in verdicts] == ["ok", "timeout", "ok", "mismatch"]
    assert "0.5 s" in verdicts[1].detail and verdicts[1].sql == INSTR_BOMB
    assert _files(empty_cwd) == []


@pytest.mark.timeout(60)
def test_a_batch_gives_up_on_a_call_that_never_ends_and_runs_the_rest_elsewhere():
    from sqlbench.sqlcheck.sandbox import call_each_by_deadline

    release, threads = threading.Event(), []

    def call(i):
        def run(start):
            threads.append(threading.current_thread())
            if i == 1:
                release.wait(120)  # an engine call that no interrupt reaches
            return i
        return run

    try:
        got = call_each_by_deadline([call(i) for i in range(3)], 0.1)
        assert not release.is_set()  # answered while call 1 still runs
    finally:
        release.set()
    assert got == [(True, 0), (False, None), (True, 2)]
    assert threads[0] is threads[1] and threads[2] is not threads[1]


@pytest.mark.timeout(60)
def test_an_interrupted_caller_stops_its_batch():
    import signal

    from sqlbench.sqlcheck import sandbox

    class Interrupted(Exception):
        pass

    def interrupt(*_):
        raise Interrupted

    running, release, ran, jobs = threading.Event(), threading.Event(), [], []

    def call(i):
        def run(start):
            ran.append(i)
            if i == 0:
                jobs.append(sandbox._here.job)
                running.set()
                release.wait(60)
            return i
        return run

    def poke():
        running.wait(60)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)

    old = signal.signal(signal.SIGUSR1, interrupt)
    try:
        threading.Thread(target=poke, daemon=True).start()
        with pytest.raises(Interrupted):
            sandbox.call_each_by_deadline([call(i) for i in range(3)], 30)
    finally:
        signal.signal(signal.SIGUSR1, old)
        release.set()
    assert jobs[0].done.wait(60)
    assert ran == [0]  # the caller is gone: calls 1 and 2 never ran


@pytest.mark.timeout(60)
def test_a_forked_child_judges_on_runners_of_its_own():
    from sqlbench.sqlcheck import sandbox

    assert sandbox.call_by_deadline(lambda: 1, time.monotonic() + 30, lambda: None) == (True, 1)
    assert sandbox._idle  # the parent keeps an idle runner, whose thread the child will not have
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once
        try:
            got = [sandbox.call_each_by_deadline([lambda start: 2], 30),
                   sandbox.call_by_deadline(lambda: 3, time.monotonic() + 30, lambda: None)]
            os.write(write, json.dumps(got).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        got = json.loads(f.read())
    os.waitpid(pid, 0)
    assert got == [[[True, 2]], [True, 3]]


def test_a_batch_call_that_raises_raises_and_the_calls_after_it_do_not_run():
    from sqlbench.sqlcheck.sandbox import call_each_by_deadline

    ran = []

    def call(i):
        def run(start):
            ran.append(i)
            if i == 1:
                raise ValueError("a bug in call 1")
            return (i, start)
        return run

    with pytest.raises(ValueError, match="call 1"):
        call_each_by_deadline([call(i) for i in range(3)], 30)
    assert ran == [0, 1]
    got = call_each_by_deadline([call(0), call(2)], 30)
    assert [ok for ok, _ in got] == [True, True] and [v[0] for _, v in got] == [0, 2]
    assert got[0][1][1] <= got[1][1][1]  # each call is given the time it started


@pytest.mark.timeout(60)
def test_a_statement_run_inline_is_interrupted_at_its_own_deadline():
    """Inline, a statement still gets its interrupt at its deadline (the watchdog calls
    it, as the hand-off's waiter did): within a check, and in a gold's preparation that
    goes on after the check has given up, to the preparation's own deadline."""
    from sqlbench.sqlcheck.sandbox import call_by_deadline

    interrupted = {"in time": threading.Event(), "after the check": threading.Event()}

    def statement(name: str, deadline: float):
        def run():
            return interrupted[name].wait(60)  # an engine call that only an interrupt ends
        return call_by_deadline(run, deadline, interrupted[name].set)

    now = time.monotonic()
    done, value = call_by_deadline(lambda: statement("in time", now + 0.2), now + 0.6, lambda: None)
    assert interrupted["in time"].is_set()
    assert not done or value == (True, True)

    now = time.monotonic()
    done, value = call_by_deadline(lambda: statement("after the check", now + 0.6), now + 0.2, lambda: None)
    assert interrupted["after the check"].wait(60)  # by the watchdog: nobody waits for it any more


def test_the_watchdog_never_interrupts_a_call_that_has_ended():
    """A reader's interrupt, once its run is over, must not reach the next check's run."""
    from sqlbench.sqlcheck.sandbox import _Watchdog

    dog, calls, later = _Watchdog(), [], threading.Event()
    key = dog.watch(time.monotonic() + 0.05, lambda: calls.append("ended call"))
    dog.unwatch(key)
    dog.watch(time.monotonic() + 0.1, later.set)
    assert later.wait(60)  # deadlines are served in order: the first one's time has passed too
    assert calls == []


@pytest.mark.timeout(60)
def test_sqlglot_sees_only_short_shallow_text_and_stops_at_the_deadline(tasks):
    deep = "SELECT " + "(" * 40_000 + "1" + ")" * 40_000  # under the size cap
    assert not parses(deep)
    assert referenced_names(deep) == (set(), set())
    assert rewrites(deep, "sqlite") == []
    for engine in ("sqlite", "duckdb"):  # the engines' own parsers refuse it (DuckDB's may need the limit)
        assert Validator(timeout=1.0).check(tasks[engine], deep).reason in ("syntax", "execution", "timeout")

    short = "SELECT name FROM customers WHERE name ILIKE 'a%'"
    assert rewrites(short, "sqlite")  # MySQL/PostgreSQL ILIKE, rewritten for SQLite
    assert rewrites(short, "sqlite", deadline=time.monotonic() - 1) == []  # no time left: no sqlglot
    long = "SELECT name FROM customers WHERE " + " OR ".join(f"name ILIKE 'x{i}%'" for i in range(2_000))
    assert len(long) > PARSE_MAX_CHARS
    assert rewrites(long, "sqlite") == [] and not parses(long) and referenced_names(long) == (set(), set())
    # SQLite has no ILIKE and sqlglot never sees text this long: the answer is judged on DuckDB,
    # which runs ILIKE itself (no x… names: a mismatch, never an error of the bound). A
    # generous limit: the check includes building the context on DuckDB, on a loaded machine.
    verdict = Validator(timeout=120.0).check(tasks["sqlite"], long)
    assert verdict.reason == "mismatch", verdict


# ---- memory ----------------------------------------------------------------------
def test_the_memory_cap_reaches_both_engines():
    from sqlbench.config import Settings

    assert Settings().validate_.max_memory_mb == 1024
    v = Validator(max_memory_mb=256)
    sb = v._sqlite()
    sb.conn.set_authorizer(None)  # PRAGMAs are refused to SQL; the test reads them directly
    assert sb.conn.execute("PRAGMA max_page_count").fetchone() == (256 * 1024 * 1024 // 8 // 4096,)
    (heap,) = sb.conn.execute("PRAGMA hard_heap_limit").fetchone()
    assert 0 < heap  # process-wide: the largest cap any validator asked for
    sb.close()
    duck = v._duck()
    assert duck.conn.query("SELECT current_setting('memory_limit'), current_setting('threads')") \
        == [("128.0 MiB", 1)]  # DuckDB's own limit: half; the worker process is capped at the whole
    limits = Path(f"/proc/{duck.conn.worker.pid}/limits").read_text()
    assert re.search(r"Max address space\s+268435456\s+268435456", limits), limits
    duck.close()
    state = Validator(max_memory_mb=256).__getstate__()
    assert state["max_memory_mb"] == 256


def test_one_value_cannot_grow_past_the_length_limit(validator, tasks):
    for sql in ("SELECT length(randomblob(1000000000))", "SELECT length(zeroblob(2000000))",
                "SELECT length(replace(hex(zeroblob(400000)), '0', 'xx'))"):
        v = validator.check(tasks["sqlite"], sql)
        assert v.reason == "execution" and "too big" in v.detail, (sql, v)


# ---- DuckDB: its own split, one statement at a time ----------------------------------
@pytest.mark.timeout(60)
def test_a_statement_hidden_from_sqlites_splitter_cannot_commit_into_the_template(tasks, empty_cwd):
    v = Validator(timeout=2.0)
    task = tasks["duckdb"]
    assert v.check(task).detail == "gold executes (duckdb)"
    hostile = "SELECT $$'$$ AS a; COMMIT; DELETE FROM customers; SELECT 'x'"
    assert len(split_statements(hostile)) == 1  # one statement to SQLite's tokenizer...
    assert len(duck_statements(hostile)) == 4  # ...four to DuckDB's
    verdict = v.check(task, hostile)
    assert verdict.reason == "unsafe" and "transaction" in verdict.detail
    # the cached template still holds every row: the right answer is still right
    assert v.check(task, "SELECT name FROM customers").valid
    # a write hidden the same way is seen, and its final state compared
    sneaky = "SELECT $$'$$ AS a; DELETE FROM customers WHERE id = 3; SELECT name FROM customers"
    assert v.check(task, sneaky).reason == "mismatch"
    delete_gold = make_task("DELETE FROM customers WHERE id = 3 AND DATE '2024-01-01' - INTERVAL 1 YEAR < DATE '2024-01-01'")
    assert v.check(delete_gold).detail == "gold executes (duckdb)"
    assert v.check(delete_gold, "SELECT $$'$$ AS a; DELETE FROM customers WHERE id = 3; SELECT 1").valid
    assert v.check(delete_gold, "SELECT $$'$$ AS a; DELETE FROM customers WHERE id = 2; SELECT 1").reason == "mismatch"
    assert v.check(task, "SELECT name FROM customers").valid
    assert _files(empty_cwd) == []


def test_duckdb_refuses_by_statement_kind_whatever_the_text_looks_like():
    sb = DuckSandbox()
    for sql in ("/* x */ SET threads = 4", "(SELECT 1); CALL pragma_version()", "SELECT 1; ATTACH ':memory:' AS m"):
        with pytest.raises(SandboxError) as e:
            sb.run([sql], time.monotonic() + 5)
        assert e.value.kind == "unsafe", sql
    sb.close()


# ---- the schema read after a run that ended at its limit ------------------------------
def test_reading_the_schema_after_the_deadline_is_not_an_exception():
    sb = SqliteSandbox()
    sb.run(["CREATE TABLE t%d (a)" % i for i in range(300)], time.monotonic() + 30)
    schema = sb.schema()  # 300 rows: reading them takes more VM steps than one progress check
    sb.run(["CREATE TABLE late (a)"], time.monotonic() + 30)
    sb.deadline = time.monotonic() - 1  # as after a run that ended right at the limit
    assert sb.changed_since(schema) is True  # no sqlite3.OperationalError('interrupted')
    sb.close()


def test_a_run_ending_at_the_limit_still_gets_a_verdict(monkeypatch, tasks):
    real_run = SqliteSandbox.run

    def run_then_expire(self, statements, deadline):
        result = real_run(self, statements, deadline)
        self.deadline = time.monotonic() - 1
        return result

    monkeypatch.setattr(SqliteSandbox, "run", run_then_expire)
    v = Validator(timeout=1.0)
    context = "".join(f"CREATE TABLE t{i} (a);\n" for i in range(300)) + tasks["sqlite"].context
    task = make_task("SELECT name FROM customers", context)
    assert v.check(task, "SELECT name FROM customers").valid
    assert v.check(task, "INSERT INTO t1 VALUES (1)").reason == "mismatch"


# ---- chat: the same sandbox ---------------------------------------------------------
def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_chat_queries_hold_the_same_limits(backend, request, empty_cwd):
    from sqlbench.inference.dbconn import connect

    target = request.getfixturevalue({"sqlite": "cycling_sqlite", "duckdb": "cycling_duckdb"}[backend])
    before, listing = _digest(target), _files(target.parent)
    with connect(str(target), timeout=0.5) as db:
        big = db.execute("SELECT * FROM riders WHERE name = '" + "x" * MAX_SQL_BYTES + "'")
        assert big.refused and f"{MAX_SQL_BYTES:,}-byte limit" in big.error
        assert not db.execute("SELECT 1\x00").ok
        # 40,000 nested parentheses, under the size cap: no sqlglot parse (it took 7 s); the
        # engine's own parser refuses it (or, on a loaded machine, the time limit stops it)
        assert not db.execute("SELECT " + "(" * 40_000 + "1" + ")" * 40_000).ok
        stuck = INSTR_BOMB if backend == "sqlite" else "SELECT length(repeat('x', 300000000))"
        r = db.execute(stuck)
        assert not r.ok and r.error.startswith("timeout:"), r.error
        assert db.execute("SELECT count(*) FROM riders").rows == [(5,)]  # usable after an abandoned run
        if backend == "sqlite":
            r = db.execute("SELECT length(randomblob(1000000000))")  # was 1.9 GB of RSS
            assert not r.ok and "too big" in r.error
            assert db.execute(PRINTF_BOMB).rows == [(None,)]
            r = db.execute("DELETE FROM riders", guard=False)
            assert r.refused and r.error.startswith("refused:")
    assert _digest(target) == before and _files(target.parent) == listing
    assert _files(empty_cwd) == []


def test_a_wal_mode_database_gets_no_files_beside_it(tmp_path):
    from sqlbench.inference.dbconn import connect

    path = tmp_path / "wal.sqlite"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    conn.executescript("CREATE TABLE t (a); INSERT INTO t VALUES (1), (2);")
    conn.close()  # the last connection checkpoints and removes -wal/-shm
    assert _files(tmp_path) == ["wal.sqlite"]
    before = _digest(path)
    assert "immutable=1" in sqlite_file_uri(path)
    with connect(str(path)) as db:
        assert db.execute("SELECT sum(a) FROM t").rows == [(3,)]
        assert "CREATE TABLE t" in db.schema_text()
        assert _files(tmp_path) == ["wal.sqlite"]
    assert _files(tmp_path) == ["wal.sqlite"] and _digest(path) == before


def test_a_wal_file_already_there_is_read_not_ignored(tmp_path):
    """Committed rows may live only in an existing -wal: then the file is opened plainly
    read-only (immutable would miss them)."""
    from sqlbench.inference.dbconn import connect

    path = tmp_path / "live.sqlite"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executescript("CREATE TABLE t (a); INSERT INTO t VALUES (1), (2), (3);")
    assert (tmp_path / "live.sqlite-wal").exists()
    assert "immutable=1" not in sqlite_file_uri(path)
    with connect(str(path)) as db:
        assert db.execute("SELECT count(*) FROM t").rows == [(3,)]
    writer.close()


# ---- memory, measured: hostile statements in a child process ------------------------
CAP_MB = 256  # validate.max_memory_mb's smallest value: every blow-up below asks for GBs
# (statement, verdict reasons it may get): each asks DuckDB for gigabytes its memory_limit
# does not cover (before: repeat 3.9 GB of RSS, range 7 GB), or runs past the limit.
DUCK_HOSTILE = [
    ("SELECT repeat('x', 2000000000)", {"execution"}),
    ("SELECT length(repeat('x', 2e9::BIGINT))", {"execution"}),
    ("SELECT len(range(100000000))", {"execution"}),
    ("SELECT len(range(10000000000))", {"execution"}),
    ("SELECT length(string_agg('xxxxxxxxxx', '')) FROM range(100000000)", {"execution", "timeout"}),
    ("SELECT sum(len(range(i))) FROM range(30000) t(i)", {"execution", "timeout"}),
    ("SELECT len(list_resize([1], 1000000000))", {"execution", "timeout"}),
    ("SELECT length(lpad('x', 2000000000, 'y'))", {"execution", "timeout"}),
    # 1e12 rows: DuckDB counts 1e10 in about a second on one thread, at the edge of the limit
    ("SELECT count(*) FROM range(1000000000000)", {"timeout"}),
]
SQLITE_HOSTILE = [
    ("SELECT length(randomblob(1000000000))", {"execution"}),
    ("SELECT zeroblob(2000000000)", {"execution"}),
    ("SELECT printf('%.*c', 2147483647, 'x'), printf('%.*c', 2147483647, 'y')", {"mismatch"}),
    ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 5000) SELECT zeroblob(1000000) FROM r",
     {"execution"}),
    ("WITH RECURSIVE r(x) AS (SELECT zeroblob(900000) UNION ALL SELECT x FROM r LIMIT 100000) "
     "SELECT count(*) FROM (SELECT x FROM r ORDER BY random())", {"execution", "timeout"}),
    ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 2000) "
     "SELECT length(group_concat(zeroblob(100000))) FROM r", {"execution"}),
    ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r", {"timeout"}),
]
_CHILD = r'''
import json, resource, sys, time
from sqlbench.training import rewards
from sqlbench.inference.dbconn import connect
from sqlbench.sqlcheck import Validator, duckworker
from tests.fixtures.sqlcheck import make_task

cap, duck_gold, duck_hostile, sqlite_hostile, duck_file, sqlite_file = json.loads(sys.argv[1])
out = {"validator": {}, "reward": {}, "chat": {}}
tasks = {"duckdb": make_task(duck_gold), "sqlite": make_task("SELECT name FROM customers")}
v = Validator(timeout=60, max_memory_mb=cap)  # warm: the tasks' first checks build them
for task in tasks.values():
    assert v.check(task, task.gold_sql).valid
rewards.set_validator(v)
chats = {"duckdb": connect(duck_file, timeout=1.0, max_memory_mb=cap),
         "sqlite": connect(sqlite_file, timeout=1.0, max_memory_mb=cap)}
for db in chats.values():
    assert db.execute("SELECT count(*) FROM riders").rows == [(5,)]
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
v.timeout = 1.0
for engine, hostile in (("duckdb", duck_hostile), ("sqlite", sqlite_hostile)):
    task = tasks[engine]
    for sql, _ in hostile:
        verdict = v.check(task, sql)
        out["validator"][sql] = [verdict.reason, verdict.detail]
        out["reward"][sql] = rewards.execution_reward(
            ["<think>x</think><sql>" + sql + "</sql>"], gold_sql=[task.gold_sql], context=[task.context],
            task_id=[engine])[0]
        r = chats[engine].execute(sql)
        out["chat"][sql] = r.error
    assert v.check(task, task.gold_sql).valid  # still judging
for db in chats.values():
    assert db.execute("SELECT count(*) FROM riders").rows == [(5,)]  # still answering
    db.close()
duckworker.shutdown()  # every worker ended and waited for: RUSAGE_CHILDREN covers them
out["parent_growth_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
out["workers_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps(out))
'''


@pytest.mark.timeout(600)
def test_hostile_statements_stay_under_the_memory_cap_on_every_path(cycling_sqlite, cycling_duckdb, tmp_path):
    """The validator, the execution reward and chat, in a child process whose peak RSS
    (and its DuckDB workers') is measured: every hostile statement gets its verdict and
    none makes a process grow past validate.max_memory_mb."""
    import os
    import subprocess
    import sys

    args = json.dumps([CAP_MB, DUCK_GOLD, DUCK_HOSTILE, SQLITE_HOSTILE, str(cycling_duckdb), str(cycling_sqlite)],
                      default=sorted)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", _CHILD, args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=540)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for sql, allowed in DUCK_HOSTILE + SQLITE_HOSTILE:
        reason, detail = out["validator"][sql]
        assert reason in allowed, (sql, reason, detail)
        if reason == "timeout":  # stopped by the deadline, whatever the call was doing
            assert detail.startswith("stopped at the 1 s time limit"), (sql, detail)
        if reason == "execution" and sql in dict(DUCK_HOSTILE) and "range(1" not in sql:
            assert "Out of Memory" in detail or "memory" in detail.lower(), (sql, detail)
        # the reward judges again, in its own time: a statement at the edge of the limit can
        # end differently there on a loaded machine, but hostile SQL never earns more than
        # "runs", and a blow-up never even that
        assert out["reward"][sql] in (0.0, 0.1), sql
        if reason == "execution":
            assert out["reward"][sql] == 0.0, sql
    for sql, allowed in DUCK_HOSTILE + SQLITE_HOSTILE:
        error = out["chat"][sql]
        if "printf" in sql:
            assert error is None  # NULL: text over the length limit
        else:
            assert error, sql
    assert out["parent_growth_kb"] < CAP_MB * 1024, out["parent_growth_kb"]
    assert out["workers_kb"] < CAP_MB * 1024, out["workers_kb"]


# ---- one deadline for the whole check ------------------------------------------------
def test_a_task_whose_first_preparation_runs_over_gets_a_timeout_and_is_prepared_once(monkeypatch, tasks):
    """The first check of a task builds it (context, test databases, gold run, rewrites):
    when that runs past the check's deadline, the verdict is a timeout, and the
    preparation goes on to serve the next checks. Slowness is a gate the test holds."""
    gate = threading.Event()
    calls = []
    real = Validator._prepare_gold

    def slow_prepare(self, task):
        calls.append(task.id)
        assert gate.wait(120)
        return real(self, task)

    monkeypatch.setattr(Validator, "_prepare_gold", slow_prepare)
    v = Validator(timeout=0.2)
    verdict = v.check(tasks["sqlite"], "SELECT name FROM customers")
    assert (verdict.reason, verdict.detail) == \
        ("timeout", "stopped at the 0.2 s time limit (preparing the task: its database and gold query)")
    assert verdict.sql == "SELECT name FROM customers"
    assert v.check(tasks["sqlite"]).reason == "timeout"  # the gold's own check: the same rule
    gate.set()
    v.timeout = 60
    assert v.check(tasks["sqlite"], "SELECT name FROM customers").valid
    assert calls == ["t"]  # prepared once, by the first check, for all three


def test_an_answer_whose_rewrites_run_over_gets_a_timeout(monkeypatch, tasks):
    from sqlbench.sqlcheck import verdict as verdict_module

    gate = threading.Event()

    def stuck_rewrites(*args, **kwargs):
        assert gate.wait(120)
        return []

    v = Validator(timeout=60)
    assert v.check(tasks["sqlite"]).valid
    monkeypatch.setattr(verdict_module, "rewrites", stuck_rewrites)
    v.timeout = 0.2
    try:
        verdict = v.check(tasks["sqlite"], "SELECT name FROM customers WHERE name ILIKE 'a%'")
    finally:
        gate.set()
    assert (verdict.reason, verdict.detail) == ("timeout", "stopped at the 0.2 s time limit (running the answer)")
