"""Execution-accuracy rules of the published benchmarks, as pure functions on result rows.

Papers report Spider test-suite EX or BIRD EX; sqlbench's own rule (compare.py) is
neither. These implement the two benchmark rules from their published descriptions,
so ``sqlbench eval`` can report numbers comparable with each:

- **Spider** (test-suite evaluator, ``result_eq``): rows compared as a bag (duplicates
  count); in order only when the gold query's text contains ORDER BY anywhere; the
  answer's columns may be any permutation of the gold's; values compared exactly; two
  empty results are equal whatever their columns.
- **BIRD**: the set of result rows must be equal (duplicates and order ignored, even
  under ORDER BY); column order is significant; values compared exactly.

Rows are sequences of Python values as the engine returns them (``1 == 1.0`` holds, as
in Python, on both sides).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Sequence

Rows = Sequence[Sequence[Any]]

_ORDER_BY = re.compile(r"\border\s+by\b", re.I)
MAX_COLUMN_MAPPINGS = 10_000  # column permutations tried before giving up (rejecting)


def spider_orders(gold_sql: str) -> bool:
    """Spider compares order whenever the gold's text says ORDER BY, even in a subquery."""
    return bool(_ORDER_BY.search(gold_sql or ""))


def _cell(v: Any) -> Any:
    # memoryview/bytearray are not hashable: compare blobs as bytes
    return bytes(v) if isinstance(v, (bytearray, memoryview)) else v


def _row(r: Sequence[Any]) -> tuple:
    return tuple(_cell(v) for v in r)


def ex_bird(gold: Rows, pred: Rows) -> bool:
    """BIRD's rule: ``set(pred) == set(gold)`` over whole rows, columns in order."""
    return {_row(r) for r in pred} == {_row(r) for r in gold}


def ex_spider(gold: Rows, pred: Rows, gold_sql: str) -> bool:
    """Spider test-suite's rule (see the module docstring)."""
    if not gold and not pred:
        return True
    if len(gold) != len(pred):
        return False
    g = [_row(r) for r in gold]
    p = [_row(r) for r in pred]
    ncols = len(g[0])
    if any(len(r) != ncols for r in g) or any(len(r) != ncols for r in p):
        return False
    ordered = spider_orders(gold_sql)

    def same(perm: tuple[int, ...]) -> bool:
        moved = [tuple(r[j] for j in perm) for r in p]
        return moved == g if ordered else Counter(moved) == Counter(g)

    # A gold column can only come from an answer column holding the same values
    # (the same sequence when ordered, the same bag otherwise).
    def column(rows: list[tuple], i: int) -> Any:
        values = [r[i] for r in rows]
        return values if ordered else Counter(values)

    gold_cols = [column(g, i) for i in range(ncols)]
    pred_cols = [column(p, j) for j in range(ncols)]
    options = [[j for j in range(ncols) if pred_cols[j] == gold_cols[i]] for i in range(ncols)]
    if any(not o for o in options):
        return False
    tried = 0
    chosen: list[int] = []
    used: set[int] = set()

    def search(i: int) -> bool:
        nonlocal tried
        if i == ncols:
            tried += 1
            return same(tuple(chosen))
        for j in options[i]:
            if j in used or tried >= MAX_COLUMN_MAPPINGS:
                continue
            used.add(j)
            chosen.append(j)
            if search(i + 1):
                return True
            chosen.pop()
            used.discard(j)
        return False

    return search(0)
