"""`sqlbench validate INPUT [--output] [--timeout] [--workers]`: the contract of its
output lines, summary and exit codes."""

from collections import Counter
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sqlbench.cli import main
from tests.fixtures.datasets import GRETEL_ROWS, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _rows_with_candidates() -> list[dict]:
    rows = []
    for i, row in enumerate(GRETEL_ROWS):
        r = dict(row)
        if i == 0:
            r["completion"] = f"<think>Filter on the city.</think>\n<sql>{row['sql']}</sql>"
        elif i == 1:
            r["completion"] = f"<sql>{row['sql']}</sql>"  # no reasoning: format
        elif i == 2:
            r["candidate_sql"] = "SELECT o.id FROM orders o"  # one column short: mismatch
        elif i == 3:
            r["candidate_sql"] = "INSERT INTO customers VALUES (4, 'Di', 'Rome')"
        rows.append(r)  # the last row has neither: its gold is checked
    return rows


def test_judges_completions_candidates_and_golds(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", _rows_with_candidates())
    out = tmp_path / "out" / "verdicts.jsonl"
    assert main(["validate", str(src), "--output", str(out), "--timeout", "1", "--workers", "1"]) == 0
    lines = _lines(out.read_text())
    assert [line["id"] for line in lines] == [r["id"] for r in GRETEL_ROWS]
    reasons = [line["verdict"]["reason"] for line in lines]
    assert reasons == ["ok", "format", "mismatch", "ok", "ok"]
    first = lines[0]
    assert first["sql_prompt"] == GRETEL_ROWS[0]["sql_prompt"]  # the input row is carried through
    assert set(first["verdict"]) == {"valid", "reason", "detail", "sql"}
    assert first["verdict"]["sql"] == GRETEL_ROWS[0]["sql"]
    assert lines[1]["verdict"]["sql"] == GRETEL_ROWS[1]["sql"]  # extracted despite the format failure
    assert lines[2]["verdict"]["expected"] and lines[2]["verdict"]["got"]
    err = capsys.readouterr().err
    assert "validated 5 rows: 3 valid" in err and "mismatch 1" in err and "rows/s" in err


def test_test_databases_flag_judges_contexts_with_rows_on_generated_databases_too(tmp_path, capsys):
    context = "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER);\nINSERT INTO t VALUES (1, 2), (2, 9), (3, 12);"
    rows = [dict(GRETEL_ROWS[0], id=f"r{i}", sql_context=context, sql="SELECT id FROM t WHERE x > 5", candidate_sql=sql)
            for i, sql in enumerate(["SELECT id FROM t WHERE x >= 5",  # the same rows here: no row has x = 5
                                     "SELECT id FROM t WHERE 5 < x"])]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(["validate", str(src), "--workers", "1"]) == 0
    assert [line["verdict"]["reason"] for line in _lines(capsys.readouterr().out)] == ["ok", "ok"]
    assert main(["validate", str(src), "--workers", "1", "--test-databases"]) == 0
    verdicts = [line["verdict"] for line in _lines(capsys.readouterr().out)]
    assert [v["reason"] for v in verdicts] == ["mismatch", "ok"]
    assert "test database" in verdicts[0]["detail"]


def test_empty_answer_columns_are_judged_not_skipped(tmp_path, capsys):
    rows = [dict(GRETEL_ROWS[0], completion=""), dict(GRETEL_ROWS[1], completion=None),
            dict(GRETEL_ROWS[2], candidate_sql="")]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(["validate", str(src), "--workers", "1"]) == 0
    reasons = [line["verdict"]["reason"] for line in _lines(capsys.readouterr().out)]
    assert reasons == ["format", "format", "syntax"]


def test_stdout_and_limit(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", GRETEL_ROWS)
    assert main(["validate", str(src), "--limit", "2"]) == 0
    captured = capsys.readouterr()
    lines = _lines(captured.out)
    assert [line["verdict"]["reason"] for line in lines] == ["ok", "ok"]
    assert "validated 2 rows" in captured.err


def test_workers_keep_input_order(tmp_path):
    rows = []
    for i in range(60):
        base = dict(GRETEL_ROWS[i % 3])
        base["id"] = f"row-{i}"
        base["candidate_sql"] = base["sql"] if i % 2 == 0 else "SELECT 1 FROM customers"
        rows.append(base)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert main(["validate", str(src), "-o", str(out), "--workers", "2"]) == 0
    lines = _lines(out.read_text())
    assert [line["id"] for line in lines] == [f"row-{i}" for i in range(60)]
    assert [line["verdict"]["valid"] for line in lines] == [i % 2 == 0 for i in range(60)]


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"foo": 1}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "sqlbench", "validate", str(bad)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sqlbench validate: error:") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sqlbench", "validate", str(tmp_path / "missing.jsonl")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "missing.jsonl" in proc.stderr


def test_bad_flag_value_names_the_flag(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", GRETEL_ROWS)
    assert main(["validate", str(src), "--timeout", "0"]) == 2
    assert "--timeout" in capsys.readouterr().err


def test_subprocess_on_the_shared_spider_sample(spider_dev_path, tmp_path):
    out = tmp_path / "spider.jsonl"
    proc = subprocess.run([sys.executable, "-m", "sqlbench", "validate", str(spider_dev_path), "--limit", "40",
                           "--format", "spider", "-o", str(out)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = _lines(out.read_text())
    # Spider's contexts are schema-only: each gold is judged on generated test databases, and a
    # gold that selects nothing on any of them cannot tell answers apart (unverified), never wrong.
    reasons = Counter(line["verdict"]["reason"] for line in lines)
    assert len(lines) == 40 and set(reasons) <= {"ok", "unverified"} and reasons["ok"] >= 30, reasons
    assert all(line["verdict"]["valid"] == (line["verdict"]["reason"] == "ok") for line in lines)
    assert f"validated 40 rows: {reasons['ok']} valid" in proc.stderr
    if reasons["unverified"]:
        assert f"{reasons['unverified']} unverified" in proc.stderr


def _long_input(tmp_path, n: int) -> Path:
    rows = [dict(GRETEL_ROWS[i % len(GRETEL_ROWS)], id=f"r{i}") for i in range(n)]
    return write_jsonl(tmp_path / "long.jsonl", rows)


@pytest.mark.parametrize("n, shown", [(250, True), (20, False)])
def test_progress_bar_on_long_inputs_only(tmp_path, n, shown):
    import os

    src = _long_input(tmp_path, n)
    env = dict(os.environ, TTY_COMPATIBLE="1")  # rich draws as if stderr were a terminal
    proc = subprocess.run([sys.executable, "-m", "sqlbench", "validate", str(src), "--workers", "1",
                           "-o", str(tmp_path / "out.jsonl")], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert ("validating" in proc.stderr) == shown
    assert f"validated {n} rows" in proc.stderr
