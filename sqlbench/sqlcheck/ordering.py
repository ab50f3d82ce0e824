"""Ties under ORDER BY keys that are not selected.

``SELECT name FROM t ORDER BY age`` leaves rows of equal age in any order, but the result
does not show the ages, so the tied runs cannot be read off it. :func:`key_query` returns
the same query with the ORDER BY expressions appended to its SELECT list; run on the same
database, its rows carry the keys. The caller uses them only when the first columns of
those rows are exactly the gold's rows, in the gold's order: then the runs of equal keys
are the gold's own ties, and an answer that reorders rows only within them is an output
the gold query itself could have returned (no false accept). Anything less certain
(DISTINCT, set operations, stars, USING/NATURAL joins, non-ASCII names, a '+' in ORDER
BY, a query sqlglot cannot round-trip) gives None: the order is then compared strictly.
"""

from __future__ import annotations

from sqlbench.sqlcheck.dialect import _top_level_order_by_text, parse_statements, split_statements

KEY_ALIAS = "sqlbench_order_key_"


def key_query(sql: str) -> tuple[str, int] | None:
    """(the gold with its ORDER BY keys appended to the SELECT list, how many keys), or None."""
    from sqlglot import exp

    stmts = split_statements(sql)
    if len(stmts) != 1:
        return None
    last = stmts[0]
    if not last.isascii() or "+" in (_top_level_order_by_text(last) or ""):
        return None
    trees = parse_statements(last, "sqlite")
    tree = trees[0] if trees and len(trees) == 1 else None
    if not isinstance(tree, exp.Select) or tree.args.get("distinct") or tree.args.get("order") is None:
        return None
    if any(j.args.get("using") or j.args.get("method") for j in tree.args.get("joins") or []):
        return None
    if any(isinstance(p, exp.Star) or isinstance(p.this, exp.Star) for p in tree.expressions):
        return None
    tree = tree.copy()
    keys = []
    for i, ordered in enumerate(tree.args["order"].expressions):
        e = ordered.this
        if isinstance(e, exp.Literal) and e.is_int:
            n = int(e.this) - 1
            if not 0 <= n < len(tree.expressions):
                return None
            body = tree.expressions[n]
            e = body.this if isinstance(body, exp.Alias) else body
        keys.append(exp.alias_(e.copy(), f"{KEY_ALIAS}{i}"))
    tree.set("expressions", list(tree.expressions) + keys)
    try:
        return tree.sql(dialect="sqlite"), len(keys)
    except Exception:  # noqa: BLE001 - a tree sqlglot cannot write back: strict order
        return None
