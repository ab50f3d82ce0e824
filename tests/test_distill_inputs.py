"""No input task is dropped without a word: repeated ids are all asked (keyed
`<id>#2`, …) and a torn last line is named, on stderr and as an `input_warning` event."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

from sqlbench.config import Secrets
from sqlbench.distill import run_distill
from sqlbench.distill.inputs import check_inputs, torn_last_line
from sqlbench.records import Task
from sqlbench.runs import RunDir
from tests.fixtures.teacher import shop_rows
from tests.test_distill_cli import _cmd, _env
from tests.test_distill_pipeline import settings_for


def _write(path, rows, tail: str = ""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")
    return path


def _dup_rows():
    rows = shop_rows(6)
    rows[3]["id"] = rows[1]["id"]  # t001 three times, with different questions
    rows[5]["id"] = rows[1]["id"]
    return rows


def test_duplicate_ids_are_all_asked_under_distinct_keys(loopback_teacher, tmp_path, capfd):
    from sqlbench.data.loader import load_tasks

    src = _write(tmp_path / "dups.jsonl", _dup_rows())
    loopback_teacher.learn(load_tasks(src))
    run = RunDir(run_distill(settings_for(loopback_teacher, src, tmp_path, limit=6), Secrets(),
                             run_dir=tmp_path / "run", progress=False))
    samples = run.read("samples")
    assert Counter(s["task_id"] for s in samples) == Counter(
        {"t000": 1, "t001": 1, "t002": 1, "t001#2": 1, "t004": 1, "t001#3": 1})
    assert loopback_teacher.count() == 6  # every task asked once, none dropped
    by_id = {s["task_id"]: s for s in samples}
    assert by_id["t001#2"]["question"] == shop_rows(6)[3]["sql_prompt"] and by_id["t001#2"]["valid"] is True
    warning = [e for e in run.read("events") if e["type"] == "input_warning"]
    assert len(warning) == 1
    assert warning[0]["duplicate_ids"] == {"t001": 3} and warning[0]["duplicates"] == 2
    assert warning[0]["duplicate_id_count"] == 1
    assert warning[0]["renamed"] == {"t001#2": "t001", "t001#3": "t001"}
    err = capfd.readouterr().err
    assert "warning: 1 task id(s) repeat in the input ('t001' x3)" in err
    rows = [json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(by_id)

    # a resume keys them the same way: nothing asked again
    run_distill(settings_for(loopback_teacher, src, tmp_path, limit=6), Secrets(), run_dir=run.path, progress=False)
    assert loopback_teacher.count() == 6 and len(run.read("samples")) == 6


def test_a_key_taken_by_another_task_is_skipped():
    t = lambda i, q: Task(id=i, question=q, context="", gold_sql="SELECT 1")  # noqa: E731
    tasks, report = check_inputs([t("a", "1"), t("a#2", "2"), t("a", "3")], None)
    assert [x.id for x in tasks] == ["a", "a#2", "a#3"] and report.renamed == {"a#3": "a"}


def test_a_torn_last_line_is_named_on_stderr_and_in_the_events(loopback_teacher, tmp_path):
    from sqlbench.data.loader import load_tasks

    rows = shop_rows(5)
    src = _write(tmp_path / "torn.jsonl", rows[:4], tail=json.dumps(rows[4])[:40])
    assert torn_last_line(src) == 5
    loopback_teacher.learn(load_tasks(src))
    run_dir = tmp_path / "run"
    r = subprocess.run(_cmd(loopback_teacher, src, run_dir, "--limit", "10"), cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"warning: {src}:5: the last line is incomplete (not JSON) and was skipped" in r.stderr
    run = RunDir(run_dir)
    assert len(run.read("samples")) == 4
    warning = [e for e in run.read("events") if e["type"] == "input_warning"]
    assert len(warning) == 1 and warning[0]["torn_last_line"] == {"path": str(src), "line": 5}
    assert warning[0]["duplicate_ids"] == {}


def test_complete_inputs_give_no_warning(tmp_path):
    good = _write(tmp_path / "good.jsonl", shop_rows(3))
    no_newline = tmp_path / "no-newline.jsonl"
    no_newline.write_text(good.read_text().rstrip("\n"))  # a whole last line without its newline is read
    assert torn_last_line(good) is None and torn_last_line(no_newline) is None
