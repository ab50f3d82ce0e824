"""Result-set and final-state comparison rules."""

from decimal import Decimal

from sqlbench.sqlcheck.compare import compare_results, compare_states, preview


def same(expected, got, ordered=False, **kw):
    return compare_results(expected, got, ordered, **kw) is None


def test_rows_are_a_multiset_unless_ordered():
    assert same([(1, "a"), (2, "b")], [(2, "b"), (1, "a")])
    d = compare_results([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], True)
    assert d is not None and "different order" in d.detail
    # Multisets, not sets: duplicates count.
    assert not same([(1,), (1,), (2,)], [(1,), (2,), (2,)])


def test_numbers_compare_numerically_with_relative_tolerance():
    assert same([(5,)], [(5.0,)])
    assert same([(Decimal("2.50"),)], [(2.5,)])
    assert same([(1_000_000.0,)], [(1_000_000.5,)])  # 5e-7 relative
    assert not same([(1_000_000.0,)], [(1_000_002.0,)])  # 2e-6 relative
    assert same([(0.1 + 0.2 - 0.3,)], [(0,)])  # float noise at zero
    assert not same([(5,)], [("5",)])  # text is not a number


def test_null_equals_null_only():
    assert same([(None, 1)], [(None, 1)])
    assert not same([(None,)], [(0,)])


def test_column_order_and_names_are_ignored_but_count_is_not():
    assert same([(1, "a", 2.0), (2, "b", 3.0)], [("a", 2.0, 1), ("b", 3.0, 2)])
    assert same([("x", 1), ("y", 2)], [(1, "x"), (2, "y")], ordered=True)
    assert not same([("x", 1), ("y", 2)], [(2, "y"), (1, "x")], ordered=True)  # row order still matters
    d = compare_results([(1, 2)], [(1,)], False)
    assert d is not None and d.detail == "2 columns expected, 1 returned"
    # Empty results (schema-only databases) still compare their width.
    assert compare_results([], [], False, expected_ncols=2, got_ncols=1) is not None
    assert compare_results([], [], False, expected_ncols=2, got_ncols=2) is None


def test_column_swap_must_keep_rows_together():
    # Each column has the same values, but the pairing differs: not equal.
    assert not same([(1, "a"), (2, "b")], [("b", 1), ("a", 2)])


def test_detail_names_counts_and_first_difference():
    d = compare_results([(1,), (2,), (3,)], [(1,), (3,)], True)
    assert d.detail == "3 rows expected, 2 returned; first difference at row 2"
    assert d.expected == [[1], [2], [3]] and d.got == [[1], [3]]


def test_previews_are_small_and_json_safe():
    rows = [(i, b"\x01", Decimal("1.5")) for i in range(50)]
    p = preview(rows)
    assert len(p) == 10 and p[0] == [0, "x'01'", 1.5]


def test_final_state_compares_every_table_and_view():
    base = {"t": ("table", 1, [(1,), (2,)], False), "v": ("view", 1, [(1,)], False)}
    assert compare_states(base, dict(base)) is None
    assert "v is missing" in compare_states(base, {"t": base["t"]}).detail
    assert "unexpected table x" in compare_states(base, {**base, "x": ("table", 1, [], False)}).detail
    changed = {**base, "t": ("table", 1, [(1,)], False)}
    assert "table t" in compare_states(base, changed).detail


def test_integers_beyond_float_precision_stay_distinct():
    """5 == 5.0, but ids above 2**53 must not merge the way floats would merge them."""
    from sqlbench.sqlcheck.compare import compare_results

    a, b = 2**53, 2**53 + 1
    assert compare_results([(a,), (b,)], [(b,), (a,)], False) is None  # same multiset
    assert compare_results([(a,), (b,)], [(b,), (a,)], True) is not None  # ordered: swapped
    assert compare_results([(b,)], [(a,)], False) is not None
    assert compare_results([(b,)], [(b,)], False) is None
    assert compare_results([(5,)], [(5.0,)], False) is None


def test_the_fast_paths_normalise_and_sort_exactly_as_the_rules_say():
    """norm_rows and sort_rows take shortcuts (types inline, Python's own tuple order);
    on mixed, tied, NULL-ridden, NaN and huge-integer results they must give what
    norm_value per value and the ranked sort key give."""
    import datetime
    import random

    from sqlbench.sqlcheck import compare as C

    rng = random.Random(7)
    pools = [
        [None, 0, 1, -3, 2**60, 2**53, True, False],
        [0.5, -0.0, 0.0, 1e300, float("inf"), float("nan")],
        ["a", "b", "", "10", "9"],
        [b"\x00", b"a", bytearray(b"b"), memoryview(b"c")],
        [Decimal("2.50"), datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4), datetime.time(5, 6)],
    ]
    for trial in range(400):
        kinds = rng.sample(range(len(pools)), rng.randint(1, 3))
        ncols = rng.randint(1, 4)
        col_pools = [sum((pools[k] for k in rng.sample(kinds, rng.randint(1, len(kinds)))), []) for _ in range(ncols)]
        if trial % 2:  # half of them without NaN, where Python's own order does the sort
            col_pools = [[v for v in p if not (isinstance(v, float) and v != v)] or [1] for p in col_pools]
        raw = [tuple(rng.choice(p) for p in col_pools) for _ in range(rng.randint(0, 30))]
        normed = C.norm_rows(raw)
        assert normed == [tuple(C.norm_value(v) for v in row) for row in raw] or _nan_equal(
            normed, [tuple(C.norm_value(v) for v in row) for row in raw])
        assert [tuple(map(type, r)) for r in normed] == [tuple(type(C.norm_value(v)) for v in r) for r in raw]
        fast, slow = C.sort_rows(normed), sorted(normed, key=C._key)
        assert list(map(repr, fast)) == list(map(repr, slow)), (raw, fast, slow)


def _nan_equal(a, b):
    return list(map(repr, a)) == list(map(repr, b))
