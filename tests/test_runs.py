"""Run directories: append-only streams that survive a kill, resume, follow and status."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from sqlbench.errors import RunDirError
from sqlbench.redact import register_secret
from sqlbench.runs import RunDir, TailCursor, list_runs
from sqlbench.runs.summary import summarize


def test_create_writes_info_and_config(tmp_path):
    run = RunDir.create(tmp_path / "r1", "distill", {"limit": 3}, argv=["sqlbench", "distill"])
    info = run.info()
    assert info["kind"] == "distill" and info["status"] == "running" and info["pid"] == os.getpid()
    assert run.config() == {"limit": 3}
    assert run.status == "running"
    run.finish()
    assert run.status == "finished" and run.info()["finished"] >= info["started"]
    assert [e["type"] for e in run.read("events")] == ["finished"]


def test_same_path_resumes_same_kind_only(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {})
    run.append("samples", {"task_id": "1"})
    run.close()
    again = RunDir.create(tmp_path / "r", "distill", {})
    assert again.info()["resumes"] == 1
    assert again.read("samples") == [{"task_id": "1"}]
    with pytest.raises(RunDirError, match="holds a distill run"):
        RunDir.create(tmp_path / "r", "train", {})


def test_torn_last_line_is_skipped_by_readers_and_repaired_by_writer(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {})
    run.append("samples", {"task_id": "1"})
    run.close()
    with open(run.stream_path("samples"), "a") as fh:
        fh.write('{"task_id": "2", "trunc')
    assert [r["task_id"] for r in run.read("samples")] == ["1"]
    resumed = RunDir.create(tmp_path / "r", "distill", {})
    resumed.append("samples", {"task_id": "2"})
    lines = resumed.stream_path("samples").read_text().splitlines()
    assert [json.loads(x)["task_id"] for x in lines] == ["1", "2"]


def test_tail_returns_only_new_complete_lines(tmp_path):
    run = RunDir.create(tmp_path / "r", "train", {})
    cur = TailCursor()
    assert run.tail("metrics", cur) == []
    run.append("metrics", {"step": 1})
    run.append("metrics", {"step": 2})
    assert [m["step"] for m in run.tail("metrics", cur)] == [1, 2]
    with open(run.stream_path("metrics"), "a") as fh:
        fh.write('{"step": 3')
    assert run.tail("metrics", cur) == []
    with open(run.stream_path("metrics"), "a") as fh:
        fh.write("}\n")
    assert [m["step"] for m in run.tail("metrics", cur)] == [3]


def test_secrets_never_reach_the_run_directory(tmp_path):
    register_secret("sk-test-SECRET-987654")
    run = RunDir.create(tmp_path / "r", "distill", {"note": "key sk-test-SECRET-987654"},
                        argv=["sqlbench", "--api-key", "sk-test-SECRET-987654"])
    run.append("events", {"error": "401 for key sk-test-SECRET-987654"})
    run.finish("failed", error="bad key sk-test-SECRET-987654")
    for p in (tmp_path / "r").rglob("*"):
        assert "sk-test-SECRET" not in p.read_text(), p


def test_killed_writer_reads_as_interrupted_and_loses_no_flushed_record(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from sqlbench.runs import RunDir
        run = RunDir.create({str(tmp_path / 'r')!r}, "distill", {{}})
        for i in range(5):
            run.append("samples", {{"task_id": str(i)}})
        print("ready", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    run = RunDir.open(tmp_path / "r")
    assert run.status == "interrupted"
    assert [r["task_id"] for r in run.read("samples")] == ["0", "1", "2", "3", "4"]


def test_list_runs_newest_first_and_open_errors(tmp_path):
    a = RunDir.create(tmp_path / "a", "distill", {})
    a.update_info(started=1.0)
    b = RunDir.create(tmp_path / "b", "train", {})
    b.update_info(started=2.0)
    (tmp_path / "not-a-run").mkdir()
    assert [r.id for r in list_runs(tmp_path)] == ["b", "a"]
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDir.open(tmp_path / "not-a-run")


def test_recording_failure_marks_interrupted_or_failed_and_reraises(tmp_path):
    run = RunDir.create(tmp_path / "a", "eval", {})
    with pytest.raises(KeyboardInterrupt):
        with run.recording_failure():
            raise KeyboardInterrupt
    assert run.status == "interrupted"
    run = RunDir.create(tmp_path / "b", "eval", {})
    with pytest.raises(ValueError):
        with run.recording_failure():
            raise ValueError("no such column: x")
    assert run.status == "failed" and run.info()["error"] == "ValueError: no such column: x"
    assert run.read("events")[-1]["type"] == "error"


def test_one_corrupt_run_json_is_listed_as_unreadable_and_the_others_still_shown(tmp_path):
    good = RunDir.create(tmp_path / "good", "distill", {})
    good.update_info(started=5.0)
    good.finish()
    for name, data in (("torn", b'{"kind": "distill", "sta'), ("latin1", b'{"kind": "caf\xe9"}'), ("list", b"[1]"),
                       ("bad-pid", b'{"kind": "train", "status": "running", "pid": "x", "started": "soon"}')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_bytes(data)
    runs = list_runs(tmp_path)
    assert sorted(r.id for r in runs) == ["bad-pid", "good", "latin1", "list", "torn"]
    summaries = {r.id: summarize(r.path) for r in runs}
    assert summaries["good"]["status"] == "finished"
    for name in ("torn", "latin1", "list"):
        s = summaries[name]
        assert s["status"] == "unreadable" and "run.json is not valid JSON" in s["error"] and "\n" not in s["error"]
    assert summaries["bad-pid"]["status"] == "interrupted"  # a pid it cannot read is no live job

    r = subprocess.run([sys.executable, "-m", "sqlbench", "runs", "--root", str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    listed = {d["id"]: d for d in map(json.loads, r.stdout.splitlines())}
    assert set(listed) == {"bad-pid", "good", "latin1", "list", "torn"} and listed["torn"]["status"] == "unreadable"
    r = subprocess.run([sys.executable, "-m", "sqlbench", "runs", "--root", str(tmp_path)], capture_output=True,
                       text=True, timeout=60, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "good" in r.stdout and "unreadable" in r.stdout


def test_the_lock_is_exclusive_visible_to_readers_and_dies_with_its_process(tmp_path):
    run = RunDir.create(tmp_path / "r", "distill", {}, lock=True)
    assert RunDir(tmp_path / "r").is_locked()
    with pytest.raises(RunDirError, match="is in use by another job"):
        RunDir.create(tmp_path / "r", "distill", {}, lock=True)
    with pytest.raises(RunDirError, match="is in use by another job"):
        RunDir(tmp_path / "r").check_unlocked()
    run.finish()
    run.unlock()
    assert not RunDir(tmp_path / "r").is_locked()
    assert not RunDir(tmp_path / "never-made").is_locked()

    script = textwrap.dedent(f"""
        import time
        from sqlbench.runs import RunDir
        RunDir.create({str(tmp_path / 'k')!r}, "distill", {{}}, lock=True)
        print("locked", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    assert RunDir(tmp_path / "k").is_locked()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert not RunDir(tmp_path / "k").is_locked()  # no stale lock after a crash
    again = RunDir.create(tmp_path / "k", "distill", {}, lock=True)  # and the run resumes
    assert again.info()["resumes"] == 1
    again.unlock()


def test_default_run_paths_are_claimed_atomically(tmp_path):
    a = RunDir.create(None, "distill", {}, root=tmp_path)
    b = RunDir.create(None, "distill", {}, root=tmp_path)
    assert a.path != b.path and a.path.parent == b.path.parent == tmp_path


KEYS = ['sk-q"uote\\back-Zx81', "sk-url%2Fenc/od+ed&=Yq42", "sk-plain-Wm55-tail"]


def test_redaction_works_on_raw_values_in_every_spelling(tmp_path):
    from urllib.parse import quote, quote_plus

    from sqlbench.redact import redact

    for k in KEYS:
        register_secret(k)
    run = RunDir.create(tmp_path / "r", "distill", {"echo": KEYS, "url": "http://user:tok-in-url-99@h/v1"},
                        argv=["sqlbench", "--base-url", "http://user:tok-in-url-99@h/v1"])
    for k in KEYS:
        run.append("samples", {"error": f'server said: you sent "Bearer {k}"', "nested": [{"k": k}],
                               "json_text": json.dumps({"auth": k}), "url_text": f"?key={quote(k, safe='')}"})
        run.event("failed", error=f"HTTP 400: {json.dumps(k)}", **{k: "as a key"})
    run.finish("failed", error=f"bad key {KEYS[0]}")
    for p in (tmp_path / "r").rglob("*"):
        text = p.read_text()
        for k in KEYS:
            for form in (k, json.dumps(k)[1:-1], quote(k, safe=""), quote_plus(k)):
                assert form not in text, (p.name, form)
        assert "tok-in-url-99" not in text, p.name
    assert redact("see http://alice:s3cr3t@example.com/x") == "see http://***@example.com/x"
