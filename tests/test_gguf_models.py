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


def test_gguf_file_flag_on_every_command_that_takes_a_model(tmp_path):
    """--gguf-file is parsed by every command that takes --model."""
    from sqlbench.cli import build_parser

    parser = build_parser()
    for cmd in ("train", "eval", "chat", "serve", "distill"):
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


# ---- --gguf-file (and <section>.gguf_file) on every command that takes a model ----------------

COMMANDS = {  # each command's cheapest invocation that loads --model
    "chat": ["--once", "How many riders?", "--json", "--max-new-tokens", "4", "--temperature", "0"],
    "serve": ["--port", "0", "--quiet"],
    "eval": ["--limit", "1", "--max-new-tokens", "4"],
    "train": ["--max-steps", "1", "--limit", "4"],
    "distill": ["--provider", "transformers", "--limit", "1", "--max-tokens", "4"],
}


@pytest.fixture(scope="module")
def two_ggufs(warm_tiny_model_dir, tmp_path_factory):
    """A folder holding two different GGUF files of the tiny student (F16 and F32)."""
    pytest.importorskip("gguf", reason="the GGUF tests need the gguf package (pip install gguf)")
    folder = tmp_path_factory.mktemp("two-ggufs")
    write_gguf(warm_tiny_model_dir, folder / "a.F16.gguf", qtype="F16")
    write_gguf(warm_tiny_model_dir, folder / "b.F32.gguf")
    return folder


def _config(tmp_path, extra: str = "") -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"runs_dir: {tmp_path / 'runs'}\ncache_dir: {tmp_path / 'cache'}\n{extra}")
    return str(cfg)


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    from sqlbench.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_folder_of_several_ggufs_is_one_line_exit_2_on_every_command(command, two_ggufs, tmp_path, capsys):
    cfg = _config(tmp_path)
    code, _, err = _main(capsys, "--config", cfg, command, "--model", str(two_ggufs), *COMMANDS[command])
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"sqlbench {command}: error: ") and "a.F16.gguf, b.F32.gguf" in line
    assert "--gguf-file NAME" in line
    code, _, err = _main(capsys, "--config", cfg, command, "--model", str(two_ggufs), "--gguf-file", "c.gguf",
                         *COMMANDS[command])
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"sqlbench {command}: error: ") and "no GGUF file named c.gguf" in line
    assert "a.F16.gguf, b.F32.gguf" in line
    assert not list((tmp_path / "cache").glob("gguf/*/config.json"))  # refused before converting anything


def _converted(tmp_path) -> list[str]:
    return sorted(json.loads(m.read_text())["file"] for m in (tmp_path / "cache").glob("gguf/*/sqlbench-gguf.json"))


def test_gguf_file_picks_one_for_chat_eval_and_the_distill_teacher(two_ggufs, tmp_path, capsys):
    cfg = _config(tmp_path)
    pick = ["--model", str(two_ggufs), "--gguf-file", "b.F32.gguf"]
    code, out, err = _main(capsys, "--config", cfg, "chat", *pick, *COMMANDS["chat"])
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["question"] == "How many riders?"
    assert _converted(tmp_path) == ["b.F32.gguf"]  # only the chosen file was converted
    code, _, err = _main(capsys, "--config", cfg, "eval", *pick, *COMMANDS["eval"], "--run-dir", str(tmp_path / "ev"))
    assert code == 0, err
    assert json.loads((tmp_path / "ev" / "eval.json").read_text())["n"] == 1
    code, _, err = _main(capsys, "--config", cfg, "distill", *pick, *COMMANDS["distill"],
                         "--run-dir", str(tmp_path / "d"))
    assert code == 0, err
    # the run records one model spec, so resuming it needs no flag
    import yaml

    stored = yaml.safe_load((tmp_path / "d" / "config.yaml").read_text())["distill"]
    assert stored["model"] == f"{two_ggufs}/b.F32.gguf" and stored["gguf_file"] is None
    assert _converted(tmp_path) == ["b.F32.gguf"]


def test_gguf_file_config_key_per_section_and_its_bad_uses(two_ggufs, tmp_path):
    """`<section>.gguf_file` in config.yaml works like the flag, for each of the five
    sections; a flag given now wins over it."""
    from sqlbench.cli import build_parser
    from sqlbench.commands.base import load_context

    sections = ("chat", "serve", "eval", "train", "distill")
    cfg = _config(tmp_path, "".join(f"{s}:\n  model: {two_ggufs}\n  gguf_file: a.F16.gguf\n" for s in sections))
    for section in sections:
        args = build_parser().parse_args(["--config", cfg, section])
        ctx = load_context(args, section, {})
        sec = getattr(ctx.settings, section)
        assert (sec.model, sec.gguf_file) == (f"{two_ggufs}/a.F16.gguf", None)
        ctx = load_context(args, section, {"gguf_file": "b.F32.gguf"})
        assert getattr(ctx.settings, section).model == f"{two_ggufs}/b.F32.gguf"
        # folding twice (a resumed run's stored spec, the flag given again) changes nothing
        assert with_gguf_file(getattr(ctx.settings, section).model, "b.F32.gguf") == f"{two_ggufs}/b.F32.gguf"
    args = build_parser().parse_args(["--config", cfg, "distill"])
    with pytest.raises(ConfigError, match="for the local Transformers teacher, not --provider OpenAI"):
        load_context(args, "distill", {"provider": "openai"})
    with pytest.raises(ConfigError, match="smollm2-135m is a named student"):
        with_gguf_file("smollm2-135m", "x.gguf")
    with pytest.raises(ConfigError, match="is a file already"):
        with_gguf_file(str(two_ggufs / "a.F16.gguf"), "b.F32.gguf")


def test_serve_loads_the_chosen_gguf(two_ggufs, tmp_path):
    """The real CLI, serving the file --gguf-file names, answering over loopback HTTP."""
    import os
    import subprocess
    import urllib.request

    from tests.test_chat_cli import SQLBENCH

    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([*SQLBENCH, "--config", _config(tmp_path), "serve", "--model", str(two_ggufs),
                             "--gguf-file", "b.F32.gguf", "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()  # blocks until the server is ready (or the process ends)
        assert "listening on http://" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split("listening on ")[1].split()[0]
        with urllib.request.urlopen(f"{url}/models", timeout=30) as r:
            ids = [m["id"] for m in json.loads(r.read())["data"]]
        assert ids == [f"{two_ggufs}/b.F32.gguf"]
        assert _converted(tmp_path) == ["b.F32.gguf"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()


def test_a_model_naming_nothing_and_a_gguf_too_large_are_one_line_exit_2(tiny_gguf, tmp_path, capsys, monkeypatch):
    """Through the CLI: what was tried, and the GGUF's size beside the memory available."""
    import sqlbench.inference.gguf_convert as gc

    cfg = _config(tmp_path)
    nope = tmp_path / "nope"
    code, _, err = _main(capsys, "--config", cfg, "eval", "--model", str(nope), "--limit", "1")
    assert code == 2 and err.strip().splitlines() == [
        f"sqlbench eval: error: {nope}: no such model folder or file, and not an alias (tiny, smollm2-135m) "
        "or a Hub id"]
    monkeypatch.setattr(gc, "available_memory", lambda: 2_000_000)
    code, _, err = _main(capsys, "--config", cfg, "chat", "--model", str(tiny_gguf), "--once", "hi")
    lines = [x for x in err.strip().splitlines() if "error" in x]
    assert code == 2 and len(lines) == 1, err
    assert "too large for this machine's memory" in lines[0] and "2 MB is available" in lines[0]
    assert f"{tiny_gguf.stat().st_size / 1e6:.0f} MB on disk" in lines[0]
    assert not list((tmp_path / "cache").glob("gguf/*/config.json"))
