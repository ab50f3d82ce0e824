"""An OpenAI-compatible HTTP server for one loaded model, on uvicorn + Starlette.

    POST /v1/chat/completions   plain, or streamed as ``chat.completion.chunk`` SSE events
                                ending with ``data: [DONE]``
    GET  /v1/models             the served model (any model name in a request is accepted)
    GET  /health

HTTP runs on one asyncio loop (uvicorn's h11 protocol: it parses and rejects malformed
requests, and tells us when a client goes away); every generation goes through one
worker thread and its queue, so concurrent requests wait their turn instead of racing
on the model. What a request may cost is bounded before it reaches that worker: the
body size (413, without reading it), the time to send headers and body (slow clients),
the queue (503 with ``Retry-After``) and the prompt's length in tokens (400, counted
on a thread of its own). A client that disconnects, streaming or not, cancels its
generation. Every error has OpenAI's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import queue
import socket
import sys
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator, Awaitable

import h11
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from sqlbench.inference.chat import Engine, GenParams, GenResult, PromptTooLong
from sqlbench.redact import redact, register_secret

ROLES = {"system", "developer", "user", "assistant", "tool"}
MAX_STOP_CHARS = 256


@dataclass(frozen=True)
class Limits:
    """What one client may cost the server (config ``serve.*``)."""

    max_body_bytes: int = 1_048_576  # a larger body is a 413, answered before it is read
    max_queue: int = 64  # requests admitted but not yet generating; beyond it a 503
    header_timeout: float = 10.0  # s from connecting (or the last answer) to a complete request head
    body_timeout: float = 30.0  # s to send the whole body once the head is in
    backlog: int = 2048  # listen backlog: a burst of connections waits instead of being reset


class RequestError(Exception):
    """A client error, answered as ``{"error": {...}}`` with ``status``."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.type, "param": self.param, "code": self.code}}


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    params: GenParams
    model: str | None = None
    stream: bool = False
    include_usage: bool = False


def _number(body: dict, key: str, lo: float, hi: float) -> float | None:
    v = body.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RequestError(f"'{key}' must be a number, got {json.dumps(v)}", param=key, code="invalid_type")
    if not lo <= v <= hi:
        raise RequestError(f"'{key}' must be between {lo:g} and {hi:g}, got {v}", param=key, code="invalid_value")
    return float(v)


def _integer(body: dict, key: str, lo: int, hi: int | None = None) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise RequestError(f"'{key}' must be an integer, got {json.dumps(v)}", param=key, code="invalid_type")
    if v < lo:
        raise RequestError(f"'{key}' must be at least {lo}, got {v}", param=key, code="invalid_value")
    if hi is not None and v > hi:
        raise RequestError(f"'{key}' must be at most {hi}, got {v}", param=key, code="invalid_value")
    return v


def _content(msg: dict, i: int) -> str:
    c = msg.get("content")
    if c is None:
        if msg["role"] == "assistant":
            return ""
        raise RequestError(f"messages[{i}].content is required", param=f"messages[{i}].content", code="missing_required_parameter")
    if isinstance(c, str):
        return c
    if isinstance(c, list):  # content parts: text only
        out = []
        for j, part in enumerate(c):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise RequestError(f"messages[{i}].content[{j}]: only text parts are supported",
                                   param=f"messages[{i}].content[{j}]", code="invalid_type")
            out.append(part["text"])
        return "".join(out)
    raise RequestError(f"messages[{i}].content must be a string or a list of text parts",
                       param=f"messages[{i}].content", code="invalid_type")


def parse_chat_request(body: Any, *, max_new_tokens: int = 512, temperature: float = 0.7) -> ChatRequest:
    """Validate a /v1/chat/completions body (pure). Unknown fields are ignored, as
    OpenAI-compatible servers do; a field that is present must be well-typed."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    msgs = body.get("messages")
    if msgs is None:
        raise RequestError("'messages' is required", param="messages", code="missing_required_parameter")
    if not isinstance(msgs, list) or not msgs:
        raise RequestError("'messages' must be a non-empty array", param="messages", code="invalid_type")
    messages = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise RequestError(f"messages[{i}] must be an object", param=f"messages[{i}]", code="invalid_type")
        role = m.get("role")
        if role not in ROLES:
            raise RequestError(f"messages[{i}].role must be one of {', '.join(sorted(ROLES))}, got {json.dumps(role)}",
                               param=f"messages[{i}].role", code="invalid_value")
        messages.append({"role": "system" if role == "developer" else role, "content": _content(m, i)})
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError("'model' must be a string", param="model", code="invalid_type")
    n = _integer(body, "n", 1)
    if n not in (None, 1):
        raise RequestError("only n=1 is supported", param="n", code="invalid_value")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise RequestError("'stream' must be true or false", param="stream", code="invalid_type")
    opts = body.get("stream_options") or {}
    if not isinstance(opts, dict):
        raise RequestError("'stream_options' must be an object", param="stream_options", code="invalid_type")
    stop = body.get("stop")
    if stop is None:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop) and len(stop) <= 4:
        stops = list(stop)
    else:
        raise RequestError("'stop' must be a string or an array of up to 4 strings", param="stop", code="invalid_type")
    if any(len(s) > MAX_STOP_CHARS for s in stops):
        # the generator matches stop strings on every token: a huge one would stall the worker
        raise RequestError(f"a stop string may be at most {MAX_STOP_CHARS} characters", param="stop",
                           code="invalid_value")
    max_tokens = _integer(body, "max_completion_tokens", 1) or _integer(body, "max_tokens", 1)
    temp = _number(body, "temperature", 0, 2)
    top_p = _number(body, "top_p", 0, 1)
    params = GenParams(
        max_new_tokens=max_tokens or max_new_tokens,
        temperature=temperature if temp is None else temp,
        top_p=top_p if top_p not in (None, 1.0) else None,
        # torch.manual_seed takes [-2**63, 2**64 - 1]; beyond it is the client's error, not a 500
        seed=_integer(body, "seed", -(2**63), 2**64 - 1),
        stop=stops,
    )
    return ChatRequest(messages, params, model, stream, bool(opts.get("include_usage")))


# ---- one generation worker ---------------------------------------------------------------
_DONE = object()


class Job:
    """One generation: its text pieces reach the request's event loop as they come."""

    def __init__(self, messages: list[dict[str, str]], params: GenParams, *, stream: bool = True,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.messages, self.params, self.stream = messages, params, stream
        self.loop = loop or asyncio.get_running_loop()
        self.items: asyncio.Queue = asyncio.Queue()
        self.cancel_event = threading.Event()
        self.result: GenResult | None = None
        self.error: BaseException | None = None
        self.finished = False

    def on_text(self, text: str) -> None:
        """The engine's callback. A plain answer is read from ``result`` at the end: each
        piece handed over would wake the event loop and take the GIL from the generation."""
        if self.stream:
            self.put(text)

    def put(self, item: Any) -> None:
        """From the worker thread: hand a piece of text (or the end) to the loop."""
        try:
            self.loop.call_soon_threadsafe(self.items.put_nowait, item)
        except RuntimeError:  # the loop is closed: the server is gone, nobody listens
            pass

    async def get(self) -> Any:
        item = await self.items.get()
        if item is _DONE:
            self.finished = True
        return item

    def cancel(self) -> None:
        self.cancel_event.set()


class GenerationWorker:
    """Owns the engine: runs jobs one after another on a single thread.

    Admission is two-step so the queue bound covers requests whose prompt is still
    being counted: ``reserve()`` (503 when full) before the prompt check, then
    ``submit()``, or ``release()`` when the request fails its check."""

    def __init__(self, engine: Engine, *, max_pending: int = 64) -> None:
        self.engine = engine
        self.max_pending = max_pending
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.reserved = 0  # touched on the event loop only
        # the last results, newest last (finish_reason tells a cancelled job): for /health and tests
        self.finished: deque[GenResult] = deque(maxlen=64)
        self.served = 0
        self.submitted = 0  # jobs that reached the queue (a refused request never does)
        self.current: Job | None = None
        self._job_seconds = 1.0  # moving average, for Retry-After
        self.thread = threading.Thread(target=self._loop, name="sqlbench-serve-worker", daemon=True)
        self.thread.start()

    def retry_after(self) -> int:
        """Seconds until a queue slot is likely free: about one job's time."""
        return max(1, min(60, math.ceil(self._job_seconds)))

    def reserve(self) -> None:
        if self.jobs.qsize() + self.reserved >= self.max_pending:
            wait = self.retry_after()
            raise RequestError(f"the server is busy: {self.max_pending} requests are queued, retry in {wait} s",
                               status=503, type="server_error", code="overloaded",
                               headers={"Retry-After": str(wait)})
        self.reserved += 1

    def release(self) -> None:
        self.reserved -= 1

    def submit(self, job: Job) -> Job:
        """Queue a job whose slot was reserved."""
        self.reserved -= 1
        self.submitted += 1
        self.jobs.put(job)
        return job

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            self.current = job
            t0 = time.perf_counter()
            try:
                if not job.cancel_event.is_set():
                    job.result = self.engine.generate(job.messages, job.params, job.on_text, job.cancel_event)
                    self.finished.append(job.result)
                    self.served += 1
                    self._job_seconds = 0.8 * self._job_seconds + 0.2 * (time.perf_counter() - t0)
            except BaseException as e:  # noqa: BLE001 - reported to that request only
                job.error = e
            finally:
                self.current = None
                job.put(_DONE)

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel what is queued and running, and wait for the worker to exit (so no
        generation is cut off by interpreter shutdown)."""
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancel()
                job.error = RequestError("the server is shutting down", status=503, type="server_error")
                job.put(_DONE)
        if self.current is not None:
            self.current.cancel()
        self.jobs.put(None)
        self.thread.join(timeout)


# ---- the prompt's length, checked before the worker -----------------------------------------
class PromptGate:
    """Counts a prompt's tokens on a thread of its own (one at a time, so a burst of
    huge prompts costs one tokenisation's memory, not many), and refuses a prompt the
    model cannot take. A prompt longer than ``max_positions`` times the longest token
    in characters (times 4: normalisers may merge characters) is refused without
    tokenising it at all."""

    INLINE_CHARS = 16_384  # prompts up to this size are counted on the event loop itself

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlbench-serve-prompt")
        self._chars_per_token: int | None = None

    def _char_bound(self) -> int | None:
        if self._chars_per_token is None:
            try:
                vocab = self.engine.tokenizer.get_vocab()
                self._chars_per_token = max((len(t) for t in vocab), default=0) or -1
            except Exception:  # noqa: BLE001 - a tokenizer without a vocabulary: count only
                self._chars_per_token = -1
        return None if self._chars_per_token < 0 else 4 * self._chars_per_token * self.engine.max_positions

    def _check(self, messages: list[dict[str, str]]) -> int:
        limit = self.engine.max_positions
        text = self.engine.render(messages)
        bound = self._char_bound()
        if bound is not None and len(text) > bound:
            raise RequestError(f"the prompt is {len(text)} characters, far more than the {limit} tokens the model takes",
                               param="messages", code="context_length_exceeded")
        n = len(self.engine.tokenizer(text, add_special_tokens=False)["input_ids"])
        if n >= limit:
            raise RequestError(f"the prompt is {n} tokens, the model takes at most {limit}",
                               param="messages", code="context_length_exceeded")
        return n

    async def check(self, messages: list[dict[str, str]]) -> int:
        if sum(len(m["content"]) for m in messages) <= self.INLINE_CHARS:
            return self._check(messages)  # well under a millisecond: not worth two thread hand-offs
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._check, messages)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


# ---- HTTP ------------------------------------------------------------------------------
def _error_response(e: RequestError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers)


def _usage(r: GenResult) -> dict[str, int]:
    return {"prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens}


def _finish(r: GenResult) -> str:
    return "length" if r.finish_reason == "length" else "stop"


def _bearer(headers: Any) -> bytes:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip().encode() if scheme.lower() == "bearer" else b""


class _ClientGone(Exception):
    """The client disconnected before its answer was ready."""


class _NoAnswer(Response):
    """For a client that has gone: there is no one to answer."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


class ServeApp:
    """The ASGI application: routes, the API key, body limits, and the bridge between
    requests and the generation worker."""

    def __init__(self, server: ChatServer) -> None:
        self.srv = server
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/models", self.models, methods=["GET"]),
                Route("/v1/models/{model_id:path}", self.model, methods=["GET"]),
                Route("/models/{model_id:path}", self.model, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/v1/health", self.health, methods=["GET"]),
                Route("/", self.health, methods=["GET"]),
            ],
            exception_handlers={HTTPException: self._http_error, Exception: self._server_error},
        )

    # ---- the outer layer: access log and API key, before any routing or body
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        logged = False

        def log(status: Any) -> None:
            # method, path and status only: never headers (they carry the key)
            nonlocal logged
            logged = True
            client = scope["client"][0] if scope.get("client") else "-"
            # a path is the client's text: no terminal escapes from it
            path = "".join(c if c.isprintable() else repr(c)[1:-1] for c in scope["path"][:200])
            self.srv.log(f"{client} \"{scope['method']} {path}\" {status}")

        async def send_logged(message: dict) -> None:
            if message["type"] == "http.response.start":
                log(message["status"])  # before the answer leaves, so the log never lags behind it
            await send(message)

        key = self.srv.api_key
        try:
            if key is not None and scope["path"].rstrip("/") not in ("/health", "/v1/health"):
                given = _bearer(Request(scope).headers)
                if not hmac.compare_digest(given, key):
                    await _error_response(RequestError(
                        "a valid API key is required: send it as 'Authorization: Bearer <key>'" if not given
                        else "incorrect API key provided", status=401, code="invalid_api_key",
                        headers={"WWW-Authenticate": "Bearer"}))(scope, receive, send_logged)
                    return
            await self.app(scope, receive, send_logged)
        finally:
            if not logged:
                log("- (the client left)")

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            e = RequestError(f"method {request.method} is not allowed on {request.url.path} (allowed: {allow})",
                             status=405, code="method_not_allowed", headers={"Allow": allow})
        elif exc.status_code == 404:
            e = RequestError(f"unknown path {request.url.path} (POST /v1/chat/completions, GET /v1/models)",
                             status=404, code="not_found")
        else:
            e = RequestError(str(exc.detail), status=exc.status_code)
        return _error_response(e)

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        self.srv.log(f"internal error: {type(exc).__name__}: {exc}")
        return _error_response(RequestError(f"internal error: {type(exc).__name__}", status=500, type="server_error"))

    # ---- simple routes
    def _model_obj(self, model_id: str | None = None) -> dict:
        return {"id": model_id or self.srv.model_name, "object": "model", "created": self.srv.created,
                "owned_by": "sqlbench"}

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_obj()]})

    async def model(self, request: Request) -> Response:
        return JSONResponse(self._model_obj(request.path_params["model_id"]))

    async def health(self, request: Request) -> Response:
        w = self.srv.worker
        if self.srv.api_key is not None and not hmac.compare_digest(_bearer(request.headers), self.srv.api_key):
            return JSONResponse({"status": "ok"})  # without the key: alive, nothing more
        return JSONResponse({"status": "ok", "model": self.srv.model_name, "queued": w.jobs.qsize() + w.reserved,
                             "served": w.served})

    # ---- the body, bounded in size and time
    async def _read_body(self, request: Request) -> bytes:
        limit = self.srv.limits.max_body_bytes
        too_big = RequestError(f"the request body is larger than {limit} bytes (serve.max_body_bytes)",
                               status=413, code="request_too_large", headers={"Connection": "close"})
        length = request.headers.get("content-length")
        if length is not None and int(length) > limit:  # h11 has checked it is a number
            raise too_big
        chunks: list[bytes] = []
        size = 0

        async def read() -> None:
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # chunked, or more than Content-Length promised
                    raise too_big
                chunks.append(chunk)

        try:
            await asyncio.wait_for(read(), self.srv.limits.body_timeout)
        except asyncio.TimeoutError:
            raise RequestError(f"the request body did not arrive within {self.srv.limits.body_timeout:g} s",
                               status=408, code="request_timeout", headers={"Connection": "close"}) from None
        return b"".join(chunks)

    async def _unless_gone(self, aw: Awaitable[Any], request: Request, job: Job | None = None) -> Any:
        """Await ``aw``; if the client disconnects first, cancel ``job`` and raise _ClientGone."""
        work = asyncio.ensure_future(aw)

        async def gone() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        watch = asyncio.ensure_future(gone())
        try:
            await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
        if work.done():
            return work.result()
        work.cancel()
        if job is not None:
            job.cancel()  # the worker skips it if still queued, or stops it within a token
        raise _ClientGone

    def _gen_error(self, job: Job) -> RequestError:
        e = job.error
        if isinstance(e, RequestError):
            return e
        if isinstance(e, PromptTooLong):
            return RequestError(str(e), param="messages", code="context_length_exceeded")
        self.srv.log(f"generation failed: {type(e).__name__}: {e}")
        return RequestError(f"generation failed: {type(e).__name__}", status=500, type="server_error")

    # ---- POST /v1/chat/completions
    async def chat(self, request: Request) -> Response:
        srv = self.srv
        try:
            try:
                raw = await self._read_body(request)
            except ClientDisconnect:
                return _NoAnswer()
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError) as e:  # bad UTF-8 or JSON, a 5,000-digit number, deep nesting
                raise RequestError(f"could not parse the JSON body of your request ({type(e).__name__}: "
                                   f"{str(e)[:200]})", code="invalid_json") from None
            req = parse_chat_request(body, max_new_tokens=srv.max_new_tokens, temperature=srv.temperature)
            if srv.worker is None:
                raise RequestError("the model is still loading, retry later", status=503, type="server_error",
                                   code="loading", headers={"Retry-After": "5"})
            srv.worker.reserve()
            try:
                await self._unless_gone(srv.gate.check(req.messages), request)
            except BaseException:
                srv.worker.release()
                raise
            if not req.stream:
                req.params.emit_every_s = math.inf  # nobody reads the pieces: decode once at the end
            job = srv.worker.submit(Job(req.messages, req.params, stream=req.stream))
            if req.stream:
                return await self._stream(request, req, job)
            return await self._complete(request, req, job)
        except RequestError as e:
            return _error_response(e)
        except _ClientGone:
            return _NoAnswer()

    async def _complete(self, request: Request, req: ChatRequest, job: Job) -> Response:
        while await self._unless_gone(job.get(), request, job) is not _DONE:
            pass
        if job.error is not None:
            return _error_response(self._gen_error(job))
        r = job.result
        text = r.text
        return JSONResponse({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.model or self.srv.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": _finish(r)}],
            "usage": _usage(r),
        })

    async def _stream(self, request: Request, req: ChatRequest, job: Job) -> Response:
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        model = req.model or self.srv.model_name
        # wait for the first piece so an error before any output is still a plain 4xx/5xx
        first = await self._unless_gone(job.get(), request, job)
        if first is _DONE and job.error is not None:
            return _error_response(self._gen_error(job))

        def event(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> bytes:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []}
            if req.include_usage:
                chunk["usage"] = usage
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        async def events() -> AsyncIterator[bytes]:
            try:
                yield event({"role": "assistant", "content": ""})
                item = first
                while item is not _DONE:
                    yield event({"content": item})
                    item = await job.get()
                if job.error is not None:
                    yield b"data: " + json.dumps(self._gen_error(job).body()).encode() + b"\n\n"
                elif job.result is not None:
                    yield event({}, _finish(job.result))
                    if req.include_usage:
                        yield event({}, usage=_usage(job.result), choices=False)
                yield b"data: [DONE]\n\n"
            finally:
                if not job.finished:  # the client left (Starlette cancelled us): free the worker
                    job.cancel()

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request head (uvicorn has none:
    a client trickling header bytes would hold its connection forever) and OpenAI-shaped
    400s for requests h11 cannot parse (bad Content-Length, bad header lines)."""

    header_timeout = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timeout)

    def _head_timeout(self) -> None:
        self._head_timer = None
        # no request in progress: the client is idle, or has not finished a request head
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(RequestError(f"malformed HTTP request ({msg.rstrip('.')})", code="bad_request").body()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        try:
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                          h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # a response was already under way
            pass
        self.transport.close()


class ChatServer:
    """The server: binds at once (so a busy port is reported before a slow model load);
    ``engine`` may come later (``set_engine``). ``serve_forever`` runs it in this thread,
    ``start_background`` in another; ``shutdown`` + ``server_close`` stop it."""

    def __init__(self, engine: Engine | None, host: str = "127.0.0.1", port: int = 8000, *,
                 model_name: str | None = None, max_new_tokens: int = 512, temperature: float = 0.7,
                 quiet: bool = False, max_pending: int | None = None, limits: Limits | None = None,
                 api_key: str | None = None) -> None:
        limits = limits or Limits()
        if max_pending is not None:
            limits = replace(limits, max_queue=max_pending)
        self.limits = limits
        self.worker: GenerationWorker | None = None
        self.gate: PromptGate | None = None
        self.api_key = api_key.encode() if api_key else None
        register_secret(api_key)  # masked wherever it might be echoed (a client may put it in a path)
        self.model_name = model_name or "sqlbench"
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.quiet = quiet
        self.created = int(time.time())
        self.socket = _listen(host, port, limits.backlog)
        self.server_address = self.socket.getsockname()
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        if engine is not None:
            self.set_engine(engine, model_name)

    def set_engine(self, engine: Engine, model_name: str | None = None) -> None:
        self.engine = engine
        self.gate = PromptGate(engine)
        self.worker = GenerationWorker(engine, max_pending=self.limits.max_queue)
        self.model_name = model_name or engine.model_id or self.model_name

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/v1"

    def log(self, line: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"sqlbench serve: {redact(line)}\n")

    def _make_uvicorn(self) -> Any:
        import uvicorn

        log = logging.getLogger("uvicorn.error")  # h11's refusals, uvicorn's own errors: one prefixed line
        if not any(getattr(h, "sqlbench", False) for h in log.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("sqlbench serve: %(message)s"))
            handler.sqlbench = True  # type: ignore[attr-defined]
            log.addHandler(handler)
            log.propagate = False
        protocol = type("_SqlbenchH11", (_Protocol,), {"header_timeout": self.limits.header_timeout})
        config = uvicorn.Config(
            ServeApp(self), http=protocol, lifespan="off", log_config=None, access_log=False,
            log_level="critical" if self.quiet else "warning", backlog=self.limits.backlog,
            timeout_keep_alive=5, timeout_graceful_shutdown=5, server_header=False,
        )
        server = uvicorn.Server(config)
        return server

    def serve_forever(self) -> None:
        """Serve until ``shutdown`` (or, in the main thread, SIGINT/SIGTERM: uvicorn then
        re-raises the signal, so Ctrl-C ends as KeyboardInterrupt)."""
        self._uvicorn = self._make_uvicorn()
        self._started.set()
        self._uvicorn.run(sockets=[self.socket])

    def start_background(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.serve_forever, name="sqlbench-serve-http", daemon=True)
        self._thread.start()
        self._started.wait()
        return self._thread

    def shutdown(self) -> None:
        """Stop serving: running generations are cancelled, so this is quick."""
        if self.worker is not None and self.worker.current is not None:
            self.worker.current.cancel()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(30)

    def server_close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.gate is not None:
            self.gate.close()
        self.socket.close()


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host, port, family if host not in ("localhost",) else 0, socket.SOCK_STREAM)
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def make_server(engine: Engine, host: str = "127.0.0.1", port: int = 8000, **kw: Any) -> ChatServer:
    return ChatServer(engine, host, port, **kw)
