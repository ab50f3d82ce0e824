"""A slice of the mutation battery (bench/judge.py): near misses must be rejected and
equivalent rewrites accepted, on the schema-only Spider/SynSQL samples and the bundled tasks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def judge():
    spec = importlib.util.spec_from_file_location("bench_judge", ROOT / "bench" / "judge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rates(judge, tasks):
    from sqlbench.sqlcheck import Validator

    s = judge.battery(tasks, Validator())["stats"]
    return s, s["false_accept"] / max(1, s["near_misses"]), s["false_reject"] / max(1, s["rewrites"])


def test_mutations_are_what_they_claim(judge):
    gold = "SELECT DISTINCT name FROM t WHERE x > 3 AND y IN (1, 2) ORDER BY name DESC LIMIT 2"
    near = judge.near_misses(gold, {"t": ["id", "name", "x", "y"]})
    assert near["flip_comparison"].count("x < 3") == 1
    assert "y IN" not in near["drop_conjunct"] and "x > 3" in near["drop_conjunct"]
    assert "x > 4" in near["change_literal"]
    assert "DISTINCT" not in near["drop_distinct"]
    assert "ORDER BY name LIMIT 2" in near["flip_order_limit"] or "ORDER BY name ASC LIMIT 2" in near["flip_order_limit"]
    assert '"id"' in near["other_column"]
    same = judge.rewrites(gold)
    assert "3 < x" in same["swap_operands"] and "y = 1 OR y = 2" in same["in_or"]
    assert "AS answer_col_1" in same["aliases"]


@pytest.mark.parametrize("fixture, fmt", [("spider_dev_path", "spider"), ("synsql_path", "synsql")])
def test_goals_hold_on_a_slice_of_the_schema_only_samples(judge, request, fixture, fmt):
    from sqlbench.data.loader import load_tasks

    tasks = load_tasks(request.getfixturevalue(fixture), fmt=fmt, limit=25, shuffle=True, seed=0)
    stats, false_accept, false_reject = _rates(judge, tasks)
    assert stats["near_misses"] >= 30 and stats["rewrites"] >= 30, stats
    assert false_accept <= 0.02, stats
    assert false_reject <= 0.03, stats


def test_bundled_tasks_judge_as_before(judge, bundled_tasks):
    """Contexts with rows keep their own verdicts: rewrites all accepted, and every near
    miss judged as a validator without test databases judges it (none are generated)."""
    from sqlbench.sqlcheck import Validator

    tasks = bundled_tasks[::20]
    stats, false_accept, false_reject = _rates(judge, tasks)
    before = judge.battery(tasks, Validator(test_databases=0))["stats"]
    assert false_reject == 0 and stats["near_misses"] >= 20, stats
    assert stats == before  # the same verdicts as a validator that never generates databases
    v, strict = Validator(), Validator(test_databases_with_rows=True)
    for task in tasks:
        assert v.check(task).reason == "ok" and v._gold(task).tests == [], task.id  # judged on its own rows
    # asked for (--test-databases), the same contexts do get them
    assert sum(bool(strict.check(task).valid and strict._gold(task).tests) for task in tasks) >= len(tasks) // 2
