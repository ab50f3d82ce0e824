"""Result-set and final-state comparison.

Rows are compared as multisets (as sequences when the gold orders its result; rows the
gold's ORDER BY keys leave tied may come in any order among themselves), column
order and names ignored, numbers compared numerically (5 == 5.0) with a relative
tolerance of 1e-6 (plus 1e-9 absolute, so float noise around zero is equal), NULL equal
to NULL. Exact equality is tried first: it is the common case and costs one sort.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

REL_TOL = 1e-6
ABS_TOL = 1e-9
PREVIEW_ROWS = 10
_EXACT = 2**53  # integers up to this are exactly representable as floats
_MAX_PERMUTATIONS = 5040  # 7 columns with identical value sets; beyond that, give up


@dataclass(frozen=True)
class Difference:
    detail: str
    expected: list[list[Any]]
    got: list[list[Any]]


def norm_value(v: Any) -> Any:
    """A comparable, hashable form: numbers as float, temporal values as ISO text."""
    if v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, (bool, int)):
        # as float so 5 == 5.0 hashes and sorts alike; beyond 2**53 a float would merge
        # neighbouring integers (ids), so those stay exact ints
        return float(v) if -_EXACT <= v <= _EXACT else int(v)
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, (_dt.date, _dt.time)):  # datetime is a date
        return v.isoformat(sep=" ") if isinstance(v, _dt.datetime) else v.isoformat()
    return str(v)


def norm_rows(rows: Iterable[Sequence[Any]]) -> list[tuple]:
    # norm_value, with the engines' common types inline: every gold and candidate result
    # on every database passes through here
    nv, exact = norm_value, _EXACT
    return [tuple([v if (t := type(v)) is str or t is float or v is None
                   else float(v) if t is int and -exact <= v <= exact else nv(v) for v in row])
            for row in rows]


_RANK = {type(None): 0, float: 1, int: 1, str: 2, bytes: 3}


def _key(row: tuple) -> tuple:
    # NaN sorts as +inf so it has a stable place.
    return tuple(
        (_RANK.get(type(v), 4), (math.inf if v != v else v) if isinstance(v, float) else (v if v is not None else 0))
        for v in row
    )


def sort_rows(rows: list[tuple]) -> list[tuple]:
    """Normalised rows in ``_key`` order. Python's own tuple order is the same order
    wherever it is defined (values of one rank compare alike; across ranks it raises),
    except for NaN, so it is tried first: it builds no key per value."""
    try:
        out = sorted(rows)
    except TypeError:  # None beside a number, text beside a number, ...
        return sorted(rows, key=_key)
    if any(v != v for row in out for v in row if type(v) is float):
        return sorted(rows, key=_key)
    return out


def values_equal(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        if a != a and b != b:
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return False  # an int beyond 2**53 (see norm_value) equals only the same exact number


def rows_equal(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))


def tie_groups(rows: Sequence[Sequence[Any]], keys: Sequence[int] | None) -> tuple[int, ...] | None:
    """Lengths of the runs of consecutive rows (as the engine returned them, compared
    exactly) equal on the ``keys`` columns; None when there are no keys or no run
    longer than one row."""
    if not keys or len(rows) < 2:
        return None
    lengths, start = [], 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or any(rows[i][k] != rows[start][k] for k in keys):
            lengths.append(i - start)
            start = i
    return tuple(lengths) if len(lengths) < len(rows) else None


def _same(expected: list[tuple], got: list[tuple], ordered: bool,
          ties: Callable[[], tuple[int, ...] | None] | None = None) -> bool:
    """expected/got are normalised; when unordered both are already sorted. With
    ``ties`` (ordered only; asked only when the plain order differs), each run of tied
    gold rows matches as a multiset."""
    if expected == got:
        return True
    if len(expected) != len(got):
        return False
    if all(rows_equal(a, b) for a, b in zip(expected, got)):
        return True
    groups = ties() if ordered and ties is not None else None
    if groups:
        start = 0
        for n in groups:
            if not _same(sort_rows(expected[start:start + n]), sort_rows(got[start:start + n]), False):
                return False
            start += n
        return True
    if ordered:
        return False
    # Near-equal floats may sort differently; match greedily (small results only).
    if len(got) > 2000:
        return False
    left = list(got)
    for row in expected:
        for i, cand in enumerate(left):
            if rows_equal(row, cand):
                del left[i]
                break
        else:
            return False
    return True


def _permutations(expected: list[tuple], got: list[tuple], ncols: int) -> Iterable[tuple[int, ...]]:
    """Column orders of ``got`` worth trying: each gold column may only map to a
    result column holding the same multiset of values."""
    def column(rows: list[tuple], i: int) -> list:
        return sort_rows([(r[i],) for r in rows])

    exp_cols = [column(expected, i) for i in range(ncols)]
    got_cols = [column(got, j) for j in range(ncols)]
    options = []
    for i in range(ncols):
        opts = [j for j in range(ncols) if _same(exp_cols[i], got_cols[j], ordered=False)]
        if not opts:
            return []
        options.append(opts)
    return (p for p in itertools.islice(itertools.product(*options), _MAX_PERMUTATIONS) if len(set(p)) == ncols)


def compare_results(expected_raw: Sequence[Sequence[Any]], got_raw: Sequence[Sequence[Any]], ordered: bool,
                    *, expected_ncols: int | None = None, got_ncols: int | None = None,
                    expected_norm: list[tuple] | None = None,
                    ties: Callable[[], tuple[int, ...] | None] | None = None) -> Difference | None:
    """None when the result sets are equal under the rules above, else what differs.

    ``expected_norm`` lets callers pass the gold's rows already normalised (and sorted
    when unordered), which the validator caches per task; ``ties`` returns the gold's
    runs of tied rows (:func:`tie_groups`), worked out only when the order differs.
    """
    exp = expected_norm if expected_norm is not None else _prepare(norm_rows(expected_raw), ordered)
    got = _prepare(norm_rows(got_raw), ordered)
    ecols = expected_ncols if expected_ncols is not None else (len(exp[0]) if exp else None)
    gcols = got_ncols if got_ncols is not None else (len(got[0]) if got else None)
    # Column counts matter even for empty results (schema-only databases return none).
    if ecols is not None and gcols is not None and ecols != gcols:
        return _diff(f"{ecols} columns expected, {gcols} returned", expected_raw, got_raw)
    if exp == got:
        return None
    ecols = ecols or 0
    if _same(exp, got, ordered, ties):
        return None
    if len(exp) == len(got) and ecols > 1:
        for perm in _permutations(exp, got, ecols):
            moved = _prepare([tuple(r[j] for j in perm) for r in got], ordered)
            if _same(exp, moved, ordered, ties):
                return None
    return _diff(_describe(exp, got, ordered), expected_raw, got_raw)


def _prepare(rows: list[tuple], ordered: bool) -> list[tuple]:
    return rows if ordered else sort_rows(rows)


def prepare_expected(rows: Sequence[Sequence[Any]], ordered: bool) -> list[tuple]:
    return _prepare(norm_rows(rows), ordered)


def _describe(exp: list[tuple], got: list[tuple], ordered: bool) -> str:
    first = next((i for i, (a, b) in enumerate(zip(exp, got)) if not rows_equal(a, b)), min(len(exp), len(got)))
    where = f"first difference at row {first + 1}" + ("" if ordered else " (rows sorted)")
    if len(exp) != len(got):
        return f"{len(exp)} rows expected, {len(got)} returned; {where}"
    if ordered and _same(sort_rows(exp), sort_rows(got), ordered=False):
        return f"same rows in a different order (the gold query orders its result); {where}"
    return f"{len(exp)} rows as expected, different values; {where}"


def preview(rows: Sequence[Sequence[Any]], n: int = PREVIEW_ROWS) -> list[list[Any]]:
    """The first rows as JSON-safe lists (for verdict files and the Rejected view)."""
    out = []
    for row in list(rows)[:n]:
        cells = []
        for v in row:
            if v is None or isinstance(v, (bool, int, float, str)):
                cells.append(v if not (isinstance(v, float) and v != v) else "NaN")
            elif isinstance(v, (bytes, bytearray, memoryview)):
                cells.append("x'" + bytes(v).hex() + "'")
            elif isinstance(v, decimal.Decimal):
                cells.append(float(v))
            else:
                cells.append(str(v))
        out.append(cells)
    return out


def _diff(detail: str, expected: Sequence[Sequence[Any]], got: Sequence[Sequence[Any]]) -> Difference:
    return Difference(detail=detail, expected=preview(expected), got=preview(got))


def compare_states(expected: dict, got: dict) -> Difference | None:
    """Final state of every table and view: same names, and per object the same rows
    (as multisets; column order ignored like result sets). A table with more rows than
    the cap was read only in part, so its state cannot be shown equal: a difference."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        return Difference(f"final state differs: {_kind(expected, missing[0])} {missing[0]} is missing",
                          preview(expected[missing[0]][2]), [])
    if extra:
        return Difference(f"final state differs: unexpected {_kind(got, extra[0])} {extra[0]}",
                          [], preview(got[extra[0]][2]))
    for name in sorted(expected):
        etype, encols, erows, _ = expected[name]
        gtype, gncols, grows, _ = got[name]
        if etype != gtype:
            return Difference(f"final state differs: {name} is a {gtype}, expected a {etype}", [], [])
        if expected[name][3] or got[name][3]:
            return Difference(f"final state cannot be compared: {etype} {name} has more rows than the row cap "
                              f"(max_rows) allows", preview(erows), preview(grows))
        d = compare_results(erows, grows, False, expected_ncols=encols, got_ncols=gncols)
        if d is not None:
            return Difference(f"final state differs in {etype} {name}: {d.detail}", d.expected, d.got)
    return None


def _kind(state: dict, name: str) -> str:
    return state[name][0]
