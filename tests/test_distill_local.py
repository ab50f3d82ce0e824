"""The embedded default: `sqlbench distill` with no teacher flags runs the tiny offline
student with transformers (no network), and a model folder as --model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlbench.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]


def test_no_flags_distills_offline_with_the_tiny_student(tiny_model_dir, tmp_path):
    from sqlbench.training import tiny

    cache = tmp_path / "cache"
    # The embedded default is the warm tiny student under cache_dir, built on first use
    # (its SFT warm-up is the training tests' business and takes minutes on a busy
    # machine). Stand the cold build in for it, marked as the warm build, so this test
    # checks what distill does: no flags -> Transformers -> the cached default, offline.
    target = cache / f"tiny-model-warm{tiny.WARM_STEPS}"
    shutil.copytree(tiny_model_dir, target)
    (target / tiny.MARKER).write_text(json.dumps({"key": tiny.build_key(tiny.WARM_STEPS, 0)}))
    assert tiny.default_tiny_model(cache) == target  # found, not rebuilt
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_")}
    env.update(PYTHONPATH=str(ROOT), SQLBENCH_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1",
               SQLBENCH_DISTILL__LIMIT="4", SQLBENCH_DISTILL__MAX_TOKENS="48")
    r = subprocess.run([sys.executable, "-m", "sqlbench", "distill", "--run-dir", str(tmp_path / "run")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    run = RunDir(tmp_path / "run")
    samples = run.read("samples")
    assert len(samples) == 4 and all(s["status"] == "ok" for s in samples)
    assert all(s["provider"] == "Transformers" for s in samples)
    assert samples[0]["model"].startswith(str(cache))
    assert all(s["tokens"]["completion"] <= 48 and s["reason"] for s in samples)  # judged
    assert run.status == "finished" and (run.path / "dataset" / "dataset_info.json").exists()


def test_transformers_teacher_from_a_folder(tiny_model_dir, tmp_path):
    from sqlbench.config import Secrets, Settings
    from sqlbench.distill import run_distill

    settings = Settings.model_validate({"runs_dir": str(tmp_path / "runs"), "temperature": 0.0, "distill": {
        "provider": "transformers", "model": str(tiny_model_dir), "limit": 3, "max_tokens": 16, "batch_size": 4}})
    run = RunDir(run_distill(settings, Secrets(), run_dir=tmp_path / "run", progress=False))
    samples = run.read("samples")
    assert len(samples) == 3 and {s["model"] for s in samples} == {str(tiny_model_dir)}
    # a random student rarely produces the format: every answer is judged, none crashes the run
    assert all(s["status"] == "ok" and s["reason"] in ("format", "ok", "syntax", "execution", "mismatch")
               for s in samples)
    assert run.read("events")[0]["provider"] == "Transformers"


def test_local_teacher_prompts_are_fitted_not_cut(tiny_model_dir, tmp_path):
    """A prompt over the local model's budget loses its seed rows (then the schema's
    tail), never the system prompt or the question; the record and the validator keep
    the full task. --max-prompt-length sets the budget from the CLI."""
    from sqlbench.data.loader import load_tasks
    from sqlbench.prompts import SYSTEM_PROMPT

    tasks = {t.id: t for t in load_tasks(None, limit=3)}
    assert all("INSERT" in t.context for t in tasks.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")

    def distill(budget: int, name: str) -> list[dict]:
        r = subprocess.run([sys.executable, "-m", "sqlbench", "distill", "--provider", "Transformers", "--model",
                            str(tiny_model_dir), "--limit", "3", "--max-tokens", "8", "--max-prompt-length",
                            str(budget), "--run-dir", str(tmp_path / name)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r.stderr
        run = RunDir(tmp_path / name)
        assert run.config()["max_prompt_length"] == budget
        return run.read("samples")

    from transformers import AutoTokenizer

    from sqlbench.prompts import prompt_token_counter

    count = prompt_token_counter(AutoTokenizer.from_pretrained(tiny_model_dir))
    for s in distill(160, "tight"):
        # what the model got is the whole fitted prompt, template included: nothing cut
        assert s["tokens"]["prompt"] == count(s["messages"]) <= 160
        system, user = s["messages"]
        assert system["content"] == SYSTEM_PROMPT
        assert user["content"].startswith(tasks[s["task_id"]].question)
        assert "INSERT" not in user["content"] and "CREATE TABLE" in user["content"]
        assert s["context"] == tasks[s["task_id"]].context  # the record keeps the seed rows
    for s in distill(4096, "roomy"):
        assert "INSERT" in s["messages"][1]["content"]  # fits: shown whole


def test_resume_keeps_the_settings_the_run_started_with(tiny_model_dir, tmp_path):
    """Rerunning with only --run-dir (and a larger --limit) goes on with the same teacher
    and prompt budget, asks only the new tasks, and says so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", SQLBENCH_CACHE_DIR=str(tmp_path / "empty-cache"))
    run_dir = tmp_path / "run"

    def distill(*flags: str) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "sqlbench", "distill", "--run-dir", str(run_dir), *flags],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r.stderr
        return r

    distill("--provider", "Transformers", "--model", str(tiny_model_dir), "--limit", "2", "--max-tokens", "8",
            "--max-prompt-length", "160")
    first = RunDir(run_dir).read("samples")
    r = distill("--limit", "3")
    assert "with the settings it started with" in r.stderr and "distill.limit 2 -> 3" in r.stderr
    samples = RunDir(run_dir).read("samples")
    assert samples[:2] == first and len(samples) == 3  # nothing asked twice
    assert {s["model"] for s in samples} == {str(tiny_model_dir)}
    assert all("INSERT" not in s["messages"][1]["content"] for s in samples)  # same prompt budget
    assert all(s["tokens"]["completion"] <= 8 for s in samples)
    cfg = RunDir(run_dir).config()
    assert cfg["distill"]["limit"] == 3 and cfg["max_prompt_length"] == 160
    assert not (tmp_path / "empty-cache").exists()  # the default student was never built
