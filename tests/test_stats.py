"""Wilson intervals and the exact McNemar test, against values computed by hand."""

from __future__ import annotations

import pytest

from sqlbench.stats import mcnemar, wilson


def test_wilson_interval():
    lo, hi = wilson(0, 40)
    assert lo == 0.0 and hi == pytest.approx(0.0876, abs=1e-3)  # "0 % correct" still allows ~9 %
    lo, hi = wilson(50, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-3), pytest.approx(0.5962, abs=1e-3))
    assert wilson(0, 0) == (0.0, 1.0)


def test_exact_mcnemar():
    a = [True] * 10 + [False] * 10
    b = [True] * 10 + [True] * 8 + [False] * 2  # 8 tasks only B solved, none only A
    r = mcnemar(a, b)
    assert (r["a_only"], r["b_only"]) == (0, 8) and r["p"] == pytest.approx(2 / 2 ** 8)
    assert mcnemar(a, a)["p"] == 1.0
    assert mcnemar([True, False], [False, True])["p"] == 1.0
    with pytest.raises(ValueError):
        mcnemar([True], [True, False])
