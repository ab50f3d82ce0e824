"""--use-ray on a local 2-CPU Ray gives the same result as the in-process run."""

from __future__ import annotations

import json

import pytest

from sqlbench.config import Secrets, Settings
from sqlbench.distill import run_distill
from sqlbench.runs import RunDir
from tests.fixtures.teacher import shop_rows, write_shop_tasks

pytest.importorskip("ray", reason="--use-ray needs ray: pip install -e '.[ray]' (make setup installs it with the dev extra)")


def _comparable(run: RunDir) -> tuple[list, list]:
    keep = ("task_id", "sample_index", "completion", "think", "sql", "valid", "reason", "status", "provider",
            "model", "messages", "verdict", "attempts")
    samples = sorted(({k: s[k] for k in keep} for s in run.read("samples")), key=lambda s: s["task_id"])
    rows = sorted((json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()),
                  key=lambda r: r["id"])
    return samples, rows


def test_ray_run_equals_the_local_run(loopback_teacher, tmp_path):
    from sqlbench.data.loader import load_tasks

    tasks = write_shop_tasks(tmp_path / "tasks.jsonl", 16)
    loopback_teacher.learn(load_tasks(tasks))
    # the same deterministic faults in both runs (every matching request, in each run)
    loopback_teacher.inject("wrong", times=None, match=shop_rows(16)[3]["sql_prompt"])
    loopback_teacher.inject("malformed", times=None, match=shop_rows(16)[7]["sql_prompt"])

    def settings(use_ray: bool) -> Settings:
        return Settings.model_validate({
            "base_url": loopback_teacher.base_url, "runs_dir": str(tmp_path / "runs"), "temperature": 0.0,
            "distill": {"provider": "OpenAI", "model": "loopback-teacher", "dataset_repo_id": str(tasks),
                        "limit": 16, "batch_size": 8, "use_ray": use_ray}})

    local = RunDir(run_distill(settings(False), Secrets(), run_dir=tmp_path / "local", progress=False))
    ray_run = RunDir(run_distill(settings(True), Secrets(), run_dir=tmp_path / "ray", progress=False))
    assert ray_run.status == "finished"
    assert ray_run.read("events")[0]["use_ray"] is True
    local_samples, local_rows = _comparable(local)
    ray_samples, ray_rows = _comparable(ray_run)
    assert len(ray_samples) == 16
    assert ray_samples == local_samples
    assert ray_rows == local_rows
    assert 0 < sum(s["valid"] for s in ray_samples) < 16
