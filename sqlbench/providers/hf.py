"""HuggingFace provider: huggingface_hub's AsyncInferenceClient (HF_TOKEN); the model is
a Hub model id (Inference Providers) or an endpoint URL (Inference Endpoints, TGI)."""

from __future__ import annotations

import asyncio

from sqlbench.errors import ProviderError
from sqlbench.providers.base import (Completion, GenParams, MalformedReply, Provider, RequestError, TransientError,
                                     completion_from_reply, parse_retry_after, status_error)

_TRANSIENT_NAMES = ("Connect", "Transport", "Network", "RemoteProtocol", "ReadError", "WriteError", "Pool")


class HuggingFaceProvider(Provider):
    name = "HuggingFace"

    def __init__(self, model: str | None, *, token: str | None, base_url: str | None = None,
                 timeout: float = 60.0):
        if not model and not base_url:
            raise ProviderError("--provider HuggingFace needs --model (a Hub model id or an endpoint URL)")
        self.model = model or base_url or "?"
        self.base_url = base_url
        self._token = token
        self._timeout = timeout
        self._client = None

    async def start(self) -> None:
        from huggingface_hub import AsyncInferenceClient

        if self.base_url:
            self._client = AsyncInferenceClient(base_url=self.base_url, token=self._token, timeout=self._timeout)
        else:
            self._client = AsyncInferenceClient(model=self.model, token=self._token, timeout=self._timeout)

    async def complete(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

        kwargs = dict(messages=messages, max_tokens=params.max_tokens, temperature=params.temperature)
        if self.base_url:
            kwargs["model"] = self.model
        if params.seed is not None:
            kwargs["seed"] = params.seed
        try:
            # the client's timeout is fixed at construction; each request gets its own
            out = await asyncio.wait_for(self._client.chat_completion(**kwargs), timeout=params.timeout)
        except (InferenceTimeoutError, asyncio.TimeoutError):
            raise TransientError("request timed out") from None
        except (ValueError, TypeError, AttributeError, KeyError) as e:  # the client could not parse the reply
            raise MalformedReply(f"not a chat completion ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        except HfHubHTTPError as e:
            resp = getattr(e, "response", None)
            status = getattr(resp, "status_code", None)
            if status is None:
                raise TransientError(f"connection error: {e}") from None
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            raise status_error(status, str(e).splitlines()[0], retry_after) from None
        except Exception as e:  # noqa: BLE001 - transport errors of the HTTP library
            if any(n in type(e).__name__ for n in _TRANSIENT_NAMES):
                raise TransientError(f"connection error: {type(e).__name__}: {e}") from None
            if "Timeout" in type(e).__name__:
                raise TransientError("request timed out") from None
            raise RequestError(f"{type(e).__name__}: {e}") from None
        # the client's dataclasses take any shape; read the reply as the plain dict it also is
        return completion_from_reply(dict(out) if isinstance(out, dict) else out)

    async def aclose(self) -> None:
        if self._client is not None:
            close = getattr(self._client, "close", None)
            if close is not None:
                await close()
            self._client = None
