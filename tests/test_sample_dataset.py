"""The bundled dataset: every gold query is valid under the validator, and the shared
real samples' golds execute on their schema-only databases."""

from collections import Counter

import pytest

from sqlbench.sqlcheck import Validator


def test_every_bundled_gold_is_valid(bundled_tasks):
    v = Validator(timeout=2.0)
    bad = [(t.id, r.reason, r.detail) for t in bundled_tasks for r in [v.check(t)] if not r.valid]
    assert bad == []
    # The gold, handed in as a candidate answer, matches itself (result and final state).
    bad = [(t.id, r.reason, r.detail) for t in bundled_tasks for r in [v.check(t, t.gold_sql)] if not r.valid]
    assert bad == []


def test_bundled_dataset_covers_the_issue(bundled_tasks):
    assert len(bundled_tasks) >= 300
    domains = Counter(t.metadata.get("domain") for t in bundled_tasks)
    assert len(domains) >= 8
    golds = " ".join(t.gold_sql.upper() for t in bundled_tasks)
    for word in ("GROUP BY", "HAVING", "JOIN", "OVER (", "INSERT", "UPDATE", "DELETE", "CREATE VIEW"):
        assert word in golds, word


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["spider", "synsql"])
def test_shared_sample_golds_execute(name, request):
    from sqlbench.data.loader import load_tasks

    path = request.getfixturevalue(f"{'spider_dev' if name == 'spider' else 'synsql'}_path")
    tasks = load_tasks(path, fmt=name, limit=300, shuffle=True, seed=1)
    v = Validator(timeout=2.0)
    reasons = Counter(v.check(t).reason for t in tasks)
    # Schema-only contexts: a gold that selects nothing on any generated test database runs,
    # but cannot tell answers apart (unverified); it must never fail.
    rate = (reasons["ok"] + reasons["unverified"]) / len(tasks)
    print(f"{name}: executable gold {rate:.1%} {dict(reasons)}")
    assert rate >= 0.98, reasons
    assert reasons["ok"] / len(tasks) >= 0.85, reasons
