"""GPU smoke suite (CUDA + SQLBENCH_GPU_MODEL; skipped elsewhere, see conftest.py): the GPU
paths run end to end on a real small model, in one pass of under 10 minutes:

distill with a vLLM teacher on 16 tasks -> SFT + GRPO for 5 steps each (Unsloth when installed,
vLLM colocated generation) -> eval on the GPU -> chat and serve the trained run on vLLM
(base + LoRA adapter).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu

ROOT = Path(__file__).resolve().parents[2]


def sqlbench(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "sqlbench", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gpu")


@pytest.fixture(scope="module")
def distilled(work, gpu_model) -> Path:
    run = work / "distill"
    proc = sqlbench("distill", "--provider", "vLLM", "--model", str(gpu_model), "--limit", "16",
                    "--run-dir", str(run), cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def trained(work, distilled, gpu_model) -> Path:
    run = work / "train"
    proc = sqlbench("train", "--model", str(gpu_model), "--dataset-repo-id", str(distilled), "--stage", "both",
                    "--max-steps", "5", "--eval-split", "4", "--eval-steps", "5", "--run-dir", str(run), cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run


def test_distill_with_a_vllm_teacher(distilled):
    samples = [json.loads(x) for x in (distilled / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 16 and {s["provider"] for s in samples} == {"vLLM"}
    assert json.loads((distilled / "run.json").read_text())["status"] == "finished"
    # a prompt vLLM refuses fails its sample, never the run
    assert sum(1 for s in samples if s["status"] == "ok") >= 1


def test_sft_then_grpo_on_the_gpu_with_vllm_colocated(trained):
    import importlib.util

    events = [json.loads(x) for x in (trained / "events.jsonl").read_text().splitlines()]
    plan = next(e for e in events if e["type"] == "plan")
    assert plan["stages"] == ["sft", "grpo"] and "device: CUDA" in plan["accel"]
    if importlib.util.find_spec("unsloth") is not None:
        assert any(line.startswith("Unsloth: FastLanguageModel") for line in plan["accel"])
    assert any(line.startswith("vLLM: colocated") for line in plan["accel"])
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["sft"]["step"] == 5 and summary["grpo"]["step"] == 5
    assert (trained / "sft" / "model" / "config.json").is_file()  # the merged hand-off
    assert (trained / "model" / "adapter_config.json").is_file()


def test_eval_runs_on_the_gpu(work, trained):
    proc = sqlbench("eval", "--model", str(trained), "--limit", "8", "--run-dir", str(work / "eval"), "--json",
                    cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["n"] == 8


def test_chat_loads_the_trained_adapter_on_vllm(work, trained):
    proc = sqlbench("chat", "--model", str(trained), "--once", "How many singers are there?", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "using vLLM on CUDA" in proc.stderr and "LoRA adapter" in proc.stderr
    assert "finish_reason" in json.loads(proc.stdout.strip().splitlines()[-1])


def test_serve_answers_from_vllm(work, trained):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sqlbench", "serve", "--model", str(trained), "--port", "0",
                             "--quiet"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        line = ""
        while "listening on" not in line:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()[-3000:]
            line = proc.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        assert ", vllm" in line
        body = json.dumps({"model": "x", "messages": [{"role": "user", "content": "List all singers."}],
                           "max_tokens": 32}).encode()
        req = urllib.request.Request(url.rstrip("/") + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            reply = json.loads(r.read())
        assert r.status == 200 and reply["choices"][0]["message"]["content"]
    finally:
        proc.terminate()
        proc.wait(60)
