"""sqlbench eval: greedy answers judged by the validator, eval.json + answers.jsonl."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sqlbench.config import Secrets, Settings
from sqlbench.evaluation.accuracy import summarize
from sqlbench.runs import RunDir


def test_summary_breaks_down_by_complexity_and_task_type():
    rows = [
        {"valid": True, "well_formed": True, "reason": "ok", "sql_complexity": "basic SQL", "sql_task_type": "data retrieval"},
        {"valid": False, "well_formed": True, "reason": "mismatch", "sql_complexity": "basic SQL", "sql_task_type": "data retrieval"},
        {"valid": False, "well_formed": False, "reason": "format", "sql_complexity": "aggregation", "sql_task_type": None},
        {"valid": True, "well_formed": False, "reason": "ok", "sql_complexity": "aggregation", "sql_task_type": "data retrieval"},
    ]
    s = summarize(rows)
    assert s["n"] == 4 and s["execution_accuracy"] == 0.5 and s["format_rate"] == 0.5
    assert s["by_sql_complexity"]["basic SQL"] == {"n": 2, "execution_accuracy": 0.5, "ex_spider": 0.0,
                                                    "ex_bird": 0.0, "format_rate": 1.0}
    assert s["by_sql_complexity"]["aggregation"]["execution_accuracy"] == 0.5
    assert s["by_sql_task_type"]["unknown"]["n"] == 1 and s["by_sql_task_type"]["data retrieval"]["n"] == 3
    assert s["reasons"] == {"format": 1, "mismatch": 1, "ok": 2}


def test_eval_judges_answers_on_real_tasks(warm_tiny_model_dir, tmp_path):
    from sqlbench.evaluation.accuracy import run_eval

    settings = Settings.model_validate({"runs_dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / "c"),
                                        "eval": {"model": str(warm_tiny_model_dir), "limit": 6,
                                                 "max_new_tokens": 96, "batch_size": 3}})
    path = run_eval(settings, Secrets(), run_dir=tmp_path / "ev")
    result = json.loads((path / "eval.json").read_text())
    assert result["n"] == 6 and result["dataset"] == "bundled" and result["model"] == str(warm_tiny_model_dir)
    for key in ("execution_accuracy", "format_rate", "by_sql_complexity", "by_sql_task_type"):
        assert key in result
    assert sum(g["n"] for g in result["by_sql_complexity"].values()) == 6
    answers = RunDir(path).read("answers")
    assert len(answers) == 6
    assert result["execution_accuracy"] == pytest.approx(sum(a["valid"] for a in answers) / 6, abs=1e-4)
    assert result["format_rate"] == pytest.approx(sum(a["well_formed"] for a in answers) / 6, abs=1e-4)
    assert result["format_rate"] > 0  # the warm model mostly answers in the format
    for a in answers:
        assert a["reason"] in ("ok", "format", "syntax", "execution", "timeout", "mismatch", "unsafe")
        assert a["valid"] == (a["reason"] == "ok")
    assert RunDir(path).status == "finished" and RunDir(path).kind == "eval"


def test_gold_answers_score_full_marks(bundled_tasks):
    """The judge itself: gold SQL in the answer format is judged correct on every task."""
    from sqlbench.evaluation.accuracy import judge
    from sqlbench.prompts import format_answer

    tasks = bundled_tasks[:25]
    rows = [judge(t, format_answer(t.explanation or "because", t.gold_sql)) for t in tasks]
    assert summarize(rows)["execution_accuracy"] == 1.0
    wrong = judge(tasks[0], format_answer("x", "SELECT 1 WHERE 0"))
    assert not wrong["valid"] and wrong["reason"] == "mismatch"
    assert judge(tasks[0], "no idea")["reason"] == "format"


def test_eval_cli_prints_table(warm_tiny_model_dir, tmp_path):
    env = dict(os.environ, SQLBENCH_RUNS_DIR=str(tmp_path / "runs"))
    r = subprocess.run([sys.executable, "-m", "sqlbench", "eval", "--model", str(warm_tiny_model_dir), "--limit", "3",
                        "--max-new-tokens", "48", "--run-dir", str(tmp_path / "ev")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "exec acc" in r.stdout and "complexity:" in r.stdout
    assert (tmp_path / "ev" / "eval.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "sqlbench", "eval", "--model", str(tmp_path / "nothing")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no such model folder" in bad.stderr and "Traceback" not in bad.stderr
