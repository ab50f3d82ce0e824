"""GGUF models through the one resolver (sqlbench.inference.models): converted once into a cached
safetensors folder keyed by the file's hash, and every bad file refused in one line."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys

import pytest

from sqlbench.errors import ConfigError, ProviderError
from sqlbench.inference.models import load_model, resolve_model_path, with_gguf_file
from tests.fixtures.gguf_files import write_gguf, write_raw_gguf

pytestmark = pytest.mark.slow


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_gguf_file_converts_once_and_loads_like_the_original(tiny_gguf, warm_tiny_model_dir, tmp_path, capfd):
    import torch

    cache = tmp_path / "cache"
    folder = resolve_model_path(tiny_gguf, cache_dir=cache)
    err = capfd.readouterr().err
    assert "converting tiny.gguf" in err and "4/4" in err  # the progress bar, on stderr
    digest = hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()
    assert folder == cache / "gguf" / digest[:16]
    meta = json.loads((folder / "sqlbench-gguf.json").read_text())
    assert meta["sha256"] == digest and meta["architecture"] == "qwen2" and meta["file"] == "tiny.gguf"
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    # the second use finds the cache: no conversion
    assert resolve_model_path(tiny_gguf, cache_dir=cache) == folder
    assert "converting" not in capfd.readouterr().err
    # same weights, same tokenizer, same chat template as the model the GGUF was written from
    gguf_model, gguf_tok = load_model(tiny_gguf, cache_dir=cache)
    orig_model, orig_tok = load_model(warm_tiny_model_dir)
    text = "SELECT name FROM riders WHERE country = 'FRA'; <think>x</think> <sql>"
    ids = orig_tok(text, return_tensors="pt")["input_ids"]
    assert gguf_tok(text, return_tensors="pt")["input_ids"].tolist() == ids.tolist()
    with torch.no_grad():
        assert torch.allclose(gguf_model(ids).logits, orig_model(ids).logits, atol=1e-5)
    msgs = [{"role": "user", "content": "hi"}]
    assert gguf_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) == \
        orig_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)


def test_a_copy_of_the_same_file_shares_the_cache_and_a_folder_with_one_gguf_works(tiny_gguf, tmp_path):
    cache = tmp_path / "cache"
    first = resolve_model_path(tiny_gguf, cache_dir=cache)
    folder = tmp_path / "downloaded"
    folder.mkdir()
    shutil.copy(tiny_gguf, folder / "renamed.gguf")
    assert resolve_model_path(folder, cache_dir=cache) == first  # keyed by content, not by name


def test_a_folder_with_several_ggufs_needs_gguf_file(tiny_gguf, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for name in ("a.Q8_0.gguf", "b.F32.gguf"):
        shutil.copy(tiny_gguf, folder / name)
    with pytest.raises(ProviderError) as e:
        resolve_model_path(folder, cache_dir=tmp_path / "cache")
    assert "a.Q8_0.gguf, b.F32.gguf" in _one_line(e) and "--gguf-file NAME" in str(e.value)
    spec = with_gguf_file(str(folder), "b.F32.gguf")
    assert (resolve_model_path(spec, cache_dir=tmp_path / "cache") / "config.json").is_file()
    with pytest.raises(ProviderError, match="no GGUF file named c.gguf .*a.Q8_0.gguf, b.F32.gguf"):
        resolve_model_path(with_gguf_file(str(folder), "c.gguf"), cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="give --model too"):
        with_gguf_file(None, "b.F32.gguf")
    assert with_gguf_file("owner/repo", "x.Q4_K_M.gguf") == "owner/repo/x.Q4_K_M.gguf"


def test_a_quantised_gguf_dequantises_close_to_the_original(warm_tiny_model_dir, tmp_path):
    import torch

    path = write_gguf(warm_tiny_model_dir, tmp_path / "tiny.Q8_0.gguf", qtype="Q8_0")
    model, tok = load_model(path, cache_dir=tmp_path / "cache")
    orig, _ = load_model(warm_tiny_model_dir)
    ids = tok("SELECT COUNT(*) FROM t", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a, b = model(ids).logits, orig(ids).logits
    assert not torch.equal(a, b) and torch.allclose(a, b, atol=0.5)
    assert json.loads((resolve_model_path(path, cache_dir=tmp_path / "cache") / "sqlbench-gguf.json")
                      .read_text())["quant_types"] == ["F32", "Q8_0"]


def test_bad_gguf_files_are_one_line_errors(tiny_gguf, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    garbage = tmp_path / "model.gguf"
    garbage.write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(ProviderError) as e:
        resolve_model_path(garbage, cache_dir=cache)
    assert "not a GGUF file" in _one_line(e)

    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size // 2])
    with pytest.raises(ProviderError) as e:
        resolve_model_path(truncated, cache_dir=cache)
    assert "truncated" in _one_line(e) and "download it again" in str(e.value)
    header_only = tmp_path / "header.gguf"
    header_only.write_bytes(tiny_gguf.read_bytes()[:64])
    with pytest.raises(ProviderError, match="truncated"):
        resolve_model_path(header_only, cache_dir=cache)

    bert = write_raw_gguf(tmp_path / "bert.gguf", arch="bert")
    with pytest.raises(ProviderError) as e:
        resolve_model_path(bert, cache_dir=cache)
    assert "architecture 'bert'" in _one_line(e) and "llama" in str(e.value)

    odd = write_raw_gguf(tmp_path / "odd.gguf", arch="llama", qtype="Q8_K")
    with pytest.raises(ProviderError) as e:
        resolve_model_path(odd, cache_dir=cache)
    assert "quantisation type Q8_K" in _one_line(e)

    not_a_model = tmp_path / "weights.bin"
    not_a_model.write_bytes(b"\0" * 16)
    with pytest.raises(ProviderError, match="must be a folder .* or a .gguf file"):
        resolve_model_path(not_a_model, cache_dir=cache)
    assert not (cache / "gguf").exists() or not list((cache / "gguf").glob("*/sqlbench-gguf.json"))


def test_missing_gguf_package_says_how_to_get_it(tiny_gguf, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # `import gguf` now raises ImportError
    with pytest.raises(ProviderError) as e:
        resolve_model_path(tiny_gguf, cache_dir=tmp_path / "cache")
    assert "needs the gguf package: pip install gguf" in _one_line(e)


def test_a_gguf_too_large_for_memory_is_refused_before_loading(tiny_gguf, tmp_path, monkeypatch):
    import sqlbench.inference.gguf_convert as gc

    monkeypatch.setattr(gc, "available_memory", lambda: 1_000_000)
    with pytest.raises(ProviderError) as e:
        resolve_model_path(tiny_gguf, cache_dir=tmp_path / "cache")
    msg = _one_line(e)
    assert "too large for this machine's memory" in msg and "1 MB is available" in msg
    assert f"{tiny_gguf.stat().st_size / 1e6:.0f} MB on disk" in msg
    assert not list((tmp_path / "cache" / "gguf").glob("*/config.json"))  # nothing was converted


def test_cli_bad_gguf_exits_2_with_one_line(tmp_path):
    from tests.test_chat_cli import run_cli

    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"not a model")
    r = run_cli("eval", "--model", str(bad), "--limit", "1", "--run-dir", str(tmp_path / "ev"), timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [f"sqlbench eval: error: {bad}: not a GGUF file (it does not start "
                                             "with the GGUF signature); give a .gguf model file, a model folder "
                                             "or a Hub id"]


def test_chat_answers_from_a_gguf(tiny_gguf, tmp_path):
    from sqlbench.inference.chat import ChatSession
    from sqlbench.config import Settings

    settings = Settings.model_validate({"cache_dir": str(tmp_path / "cache"), "temperature": 0.0})
    session = ChatSession(str(tiny_gguf), settings=settings)
    try:
        answer = session.ask("How many riders are there?")
        assert session.last_result.completion_tokens > 0 and answer is not None
    finally:
        session.close()


def test_gguf_file_flag_on_train_eval_chat(tmp_path):
    """--gguf-file is parsed by train, eval and chat and becomes part of --model."""
    from sqlbench.cli import build_parser

    parser = build_parser()
    for cmd in ("train", "eval", "chat"):
        args = parser.parse_args([cmd, "--model", "some/folder", "--gguf-file", "x.Q4_1.gguf"])
        assert args.gguf_file == "x.Q4_1.gguf"


def test_one_gguf_feeds_eval_train_and_the_distill_teacher(tiny_gguf, tmp_path):
    """The same GGUF spec works for eval, train and distill's Transformers teacher, all
    sharing one conversion in cache_dir."""
    from sqlbench.config import Secrets, Settings
    from sqlbench.distill import run_distill
    from sqlbench.evaluation.accuracy import run_eval
    from sqlbench.runs import RunDir
    from sqlbench.training.job import run_train
    from tests.fixtures.tiny_model import small_train_settings

    cache = tmp_path / "cache"
    base = {"runs_dir": str(tmp_path / "runs"), "cache_dir": str(cache), "temperature": 0.0}
    ev = run_eval(Settings.model_validate({**base, "eval": {"model": str(tiny_gguf), "limit": 2,
                                                            "max_new_tokens": 16, "batch_size": 2}}),
                  Secrets(), run_dir=tmp_path / "ev")
    assert json.loads((ev / "eval.json").read_text())["n"] == 2
    settings = small_train_settings(tmp_path, model=str(tiny_gguf), max_steps=1, max_completion_length=8)
    settings.cache_dir = str(cache)
    tr = run_train(settings, Secrets(), run_dir=tmp_path / "tr", log=lambda s: None)
    assert RunDir(tr).status == "finished" and (tr / "model" / "adapter_config.json").is_file()
    d = run_distill(Settings.model_validate({**base, "distill": {"provider": "transformers", "model": str(tiny_gguf),
                                                                 "limit": 2, "max_tokens": 8, "batch_size": 2}}),
                    Secrets(), run_dir=tmp_path / "d", progress=False)
    samples = RunDir(d).read("samples")
    assert len(samples) == 2 and all(s["status"] == "ok" for s in samples)
    assert len(list((cache / "gguf").glob("*/sqlbench-gguf.json"))) == 1
