"""Train / held-out splits stratified by a task attribute (``sql_complexity`` by default),
so a 100-task held-out set has the data's mix of basic queries, joins, windows, CTEs...
Pure and deterministic: the same tasks and seed give the same split."""

from __future__ import annotations

import random
from typing import Callable, Sequence

from sqlbench.records import Task


def complexity(task: Task) -> str:
    return str((task.metadata or {}).get("sql_complexity") or "unknown")


def stratified_split(tasks: Sequence[Task], n_held: int, *, n_train: int | None = None, seed: int = 0,
                     key: Callable[[Task], str] = complexity) -> tuple[list[Task], list[Task]]:
    """(train, held-out): ``n_held`` tasks drawn from each stratum in proportion to its
    size (largest remainder), the rest (or ``n_train`` of it, also in proportion) for
    training. Disjoint; each list keeps the input order."""
    tasks = list(tasks)
    n_held = max(0, min(n_held, len(tasks)))
    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(tasks):
        groups.setdefault(key(t), []).append(i)
    for idx in groups.values():
        rng.shuffle(idx)
    held = _take(groups, n_held)
    rest = {k: [i for i in idx if i not in held] for k, idx in groups.items()}
    n_rest = sum(len(v) for v in rest.values())
    train = _take(rest, n_rest if n_train is None else min(n_train, n_rest))
    return [t for i, t in enumerate(tasks) if i in train], [t for i, t in enumerate(tasks) if i in held]


def _take(groups: dict[str, list[int]], n: int) -> set[int]:
    """``n`` indices, each group giving its proportional share (largest remainder)."""
    total = sum(len(v) for v in groups.values())
    if not total or n <= 0:
        return set()
    exact = {k: n * len(v) / total for k, v in groups.items()}
    share = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: (exact[k] - share[k], k), reverse=True)[: n - sum(share.values())]:
        share[k] += 1
    return {i for k, v in groups.items() for i in v[: share[k]]}
