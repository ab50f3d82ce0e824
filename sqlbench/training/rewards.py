"""GRPO reward functions for SQL answers, with TRL's reward signature.

Each is ``fn(completions, **kwargs) -> list[float]``; a completion is either text or a
conversational list of messages (its last message's content is judged). Rewards that
need the answer key read the dataset columns TRL passes as keyword arguments:
``gold_sql`` (the *dataset's* gold query, never a teacher's answer), ``context`` (the
schema + seed rows the query runs on) and ``task_id``.

=========== ======= ===================================================================
name        range   meaning
=========== ======= ===================================================================
format      0 or 1  strict layout: ``<think>…</think>`` then ``<sql>…</sql>``, nothing else
tags        0..1    0.25 per tag (<think>, </think>, <sql>, </sql>) present exactly once
syntax      0 or 1  the SQL in the <sql> block parses (sqlglot)
schema      0..1    F1 of the tables+columns the SQL uses against the gold query's
execution   0/.1/1  1 result matches gold, 0.1 runs but differs or cannot be verified
                    (``unverified``), 0 otherwise (the Arctic-Text2SQL-R1 scheme)
length      0..1    1 up to LENGTH_TARGET characters of reasoning, falling linearly to 0
                    at LENGTH_MAX; 0 without reasoning ("reasoning efficiency")
=========== ======= ===================================================================

Execution dominates the default weights; the shape rewards are small so they guide a
cold model to the format without being worth more than one correct answer.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any, Callable, Sequence

from sqlbench.prompts import parse_answer
from sqlbench.records import MISMATCH, OK, TIMEOUT, UNVERIFIED, Task
from sqlbench.sqlcheck.shared import get_validator
from sqlbench.sqlcheck.shared import set_validator as _share_validator

TAGS = ("<think>", "</think>", "<sql>", "</sql>")
LENGTH_TARGET = 600  # characters of reasoning that cost nothing
LENGTH_MAX = 2400  # characters of reasoning worth no length reward at all
_STRICT = re.compile(r"^\s*<think>(?:(?!<think>|</think>|<sql>|</sql>).)*\S(?:(?!<think>|</think>|<sql>|</sql>).)*"
                     r"</think>\s*<sql>(?:(?!<think>|</think>|<sql>|</sql>).)*\S(?:(?!<think>|</think>|<sql>|</sql>).)*"
                     r"</sql>\s*$", re.S)

DEFAULT_WEIGHTS: dict[str, float] = {
    "format": 0.5,
    "tags": 0.25,
    "syntax": 0.25,
    "schema": 0.5,
    "execution": 2.0,
    "length": 0.1,
}


def completion_text(completion: Any) -> str:
    """Text of a completion, plain or conversational."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        return str(last.get("content", "")) if isinstance(last, dict) else str(last)
    return ""


def _texts(completions: Sequence[Any]) -> list[str]:
    return [completion_text(c) for c in completions]


def _column(kwargs: dict[str, Any], name: str, n: int) -> list[Any]:
    col = kwargs.get(name)
    if col is None:
        raise KeyError(f"reward needs the dataset column {name!r} (rows from sqlbench.training.data.grpo_rows)")
    return list(col) if not isinstance(col, str) else [col] * n


# ---- shape rewards ----------------------------------------------------------------------
def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 for exactly ``<think>reasoning</think> <sql>query</sql>`` (whitespace around
    allowed, no text outside, no repeated tags), else 0.0."""
    return [1.0 if _STRICT.match(t) else 0.0 for t in _texts(completions)]


def tags_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """0.25 per answer tag that appears exactly once (0..1): partial credit while a
    cold model is still learning the layout."""
    return [sum(0.25 for tag in TAGS if t.count(tag) == 1) for t in _texts(completions)]


def syntax_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 when the <sql> block holds SQL that parses, else 0.0."""
    from sqlbench.sqlcheck import parses

    out = []
    for t in _texts(completions):
        sql = parse_answer(t).sql
        out.append(1.0 if sql and parses(sql) else 0.0)
    return out


def _f1(pred: set[str], gold: set[str]) -> float:
    if not pred and not gold:
        return 1.0
    hit = len(pred & gold)
    if hit == 0:
        return 0.0
    p, r = hit / len(pred), hit / len(gold)
    return 2 * p * r / (p + r)


_MISSING = object()


class _Memo:
    """A bounded, thread-safe memo that forgets the least recently used first (TRL may
    call rewards from several threads). The value is computed outside the lock."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The memoised value of ``compute()``."""
        value = self.lookup(key, _MISSING)
        if value is _MISSING:
            value = compute()
            self.put(key, value)
        return value

    def lookup(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        return default

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            if len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_names_memo = _Memo(4096)


def _names(sql: str) -> frozenset[str] | None:
    """Tables and columns a query mentions (lower-cased, tagged by kind), or None when
    it does not parse. Memoised: the gold query is asked for every completion."""
    return _names_memo.get(sql, lambda: _parse_names(sql))


def _parse_names(sql: str) -> frozenset[str] | None:
    from sqlbench.sqlcheck import referenced_names

    try:
        tables, columns = referenced_names(sql)
    except Exception:  # unparseable SQL earns nothing here; syntax_reward reports it
        return None
    return frozenset({f"t:{x.lower()}" for x in tables} | {f"c:{x.lower()}" for x in columns})


def schema_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """F1 (0..1) between the tables+columns the answer's SQL uses and the gold's."""
    golds = _column(kwargs, "gold_sql", len(completions))
    out = []
    for t, gold in zip(_texts(completions), golds):
        sql = parse_answer(t).sql
        pred = _names(sql) if sql else None
        ref = _names(gold or "")
        out.append(0.0 if pred is None or ref is None else _f1(set(pred), set(ref)))
    return out


def length_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 for reasoning up to LENGTH_TARGET characters, linearly down to 0.0 at
    LENGTH_MAX; 0.0 when there is no reasoning at all."""
    out = []
    for t in _texts(completions):
        n = len(parse_answer(t).think)
        if n == 0:
            out.append(0.0)
        elif n <= LENGTH_TARGET:
            out.append(1.0)
        else:
            out.append(max(0.0, 1.0 - (n - LENGTH_TARGET) / (LENGTH_MAX - LENGTH_TARGET)))
    return out


# ---- execution --------------------------------------------------------------------------
def set_validator(validator) -> None:
    """Use a configured validator (timeout, max_rows) for the execution reward."""
    _share_validator(validator)
    _scores.clear()  # scores judged with other settings no longer hold


def use_validate_settings(validate_settings) -> None:
    """Judge the execution reward (and everything else that asks ``get_validator``) with
    the ``validate.*`` settings: timeout, max_rows, test databases."""
    from sqlbench.sqlcheck import Validator

    set_validator(Validator.from_settings(validate_settings))


_scores = _Memo(8192)


def execution_score(task: Task, sql: str) -> float:
    """1.0 / 0.1 / 0.0 for one SQL string on one task (memoised: GRPO groups repeat answers)."""
    return execution_scores([(task, sql)])[0]


def execution_scores(pairs: Sequence[tuple[Task, str]]) -> list[float]:
    """:func:`execution_score` of each (task, SQL) pair. The pairs the memo lacks are
    judged together: one hand-off to the validator's guarded thread for a whole step."""
    keys = [(t.id, hash(t.context), t.db_path, t.gold_sql, sql) for t, sql in pairs]
    scores = [0.0 if not sql.strip() else _scores.lookup(key) for key, (_, sql) in zip(keys, pairs)]
    todo = {key: pair for key, pair, score in zip(keys, pairs, scores) if score is None}  # repeats judged once
    if todo:
        fresh = dict(zip(todo, get_validator().check_many(todo.values())))
        for key, verdict in fresh.items():
            # A timeout says as much about the machine's load at that moment as about the
            # answer: it is scored 0 now, but never remembered, so it is judged again next time.
            if verdict.reason != TIMEOUT:
                _scores.put(key, _score(verdict.reason))
        scores = [_score(fresh[key].reason) if score is None else score for key, score in zip(keys, scores)]
    return scores


def _score(reason: str) -> float:
    # unverified: it runs, but the data cannot tell it from a wrong answer: paid as "runs"
    return 1.0 if reason == OK else 0.1 if reason in (MISMATCH, UNVERIFIED) else 0.0


def execution_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 when the <sql> block's result matches the gold query's on the task's database,
    0.1 when it runs but differs (or the data cannot tell: ``unverified``), 0.0 when it is
    missing, fails or is refused."""
    n = len(completions)
    golds = _column(kwargs, "gold_sql", n)
    contexts = _column(kwargs, "context", n)
    ids = kwargs.get("task_id") or [f"task-{i}" for i in range(n)]
    db_paths = kwargs.get("db_path") or [""] * n  # tasks backed by a database file (--db-dir)
    return execution_scores([(Task(id=str(tid), question="", context=ctx or "", gold_sql=gold or "", db_path=dbp or ""),
                              parse_answer(t).sql)
                             for t, gold, ctx, tid, dbp in zip(_texts(completions), golds, contexts, ids, db_paths)])


REWARDS: dict[str, Callable[..., list[float]]] = {
    "format": format_reward,
    "tags": tags_reward,
    "syntax": syntax_reward,
    "schema": schema_reward,
    "execution": execution_reward,
    "length": length_reward,
}
# TRL logs each reward as rewards/<__name__>/mean: make those the registry names.
for _name, _fn in REWARDS.items():
    _fn.__name__ = _name


def parse_weights(text: str | dict[str, float] | None) -> dict[str, float]:
    """``"execution=2,format=0.5"`` (or a dict) -> validated weights; unknown names are
    a one-line ConfigError."""
    from sqlbench.errors import ConfigError

    if not text:
        return {}
    if isinstance(text, dict):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ConfigError(f"--reward-weights: expected name=weight, got {part.strip()!r}")
            k, v = part.split("=", 1)
            items.append((k.strip(), v.strip()))
    out = {}
    for k, v in items:
        if k not in REWARDS:
            raise ConfigError(f"--reward-weights: unknown reward {k!r} (known: {', '.join(REWARDS)})")
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"--reward-weights: weight of {k!r} must be a number (got {v!r})") from None
    return out


def resolve_weights(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Default weights with overrides applied; rewards weighted 0 are dropped (not run)."""
    w = dict(DEFAULT_WEIGHTS)
    w.update(overrides or {})
    return {k: v for k, v in w.items() if v != 0}
