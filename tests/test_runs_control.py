"""`sqlbench runs stop|pause|resume|show RUN`: a real detached distillation (started the
way the workbench starts one) driven from the command line, and bad input refused with
one line and exit 2. Every wait is on a file, an event or a process, with a deadline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from sqlbench.runs import RunDir
from sqlbench.runs.jobs import JobManager
from tests.fixtures.waiting import wait_for
from tests.test_distill_cli import _env, tasks40  # noqa: F401 - the fixture

LIMIT = 4


def runs(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqlbench", "runs", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120)


def _kill_job(run_dir) -> None:
    """The test's own detached jobs never outlive it."""
    try:
        pid = int(RunDir(run_dir).info().get("pid") or 0)
    except Exception:  # noqa: BLE001 - no run.json: nothing of ours runs there
        return
    if pid and RunDir(run_dir).status == "running":
        os.kill(pid, signal.SIGKILL)


def test_stop_pause_resume_and_show_drive_a_detached_job(loopback_teacher, tasks40, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("distill:\n  request_timeout: 600\n")
    # every answer is held until the job is stopped: the job is running, with a request in flight
    loopback_teacher.hold_completions()
    jobs = JobManager(tmp_path / "runs", config=str(cfg))
    job = jobs.start("distill", ["--provider", "OpenAI", "--model", "loopback-teacher", "--base-url",
                                 loopback_teacher.base_url, "--dataset-repo-id", str(tasks40), "--limit", str(LIMIT),
                                 "--batch-size", "1", "--retries", "0"])
    run_dir, name = job.run_path, job.run_path.name
    try:
        wait_for(lambda: loopback_teacher.count() >= 1 and RunDir(run_dir).status == "running", "the first request",
                 timeout=120, proc=job.process)

        shown = json.loads(runs("show", str(run_dir), "--json", cwd=tmp_path).stdout)
        assert (shown["id"], shown["kind"], shown["status"], shown["paused"]) == (name, "distill", "running", False)

        # a RUN is also its id under the runs folder
        r = runs("--root", str(tmp_path / "runs"), "pause", name, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith(f"pausing {name}"), r.stderr
        assert (run_dir / "pause").exists()
        r = runs("pause", str(run_dir), cwd=tmp_path)
        assert (r.returncode, r.stderr.strip()) == (2, f"sqlbench runs: error: {name} is already paused")
        assert json.loads(runs("show", str(run_dir), "--json", cwd=tmp_path).stdout)["paused"] is True
        text = runs("show", str(run_dir), cwd=tmp_path).stdout
        assert "status    running (paused)" in text and "kind      distill" in text

        r = runs("resume", str(run_dir), cwd=tmp_path)  # a paused job goes on
        assert (r.returncode, r.stdout.strip()) == (0, f"resumed {name}") and not (run_dir / "pause").exists()
        assert runs("pause", str(run_dir), cwd=tmp_path).returncode == 0  # and pauses again

        r = runs("stop", str(run_dir), cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith(f"stopping {name}"), r.stderr
        loopback_teacher.release_completions()  # a stopped job lets the request in flight finish
        assert job.process.wait(timeout=120) == 130
        assert RunDir(run_dir).status == "interrupted"
        for verb in ("stop", "pause"):
            r = runs(verb, str(run_dir), cwd=tmp_path)
            assert (r.returncode, r.stderr.strip()) == (2, f"sqlbench runs: error: {name} is not running (it is "
                                                           f"interrupted)")

        # resume after a crash or a stop: its own command again, detached, same --run-dir
        r = runs("resume", str(run_dir), cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith(f"restarted {name} (pid "), r.stderr
        assert not (run_dir / "pause").exists()  # the pause asked before the stop does not hold the new job
        wait_for(lambda: RunDir(run_dir).info().get("status") in ("finished", "failed"), "the resumed job to end",
                 timeout=180)
        run = RunDir(run_dir)
        assert run.status == "finished" and run.info()["resumes"] == 1
        assert Counter(s["task_id"] for s in run.read("samples")) == Counter({f"t{i:03d}": 1 for i in range(LIMIT)})

        shown = json.loads(runs("show", str(run_dir), "--json", cwd=tmp_path).stdout)
        assert shown["status"] == "finished" and shown["brief"] == f"{LIMIT}/{LIMIT} done · {LIMIT} valid"
        assert shown["counts"] == {"done": LIMIT, "valid": LIMIT, "unverified": 0, "invalid": 0,
                                   "invalid_by_reason": {}, "failed": 0, "unjudged": 0}
        r = runs("resume", str(run_dir), cwd=tmp_path)
        assert (r.returncode, r.stderr.strip()) == (2, f"sqlbench runs: error: {name} is finished: only a paused or "
                                                       f"an interrupted run can be resumed")
    finally:
        loopback_teacher.release_completions()
        if job.process.poll() is None:
            job.process.kill()
            job.process.wait()
        _kill_job(run_dir)


def test_show_prints_a_train_runs_last_metrics(tmp_path):
    run = RunDir.create(tmp_path / "t", "train", {})
    run.event("step", stage="grpo", step=2, max_steps=8)
    run.append("metrics", {"stage": "grpo", "step": 1, "reward": 0.25})
    run.append("metrics", {"stage": "grpo", "step": 2, "reward": 0.5, "kl": 0.0125})
    run.finish()
    r = runs("show", str(run.path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "progress  grpo step 2/8 · reward 0.500" in r.stdout
    assert "metrics   stage=grpo, step=2, reward=0.5, kl=0.0125" in r.stdout and "counts" not in r.stdout
    shown = json.loads(runs("show", str(run.path), "--json", cwd=tmp_path).stdout)
    assert shown["metrics"] == {"stage": "grpo", "step": 2, "reward": 0.5, "kl": 0.0125} and "counts" not in shown


@pytest.mark.parametrize("verb", ["stop", "pause", "resume", "show"])
def test_bad_runs_get_one_line_and_exit_2(tmp_path, verb):
    (tmp_path / "runs").mkdir()
    torn = tmp_path / "runs" / "torn"
    torn.mkdir()
    (torn / "run.json").write_text('{"kind": "distill", "sta')
    train = RunDir.create(tmp_path / "runs" / "train-here", "train", {})  # running: this test's own pid
    cases = {
        "nope": f"no run 'nope': neither a run directory nor a run id under {tmp_path / 'runs'}",
        "torn": f"{torn / 'run.json'} is not valid JSON",
    }
    if verb == "pause":
        cases["train-here"] = "train-here is a train run; only distill runs can pause"
    for run, line in cases.items():
        r = runs("--root", str(tmp_path / "runs"), verb, run, cwd=tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith(f"sqlbench runs: error: {line}"), \
            r.stderr
    train.finish()
