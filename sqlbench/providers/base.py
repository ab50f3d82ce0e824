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
import asyncio
import threading
from dataclasses import dataclass
from typing import Any, Callable


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


class MalformedReply(TransientError):
    """A 200 reply that is not a chat completion (truncated or non-JSON body, wrong
    shapes). Retried like a 5xx: a proxy or an overloaded server sends these now and
    then; after the last try the sample is recorded as failed and the run goes on."""

    def __init__(self, what: str):
        super().__init__(f"malformed reply from the teacher: {what}")


def _kind(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list",
            type(None): "null"}.get(type(value), "an object" if isinstance(value, dict) else type(value).__name__)


def _snippet(text: str, n: int = 60) -> str:
    one = " ".join(text.split())
    return repr(one[:n] + ("…" if len(one) > n else ""))


def _text_of(content: Any) -> str:
    """The text of a message's ``content``: a string, null (no text), or a list of
    content parts (OpenAI's ``[{"type": "text", "text": ...}]``), joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    out.append(text)
                elif text is not None:
                    raise MalformedReply(f"a content part's `text` is {_kind(text)}")
                # other part types (refusal, image) carry no answer text
            else:
                raise MalformedReply(f"a content part is {_kind(part)}")
        return "".join(out)
    raise MalformedReply(f"`content` is {_kind(content)}")


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def completion_from_reply(reply: Any) -> "Completion":
    """A ``Completion`` from a chat-completion reply decoded from JSON, whatever its
    shape: anything that holds no answer text raises ``MalformedReply``. ``usage`` is
    advisory: a wrong shape there costs the token counts, not the answer."""
    if isinstance(reply, (str, bytes)):
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        raise MalformedReply(f"not JSON (starts {_snippet(text)})" if text.strip() else "an empty body")
    if not isinstance(reply, dict):
        raise MalformedReply(f"the body is {_kind(reply)}, not an object")
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices:
        err = reply.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            raise MalformedReply(f"an error in a 200 reply: {_snippet(err['message'], 200)}")
        raise MalformedReply("no `choices`" if choices is None or choices == [] else f"`choices` is {_kind(choices)}")
    first = choices[0]
    if not isinstance(first, dict):
        raise MalformedReply(f"`choices[0]` is {_kind(first)}")
    message = first.get("message")
    if not isinstance(message, dict):
        raise MalformedReply("`choices[0]` has no `message`" if message is None else f"`message` is {_kind(message)}")
    text = _text_of(message.get("content"))
    usage = reply.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return Completion(text=text, prompt_tokens=_count(usage.get("prompt_tokens")),
                      completion_tokens=_count(usage.get("completion_tokens")))


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


async def in_daemon_thread(fn: Callable[[], Any], name: str = "sqlbench-load") -> Any:
    """``fn()`` in a daemon thread, awaited. Loading a model can take minutes: a stop
    cancels the wait and the process can end at once (the default executor's threads
    would be joined at exit, so the load would have to finish first)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if fut.done():
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)

    def target() -> None:
        try:
            result, error = fn(), None
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting coroutine
            result, error = None, e
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop is gone: nobody waits any more
            pass

    threading.Thread(target=target, name=name, daemon=True).start()
    return await fut


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
