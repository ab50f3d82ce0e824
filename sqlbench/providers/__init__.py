"""Teacher providers, looked up by case-insensitive name.

``ProviderSpec`` is everything needed to build a provider (plain data, so a Ray worker
can build its own); ``build_provider(spec)`` imports only the chosen provider's module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlbench.errors import ConfigError
from sqlbench.providers.base import Completion, GenParams, Provider, RequestError, TransientError

if TYPE_CHECKING:
    from sqlbench.inference.models import TinyStudent

# canonical name -> (module, class)
PROVIDERS: dict[str, tuple[str, str]] = {
    "OpenAI": ("sqlbench.providers.openai", "OpenAIProvider"),
    "vLLM": ("sqlbench.providers.vllm", "VLLMProvider"),
    "Groq": ("sqlbench.providers.groq", "GroqProvider"),
    "HuggingFace": ("sqlbench.providers.hf", "HuggingFaceProvider"),
    "Transformers": ("sqlbench.providers.local", "TransformersProvider"),
}
_ALIASES = {"hf": "HuggingFace", "local": "Transformers"}

__all__ = ["PROVIDERS", "ProviderSpec", "build_provider", "canonical_name", "Provider", "GenParams",
           "Completion", "TransientError", "RequestError"]


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    for canon in PROVIDERS:
        if canon.lower() == key:
            return canon
    if key in _ALIASES:
        return _ALIASES[key]
    raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)} (case-insensitive)")


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never printed
    timeout: float = 60.0
    max_batch: int = 64
    cache_dir: str = ".cache/sqlbench"
    tensor_parallel_size: int = 1
    max_prompt_tokens: int | None = None
    # Transformers with no model: how to get the tiny student, given from above (building it
    # is training's work)
    tiny: TinyStudent | None = field(default=None, repr=False, compare=False)
    device: str = "auto"  # the Transformers teacher's torch device (sqlbench.devices)

    def public(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model, "base_url": self.base_url}


def build_provider(spec: ProviderSpec) -> Provider:
    name = canonical_name(spec.name)
    module, cls_name = PROVIDERS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    if name == "OpenAI":
        return cls(spec.model, base_url=spec.base_url, api_key=spec.api_key, timeout=spec.timeout,
                   concurrency=spec.max_batch)
    if name == "Groq":
        return cls(spec.model, api_key=spec.api_key, base_url=spec.base_url, timeout=spec.timeout,
                   concurrency=spec.max_batch)
    if name == "HuggingFace":
        return cls(spec.model, token=spec.api_key, base_url=spec.base_url, timeout=spec.timeout)
    if name == "vLLM":
        return cls(spec.model, tensor_parallel_size=spec.tensor_parallel_size, max_batch=spec.max_batch,
                   max_prompt_tokens=spec.max_prompt_tokens)
    return cls(spec.model, cache_dir=spec.cache_dir, max_batch=spec.max_batch, token=spec.api_key,
               max_prompt_tokens=spec.max_prompt_tokens, device=spec.device, tiny=spec.tiny)
