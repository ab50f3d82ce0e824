"""One small async interface every teacher provider implements.

A provider turns chat messages into one completion. It raises ``TransientError`` for
what is worth retrying (429, 5xx, timeouts, dropped connections; ``retry_after`` carries
a server's Retry-After), ``RequestError`` for a request the server refused that a retry
will not fix (the sample is recorded as failed, the run goes on), and ``ProviderError``
(from ``sqlbench.errors``) when the provider cannot work at all: missing extra, bad key,
unknown model (the run stops with a one-line message). Retrying is the pipeline's job
(``sqlbench.providers.retry``), so SDK-level retries are switched off.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GenParams:
    temperature: float = 0.7
    max_tokens: int = 512
    timeout: float = 60.0  # seconds per request
    seed: int | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def tokens(self) -> dict[str, int | None]:
        return {"prompt": self.prompt_tokens, "completion": self.completion_tokens}


class TransientError(Exception):
    """Worth retrying; ``retry_after`` (seconds) when the server said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RequestError(Exception):
    """The server refused this one request; retrying will not help."""


class Provider(abc.ABC):
    """``name`` is the canonical provider name, ``model`` the resolved model id."""

    name: str = "?"
    model: str = "?"
    # A local model knows its tokenizer and context budget: the pipeline then fits each
    # prompt to it (seed rows first, then the schema's tail; the question stays) rather
    # than the prompt being cut from the left, which would drop the system prompt.
    max_prompt_tokens: int | None = None

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        """Tokens of ``messages`` as this model's prompt, or None when unknown (remote servers)."""
        return None
    # Batching providers (local models) gain from many requests at once; servers do too,
    # so the pipeline's --batch-size is the concurrency for every provider.

    async def start(self) -> None:
        """Resolve the model / load weights; called once, inside the pipeline's loop."""

    @abc.abstractmethod
    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        ...

    async def aclose(self) -> None:
        """Release clients and connections."""

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    import time

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def status_error(status: int, message: str, retry_after: float | None = None) -> Exception:
    """Classify an HTTP status the way every provider does."""
    from sqlbench.errors import ProviderError

    if status == 429 or status == 408 or status >= 500:
        return TransientError(f"HTTP {status}: {message}", retry_after)
    if status in (401, 403):
        return ProviderError(f"the teacher refused the credentials (HTTP {status}): check the API key in .env")
    if status == 404:
        return ProviderError(f"the teacher answered 404 (unknown model or wrong base URL): {message}")
    return RequestError(f"HTTP {status}: {message}")
