"""Format detection and the per-format converters, on small hand-made rows and on the
real Spider / SynSQL samples in ../shared/data (skipped when absent)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sqlbench.data.formats import detect_format, spider_ddl, synsql_schema
from sqlbench.data.loader import load_rows, load_tasks, task_from_row
from sqlbench.errors import DatasetError

SCHEMA = {
    "db_id": "school",
    "table_names_original": ["enrollment", "student", "sqlite_sequence", "course"],
    "column_names_original": [
        [-1, "*"],
        [0, "student_id"], [0, "course_id"], [0, "grade"],
        [1, "id"], [1, "Full Name"], [1, "born"],
        [2, "name"], [2, "seq"],
        [3, "id"], [3, "title"],
    ],
    "column_types": ["text", "number", "number", "number", "number", "text", "time", "text", "text", "number", "text"],
    "primary_keys": [[1, 2], 4, 9],
    "foreign_keys": [[1, 4], [2, 9], [1, 4]],
}


def test_spider_ddl_types_keys_and_reference_order():
    ddl = spider_ddl(SCHEMA)
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA foreign_keys = ON")
    db.executescript(ddl)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
    # referenced tables come first; SQLite's own sqlite_sequence is never created by hand
    assert tables.index("student") < tables.index("enrollment") and tables.index("course") < tables.index("enrollment")
    assert "sqlite_sequence" not in ddl
    cols = {r[1]: (r[2], r[5]) for r in db.execute('PRAGMA table_info("enrollment")')}
    assert cols == {"student_id": ("NUMERIC", 1), "course_id": ("NUMERIC", 2), "grade": ("NUMERIC", 0)}
    student = {r[1]: r[2] for r in db.execute('PRAGMA table_info("student")')}
    assert student == {"id": "NUMERIC", "Full Name": "TEXT", "born": "TEXT"}
    fks = sorted((r[2], r[3], r[4]) for r in db.execute('PRAGMA foreign_key_list("enrollment")'))
    assert fks == [("course", "course_id", "id"), ("student", "student_id", "id")]  # duplicate pair once
    db.execute("INSERT INTO student VALUES (1, 'A', '2000-01-01')")
    db.execute("INSERT INTO course VALUES (7, 'SQL')")
    db.execute("INSERT INTO enrollment VALUES (1, 7, 90)")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO enrollment VALUES (1, 7, 80)")  # composite primary key


def test_spider_task_from_row_with_tables_list():
    row = {"db_id": "school", "question": "How many students?", "query": "SELECT count(*) FROM student"}
    task = task_from_row(row, index=3, tables=[SCHEMA])
    assert task.id == "school-3" and task.metadata == {"db_id": "school"}
    assert 'CREATE TABLE "student"' in task.context and task.gold_sql == row["query"]
    with pytest.raises(DatasetError, match="'nope' is not described"):
        task_from_row({**row, "db_id": "nope"}, tables=[SCHEMA])


PROMPT = (
    "<|im_start|>system\nYou are a helpful SQL expert assistant.\n\nDatabase Schema:\n"
    'CREATE TABLE "a" (\n  "id" INTEGER /* key */,\n  PRIMARY KEY ("id")\n)\n\n'
    'CREATE TABLE "b" (\n  "a_id" INTEGER,\n  CONSTRAINT fk FOREIGN KEY ("a_id") REFERENCES a ("id")\n)\n'
    "External Knowledge:\nnothing\n\nFor example:\nCREATE TABLE decoy (x INT)\n)<|im_end|>\n"
)


def test_synsql_schema_is_the_schema_section_made_executable():
    ddl = synsql_schema([{"role": "user", "content": PROMPT}])
    assert "decoy" not in ddl and ddl.count(";") == 2
    db = sqlite3.connect(":memory:")
    db.executescript(ddl)
    assert sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master")) == ["a", "b"]
    # the same prompt stored as a JSON string (a CSV/JSONL re-export)
    assert synsql_schema(json.dumps([{"role": "system", "content": PROMPT}])) == ddl


def test_synsql_row_with_flat_dotted_gold_column():
    row = {"question": "Count a", "prompt": PROMPT, "reward_model.ground_truth.sql": "SELECT COUNT(*) FROM a",
           "db_id": "d", "cot": "Think.", "external_knowledge": "a is small"}
    task = task_from_row(row, index=2)
    assert task.id == "d-2" and task.gold_sql == "SELECT COUNT(*) FROM a"
    assert task.metadata["reasoning"] == "Think." and task.question.endswith("External knowledge: a is small")


def test_detection_prefers_the_most_specific_format():
    synsql_cols = ["question", "sql", "prompt", "reward_model", "db_id", "cot"]
    assert detect_format(synsql_cols) == ("synsql", "synsql")
    assert detect_format(["sql_prompt", "sql_context", "sql", "reasoning", "completion"]) == ("distilled", "gretel")
    assert detect_format(["db_id", "question", "query"]) == ("spider", "spider")
    assert detect_format(["sql_prompt", "sql_context", "sql"], "distilled") == ("distilled", "gretel")


# ---- real shared samples ---------------------------------------------------------------


def test_every_spider_dev_task_gets_executable_ddl_for_its_db(spider_dev_path):
    tasks = load_tasks(spider_dev_path)  # tables.json found beside it (spider-tables.json)
    rows = json.loads(spider_dev_path.read_text())
    assert len(tasks) == len(rows) == 1034
    built: dict[str, sqlite3.Connection] = {}
    failures = []
    for task, row in zip(tasks, rows):
        db_id = row["db_id"]
        assert task.metadata["db_id"] == db_id and task.gold_sql == row["query"] and task.question == row["question"]
        assert task.context.strip().startswith("CREATE TABLE")
        if db_id not in built:
            built[db_id] = sqlite3.connect(":memory:")
            built[db_id].executescript(task.context)
        try:
            built[db_id].execute(task.gold_sql).fetchall()
        except sqlite3.Error as e:
            failures.append((task.id, str(e)))
    assert len(built) == 20
    assert failures == []  # every gold runs on its schema-only database


def test_spider_explicit_tables_path_and_shuffle(spider_dev_path, tmp_path):
    copy = tmp_path / "questions.json"
    copy.write_text(spider_dev_path.read_text())
    with pytest.raises(DatasetError, match="tables.json"):
        load_tasks(copy)
    tables = spider_dev_path.parent / "spider-tables.json"
    a = load_tasks(copy, tables=tables, shuffle=True, seed=1, limit=5)
    b = load_tasks(spider_dev_path, shuffle=True, seed=1, limit=5)
    assert [(t.id, t.context) for t in a] == [(t.id, t.context) for t in b]


def test_synsql_sample_ddl_extracted_and_gold_present(synsql_path):
    tasks = load_tasks(synsql_path)
    rows = load_rows(synsql_path)
    assert len(tasks) == len(rows) == 1000
    bad = []
    for task, row in zip(tasks, rows):
        assert task.gold_sql == row["reward_model"]["ground_truth"]["sql"] and task.gold_sql.strip()
        assert task.metadata["reasoning"] == row["cot"] and task.metadata["db_id"] == row["db_id"]
        assert task.question.startswith(row["question"])
        assert "External Knowledge" not in task.context and "For example" not in task.context
        db = sqlite3.connect(":memory:")
        try:
            db.executescript(task.context)
            db.execute(task.gold_sql).fetchall()
        except sqlite3.Error as e:
            bad.append((task.id, str(e)))
        n_tables = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        assert n_tables == task.context.count("CREATE TABLE")
    assert bad == []


def test_sqlbench_sample_rows_judge_against_gold_sql_not_the_models_sql(tmp_path):
    # The layout of a distill run's samples.jsonl: `sql` is the teacher's answer.
    from tests.fixtures.datasets import write_jsonl

    rows = [{
        "task_id": "42", "sample_index": 0, "question": "How many a?", "context": "CREATE TABLE a (id INT);",
        "gold_sql": "SELECT COUNT(*) FROM a", "provider": "OpenAI", "model": "m",
        "messages": [], "completion": "<think>count</think><sql>SELECT 1</sql>", "think": "count",
        "sql": "SELECT 1", "valid": False, "reason": "mismatch",
    }]
    (task,) = load_tasks(write_jsonl(tmp_path / "samples.jsonl", rows))
    assert (task.id, task.gold_sql, task.context) == ("42", "SELECT COUNT(*) FROM a", "CREATE TABLE a (id INT);")
    assert task.metadata["reasoning"] == "count" and task.metadata["valid"] is False
    assert task.metadata["reason"] == "mismatch"
    assert detect_format(list(rows[0]), "sqlbench") == ("sqlbench", "sqlbench")
