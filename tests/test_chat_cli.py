"""`sqlbench chat` and `sqlbench serve` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request


from tests.test_dbconn_readonly import fingerprint

SQLBENCH = [sys.executable, "-m", "sqlbench"]


def run_cli(*args: str, stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([*SQLBENCH, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def test_once_json_with_database(tiny_model_dir, cycling_sqlite, tmp_path):
    before = fingerprint("sqlite", str(cycling_sqlite))
    r = run_cli("chat", "--model", str(tiny_model_dir), "--db", str(cycling_sqlite), "--max-new-tokens", "12",
                "--temperature", "0", "--once", "Who won the omnium in 2016?", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["question"] == "Who won the omnium in 2016?"
    assert set(out) >= {"think", "sql", "well_formed", "finish_reason", "result"}
    assert out["finish_reason"] in ("length", "stop")
    assert fingerprint("sqlite", str(cycling_sqlite)) == before


def test_repl_commands_and_refused_write(tiny_model_dir, cycling_duckdb):
    before = fingerprint("duckdb", str(cycling_duckdb))
    script = "\n".join([
        "/schema",
        "/sql DELETE FROM track_results",
        "/sql SELECT name FROM riders WHERE country = 'GBR' ORDER BY name",
        "/frobnicate",
        "which omnium riders are British?",
        "/reset",
        "/exit",
    ]) + "\n"
    r = run_cli("chat", "--model", str(tiny_model_dir), "--db", str(cycling_duckdb), "--max-new-tokens", "6",
                stdin=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "CREATE TABLE riders" in out and "track_results" in out  # /schema
    assert "refused: chat runs read-only queries only (DELETE is not allowed)" in out
    assert "Ethan Hayter" in out and "Katie Archibald" in out and "2 row(s)" in out
    assert "unknown command /frobnicate" in out
    assert "conversation cleared" in out
    assert fingerprint("duckdb", str(cycling_duckdb)) == before


def test_bad_db_is_one_line_error_before_loading(tmp_path):
    r = run_cli("chat", "--db", str(tmp_path / "nope.sqlite"), "--once", "hi", timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"sqlbench chat: error: {tmp_path / 'nope.sqlite'}: no such database file "
                                             "(give a SQLite or DuckDB file or a postgresql:// URL)"]


def test_bad_model_is_one_line_error(tmp_path):
    r = run_cli("serve", "--model", str(tmp_path / "missing-model"), "--port", "0", timeout=60)
    assert r.returncode == 2
    assert "sqlbench serve: error:" in r.stderr and "Traceback" not in r.stderr


def test_serve_port_zero_prints_url_and_stops_on_sigint(tiny_model_dir):
    proc = subprocess.Popen([*SQLBENCH, "serve", "--model", str(tiny_model_dir), "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = m.group(1)
        with urllib.request.urlopen(f"{url}/models", timeout=30) as resp:
            assert json.loads(resp.read())["data"][0]["id"] == str(tiny_model_dir)
        req = urllib.request.Request(
            f"{url}/chat/completions", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"model": "x", "messages": [{"role": "user", "content": "omnium?"}],
                             "max_tokens": 4}).encode())
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert json.loads(resp.read())["choices"][0]["message"]["role"] == "assistant"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0


def test_serve_port_in_use_is_one_line_error(tiny_model_dir):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli("serve", "--model", str(tiny_model_dir), "--port", str(port), timeout=120)
    assert r.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_prompt_too_long_is_reported_not_a_traceback(tiny_model_dir):
    huge = "omnium " * 5000
    r = run_cli("chat", "--model", str(tiny_model_dir), "--system-prompt", huge, stdin="who won?\n/exit\n")
    assert r.returncode == 0, r.stderr
    assert "the model takes at most" in r.stdout and "Traceback" not in r.stderr
    r = run_cli("chat", "--model", str(tiny_model_dir), "--system-prompt", huge, "--once", "who won?")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("sqlbench chat: error: the prompt is")


def _strip_ansi(data: bytes) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", data.decode(errors="replace"))


def test_ctrl_c_stops_the_answer_not_the_repl(tiny_model_dir):
    """SIGINT while answering cancels that generation; the REPL then takes /exit.

    The REPL is made to draw its live view on the pipe (FORCE_COLOR: rich treats it as
    a terminal), so the test sees the first streamed text and interrupts only then."""
    import threading

    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([*SQLBENCH, "chat", "--model", str(tiny_model_dir), "--max-new-tokens", "3000",
                             "--temperature", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    out = bytearray()
    reader = threading.Thread(target=lambda: [out.extend(c) for c in iter(lambda: os.read(proc.stdout.fileno(), 4096), b"")],
                              daemon=True)
    reader.start()

    def wait_for(cond, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert proc.poll() is None, (what, proc.stderr.read().decode())
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {_strip_ansi(bytes(out))[-500:]!r}"
            time.sleep(0.01)  # poll interval, not a wait for time to pass

    try:
        wait_for(lambda: "you>" in _strip_ansi(bytes(out)), "the REPL prompt (model loaded)")
        assert "sqlbench chat" in _strip_ansi(bytes(out))
        asked = len(out)
        proc.stdin.write(b"tell me about omnium results\n")
        proc.stdin.flush()
        # the answer (3000 greedy tokens) has started to stream: some text beyond the placeholder
        wait_for(lambda: re.sub(r"[\s\u2026]", "", _strip_ansi(bytes(out[asked:]))), "the first streamed text")
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "stopped" in _strip_ansi(bytes(out[asked:])), "the answer to stop")
        proc.stdin.write(b"/exit\n")
        proc.stdin.close()
        rc = proc.wait(timeout=60)
        reader.join(timeout=30)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0, err
    assert "stopped" in _strip_ansi(bytes(out)) and "Traceback" not in err
