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


# Unsloth patches these at import: imported before it, they train unpatched (slower, more memory)
_PATCHED_BY_UNSLOTH = ("transformers", "trl", "peft")


def import_unsloth_first(log: Callable[[str], None] = print) -> None:
    """Import unsloth before transformers/trl/peft (its patches apply only to modules imported
    after it); says so in one line when something imported them first."""
    import sys

    early = [m for m in _PATCHED_BY_UNSLOTH if m in sys.modules and "unsloth" not in sys.modules]
    import unsloth  # noqa: F401 - GPU only, checked by detect()

    if early:
        log(f"Unsloth: imported after {', '.join(early)}; its speed-ups may be partial")


def load_unsloth(model_name: str, *, max_seq_length: int, lora_r: int, lora_alpha: int,
                 lora_dropout: float, seed: int, fast_inference: bool = False,
                 gpu_memory_utilization: float = 0.6, log: Callable[[str], None] = print):
    """(model with LoRA attached, tokenizer) through Unsloth; GPU only. With
    ``fast_inference`` Unsloth starts its own vLLM engine on the same weights, which TRL's
    colocated GRPO generation then uses (no second copy of the model)."""
    from unsloth import FastLanguageModel  # noqa: imported only with CUDA + unsloth installed

    extra = dict(fast_inference=True, max_lora_rank=lora_r,
                 gpu_memory_utilization=gpu_memory_utilization) if fast_inference else {}
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=str(model_name), max_seq_length=max_seq_length, load_in_4bit=True, **extra,
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
    how = ", vLLM fast inference" if fast_inference else ""
    log(f"Unsloth: loaded {model_name} in 4-bit with LoRA r={lora_r}{how}")
    return model, tokenizer
