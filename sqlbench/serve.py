"""An OpenAI-compatible HTTP server for one loaded model (standard library only).

    POST /v1/chat/completions   plain, or streamed as ``chat.completion.chunk`` SSE events
                                ending with ``data: [DONE]``
    GET  /v1/models             the served model (any model name in a request is accepted)
    GET  /health

HTTP requests are handled on threads, but every generation goes through one worker
thread and its queue: concurrent requests wait their turn instead of racing on the
model. Bad JSON or a bad request schema gets a 4xx with an OpenAI-style error body.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from sqlbench.chat import Engine, GenParams, GenResult, PromptTooLong

MAX_BODY = 8 * 1024 * 1024
ROLES = {"system", "developer", "user", "assistant", "tool"}


class RequestError(Exception):
    """A client error, answered as ``{"error": {...}}`` with ``status``."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type

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


def _integer(body: dict, key: str, lo: int) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise RequestError(f"'{key}' must be an integer, got {json.dumps(v)}", param=key, code="invalid_type")
    if v < lo:
        raise RequestError(f"'{key}' must be at least {lo}, got {v}", param=key, code="invalid_value")
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
    max_tokens = _integer(body, "max_completion_tokens", 1) or _integer(body, "max_tokens", 1)
    temp = _number(body, "temperature", 0, 2)
    top_p = _number(body, "top_p", 0, 1)
    params = GenParams(
        max_new_tokens=max_tokens or max_new_tokens,
        temperature=temperature if temp is None else temp,
        top_p=top_p if top_p not in (None, 1.0) else None,
        seed=_integer(body, "seed", -(2**63)),
        stop=stops,
    )
    return ChatRequest(messages, params, model, stream, bool(opts.get("include_usage")))


# ---- one generation worker ---------------------------------------------------------------
_DONE = object()


@dataclass
class Job:
    messages: list[dict[str, str]]
    params: GenParams
    out: queue.Queue = field(default_factory=queue.Queue)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    result: GenResult | None = None
    error: BaseException | None = None
    _peeked: Any = None

    def _next(self) -> Any:
        if self._peeked is not None:
            item, self._peeked = self._peeked, None
            return item
        return self.out.get()

    def chunks(self) -> Iterator[str]:
        """The generated text as it comes; then ``result`` or ``error`` is set."""
        while (item := self._next()) is not _DONE:
            yield item

    def failed_before_output(self) -> bool:
        """Wait for the first piece of output (kept for ``chunks``); True when the job
        ended with an error before any, so the answer can still be a 4xx."""
        self._peeked = self._next()
        return self._peeked is _DONE and self.error is not None

    def cancel(self) -> None:
        self.cancel_event.set()


class GenerationWorker:
    """Owns the engine: runs jobs one after another on a single thread."""

    def __init__(self, engine: Engine, *, max_pending: int = 64) -> None:
        self.engine = engine
        self.jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max_pending)
        # the last results, newest last (finish_reason tells a cancelled job): for /health and tests
        self.finished: deque[GenResult] = deque(maxlen=64)
        self.served = 0
        self.current: Job | None = None
        self.thread = threading.Thread(target=self._loop, name="sqlbench-serve-worker", daemon=True)
        self.thread.start()

    def submit(self, messages: list[dict[str, str]], params: GenParams) -> Job:
        job = Job(messages, params)
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            raise RequestError("the server is busy: too many queued requests, retry later", status=503,
                               type="server_error", code="overloaded") from None
        return job

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            self.current = job
            try:
                if not job.cancel_event.is_set():
                    job.result = self.engine.generate(job.messages, job.params, job.out.put, job.cancel_event)
                    self.finished.append(job.result)
                    self.served += 1
            except BaseException as e:  # noqa: BLE001 - reported to that request only
                job.error = e
            finally:
                self.current = None
                job.out.put(_DONE)

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
                job.out.put(_DONE)
        if self.current is not None:
            self.current.cancel()
        self.jobs.put(None)
        self.thread.join(timeout)


# ---- HTTP ------------------------------------------------------------------------------
class ChatServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, engine: Engine | None, host: str = "127.0.0.1", port: int = 8000, *,
                 model_name: str | None = None, max_new_tokens: int = 512, temperature: float = 0.7,
                 quiet: bool = False, max_pending: int = 64) -> None:
        """Binds at once; ``engine`` may come later (``set_engine``) so a busy port is
        reported before a slow model load."""
        self.worker: GenerationWorker | None = None
        super().__init__((host, port), _Handler)
        self.model_name = model_name or "sqlbench"
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.quiet = quiet
        self.max_pending = max_pending
        self.created = int(time.time())
        if engine is not None:
            self.set_engine(engine, model_name)

    def set_engine(self, engine: Engine, model_name: str | None = None) -> None:
        self.engine = engine
        self.worker = GenerationWorker(engine, max_pending=self.max_pending)
        self.model_name = model_name or engine.model_id or self.model_name

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/v1"

    def start_background(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, name="sqlbench-serve-http", daemon=True)
        t.start()
        return t

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client went away; nothing to report
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        super().server_close()


def _usage(r: GenResult) -> dict[str, int]:
    return {"prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens}


def _finish(r: GenResult) -> str:
    return "length" if r.finish_reason == "length" else "stop"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai SDK's httpx client expects
    server: ChatServer
    server_version = "sqlbench-serve"

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"sqlbench serve: {self.address_string()} {format % args}\n")

    # ---- plumbing
    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, e: RequestError) -> None:
        self._send_json(e.status, e.body())

    def _read_json(self) -> Any:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise RequestError("chunked request bodies are not supported; send Content-Length", status=411)
        if length is None:
            raise RequestError("a request body with Content-Length is required", status=411)
        try:
            n = int(length)
        except ValueError:
            raise RequestError("bad Content-Length header") from None
        if n > MAX_BODY:
            self.close_connection = True
            raise RequestError(f"the request body is larger than {MAX_BODY} bytes", status=413)
        raw = self.rfile.read(n)
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RequestError(f"could not parse the JSON body of your request ({e})", code="invalid_json") from None

    # ---- routes
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        model = {"id": self.server.model_name, "object": "model", "created": self.server.created, "owned_by": "sqlbench"}
        if path in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [model]})
        elif path.startswith(("/v1/models/", "/models/")):
            self._send_json(200, {**model, "id": path.split("/models/", 1)[1]})
        elif path in ("/health", "/v1/health", ""):
            w = self.server.worker
            self._send_json(200, {"status": "ok", "model": self.server.model_name,
                                  "queued": w.jobs.qsize(), "served": w.served})
        else:
            self._error(RequestError(f"unknown path {path}", status=404, code="not_found"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._read_json_quietly()
                raise RequestError(f"unknown path {path} (POST /v1/chat/completions)", status=404, code="not_found")
            srv = self.server
            req = parse_chat_request(self._read_json(), max_new_tokens=srv.max_new_tokens, temperature=srv.temperature)
            job = srv.worker.submit(req.messages, req.params)
        except RequestError as e:
            self._error(e)
            return
        if req.stream:
            self._stream(req, job)
        else:
            self._complete(req, job)

    def _read_json_quietly(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if 0 < n <= MAX_BODY:
            self.rfile.read(n)

    def _gen_error(self, job: Job) -> RequestError:
        e = job.error
        if isinstance(e, RequestError):
            return e
        if isinstance(e, PromptTooLong):
            return RequestError(str(e), param="messages", code="context_length_exceeded")
        self.log_message("generation failed: %s", f"{type(e).__name__}: {e}")
        return RequestError(f"generation failed: {type(e).__name__}", status=500, type="server_error")

    def _complete(self, req: ChatRequest, job: Job) -> None:
        text = "".join(job.chunks())
        if job.error is not None:
            self._error(self._gen_error(job))
            return
        r = job.result
        self._send_json(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.model or self.server.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": _finish(r)}],
            "usage": _usage(r),
        })

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, req: ChatRequest, job: Job) -> None:
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        model = req.model or self.server.model_name
        if job.failed_before_output():
            self._error(self._gen_error(job))
            return

        def event(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> bytes:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []}
            if req.include_usage:
                chunk["usage"] = usage
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._write_chunk(event({"role": "assistant", "content": ""}))
            for text in job.chunks():
                self._write_chunk(event({"content": text}))
            if job.error is not None:
                err = self._gen_error(job)
                self._write_chunk(b"data: " + json.dumps(err.body()).encode() + b"\n\n")
            else:
                self._write_chunk(event({}, _finish(job.result)))
                if req.include_usage:
                    self._write_chunk(event({}, usage=_usage(job.result), choices=False))
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            job.cancel()  # the client left: free the worker for the next request
            for _ in job.chunks():
                pass
            self.close_connection = True


def make_server(engine: Engine, host: str = "127.0.0.1", port: int = 8000, **kw: Any) -> ChatServer:
    return ChatServer(engine, host, port, **kw)
