"""What sqlbench's SFT and GRPO runs share on TRL: the training arguments that must
mean the same in both, and how a trainer is built."""

from __future__ import annotations

import os
from typing import Any, Sequence


def common_args(output_dir: str | os.PathLike, *, max_steps: int, epochs: float, learning_rate: float,
                batch_size: int, grad_accum: int, seed: int, logging_steps: int, save_steps: int | None,
                cpu: bool, bf16: bool, extra: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for SFTConfig / GRPOConfig common to both stages. ``bf16`` is
    the stage's own default on a GPU; ``extra`` (the caller's overrides) wins."""
    return dict(
        output_dir=str(output_dir),
        max_steps=max_steps,
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        seed=seed,
        data_seed=seed,
        logging_steps=logging_steps,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        report_to=[],
        use_cpu=cpu,
        bf16=False if cpu else extra.pop("bf16", bf16),
        dataloader_num_workers=0,
        disable_tqdm=True,
        # recomputation saves GPU memory; on CPU it only costs time
        activation_checkpointing=extra.pop("activation_checkpointing", not cpu),
        **extra,
    )


def build_trainer(trainer_cls: Any, model: Any, tokenizer: Any, rows: Sequence[dict], args: Any, *,
                  padding_side: str, peft_config: Any = None, callbacks: list | None = None, **kw: Any):
    """A TRL trainer on ``rows`` without transformers' per-log dict printer (callers add
    a one-line console logger)."""
    from datasets import Dataset
    from transformers import PrinterCallback

    tokenizer.padding_side = padding_side
    trainer = trainer_cls(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(list(rows)),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks or [],
        **kw,
    )
    trainer.remove_callback(PrinterCallback)
    return trainer
