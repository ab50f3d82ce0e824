"""OpenAI provider: the openai SDK's async client against any OpenAI-compatible server
(api.openai.com, vLLM's server, `sqlbench serve`, the tests' loopback teacher)."""

from __future__ import annotations

from sqlbench.errors import ProviderError
from sqlbench.providers import _stainless
from sqlbench.providers.base import Completion, GenParams, Provider

# The SDK refuses to start without a key, even for a local server that ignores it.
PLACEHOLDER_KEY = "EMPTY"


class OpenAIProvider(Provider):
    name = "OpenAI"

    def __init__(self, model: str | None, *, base_url: str, api_key: str | None, timeout: float = 60.0,
                 concurrency: int = 16):
        self.model = model or "?"
        self._want_model = model
        self.base_url = base_url
        self._api_key = api_key or PLACEHOLDER_KEY
        self._timeout = timeout
        self._concurrency = concurrency
        self._shards: _stainless.ClientShards | None = None

    async def start(self) -> None:
        import openai

        self._sdk = openai
        self._shards = _stainless.ClientShards(
            lambda: openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0,
                                       timeout=self._timeout), self._concurrency)
        if not self._want_model:
            self.model = await self._first_model()

    async def _first_model(self) -> str:
        """No --model: a local server (vLLM, sqlbench serve) serves one; ask it which."""
        try:
            page = await self._shards.pick().models.list()
        except Exception as e:  # noqa: BLE001
            mapped = _stainless.map_error(self._sdk, e)
            raise ProviderError(f"no --model given and {self.base_url} did not list its models ({mapped or e})") from None
        ids = [m.id for m in page.data]
        if not ids:
            raise ProviderError(f"no --model given and {self.base_url} lists no models")
        return ids[0]

    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        return await _stainless.chat(self._sdk, self._shards.pick(), self.model, messages, params)

    async def aclose(self) -> None:
        if self._shards is not None:
            await self._shards.aclose()
            self._shards = None
