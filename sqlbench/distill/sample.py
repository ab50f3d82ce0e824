"""One sample: ask the teacher (with retries), parse, judge, and build the record that
goes to ``samples.jsonl``. Shared by the in-process pipeline and the Ray workers."""

from __future__ import annotations

import asyncio
import os
import random
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from sqlbench.distill.options import DistillOptions
from sqlbench.prompts import build_messages, fit_task, parse_answer
from sqlbench.providers import GenParams, Provider
from sqlbench.providers.retry import RetriesExhausted, RetryPolicy, with_retries
from sqlbench.records import EXECUTION, FORMAT, Task, Verdict

OK_STATUS, FAILED_STATUS = "ok", "failed"


class Judge:
    """The validator run off the event loop, in a pool sized to the cores."""

    def __init__(self, opts: DistillOptions, executor: Executor | None = None):
        from sqlbench.sqlcheck import Validator

        self._validator = Validator(timeout=opts.validator_timeout, max_rows=opts.validator_max_rows,
                                    max_memory_mb=opts.validator_max_memory_mb,
                                    max_copy_bytes=opts.validator_max_copy_bytes,
                                    test_databases=opts.validator_test_databases,
                                    test_databases_with_rows=opts.validator_test_databases_with_rows)
        self._own = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=opts.validator_workers or os.cpu_count() or 2,
                                                        thread_name_prefix="sqlbench-validate")

    def _check(self, task: Task, text: str) -> Verdict:
        try:
            return self._validator.check(task, text)
        except Exception as e:  # noqa: BLE001 - a validator bug must not stop the run
            return Verdict(False, EXECUTION, detail=f"validator error: {type(e).__name__}: {e}")

    async def __call__(self, task: Task, text: str) -> Verdict:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._check, task, text)

    def close(self) -> None:
        if self._own:
            self._executor.shutdown(wait=False, cancel_futures=True)


def gen_params(opts: DistillOptions, provider: Provider, sample_index: int = 0) -> GenParams:
    # A seed only for local models: it makes a run reproducible there (one per sample
    # index, so --num-samples draws differ); remote servers differ in accepting one.
    local = provider.name in ("Transformers", "vLLM")
    return GenParams(temperature=opts.temperature, max_tokens=opts.max_tokens, timeout=opts.timeout,
                     seed=opts.seed + sample_index if local else None)


def _base(task: Task, sample_index: int, provider: Provider, messages: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "sample_index": sample_index,
        "question": task.question,
        "context": task.context,
        "gold_sql": task.gold_sql,
        **({"db_path": task.db_path} if task.db_path else {}),  # what re-validating it runs on
        "provider": provider.name,
        "model": provider.model,
        "messages": messages,
    }


async def ask(provider: Provider, task: Task, sample_index: int, opts: DistillOptions,
              rng: random.Random | None = None) -> dict[str, Any]:
    """Generation only (with retries): the record without its verdict. The pipeline
    frees the request slot right after this, so judging never holds back generation."""
    shown = task  # the validator and the record keep the full task; the prompt may be fitted
    if provider.max_prompt_tokens:
        shown = fit_task(task, provider.count_prompt_tokens, provider.max_prompt_tokens, opts.system_prompt)
    messages = build_messages(shown, opts.system_prompt, hint_gold=opts.hint_gold)
    params = gen_params(opts, provider, sample_index)
    policy = RetryPolicy(retries=opts.retries, backoff=opts.retry_backoff)
    rec = _base(task, sample_index, provider, messages)
    t0 = time.monotonic()
    try:
        completion, attempts = await with_retries(lambda: provider.complete(messages, params), policy, rng)
    except RetriesExhausted as e:
        rec.update(completion=None, think="", sql="", verdict=None, valid=False, reason=None,
                   latency_s=round(time.monotonic() - t0, 4), tokens={"prompt": None, "completion": None},
                   attempts=e.attempts, status=FAILED_STATUS, error=str(e))
        return rec
    answer = parse_answer(completion.text)
    rec.update(completion=completion.text, think=answer.think, sql=answer.sql, verdict=None, valid=None,
               reason=None if answer.well_formed else FORMAT, latency_s=round(time.monotonic() - t0, 4),
               tokens=completion.tokens(), attempts=attempts, status=OK_STATUS, error=None)
    return rec


async def judge_record(rec: dict[str, Any], task: Task, judge: Judge | None) -> dict[str, Any]:
    """Add the verdict to an answered record (failed ones and unvalidated runs pass through)."""
    if judge is None or rec["status"] != OK_STATUS:
        return rec
    if rec["reason"] == FORMAT:
        # A distilled row must teach the format: an answer without a reasoning block
        # followed by an SQL block is rejected before its SQL is run (the validator
        # alone would accept bare SQL as a candidate).
        verdict = Verdict(False, FORMAT, detail="the answer needs <think>…</think> followed by <sql>…</sql>",
                          sql=rec["sql"])
    else:
        verdict = await judge(task, rec["completion"])
    rec.update(verdict=verdict.to_dict(), valid=verdict.valid, reason=verdict.reason)
    return rec


async def produce_sample(provider: Provider, task: Task, sample_index: int, opts: DistillOptions,
                         judge: Judge | None, rng: random.Random | None = None) -> dict[str, Any]:
    """``ask`` then ``judge_record``: one complete sample record."""
    return await judge_record(await ask(provider, task, sample_index, opts, rng), task, judge)


_revalidators: dict[tuple, Any] = {}


def revalidate(rec: dict[str, Any], validate_settings: Any = None) -> Verdict:
    """The validator's verdict on a sample record's answer, now, with the ``validate.*``
    settings (timeout, max_rows, test databases; defaults when None). For the Rejected
    view's re-validate: one validator per settings, so its caches outlive one call."""
    from sqlbench.sqlcheck import Validator

    if validate_settings is None:
        from sqlbench.config import ValidateSettings

        validate_settings = ValidateSettings()
    key = (validate_settings.timeout, validate_settings.max_rows, validate_settings.test_databases,
           validate_settings.test_databases_with_rows, validate_settings.max_memory_mb,
           validate_settings.max_copy_mb)
    validator = _revalidators.get(key)
    if validator is None:
        validator = _revalidators.setdefault(key, Validator.from_settings(validate_settings))
    task = Task(id=str(rec.get("task_id", "")), question=str(rec.get("question") or ""),
                context=str(rec.get("context") or ""), gold_sql=str(rec.get("gold_sql") or ""),
                db_path=str(rec.get("db_path") or ""))  # a --db-dir sample is judged on its file again
    candidate = rec.get("completion") or rec.get("sql") or ""
    return validator.check(task, candidate)
