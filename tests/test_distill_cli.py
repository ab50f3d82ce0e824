"""The real `sqlbench distill` command as a subprocess against the loopback teacher:
SIGKILL mid-run then resume, SIGTERM, flag errors, and no secret anywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlbench.runs import RunDir
from tests.fixtures.teacher import write_shop_tasks

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-distinctive-Qx7Zp3Lw9-do-not-leak"
HF_SECRET = "hf_distinctiveTokenVb82Km"


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_") and k not in ("API_KEY", "HF_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def _cmd(teacher, tasks: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sqlbench", "distill", "--provider", "OpenAI", "--model", "loopback-teacher",
            "--base-url", teacher.base_url, "--dataset-repo-id", str(tasks), "--run-dir", str(run_dir), *extra]


@pytest.fixture
def tasks40(tmp_path, loopback_teacher):
    from sqlbench.data.loader import load_tasks

    path = write_shop_tasks(tmp_path / "tasks.jsonl", 40)
    loopback_teacher.learn(load_tasks(path))
    return path


def _wait_for_samples(run_dir: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        count = RunDir(run_dir).count("samples") if (run_dir / "samples.jsonl").exists() else 0
        if count >= n:
            return count
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        time.sleep(0.02)
    raise AssertionError(f"fewer than {n} samples after {timeout}s")


def test_sigkill_mid_run_then_the_same_command_resumes_exactly(loopback_teacher, tasks40, tmp_path):
    loopback_teacher.latency = 0.1
    run_dir = tmp_path / "run"
    cmd = _cmd(loopback_teacher, tasks40, run_dir, "--limit", "40", "--batch-size", "4")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_samples(run_dir, 10, proc)
    loopback_teacher.hold_completions()  # the run cannot finish before the kill, however slow the machine
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    loopback_teacher.release_completions()
    before = RunDir(run_dir).read("samples")
    assert 10 <= len(before) < 40
    assert RunDir(run_dir).status == "interrupted"  # "running" but its process is gone
    asked_before = loopback_teacher.count()

    done = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(run_dir)
    samples = RunDir(run_dir).read("samples")
    ids = [s["task_id"] for s in samples]
    assert sorted(ids) == [f"t{i:03d}" for i in range(40)]  # every task exactly once, none missing
    # recorded tasks were not asked again; only the unrecorded ones (incl. those in flight at the kill)
    assert loopback_teacher.count() - asked_before == 40 - len(before)
    assert RunDir(run_dir).status == "finished"
    rows = (run_dir / "dataset.jsonl").read_text().splitlines()
    assert len(rows) == 40 and len({json.loads(r)["id"] for r in rows}) == 40


def test_sigterm_stops_cleanly_as_interrupted(loopback_teacher, tasks40, tmp_path):
    loopback_teacher.latency = 0.1
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "40", "--batch-size", "2"),
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_samples(run_dir, 4, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # interrupted, as `train` exits
    assert out.strip() == str(run_dir)
    run = RunDir(run_dir)
    last = run.read("events")[-1]
    assert last["type"] == "finished" and last["status"] == "interrupted"
    assert run.status == "interrupted"
    n = len(run.read("samples"))
    assert 4 <= n < 40
    # the requests in flight were allowed to finish and were recorded
    assert loopback_teacher.count() == n


def test_remove_no_valid_without_validate_exits_2_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sqlbench", "distill", "--remove-no-valid", "--no-validate",
                        "--run-dir", str(tmp_path / "run")], cwd=tmp_path, env=_env(), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--remove-no-valid" in r.stderr
    assert not (tmp_path / "run").exists()


def test_publish_without_repo_id_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sqlbench", "distill", "--publish"], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--publish-repo-id" in r.stderr


def test_no_secret_in_run_dir_logs_output_or_published_files(loopback_teacher, loopback_hub, tasks40, tmp_path):
    run_dir = tmp_path / "run"
    loopback_teacher.inject("500", match="variant 2")  # an error path too
    r = subprocess.run(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "8", "--retries", "0", "--publish",
                            "--publish-repo-id", "tester/leak-check"), cwd=tmp_path,
                       env=_env(API_KEY=SECRET, HF_TOKEN=HF_SECRET, HF_ENDPOINT=loopback_hub.endpoint),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # the keys were really used ...
    assert f"Bearer {SECRET}" in loopback_teacher.authorizations()
    assert f"Bearer {HF_SECRET}" in loopback_hub.authorizations()
    published = loopback_hub.repos["tester/leak-check"].files
    assert len(loopback_hub.read_parquet("tester/leak-check")) == 7  # one task failed: no row
    for name, data in published.items():
        assert SECRET.encode() not in data and HF_SECRET.encode() not in data, name
    # ... and is nowhere we write
    assert SECRET not in r.stdout + r.stderr and HF_SECRET not in r.stdout + r.stderr
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "samples.jsonl" for p in files) and any(p.suffix == ".arrow" for p in files)
    for p in files:
        data = p.read_bytes()
        assert SECRET.encode() not in data and HF_SECRET.encode() not in data, p
    assert any(s["status"] == "failed" for s in RunDir(run_dir).read("samples"))
