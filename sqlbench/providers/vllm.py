"""vLLM provider: an in-process ``vllm.LLM`` generating whole batches on CUDA GPUs
(``tensor_parallel_size`` from config). vLLM is imported only when chosen."""

from __future__ import annotations

from typing import Sequence

from sqlbench.errors import ProviderError
from sqlbench.providers._batcher import MicroBatcher
from sqlbench.providers.base import Completion, GenParams, Provider, RequestError, in_daemon_thread

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
                 max_model_len: int | None = None, max_prompt_tokens: int | None = None):
        if not model:
            raise ProviderError("--provider vLLM needs --model (a Hub id or a local folder)")
        check_available()
        self.model = model
        self._tp = tensor_parallel_size
        self._max_model_len = max_model_len
        self._want_prompt_tokens = max_prompt_tokens
        self.max_prompt_tokens = None  # known once the model (and its context) is loaded
        self._context: int | None = None
        self._llm = None
        self._count = None
        self._batcher = MicroBatcher(self._generate, max_batch, gather_s=0.05)

    async def start(self) -> None:
        await in_daemon_thread(self._load)

    def _load(self) -> None:
        from vllm import LLM

        from sqlbench.prompts import prompt_token_counter

        kwargs = {"tensor_parallel_size": self._tp}
        if self._max_model_len:
            kwargs["max_model_len"] = self._max_model_len
        self._llm = LLM(model=self.model, **kwargs)
        self._context = int(self._llm.llm_engine.model_config.max_model_len)
        self._count = prompt_token_counter(self._llm.get_tokenizer())
        # prompts are fitted (seed rows, then the schema's tail) like the Transformers teacher's,
        # and never past the context the model was loaded with
        self.max_prompt_tokens = min(self._want_prompt_tokens or self._context, self._context)

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        return self._count(messages) if self._count is not None else None

    def _generate(self, batch: Sequence[list[dict[str, str]]], params: GenParams) -> list[Completion | Exception]:
        """One result per prompt: a prompt the context cannot hold, or one vLLM refuses,
        is that sample's RequestError; the others are generated."""
        from vllm import SamplingParams

        sp = SamplingParams(temperature=params.temperature, max_tokens=params.max_tokens, seed=params.seed)
        results: list[Completion | Exception | None] = [None] * len(batch)
        todo = []
        for i, msgs in enumerate(batch):
            n = self.count_prompt_tokens(msgs)
            if n is not None and self._context is not None and n >= self._context:
                results[i] = RequestError(f"prompt of {n} tokens does not fit the model's context of "
                                          f"{self._context} tokens")
            else:
                todo.append(i)
        if todo:
            try:
                outs = self._llm.chat([batch[i] for i in todo], sp, use_tqdm=False)
                pairs = list(zip(todo, outs))
            except Exception:  # noqa: BLE001 - vLLM validates the whole list: find the prompt it refused
                pairs = [(i, self._one(batch[i], sp)) for i in todo]
            for i, out in pairs:
                results[i] = out if isinstance(out, Exception) else _completion(out)
        return results  # type: ignore[return-value]

    def _one(self, messages: list[dict[str, str]], sp):
        try:
            return self._llm.chat([messages], sp, use_tqdm=False)[0]
        except Exception as e:  # noqa: BLE001 - vLLM's errors come in many types; the sample records it
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            return RequestError(f"vLLM refused this prompt: {first}")

    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        return await self._batcher.submit(messages, params)

    async def aclose(self) -> None:
        await self._batcher.aclose()


def _completion(out) -> Completion:
    return Completion(text=out.outputs[0].text, prompt_tokens=len(out.prompt_token_ids or []),
                      completion_tokens=len(out.outputs[0].token_ids))
