"""GPU-only accelerations, each taken only when CUDA is present and its extra is
installed (``pip install sqlbench[gpu]``), and announced in one line:

* Unsloth ``FastLanguageModel``: 4-bit base + LoRA, for SFT and GRPO.
* TRL's vLLM generation in colocate mode for GRPO rollouts.

Nothing here imports unsloth or vllm unless the checks pass, so the CPU path never
touches them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@dataclass(frozen=True)
class Accel:
    cuda: bool
    unsloth: bool
    vllm: bool

    def lines(self) -> list[str]:
        """What the trainer announces."""
        if not self.cuda:
            return ["device: CPU (plain transformers + PEFT; no Unsloth, no vLLM)"]
        out = [f"device: CUDA"]
        out.append("Unsloth: FastLanguageModel, 4-bit + LoRA" if self.unsloth else "Unsloth: not installed")
        out.append("vLLM: colocated GRPO generation" if self.vllm else "vLLM: not installed (generation via transformers)")
        return out


def detect(*, want_unsloth: bool = True, want_vllm: bool = True, full: bool = False) -> Accel:
    cuda = cuda_available()
    # Unsloth's path is 4-bit + LoRA: a full fine-tune stays on plain transformers.
    return Accel(
        cuda=cuda,
        unsloth=cuda and want_unsloth and not full and _installed("unsloth"),
        vllm=cuda and want_vllm and _installed("vllm"),
    )


def load_unsloth(model_name: str, *, max_seq_length: int, lora_r: int, lora_alpha: int,
                 lora_dropout: float, seed: int, log: Callable[[str], None] = print):
    """(model with LoRA attached, tokenizer) through Unsloth; GPU only."""
    from unsloth import FastLanguageModel  # noqa: imported only with CUDA + unsloth installed

    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=str(model_name), max_seq_length=max_seq_length, load_in_4bit=True,
    )
    model = FastLanguageModel.get_peft_model(
        model,
        r=lora_r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        use_gradient_checkpointing="unsloth",
        random_state=seed,
    )
    log(f"Unsloth: loaded {model_name} in 4-bit with LoRA r={lora_r}")
    return model, tokenizer
