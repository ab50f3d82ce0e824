"""A teacher's 200 reply of any shape never ends a run: each broken shape is retried like
a 5xx and then recorded as that sample's `failed`; OpenAI-valid odd shapes (content as a
list of text parts, a usage that is not an object) are accepted. Real SDKs against the
real loopback teacher."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from sqlbench.config import Secrets, Settings
from sqlbench.distill import run_distill
from sqlbench.prompts import build_messages, parse_answer
from sqlbench.providers import GenParams, ProviderSpec, TransientError, build_provider
from sqlbench.providers.base import MalformedReply, completion_from_reply
from sqlbench.records import Task
from sqlbench.runs import RunDir
from tests.fixtures.teacher import BROKEN_200, shop_rows

TASK = Task(id="1", question="How many orders are there?",
            context="CREATE TABLE orders (id INTEGER, amount REAL);", gold_sql="SELECT COUNT(*) FROM orders")
PARAMS = GenParams(temperature=0.0, max_tokens=64, timeout=5.0)
PROVIDERS = ["OpenAI", "Groq", "HuggingFace"]


def _complete(teacher, provider: str):
    url = teacher.base_url if provider == "OpenAI" else teacher.root_url

    async def go():
        p = build_provider(ProviderSpec(provider, model="m", base_url=url, api_key="k-123456"))
        await p.start()
        try:
            return await p.complete(build_messages(TASK), PARAMS)
        finally:
            await p.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", BROKEN_200)
def test_a_broken_200_reply_is_a_transient_malformed_reply(loopback_teacher, provider, kind):
    loopback_teacher.learn([TASK])
    loopback_teacher.inject(kind)
    with pytest.raises(TransientError) as info:  # retried like a 5xx
        _complete(loopback_teacher, provider)
    assert isinstance(info.value, MalformedReply), repr(info.value)
    assert "\n" not in str(info.value) and str(info.value).startswith("malformed reply from the teacher")
    # the next reply is fine again: nothing in the client was left broken
    assert parse_answer(_complete(loopback_teacher, provider).text).sql == TASK.gold_sql


@pytest.mark.parametrize("provider", PROVIDERS)
def test_content_as_text_parts_is_accepted_joined(loopback_teacher, provider):
    loopback_teacher.learn([TASK])
    loopback_teacher.inject("content_parts")
    out = _complete(loopback_teacher, provider)
    assert out.text == loopback_teacher.answer_for(TASK)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_usage_of_the_wrong_shape_costs_the_counts_not_the_answer(loopback_teacher, provider):
    loopback_teacher.learn([TASK])
    loopback_teacher.inject("usage_string")
    out = _complete(loopback_teacher, provider)
    assert parse_answer(out.text).sql == TASK.gold_sql
    assert out.prompt_tokens is None and out.completion_tokens is None


@pytest.mark.parametrize("reply,expect", [
    ({"choices": [{"message": {"content": None}}]}, ""),  # no text (e.g. a refusal): judged as format
    ({"choices": [{"message": {"content": ["a", {"type": "text", "text": "b"}, {"type": "refusal", "refusal": "x"}]}}]},
     "ab"),
])
def test_completion_from_reply_accepts_openai_valid_content(reply, expect):
    assert completion_from_reply(reply).text == expect


@pytest.mark.parametrize("reply,says", [
    ({"choices": [{"message": {"content": [7]}}]}, "content part is a number"),
    ({"choices": [{"message": {"content": [{"type": "text", "text": 3}]}}]}, "`text` is a number"),
    ({"choices": [{"message": {"content": {"text": "x"}}}]}, "`content` is an object"),
    ({"choices": [{}]}, "no `message`"),
    ({"error": {"message": "upstream overloaded"}}, "an error in a 200 reply"),
    ([1, 2], "the body is a list"),
    ("", "an empty body"),
])
def test_completion_from_reply_names_what_is_wrong(reply, says):
    with pytest.raises(MalformedReply, match=says):
        completion_from_reply(reply)


def test_fault_injection_every_task_recorded_exactly_once_and_the_run_finishes(loopback_teacher, tmp_path):
    """Every broken shape, the accepted odd ones, 429/500/503, dropped connections and
    hangs, mixed over 48 tasks with a batch of 8: the run finishes, each task has exactly
    one record, the ones the teacher kept breaking are `failed`, the rest are answered."""
    n = 48
    rows = shop_rows(n)
    for r in rows:  # shop questions repeat; an injection matches a substring of one question only
        r["sql_prompt"] += f" [{r['id']}]"
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    from sqlbench.data.loader import load_tasks

    loopback_teacher.learn(load_tasks(tasks))
    plan: dict[str, tuple[str, int | None]] = {}  # task id -> (kind, times)
    kinds = [*BROKEN_200, "429", "500", "503", "drop", "timeout"]
    for i, kind in enumerate(kinds):
        plan[rows[i]["id"]] = (kind, 1)  # once: the retry succeeds
        plan[rows[i + len(kinds)]["id"]] = (kind, None)  # always: the sample fails, the run goes on
    plan[rows[2 * len(kinds)]["id"]] = ("content_parts", None)
    plan[rows[2 * len(kinds) + 1]["id"]] = ("usage_string", None)
    by_id = {r["id"]: r for r in rows}
    for tid, (kind, times) in plan.items():
        loopback_teacher.inject(kind, times=times, match=by_id[tid]["sql_prompt"], retry_after=0.01, delay=3.0)

    settings = Settings.model_validate({
        "base_url": loopback_teacher.base_url, "runs_dir": str(tmp_path / "runs"), "temperature": 0.0,
        "distill": {"provider": "openai", "model": "loopback-teacher", "dataset_repo_id": str(tasks), "limit": n,
                    "batch_size": 8, "retries": 1, "retry_backoff": 0.01, "request_timeout": 0.5}})
    run = RunDir(run_distill(settings, Secrets(), run_dir=tmp_path / "run", progress=False))

    samples = run.read("samples")
    assert Counter(s["task_id"] for s in samples) == Counter({r["id"]: 1 for r in rows})  # each exactly once
    assert run.status == "finished" and run.read("events")[-1]["status"] == "finished"
    got = {s["task_id"]: s for s in samples}
    for tid, (kind, times) in plan.items():
        s = got[tid]
        if kind in ("content_parts", "usage_string") or times == 1:
            assert s["status"] == "ok" and s["valid"] is True, (kind, times, s["error"])
        else:
            assert s["status"] == "failed" and s["attempts"] == 2, (kind, s)
            assert "\n" not in s["error"]
            if kind in BROKEN_200:
                assert s["error"].startswith("malformed reply from the teacher"), s["error"]
    untouched = [r["id"] for r in rows if r["id"] not in plan]
    assert untouched and all(got[t]["status"] == "ok" and got[t]["valid"] is True for t in untouched)
    failed_events = [e for e in run.read("events") if e["type"] == "failed"]
    assert sorted(e["task_id"] for e in failed_events) == sorted(t for t, (_, times) in plan.items()
                                                                if times is None and t in got
                                                                and got[t]["status"] == "failed")
    rows_written = [json.loads(x) for x in (run.path / "dataset.jsonl").read_text().splitlines()]
    assert len(rows_written) == n - len(failed_events)
