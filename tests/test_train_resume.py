"""SIGTERM saves a checkpoint and exits cleanly; --resume continues the step count.
Runs the real `sqlbench train` command in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from sqlbench.runs import RunDir

ARGS = ["--stage", "grpo", "--limit", "12", "--eval-split", "0", "--save-steps", "1000",
        "--per-device-train-batch-size", "2", "--num-generations", "2", "--max-completion-length", "12",
        "--learning-rate", "1e-4"]


def _env(tmp_path):
    env = dict(os.environ, SQLBENCH_RUNS_DIR=str(tmp_path / "runs"), SQLBENCH_CACHE_DIR=str(tmp_path / "cache"),
               SQLBENCH_MAX_PROMPT_LENGTH="128", PYTHONUNBUFFERED="1")
    env.pop("SQLBENCH_CONFIG", None)
    return env


def _wait_for_step(run_dir, n, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"train exited early: {proc.stderr.read()}")
        steps = [e["step"] for e in RunDir(run_dir).read("events") if e["type"] == "step"] \
            if (run_dir / "events.jsonl").exists() else []
        if steps and max(steps) >= n:
            return
        time.sleep(0.2)
    raise AssertionError("no training step within the timeout")


def test_sigterm_checkpoints_and_resume_continues(warm_tiny_model_dir, tmp_path):
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "sqlbench", "train", "--model", str(warm_tiny_model_dir), "--run-dir", str(run_dir)]
    proc = subprocess.Popen(cmd + ARGS + ["--max-steps", "500"], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_step(run_dir, 2, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run = RunDir(run_dir)
    assert run.status == "interrupted"
    ckpts = sorted(run_dir.glob("checkpoints/checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert ckpts, "no checkpoint saved on SIGTERM"
    stopped_at = int(ckpts[-1].name.split("-")[1])
    assert stopped_at >= 2
    state = json.loads((ckpts[-1] / "trainer_state.json").read_text())
    assert state["global_step"] == stopped_at
    assert not (run_dir / "model").exists()
    assert any(e["type"] == "checkpoint" and e["step"] == stopped_at for e in run.read("events"))

    # continue two more steps from the checkpoint: no flags but the new step budget, so
    # model, stage, data and batch shape must come from the run's own settings
    target = stopped_at + 2
    resume = [sys.executable, "-m", "sqlbench", "train", "--run-dir", str(run_dir), "--resume"]
    done = subprocess.run(resume + ["--max-steps", str(target)], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "with the settings it started with" in done.stderr
    cfg = RunDir(run_dir).config()
    assert cfg["train"]["model"] == str(warm_tiny_model_dir) and cfg["train"]["max_steps"] == target
    assert f"resuming from {ckpts[-1]}" in done.stdout
    steps = [m["step"] for m in RunDir(run_dir).read("metrics") if "loss" in m]
    assert steps == list(range(1, target + 1))  # no step repeated, none skipped
    assert RunDir(run_dir).status == "finished" and RunDir(run_dir).info()["resumes"] == 1
    assert (run_dir / "model" / "adapter_config.json").is_file()


def test_resume_needs_a_run(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sqlbench", "train", "--resume"], cwd=tmp_path, env=_env(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--resume needs --run-dir" in r.stderr
    r = subprocess.run([sys.executable, "-m", "sqlbench", "train", "--resume", "--run-dir", str(tmp_path / "nope")],
                       cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "holds no run to continue" in r.stderr


def test_bad_flags_are_one_line_errors(tmp_path):
    base = [sys.executable, "-m", "sqlbench", "train"]
    cases = [
        (["--per-device-train-batch-size", "3", "--num-generations", "2"], "must be divisible by --num-generations"),
        (["--reward-weights", "speed=1"], "unknown reward 'speed'"),
        (["--reward-weights", "format=0,tags=0,syntax=0,schema=0,execution=0,length=0"], "nothing to train on"),
        (["--model", str(tmp_path / "missing")], "no such model folder"),
    ]
    for extra, message in cases:
        r = subprocess.run(base + extra, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, (extra, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
