"""Providers against the real loopback teacher through the real SDKs (openai, groq,
huggingface_hub), retry classification, and the Transformers provider on the tiny model."""

from __future__ import annotations

import asyncio
import random

import pytest

from sqlbench.errors import ConfigError, ProviderError
from sqlbench.prompts import build_messages, parse_answer
from sqlbench.providers import GenParams, ProviderSpec, RequestError, TransientError, build_provider, canonical_name
from sqlbench.providers.base import parse_retry_after
from sqlbench.providers.retry import RetriesExhausted, RetryPolicy, delay_for, with_retries
from sqlbench.records import Task

TASK = Task(id="1", question="How many orders are there?",
            context="CREATE TABLE orders (id INTEGER, amount REAL);", gold_sql="SELECT COUNT(*) FROM orders")
PARAMS = GenParams(temperature=0.0, max_tokens=64, timeout=5.0)


def _complete(spec: ProviderSpec, messages=None, params=PARAMS):
    async def go():
        p = build_provider(spec)
        await p.start()
        try:
            return p, await p.complete(messages or build_messages(TASK), params)
        finally:
            await p.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("name,canon", [("openai", "OpenAI"), ("VLLM", "vLLM"), ("groq", "Groq"),
                                        ("huggingface", "HuggingFace"), ("hf", "HuggingFace"),
                                        ("TRANSFORMERS", "Transformers")])
def test_names_are_case_insensitive(name, canon):
    assert canonical_name(name) == canon


def test_unknown_provider_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown provider 'gpt'.*OpenAI"):
        canonical_name("gpt")


def test_openai_answers_from_gold_and_sends_the_key(loopback_teacher):
    loopback_teacher.learn([TASK])
    p, out = _complete(ProviderSpec("OpenAI", model="teach", base_url=loopback_teacher.base_url,
                                    api_key="sk-test-openai-key"))
    assert parse_answer(out.text).sql == TASK.gold_sql
    assert out.prompt_tokens and out.completion_tokens
    req = loopback_teacher.completions()[-1]
    assert req.headers["authorization"] == "Bearer sk-test-openai-key"
    assert req.body["model"] == "teach" and req.body["max_tokens"] == 64
    # the teacher saw question + schema, never the gold SQL
    assert TASK.gold_sql not in str(req.body["messages"])


def test_openai_without_model_asks_the_server_and_uses_placeholder_key(loopback_teacher):
    p, out = _complete(ProviderSpec("OpenAI", model=None, base_url=loopback_teacher.base_url, api_key=None))
    assert p.model == loopback_teacher.model
    assert loopback_teacher.completions()[-1].headers["authorization"] == "Bearer EMPTY"


def test_groq_sdk_reaches_the_teacher(loopback_teacher):
    loopback_teacher.learn([TASK])
    p, out = _complete(ProviderSpec("groq", model="llama", base_url=loopback_teacher.root_url, api_key="gsk-test-key"))
    assert parse_answer(out.text).sql == TASK.gold_sql
    req = loopback_teacher.completions()[-1]
    assert req.path == "/openai/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer gsk-test-key"


def test_groq_needs_a_key_and_a_model():
    with pytest.raises(ProviderError, match="GROQ_API_KEY"):
        build_provider(ProviderSpec("Groq", model="m", api_key=None))
    with pytest.raises(ProviderError, match="--model"):
        build_provider(ProviderSpec("Groq", model=None, api_key="k"))


def test_huggingface_client_reaches_the_teacher(loopback_teacher):
    loopback_teacher.learn([TASK])
    p, out = _complete(ProviderSpec("HuggingFace", model="tgi", base_url=loopback_teacher.root_url,
                                    api_key="hf_test_token_123"))
    assert parse_answer(out.text).sql == TASK.gold_sql
    req = loopback_teacher.completions()[-1]
    assert req.headers["authorization"] == "Bearer hf_test_token_123"


@pytest.mark.parametrize("provider", ["OpenAI", "Groq", "HuggingFace"])
@pytest.mark.parametrize("kind,expect", [("429", TransientError), ("500", TransientError), ("503", TransientError),
                                         ("drop", TransientError)])
def test_errors_are_classified(loopback_teacher, provider, kind, expect):
    url = loopback_teacher.base_url if provider == "OpenAI" else loopback_teacher.root_url
    loopback_teacher.inject(kind, retry_after=0.25 if kind == "429" else None)
    with pytest.raises(expect) as info:
        _complete(ProviderSpec(provider, model="m", base_url=url, api_key="k-123456"))
    if kind == "429":
        assert info.value.retry_after == pytest.approx(0.25)


@pytest.mark.parametrize("provider", ["OpenAI", "Groq", "HuggingFace"])
def test_timeout_is_transient(loopback_teacher, provider):
    url = loopback_teacher.base_url if provider == "OpenAI" else loopback_teacher.root_url
    loopback_teacher.inject("timeout", delay=3.0)
    with pytest.raises(TransientError, match="timed out"):
        _complete(ProviderSpec(provider, model="m", base_url=url, api_key="k-123456"),
                  params=GenParams(temperature=0.0, max_tokens=8, timeout=0.3))


def test_unknown_route_is_a_provider_error(loopback_teacher):
    # a wrong base URL (404) cannot be fixed by retrying: the run stops with one line
    with pytest.raises(ProviderError, match="404"):
        _complete(ProviderSpec("OpenAI", model="m", base_url=loopback_teacher.root_url + "/nope", api_key="k"))


def test_retry_after_parsing():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_backoff_grows_with_jitter_and_honours_retry_after():
    rng = random.Random(0)
    policy = RetryPolicy(retries=5, backoff=1.0, max_delay=10.0)
    delays = [delay_for(a, policy, None, rng) for a in (1, 2, 3, 4, 5)]
    for attempt, d in enumerate(delays, start=1):
        window = min(2 ** (attempt - 1), 10.0)
        assert window / 2 <= d <= window
    assert delay_for(1, policy, 3.5, rng) == 3.5
    assert delay_for(1, policy, 99.0, rng) == 10.0


def test_with_retries_counts_attempts_and_gives_up():
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("busy", retry_after=0.0)
        return "done"

    assert asyncio.run(with_retries(flaky, RetryPolicy(retries=3, backoff=0.0))) == ("done", 3)

    async def always():
        raise TransientError("busy", retry_after=0.0)

    with pytest.raises(RetriesExhausted) as info:
        asyncio.run(with_retries(always, RetryPolicy(retries=2, backoff=0.0)))
    assert info.value.attempts == 3

    async def refused():
        raise RequestError("HTTP 400: bad")

    with pytest.raises(RetriesExhausted) as info:
        asyncio.run(with_retries(refused, RetryPolicy(retries=5, backoff=0.0)))
    assert info.value.attempts == 1  # not retried


@pytest.mark.parametrize("cuda,vllm_importable,says", [(False, True, "needs a CUDA GPU"),
                                                      (True, False, "vllm is not installed")])
def test_vllm_where_it_cannot_run_says_what_to_install(monkeypatch, cuda, vllm_importable, says):
    # The machine is pinned here (no GPU; or a GPU without vllm), so the test holds on a GPU
    # machine with the gpu extra too.
    import sys

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    if not vllm_importable:
        monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    with pytest.raises(ProviderError) as info:
        build_provider(ProviderSpec("vLLM", model="some/model"))
    msg = str(info.value)
    assert "\n" not in msg and "pip install 'sqlbench[gpu]'" in msg and says in msg


def test_transformers_provider_batches_the_tiny_model(tiny_model_dir):
    tasks = [TASK, Task(id="2", question="List order ids.", context=TASK.context, gold_sql="SELECT id FROM orders")]

    async def go():
        p = build_provider(ProviderSpec("transformers", model=str(tiny_model_dir), max_batch=4))
        await p.start()
        try:
            return p, await asyncio.gather(*(p.complete(build_messages(t), GenParams(0.0, 12, 30.0, seed=0))
                                             for t in tasks * 2))
        finally:
            await p.aclose()

    p, outs = asyncio.run(go())
    assert p.name == "Transformers" and p.model == str(tiny_model_dir)
    assert all(0 < o.completion_tokens <= 12 for o in outs)
    # greedy decoding: the same prompt gives the same text, whatever its batch neighbours
    assert outs[0].text == outs[2].text and outs[1].text == outs[3].text
