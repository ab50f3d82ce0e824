"""run_distill in-process against the loopback teacher: records, events, dataset,
verdicts, retries, filtering, multiple samples, hint-gold, stop/pause and resume."""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path

import pytest

from sqlbench.config import Secrets, Settings
from sqlbench.distill import run_distill
from sqlbench.errors import ConfigError
from sqlbench.runs import RunDir
from tests.fixtures.teacher import shop_rows, write_shop_tasks
from tests.fixtures.waiting import wait_for

_until = functools.partial(wait_for, timeout=30.0, interval=0.01)

SAMPLE_FIELDS = {"task_id", "question", "context", "gold_sql", "provider", "model", "messages", "completion", "think",
                 "sql", "verdict", "valid", "reason", "latency_s", "tokens", "attempts", "status", "error",
                 "sample_index"}


def settings_for(teacher, tasks_file: Path, tmp_path: Path, **distill) -> Settings:
    d = {"provider": "openai", "model": "loopback-teacher", "dataset_repo_id": str(tasks_file), "limit": 12,
         "batch_size": 8, "retries": 2, "retry_backoff": 0.01, "request_timeout": 5.0}
    d.update(distill)
    return Settings.model_validate({"base_url": teacher.base_url, "runs_dir": str(tmp_path / "runs"),
                                    "temperature": 0.0, "distill": d})


@pytest.fixture
def shop(tmp_path, loopback_teacher):
    path = write_shop_tasks(tmp_path / "shop.jsonl", 12)
    from sqlbench.data.loader import load_tasks

    loopback_teacher.learn(load_tasks(path))
    return path


def _run(teacher, shop, tmp_path, name="run", **distill) -> RunDir:
    path = run_distill(settings_for(teacher, shop, tmp_path, **distill), Secrets(), run_dir=tmp_path / name,
                       argv=["test"], progress=False)
    return RunDir(path)


def test_every_sample_is_recorded_validated_and_the_dataset_written(loopback_teacher, shop, tmp_path):
    loopback_teacher.inject("wrong", match=shop_rows(12)[1]["sql_prompt"])
    loopback_teacher.inject("malformed", match=shop_rows(12)[2]["sql_prompt"])
    seen = []
    path = run_distill(settings_for(loopback_teacher, shop, tmp_path), Secrets(), run_dir=tmp_path / "run",
                       argv=["test"], progress=False, on_sample=seen.append)
    run = RunDir(path)
    samples = run.read("samples")
    assert len(samples) == 12 and len(seen) == 12
    assert {s["task_id"] for s in samples} == {f"t{i:03d}" for i in range(12)}
    for s in samples:
        assert SAMPLE_FIELDS <= set(s)
        assert s["provider"] == "OpenAI" and s["model"] == "loopback-teacher" and s["status"] == "ok"
        assert s["tokens"]["prompt"] > 0 and s["attempts"] == 1 and s["latency_s"] >= 0
        assert [m["role"] for m in s["messages"]] == ["system", "user"]
        assert s["gold_sql"] not in s["messages"][1]["content"]  # the teacher never sees the gold
    by_id = {s["task_id"]: s for s in samples}
    assert by_id["t001"]["valid"] is False and by_id["t001"]["reason"] == "mismatch"
    assert by_id["t002"]["valid"] is False and by_id["t002"]["reason"] == "format"
    assert by_id["t000"]["valid"] is True and by_id["t000"]["verdict"]["reason"] == "ok"
    assert sum(s["valid"] for s in samples) == 10

    events = run.read("events")
    types = [e["type"] for e in events]
    assert types[0] == "started" and types[-1] == "finished"
    started = events[0]
    assert started["total"] == 12 and started["done"] == 0 and started["provider"] == "OpenAI"
    assert started["model"] == "loopback-teacher"
    assert types.count("sample") == 12
    progress = [e for e in events if e["type"] == "progress"][-1]
    assert progress["done"] == 12 and progress["total"] == 12 and progress["valid"] == 10
    assert progress["invalid_by_reason"] == {"format": 1, "mismatch": 1} and progress["failed"] == 0
    assert {"samples_per_s", "eta_s"} <= set(progress)
    fin = events[-1]
    assert fin["status"] == "finished" and fin["counts"]["valid"] == 10 and fin["dataset_rows"] == 12
    assert run.status == "finished"

    rows = [json.loads(x) for x in (path / "dataset.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    row = next(r for r in rows if r["id"] == "t000")
    src = shop_rows(12)[0]
    assert row["sql_prompt"] == src["sql_prompt"] and row["sql"] == src["sql"]  # source columns kept
    assert row["sql_answer"] == src["sql"] and row["reasoning"].startswith("The question is")
    assert row["teacher_model"] == "loopback-teacher" and row["provider"] == "OpenAI"
    assert row["valid"] is True and row["reason"] == "ok"
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert "<think>" in row["messages"][2]["content"] and "<sql>" in row["messages"][2]["content"]
    import datasets

    ds = datasets.load_from_disk(str(path / "dataset"))
    assert len(ds) == 12 and set(ds.column_names) >= {"id", "reasoning", "sql_answer", "completion", "messages",
                                                       "teacher_model", "provider", "valid", "reason"}
    cfg = run.config()
    assert cfg["distill"]["provider"] == "openai" and cfg["run"]["provider"]["provider"] == "OpenAI"


def test_remove_no_valid_keeps_only_valid_rows(loopback_teacher, shop, tmp_path):
    loopback_teacher.inject("wrong", match=shop_rows(12)[3]["sql_prompt"])
    run = _run(loopback_teacher, shop, tmp_path, remove_no_valid=True)
    rows = [json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()]
    assert len(rows) == 11 and all(r["valid"] is True for r in rows)
    assert "t003" not in {r["id"] for r in rows}
    assert len(run.read("samples")) == 12  # samples.jsonl still holds every answer


def test_remove_no_valid_without_validation_is_refused(loopback_teacher, shop, tmp_path):
    with pytest.raises(ConfigError, match="--remove-no-valid"):
        _run(loopback_teacher, shop, tmp_path, remove_no_valid=True, validate=False)
    assert not (tmp_path / "run").exists()  # nothing created


def test_without_validation_rows_carry_no_verdict(loopback_teacher, shop, tmp_path):
    run = _run(loopback_teacher, shop, tmp_path, validate=False, limit=3)
    samples = run.read("samples")
    assert all(s["verdict"] is None and s["valid"] is None and s["reason"] is None for s in samples)
    assert run.read("events")[-1]["counts"]["unjudged"] == 3
    # the one classification rule: the workbench's follower and badges say "unjudged", not invalid
    from sqlbench.runs.follow import RunFollower
    from sqlbench.runs.outcome import is_rejected, sample_outcome

    follower = RunFollower(run.path)
    follower.poll()
    assert follower.counts() == {**follower.counts(), "done": 3, "unjudged": 3, "valid": 0, "invalid": 0,
                                 "failed": 0, "invalid_by_reason": {}}
    assert [sample_outcome(s) for s in samples] == ["unjudged"] * 3 and not any(map(is_rejected, samples))


def test_transient_errors_are_retried_and_exhausted_ones_recorded_as_failed(loopback_teacher, shop, tmp_path):
    rows = shop_rows(12)
    loopback_teacher.inject("429", times=2, match=rows[0]["sql_prompt"], retry_after=0.01)
    loopback_teacher.inject("500", times=1, match=rows[1]["sql_prompt"])
    loopback_teacher.inject("drop", times=1, match=rows[2]["sql_prompt"])
    loopback_teacher.inject("503", times=None, match=rows[4]["sql_prompt"])  # never recovers
    run = _run(loopback_teacher, shop, tmp_path, retries=2)
    by_id = {s["task_id"]: s for s in run.read("samples")}
    assert len(by_id) == 12
    assert by_id["t000"]["attempts"] == 3 and by_id["t000"]["valid"] is True
    assert by_id["t001"]["attempts"] == 2 and by_id["t002"]["attempts"] == 2
    failed = by_id["t004"]
    assert failed["status"] == "failed" and failed["attempts"] == 3 and "503" in failed["error"]
    assert failed["completion"] is None and failed["valid"] is False
    assert loopback_teacher.count(rows[4]["sql_prompt"]) == 3
    events = run.read("events")
    assert [e for e in events if e["type"] == "failed"][0]["task_id"] == "t004"
    assert events[-1]["counts"]["failed"] == 1 and events[-1]["status"] == "finished"
    ids = {json.loads(x)["id"] for x in (run.path / "dataset.jsonl").read_text().splitlines()}
    assert "t004" not in ids and len(ids) == 11  # no answer, no row


def test_a_request_timeout_is_retried(loopback_teacher, shop, tmp_path):
    loopback_teacher.inject("timeout", match=shop_rows(12)[0]["sql_prompt"], delay=2.0)
    run = _run(loopback_teacher, shop, tmp_path, limit=2, request_timeout=0.4)
    s = next(s for s in run.read("samples") if s["task_id"] == "t000")
    assert s["attempts"] == 2 and s["valid"] is True


def test_num_samples_keeps_the_best_valid_answer(loopback_teacher, shop, tmp_path):
    # the first answer to t000 is wrong, a later one right: the dataset keeps the right one
    loopback_teacher.inject("wrong", match=shop_rows(12)[0]["sql_prompt"])
    loopback_teacher.inject("malformed", times=None, match=shop_rows(12)[1]["sql_prompt"])
    run = _run(loopback_teacher, shop, tmp_path, limit=3, num_samples=3, batch_size=1)
    samples = run.read("samples")
    assert len(samples) == 9
    assert sorted((s["task_id"], s["sample_index"]) for s in samples) == [
        (f"t00{i}", k) for i in range(3) for k in range(3)]
    rows = {json.loads(x)["id"]: json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()}
    assert rows["t000"]["valid"] is True
    assert rows["t001"]["valid"] is False and rows["t001"]["reason"] == "format"


def test_hint_gold_shows_the_gold_to_the_teacher_only(loopback_teacher, shop, tmp_path):
    run = _run(loopback_teacher, shop, tmp_path, limit=2, hint_gold=True)
    gold = shop_rows(12)[0]["sql"]
    assert any(gold in str(r.body["messages"]) for r in loopback_teacher.completions())
    rows = [json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()]
    assert all(gold not in r["messages"][1]["content"] for r in rows)  # the student's prompt stays clean


def test_stop_interrupts_and_the_same_run_dir_resumes_without_duplicates(loopback_teacher, shop, tmp_path):
    loopback_teacher.latency = 0.05
    stop = threading.Event()

    def on_sample(rec):
        if rec["task_id"] == "t003":
            stop.set()

    settings = settings_for(loopback_teacher, shop, tmp_path, batch_size=2)
    path = run_distill(settings, Secrets(), run_dir=tmp_path / "run", stop=stop, on_sample=on_sample, progress=False)
    run = RunDir(path)
    first = run.read("samples")
    assert 4 <= len(first) < 12
    assert run.status == "interrupted" and run.read("events")[-1] == {**run.read("events")[-1],
                                                                        "type": "finished", "status": "interrupted"}
    assert not (path / "dataset.jsonl").exists()
    asked = loopback_teacher.count()

    run_distill(settings, Secrets(), run_dir=path, progress=False)
    samples = run.read("samples")
    ids = [s["task_id"] for s in samples]
    assert sorted(ids) == [f"t{i:03d}" for i in range(12)]  # each exactly once
    assert loopback_teacher.count() - asked == 12 - len(first)  # finished tasks not asked again
    started = [e for e in run.read("events") if e["type"] == "started"]
    assert started[-1]["done"] == len(first)
    assert run.status == "finished" and (path / "dataset.jsonl").exists()
    assert run.info()["resumes"] == 1




def _event(run_path: Path, type_: str) -> dict | None:
    return next((e for e in RunDir(run_path).read("events") if e["type"] == type_), None)


def _nothing_asked_while_paused(teacher, run_path: Path) -> None:
    """Every request the teacher got arrived before the pause or after the resume
    (events' "t" is rounded to the millisecond)."""
    paused, resumed = _event(run_path, "paused"), _event(run_path, "resumed")
    assert paused and resumed
    inside = [r for r in teacher.completions() if paused["t"] + 0.001 < r.t < resumed["t"] - 0.001]
    assert inside == []


def test_pause_file_holds_dispatch_until_removed(loopback_teacher, shop, tmp_path, monkeypatch):
    from sqlbench.distill.control import Control

    checks = []  # each time the dispatcher looks at the pause
    original = Control.paused
    monkeypatch.setattr(Control, "paused", lambda self: checks.append(1) or original(self))
    run_path = tmp_path / "run"
    run_path.mkdir()
    (run_path / "pause").write_text("")
    result = {}
    th = threading.Thread(target=lambda: result.update(path=run_distill(
        settings_for(loopback_teacher, shop, tmp_path, limit=4), Secrets(), run_dir=run_path, progress=False)))
    th.start()
    _until(lambda: _event(run_path, "paused"), "the paused event")
    seen = len(checks)
    _until(lambda: len(checks) >= seen + 5, "the dispatcher to look at the pause five more times")
    assert loopback_teacher.count() == 0  # nothing asked while paused
    (run_path / "pause").unlink()
    th.join(30)
    assert not th.is_alive()
    types = [e["type"] for e in RunDir(run_path).read("events")]
    assert types.index("paused") < types.index("resumed") < types.index("sample")
    assert len(RunDir(run_path).read("samples")) == 4
    _nothing_asked_while_paused(loopback_teacher, run_path)


class _WatchedEvent(threading.Event):
    """A pause event that counts how often the dispatcher looks at it."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return super().is_set()


def test_pause_event_from_a_thread(loopback_teacher, shop, tmp_path):
    loopback_teacher.latency = 0.2  # one request at a time, slower than judging: dispatch cannot run ahead
    pause = _WatchedEvent()
    count = []
    run_path = tmp_path / "run"

    def release_when_paused():
        _until(lambda: _event(run_path, "paused"), "the paused event")
        # the answer whose arrival met the pause is judged and recorded: nothing is in flight
        _until(lambda: RunDir(run_path).count("samples") == loopback_teacher.count(), "the in-flight answer")
        count.append(len(RunDir(run_path).read("samples")))
        seen = pause.checks
        _until(lambda: pause.checks >= seen + 5, "the dispatcher to look at the pause five more times")
        count.append(len(RunDir(run_path).read("samples")))
        pause.clear()

    def on_sample(rec):
        if rec["task_id"] == "t001":
            pause.set()
            threading.Thread(target=release_when_paused, daemon=True).start()

    run = RunDir(run_distill(settings_for(loopback_teacher, shop, tmp_path, limit=6, batch_size=1), Secrets(),
                             run_dir=run_path, pause=pause, on_sample=on_sample, progress=False))
    types = [e["type"] for e in run.read("events")]
    assert "paused" in types and "resumed" in types and len(run.read("samples")) == 6
    assert count[0] == count[1] < 6  # nothing new was asked while paused
    _nothing_asked_while_paused(loopback_teacher, run_path)


def test_a_bad_key_stops_the_run_with_one_line(loopback_teacher, shop, tmp_path):
    from sqlbench.errors import ProviderError

    s = settings_for(loopback_teacher, shop, tmp_path, base_url=loopback_teacher.root_url + "/wrong/v1")
    with pytest.raises(ProviderError, match="404"):
        run_distill(s, Secrets(), run_dir=tmp_path / "run", progress=False)
    run = RunDir(tmp_path / "run")
    assert run.status == "failed" and run.read("events")[-1]["type"] == "error"


@pytest.mark.parametrize("secrets,expected", [
    (Secrets(groq_api_key="gsk-groq-key-1", api_key="sk-generic-key-1"), "Bearer gsk-groq-key-1"),
    (Secrets(api_key="sk-generic-key-2"), "Bearer sk-generic-key-2"),
])
def test_groq_distill_uses_groq_key_else_api_key(loopback_teacher, shop, tmp_path, secrets, expected):
    s = settings_for(loopback_teacher, shop, tmp_path, provider="GROQ", model="llama-3.3-70b-versatile",
                     base_url=loopback_teacher.root_url, limit=2)
    run = RunDir(run_distill(s, secrets, run_dir=tmp_path / "run", progress=False))
    assert loopback_teacher.authorizations() == {expected}
    assert {r.path for r in loopback_teacher.completions()} == {"/openai/v1/chat/completions"}
    samples = run.read("samples")
    assert all(x["provider"] == "Groq" and x["valid"] is True for x in samples)
    assert run.config()["run"]["provider"] == {"provider": "Groq", "model": "llama-3.3-70b-versatile",
                                               "base_url": loopback_teacher.root_url}


def test_huggingface_distill_through_an_endpoint_url(loopback_teacher, shop, tmp_path):
    s = settings_for(loopback_teacher, shop, tmp_path, provider="huggingface", model="tgi",
                     base_url=loopback_teacher.root_url, limit=2)
    run = RunDir(run_distill(s, Secrets(hf_token="hf_endpoint_token_1"), run_dir=tmp_path / "run", progress=False))
    assert loopback_teacher.authorizations() == {"Bearer hf_endpoint_token_1"}
    assert all(x["provider"] == "HuggingFace" and x["valid"] is True for x in run.read("samples"))


def test_a_running_run_dir_is_not_taken_over(loopback_teacher, shop, tmp_path):
    from sqlbench.errors import RunDirError

    other = RunDir.create(tmp_path / "run", "distill", {}, argv=["other"])  # this process: alive
    assert other.status == "running"
    with pytest.raises(RunDirError, match="running job"):
        _run(loopback_teacher, shop, tmp_path)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["spider-dev.json", "synsql-sqlr1-test.parquet"])
def test_real_datasets_distill_and_save(loopback_teacher, tmp_path, name):
    """Real Spider / SynSQL rows (nested source columns included) survive the dataset writers."""
    from tests.fixtures.datasets import SHARED_DATA, shared_file

    src = shared_file(SHARED_DATA / name)
    from sqlbench.data.loader import load_tasks

    loopback_teacher.learn(load_tasks(src, limit=20))
    s = settings_for(loopback_teacher, src, tmp_path, limit=20)
    run = RunDir(run_distill(s, Secrets(), run_dir=tmp_path / "run", progress=False))
    samples = run.read("samples")
    # gold answers validate, or (schema-only contexts whose gold selects nothing on any generated
    # test database) are unverified; never a mismatch
    assert len(samples) == 20 and sum(x["valid"] is True for x in samples) >= 14
    assert sum(x["reason"] in ("ok", "unverified") for x in samples) >= 18
    assert not any(x["reason"] == "mismatch" for x in samples)
    import datasets

    ds = datasets.load_from_disk(str(run.path / "dataset"))
    assert len(ds) == 20 and "reasoning" in ds.column_names
    rows = [json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()]
    assert rows[0]["id"] == ds[0]["id"]
