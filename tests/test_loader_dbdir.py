"""The loader with database files: --db-dir (Spider/BIRD layout), a row's own db_path,
the bird format, and a prompt schema read from the database itself."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from sqlbench.data.loader import load_tasks
from sqlbench.errors import DatasetError
from sqlbench.prompts import build_messages, fit_task
from sqlbench.sqlcheck import Validator


def _write(path, rows):
    path.write_text(json.dumps(rows))
    return path


def test_spider_rows_need_no_tables_json_with_a_db_dir(spider_dbdir):
    tasks = load_tasks(spider_dbdir.questions, db_dir=spider_dbdir.db_dir, limit=5)
    t = tasks[0]
    assert t.db_path.endswith(f"{t.metadata['db_id']}.sqlite") and not t.db_error
    # the prompt's schema is the file's own DDL plus at most 3 sample rows per table
    assert "CREATE TABLE" in t.context and "INSERT INTO" in t.context
    for line in t.context.splitlines():
        if line.startswith("INSERT"):
            assert line.count("), (") <= 2
    assert t.context in build_messages(t)[1]["content"]
    with pytest.raises(DatasetError, match="tables.json"):
        load_tasks(spider_dbdir.questions)  # without --db-dir the schema must come from tables.json


def test_a_long_schema_is_fitted_sample_rows_first(spider_dbdir):
    t = load_tasks(spider_dbdir.questions, db_dir=spider_dbdir.db_dir, limit=1)[0]
    full = len(t.context)
    fitted = fit_task(t, lambda msgs: len(msgs[1]["content"]), len(t.question) + full - 1)
    assert "INSERT" not in fitted.context and "CREATE TABLE" in fitted.context
    assert fitted.db_path == t.db_path  # the validator still gets the file


def test_missing_database_names_db_id_and_paths_and_the_rest_load(spider_dbdir, tmp_path):
    rows = json.loads(spider_dbdir.questions.read_text())[:3]
    rows.append({"id": "lost", "db_id": "zoo", "question": "How many animals?", "query": "SELECT count(*) FROM animals"})
    tasks = load_tasks(_write(tmp_path / "q.json", rows), db_dir=spider_dbdir.db_dir)
    assert [bool(t.db_error) for t in tasks] == [False, False, False, True]
    err = tasks[-1].db_error
    assert "'zoo'" in err and str(spider_dbdir.db_dir / "zoo" / "zoo.sqlite") in err \
        and str(spider_dbdir.db_dir / "zoo" / "zoo.db") in err and "\n" not in err
    v = Validator()
    assert v.check(tasks[-1], "SELECT 1").reason == "bad_context"
    assert v.check(tasks[0]).valid


def test_db_suffix_and_a_rows_own_db_path(spider_dbdir, tmp_path):
    src = next(spider_dbdir.db_dir.glob("retail/*.sqlite"))
    (tmp_path / "dbs" / "shop").mkdir(parents=True)
    shutil.copy(src, tmp_path / "dbs" / "shop" / "shop.db")
    shutil.copy(src, tmp_path / "beside.sqlite")
    rows = [
        {"id": "a", "db_id": "shop", "question": "q", "query": "SELECT count(*) FROM orders"},
        {"id": "b", "db_id": "shop", "question": "q", "query": "SELECT count(*) FROM orders", "db_path": "beside.sqlite"},
        {"id": "c", "db_id": "shop", "question": "q", "query": "SELECT 1", "db_path": "nowhere/x.sqlite"},
    ]
    tasks = load_tasks(_write(tmp_path / "q.json", rows), db_dir=tmp_path / "dbs")
    assert tasks[0].db_path.endswith("shop.db")
    assert tasks[1].db_path == str((tmp_path / "beside.sqlite").resolve())  # relative to the dataset file
    assert "nowhere/x.sqlite" in tasks[2].db_error and str(tmp_path / "nowhere" / "x.sqlite") in tasks[2].db_error
    # a db_path column alone is enough (no --db-dir)
    alone = load_tasks(_write(tmp_path / "own.json", rows[1:2]))
    assert alone[0].db_path and Validator().check(alone[0]).valid


def test_a_db_dir_that_is_not_a_folder_is_one_line(spider_dbdir, tmp_path):
    with pytest.raises(DatasetError, match=r"--db-dir .*no such folder"):
        load_tasks(spider_dbdir.questions, db_dir=tmp_path / "missing")


def test_an_unreadable_database_is_one_line_and_its_rows_stay(tmp_path):
    (tmp_path / "dbs" / "junk").mkdir(parents=True)
    (tmp_path / "dbs" / "junk" / "junk.sqlite").write_bytes(b"PK\x03\x04 a zip, not a database" * 100)
    rows = [{"id": "j", "db_id": "junk", "question": "q", "query": "SELECT 1"}]
    (t,) = load_tasks(_write(tmp_path / "q.json", rows), db_dir=tmp_path / "dbs")
    assert "junk.sqlite: not a SQLite database" in t.db_error
    assert Validator().check(t, "SELECT 1").detail == t.db_error


def test_sample_values_are_short_single_line_and_split_safe(tmp_path):
    (tmp_path / "dbs" / "notes").mkdir(parents=True)
    conn = sqlite3.connect(tmp_path / "dbs" / "notes" / "notes.sqlite")
    conn.executescript("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, raw BLOB);")
    conn.execute("INSERT INTO notes VALUES (1, ?, ?)", ("line one;\nDROP TABLE notes; it's " + "x" * 500, b"\x00" * 100))
    conn.commit()
    conn.close()
    rows = [{"id": "n", "db_id": "notes", "question": "q", "query": "SELECT count(*) FROM notes"}]
    (t,) = load_tasks(_write(tmp_path / "q.json", rows), db_dir=tmp_path / "dbs")
    insert = [s for s in t.context.splitlines() if s.startswith("INSERT")][0]
    assert insert.count(";") == 1 and "it''s" in insert and len(insert) < 200
    sqlite3.connect(":memory:").executescript(t.context)  # the sample is valid SQL


# ---- the bird format ------------------------------------------------------------------

def _bird_rows(spider_dbdir, n=6):
    out = []
    for r in json.loads(spider_dbdir.questions.read_text())[:n]:
        out.append({"question_id": r["id"], "db_id": r["db_id"], "question": r["question"],
                    "evidence": "gold tier refers to loyalty_tier = 'gold'", "SQL": r["query"],
                    "difficulty": "simple"})
    return out


def test_bird_rows_load_with_evidence_and_validate(spider_dbdir, tmp_path):
    path = _write(tmp_path / "dev.json", _bird_rows(spider_dbdir))
    tasks = load_tasks(path, db_dir=spider_dbdir.db_dir)
    t = tasks[0]
    assert t.question.endswith("External knowledge: gold tier refers to loyalty_tier = 'gold'")
    assert t.metadata["difficulty"] == "simple" and t.metadata["db_id"] == t.row["db_id"]
    assert "External knowledge:" in build_messages(t)[1]["content"]
    assert t.id == t.row["question_id"] and t.db_path and "CREATE TABLE" in t.context
    v = Validator()
    assert all(v.check(x).valid for x in tasks)
    assert load_tasks(path, db_dir=spider_dbdir.db_dir, fmt="bird")[0].gold_sql == t.gold_sql


def test_bird_without_databases_is_one_line(spider_dbdir, tmp_path):
    path = _write(tmp_path / "dev.json", _bird_rows(spider_dbdir, 2))
    with pytest.raises(DatasetError) as err:
        load_tasks(path)
    assert "--db-dir" in str(err.value) and "\n" not in str(err.value)
