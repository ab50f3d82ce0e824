"""Retries with exponential backoff and full jitter, honouring Retry-After."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from sqlbench.errors import SqlbenchError
from sqlbench.providers.base import RequestError, TransientError

T = TypeVar("T")
MAX_DELAY = 60.0
MAX_ERROR_CHARS = 500  # a sample's error: a server may send a whole HTML page


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # extra attempts after the first
    backoff: float = 0.5  # first delay (seconds); doubles each attempt
    max_delay: float = MAX_DELAY


class RetriesExhausted(Exception):
    def __init__(self, error: BaseException, attempts: int):
        text = " ".join(str(error).split()) or type(error).__name__  # one line, whatever the server sent
        if len(text) > MAX_ERROR_CHARS:
            text = text[:MAX_ERROR_CHARS] + "…"
        super().__init__(f"{text} (after {attempts} attempt{'s' if attempts != 1 else ''})")
        self.error = error
        self.attempts = attempts


def delay_for(attempt: int, policy: RetryPolicy, retry_after: float | None, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1-based): the server's Retry-After when
    given, else full jitter over an exponentially growing window."""
    if retry_after is not None:
        return min(retry_after, policy.max_delay)
    window = min(policy.backoff * (2 ** (attempt - 1)), policy.max_delay)
    return rng.uniform(window / 2, window)


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy,
                       rng: random.Random | None = None) -> tuple[T, int]:
    """``(result, attempts)``; raises ``RetriesExhausted`` after the last transient failure
    or at once on a ``RequestError``. A ``ProviderError`` (the teacher cannot be used at
    all) propagates. Any other exception is a reply nobody foresaw: it is retried like a
    transient one, so one odd reply costs that sample at most, never the run."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except RequestError as e:
            raise RetriesExhausted(e, attempt) from e
        except SqlbenchError:
            raise
        except Exception as e:  # noqa: BLE001 - TransientError, and the unforeseen (see above)
            err = e if isinstance(e, TransientError) else TransientError(f"{type(e).__name__}: {e}")
            if attempt > policy.retries:
                raise RetriesExhausted(err, attempt) from e
            await asyncio.sleep(delay_for(attempt, policy, err.retry_after, rng))
