"""The OpenAI-compatible server on loopback with the tiny model: the openai SDK (plain
and streamed), raw HTTP for the seed's request and every error case, concurrency, and
a client that leaves mid-stream."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
from urllib.parse import urlparse

import pytest

from sqlbench.prompts import SYSTEM_PROMPT

SEED_MODEL = "proton98/sql-llama3.2-3b-it-reasoning"
OMNIUM_QUESTION = (
    "Which riders won an omnium at the Olympic Games or the World Championships, and in which year?\n\n"
    "Database schema:\n"
    "CREATE TABLE riders (rider_id INTEGER PRIMARY KEY, name VARCHAR(80), country VARCHAR(3));\n"
    "CREATE TABLE track_results (result_id INTEGER PRIMARY KEY, rider_id INTEGER REFERENCES riders(rider_id), "
    "event VARCHAR(40), championship VARCHAR(80), year INTEGER, position INTEGER, points INTEGER);"
)
SEED_BODY = {
    "model": SEED_MODEL,
    "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": OMNIUM_QUESTION}],
}


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from sqlbench.inference.chat import load_engine

    return load_engine(str(tiny_model_dir))


@pytest.fixture(scope="module")
def server(engine):
    from sqlbench.inference.serve import make_server

    srv = make_server(engine, "127.0.0.1", 0, model_name="tiny", max_new_tokens=24, temperature=0.0, quiet=True)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=60)


def raw(server, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None):
    """(status, parsed JSON or text) over a fresh HTTP connection."""
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    if isinstance(body, str):
        body = body.encode()
    conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, data


def test_sdk_plain(client):
    r = client.chat.completions.create(model=SEED_MODEL, messages=SEED_BODY["messages"], max_tokens=16)
    assert r.object == "chat.completion" and r.model == SEED_MODEL
    choice = r.choices[0]
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    assert 1 <= r.usage.completion_tokens <= 16 and r.usage.prompt_tokens > 50
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_sdk_stream_matches_plain(client):
    """Greedy decoding: the streamed chunks join to exactly the non-streamed answer."""
    kw = dict(model="anything-at-all", messages=SEED_BODY["messages"], max_tokens=20, temperature=0)
    plain = client.chat.completions.create(**kw).choices[0].message.content
    chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kw))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2  # really streamed
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals in (["length"], ["stop"])
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens <= 20


def test_stream_ends_with_done(server):
    body = json.dumps({**SEED_BODY, "stream": True, "max_tokens": 5})
    status, text = raw(server, "POST", "/v1/chat/completions", body)
    assert status == 200
    events = [e for e in text.split("\n\n") if e.strip()]
    assert events[-1] == "data: [DONE]"
    for e in events[:-1]:
        assert e.startswith("data: ") and json.loads(e[6:])["object"] == "chat.completion.chunk"


def test_models(client, server):
    models = client.models.list()
    assert [m.id for m in models.data] == ["tiny"]
    status, body = raw(server, "GET", "/v1/models")
    assert status == 200 and body["object"] == "list" and body["data"][0]["object"] == "model"


def test_seed_request_raw_http(server):
    """The README's curl request, byte for byte the same body."""
    status, body = raw(server, "POST", "/v1/chat/completions", json.dumps(SEED_BODY))
    assert status == 200, body
    assert body["model"] == SEED_MODEL and body["object"] == "chat.completion"
    assert isinstance(body["choices"][0]["message"]["content"], str)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_request_with_curl(server):
    r = subprocess.run(
        ["curl", "-sS", f"{server.url}/chat/completions", "-H", "Content-Type: application/json",
         "-d", json.dumps(SEED_BODY)],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["choices"][0]["message"]["role"] == "assistant"


def _assert_error(status, body, want_status, param=None):
    assert status == want_status, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"] and err["type"] in ("invalid_request_error", "server_error")
    if param is not None:
        assert err["param"] == param


BAD_BODIES = [
    ("{not json", None),
    ("[1, 2]", None),
    ('"just a string"', None),
    ("{}", "messages"),
    ('{"messages": []}', "messages"),
    ('{"messages": "hello"}', "messages"),
    ('{"messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role"),
    ('{"messages": [{"role": "user"}]}', "messages[0].content"),
    ('{"messages": [{"role": "user", "content": 42}]}', "messages[0].content"),
    ('{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}', "messages[0].content[0]"),
    ('{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', "temperature"),
    ('{"messages": [{"role": "user", "content": "hi"}], "temperature": 9}', "temperature"),
    ('{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', "max_tokens"),
    ('{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1.5}', "max_tokens"),
    ('{"messages": [{"role": "user", "content": "hi"}], "n": 3}', "n"),
    ('{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', "stream"),
    ('{"messages": [{"role": "user", "content": "hi"}], "stop": [1, 2]}', "stop"),
    ('{"messages": [{"role": "user", "content": "hi"}], "model": 7}', "model"),
]


@pytest.mark.parametrize("body,param", BAD_BODIES)
def test_bad_requests_get_openai_errors(server, body, param):
    status, resp = raw(server, "POST", "/v1/chat/completions", body)
    _assert_error(status, resp, 400, param)


def test_non_utf8_body(server):
    status, resp = raw(server, "POST", "/v1/chat/completions", b"\xff\xfe\x00garbage")
    _assert_error(status, resp, 400)


def test_unknown_paths(server):
    _assert_error(*raw(server, "GET", "/v1/nothing"), 404)
    _assert_error(*raw(server, "POST", "/v1/embeddings", "{}"), 404)


def test_too_large_body_refused(server):
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("POST", "/v1/chat/completions")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    _assert_error(resp.status, body, 413)


def test_sdk_raises_on_bad_request(client):
    import openai

    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}], n=2)
    assert "n=1" in str(e.value)


def test_concurrent_requests_queue_and_agree(server):
    """Eight clients at once, plain and streamed: all answered, none disturbed."""
    from openai import OpenAI

    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            c = OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=120)
            kw = dict(model=f"m{i}", messages=SEED_BODY["messages"], max_tokens=12, temperature=0)
            if i % 2:
                results[i] = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(stream=True, **kw)
                                     if ch.choices)
            else:
                results[i] = c.chat.completions.create(**kw).choices[0].message.content
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    served = server.worker.served
    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert len(results) == 8 and len(set(results.values())) == 1  # greedy: same prompt, same answer
    assert server.worker.served - served == 8
    assert raw(server, "GET", "/health")[1]["status"] == "ok"


def test_client_leaving_mid_stream_cancels_generation(server):
    u = urlparse(server.url)
    body = json.dumps({**SEED_BODY, "stream": True, "max_tokens": 2000, "temperature": 1.0, "seed": 7}).encode()
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    got = b""
    while got.count(b"data: ") < 4:  # a few tokens have streamed
        got += s.recv(4096)
    s.close()
    # the next request is served, and the abandoned one stopped early
    status, resp = raw(server, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "max_tokens": 3}))
    assert status == 200
    abandoned = [r for r in server.worker.finished if r.finish_reason == "cancelled"]
    assert abandoned and abandoned[-1].completion_tokens < 2000


def test_stop_strings_cut_the_output(client):
    kw = dict(model="x", messages=SEED_BODY["messages"], max_tokens=24, temperature=0)
    full = client.chat.completions.create(**kw).choices[0].message.content
    assert len(full) >= 6
    stop = full[3:5]
    cut = client.chat.completions.create(stop=[stop], **kw).choices[0].message.content
    assert cut == full[: full.index(stop)]
    streamed = "".join(c.choices[0].delta.content or "" for c in
                       client.chat.completions.create(stop=stop, stream=True, **kw) if c.choices)
    assert streamed == cut


def test_prompt_too_long_is_a_400(server, engine):
    words = " ".join(["omnium"] * (engine.max_positions + 100))
    body = json.dumps({"model": "x", "messages": [{"role": "user", "content": words}]})
    status, resp = raw(server, "POST", "/v1/chat/completions", body)
    _assert_error(status, resp, 400, "messages")
    assert resp["error"]["code"] == "context_length_exceeded"
    assert raw(server, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "max_tokens": 2}))[0] == 200


def _readme_curl() -> list[str] | None:
    """The README's curl command for the seed's request, as argv (None when absent)."""
    import re
    import shlex
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    if not readme.is_file():
        return None
    for block in re.findall(r"^```(?:bash|sh|shell|console)\n(.*?)^```", readme.read_text(), re.S | re.M):
        cmd = block.replace("\\\n", " ").strip()
        if cmd.startswith("curl ") and "/v1/chat/completions" in cmd and SEED_MODEL in cmd:
            return shlex.split(cmd)
    return None


def test_readme_curl_command_is_the_seed_request(server):
    argv = _readme_curl()
    assert argv is not None, "README.md must show the seed's /v1/chat/completions request with curl"
    body = json.loads(argv[argv.index("-d") + 1])
    assert body == SEED_BODY  # the README shows exactly the request tested here
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    argv = [a.replace("http://127.0.0.1:8000/v1", server.url) for a in argv]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"] == SEED_MODEL


def test_full_queue_is_a_503_not_a_crash(engine):
    from sqlbench.inference.serve import make_server

    srv = make_server(engine, "127.0.0.1", 0, quiet=True, max_pending=1, temperature=1.0)
    srv.start_background()
    u = urlparse(srv.url)
    try:
        long = json.dumps({**SEED_BODY, "stream": True, "max_tokens": 3000, "seed": 3}).encode()
        busy = socket.create_connection((u.hostname, u.port), timeout=30)
        busy.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(long)}\r\n\r\n".encode() + long)
        got = b""
        while got.count(b"data: ") < 2:  # the worker is generating
            got += busy.recv(4096)
        waiting = threading.Thread(target=raw, args=(srv, "POST", "/v1/chat/completions",
                                                     json.dumps({**SEED_BODY, "max_tokens": 2})))
        waiting.start()  # fills the one queue slot
        deadline = time.monotonic() + 30
        while srv.worker.jobs.qsize() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        status, body = raw(srv, "POST", "/v1/chat/completions", json.dumps({**SEED_BODY, "max_tokens": 2}))
        _assert_error(status, body, 503)
        assert body["error"]["code"] == "overloaded"
        busy.close()  # leaving cancels the long job; the queued request is then served
        waiting.join(timeout=120)
        assert not waiting.is_alive()
        assert raw(srv, "GET", "/health")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_streamed_prompt_too_long_is_still_a_400(server, engine):
    words = " ".join(["omnium"] * (engine.max_positions + 100))
    body = json.dumps({"model": "x", "stream": True, "messages": [{"role": "user", "content": words}]})
    status, resp = raw(server, "POST", "/v1/chat/completions", body)
    _assert_error(status, resp, 400, "messages")
