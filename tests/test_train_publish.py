"""--publish-repo-id pushes RUN/model with a model card, against the loopback Hub."""

from __future__ import annotations

import json

import pytest

from sqlbench.config import Secrets
from sqlbench.errors import ConfigError

TOKEN = "hf_trainpublishsecret123456"


def test_train_publishes_adapter_and_card(warm_tiny_model_dir, train_settings, tmp_path, loopback_hub):
    from sqlbench.runs import RunDir
    from sqlbench.training.job import run_train

    settings = train_settings(model=str(warm_tiny_model_dir), max_steps=1, publish_repo_id="me/tiny-sql",
                              max_completion_length=16)
    path = run_train(settings, Secrets(hf_token=TOKEN), run_dir=tmp_path / "run", log=lambda s: None)
    repo = loopback_hub.repos["me/tiny-sql"]
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer.json"} <= set(repo.files)
    card = repo.files["README.md"].decode()
    assert "library_name: peft" in card and str(warm_tiny_model_dir) in card
    assert "| execution | 2 |" in card and "## Final metrics" in card and "grpo: 1 steps" in card
    assert "![learning curves](curves.svg)" in card and repo.files["curves.svg"].startswith(b"<?xml")
    assert f"Bearer {TOKEN}" in loopback_hub.authorizations()
    # the token never lands in the run directory
    for f in path.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".jsonl", ".yaml", ".md"):
            assert TOKEN not in f.read_text(errors="ignore"), f
    assert any(e["type"] == "published" for e in RunDir(path).read("events"))


def test_publish_needs_a_token(tmp_path):
    from sqlbench.training.publish import publish_model

    with pytest.raises(ConfigError, match="HF_TOKEN"):
        publish_model(tmp_path, "me/x", token=None)


def test_card_lists_rewards_and_metrics():
    from sqlbench.training.publish import model_card

    card = model_card({"base_model": "Qwen/Qwen2.5-0.5B-Instruct", "dataset": "me/distilled", "stages": ["sft", "grpo"],
                       "reward_weights": {"execution": 2.0, "format": 0.5}, "lora": None, "train_tasks": 90,
                       "held_out": 10, "sft": {"step": 5}, "grpo": {"step": 7},
                       "final_metrics": {"eval/execution_accuracy": 0.25}}, "me/student")
    assert "base_model: Qwen/Qwen2.5-0.5B-Instruct" in card and "full fine-tune" in card
    assert "| format | 0.5 |" in card and "| eval/execution_accuracy | 0.25 |" in card
    assert "sft: 5 steps" in card and "me/distilled" in card
