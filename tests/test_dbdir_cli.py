"""--db-dir end to end on real rows: `sqlbench validate`, `sqlbench distill` against the
loopback teacher, `sqlbench eval` with the tiny student (and its three EX rules), and the
GRPO execution reward; bad databases cost one line and the run goes on."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sqlbench.cli import main
from sqlbench.data.loader import load_tasks
from sqlbench.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_") and k not in ("API_KEY", "HF_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _questions_with_bad_rows(spider_dbdir, tmp_path, n=12) -> Path:
    """n real questions plus one whose database is missing and one whose file is not SQLite."""
    rows = json.loads(spider_dbdir.questions.read_text())[:n]
    rows.append({"id": "lost", "db_id": "zoo", "question": "How many animals?", "query": "SELECT count(*) FROM animals"})
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database\n" * 300)
    rows.append({"id": "junk", "db_id": "junk", "question": "Anything?", "query": "SELECT 1", "db_path": str(junk)})
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(rows))
    return path


def test_validate_with_db_dir_judges_real_rows_and_goes_on_past_bad_databases(spider_dbdir, tmp_path, capsys):
    src = _questions_with_bad_rows(spider_dbdir, tmp_path)
    out = tmp_path / "verdicts.jsonl"
    assert main(["validate", str(src), "--db-dir", str(spider_dbdir.db_dir), "-o", str(out), "--workers", "1"]) == 0
    lines = _lines(out)
    assert len(lines) == 14
    by_id = {line["id"]: line["verdict"] for line in lines}
    assert all(by_id[r["id"]]["reason"] == "ok" for r in json.loads(src.read_text())[:12])
    assert by_id["lost"]["reason"] == "bad_context" and "'zoo'" in by_id["lost"]["detail"] \
        and "zoo.sqlite" in by_id["lost"]["detail"] and "zoo.db" in by_id["lost"]["detail"]
    assert by_id["junk"]["reason"] == "bad_context" and "junk.sqlite: not a SQLite database" in by_id["junk"]["detail"]
    err = capsys.readouterr().err
    # one line per bad database, naming it, then the summary
    assert sum("zoo" in line for line in err.splitlines()) == 1
    assert sum("junk.sqlite" in line for line in err.splitlines()) == 1
    assert "validated 14 rows: 12 valid" in err and "Traceback" not in err


def test_validate_judges_answers_on_the_file_and_the_copy_cap_comes_from_config(spider_dbdir, tmp_path):
    rows = []
    for r in spider_dbdir.rows:
        if r["sql_task_type"] == "data manipulation" and r["sql"].upper().startswith("UPDATE"):
            rows.append({"id": f"q{r['id']}", "db_id": r["domain"], "question": r["sql_prompt"], "query": r["sql"],
                         "candidate_sql": r["sql"]})
            break
    first = spider_dbdir.rows[0]
    rows.append({"id": "sel", "db_id": first["domain"], "question": first["sql_prompt"], "query": first["sql"],
                 "candidate_sql": "SELECT 1 WHERE 0"})
    src = tmp_path / "cands.json"
    src.write_text(json.dumps(rows))
    cmd = [sys.executable, "-m", "sqlbench", "validate", str(src), "--db-dir", str(spider_dbdir.db_dir)]
    ok = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    verdicts = [line["verdict"] for line in map(json.loads, ok.stdout.splitlines())]
    assert verdicts[0]["reason"] == "ok" and verdicts[1]["reason"] == "mismatch"
    capped = subprocess.run(cmd, cwd=tmp_path, env=_env(SQLBENCH_VALIDATE__MAX_COPY_MB="0.001"),
                            capture_output=True, text=True, timeout=120)
    verdicts = [line["verdict"] for line in map(json.loads, capped.stdout.splitlines())]
    assert verdicts[0]["reason"] == "bad_context" and "1.0 KiB cap" in verdicts[0]["detail"] \
        and "validate.max_copy_mb" in verdicts[0]["detail"]
    assert verdicts[1]["reason"] == "mismatch"  # a SELECT never needs the copy
    # the config key works as well as the flag
    via_env = subprocess.run(cmd[:-2], cwd=tmp_path, env=_env(SQLBENCH_VALIDATE__DB_DIR=str(spider_dbdir.db_dir)),
                             capture_output=True, text=True, timeout=120)
    assert via_env.returncode == 0 and via_env.stdout.count('"reason": "ok"') == 1


def test_bird_without_db_dir_is_a_one_line_exit_2(spider_dbdir, tmp_path):
    rows = [{"question_id": 1, "db_id": "retail", "question": "q", "evidence": "", "SQL": "SELECT 1",
             "difficulty": "simple"}]
    src = tmp_path / "bird.json"
    src.write_text(json.dumps(rows))
    r = subprocess.run([sys.executable, "-m", "sqlbench", "validate", str(src)], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--db-dir" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    ok = subprocess.run([sys.executable, "-m", "sqlbench", "validate", str(src), "--db-dir", str(spider_dbdir.db_dir)],
                        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["verdict"]["reason"] == "ok"


def test_distill_with_db_dir_prompts_the_files_schema_and_validates_on_it(spider_dbdir, loopback_teacher, tmp_path):
    src = _questions_with_bad_rows(spider_dbdir, tmp_path, n=10)
    tasks = load_tasks(src, db_dir=spider_dbdir.db_dir)
    loopback_teacher.learn(tasks)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "sqlbench", "distill", "--provider", "OpenAI", "--model", "loopback-teacher",
           "--base-url", loopback_teacher.base_url, "--dataset-repo-id", str(src), "--db-dir",
           str(spider_dbdir.db_dir), "--run-dir", str(run_dir), "--limit", "12"]
    r = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sum("zoo" in line for line in r.stderr.splitlines()) == 1
    samples = {s["task_id"]: s for s in RunDir(run_dir).read("samples")}
    assert len(samples) == 12
    for t in tasks[:10]:
        s = samples[t.id]
        assert s["valid"] and s["reason"] == "ok", s
        assert s["db_path"] == t.db_path
        user = s["messages"][-1]["content"]
        assert "CREATE TABLE" in user and "INSERT INTO" in user  # the schema and samples came from the file
    assert samples["lost"]["reason"] == "bad_context" and "zoo" in samples["lost"]["verdict"]["detail"]
    assert samples["junk"]["reason"] == "bad_context"
    assert RunDir(run_dir).status == "finished"


def test_eval_with_db_dir_reports_the_three_ex_rules(spider_dbdir, tiny_model_dir, tmp_path):
    env = _env(SQLBENCH_RUNS_DIR=str(tmp_path / "runs"))
    # the cold student (built in seconds): this checks the wiring and the fields, not the model
    r = subprocess.run([sys.executable, "-m", "sqlbench", "eval", "--model", str(tiny_model_dir),
                        "--dataset-repo-id", str(spider_dbdir.questions), "--db-dir", str(spider_dbdir.db_dir),
                        "--limit", "3", "--max-new-tokens", "32", "--match", "bird", "--run-dir", str(tmp_path / "ev")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "EX bird" in r.stdout
    result = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert result["n"] == 3 and result["match"] == "bird"
    for key in ("execution_accuracy", "ex_spider", "ex_bird"):
        assert 0.0 <= result[key] <= 1.0
    answers = RunDir(tmp_path / "ev").read("answers")
    assert result["ex_bird"] == pytest.approx(sum(a["ex_bird"] for a in answers) / 3, abs=1e-4)
    assert all(a["reason"] != "bad_context" for a in answers)


def test_the_three_rules_from_real_executions(tmp_path):
    """judge() fills ex_spider/ex_bird from the gold's and the answer's own rows."""
    from sqlbench.evaluation.accuracy import format_table, judge, summarize
    from sqlbench.prompts import format_answer
    from sqlbench.records import Task
    from sqlbench.sqlcheck import Validator

    db = tmp_path / "people.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE p (name TEXT, city TEXT); "
                       "INSERT INTO p VALUES ('a', 'Oslo'), ('b', 'Oslo'), ('c', 'Rome');")
    conn.commit()
    conn.close()
    v = Validator()
    cities = Task("cities", "Cities of people", "", "SELECT city FROM p", db_path=str(db))
    pairs = Task("pairs", "Names and cities", "", "SELECT name, city FROM p ORDER BY name", db_path=str(db))
    cases = [
        (cities, "SELECT city FROM p", (True, True, True)),
        (cities, "SELECT DISTINCT city FROM p", (False, False, True)),  # BIRD accepts dropped duplicates
        (pairs, "SELECT city, name FROM p ORDER BY name", (True, True, False)),  # BIRD rejects the reordered list
        (pairs, "SELECT name, city FROM p ORDER BY name DESC", (False, False, True)),  # BIRD ignores ORDER BY
        (cities, "SELECT nope FROM p", (False, False, False)),
    ]
    rows = []
    for task, sql, expected in cases:
        rec = judge(task, format_answer("why", sql), v)
        assert (rec["valid"], rec["ex_spider"], rec["ex_bird"]) == expected, (sql, rec)
        rows.append(rec)
    s = summarize(rows)
    assert (s["execution_accuracy"], s["ex_spider"], s["ex_bird"]) == (0.4, 0.4, 0.6)
    assert "60.0%" in format_table({**s, "match": "bird"}).splitlines()[1]
    assert "40.0%" in format_table(s, "spider").splitlines()[1]
    assert format_table(s).splitlines()[-1] == "verdicts: mismatch 2, ok 2, execution 1"


def test_grpo_rows_carry_the_database_and_the_reward_runs_on_it(spider_dbdir):
    from sqlbench.prompts import format_answer
    from sqlbench.training.rewards import execution_reward
    from sqlbench.training.data import grpo_rows

    tasks = load_tasks(spider_dbdir.questions, db_dir=spider_dbdir.db_dir, limit=4)
    rows = grpo_rows(tasks)
    assert all(r["db_path"] == t.db_path for r, t in zip(rows, tasks))
    columns = {k: [r[k] for r in rows] for k in ("gold_sql", "context", "task_id", "db_path")}
    good = [format_answer("ok", t.gold_sql) for t in tasks]
    assert execution_reward(good, **columns) == [1.0] * 4
    # the reward counts the file's rows, not the 3 sample rows the prompt shows
    retail = next(t for t in tasks if t.db_path.endswith("retail.sqlite"))
    assert "INSERT INTO \"orders\" VALUES" in retail.context
    count = {"gold_sql": ["SELECT count(*) FROM orders"], "context": [retail.context], "task_id": ["count"]}
    three = [format_answer("the sample shows three", "SELECT 3")]
    assert execution_reward(three, **count, db_path=[retail.db_path]) == [0.1]
    assert execution_reward(three, **count) == [1.0]  # judged on the prompt's context alone it would pass


def test_rejected_revalidates_a_db_sample_on_its_file(spider_dbdir):
    from screens.rejected import revalidate

    t = next(t for t in load_tasks(spider_dbdir.questions, db_dir=spider_dbdir.db_dir)
             if t.db_path.endswith("retail.sqlite"))
    rec = {"task_id": t.id, "question": t.question, "context": t.context, "db_path": t.db_path,
           "gold_sql": "SELECT count(*) FROM orders", "completion": "<think>three rows shown</think><sql>SELECT 3</sql>"}
    assert revalidate(rec)["reason"] == "mismatch"  # the file has more than the 3 sample rows
    assert revalidate({**rec, "db_path": ""})["reason"] == "ok"


def test_train_with_db_dir_runs_grpo_on_the_files_and_leaves_out_rows_without_one(spider_dbdir, tiny_model_dir,
                                                                                   tmp_path):
    from sqlbench.config import Secrets
    from sqlbench.training.job import run_train
    from tests.fixtures.tiny_model import small_train_settings

    src = _questions_with_bad_rows(spider_dbdir, tmp_path, n=10)
    settings = small_train_settings(tmp_path, model=str(tiny_model_dir), max_steps=1, limit=None,
                                    dataset_repo_id=str(src), db_dir=str(spider_dbdir.db_dir))
    lines: list[str] = []
    run = RunDir(run_train(settings, Secrets(), run_dir=tmp_path / "run", log=lines.append))
    assert run.status == "finished"
    assert sum("zoo" in line and "left out of training" in line for line in lines) == 1
    assert sum("junk.sqlite" in line for line in lines) == 1
    prompts = [r["prompt"] for r in run.read("completions")]
    # no tables.json here: the schema can only have come from the files (fitted to 256 tokens, the
    # sample rows are the first thing dropped)
    assert prompts and all("CREATE TABLE" in p for p in prompts)
    held = [m for m in run.read("metrics") if "eval/execution_accuracy" in m]
    assert held  # the held-out check judged answers on the files too
