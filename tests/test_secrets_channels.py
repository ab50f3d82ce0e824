"""Distinctive keys (with quotes, backslashes and URL-encoding) sent through every output
channel of a real distill: a workbench job's stdout.log, the CLI's stderr/stdout, every
file of the run directory (the dataset's Arrow files included) and what is published to
the loopback Hub. None appears, raw, JSON-escaped or URL-encoded. The teacher echoes the
Authorization header in errors and in answers, as careless servers do."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

from sqlbench.runs import RunDir
from tests.fixtures.teacher import shop_rows
from tests.test_distill_cli import _cmd, _env, tasks40  # noqa: F401 - the fixture

API_KEY = 'sk-Q"uo\\te%2Fenc-Zz91'
HF_TOKEN = 'hf_Dist"inct\\Tok%41-Pq77'
URL_USER, URL_TOKEN = "tokuser-Hh12", 'tok"en\\in%url-Uu21'


def _forms(secret: str) -> set[bytes]:
    out = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], quote(secret, safe=""),
           quote_plus(secret, safe=""), quote(secret)}
    return {s.encode() for s in out}


def _assert_clean(label: str, data: bytes, secrets: list[str]) -> None:
    for secret in secrets:
        for form in _forms(secret):
            assert form not in data, f"{label} holds {form!r}"


def _run_files(run_dir: Path) -> list[Path]:
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert files
    return files


def test_no_key_in_any_channel_of_a_workbench_job_or_the_hub(loopback_teacher, loopback_hub, tasks40, tmp_path,
                                                             monkeypatch):
    from sqlbench.runs.jobs import JobManager

    rows = shop_rows(40)
    loopback_teacher.inject("echo_auth_400", times=None, match=rows[1]["sql_prompt"])  # a failed sample's error
    loopback_teacher.inject("echo_auth_200", match=rows[2]["sql_prompt"])  # the answer itself quotes the key
    for k, v in _env(API_KEY=API_KEY, HF_TOKEN=HF_TOKEN, HF_ENDPOINT=loopback_hub.endpoint).items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / "job"
    job = JobManager(tmp_path / "runs").start("distill", [
        "--provider", "OpenAI", "--model", "loopback-teacher", "--base-url", loopback_teacher.base_url,
        "--dataset-repo-id", str(tasks40), "--limit", "6", "--retries", "0", "--publish",
        "--publish-repo-id", "tester/secrets"], run_dir)
    assert job.process.wait(timeout=180) == 0, (run_dir / "stdout.log").read_text()

    # the keys were really sent, and really echoed back ...
    assert f"Bearer {API_KEY}" in loopback_teacher.authorizations()
    assert f"Bearer {HF_TOKEN}" in loopback_hub.authorizations()
    samples = {s["task_id"]: s for s in RunDir(run_dir).read("samples")}
    assert samples["t001"]["status"] == "failed" and "you sent Authorization: Bearer ***" in samples["t001"]["error"]
    assert "The header was Bearer ***" in samples["t002"]["completion"] and samples["t002"]["valid"] is True
    # ... and are nowhere: stdout.log, run files (Arrow included), Hub files
    files = _run_files(run_dir)
    assert {"stdout.log", "samples.jsonl", "events.jsonl", "run.json", "config.yaml", "dataset.jsonl"} <= {
        p.name for p in files} and any(p.suffix == ".arrow" for p in files)
    for p in files:
        _assert_clean(str(p), p.read_bytes(), [API_KEY, HF_TOKEN])
    published = loopback_hub.repos["tester/secrets"].files
    assert "README.md" in published and any(name.endswith(".parquet") for name in published)
    for name, data in published.items():
        _assert_clean(f"hub:{name}", data, [API_KEY, HF_TOKEN])
    assert any("The header was Bearer ***" in str(r.get("completion")) for r in loopback_hub.read_parquet("tester/secrets"))


def test_no_key_on_stderr_when_the_teacher_echoes_it_in_a_fatal_error(loopback_teacher, tasks40, tmp_path):
    loopback_teacher.inject("echo_auth_404", times=None)
    run_dir = tmp_path / "run"
    r = subprocess.run(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "3"), cwd=tmp_path,
                       env=_env(API_KEY=API_KEY), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "you sent Authorization: Bearer ***" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    _assert_clean("stderr", r.stderr.encode(), [API_KEY])
    _assert_clean("stdout", r.stdout.encode(), [API_KEY])
    for p in _run_files(run_dir):
        _assert_clean(str(p), p.read_bytes(), [API_KEY])


def test_no_token_from_the_base_urls_userinfo_anywhere(loopback_teacher, tasks40, tmp_path):
    host = loopback_teacher.base_url.split("://", 1)[1]
    url = f"http://{URL_USER}:{quote(URL_TOKEN, safe='')}@{host}"
    loopback_teacher.inject("echo_auth_400", times=None, match=shop_rows(40)[0]["sql_prompt"])
    run_dir = tmp_path / "run"
    cmd = [*_cmd(loopback_teacher, tasks40, run_dir, "--limit", "2", "--retries", "0")]
    cmd[cmd.index("--base-url") + 1] = url
    r = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    basic = base64.b64encode(f"{URL_USER}:{URL_TOKEN}".encode()).decode()
    assert f"Basic {basic}" in loopback_teacher.authorizations()  # the userinfo was used, and echoed back
    # a resume prints the recorded and the given settings: the URL is in both
    again = subprocess.run([*cmd, "--limit", "3"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    secrets = [URL_TOKEN, URL_USER, basic]
    for label, text in (("stderr", r.stderr + again.stderr), ("stdout", r.stdout + again.stdout)):
        _assert_clean(label, text.encode(), secrets)
    for p in _run_files(run_dir):
        _assert_clean(str(p), p.read_bytes(), secrets)
    assert RunDir(run_dir).config()["distill"]["base_url"] == f"http://***@{host}"


def test_the_redacting_stream_masks_a_key_split_across_writes():
    import io

    from sqlbench.redact import RedactingStream, register_secret

    register_secret(API_KEY)
    inner = io.StringIO()
    out = RedactingStream(inner)
    half = len(API_KEY) // 2
    print(f"echo {API_KEY[:half]}", end="", file=out)
    print(f"{API_KEY[half:]} done", file=out)
    out.write(f"partial {json.dumps(API_KEY)[1:-1]}")
    assert "partial" not in inner.getvalue()  # held until its line ends ...
    out.flush()  # ... or until flushed
    assert inner.getvalue() == "echo *** done\npartial ***"
