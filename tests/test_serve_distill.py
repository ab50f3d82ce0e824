"""A local model as teacher: `sqlbench distill --provider OpenAI --base-url` pointed at
`sqlbench serve`'s API (in-process server on loopback, tiny model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def local_server(tiny_model_dir):
    from sqlbench.inference.chat import load_engine
    from sqlbench.inference.serve import make_server

    srv = make_server(load_engine(str(tiny_model_dir)), "127.0.0.1", 0, model_name="local-student",
                      max_new_tokens=48, temperature=0.0, quiet=True)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_distill_uses_local_server_as_teacher(local_server, tmp_path):
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_") and k not in ("API_KEY", "HF_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), API_KEY="sk-local-unused")
    served_before = local_server.worker.served
    r = subprocess.run(
        [sys.executable, "-m", "sqlbench", "distill", "--provider", "OpenAI", "--base-url", local_server.url,
         "--limit", "4", "--batch-size", "2", "--max-tokens", "48", "--retries", "0", "--run-dir", str(run_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "finished"
    samples = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines() if x.strip()]
    assert len(samples) == 4
    # every task was answered by our server (no request failed) and judged
    assert local_server.worker.served - served_before >= 4
    text = json.dumps(samples)
    assert "sk-local-unused" not in text
    for s in samples:
        verdict = s.get("verdict") or {}
        assert verdict.get("reason") in ("ok", "format", "syntax", "execution", "timeout", "mismatch", "unsafe",
                                         "bad_context", "gold_error"), s


def test_distill_at_its_default_batch_loses_nothing(local_server, tmp_path):
    """Issue 12: 64 concurrent requests (distill's default batch) with no retries used to
    lose 11 of 64 samples to reset connections. Every one is now answered."""
    run_dir = tmp_path / "run64"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_") and k not in ("API_KEY", "HF_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), API_KEY="sk-local-unused")
    served_before = local_server.worker.served
    r = subprocess.run(
        [sys.executable, "-m", "sqlbench", "distill", "--provider", "OpenAI", "--base-url", local_server.url,
         "--limit", "64", "--batch-size", "64", "--max-tokens", "4", "--retries", "0", "--no-validate",
         "--run-dir", str(run_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    samples = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines() if x.strip()]
    assert len(samples) == 64
    assert not [s for s in samples if s.get("status") == "failed" or s.get("error")], r.stderr[-2000:]
    assert local_server.worker.served - served_before == 64
