"""The workbench's engine-facing helpers: following run directories, the runs list,
job command lines, the config file editor, curves and the rejected filter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screens.config import check_settings, parse_value, set_env_values, set_yaml_values
from screens.timefmt import fmt_eta
from sqlbench.runs.follow import RunFollower, read_sample
from sqlbench.runs.jobs import resume_argv, stop
from sqlbench.runs.outcome import sample_outcome
from sqlbench.runs.pause import is_paused, set_paused
from sqlbench.runs.summary import summarize
from screens.rejected import export_samples, matches, rejected_samples
from screens.widgets.curve import Series, downsample, render_chart
from sqlbench.runs import RunDir
from tests.fixtures.tui import FINISHED_DISTILL, INTERRUPTED_DISTILL, TRAIN


def test_follower_counts_everything_but_hands_over_a_window(tui_runs):
    f = RunFollower(tui_runs / FINISHED_DISTILL, window=5)
    upd = f.poll()
    assert [seq for seq, _ in upd.samples] == [7, 8, 9, 10, 11]
    assert upd.dropped_samples == 7
    assert f.counts() == {"done": 12, "valid": 5, "unverified": 0, "failed": 1, "unjudged": 0, "invalid": 6,
                          "invalid_by_reason": {"mismatch": 2, "syntax": 1, "execution": 1, "format": 1, "unsafe": 1}}
    assert f.progress["done"] == 12 and f.progress["total"] == 12
    assert not f.poll()  # nothing new


def test_follower_reads_only_new_complete_lines(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {})
    f = RunFollower(run.path)
    assert not f.poll().samples
    run.append("samples", {"task_id": "a", "valid": True, "verdict": {"valid": True, "reason": "ok"}})
    with open(run.stream_path("samples"), "a") as fh:
        fh.write('{"task_id": "b", "val')  # a writer caught mid-line
    upd = f.poll()
    assert [r["task_id"] for _, r in upd.samples] == ["a"]
    with open(run.stream_path("samples"), "a") as fh:
        fh.write('id": false, "reason": "syntax"}\n')
    upd = f.poll()
    assert [(s, r["task_id"]) for s, r in upd.samples] == [(1, "b")]
    assert f.counts()["invalid_by_reason"] == {"syntax": 1}
    assert upd.status == "running"
    # unverified (the data cannot tell): counted apart, never as valid nor as a mismatch
    run.append("samples", {"task_id": "c", "valid": True, "verdict": {"valid": True, "reason": "unverified"}})
    f.poll()
    counts = f.counts()
    assert counts["unverified"] == 1 and counts["valid"] == 1 and "unverified" not in counts["invalid_by_reason"]


def test_an_unvalidated_sample_is_unjudged_on_every_screen_not_invalid(tmp_path):
    """A --no-validate run's record (answered, never judged): one rule for the table's
    badge, the counters and the Rejected list; a failed or judged one is what it was."""
    from screens.rejected import rejected_samples
    from screens.widgets.counters import counters_text
    from screens.widgets.sample_table import sample_row

    unjudged = {"task_id": "a", "status": "ok", "verdict": None, "valid": None, "reason": None, "error": None}
    assert sample_outcome(unjudged) == "unjudged"
    assert sample_outcome({**unjudged, "reason": "format"}) == "unjudged"  # malformed, but never judged
    assert sample_outcome({**unjudged, "status": "failed", "valid": False, "error": "HTTP 500"}) == "failed"
    assert sample_outcome({**unjudged, "valid": False, "reason": "mismatch"}) == "mismatch"
    assert sample_row(0, unjudged)[3].plain == "unjudged"
    run = RunDir.create(tmp_path / "r", "distill", {})
    for i in range(3):
        run.append("samples", {**unjudged, "task_id": str(i)})
    f = RunFollower(run.path)
    f.poll()
    counts = f.counts()
    assert (counts["unjudged"], counts["invalid"], counts["valid"]) == (3, 0, 0)
    text = counters_text(counts).plain
    assert "not validated 3" in text and "invalid 0" in text
    assert rejected_samples(run.path) == []


def test_sample_outcomes_and_reading_one_back(tui_runs):
    recs = RunDir(tui_runs / FINISHED_DISTILL).read("samples")
    assert [sample_outcome(r) for r in recs[:7]] == ["valid", "valid", "mismatch", "syntax", "execution", "format",
                                                     "failed"]
    assert read_sample(tui_runs / FINISHED_DISTILL, 8)["task_id"] == "task-008"
    assert read_sample(tui_runs / FINISHED_DISTILL, 99) is None


def test_run_brief_per_kind_and_status(tui_runs):
    d = summarize(tui_runs / FINISHED_DISTILL)
    assert (d["kind"], d["status"], d["brief"]) == ("distill", "finished", "12/12 done · 5 valid · 1 failed")
    t = summarize(tui_runs / TRAIN)
    assert t["kind"] == "train" and t["brief"].startswith("grpo step 40/40 · reward ")
    # "running" in run.json with no live process: interrupted
    assert summarize(tui_runs / INTERRUPTED_DISTILL)["status"] == "interrupted"


def test_resume_argv_keeps_flags_and_forces_run_dir():
    argv = resume_argv(["/venv/bin/sqlbench", "--config", "c.yaml", "distill", "--limit", "5", "--run-dir", "old"],
                       "distill", Path("runs/x"))
    assert argv[:3] == [sys.executable, "-m", "sqlbench"]
    assert argv[3:] == ["--config", "c.yaml", "distill", "--limit", "5", "--run-dir", "runs/x"]
    train = resume_argv(["/src/sqlbench/__main__.py", "train", "--max-steps", "3"], "train", Path("R"))
    assert train[3:] == ["train", "--max-steps", "3", "--run-dir", "R", "--resume"]


def test_pause_file_and_stop_signal_a_real_process(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {})
    set_paused(run.path, True)
    assert is_paused(run.path) and (run.path / "pause").exists()
    set_paused(run.path, False)
    assert not is_paused(run.path)
    # a stand-in job: records its pid like a CLI job, exits 0 on SIGTERM
    code = ("import signal,sys,time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0));"
            "print('up', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    run.update_info(pid=proc.pid)
    assert stop(run.path) is True
    assert proc.wait(timeout=10) == 0
    run.update_info(status="finished")
    assert stop(run.path) is False  # nothing to stop


def test_fmt_eta():
    assert [fmt_eta(None), fmt_eta(5), fmt_eta(125), fmt_eta(7322)] == ["–", "5s", "2m05s", "2h02m"]


# ---- config file editing --------------------------------------------------------------
CONFIG = """\
# top comment
base_url: http://127.0.0.1:8000/v1   # the teacher
temperature: 0.7

distill:
  provider: Transformers      # OpenAI | Groq
  limit: 100
  validate: true

train:
  max_steps: 30
"""


def test_set_yaml_values_rewrites_only_changed_lines_and_keeps_comments():
    out = set_yaml_values(CONFIG, {("distill", "limit"): 5, ("distill", "provider"): "OpenAI",
                                   ("", "temperature"): 0.2, ("train", "beta"): 0.1, ("chat", "db"): "x.db"})
    lines = out.splitlines()
    assert "# top comment" in lines
    assert "  provider: OpenAI            # OpenAI | Groq" in lines
    assert "  limit: 5" in lines and "temperature: 0.2" in lines
    assert "base_url: http://127.0.0.1:8000/v1   # the teacher" in lines
    import yaml

    data = yaml.safe_load(out)
    assert data["train"] == {"max_steps": 30, "beta": 0.1}
    assert data["chat"] == {"db": "x.db"}
    assert data["distill"]["validate"] is True


def test_check_settings_words_errors_like_the_cli(tmp_path):
    from sqlbench.config import load_settings
    from sqlbench.errors import ConfigError

    raw = {"distill": {"limit": "many"}}
    p = tmp_path / "config.yaml"
    p.write_text("distill:\n  limit: many\n")
    with pytest.raises(ConfigError) as e:
        load_settings(p)
    assert check_settings(raw, str(p)) == str(e.value)
    assert "distill.limit" in str(e.value)
    assert check_settings({"distill": {"limit": 3}}, "config.yaml") is None
    assert "did you mean" in check_settings({"trian": {}}, "config.yaml")


def test_parse_value_and_env_edit():
    assert parse_value("") is None and parse_value("12") == 12 and parse_value("{a: 1}") == {"a": 1}
    assert parse_value("abc") == "abc"
    env = set_env_values("# keys\nAPI_KEY=old\nOTHER=1\n", {"API_KEY": "new", "HF_TOKEN": "hf_x"})
    assert env.splitlines() == ["# keys", "API_KEY=new", "OTHER=1", "HF_TOKEN=hf_x"]


# ---- curves and the rejected filter --------------------------------------------------------
def test_downsample_keeps_length_bounded_and_shape():
    xs = list(range(10_000))
    ys = [float(x % 100) for x in xs]
    dx, dy = downsample(xs, ys, 50)
    assert len(dx) == len(dy) == 50
    assert dx == sorted(dx) and min(dy) > 40 and max(dy) < 60  # bucket means of a sawtooth
    assert downsample([1, 2], [3, 4], 50) == ([1, 2], [3, 4])
    text = render_chart("reward", [Series("", xs, ys)], 60, 10).plain
    assert "reward" in text and len(text.splitlines()) == 10


def test_rejected_filter_search_and_export(tui_runs):
    run = tui_runs / FINISHED_DISTILL
    rows = rejected_samples(run)
    assert len(rows) == 7 and all(sample_outcome(r) != "valid" for _, r in rows)
    mism = [r for _, r in rows if matches(r, "mismatch", "")]
    assert [r["task_id"] for r in mism] == ["task-002", "task-008"]
    assert [r["task_id"] for _, r in rows if matches(r, None, "no such column")] == ["task-004"]
    out = export_samples(run, mism, "mismatch", "")
    assert out.name == "rejected-mismatch.jsonl"
    assert [json.loads(line)["task_id"] for line in out.read_text().splitlines()] == ["task-002", "task-008"]
