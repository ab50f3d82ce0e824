"""Run directories: append-only streams that survive a kill, resume, follow and status."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from sqlbench.errors import RunDirError
from sqlbench.redact import register_secret
from sqlbench.runs import RunDir, TailCursor, list_runs


def test_create_writes_info_and_config(tmp_path):
    run = RunDir.create(tmp_path / "r1", "distill", {"limit": 3}, argv=["sqlbench", "distill"])
    info = run.info()
    assert info["kind"] == "distill" and info["status"] == "running" and info["pid"] == os.getpid()
    assert run.config() == {"limit": 3}
    assert run.status == "running"
    run.finish()
    assert run.status == "finished" and run.info()["finished"] >= info["started"]
    assert [e["type"] for e in run.read("events")] == ["finished"]


def test_same_path_resumes_same_kind_only(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {})
    run.append("samples", {"task_id": "1"})
    run.close()
    again = RunDir.create(tmp_path / "r", "distill", {})
    assert again.info()["resumes"] == 1
    assert again.read("samples") == [{"task_id": "1"}]
    with pytest.raises(RunDirError, match="holds a distill run"):
        RunDir.create(tmp_path / "r", "train", {})


def test_torn_last_line_is_skipped_by_readers_and_repaired_by_writer(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {})
    run.append("samples", {"task_id": "1"})
    run.close()
    with open(run.stream_path("samples"), "a") as fh:
        fh.write('{"task_id": "2", "trunc')
    assert [r["task_id"] for r in run.read("samples")] == ["1"]
    resumed = RunDir.create(tmp_path / "r", "distill", {})
    resumed.append("samples", {"task_id": "2"})
    lines = resumed.stream_path("samples").read_text().splitlines()
    assert [json.loads(x)["task_id"] for x in lines] == ["1", "2"]


def test_tail_returns_only_new_complete_lines(tmp_path):
    run = RunDir.create(tmp_path / "r", "train", {})
    cur = TailCursor()
    assert run.tail("metrics", cur) == []
    run.append("metrics", {"step": 1})
    run.append("metrics", {"step": 2})
    assert [m["step"] for m in run.tail("metrics", cur)] == [1, 2]
    with open(run.stream_path("metrics"), "a") as fh:
        fh.write('{"step": 3')
    assert run.tail("metrics", cur) == []
    with open(run.stream_path("metrics"), "a") as fh:
        fh.write("}\n")
    assert [m["step"] for m in run.tail("metrics", cur)] == [3]


def test_secrets_never_reach_the_run_directory(tmp_path):
    register_secret("sk-test-SECRET-987654")
    run = RunDir.create(tmp_path / "r", "distill", {"note": "key sk-test-SECRET-987654"},
                        argv=["sqlbench", "--api-key", "sk-test-SECRET-987654"])
    run.append("events", {"error": "401 for key sk-test-SECRET-987654"})
    run.finish("failed", error="bad key sk-test-SECRET-987654")
    for p in (tmp_path / "r").rglob("*"):
        assert "sk-test-SECRET" not in p.read_text(), p


def test_killed_writer_reads_as_interrupted_and_loses_no_flushed_record(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from sqlbench.runs import RunDir
        run = RunDir.create({str(tmp_path / 'r')!r}, "distill", {{}})
        for i in range(5):
            run.append("samples", {{"task_id": str(i)}})
        print("ready", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    run = RunDir.open(tmp_path / "r")
    assert run.status == "interrupted"
    assert [r["task_id"] for r in run.read("samples")] == ["0", "1", "2", "3", "4"]


def test_list_runs_newest_first_and_open_errors(tmp_path):
    a = RunDir.create(tmp_path / "a", "distill", {})
    a.update_info(started=1.0)
    b = RunDir.create(tmp_path / "b", "train", {})
    b.update_info(started=2.0)
    (tmp_path / "not-a-run").mkdir()
    assert [r.id for r in list_runs(tmp_path)] == ["b", "a"]
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDir.open(tmp_path / "not-a-run")


def test_recording_failure_marks_interrupted_or_failed_and_reraises(tmp_path):
    run = RunDir.create(tmp_path / "a", "eval", {})
    with pytest.raises(KeyboardInterrupt):
        with run.recording_failure():
            raise KeyboardInterrupt
    assert run.status == "interrupted"
    run = RunDir.create(tmp_path / "b", "eval", {})
    with pytest.raises(ValueError):
        with run.recording_failure():
            raise ValueError("no such column: x")
    assert run.status == "failed" and run.info()["error"] == "ValueError: no such column: x"
    assert run.read("events")[-1]["type"] == "error"
