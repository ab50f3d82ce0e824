"""Supervised fine-tuning with TRL's SFTTrainer: imitate ``<think>`` reasoning + gold SQL.

Loss is on the assistant turn only (the chat template's ``{% generation %}`` markers),
so the model learns to answer, not to recite schemas.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlbench.records import Task


def sft_config(output_dir: str | os.PathLike, *, max_steps: int = -1, epochs: float = 1.0,
               learning_rate: float = 2e-4, batch_size: int = 4, grad_accum: int = 1,
               max_length: int = 1024, seed: int = 42, logging_steps: int = 1,
               save_steps: int | None = None, cpu: bool | None = None, **extra: Any):
    from trl import SFTConfig

    import torch

    from sqlbench.training.trl_common import common_args

    cpu = (not torch.cuda.is_available()) if cpu is None else cpu
    return SFTConfig(
        max_length=max_length,
        assistant_only_loss=True,
        packing=False,
        **common_args(output_dir, max_steps=max_steps, epochs=epochs, learning_rate=learning_rate,
                      batch_size=batch_size, grad_accum=grad_accum, seed=seed, logging_steps=logging_steps,
                      save_steps=save_steps, cpu=cpu, bf16=False, extra=extra),
    )


def make_sft_trainer(model, tokenizer, rows: Sequence[dict], args, *, peft_config=None,
                     callbacks: list | None = None):
    from trl import SFTTrainer

    from sqlbench.training.trl_common import build_trainer

    return build_trainer(SFTTrainer, model, tokenizer, rows, args, padding_side="right",
                         peft_config=peft_config, callbacks=callbacks)


def warm_up(model_dir: str | os.PathLike, *, steps: int, seed: int = 0, tasks: Sequence[Task] | None = None,
            learning_rate: float = 5e-3, batch_size: int = 8, max_prompt_tokens: int = 256, every: int = 4,
            log: Callable[[str], None] | None = None) -> Path:
    """Full-parameter SFT of the tiny model in place so it emits
    ``<think>…</think><sql>…</sql>``: every ``every``-th bundled task, explanation as the
    reasoning, loss on the assistant turn only.

    A plain PyTorch loop rather than SFTTrainer: for a model this small the trainer's
    per-step bookkeeping costs several times the model's own compute. Many epochs over a
    slice of the data teach the layout far faster than one pass over all of it (the
    layout carries over to unseen tasks; the SQL itself is what GRPO is for).
    """
    import math
    import random

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sqlbench.prompts import prompt_token_counter
    from sqlbench.data.loader import load_training_tasks
    from sqlbench.training.data import sft_rows

    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tasks = list(tasks) if tasks is not None else load_training_tasks(None)[::every]
    # Prompts are fitted as eval and GRPO fit them: a tiny model only handles the
    # positions and prompt shapes it was trained on.
    rows = sft_rows(tasks, count_tokens=prompt_token_counter(tokenizer), max_prompt_tokens=max_prompt_tokens)
    examples = []
    for row in rows:
        enc = tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        ids = enc["input_ids"][: max_prompt_tokens + 256]
        mask = enc["assistant_masks"][: len(ids)]
        examples.append((ids, [i if m else -100 for i, m in zip(ids, mask)]))
    examples.sort(key=lambda e: len(e[0]))
    # batches of neighbours in length: little padding
    batches = [examples[i:i + batch_size] for i in range(0, len(examples), batch_size)]
    rng = random.Random(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    warm = max(1, min(10, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
    pad = tokenizer.pad_token_id
    model.train()
    losses = []
    order: list[int] = []
    for step in range(steps):
        if not order:
            order = list(range(len(batches)))
            rng.shuffle(order)
        batch = batches[order.pop()]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch])
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if log and (step + 1) % max(1, steps // 5) == 0:
            log(f"warm-up step {step + 1}/{steps}: loss {sum(losses[-10:]) / len(losses[-10:]):.3f}")
    model.eval()
    model.save_pretrained(model_dir)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(model_dir)
    return model_dir
