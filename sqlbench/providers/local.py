"""Transformers provider: a local model folder, a training run's model or a Hub id, run
with transformers on this machine, batched. With no --model it is the tiny offline
student (built on first use), which is what makes ``sqlbench distill`` work offline."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Sequence

from sqlbench.providers._batcher import MicroBatcher
from sqlbench.providers.base import Completion, GenParams, Provider, in_daemon_thread, RequestError

if TYPE_CHECKING:
    from sqlbench.inference.models import TinyStudent

MAX_LOCAL_BATCH = 16  # CPU memory: more prompts per generate call stop paying off


class TransformersProvider(Provider):
    name = "Transformers"

    def __init__(self, model: str | None, *, cache_dir: str | os.PathLike = ".cache/sqlbench",
                 max_batch: int = 8, token: str | None = None, max_prompt_tokens: int | None = None,
                 device: str = "auto", tiny: TinyStudent | None = None):
        from sqlbench.devices import check_spec

        self.model = model or "?"
        self._device = check_spec(device)
        self._want_model = model
        self._tiny = tiny  # builds the tiny student when no model is named
        self._cache_dir = cache_dir
        self._token = token
        self.max_prompt_tokens = max_prompt_tokens
        # the batcher's thread sets padding/truncation on the tokenizer while the event
        # loop counts prompt tokens: a fast tokenizer refuses concurrent use ("Already borrowed")
        self._tok_lock = threading.Lock()
        self._batcher = MicroBatcher(self._generate, min(max_batch, MAX_LOCAL_BATCH))
        self._tok = None
        self._lm = None
        self._count = None

    async def start(self) -> None:
        await in_daemon_thread(self._load)

    def _load(self) -> None:
        from sqlbench.inference.models import load_model, resolve_model_path

        # None -> the tiny offline student; a run directory -> its model/ (or last checkpoint)
        self.model = str(resolve_model_path(self._want_model, cache_dir=self._cache_dir, tiny=self._tiny))
        self._lm, self._tok = load_model(self.model, device=self._device, token=self._token,
                                         cache_dir=self._cache_dir)
        self._tok.padding_side = "left"  # decoder-only batched generation
        self._tok.truncation_side = "left"  # an over-long prompt loses its start, not the assistant turn
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        from sqlbench.prompts import prompt_token_counter

        self._count = prompt_token_counter(self._tok)

    def _generate(self, batch: Sequence[list[dict[str, str]]], params: GenParams) -> list[Completion]:
        import torch

        tok, lm = self._tok, self._lm
        try:
            prompts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in batch]
        except Exception as e:  # noqa: BLE001 - e.g. no chat template
            raise RequestError(f"cannot apply the chat template: {e}") from None
        # prompts arrive fitted (count_tokens); truncation is the backstop for a question
        # that alone is longer than the budget
        with self._tok_lock:
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False,
                      truncation=self.max_prompt_tokens is not None, max_length=self.max_prompt_tokens)
        enc = {k: v.to(lm.device) for k, v in enc.items()}
        kwargs = dict(max_new_tokens=params.max_tokens, pad_token_id=tok.pad_token_id)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature)
        else:
            kwargs.update(do_sample=False)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.inference_mode():
            out = lm.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        result = []
        for i in range(len(batch)):
            new = out[i, width:]
            if tok.pad_token_id is not None:
                new = new[new != tok.pad_token_id]
            text = tok.decode(new, skip_special_tokens=True)
            prompt_len = int(enc["attention_mask"][i].sum())
            result.append(Completion(text=text, prompt_tokens=prompt_len, completion_tokens=int(new.numel())))
        return result

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        if self._count is None:
            return None
        with self._tok_lock:
            return self._count(messages)

    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        return await self._batcher.submit(messages, params)

    async def aclose(self) -> None:
        await self._batcher.aclose()

