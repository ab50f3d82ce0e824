"""Tasks -> training rows: SFT conversations and GRPO prompts.

GRPO rows carry the dataset's gold SQL (and the task id) as extra columns: TRL hands
every extra column to the reward functions as a keyword argument, which is how the
rewards judge against the *dataset's* answer and never a teacher's.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Sequence

from sqlbench.prompts import build_messages, fit_task, format_answer, schema_only  # noqa: F401 (re-exported)
from sqlbench.records import Task


def reasoning_of(task: Task) -> str:
    """The think text to imitate: distilled reasoning (or SynSQL's cot), else the
    dataset's explanation."""
    md = task.metadata or {}
    return str(md.get("reasoning") or md.get("cot") or task.explanation or "").strip()


def has_reasoning(tasks: Iterable[Task]) -> bool:
    return any((t.metadata or {}).get("reasoning") or (t.metadata or {}).get("cot") for t in tasks)


def sft_rows(tasks: Sequence[Task], *, system_prompt: str | None = None,
             count_tokens: Callable[[list[dict[str, str]]], int] | None = None,
             max_prompt_tokens: int = 512) -> list[dict[str, Any]]:
    """Conversations ``{"messages": [system, user, assistant]}``; the assistant turn is
    ``<think>reasoning</think><sql>gold</sql>``. Tasks with no reasoning at all are
    skipped (there is nothing to imitate)."""
    rows = []
    for t in tasks:
        think = reasoning_of(t)
        if not think or not t.gold_sql.strip():
            continue
        fitted = fit_task(t, count_tokens, max_prompt_tokens, system_prompt)
        msgs = build_messages(fitted, system_prompt)
        msgs.append({"role": "assistant", "content": format_answer(think, t.gold_sql)})
        rows.append({"messages": msgs})
    return rows


def grpo_rows(tasks: Sequence[Task], *, system_prompt: str | None = None,
              count_tokens: Callable[[list[dict[str, str]]], int] | None = None,
              max_prompt_tokens: int = 512) -> list[dict[str, Any]]:
    """Conversational prompts plus the columns the rewards read: ``gold_sql``,
    ``context`` (the full schema + rows, even when the prompt shows less) and ``task_id``;
    ``db_path`` too when tasks run on database files."""
    tasks = list(tasks)
    with_files = any(t.db_path for t in tasks)
    rows = []
    for t in tasks:
        fitted = fit_task(t, count_tokens, max_prompt_tokens, system_prompt)
        rows.append({
            "prompt": build_messages(fitted, system_prompt),
            "gold_sql": t.gold_sql,
            "context": t.context,
            "task_id": t.id,
            **({"db_path": t.db_path} if with_files else {}),
        })
    return rows


def split_tasks(tasks: Sequence[Task], eval_split: float, seed: int = 42) -> tuple[list[Task], list[Task]]:
    """(train, held-out): ``eval_split`` < 1 is a share, >= 1 a count; deterministic."""
    tasks = list(tasks)
    if eval_split <= 0 or len(tasks) < 2:
        return tasks, []
    n = int(eval_split) if eval_split >= 1 else max(1, round(len(tasks) * eval_split))
    n = min(n, len(tasks) - 1)
    order = list(range(len(tasks)))
    random.Random(seed).shuffle(order)
    held = set(order[:n])
    return [t for i, t in enumerate(tasks) if i not in held], [t for i, t in enumerate(tasks) if i in held]


def tasks_by_id(tasks: Iterable[Task]) -> dict[str, Task]:
    return {t.id: t for t in tasks}
