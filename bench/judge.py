#!/usr/bin/env python3
"""Mutation battery for the judge: does the validator tell near misses from rewrites?

From each gold query (the bundled tasks, the shared Spider dev and SynSQL samples) sqlglot
makes

  * near misses, wrong answers one edit away: a flipped comparison, a dropped conjunct,
    a changed literal, another column, COUNT(*) <-> COUNT(DISTINCT), a dropped DISTINCT,
    ASC <-> DESC under a LIMIT;
  * equivalent rewrites: aliases on the SELECT list, the SELECT list reordered,
    ``a > b`` <-> ``b < a``, ``IN (…)`` <-> ``OR``.

Each is judged by a fresh ``Validator`` (settings of ``validate.*`` defaults).

**Is a near miss really different?** An edit may change nothing (dropping a DISTINCT on
a unique column, COUNT(DISTINCT id) on a key). The battery decides it on its own oracle
databases, independent of the validator's: the context itself plus 6 generated
databases with another seed and fixed sizes (8-20 rows a table; 4 using the gold's
literals, 2 without). A near miss is
*really different* when its rows differ from the gold's as a multiset on at least one
oracle database: that database is a witness, so the decision is sound. One that never
differs is *undecided* and left out of the rates (it may still differ somewhere: we do
not claim it is equivalent). A near miss or rewrite that fails on an oracle database is
left out too (an error is no near miss, and a rewrite sqlglot broke is no rewrite).

  false_accept = near misses really different but judged ``ok`` / near misses really different
  false_reject = rewrites judged anything but ``ok``/``unverified`` / rewrites
  unverified   = answers judged ``unverified`` / answers

The last line is JSON: {"bench": "judge", "false_accept": {dataset: rate}, "false_reject":
{...}, "unverified": {...}, ...}. Goals on Spider/SynSQL: false accept <= 2 %, false reject
<= 3 %; bundled: no regression.

    .venv/bin/python bench/judge.py [--quick] [--limit N]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.datasets import SHARED_DATA as SHARED  # noqa: E402  (../shared/data, or $SQLBENCH_SHARED_DATA)

SOURCES = [("spider", SHARED / "spider-dev.json", "spider"), ("synsql", SHARED / "synsql-sqlr1-test.parquet", "synsql")]
ORACLE_SEED = 7_301  # not the validator's seed
ORACLE_PLAN = {"sizes": (8, 20), "hint_rate": 0.4, "only_read": False}
NEAR_MISSES = ("flip_comparison", "drop_conjunct", "change_literal", "other_column", "count_distinct",
               "drop_distinct", "flip_order_limit")
REWRITES = ("aliases", "reorder_select", "swap_operands", "in_or")


# ---- mutations ---------------------------------------------------------------------------
def _parse(sql: str):
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, read="sqlite")
    except Exception:  # noqa: BLE001 - a gold sqlglot cannot read gets no mutants
        return None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1 or not isinstance(trees[0], (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        return None
    return trees[0]


def _sql(tree) -> str | None:
    try:
        return tree.sql(dialect="sqlite")
    except Exception:  # noqa: BLE001
        return None


_FLIP = {"GT": "LT", "LT": "GT", "GTE": "LTE", "LTE": "GTE", "EQ": "NEQ", "NEQ": "EQ"}
_MIRROR = {"GT": "LT", "LT": "GT", "GTE": "LTE", "LTE": "GTE", "EQ": "EQ", "NEQ": "NEQ"}


def _filters(tree):
    """Comparisons inside WHERE/HAVING clauses, in document order."""
    from sqlglot import exp

    out = []
    for clause in tree.find_all(exp.Where, exp.Having):
        out += [n for n in clause.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ, exp.NEQ)]
    return out


def _attempt(base, out: dict[str, str], kind: str, edit) -> None:
    """Apply ``edit`` to a copy of the gold's tree; keep the SQL as ``out[kind]`` when it edits."""
    tree = base.copy()
    try:
        if edit(tree):
            sql = _sql(tree)
            if sql:
                out[kind] = sql
    except Exception:  # noqa: BLE001 - an edit sqlglot refuses: no mutant of that kind
        pass


def near_misses(gold: str, schema: dict[str, list[str]]) -> dict[str, str]:
    from sqlglot import exp

    out: dict[str, str] = {}
    base = _parse(gold)
    if base is None:
        return out

    attempt = functools.partial(_attempt, base, out)

    def flip(tree):
        for node in _filters(tree):
            new = getattr(exp, _FLIP[type(node).__name__])(this=node.this.copy(), expression=node.expression.copy())
            node.replace(new)
            return True
        return False

    def drop_conjunct(tree):
        for where in tree.find_all(exp.Where):
            node = where.this
            while isinstance(node, exp.Paren):
                node = node.this
            if isinstance(node, exp.And):
                node.replace(node.this.copy())
                return True
        return False

    def change_literal(tree):
        for clause in tree.find_all(exp.Where, exp.Having):
            for lit in clause.find_all(exp.Literal):
                if lit.is_string:
                    lit.replace(exp.Literal.string(lit.this + "x"))
                else:
                    try:
                        v = float(lit.this)
                    except ValueError:
                        continue
                    lit.replace(exp.Literal.number(int(v) + 1 if v.is_integer() else round(v * 1.1 + 0.1, 4)))
                return True
        return False

    def other_column(tree):
        select = tree if isinstance(tree, exp.Select) else None
        if select is None:
            return False
        aliases = {(t.alias_or_name or "").lower(): (t.name or "").lower() for t in tree.find_all(exp.Table)}
        used = {c.name.lower() for c in select.find_all(exp.Column)}
        for proj in select.expressions:
            for col in proj.find_all(exp.Column):
                tables = [aliases.get(col.table.lower(), col.table.lower())] if col.table else list(aliases.values())
                for t in tables:
                    cols = schema.get(t, [])
                    if col.name.lower() not in [c.lower() for c in cols]:
                        continue
                    for other in cols:
                        if other.lower() not in used:
                            col.set("this", exp.to_identifier(other, quoted=True))
                            return True
        return False

    def count_distinct(tree):
        for count in tree.find_all(exp.Count):
            arg = count.this
            if isinstance(arg, exp.Distinct):
                count.set("this", exp.Star())
                return True
            if isinstance(arg, exp.Star):
                col = next((c for c in tree.find_all(exp.Column)), None)
                if col is None:
                    return False
                count.set("this", exp.Distinct(expressions=[col.copy()]))
                return True
            if isinstance(arg, exp.Column):
                count.set("this", exp.Distinct(expressions=[arg.copy()]))
                return True
        return False

    def drop_distinct(tree):
        for select in tree.find_all(exp.Select):
            if select.args.get("distinct"):
                select.set("distinct", None)
                return True
        return False

    def flip_order_limit(tree):
        if not tree.args.get("limit") or not tree.args.get("order"):
            return False
        first = tree.args["order"].expressions[0]
        desc = not first.args.get("desc")
        first.set("desc", desc)
        first.set("nulls_first", not desc)  # SQLite's own NULL placement for the new direction
        return True

    for kind, edit in (("flip_comparison", flip), ("drop_conjunct", drop_conjunct),
                       ("change_literal", change_literal), ("other_column", other_column),
                       ("count_distinct", count_distinct), ("drop_distinct", drop_distinct),
                       ("flip_order_limit", flip_order_limit)):
        attempt(kind, edit)
    return out


def rewrites(gold: str) -> dict[str, str]:
    from sqlglot import exp

    out: dict[str, str] = {}
    base = _parse(gold)
    if base is None:
        return out

    attempt = functools.partial(_attempt, base, out)

    def aliases(tree):
        if not isinstance(tree, exp.Select):
            return False
        done = False
        for i, proj in enumerate(list(tree.expressions)):
            if isinstance(proj, (exp.Alias, exp.Star)) or isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
                continue
            proj.replace(exp.alias_(proj.copy(), f"answer_col_{i + 1}"))
            done = True
        return done

    def reorder(tree):
        if not isinstance(tree, exp.Select) or len(tree.expressions) < 2:
            return False
        if any(isinstance(p, exp.Star) or isinstance(p, exp.Column) and isinstance(p.this, exp.Star)
               for p in tree.expressions):
            return False
        for clause in ("order", "group"):
            node = tree.args.get(clause)
            if node is not None and any(isinstance(e, exp.Literal) or isinstance(e, exp.Ordered)
                                        and isinstance(e.this, exp.Literal) for e in node.expressions):
                return False  # ordinals would follow the new order
        tree.set("expressions", list(reversed([e.copy() for e in tree.expressions])))
        return True

    def swap(tree):
        for node in tree.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ, exp.NEQ):
            if node.find_ancestor(exp.Where, exp.Having, exp.Join) is None:
                continue
            new = getattr(exp, _MIRROR[type(node).__name__])(this=node.expression.copy(), expression=node.this.copy())
            node.replace(new)
            return True
        return False

    def in_or(tree):
        for node in tree.find_all(exp.In):
            if node.args.get("query") or not node.expressions or isinstance(node.parent, exp.Not):
                continue
            ors = None
            for item in node.expressions:
                eq = exp.EQ(this=node.this.copy(), expression=item.copy())
                ors = eq if ors is None else exp.Or(this=ors, expression=eq)
            node.replace(exp.Paren(this=ors))
            return True
        for node in tree.find_all(exp.Or):
            parts = list(node.flatten())
            if len(parts) >= 2 and all(isinstance(p, exp.EQ) and isinstance(p.expression, exp.Literal) for p in parts) \
                    and len({p.this.sql() for p in parts}) == 1 and isinstance(parts[0].this, exp.Column):
                node.replace(exp.In(this=parts[0].this.copy(), expressions=[p.expression.copy() for p in parts]))
                return True
        return False

    for kind, edit in (("aliases", aliases), ("reorder_select", reorder), ("swap_operands", swap), ("in_or", in_or)):
        attempt(kind, edit)
    return out


# ---- the oracle ------------------------------------------------------------------------
def _built_image(context: str) -> bytes | None:
    from sqlbench.sqlcheck.dialect import split_statements

    conn = sqlite3.connect(":memory:")
    try:
        for stmt in split_statements(context):
            conn.execute(stmt)
        return conn.serialize()
    except Exception:  # noqa: BLE001 - contexts SQLite cannot build are left out of the battery
        return None
    finally:
        conn.close()


def oracle_images(context_image: bytes, gold: str) -> list[bytes]:
    from sqlbench.sqlcheck import testdb

    # Fixed parameters, not the generator's defaults: tuning the validator's databases
    # must not move the yardstick. Every column is drawn in full (columns=None), the
    # columns the gold never names too, which the validator's databases draw cheaply.
    hints = dataclasses.replace(testdb.gold_hints(gold), columns=None)
    return ([context_image] + testdb.build(context_image, hints, k=4, seed=ORACLE_SEED, **ORACLE_PLAN)
            + testdb.build(context_image, testdb.NO_HINTS, k=2, seed=ORACLE_SEED + 1, **ORACLE_PLAN))


def _run(image: bytes, sql: str, deadline_s: float = 2.0):
    conn = sqlite3.connect(":memory:")
    conn.deserialize(image)
    end = time.monotonic() + deadline_s
    conn.set_progress_handler(lambda: time.monotonic() > end, 5000)
    try:
        cur = conn.execute(sql)
        return cur.fetchmany(5001) if cur.description else None
    except Exception:  # noqa: BLE001
        return "error"
    finally:
        conn.close()


def really_different(golds: list, images: list[bytes], sql: str) -> bool | None:
    """True when the rows differ (as multisets) from the gold's on some oracle database,
    False when they never do, None when the SQL fails on one."""
    from sqlbench.sqlcheck.compare import compare_results

    different = False
    for image, gold_rows in zip(images, golds):
        rows = _run(image, sql)
        if rows == "error" or rows is None:
            return None
        if compare_results(gold_rows, rows, False) is not None:
            different = True
    return different


def schema_of(image: bytes) -> dict[str, list[str]]:
    from sqlbench.sqlcheck import testdb

    conn = sqlite3.connect(":memory:")
    conn.deserialize(image)
    try:
        return {t.name.lower(): [c.name for c in t.columns] for t in testdb.read_schema(conn)}
    finally:
        conn.close()


# ---- the battery -----------------------------------------------------------------------
def load_sources(n_bundled: int | None, n_shared: int | None) -> dict[str, list]:
    from sqlbench.data.loader import DEFAULT_DATASET, load_tasks

    out: dict[str, list] = {}
    if DEFAULT_DATASET.is_file():
        out["bundled"] = load_tasks(limit=n_bundled, shuffle=n_bundled is not None, seed=0)
    for name, path, fmt in SOURCES:
        if path.is_file():
            out[name] = load_tasks(path, fmt=fmt, limit=n_shared, shuffle=True, seed=0)
        else:
            print(f"{path} not found: {name} skipped", file=sys.stderr)
    return out


def battery(tasks, validator) -> dict:
    stats = Counter()
    by_kind: dict[str, Counter] = {}
    examples: list[str] = []
    for task in tasks:
        image = _built_image(task.context)
        if image is None:
            continue
        images = oracle_images(image, task.gold_sql)
        gold_rows = [_run(img, task.gold_sql) for img in images]
        if any(r == "error" or r is None for r in gold_rows):
            continue  # DML/DDL golds and golds SQLite cannot run are not mutated
        stats["tasks"] += 1
        schema = schema_of(image)
        for kind, sql in near_misses(task.gold_sql, schema).items():
            diff = really_different(gold_rows, images, sql)
            c = by_kind.setdefault(kind, Counter())
            if diff is None:
                c["broken"] += 1
                continue
            verdict = validator.check(task, sql)
            stats["answers"] += 1
            stats["unverified"] += verdict.reason == "unverified"
            if not diff:
                c["undecided"] += 1
                continue
            c["different"] += 1
            stats["near_misses"] += 1
            if verdict.reason == "ok":
                c["accepted"] += 1
                stats["false_accept"] += 1
                if len(examples) < 5:
                    examples.append(f"{kind}: {sql[:160]}")
        for kind, sql in rewrites(task.gold_sql).items():
            diff = really_different(gold_rows, images, sql)
            c = by_kind.setdefault(kind, Counter())
            if diff is None or diff:
                c["broken"] += 1  # not an equivalent rewrite after all (sqlglot changed it)
                continue
            verdict = validator.check(task, sql)
            stats["answers"] += 1
            stats["unverified"] += verdict.reason == "unverified"
            stats["rewrites"] += 1
            c["rewrites"] += 1
            if verdict.reason not in ("ok", "unverified"):
                c["rejected"] += 1
                stats["false_reject"] += 1
                if len(examples) < 10:
                    examples.append(f"REJECTED {kind} ({verdict.detail[:80]}): {sql[:160]}")
    return {"stats": stats, "by_kind": by_kind, "examples": examples}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a slice of each dataset (well under 45 s)")
    ap.add_argument("--limit", type=int, default=None, help="tasks per shared dataset (default 300; quick 40)")
    ap.add_argument("--only", action="append", help="only this dataset (bundled, spider, synsql); repeatable")
    args = ap.parse_args(argv)
    from sqlbench.sqlcheck import Validator

    n_shared = args.limit or (40 if args.quick else 300)
    n_bundled = 60 if args.quick else None
    t0 = time.perf_counter()
    sources = load_sources(n_bundled, n_shared)
    result: dict = {"bench": "judge", "false_accept": {}, "false_reject": {}, "unverified": {}}
    detail: dict = {}
    for name, tasks in sources.items():
        if args.only and name not in args.only:
            continue
        out = battery(tasks, Validator())
        s = out["stats"]
        result["false_accept"][name] = _rate(s["false_accept"], s["near_misses"])
        result["false_reject"][name] = _rate(s["false_reject"], s["rewrites"])
        result["unverified"][name] = _rate(s["unverified"], s["answers"])
        detail[name] = {"tasks": s["tasks"], "near_misses": s["near_misses"], "rewrites": s["rewrites"],
                        "by_kind": {k: dict(v) for k, v in sorted(out["by_kind"].items())}}
        print(f"{name:8s} {s['tasks']} tasks: {s['near_misses']} near misses really different, "
              f"{s['false_accept']} accepted; {s['rewrites']} rewrites, {s['false_reject']} rejected; "
              f"{s['unverified']}/{s['answers']} unverified", file=sys.stderr)
        for kind, c in sorted(out["by_kind"].items()):
            print(f"    {kind:18s} {dict(c)}", file=sys.stderr)
        for line in out["examples"]:
            print(f"    e.g. {line}", file=sys.stderr)
    result["detail"] = detail
    result["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
