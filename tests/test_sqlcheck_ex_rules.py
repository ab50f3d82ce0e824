"""The three execution-accuracy rules side by side, on the cases where they disagree.

sqlbench: compare.compare_results (bag, ordered only under a top-level ORDER BY, column
order ignored, numbers within 1e-6). Spider: test-suite result_eq (bag, ordered when the
gold's text has ORDER BY anywhere, column permutations, exact values, empty == empty).
BIRD: set of rows, column order significant, exact values.
"""

from __future__ import annotations

import pytest

from sqlbench.sqlcheck.compare import compare_results
from sqlbench.sqlcheck.dialect import has_top_level_order_by
from sqlbench.sqlcheck.ex_rules import ex_bird, ex_spider, spider_orders


def ours(gold_rows, pred_rows, gold_sql):
    return compare_results(gold_rows, pred_rows, has_top_level_order_by(gold_sql)) is None


def rules(gold_rows, pred_rows, gold_sql):
    return ours(gold_rows, pred_rows, gold_sql), ex_spider(gold_rows, pred_rows, gold_sql), ex_bird(gold_rows, pred_rows)


G = "SELECT name, city FROM customers"
ORDERED = "SELECT name, city FROM customers ORDER BY name"


@pytest.mark.parametrize("case, gold_rows, pred_rows, gold_sql, expected", [
    # (sqlbench, spider, bird)
    ("identical", [("a", "x"), ("b", "y")], [("a", "x"), ("b", "y")], G, (True, True, True)),
    ("a DISTINCT that drops duplicates: only BIRD accepts",
     [("a", "x"), ("a", "x"), ("b", "y")], [("a", "x"), ("b", "y")], G, (False, False, True)),
    ("extra duplicate rows: only BIRD accepts",
     [("a", "x")], [("a", "x"), ("a", "x")], G, (False, False, True)),
    ("a reordered SELECT list: BIRD rejects",
     [("a", "x"), ("b", "y")], [("x", "a"), ("y", "b")], G, (True, True, False)),
    ("wrong order under ORDER BY: BIRD ignores order",
     [("a", "x"), ("b", "y")], [("b", "y"), ("a", "x")], ORDERED, (False, False, True)),
    ("ORDER BY only in a subquery: Spider compares order, we and BIRD do not",
     [("a", "x"), ("b", "y")], [("b", "y"), ("a", "x")],
     "SELECT name, city FROM (SELECT * FROM customers ORDER BY name LIMIT 5)", (True, False, True)),
    ("float noise: only sqlbench's tolerance accepts",
     [(0.1 + 0.2,)], [(0.3,)], "SELECT avg(x) FROM t", (True, False, False)),
    ("5 and 5.0 are the same number under every rule",
     [(5,)], [(5.0,)], "SELECT count(*) FROM t", (True, True, True)),
    ("a different value", [("a", "x")], [("a", "z")], G, (False, False, False)),
])
def test_the_three_rules_side_by_side(case, gold_rows, pred_rows, gold_sql, expected):
    assert rules(gold_rows, pred_rows, gold_sql) == expected, case


def test_empty_results_with_different_columns_only_sqlbench_rejects():
    """Spider and BIRD see two empty row lists; sqlbench also counts the columns."""
    assert compare_results([], [], False, expected_ncols=2, got_ncols=1) is not None
    assert ex_spider([], [], "SELECT a, b FROM t WHERE 0") and ex_bird([], [])


def test_spider_column_permutation_needs_matching_columns():
    gold = [(1, "a", "x"), (2, "b", "y"), (3, "c", "x")]
    assert ex_spider(gold, [("x", 1, "a"), ("y", 2, "b"), ("x", 3, "c")], G)
    # same column value bags, but rows pair them differently: no permutation fits
    assert not ex_spider(gold, [(1, "a", "y"), (2, "b", "x"), (3, "c", "x")], G)
    # a column count that differs is never equal
    assert not ex_spider([(1, 2)], [(1,)], G) and not ex_bird([(1, 2)], [(1,)])
    # columns with identical values: the search tries the mappings, rows decide
    same = [(1, 1), (2, 2)]
    assert ex_spider(same, [(2, 2), (1, 1)], G) and not ex_spider(same, [(2, 2), (1, 1)], ORDERED)


def test_spider_order_words():
    assert spider_orders("select a from t order   by a")
    assert spider_orders("SELECT a FROM (SELECT a FROM t ORDER BY a)")
    assert not spider_orders("SELECT border_by FROM t")


def test_blobs_nulls_and_lengths():
    assert ex_bird([(None, b"\x00")], [(None, memoryview(b"\x00"))])
    assert ex_spider([(None, b"\x00")], [(None, bytearray(b"\x00"))], G)
    assert not ex_spider([(1,)], [(1,), (1,)], G)  # bag: counts matter
    assert ex_bird([(1,)], [(1,), (1,)])
