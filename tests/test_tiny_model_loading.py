"""sqlbench.inference.models: every kind of --model spec resolves and loads, or fails in one line."""

from __future__ import annotations

import json
import shutil

import pytest

from sqlbench.errors import ProviderError
from sqlbench.inference.models import adapter_base, load_model, resolve_model_path


def test_model_folder_and_run_directory(tiny_model_dir, tmp_path):
    assert resolve_model_path(tiny_model_dir) == tiny_model_dir
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"kind": "train", "status": "running"}))
    with pytest.raises(ProviderError, match="holds no model yet"):
        resolve_model_path(run)
    for n in (2, 10):  # while training: the newest checkpoint (numeric order, not text order)
        shutil.copytree(tiny_model_dir, run / "checkpoints" / f"checkpoint-{n}")
    assert resolve_model_path(run) == run / "checkpoints" / "checkpoint-10"
    shutil.copytree(tiny_model_dir, run / "model")
    assert resolve_model_path(run) == run / "model"
    model, tok = load_model(run)
    assert tok.padding_side == "left" and not model.training


def test_adapter_folder_loads_base_plus_adapter(tiny_model_dir, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.fill_(0.01)  # a visible change
    peft.save_pretrained(tmp_path / "adapter")
    assert adapter_base(tmp_path / "adapter") == str(tiny_model_dir)
    merged, tok = load_model(tmp_path / "adapter")
    plain, _ = load_model(tiny_model_dir)
    ids = tok("SELECT 1", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert not torch.allclose(merged(ids).logits, plain(ids).logits)
    assert tok.eos_token == "<|im_end|>"  # the base's tokenizer when the adapter has none


def test_bad_specs_are_provider_errors(tmp_path, monkeypatch):
    with pytest.raises(ProviderError, match="no such model folder"):
        resolve_model_path(tmp_path / "missing")
    (tmp_path / "file.bin").write_text("x")
    with pytest.raises(ProviderError, match="must be a folder"):
        resolve_model_path(tmp_path / "file.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProviderError, match="not a model folder"):
        resolve_model_path(tmp_path / "empty")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "adapter_config.json").write_text("{not json")
    with pytest.raises(ProviderError, match="not valid JSON"):
        load_model(tmp_path / "broken")


def test_hub_id_is_real_loading_that_fails_offline_in_one_line(monkeypatch):
    """The Hub path is the real from_pretrained; with no network it is a ProviderError."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    assert resolve_model_path("someone/not-cached-model") == "someone/not-cached-model"
    with pytest.raises(ProviderError, match="cannot load model someone/not-cached-model") as e:
        load_model("someone/not-cached-model")
    assert "\n" not in str(e.value)
