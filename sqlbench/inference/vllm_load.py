"""What vLLM loads for a model spec. A train run's ``model/`` is by default a LoRA adapter,
which ``vllm.LLM(model=...)`` cannot load: vLLM then loads the adapter's base with LoRA
enabled, and every request names the adapter (``LoRARequest``). Merged weights (a run
trained with ``--merge``, or any full model folder) load as they are.

vllm itself is imported only by :func:`load_llm`, on a CUDA machine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlbench.errors import ProviderError

# vLLM accepts only these LoRA ranks for its pre-allocated adapter slots
_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
ADAPTER_NAME = "sqlbench"


@dataclass(frozen=True)
class VllmTarget:
    model: str  # what LLM(model=...) loads
    tokenizer: str | None = None  # the adapter's own tokenizer (its chat template), when it saved one
    lora: str | None = None  # the adapter folder each request names
    lora_rank: int | None = None

    def llm_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.tokenizer:
            kw["tokenizer"] = self.tokenizer
        if self.lora:
            kw.update(enable_lora=True, max_loras=1, max_lora_rank=_slot_rank(self.lora_rank or 16))
        return kw


def _slot_rank(r: int) -> int:
    for slot in _VLLM_LORA_RANKS:
        if r <= slot:
            return slot
    raise ProviderError(f"LoRA rank {r} is larger than vLLM supports ({_VLLM_LORA_RANKS[-1]}); "
                        "train with --merge and load the merged weights")


def vllm_target(where: Path | str, *, cache_dir: str | os.PathLike = ".cache/sqlbench") -> VllmTarget:
    """``where`` is a resolved model path (sqlbench.inference.models.resolve_model_path)."""
    from sqlbench.inference.models import adapter_base, resolve_model_path

    if not isinstance(where, Path):
        return VllmTarget(model=str(where))  # a Hub id: vLLM fetches it
    if (where / "config.json").is_file():
        return VllmTarget(model=str(where))  # full or merged weights
    base = adapter_base(where)
    if base is None:
        return VllmTarget(model=str(where))
    base_where = resolve_model_path(base, cache_dir=cache_dir)
    try:
        rank = int(json.loads((where / "adapter_config.json").read_text()).get("r") or 16)
    except (ValueError, TypeError):
        rank = 16
    tok = str(where) if (where / "tokenizer_config.json").is_file() else None
    return VllmTarget(model=str(base_where), tokenizer=tok, lora=str(where), lora_rank=rank)


def load_llm(target: VllmTarget, *, tensor_parallel_size: int = 1, **extra: Any):
    """``(llm, lora_request or None)``."""
    from vllm import LLM

    llm = LLM(model=target.model, tensor_parallel_size=tensor_parallel_size, **target.llm_kwargs(), **extra)
    return llm, lora_request(target)


def lora_request(target: VllmTarget):
    if not target.lora:
        return None
    from vllm.lora.request import LoRARequest

    return LoRARequest(ADAPTER_NAME, 1, target.lora)
