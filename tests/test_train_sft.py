"""SFT on the tiny model lowers the loss; stage selection; the SFT -> GRPO chain on a
distilled run directory."""

from __future__ import annotations

import json

import pytest

from sqlbench.config import Secrets
from sqlbench.records import Task
from sqlbench.runs import RunDir
from sqlbench.training.data import has_reasoning, split_tasks, sft_rows
from sqlbench.training.job import choose_stage


def test_stage_auto_needs_reasoning():
    plain = Task("1", "q", "CREATE TABLE t (a INT);", "SELECT a FROM t", explanation="e")
    distilled = Task("2", "q", "CREATE TABLE t (a INT);", "SELECT a FROM t", metadata={"reasoning": "r"})
    assert not has_reasoning([plain]) and has_reasoning([plain, distilled])
    assert choose_stage("auto", False) == ["grpo"]
    assert choose_stage("auto", True) == ["sft", "grpo"]
    assert choose_stage("both", False) == ["sft", "grpo"]
    assert choose_stage("sft", True) == ["sft"]


def test_sft_rows_imitate_reasoning_then_gold():
    t = Task("1", "How many?", "CREATE TABLE t (a INT);", "SELECT COUNT(*) FROM t", explanation="counts",
             metadata={"reasoning": "Count every row of t."})
    (row,) = sft_rows([t])
    roles = [m["role"] for m in row["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert row["messages"][2]["content"] == "<think>\nCount every row of t.\n</think>\n<sql>\nSELECT COUNT(*) FROM t\n</sql>"
    assert "SELECT COUNT" not in row["messages"][1]["content"]  # the gold never leaks into the prompt


def test_held_out_split_is_deterministic_and_disjoint(bundled_tasks):
    a_train, a_held = split_tasks(bundled_tasks, 0.1, seed=3)
    b_train, b_held = split_tasks(bundled_tasks, 0.1, seed=3)
    assert [t.id for t in a_held] == [t.id for t in b_held]
    assert len(a_held) == round(len(bundled_tasks) * 0.1)
    assert not {t.id for t in a_train} & {t.id for t in a_held}
    assert len(split_tasks(bundled_tasks, 7)[1]) == 7


def test_sft_lowers_the_loss(tiny_model_dir, train_settings, tmp_path):
    from sqlbench.training.job import run_train

    settings = train_settings(model=str(tiny_model_dir), stage="sft", max_steps=12, full=True,
                              sft_learning_rate=3e-3, per_device_train_batch_size=4, limit=24)
    path = run_train(settings, Secrets(), run_dir=tmp_path / "sft", log=lambda s: None)
    run = RunDir(path)
    losses = [m["loss"] for m in run.read("metrics") if "loss" in m]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5
    assert all(m["stage"] == "sft" for m in run.read("metrics"))
    assert (path / "model" / "model.safetensors").is_file()  # --full: plain weights
    assert run.status == "finished"


def test_distilled_run_trains_sft_then_grpo(tiny_model_dir, distilled_run_dir, train_settings, tmp_path):
    """--stage auto on distilled data: SFT on the teacher's reasoning, then GRPO from the
    merged SFT weights; the final adapter's base is the SFT model."""
    from sqlbench.inference.models import adapter_base
    from sqlbench.training.job import run_train

    settings = train_settings(model=str(tiny_model_dir), stage="auto", dataset_repo_id=str(distilled_run_dir),
                              max_steps=2, eval_split=1, per_device_train_batch_size=4, num_generations=4,
                              max_completion_length=16)
    path = run_train(settings, Secrets(), run_dir=tmp_path / "both", log=lambda s: None)
    stages = [e["name"] for e in RunDir(path).read("events") if e["type"] == "stage"]
    assert stages == ["sft", "grpo"]
    assert (path / "sft" / "model" / "config.json").is_file()
    assert adapter_base(path / "model") == str((path / "sft" / "model").resolve())
    summary = json.loads((path / "summary.json").read_text())
    assert summary["stages"] == ["sft", "grpo"] and summary["sft"]["step"] == 2 and summary["grpo"]["step"] == 2
    steps = [(m["stage"], m["step"]) for m in RunDir(path).read("metrics") if "loss" in m]
    assert steps == [("sft", 1), ("sft", 2), ("grpo", 1), ("grpo", 2)]


def test_sft_max_steps_budgets_the_sft_stage_apart(tiny_model_dir, distilled_run_dir, train_settings, tmp_path):
    from sqlbench.training.job import run_train

    settings = train_settings(model=str(tiny_model_dir), stage="both", dataset_repo_id=str(distilled_run_dir),
                              max_steps=1, sft_max_steps=3, eval_split=1, per_device_train_batch_size=4,
                              num_generations=4, max_completion_length=8)
    path = run_train(settings, Secrets(), run_dir=tmp_path / "budgets", log=lambda s: None)
    summary = json.loads((path / "summary.json").read_text())
    assert (summary["sft"]["step"], summary["grpo"]["step"]) == (3, 1)


def test_merge_writes_merged_weights_and_keeps_the_adapter(tiny_model_dir, train_settings, tmp_path):
    from sqlbench.inference.models import load_model, resolve_model_path
    from sqlbench.training.job import run_train

    settings = train_settings(model=str(tiny_model_dir), stage="grpo", max_steps=1, merge=True,
                              max_completion_length=8)
    path = run_train(settings, Secrets(), run_dir=tmp_path / "merged", log=lambda s: None)
    assert (path / "model" / "model.safetensors").is_file() and not (path / "model" / "adapter_config.json").exists()
    assert (path / "adapter" / "adapter_config.json").is_file()
    assert resolve_model_path(path) == path / "model"
    model, tok = load_model(path)
    assert not hasattr(model, "peft_config") and tok.padding_side == "left"


def test_a_run_started_from_another_runs_adapter_keeps_that_training(tiny_model_dir, train_settings, tmp_path):
    """SFT in one run, GRPO in the next from it (the Quickstart's real loop does this):
    the second run trains a new adapter on the first one's merged weights, so its result
    must carry both. Saved as an adapter alone it named the original base, and the
    SFT stage was silently lost from the final model."""
    import torch

    from sqlbench.inference.models import adapter_base, load_model
    from sqlbench.training.job import run_train

    sft = run_train(train_settings(model=str(tiny_model_dir), stage="sft", max_steps=4, sft_learning_rate=5e-2,
                                   limit=16), Secrets(), run_dir=tmp_path / "sft", log=lambda s: None)
    assert adapter_base(sft / "model") is not None  # LoRA: the SFT run is an adapter
    said = []
    grpo = run_train(train_settings(model=str(sft), stage="grpo", max_steps=1, learning_rate=1e-9,
                                    max_completion_length=8), Secrets(), run_dir=tmp_path / "grpo", log=said.append)
    assert adapter_base(grpo / "model") is None and (grpo / "adapter" / "adapter_config.json").is_file()
    assert any("saving merged weights" in line for line in said), said

    def weights(spec):
        model, _ = load_model(spec, device="cpu")
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    base, first, second = weights(tiny_model_dir), weights(sft), weights(grpo)
    moved = [k for k in base if not torch.allclose(base[k], first[k])]
    assert moved  # SFT changed the weights it adapts
    for k in moved:  # GRPO at a vanishing learning rate: the result is the SFT model, not the base
        assert torch.allclose(second[k], first[k], atol=1e-4), k
