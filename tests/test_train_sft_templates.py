"""SFT trains on the answer only whatever the chat template: marked by the model, marked
on a copy by sqlbench (ChatML without markers, as SmolLM2 ships), or prompt-completion
rows for a template nobody can mark. The labels the trainer built are the proof."""

from __future__ import annotations

import shutil

import pytest

from sqlbench.config import Secrets
from sqlbench.runs import RunDir

pytestmark = pytest.mark.slow

# SmolLM2-135M-Instruct's template: ChatML, a default system turn, no generation markers
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# A template of no known family
PLAIN_TEMPLATE = (
    "{% for message in messages %}### {{ message['role'] }}:\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}### assistant:\n{% endif %}"
)


def _with_template(src, dst, template):
    shutil.copytree(src, dst)
    (dst / "chat_template.jinja").write_text(template)
    return dst


def _rows(tokenizer, n=8):
    from sqlbench.prompts import prompt_token_counter
    from sqlbench.data.loader import load_training_tasks
    from sqlbench.training.data import sft_rows

    return sft_rows(load_training_tasks(None)[:n], count_tokens=prompt_token_counter(tokenizer),
                    max_prompt_tokens=200)


def _trained_text(trainer, tokenizer, i):
    ex = trainer.train_dataset[i]
    ids = [t for t, lab in zip(ex["input_ids"], ex["labels"]) if lab != -100]
    assert ids, "no token carries loss"
    # the trained tokens are one contiguous run (the answer), no prompt token among them
    on = [j for j, lab in enumerate(ex["labels"]) if lab != -100]
    assert on == list(range(on[0], on[-1] + 1))
    return tokenizer.decode(ids)


@pytest.mark.parametrize("template, expect_line, answer_end", [
    (SMOLLM2_TEMPLATE, "SFT loss: assistant turn only (generation markers added to a copy of the model's ChatML "
                       "chat template)", "<|im_end|>"),
    (PLAIN_TEMPLATE, "SFT loss: completion only (TRL cannot mark the assistant turn in this chat template; "
                     "prompt-completion rows)", "<|im_end|>\n"),
])
def test_loss_covers_only_the_answer(tiny_model_dir, tmp_path, template, expect_line, answer_end):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sqlbench.training.sft import sft_config
    from sqlbench.training.templates import make_answer_sft_trainer

    folder = _with_template(tiny_model_dir, tmp_path / "m", template)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    rows = _rows(tok)
    said = []
    args = sft_config(tmp_path / "out", max_steps=2, batch_size=4, max_length=512, cpu=True)
    trainer = make_answer_sft_trainer(model, tok, rows, args, log=said.append)
    assert said == [expect_line]
    assert tok.chat_template == template  # the model keeps its own template
    for i, row in enumerate(rows):
        assert _trained_text(trainer, tok, i) == row["messages"][-1]["content"] + answer_end
    trainer.train()
    assert trainer.state.global_step == 2


def test_sft_job_trains_a_model_with_an_unmarked_chatml_template(tiny_model_dir, train_settings, tmp_path):
    """Before: TRL's raw ValueError ("The chat template is not training-compatible"). Now
    it trains, says how the loss is kept on the answer, and saves the model's own template."""
    from transformers import AutoTokenizer

    from sqlbench.training.job import run_train

    folder = _with_template(tiny_model_dir, tmp_path / "smol-like", SMOLLM2_TEMPLATE)
    said = []
    settings = train_settings(model=str(folder), stage="sft", max_steps=2, limit=12, eval_split=2,
                              per_device_train_batch_size=4)
    path = run_train(settings, Secrets(), run_dir=tmp_path / "sft", log=said.append)
    assert RunDir(path).status == "finished"
    assert "SFT loss: assistant turn only (generation markers added to a copy of the model's ChatML chat template)" \
        in said
    assert AutoTokenizer.from_pretrained(path / "model").chat_template == SMOLLM2_TEMPLATE


def test_a_marked_template_is_used_as_is(tiny_model_dir):
    from transformers import AutoTokenizer

    from sqlbench.training.templates import plan_sft_loss

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    plan = plan_sft_loss(tok, _rows(tok, 2))
    assert (plan.mode, plan.chat_template) == ("assistant", None)
    assert plan.line == "SFT loss: assistant turn only (the chat template marks it)"
