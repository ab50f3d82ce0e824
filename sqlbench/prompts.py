"""Chat messages for a task, and parsing of the model's answer."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

from sqlbench.records import Answer, Task

SYSTEM_PROMPT = (
    "You are an expert in writing optimized SQL queries.\n"
    "Think about the problem and provide your working out.\n"
    "Place it between <think> and </think>.\n"
    "Then, provide your solution between <sql></sql>"
)

_THINK = re.compile(r"<think>(.*?)</think>", re.S)
_SQL = re.compile(r"<sql>(.*?)</sql>", re.S)
_SQL_OPEN = re.compile(r"<sql>(.*)$", re.S)  # unterminated block (truncated generation)
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.S)
_STATEMENT = re.compile(r"[^;]+;?", re.S)


def user_message(task: Task) -> str:
    return f"{task.question}\n\nDatabase schema:\n{task.context.strip()}"


def build_messages(
    task: Task, system_prompt: str | None = None, *, hint_gold: bool = False
) -> list[dict[str, str]]:
    """The prompt a teacher or student sees: question and schema, never the gold SQL
    unless ``hint_gold`` (which leaks the answer and is labelled as such)."""
    user = user_message(task)
    if hint_gold:
        user += f"\n\nReference solution (explain and reproduce it):\n{task.gold_sql.strip()}"
    return [
        {"role": "system", "content": system_prompt or SYSTEM_PROMPT},
        {"role": "user", "content": user},
    ]


def schema_only(context: str) -> str:
    """The context without its INSERT statements: what a prompt needs when the seed
    rows would not fit."""
    keep = [s.strip() for s in _STATEMENT.findall(context)
            if s.strip() and not s.strip().upper().startswith("INSERT")]
    return "\n".join(keep)


def prompt_token_counter(tokenizer: Any) -> Callable[[list[dict[str, str]]], int]:
    """Tokens of a prompt as the model receives it: the chat template applied, the
    assistant turn opened (without a template, the contents joined). The template's own
    tokens count: a budget on the contents alone lets the real prompt overflow and be
    cut from the left, system prompt first."""
    def count(messages: list[dict[str, str]]) -> int:
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n".join(m["content"] for m in messages)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def fit_task(task: Task, count_tokens: Callable[[list[dict[str, str]]], int | None] | None, max_tokens: int,
             system_prompt: str | None = None) -> Task:
    """A task whose prompt (``count_tokens`` of its messages, see
    :func:`prompt_token_counter`) fits ``max_tokens``: first drop seed rows from the
    schema, then cut the schema's tail; the question is always kept. The returned task
    is only used to build the prompt (the validator keeps the full context)."""
    if count_tokens is None:
        return task

    def size(t: Task) -> int:
        return count_tokens(build_messages(t, system_prompt))

    first = size(task)
    if first is None or first <= max_tokens:  # None: this counter cannot tell (not loaded)
        return task
    task = replace(task, context=schema_only(task.context))
    ctx = task.context
    while size(task) > max_tokens and len(ctx) > 32:
        ctx = ctx[: int(len(ctx) * 0.8)]
        task = replace(task, context=ctx)
    return task


def format_answer(think: str, sql: str) -> str:
    return f"<think>\n{think.strip()}\n</think>\n<sql>\n{sql.strip()}\n</sql>"


def _strip_fence(sql: str) -> str:
    m = _FENCE.search(sql)
    return (m.group(1) if m else sql).strip()


def parse_answer(text: str) -> Answer:
    think_m = _THINK.search(text)
    think = think_m.group(1).strip() if think_m else ""
    # The sql block must come after the reasoning; one before it does not count as well-formed.
    after_m = _SQL.search(text, think_m.end()) if think_m else None
    sql_m = after_m or _SQL.search(text)
    sql = _strip_fence(sql_m.group(1)) if sql_m else ""
    well_formed = bool(think and after_m and sql)
    return Answer(think=think, sql=sql, well_formed=well_formed)


def extract_sql(text: str) -> str:
    """The SQL of an answer: its <sql> block, else a code fence, else the text itself
    (so bare SQL candidates work)."""
    m = _SQL.search(text)
    if m:
        return _strip_fence(m.group(1))
    m = _SQL_OPEN.search(text)
    if m:
        return _strip_fence(m.group(1))
    if "<think>" in text:
        text = _THINK.sub("", text)
    return _strip_fence(text)


def looks_like_answer(text: str) -> bool:
    """True when the text uses the answer tags (as opposed to bare SQL)."""
    return "<think>" in text or "<sql>" in text
