"""Which tables and columns a query refers to (for the schema reward and the TUI)."""

from __future__ import annotations

from sqlbench.sqlcheck.dialect import PARSE_DIALECTS, parse_budget_ok, parse_statements, split_statements


def referenced_names(sql: str) -> tuple[set[str], set[str]]:
    """Lower-cased (tables, columns) that ``sql`` reads or writes.

    Names the query defines itself (CTE names, output aliases) are left out, so what
    remains is what must exist in the schema. Unparseable SQL gives two empty sets, and
    so does text too long or too deeply nested for sqlglot (see ``parse_budget_ok``).
    """
    from sqlglot import exp

    if not parse_budget_ok(sql):
        return set(), set()

    trees = None
    for d in PARSE_DIALECTS:
        trees = parse_statements(sql, d)
        if trees is not None:
            break
    if trees is None:
        # Several statements sqlglot cannot take together may still parse one by one.
        trees = []
        for stmt in split_statements(sql):
            for d in PARSE_DIALECTS:
                parsed = parse_statements(stmt, d)
                if parsed:
                    trees.extend(parsed)
                    break
    tables: set[str] = set()
    columns: set[str] = set()
    for tree in trees:
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        aliases = {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
        for t in tree.find_all(exp.Table):
            name = t.name.lower()
            if name and name not in ctes:
                tables.add(name)
        for c in tree.find_all(exp.Column):
            name = c.name.lower()
            if not name or name == "*":
                continue
            # An unqualified name equal to an output alias refers to that alias.
            if not c.table and name in aliases:
                continue
            columns.add(name)
        for ident in _insert_columns(tree):
            columns.add(ident)
    return tables, columns


def _insert_columns(tree) -> set[str]:
    """Target columns of INSERT INTO t (a, b): sqlglot keeps them as identifiers."""
    from sqlglot import exp

    out: set[str] = set()
    for ins in tree.find_all(exp.Insert):
        schema = ins.this
        if isinstance(schema, exp.Schema):
            for e in schema.expressions:
                if isinstance(e, exp.Identifier):
                    out.add(e.name.lower())
    return out
