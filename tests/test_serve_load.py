"""`sqlbench serve` under load, as a user runs it (a subprocess on loopback, tiny model):
a 64-way burst gets 200 or 503 for every request and no reset connection, and memory
stays flat over 500 requests. Bounded: 128 + 550 short requests."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-load-test-key-\"q\\b-0123456789"
MESSAGES = [{"role": "user", "content": "Which riders won an omnium at the 2016 Olympics?"}]


@pytest.fixture
def serve_proc(tiny_model_dir, tmp_path):
    """`sqlbench serve` with a short queue, an API key from the environment, and its
    request log in a file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_")}
    # one torch thread: on a shared 2-core machine more only spin against each other
    env.update(PYTHONPATH=str(ROOT), SERVE_API_KEY=KEY, OMP_NUM_THREADS="1")
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sqlbench", "serve", "--model", str(tiny_model_dir), "--port", "0",
         "--max-queue", "16", "--max-new-tokens", "8", "--temperature", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = proc.stdout.readline()  # printed once the model is loaded
        m = re.search(r"(http://127\.0\.0\.1:\d+)/v1", line)
        assert m, (line, (tmp_path / "serve.log").read_text())
        yield proc, urlparse(m.group(1)), tmp_path / "serve.log", line
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _post(conn: http.client.HTTPConnection, max_tokens: int = 8) -> tuple[int, str | None, dict]:
    body = json.dumps({"model": "x", "messages": MESSAGES, "max_tokens": max_tokens})
    conn.request("POST", "/v1/chat/completions", body=body,
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    resp = conn.getresponse()
    return resp.status, resp.getheader("Retry-After"), json.loads(resp.read())


def _rss(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def _run(workers: int, per_worker: int, url, fresh_connections: bool, start: threading.Barrier | None = None,
         max_tokens: int = 8):
    """Each worker sends ``per_worker`` requests; returns (results, errors)."""
    results: list[tuple[int, str | None, dict]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = None
        try:
            if start is not None:
                start.wait(timeout=60)
            for _ in range(per_worker):
                if conn is None or fresh_connections:
                    if conn is not None:
                        conn.close()
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
                r = _post(conn, max_tokens)
                with lock:
                    results.append(r)
        except BaseException as e:  # noqa: BLE001 - a reset connection lands here
            with lock:
                errors.append(e)
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    return results, errors


@pytest.mark.timeout(600)
def test_burst_gets_200_or_503_never_a_reset_and_memory_stays_flat(serve_proc):
    proc, url, log, banner = serve_proc
    assert "API key required" in banner and KEY not in banner

    # 128 requests from 64 clients released at once, each on a new connection
    results, errors = _run(64, 2, url, fresh_connections=True, start=threading.Barrier(64))
    assert not errors, errors[:3]
    assert len(results) == 128
    statuses = [s for s, _, _ in results]
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert 200 in statuses
    for status, retry_after, body in results:
        if status == 503:
            assert retry_after is not None and 1 <= int(retry_after) <= 60
            assert body["error"]["code"] == "overloaded"
        else:
            assert body["object"] == "chat.completion"

    # memory: warm up, then 500 more requests must not grow the server
    results, errors = _run(10, 5, url, fresh_connections=False, max_tokens=2)
    assert not errors and {s for s, _, _ in results} == {200}
    before = _rss(proc.pid)
    results, errors = _run(10, 50, url, fresh_connections=False, max_tokens=2)
    assert not errors and len(results) == 500 and {s for s, _, _ in results} == {200}
    growth_mb = (_rss(proc.pid) - before) / 2**20
    assert growth_mb < 24, f"RSS grew {growth_mb:.1f} MB over 500 requests"

    assert proc.poll() is None  # still serving
    text = log.read_text()
    assert '"POST /v1/chat/completions" 200' in text  # requests are logged...
    assert KEY not in text and "Traceback" not in text  # ...never the key, and nothing crashed
