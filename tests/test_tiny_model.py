"""The tiny offline student: offline build, tokenizer round-trip, tags, template, cache, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sqlbench.prompts import build_messages, format_answer, parse_answer
from sqlbench.training import tiny


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_folder_loads_with_auto_classes(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert model.config.model_type == "qwen2"
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.eos_token == tiny.IM_END and tokenizer.pad_token == tiny.PAD
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_ids_survive_a_reload(tiny_model_dir, tok):
    """transformers 5 rebuilds a Qwen2 tokenizer with its own pre-tokenizer on load; ids
    from the freshly trained tokenizer must be the same as after save + reload."""
    from sqlbench.data.loader import load_tasks

    fresh = tiny.build_tokenizer()
    for t in load_tasks(limit=20):
        text = t.question + "\n" + t.context + "\n" + format_answer(t.explanation, t.gold_sql) + " héllo  ünïcode\t\n"
        assert fresh(text)["input_ids"] == tok(text)["input_ids"]
        assert tok.decode(tok(text)["input_ids"]) == text


def test_answer_tags_are_single_normal_tokens(tok):
    for tag in tiny.TAGS:
        ids = tok(tag, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, tag
    text = format_answer("count rows", "SELECT COUNT(*) FROM t;")
    ids = tok(text + tiny.IM_END)["input_ids"]
    decoded = tok.decode(ids, skip_special_tokens=True)
    assert decoded == text  # tags kept, the turn end dropped
    assert parse_answer(decoded).well_formed


def test_chat_template_marks_only_the_assistant_turn(tok):
    answer = format_answer("why", "SELECT 1;")
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
            {"role": "assistant", "content": answer}]
    out = tok.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tok.decode(masked) == answer + tiny.IM_END
    prompt = tok.apply_chat_template(msgs[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")


def test_build_is_cached_and_keyed(tmp_path):
    out = tmp_path / "m"
    tiny.build_tiny_model(out, seed=1)
    marker = out / tiny.MARKER
    first = marker.stat().st_mtime_ns
    assert tiny.build_tiny_model(out, seed=1) == out
    assert marker.stat().st_mtime_ns == first  # not rebuilt
    assert tiny.is_built(out, seed=1) and not tiny.is_built(out, seed=2)
    tiny.build_tiny_model(out, seed=2)  # other parameters: rebuilt in place
    assert json.loads(marker.read_text())["key"]["seed"] == 2
    assert not list(tmp_path.glob(".*building"))


def test_cli_builds_and_reuses(tmp_path):
    out = tmp_path / "cli-model"
    cmd = [sys.executable, "-m", "sqlbench", "tiny-model", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "built in" in first.stdout and (out / "config.json").is_file()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already built" in again.stdout
    bad = subprocess.run(cmd + ["--warm-steps", "-1"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--warm-steps" in bad.stderr and "Traceback" not in bad.stderr


def test_warm_model_answers_in_the_format(warm_tiny_model_dir):
    from sqlbench.data.loader import load_tasks
    from sqlbench.evaluation.accuracy import generate_answers
    from sqlbench.inference.models import load_model

    model, tokenizer = load_model(warm_tiny_model_dir)
    tasks = load_tasks(limit=16)
    texts = generate_answers(model, tokenizer, tasks, max_new_tokens=160, batch_size=8)
    well_formed = sum(parse_answer(t).well_formed for t in texts)
    # ~0.4 M parameters after a short warm-up: the layout, often; the SQL, rarely.
    assert well_formed >= 5, texts[:3]


def test_cold_model_does_not(tiny_model_dir):
    from sqlbench.data.loader import load_tasks
    from sqlbench.evaluation.accuracy import generate_answers
    from sqlbench.inference.models import load_model

    model, tokenizer = load_model(tiny_model_dir)
    texts = generate_answers(model, tokenizer, load_tasks(limit=4), max_new_tokens=24, batch_size=4)
    assert not any(parse_answer(t).well_formed for t in texts)
