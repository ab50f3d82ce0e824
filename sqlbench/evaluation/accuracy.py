"""Execution accuracy of a model: greedy answers on tasks, judged by the validator.

``evaluate_model`` works on a loaded model (the trainer's held-out check uses it
mid-training); ``run_eval`` is the ``sqlbench eval`` job writing ``R/eval.json`` and
``R/answers.jsonl`` into an eval run directory.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from sqlbench.prompts import build_messages, parse_answer
from sqlbench.records import Task

if TYPE_CHECKING:
    from sqlbench.inference.models import TinyStudent

BREAKDOWNS = ("sql_complexity", "sql_task_type")
# The execution-accuracy rules eval reports, by --match name -> eval.json field.
EX_FIELDS = {"sqlbench": "execution_accuracy", "spider": "ex_spider", "bird": "ex_bird"}


def generate_answers(model, tokenizer, tasks: Sequence[Task], *, max_new_tokens: int = 256,
                     batch_size: int = 8, system_prompt: str | None = None,
                     max_prompt_tokens: int = 512,
                     on_batch: Callable[[list[Task], list[str]], None] | None = None) -> list[str]:
    """Greedy completions, batched with left padding. Prompts are fitted to
    ``max_prompt_tokens`` the same way training fits them."""
    import torch

    from sqlbench.prompts import fit_task, prompt_token_counter

    count = prompt_token_counter(tokenizer)

    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    eos = {tokenizer.eos_token_id}
    gen_eos = getattr(model.generation_config, "eos_token_id", None)
    eos |= set(gen_eos) if isinstance(gen_eos, (list, tuple)) else {gen_eos}
    eos.discard(None)
    device = next(model.parameters()).device
    out: list[str] = []
    try:
        for i in range(0, len(tasks), batch_size):
            batch = list(tasks[i:i + batch_size])
            texts = [tokenizer.apply_chat_template(
                build_messages(fit_task(t, count, max_prompt_tokens, system_prompt), system_prompt),
                add_generation_prompt=True, tokenize=False) for t in batch]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            with torch.inference_mode():
                gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     temperature=None, top_p=None, top_k=None,
                                     pad_token_id=tokenizer.pad_token_id, eos_token_id=sorted(eos))
            decoded = tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            decoded = [d.strip() for d in decoded]
            out.extend(decoded)
            if on_batch:
                on_batch(batch, decoded)
    finally:
        tokenizer.padding_side = side
    return out


def judge(task: Task, completion: str, validator=None, verdict=None) -> dict[str, Any]:
    """One answer record: the parsed answer and the validator's verdict (``verdict``:
    the SQL's, when the caller has judged it already)."""
    from sqlbench.sqlcheck.shared import get_validator

    answer = parse_answer(completion)
    spider = bird = False
    if answer.sql:
        validator = validator or get_validator()
        verdict = verdict or validator.check(task, answer.sql)
        valid, reason, detail = verdict.valid, verdict.reason, verdict.detail
        spider, bird = benchmark_ex(validator, task, answer.sql, verdict)
    else:
        valid, reason, detail = False, "format", "no <sql> block"
    md = task.metadata or {}
    return {
        "task_id": task.id,
        "question": task.question,
        "gold_sql": task.gold_sql,
        "completion": completion,
        "sql": answer.sql,
        "well_formed": answer.well_formed,
        "valid": bool(valid),
        "ex_spider": spider,
        "ex_bird": bird,
        "reason": reason,
        "detail": detail,
        **{k: md.get(k) for k in BREAKDOWNS},
    }


def benchmark_ex(validator, task: Task, sql: str, verdict) -> tuple[bool, bool]:
    """(Spider EX, BIRD EX) of one answer, from the same executions as the verdict: each
    rule must hold on every database the verdict judges on (the task's own and, for a
    schema-only context, its test databases: on an empty context alone, any answer with
    no rows would pass both). An answer that does not run, or whose data cannot tell it
    from a wrong one (``unverified``), scores 0 under every rule; a DML/DDL task (no
    result set) is judged by its final state under all three."""
    from sqlbench.records import MISMATCH, OK
    from sqlbench.sqlcheck.ex_rules import ex_bird, ex_spider

    if verdict.reason not in (OK, MISMATCH):
        return False, False
    pairs = validator.result_rows(task, sql)
    if not pairs or pairs[0][0] is None:  # no result set (or past the deadline): the verdict's state comparison
        return bool(verdict.valid), bool(verdict.valid)
    if any(gold is None or got is None for gold, got in pairs):
        return False, False
    return (all(ex_spider(gold, got, task.gold_sql) for gold, got in pairs),
            all(ex_bird(gold, got) for gold, got in pairs))


def summarize(answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def rates(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        n = len(rows)

        def share(key: str) -> float:
            return round(sum(bool(r.get(key)) for r in rows) / n, 4) if n else 0.0

        return {
            "n": n,
            "execution_accuracy": share("valid"),
            "ex_spider": share("ex_spider"),
            "ex_bird": share("ex_bird"),
            "format_rate": share("well_formed"),
        }

    out = rates(answers)
    reasons: dict[str, int] = defaultdict(int)
    for r in answers:
        reasons[r["reason"]] += 1
    out["reasons"] = dict(sorted(reasons.items()))
    for key in BREAKDOWNS:
        groups: dict[str, list] = defaultdict(list)
        for r in answers:
            groups[str(r.get(key) or "unknown")].append(r)
        out[f"by_{key}"] = {g: rates(rows) for g, rows in sorted(groups.items())}
    return out


def evaluate_model(model, tokenizer, tasks: Sequence[Task], *, max_new_tokens: int = 256, batch_size: int = 8,
                   system_prompt: str | None = None, max_prompt_tokens: int = 512, validator=None,
                   on_answer: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], list[dict]]:
    """(summary, answers) for greedy answers on ``tasks``."""
    answers: list[dict[str, Any]] = []

    def on_batch(batch: list[Task], texts: list[str]) -> None:
        from sqlbench.sqlcheck.shared import get_validator

        sqls = [parse_answer(text).sql for text in texts]
        # the batch's answers in one hand-off to the validator's guarded thread
        verdicts = iter((validator or get_validator()).check_many([(t, sql) for t, sql in zip(batch, sqls) if sql]))
        for t, text, sql in zip(batch, texts, sqls):
            rec = judge(t, text, validator, next(verdicts) if sql else None)
            answers.append(rec)
            if on_answer:
                on_answer(rec)

    generate_answers(model, tokenizer, tasks, max_new_tokens=max_new_tokens, batch_size=batch_size,
                     system_prompt=system_prompt, max_prompt_tokens=max_prompt_tokens, on_batch=on_batch)
    return summarize(answers), answers


def run_eval(settings, secrets, *, run_dir: str | os.PathLike | None = None, argv: list[str] | None = None,
             stop: threading.Event | None = None, log: Callable[[str], None] | None = None,
             tiny: TinyStudent | None = None) -> Path:
    """The ``sqlbench eval`` job: returns the run directory holding eval.json. ``tiny``
    builds the default model, the tiny student."""
    import json

    from sqlbench.errors import DatasetError
    from sqlbench.inference.models import load_model, resolve_model_path
    from sqlbench.runs import RunDir, atomic_write
    from sqlbench.data.loader import load_training_tasks
    from sqlbench.sqlcheck import Validator

    from sqlbench.devices import pick_device

    cfg = settings.eval
    device = pick_device(getattr(settings, "device", "auto"))  # a device this machine lacks: before the run exists
    run = RunDir.create(run_dir, "eval", settings.public_dict(), root=settings.runs_dir, argv=argv)
    with run.recording_failure():
        tasks = load_training_tasks(cfg.dataset_repo_id, split=cfg.split, limit=cfg.limit,
                                    token=secrets.get("hf_token"), db_dir=cfg.db_dir)
        if not tasks:
            raise DatasetError(f"{cfg.dataset_repo_id or 'bundled dataset'}: no tasks to evaluate")
        from sqlbench.data.dbschema import database_problems

        for line in database_problems(tasks):  # those rows count as wrong, like any bad_context
            (log or _stderr)(line)
        model_path = resolve_model_path(cfg.model, cache_dir=settings.cache_dir, tiny=tiny)
        model, tokenizer = load_model(model_path, device=device, token=secrets.get("hf_token"),
                                      cache_dir=settings.cache_dir)
        validator = Validator.from_settings(settings.validate_)
        run.event("stage", name="eval", n=len(tasks), model=str(model_path))
        # A resumed eval starts over: answers.jsonl describes exactly one pass.
        run.close()
        run.stream_path("answers").unlink(missing_ok=True)
        t0 = time.time()
        done = [0]

        def on_answer(rec: dict[str, Any]) -> None:
            run.append("answers", rec)
            done[0] += 1
            run.event("progress", done=done[0], total=len(tasks))
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt

        summary, _ = evaluate_model(model, tokenizer, tasks, max_new_tokens=cfg.max_new_tokens,
                                    batch_size=cfg.batch_size, system_prompt=settings.system_prompt,
                                    max_prompt_tokens=settings.max_prompt_length, validator=validator,
                                    on_answer=on_answer)
        result = {
            **summary,
            "model": str(cfg.model or model_path),
            "dataset": cfg.dataset_repo_id or "bundled",
            "split": cfg.split,
            "match": cfg.match,
            "seconds": round(time.time() - t0, 2),
        }
        atomic_write(run.path / "eval.json", json.dumps(result, indent=2) + "\n")
        run.event("eval", execution_accuracy=result["execution_accuracy"], format_rate=result["format_rate"],
                  n=result["n"])
        run.finish("finished", execution_accuracy=result["execution_accuracy"])
    return run.path


def _stderr(line: str) -> None:
    import sys

    print(f"sqlbench: {line}", file=sys.stderr)


def format_table(result: dict[str, Any], match: str | None = None) -> str:
    """The plain-text table ``sqlbench eval`` prints; ``match`` (sqlbench, spider, bird)
    picks the execution-accuracy rule of its column."""
    match = match or result.get("match") or "sqlbench"
    field = EX_FIELDS[match]
    head = "exec acc" if match == "sqlbench" else f"EX {match}"

    def acc(r: dict[str, Any]) -> float:
        return r.get(field, 0.0)

    lines = [f"{'group':<34} {'n':>5} {head:>9} {'format':>8}",
             f"{'all':<34} {result['n']:>5} {acc(result):>9.1%} {result['format_rate']:>8.1%}"]
    for key in BREAKDOWNS:
        for g, r in result.get(f"by_{key}", {}).items():
            lines.append(f"{(key.split('_', 1)[1] + ': ' + g)[:34]:<34} {r['n']:>5} "
                         f"{acc(r):>9.1%} {r['format_rate']:>8.1%}")
    reasons = result.get("reasons") or {}
    if reasons:  # unverified apart from mismatch: the data could not tell those answers right or wrong
        lines.append("verdicts: " + ", ".join(f"{reason} {count}" for reason, count in
                                              sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))))
    return "\n".join(lines)
