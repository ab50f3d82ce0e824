"""The validator on real database files: SELECTs read the file in place (read-only,
immutable, never written, never copied), DML/DDL golds run on a capped in-memory copy,
and a missing, foreign or corrupt file is one bad_context line naming it."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from sqlbench.data.loader import load_tasks, task_from_row
from sqlbench.records import Task
from sqlbench.sqlcheck import Validator

# Answers that would change the file if anything let them through.
HOSTILE = [
    "DELETE FROM {t}",
    "DROP TABLE {t}",
    "UPDATE {t} SET rowid = rowid + 1000",
    "CREATE TABLE stolen AS SELECT * FROM {t}",
    "INSERT INTO {t} SELECT * FROM {t}",
    "BEGIN; DELETE FROM {t}; COMMIT",
    "VACUUM",
    "PRAGMA journal_mode=WAL",
    "ATTACH 'elsewhere.db' AS e",
    "CREATE TEMP TABLE scratch AS SELECT * FROM {t}; SELECT count(*) FROM scratch",
]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _first_table(task: Task) -> str:
    with sqlite3.connect(f"file:{task.db_path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name").fetchone()[0]


@pytest.fixture(scope="module")
def db_tasks(spider_dbdir):
    return load_tasks(spider_dbdir.questions, db_dir=spider_dbdir.db_dir)


def test_every_gold_runs_on_its_file_and_verdicts_match_the_context(spider_dbdir, db_tasks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(db_tasks) > 200 and all(t.db_path and not t.db_error for t in db_tasks)
    by_id = {f"q{r['id']}": task_from_row(r) for r in spider_dbdir.rows}
    on_file, on_context = Validator(), Validator()
    writes = 0
    for t in db_tasks:
        assert on_file.check(t).reason == "ok", (t.id, on_file.check(t))
        ctx = by_id[t.id]
        writes += ctx.row["sql_task_type"] in ("data manipulation", "data definition")
        for cand in (t.gold_sql, "SELECT 1 WHERE 0", f"DELETE FROM {_first_table(t)}"):
            a, b = on_file.check(t, cand), on_context.check(ctx, cand)
            assert a.valid == b.valid, (t.id, cand, a, b)
        assert on_file.check(t, t.gold_sql).valid
    assert writes > 30  # DML/DDL golds ran on copies, and were compared by final state
    assert not list(tmp_path.iterdir())  # nothing written in the working directory either


def test_the_files_are_never_written_nor_journaled(spider_dbdir, db_tasks):
    before = _digest(spider_dbdir.db_dir)
    v = Validator(timeout=1)
    for t in db_tasks[::7]:
        v.check(t)
        table = _first_table(t)
        for sql in HOSTILE:
            verdict = v.check(t, sql.format(t=f'"{table}"'))
            assert not (verdict.valid and "DELETE" in sql and t.gold_sql.upper().startswith("SELECT")), verdict
    after = _digest(spider_dbdir.db_dir)
    assert after == before  # same files, same bytes: no -journal, -wal or -shm appeared
    assert all(p.suffix == ".sqlite" for p in spider_dbdir.db_dir.rglob("*") if p.is_file())


def test_a_select_on_the_file_is_not_copied_and_a_write_is_refused(spider_dbdir, db_tasks):
    select = next(t for t in db_tasks if t.gold_sql.upper().startswith("SELECT"))
    v = Validator(max_copy_bytes=1)  # no copy possible at all: a SELECT must not need one
    assert v.check(select).reason == "ok"
    assert v.check(select, select.gold_sql).valid
    table = _first_table(select)
    refused = v.check(select, f'DELETE FROM "{table}"; SELECT 1')
    # refused by the sandbox's reads-only authorizer (or, behind it, the read-only file itself)
    assert not refused.valid and refused.reason in ("unsafe", "execution"), refused
    assert "readonly" in refused.detail or "not authorized" in refused.detail or "refused" in refused.detail


def test_a_dml_gold_above_the_copy_cap_is_bad_context_naming_the_cap(db_tasks):
    dml = next(t for t in db_tasks if t.gold_sql.upper().startswith(("UPDATE", "DELETE", "INSERT")))
    size = Path(dml.db_path).stat().st_size
    capped = Validator(max_copy_bytes=size // 2).check(dml, dml.gold_sql)
    assert capped.reason == "bad_context" and not capped.valid
    assert dml.db_path in capped.detail and "cap" in capped.detail and "KiB" in capped.detail
    assert Validator(max_copy_bytes=size * 4).check(dml, dml.gold_sql).valid


def test_gold_results_are_cached_per_database_and_gold(db_tasks, tmp_path):
    t = next(t for t in db_tasks if t.gold_sql.upper().startswith("SELECT"))
    v = Validator()
    v.check(t)
    # the same database and gold under another id and prompt: the cached gold is reused
    twin = Task("other", "another wording", "", t.gold_sql, db_path=t.db_path)
    assert v._file_gold(twin) is v._file_gold(t)
    # a copy of the file is another database
    copy = tmp_path / "copy.sqlite"
    shutil.copy(t.db_path, copy)
    moved = Task("moved", "", "", t.gold_sql, db_path=str(copy))
    assert v._file_gold(moved) is not v._file_gold(t) and v.check(moved, t.gold_sql).valid


def test_missing_foreign_and_corrupt_files_are_one_line_bad_context(spider_dbdir, tmp_path):
    good = next(spider_dbdir.db_dir.glob("*/*.sqlite"))
    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("these are not the pages you are looking for\n" * 200)
    truncated = tmp_path / "half.sqlite"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    v = Validator()
    cases = {
        str(tmp_path / "absent.sqlite"): "no such",
        str(not_sqlite): "not a SQLite database",
        str(truncated): "corrupt",
    }
    for path, words in cases.items():
        verdict = v.check(Task("x", "q", "", "SELECT count(*) FROM sqlite_schema", db_path=path), "SELECT 1")
        assert verdict.reason == "bad_context", verdict
        assert path in verdict.detail and words in verdict.detail and "\n" not in verdict.detail
    # a row the loader could not place keeps its reason
    lost = Task("y", "q", "", "SELECT 1", db_error="no database file for db_id 'zoo': tried a, b")
    assert v.check(lost, "SELECT 1").detail == lost.db_error


def test_a_locked_file_is_still_read(db_tasks):
    """Immutable means no locking: a writer holding the file locked does not stall or
    fail the judge (it assumes the file does not change while a run reads it)."""
    t = next(t for t in db_tasks if t.gold_sql.upper().startswith("SELECT"))
    holder = sqlite3.connect(t.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert Validator().check(t, t.gold_sql).valid
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_timeouts_and_row_caps_apply_on_files(db_tasks):
    t = next(t for t in db_tasks if t.gold_sql.upper().startswith("SELECT"))
    v = Validator(timeout=0.3, max_rows=5)
    slow = v.check(t, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
    assert slow.reason == "timeout"
    many = v.check(t, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c")
    assert many.reason == "mismatch" and "more than 5 rows" in many.detail
    assert v.check(t, "SELECT readfile('/etc/passwd')").reason == "unsafe"
