"""SIGTERM stops a distill in every phase and it exits 130 (interrupted, resumable);
--batch-size has a named upper bound. Real CLI processes against the loopback teacher."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

from sqlbench.runs import RunDir
from tests.test_distill_cli import _cmd, _env, tasks40  # noqa: F401 - the fixture
from tests.fixtures.waiting import wait_for




def test_batch_size_over_the_cap_is_refused_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sqlbench", "distill", "--batch-size", "100000", "--run-dir",
                        str(tmp_path / "run")], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == ("sqlbench distill: error: command line: --batch-size must be less than or equal "
                                "to 4096 (got 100000)")
    assert not (tmp_path / "run").exists()


def test_sigterm_during_start_up_exits_130_and_the_run_resumes(loopback_teacher, tasks40, tmp_path):
    """No --model: the OpenAI provider asks the server for its model list while starting;
    the teacher holds that answer, and SIGTERM arrives then."""
    loopback_teacher.hold_models()
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "sqlbench", "distill", "--provider", "OpenAI", "--base-url", loopback_teacher.base_url,
           "--dataset-repo-id", str(tasks40), "--run-dir", str(run_dir), "--limit", "6"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(loopback_teacher.models_asked.is_set, "the model list request", proc=proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)  # the held request does not hold the stop
    finally:
        loopback_teacher.release_models()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert out.strip() == str(run_dir) and "distill interrupted" in err and "Traceback" not in err
    run = RunDir(run_dir)
    assert run.status == "interrupted" and run.read("events")[-1]["status"] == "interrupted"
    assert loopback_teacher.count() == 0 and not run.is_locked()

    again = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert Counter(s["task_id"] for s in run.read("samples")) == Counter({f"t{i:03d}": 1 for i in range(6)})


def test_sigterm_with_the_largest_batch_while_paused_exits_130(loopback_teacher, tasks40, tmp_path):
    """At --batch-size 4096 the start builds no clients up front: the run reaches its
    first dispatch (here held by the pause file) and a SIGTERM there ends it."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "pause").touch()
    proc = subprocess.Popen(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "8", "--batch-size", "4096"),
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(e["type"] == "paused" for e in RunDir(run_dir).read("events")), "the pause", proc=proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert RunDir(run_dir).status == "interrupted" and loopback_teacher.count() == 0
