"""The learning bench's split: fixed seed, disjoint, stratified by sql_complexity."""

from __future__ import annotations

from collections import Counter

from sqlbench.training.splits import complexity, stratified_split


def test_bundled_tasks_split_300_100_in_proportion(bundled_tasks):
    train, held = stratified_split(bundled_tasks, 100, n_train=300, seed=0)
    assert len(held) == 100 and len(train) == 300
    assert not {t.id for t in train} & {t.id for t in held}
    total, h = Counter(map(complexity, bundled_tasks)), Counter(map(complexity, held))
    for stratum, n in total.items():  # each stratum within one task of its proportional share
        assert abs(h[stratum] - 100 * n / len(bundled_tasks)) < 1
    again = stratified_split(bundled_tasks, 100, n_train=300, seed=0)
    assert [t.id for t in again[1]] == [t.id for t in held]
    other = stratified_split(bundled_tasks, 100, n_train=300, seed=1)[1]
    assert {t.id for t in other} != {t.id for t in held}


def test_small_and_degenerate_inputs(bundled_tasks):
    train, held = stratified_split(bundled_tasks[:5], 10)
    assert len(held) == 5 and train == []
    train, held = stratified_split(bundled_tasks[:5], 0)
    assert held == [] and len(train) == 5
