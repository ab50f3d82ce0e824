"""vLLM provider: an in-process ``vllm.LLM`` generating whole batches on CUDA GPUs
(``tensor_parallel_size`` from config). vLLM is imported only when chosen."""

from __future__ import annotations

from typing import Sequence

from sqlbench.errors import ProviderError
from sqlbench.providers._batcher import MicroBatcher
from sqlbench.providers.base import Completion, GenParams, Provider, in_daemon_thread

INSTALL_HINT = "install it on a CUDA machine with: pip install 'sqlbench[gpu]'"


def check_available() -> None:
    """One-line ProviderError when this machine cannot run vLLM."""
    try:
        import torch
    except ImportError:
        raise ProviderError(f"--provider vLLM needs torch with CUDA and vllm; {INSTALL_HINT}") from None
    if not torch.cuda.is_available():
        raise ProviderError(f"--provider vLLM needs a CUDA GPU (none found); use --provider Transformers on CPU, or {INSTALL_HINT}")
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise ProviderError(f"--provider vLLM: vllm is not installed; {INSTALL_HINT}") from None


class VLLMProvider(Provider):
    name = "vLLM"

    def __init__(self, model: str | None, *, tensor_parallel_size: int = 1, max_batch: int = 64,
                 max_model_len: int | None = None):
        if not model:
            raise ProviderError("--provider vLLM needs --model (a Hub id or a local folder)")
        check_available()
        self.model = model
        self._tp = tensor_parallel_size
        self._max_model_len = max_model_len
        self._llm = None
        self._batcher = MicroBatcher(self._generate, max_batch, gather_s=0.05)

    async def start(self) -> None:
        await in_daemon_thread(self._load)

    def _load(self) -> None:
        from vllm import LLM

        kwargs = {"tensor_parallel_size": self._tp}
        if self._max_model_len:
            kwargs["max_model_len"] = self._max_model_len
        self._llm = LLM(model=self.model, **kwargs)

    def _generate(self, batch: Sequence[list[dict[str, str]]], params: GenParams) -> list[Completion]:
        from vllm import SamplingParams

        sp = SamplingParams(temperature=params.temperature, max_tokens=params.max_tokens, seed=params.seed)
        outs = self._llm.chat(list(batch), sp, use_tqdm=False)
        return [Completion(text=o.outputs[0].text, prompt_tokens=len(o.prompt_token_ids or []),
                           completion_tokens=len(o.outputs[0].token_ids)) for o in outs]

    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        return await self._batcher.submit(messages, params)

    async def aclose(self) -> None:
        await self._batcher.aclose()
