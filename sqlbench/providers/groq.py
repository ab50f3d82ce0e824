"""Groq provider: the groq SDK's async client (GROQ_API_KEY, else API_KEY)."""

from __future__ import annotations

from sqlbench.errors import ProviderError
from sqlbench.providers import _stainless
from sqlbench.providers.base import Completion, GenParams, Provider


# the groq SDK's base URL is the host; its chat route carries the OpenAI-compatible prefix
CHAT_PATH = "/openai/v1/chat/completions"


class GroqProvider(Provider):
    name = "Groq"

    def __init__(self, model: str | None, *, api_key: str | None, base_url: str | None = None,
                 timeout: float = 60.0, concurrency: int = 16):
        if not model:
            raise ProviderError("--provider Groq needs --model (e.g. llama-3.3-70b-versatile)")
        if not api_key:
            raise ProviderError("--provider Groq needs GROQ_API_KEY (or API_KEY) in the environment or .env")
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self._timeout = timeout
        self._concurrency = concurrency
        self._shards: _stainless.ClientShards | None = None

    async def start(self) -> None:
        import groq

        self._sdk = groq
        kwargs = {"base_url": self.base_url} if self.base_url else {}
        self._shards = _stainless.ClientShards(
            lambda: groq.AsyncGroq(api_key=self._api_key, max_retries=0, timeout=self._timeout, **kwargs),
            self._concurrency)

    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        return await _stainless.chat(self._sdk, self._shards.pick(), self.model, messages, params, path=CHAT_PATH)

    async def aclose(self) -> None:
        if self._shards is not None:
            await self._shards.aclose()
            self._shards = None
