"""`sqlbench serve` against careless and hostile clients (issue 12): bad headers, big
bodies and prompts, slow clients, clients that leave, wrong methods and API keys. One
regression test per defect, on loopback with the tiny model."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlparse

import pytest

from tests.test_serve_api import SEED_BODY, _assert_error, raw

KEY = 'sk-serve-"quote\\back%2Fslash-1234567890'


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from sqlbench.inference.chat import load_engine

    return load_engine(str(tiny_model_dir))


def _server(engine, **limits):
    from sqlbench.inference.serve import Limits, make_server

    api_key = limits.pop("api_key", None)
    quiet = limits.pop("quiet", True)
    srv = make_server(engine, "127.0.0.1", 0, model_name="tiny", max_new_tokens=8, temperature=0.0, quiet=quiet,
                      limits=Limits(**limits), api_key=api_key)
    srv.start_background()
    return srv


@pytest.fixture(scope="module")
def server(engine):
    srv = _server(engine, header_timeout=0.5, body_timeout=0.5, max_body_bytes=256 * 1024)
    yield srv
    srv.shutdown()
    srv.server_close()


def _connect(srv, timeout: float = 30) -> socket.socket:
    u = urlparse(srv.url)
    return socket.create_connection((u.hostname, u.port), timeout=timeout)


def _read_response(s: socket.socket) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one response on a raw socket; (0, {}, b"") if the server
    closed the connection without answering."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return 0, {}, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _raw_request(srv, head: bytes, body: bytes = b"") -> tuple[int, dict, dict]:
    with _connect(srv) as s:
        s.sendall(head + body)
        status, headers, data = _read_response(s)
    return status, headers, json.loads(data) if data else {}


def _post_head(length: int | str, extra: str = "") -> bytes:
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode()


BODY = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}).encode()


# ---- malformed headers and values: 400s, never a traceback or a held connection ----------
@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "99999999999999999999999999"])
def test_bad_content_length_is_a_400(server, length, capfd):
    status, headers, body = _raw_request(server, _post_head(length), BODY)
    _assert_error(status, body, 400)
    assert headers.get("connection") == "close"
    assert "Traceback" not in capfd.readouterr().err
    assert raw(server, "GET", "/v1/models")[0] == 200  # still serving


def test_huge_seed_is_a_400(server):
    status, body = raw(server, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "seed": 2**70}))
    _assert_error(status, body, 400, "seed")


def test_huge_stop_string_is_a_400(server):
    """Stop strings are matched on every token: one of 100 kB would stall the worker."""
    submitted = server.worker.submitted
    status, body = raw(server, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "stop": ["x" * 100_000]}))
    _assert_error(status, body, 400, "stop")
    assert server.worker.submitted == submitted


@pytest.mark.parametrize("text", ['{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                  '{"messages": [], "max_tokens": ' + "9" * 5000 + "}"])
def test_pathological_json_is_a_400(server, text):
    _assert_error(*raw(server, "POST", "/v1/chat/completions", text), 400)


@pytest.mark.parametrize("method,path,allowed", [("PUT", "/v1/chat/completions", "POST"),
                                                 ("DELETE", "/v1/chat/completions", "POST"),
                                                 ("DELETE", "/v1/models", "GET"),
                                                 ("PATCH", "/v1/models", "GET")])
def test_wrong_method_is_an_openai_json_405(server, method, path, allowed):
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request(method, path, body=b"{}")
    resp = conn.getresponse()
    assert resp.getheader("Content-Type", "").startswith("application/json")
    body = json.loads(resp.read())
    conn.close()
    _assert_error(resp.status, body, 405)
    assert allowed in resp.getheader("Allow", "")
    assert body["error"]["code"] == "method_not_allowed"


# ---- size: 413 before the body is read, 400 before the prompt reaches the worker ----------
def test_big_body_is_a_413_before_it_is_sent(server):
    """The answer comes with only the head sent: the server did not wait for 5 MB."""
    submitted = server.worker.submitted
    with _connect(server) as s:
        s.sendall(_post_head(5 * 1024 * 1024))
        status, headers, body = _read_response(s)
        assert s.recv(1) == b""  # and it closed the connection instead of reading the rest
    _assert_error(status, json.loads(body), 413)
    assert "max_body_bytes" in json.loads(body)["error"]["message"]
    assert server.worker.submitted == submitted


def test_big_chunked_body_is_a_413(server):
    """No Content-Length to trust: the count of bytes received decides."""
    chunk = b"x" * 65536
    with _connect(server) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(8):  # 512 KiB, twice the limit
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before all of it is sent
        status, _, body = _read_response(s)
    _assert_error(status, json.loads(body), 413)


def test_five_mb_prompt_sent_in_full_gets_its_413(engine):
    """A client that sends the whole body (as the openai SDK does) still reads the 413."""
    import openai
    from openai import OpenAI

    srv = _server(engine)  # the default limit, 1 MiB
    try:
        client = OpenAI(base_url=srv.url, api_key="x", max_retries=0, timeout=60)
        with pytest.raises(openai.APIStatusError) as e:
            client.chat.completions.create(model="x", messages=[{"role": "user", "content": "omnium " * 750_000}])
        assert e.value.status_code == 413
        assert srv.worker.submitted == 0
    finally:
        srv.shutdown()
        srv.server_close()


def test_prompt_over_the_context_never_reaches_the_worker(server, engine):
    submitted = server.worker.submitted
    words = " ".join(["omnium"] * (engine.max_positions + 100))  # fits the body limit, not the model
    for stream in (False, True):
        status, body = raw(server, "POST", "/v1/chat/completions",
                           json.dumps({"stream": stream, "messages": [{"role": "user", "content": words}]}))
        _assert_error(status, body, 400, "messages")
        assert body["error"]["code"] == "context_length_exceeded"
    assert server.worker.submitted == submitted


def test_prompt_far_over_the_context_is_refused_without_tokenising(engine):
    """Past max_positions x the longest token in characters no tokeniser can make it fit."""
    from sqlbench.inference.serve import PromptGate, RequestError

    calls = []

    class CountingTokenizer:
        def __call__(self, *a, **kw):
            calls.append(1)
            return engine.tokenizer(*a, **kw)

        def get_vocab(self):
            return engine.tokenizer.get_vocab()

    class CountingEngine:
        max_positions = engine.max_positions
        render = staticmethod(engine.render)
        tokenizer = CountingTokenizer()

    gate = PromptGate(CountingEngine())
    try:
        bound = gate._char_bound()
        assert bound is not None
        with pytest.raises(RequestError, match="characters"):
            gate._check([{"role": "user", "content": "x" * (bound + 1)}])
        assert calls == []
        assert gate._check([{"role": "user", "content": "omnium"}]) > 0 and calls == [1]
    finally:
        gate.close()


# ---- slow clients: the head and the body have deadlines ----------------------------------
def test_slow_head_is_cut_off(server):
    with _connect(server) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-")
        assert s.recv(1024) == b""  # closed by the server (header_timeout 0.5 s; socket guard 30 s)


def test_trickled_head_is_cut_off(server):
    """A byte now and then does not extend the deadline: it counts from the connection."""
    import select

    with _connect(server) as s:
        closed = False
        deadline = time.monotonic() + 30
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
        for byte in head:
            readable, _, _ = select.select([s], [], [], 0.02)  # pace the bytes; stop once the server hangs up
            if readable or time.monotonic() > deadline:
                closed = s.recv(1024) == b""
                break
            try:
                s.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed


def test_slow_body_is_a_408(server):
    with _connect(server) as s:
        s.sendall(_post_head(len(BODY)) + BODY[:10])
        status, headers, body = _read_response(s)
    _assert_error(status, json.loads(body), 408)
    assert headers.get("connection") == "close"


# ---- a client that leaves cancels its generation, plain or streamed ------------------------
def test_plain_request_is_cancelled_when_the_client_leaves(server):
    body = json.dumps({**SEED_BODY, "max_tokens": 3000, "temperature": 1.0, "seed": 7}).encode()
    before = len([r for r in server.worker.finished if r.finish_reason == "cancelled"])
    s = _connect(server)
    s.sendall(_post_head(len(body)) + body)
    deadline = time.monotonic() + 60
    while server.worker.current is None:  # the worker is generating our answer
        assert time.monotonic() < deadline
        time.sleep(0.005)
    s.close()
    status, resp = raw(server, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "max_tokens": 2}))
    assert status == 200, resp
    cancelled = [r for r in server.worker.finished if r.finish_reason == "cancelled"]
    assert len(cancelled) == before + 1 and cancelled[-1].completion_tokens < 3000


def test_queued_request_of_a_client_that_left_is_never_generated(engine):
    """Closed while waiting its turn: the worker skips it."""
    from sqlbench.inference.serve import Limits, make_server

    srv = make_server(engine, "127.0.0.1", 0, quiet=True, temperature=1.0, limits=Limits())
    srv.start_background()
    try:
        long = json.dumps({**SEED_BODY, "stream": True, "max_tokens": 3000, "seed": 3}).encode()
        busy = _connect(srv)
        busy.sendall(_post_head(len(long)) + long)
        got = b""
        while got.count(b"data: ") < 2:
            got += busy.recv(4096)
        queued = _connect(srv)
        body = json.dumps({**SEED_BODY, "max_tokens": 50}).encode()
        queued.sendall(_post_head(len(body)) + body)
        deadline = time.monotonic() + 30
        while srv.worker.jobs.qsize() < 1:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        queued.close()
        served = srv.worker.served
        busy.close()
        assert raw(srv, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "max_tokens": 2}))[0] == 200
        # the long one (cancelled) and the last one ran; the abandoned one did not
        assert srv.worker.served == served + 2
    finally:
        srv.shutdown()
        srv.server_close()


# ---- the queue: 503 with Retry-After ----------------------------------------------------
def test_full_queue_answers_503_with_retry_after(engine):
    srv = _server(engine, max_queue=1)
    try:
        long = json.dumps({**SEED_BODY, "stream": True, "max_tokens": 3000, "temperature": 1.0, "seed": 3}).encode()
        busy = _connect(srv)
        busy.sendall(_post_head(len(long)) + long)
        got = b""
        while got.count(b"data: ") < 2:
            got += busy.recv(4096)
        waiting = threading.Thread(target=raw, args=(srv, "POST", "/v1/chat/completions",
                                                     json.dumps({**SEED_BODY, "max_tokens": 2})))
        waiting.start()
        deadline = time.monotonic() + 30
        while srv.worker.jobs.qsize() < 1:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        status, headers, body = _raw_request(srv, _post_head(len(BODY)), BODY)
        _assert_error(status, body, 503)
        assert body["error"]["code"] == "overloaded"
        assert 1 <= int(headers["retry-after"]) <= 60
        busy.close()
        waiting.join(timeout=120)
        assert not waiting.is_alive()
    finally:
        srv.shutdown()
        srv.server_close()


# ---- the API key ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keyed(engine):
    srv = _server(engine, api_key=KEY, quiet=False)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {KEY}", "Bearer " + KEY[:-1], "Bearer " + KEY + "x"])
def test_missing_or_wrong_key_is_a_401(keyed, auth):
    headers = {"Authorization": auth} if auth else {}
    for method, path, body in (("POST", "/v1/chat/completions", json.dumps(SEED_BODY)), ("GET", "/v1/models", None)):
        status, resp = raw(keyed, method, path, body, headers)
        _assert_error(status, resp, 401)
        assert resp["error"]["code"] == "invalid_api_key"
        assert KEY not in json.dumps(resp)


def test_right_key_works_with_the_sdk_and_is_never_logged(keyed, capfd):
    import openai
    from openai import OpenAI

    ok = OpenAI(base_url=keyed.url, api_key=KEY, max_retries=0, timeout=60)
    assert ok.chat.completions.create(model="x", messages=SEED_BODY["messages"], max_tokens=2).choices
    assert [m.id for m in ok.models.list().data] == ["tiny"]
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=keyed.url, api_key="sk-wrong", max_retries=0, timeout=60).models.list()
    assert raw(keyed, "GET", "/health") == (200, {"status": "ok"})  # alive, nothing more without the key
    from urllib.parse import quote

    # a key or a terminal escape in the path (decoded by the server) is not echoed either
    raw(keyed, "GET", "/v1/" + quote(KEY, safe="") + "/%1B%5B2J")
    out, err = capfd.readouterr()
    assert '"POST /v1/chat/completions" 200' in err and "401" in err  # requests are logged...
    assert KEY not in out + err and "sk-wrong" not in out + err  # ...their keys are not
    assert "\x1b" not in err


def test_serve_help_imports_no_server_or_model_library():
    """uvicorn, Starlette and torch load when `sqlbench serve` runs, not for its --help."""
    import subprocess
    import sys

    code = ("import sys, json, contextlib, io\n"
            "from sqlbench.cli import build_parser\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: build_parser().parse_args(['serve', '--help'])\n"
            "    except SystemExit: pass\n"
            "print(json.dumps(sorted(m for m in ('uvicorn', 'starlette', 'torch', 'transformers') if m in sys.modules)))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []
