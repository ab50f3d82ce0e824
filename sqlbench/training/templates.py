"""SFT loss on the answer only, whatever the model's chat template.

TRL computes assistant-only loss from ``{% generation %}`` markers in the chat template,
and can add them only to templates it knows (Llama 3, Qwen 2.5/3, Gemma, ...). For any
other template sqlbench tries, in order:

1. the template already has markers, or TRL can patch it: TRL's assistant-only loss;
2. a copy of the template with markers, written for the template's family (ChatML,
   Llama-3-style headers) and used only if it renders every training row exactly as
   the model's own template does;
3. else TRL's prompt-completion rows with completion-only loss (the prompt rendered
   with the generation prompt, the loss on what follows).

The choice is said in one line. The model keeps its own template: a marked copy is
used while the trainer tokenises the data and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

# ChatML as Qwen, SmolLM and many others write it; the generation block covers the
# answer and its end-of-turn token, so the model learns to stop.
CHATML_MARKED = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Llama-3-style role headers, content trimmed, <|eot_id|> ending each turn.
LLAMA3_MARKED = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- generation %}{{- message['content'] | trim + '<|eot_id|>' }}{%- endgeneration %}"
    "{%- else %}"
    "{{- message['content'] | trim + '<|eot_id|>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)

FAMILIES = (("ChatML", "<|im_start|>", CHATML_MARKED), ("Llama-3-style", "<|start_header_id|>", LLAMA3_MARKED))


@dataclass
class LossPlan:
    mode: str  # "assistant" (assistant_only_loss) | "completion" (prompt-completion rows)
    chat_template: str | None  # a marked copy to tokenise with, or None
    line: str  # what to tell the user


def _template(tokenizer: Any) -> str | None:
    t = getattr(tokenizer, "chat_template", None)
    return t.get("default") if isinstance(t, dict) else t


def _renders_alike(tokenizer: Any, original: str, candidate: str, rows: Sequence[dict]) -> bool:
    """The candidate renders each conversation, and each prompt with the generation
    prompt, to the same text as the model's own template."""
    try:
        for row in rows:
            msgs = row["messages"]
            for conv, gen in ((msgs, False), (msgs[:-1], True)):
                a = tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen,
                                                  chat_template=original)
                b = tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen,
                                                  chat_template=candidate)
                if a != b:
                    return False
    except Exception:  # noqa: BLE001 - a template that does not render is not a match
        return False
    return True


def plan_sft_loss(tokenizer: Any, rows: Sequence[dict]) -> LossPlan:
    """How SFT keeps the loss on the answer for this tokenizer's template and these rows
    (``{"messages": [..., assistant]}``)."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    original = _template(tokenizer)
    if not original:
        return LossPlan("completion", None, "SFT loss: completion only (the model has no chat template; "
                                            "prompt-completion rows)")
    if has_generation_markers(original):
        return LossPlan("assistant", None, "SFT loss: assistant turn only (the chat template marks it)")
    try:
        get_training_chat_template(tokenizer)
        return LossPlan("assistant", None, "SFT loss: assistant turn only (TRL's training template for this model)")
    except Exception:  # noqa: BLE001 - ValueError for a template TRL does not know
        pass
    for family, signature, candidate in FAMILIES:
        if signature in original and _renders_alike(tokenizer, original, candidate, rows):
            return LossPlan("assistant", candidate,
                            f"SFT loss: assistant turn only (generation markers added to a copy of the model's "
                            f"{family} chat template)")
    return LossPlan("completion", None, "SFT loss: completion only (TRL cannot mark the assistant turn in this "
                                        "chat template; prompt-completion rows)")


def prompt_completion_rows(rows: Sequence[dict]) -> list[dict]:
    """``{"messages": [..., assistant]}`` -> ``{"prompt": [...], "completion": [assistant]}``."""
    return [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]


def make_answer_sft_trainer(model, tokenizer, rows: Sequence[dict], args, *, peft_config=None,
                            callbacks: list | None = None, log: Callable[[str], None] | None = None):
    """sft.make_sft_trainer with the loss on the answer whatever the chat template: the
    plan is said to ``log`` in one line, and a marked copy of the template is in place
    only while the trainer tokenises the rows (the model keeps its own)."""
    from sqlbench.training.sft import make_sft_trainer

    plan = plan_sft_loss(tokenizer, rows)
    if log:
        log(plan.line)
    if plan.mode == "completion":
        rows = prompt_completion_rows(rows)
        args.assistant_only_loss = False
        args.completion_only_loss = True
    own = tokenizer.chat_template
    if plan.chat_template is not None:
        tokenizer.chat_template = plan.chat_template
    try:
        return make_sft_trainer(model, tokenizer, rows, args, peft_config=peft_config, callbacks=callbacks)
    finally:
        tokenizer.chat_template = own
