"""The GPU paths' logic on a CPU machine: device choice, vLLM loading a train run (base +
LoRA, or merged weights), the vLLM teacher's prompt fitting and per-request errors, and
Unsloth's import order, fast_inference and merged save.

vllm and unsloth cannot run here: these tests put small fakes of the slice of their API
sqlbench calls into ``sys.modules`` and assert the calls made. tests/gpu/ runs the real ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import types
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from sqlbench.devices import Devices, check_spec, pick_device
from sqlbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


# ---- device -----------------------------------------------------------------------------
def test_auto_picks_cuda_when_present_and_an_absent_device_is_one_line():
    assert pick_device("auto", Devices(cuda=0)) == "cpu"
    assert pick_device(None, Devices(cuda=2)) == "cuda"
    assert pick_device("cuda:1", Devices(cuda=2)) == "cuda:1"
    assert pick_device("CPU", Devices(cuda=2)) == "cpu"
    assert pick_device("mps", Devices(mps=True)) == "mps"
    for spec, have, says in [("cuda", Devices(), "no CUDA GPU"), ("cuda:2", Devices(cuda=2), "has 2 CUDA GPU"),
                             ("mps", Devices(), "Metal"), ("gpu", Devices(cuda=1), "not a device")]:
        with pytest.raises(ConfigError, match=says) as info:
            pick_device(spec, have)
        assert "\n" not in str(info.value)
    with pytest.raises(ConfigError):
        check_spec("cuda:x")


def _cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqlbench", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env or {})},
                          timeout=600)


def test_eval_chat_and_serve_refuse_a_device_this_machine_lacks(tiny_model_dir, tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: --device cuda is not refused here")
    for cmd in (["eval", "--limit", "2"], ["chat", "--once", "hi"], ["serve", "--port", "0"]):
        proc = _cli(*cmd, "--model", str(tiny_model_dir), "--device", "cuda", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].endswith(
            "--device cuda: this machine has no CUDA GPU (torch sees none); use --device cpu or auto"), proc.stderr
    assert not (tmp_path / "runs").exists()  # eval refused before its run directory existed
    proc = _cli("eval", "--device", "gpu", cwd=tmp_path)
    assert proc.returncode == 2 and "not a device" in proc.stderr


def test_load_model_places_the_model_on_the_picked_device(tiny_model_dir, monkeypatch):
    from sqlbench import devices
    from sqlbench.inference.models import load_model

    seen = []
    real = devices.pick_device
    monkeypatch.setattr(devices, "pick_device", lambda spec="auto", have=None: seen.append(spec) or real(spec, have))
    model, _ = load_model(tiny_model_dir)
    assert seen == ["auto"] and str(model.device) == ("cuda:0" if devices.Devices.probe().cuda else "cpu")


# ---- fake vllm ----------------------------------------------------------------------------
class _FakeLLM:
    """The slice of vllm.LLM sqlbench calls; refuses any prompt containing BOOM, as vLLM
    refuses a prompt it cannot take (and with it the whole list it came in)."""

    made: list["_FakeLLM"] = []
    tokenizer = None

    def __init__(self, model, **kwargs):
        self.model, self.kwargs = model, kwargs
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=kwargs.get("max_model_len", 256)))
        self.calls: list[tuple[str, int, dict]] = []
        _FakeLLM.made.append(self)

    def get_tokenizer(self):
        return _FakeLLM.tokenizer

    def _out(self, text_in: str):
        return SimpleNamespace(prompt_token_ids=[1] * 5,
                               outputs=[SimpleNamespace(text=f"<think>ok</think><sql>SELECT 1</sql>", token_ids=[1, 2],
                                                        finish_reason="stop")])

    def chat(self, conversations, sampling_params, use_tqdm=False):
        self.calls.append(("chat", len(conversations), {}))
        if any("BOOM" in m["content"] for conv in conversations for m in conv):
            raise ValueError("The decoder prompt is longer than the maximum model length\nmore detail")
        return [self._out(conv[-1]["content"]) for conv in conversations]

    def generate(self, prompts, sampling_params, use_tqdm=False, **kwargs):
        self.calls.append(("generate", len(prompts), kwargs))
        return [self._out(p) for p in prompts]


@pytest.fixture
def fake_vllm(monkeypatch, tiny_model_dir):
    from transformers import AutoTokenizer

    vllm = types.ModuleType("vllm")
    vllm.LLM = _FakeLLM
    vllm.SamplingParams = lambda **kw: SimpleNamespace(**kw)
    lora_pkg = types.ModuleType("vllm.lora")
    req = types.ModuleType("vllm.lora.request")
    req.LoRARequest = lambda name, lora_id, path: SimpleNamespace(lora_name=name, lora_int_id=lora_id, lora_path=path)
    for name, mod in (("vllm", vllm), ("vllm.lora", lora_pkg), ("vllm.lora.request", req)):
        monkeypatch.setitem(sys.modules, name, mod)
    _FakeLLM.made = []
    _FakeLLM.tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return vllm


def _adapter(tmp_path: Path, base: Path, *, r: int = 16) -> Path:
    """A train run's model/ as LoRA training leaves it: an adapter naming its base."""
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "model" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base), "r": r}))
    (run / "model" / "tokenizer_config.json").write_text("{}")
    return run


def _cuda_machine(monkeypatch):
    from sqlbench import devices
    from sqlbench.inference import chat

    monkeypatch.setattr(devices.Devices, "probe", classmethod(lambda cls: cls(cuda=1)))
    monkeypatch.setattr(chat, "_vllm_available", lambda: True)


def test_vllm_chat_loads_a_train_runs_adapter_on_its_base_with_lora(fake_vllm, tiny_model_dir, tmp_path,
                                                                    monkeypatch):
    from sqlbench.inference.chat import GenParams, load_engine
    from sqlbench.config import Settings

    _cuda_machine(monkeypatch)
    run = _adapter(tmp_path, tiny_model_dir, r=12)
    said = []
    engine = load_engine(str(run), Settings(), announce=said.append)
    (llm,) = _FakeLLM.made
    assert llm.model == str(tiny_model_dir)  # the base, not the adapter folder vLLM cannot load
    assert llm.kwargs["enable_lora"] is True and llm.kwargs["max_lora_rank"] == 16  # vLLM's slot for r=12
    assert llm.kwargs["tokenizer"] == str(run / "model") and "LoRA adapter" in said[0]
    result = engine.generate([{"role": "user", "content": "hi"}], GenParams(max_new_tokens=8), lambda t: None)
    (call,) = llm.calls
    req = call[2]["lora_request"]
    assert (req.lora_name, req.lora_int_id, req.lora_path) == ("sqlbench", 1, str(run / "model"))
    assert result.text.endswith("</sql>")


def test_vllm_serve_loads_merged_weights_as_a_plain_model(fake_vllm, tiny_model_dir, tmp_path, monkeypatch):
    from sqlbench.inference.chat import GenParams, load_engine
    from sqlbench.config import Settings

    _cuda_machine(monkeypatch)
    run = tmp_path / "merged"
    run.mkdir()
    (run / "run.json").write_text("{}")
    os.symlink(tiny_model_dir, run / "model")  # --merge: RUN/model holds full weights
    engine = load_engine(str(run), Settings(tensor_parallel_size=2))
    (llm,) = _FakeLLM.made
    assert llm.model == str(run / "model") and llm.kwargs == {"tensor_parallel_size": 2}
    engine.generate([{"role": "user", "content": "hi"}], GenParams(max_new_tokens=8), lambda t: None)
    assert llm.calls[0][2] == {}  # no LoRA request


def test_device_cpu_keeps_chat_off_vllm(fake_vllm, tiny_model_dir, monkeypatch):
    from sqlbench.inference.chat import load_engine
    from sqlbench.config import Settings

    _cuda_machine(monkeypatch)
    engine = load_engine(str(tiny_model_dir), Settings(device="cpu"))
    assert engine.name == "transformers" and not _FakeLLM.made


def _vllm_teacher(tmp_path, monkeypatch, *, max_prompt_length: int = 512):
    from sqlbench.config import Secrets, Settings
    from sqlbench.distill.options import resolve_options
    from sqlbench.providers import build_provider
    from sqlbench.providers import vllm as vllm_provider

    monkeypatch.setattr(vllm_provider, "check_available", lambda: None)
    s = Settings(max_prompt_length=max_prompt_length)
    s.distill.provider = "vLLM"
    s.distill.model = "some/teacher"
    s.distill.retries = 0
    opts = resolve_options(s, Secrets())
    return opts, build_provider(opts.provider)


def test_vllm_teacher_fits_prompts_and_fails_only_the_sample_vllm_refuses(fake_vllm, tmp_path, monkeypatch):
    from sqlbench.distill.sample import ask
    from sqlbench.prompts import build_messages
    from sqlbench.data.loader import load_training_tasks

    opts, provider = _vllm_teacher(tmp_path, monkeypatch)
    task = load_training_tasks(None, limit=1)[0]
    big = replace(task, id="big", context=task.context + "\n" + "\n".join(
        f"INSERT INTO t VALUES ({i}, 'row number {i} with some words');" for i in range(300)))
    boom = replace(task, id="boom", question="BOOM " + task.question)
    huge = replace(task, id="huge", question="why " * 400)

    async def go():
        await provider.start()
        try:
            return await asyncio.gather(*(ask(provider, t, 0, opts) for t in (task, big, boom, huge)))
        finally:
            await provider.aclose()

    ok, fitted, refused, too_long = asyncio.run(go())
    # the context the model was loaded with (256) bounds the prompt budget, below max_prompt_length (512)
    assert provider.max_prompt_tokens == 256
    assert provider.count_prompt_tokens(fitted["messages"]) <= 256 < provider.count_prompt_tokens(
        build_messages(big, opts.system_prompt))
    assert ok["status"] == fitted["status"] == "ok" and ok["sql"] == "SELECT 1"
    assert refused["status"] != "ok" and "vLLM refused this prompt: The decoder prompt is longer" in refused["error"]
    assert too_long["status"] != "ok" and "does not fit the model's context of 256 tokens" in too_long["error"]
    # the batch vLLM refused was retried prompt by prompt; the over-long prompt never reached it
    (llm,) = _FakeLLM.made
    assert all("why why" not in json.dumps(c) for c in llm.calls)


# ---- Unsloth ------------------------------------------------------------------------------
class _UnslothModel:
    peft_config = {"default": object()}

    def __init__(self):
        self.calls = []

    def save_pretrained(self, path):
        self.calls.append(("save_pretrained", Path(path).name))
        Path(path).mkdir(parents=True, exist_ok=True)

    def save_pretrained_merged(self, path, tokenizer, save_method):
        self.calls.append(("save_pretrained_merged", save_method))
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "config.json").write_text("{}")

    def merge_and_unload(self):
        raise AssertionError("an Unsloth 4-bit model is merged by its own merged save")


def test_unsloth_hand_off_uses_its_merged_16bit_save(tmp_path):
    from sqlbench.training.job import _save_model

    model = _UnslothModel()
    tok = SimpleNamespace(padding_side="right", save_pretrained=lambda p: Path(p).mkdir(parents=True, exist_ok=True))
    _save_model(model, tok, tmp_path / "sft" / "model", merge=True, adapter_dir=tmp_path / "adapter")
    assert model.calls == [("save_pretrained", "adapter"), ("save_pretrained_merged", "merged_16bit")]
    assert (tmp_path / "sft" / "model" / "config.json").is_file() and not (tmp_path / "sft" / ".model.saving").exists()


FAKE_UNSLOTH = '''
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps({"imported_before_unsloth": [m for m in ("transformers", "trl", "peft") if m in sys.modules]}) + "\\n")

class FastLanguageModel:
    @staticmethod
    def from_pretrained(**kwargs):
        with open(os.environ["FAKE_LOG"], "a") as f:
            f.write(json.dumps({"from_pretrained": kwargs}) + "\\n")
        raise RuntimeError("fake unsloth: nothing to train on here")
'''


@pytest.mark.parametrize("stage,fast", [("grpo", True), ("sft", False)])
def test_train_imports_unsloth_first_and_asks_for_fast_inference_with_colocated_vllm(
        tiny_model_dir, distilled_run_dir, tmp_path, stage, fast):
    """A real `sqlbench train` on a machine that claims CUDA, with fake unsloth and vllm
    installed: unsloth is imported before transformers/trl/peft, and GRPO with colocated
    vLLM loads through Unsloth with fast_inference (SFT without)."""
    fakes = tmp_path / "fakes"
    (fakes / "unsloth").mkdir(parents=True)
    (fakes / "unsloth" / "__init__.py").write_text(textwrap.dedent(FAKE_UNSLOTH))
    (fakes / "vllm").mkdir()
    (fakes / "vllm" / "__init__.py").write_text("")
    (fakes / "sitecustomize.py").write_text("import torch\ntorch.cuda.is_available = lambda: True\n")
    log = tmp_path / "unsloth.jsonl"
    proc = _cli("train", "--model", str(tiny_model_dir), "--dataset-repo-id", str(distilled_run_dir),
                "--stage", stage, "--max-steps", "1", "--run-dir", str(tmp_path / "run"), cwd=tmp_path,
                env={"PYTHONPATH": os.pathsep.join([str(fakes), str(ROOT)]), "FAKE_LOG": str(log)})
    assert "fake unsloth: nothing to train on here" in proc.stderr, proc.stderr[-2000:]
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert recs[0] == {"imported_before_unsloth": []}
    kwargs = recs[1]["from_pretrained"]
    assert kwargs["load_in_4bit"] is True and Path(kwargs["model_name"]) == tiny_model_dir.resolve()
    assert kwargs.get("fast_inference", False) is fast
    if fast:
        assert kwargs["max_lora_rank"] == 16


# ---- Ray actors and GPUs ------------------------------------------------------------------
def _opts(provider: str, **top):
    from sqlbench.config import Secrets, Settings
    from sqlbench.distill.options import resolve_options

    s = Settings(**top)
    s.distill.provider = provider
    s.distill.model = "m"
    return resolve_options(s, Secrets())


def test_ray_actors_ask_for_the_gpus_their_teacher_needs_one_model_each():
    from sqlbench.distill.ray_backend import actor_plan
    from sqlbench.errors import ProviderError

    # an HTTP teacher: no GPU, one actor per CPU
    assert actor_plan(_opts("OpenAI"), {"CPU": 16, "GPU": 8}) == (16, 0.0)
    # a vLLM teacher: its tensor-parallel GPUs per actor, as many actors as the GPUs hold
    assert actor_plan(_opts("vLLM", tensor_parallel_size=2), {"CPU": 64, "GPU": 8}) == (4, 2.0)
    # a Transformers teacher: one GPU each where there are GPUs, none on a CPU cluster or with device cpu
    assert actor_plan(_opts("Transformers"), {"CPU": 64, "GPU": 8}) == (8, 1.0)
    assert actor_plan(_opts("Transformers"), {"CPU": 4}) == (4, 0.0)
    assert actor_plan(_opts("Transformers", device="cpu"), {"CPU": 4, "GPU": 8}) == (4, 0.0)
    # ray_num_gpus overrides: fractional shares pack several actors on one GPU
    assert actor_plan(_opts("Transformers", ray_num_gpus=0.5), {"CPU": 64, "GPU": 2}) == (4, 0.5)
    with pytest.raises(ProviderError, match=r"needs 1 GPU\(s\) and the Ray cluster has 0; .*ray_num_gpus: 0"):
        actor_plan(_opts("vLLM"), {"CPU": 8})


def test_the_gpu_suite_says_why_it_skips(monkeypatch, tmp_path, tiny_model_dir):
    import torch

    from tests.gpu.conftest import GPU_MODEL_ENV, gpu_skip_reason

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_skip_reason() == "GPU smoke suite: no CUDA GPU on this machine"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv(GPU_MODEL_ENV, raising=False)
    assert "set SQLBENCH_GPU_MODEL to a local model folder" in gpu_skip_reason()
    monkeypatch.setenv(GPU_MODEL_ENV, str(tmp_path))
    assert "is not a local model folder" in gpu_skip_reason()
    monkeypatch.setenv(GPU_MODEL_ENV, str(tiny_model_dir))
    monkeypatch.setitem(sys.modules, "vllm", None)
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        assert "vllm is not installed" in gpu_skip_reason()
