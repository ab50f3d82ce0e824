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

    cpu = (not torch.cuda.is_available()) if cpu is None else cpu
    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=max_steps,
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        max_length=max_length,
        assistant_only_loss=True,
        packing=False,
        seed=seed,
        data_seed=seed,
        logging_steps=logging_steps,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        report_to=[],
        use_cpu=cpu,
        bf16=False if cpu else extra.pop("bf16", False),
        dataloader_num_workers=0,
        disable_tqdm=True,
        # recomputation saves GPU memory; on CPU it only costs time
        gradient_checkpointing=extra.pop("gradient_checkpointing", not cpu),
        **extra,
    )


def make_sft_trainer(model, tokenizer, rows: Sequence[dict], args, *, peft_config=None,
                     callbacks: list | None = None):
    from datasets import Dataset
    from trl import SFTTrainer

    tokenizer.padding_side = "right"
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(list(rows)),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks or [],
    )


def token_counter(tokenizer) -> Callable[[str], int]:
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def warm_up(model_dir: str | os.PathLike, *, steps: int, seed: int = 0, tasks: Sequence[Task] | None = None,
            learning_rate: float = 3e-3, batch_size: int = 8, max_prompt_tokens: int = 512,
            log: Callable[[str], None] | None = None) -> Path:
    """Full-parameter SFT of the tiny model in place on the bundled tasks (explanation as
    the reasoning), so it emits ``<think>…</think><sql>…</sql>``."""
    import tempfile

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sqlbench.training.data import load_training_tasks, sft_rows

    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tasks = list(tasks) if tasks is not None else load_training_tasks(None)
    # Prompts are fitted exactly as eval and GRPO fit them: a tiny model only handles
    # the positions and prompt shapes it was trained on.
    rows = sft_rows(tasks, count_tokens=token_counter(tokenizer), max_prompt_tokens=max_prompt_tokens)
    with tempfile.TemporaryDirectory(prefix="sqlbench-warm-") as tmp:
        args = sft_config(tmp, max_steps=steps, learning_rate=learning_rate, batch_size=batch_size,
                          max_length=max_prompt_tokens + 256, seed=seed, logging_steps=max(1, steps // 10), cpu=True,
                          lr_scheduler_type="cosine", warmup_steps=min(10, steps // 10),
                          # similar lengths per batch: padding, not the model, dominates CPU time here
                          train_sampling_strategy="group_by_length")
        trainer = make_sft_trainer(model, tokenizer, rows, args)
        result = trainer.train()
        if log:
            log(f"warm-up: {steps} SFT steps, final loss {result.training_loss:.3f}")
    model.save_pretrained(model_dir)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(model_dir)
    return model_dir
