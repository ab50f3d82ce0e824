"""Test databases for schema-only contexts (in the spirit of Spider's test-suite accuracy).

A context that is only CREATE TABLE statements has no rows, so almost every query
returns nothing and a wrong answer looks right. From the context's schema (read back
from the SQLite database the DDL built: declared types, primary keys, NOT NULL, foreign
keys) this module fills K small databases, deterministically from a seed:

* primary keys are unique; a foreign key's values are drawn from its parent's rows;
  NOT NULL columns always get a value, nullable ones sometimes NULL (not in database 0);
* values come partly from what the gold query uses (:func:`gold_hints`): the literals
  it compares a column with (and their neighbours, so ``>`` and ``>=`` differ), LIKE
  patterns instantiated, columns it joins (drawn from each other's values), and columns
  it orders by (distinct values, so ties do not decide which rows a LIMIT keeps, unless
  it also groups by them);
* each row of a table the gold filters meets every comparison the gold makes with a
  literal on that table, or all but one (missed at the boundary, or by NULL), or is drawn
  freely: a dropped, flipped or changed condition then meets a row that tells;
* columns a window function partitions by get few values, a "top N" gold (``rank <= N``,
  ``LIMIT N``) more rows than N, and a parent the gold groups a read table by full size;
* the rest comes from small per-column pools drawn with a skew (Zipf-like, in an order of
  each database's own), so GROUP BY, DISTINCT and COUNT(DISTINCT) meet duplicates and
  groups differ in size; table sizes differ between databases;
* a column the gold never names (no key, no link, no ``*`` or NATURAL JOIN in the gold)
  cannot change the gold's result: its pool's values are picked uniformly, by the bits of
  the random draws the skewed path would have taken, so the named columns get the values
  they would get if every column were drawn in full;
* only the tables the gold reads (and the parents they reference) are filled: the others
  cannot change the gold's result, and leaving them as the context had them keeps
  generation cheap.

Rows are inserted with ``INSERT OR IGNORE``: a row that breaks a UNIQUE, CHECK or NOT
NULL constraint is dropped, a table that cannot be filled at all stays empty. A schema
the generator cannot fill (an unknown type, a circular NOT NULL foreign key) therefore
gives fewer rows, never an error. Everything here is trusted code on copies of an
already built image; no model-written SQL runs on these connections.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import itertools
import random
import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

DEFAULT_SEED = 20_200_521  # any fixed number: the databases must not change between runs
MIN_ROWS, MAX_ROWS = 16, 36  # rows of a table the gold reads (others get a few)
OTHER_ROWS = (2, 4)
NULL_RATE = 0.12
HINT_RATE = 0.65  # share of a hinted column's values taken from the gold's literals
TOP_ROWS = 60  # at most this many rows for a "top N" gold
MEET_ALL, MISS_ONE = 0.4, 0.35  # rows meeting every literal comparison of their table / all but one
NULL_BYTE = round(NULL_RATE * 256)  # a random byte below it: NULL


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    notnull: bool
    pk: int  # position in the primary key (1-based), 0 when not part of it


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str | None, ...]  # None: the parent's primary key


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def pk(self) -> tuple[str, ...]:
        return tuple(c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk))


@dataclass(frozen=True)
class Hints:
    """What the gold query uses, by lower-cased column name."""

    literals: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # LIKE/GLOB patterns
    joins: tuple[tuple[str, str, str, str], ...] = ()  # (table, column, table, column), lower-cased
    ordered: frozenset[str] = frozenset()  # columns the gold orders by
    tables: frozenset[str] = frozenset()  # tables (and CTE names) the gold reads
    # (column, operator, value) of each comparison with a literal: "=", "<>", "<", "<=",
    # ">", ">=", "like" (value: the pattern) or "between" (value: (low, high))
    predicates: tuple[tuple[str, str, Any], ...] = ()
    partitioned: frozenset[str] = frozenset()  # columns a window function partitions by
    grouped: frozenset[str] = frozenset()  # columns the gold groups or partitions by
    top: int = 0  # the largest N of a "rank <= N" on a window function's result (or a LIMIT N)
    most_rows: int = 0  # at most this many rows in the gold's result (0: no bound known)
    # every column name the gold names (None: it may read columns it does not name, by a *
    # or a NATURAL JOIN, or it did not parse)
    columns: frozenset[str] | None = None

    def key(self) -> tuple:
        return (tuple(sorted((k, tuple(map(repr, v))) for k, v in self.literals.items())),
                tuple(sorted(self.patterns.items())), tuple(sorted(self.joins)), tuple(sorted(self.ordered)),
                tuple(sorted(self.tables)), tuple(sorted(map(repr, self.predicates))), tuple(sorted(self.partitioned)),
                self.top, tuple(sorted(self.grouped)), self.most_rows,
                None if self.columns is None else tuple(sorted(self.columns)))


NO_HINTS = Hints()


# ---- reading a schema -------------------------------------------------------------------
def read_schema(conn: sqlite3.Connection) -> list[Table]:
    """The ordinary tables of a database (no views, no sqlite_ internals, no virtual
    tables) with their columns and foreign keys."""
    tables = []
    names = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table' "
                         "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid").fetchall()
    for name, sql in names:
        if sql and re.match(r"\s*create\s+virtual\b", sql, re.I):
            continue
        q = _quote(name)
        cols = tuple(Column(r[1], (r[2] or "").upper(), bool(r[3]), int(r[5]))
                     for r in conn.execute(f"PRAGMA table_info({q})").fetchall())
        fks: dict[int, list] = {}
        for r in conn.execute(f"PRAGMA foreign_key_list({q})").fetchall():
            fks.setdefault(r[0], []).append((r[1], r[2], r[3], r[4]))  # seq order as listed
        fk_list = tuple(ForeignKey(tuple(p[2] for p in parts), parts[0][1], tuple(p[3] for p in parts))
                        for parts in fks.values())
        if cols:
            tables.append(Table(name, cols, fk_list))
    return tables


def has_rows(conn: sqlite3.Connection) -> bool:
    for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall():
        try:
            if conn.execute(f"SELECT 1 FROM {_quote(name)} LIMIT 1").fetchone():
                return True
        except sqlite3.Error:
            continue
    return False


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- what the gold uses -----------------------------------------------------------------
def gold_hints(sql: str) -> Hints:
    """Literals, LIKE patterns, join pairs and ORDER BY columns of a query (sqlglot,
    SQLite dialect first); NO_HINTS when it does not parse."""
    from sqlbench.sqlcheck.dialect import parse_statements

    stmts = None
    for dialect in ("sqlite", "mysql", "postgres"):
        stmts = parse_statements(sql, dialect)
        if stmts:
            break
    if not stmts:
        return NO_HINTS
    from sqlglot import exp

    literals: dict[str, list] = {}
    patterns: dict[str, list] = {}
    joins: set[tuple[str, str, str, str]] = set()
    ordered: set[str] = set()
    tables: set[str] = set()
    predicates: list[tuple[str, str, Any]] = []
    partitioned: set[str] = set()
    grouped: set[str] = set()
    named: set[str] | None = set()
    top = 0
    for tree in stmts:
        if tree is None:
            continue
        # one walk of the tree, sorting its nodes by kind, instead of a walk per kind (the
        # walks were two thirds of the cost of hints); each kind keeps the walk's order
        found = _by_kind(tree)

        def of(kind: str) -> list:
            return found.get(kind, [])

        if named is not None:  # USING's columns are added with the joins below
            named |= {c.name.lower() for c in of("column")}
            if any(not isinstance(star.parent, exp.Count) for star in of("star")) \
                    or any(node.text("method").upper() == "NATURAL" for node in of("join")):
                named = None  # the gold reads columns it does not name
        aliases = {}
        for t in of("table"):
            aliases[(t.alias_or_name or "").lower()] = (t.name or "").lower()
            tables.add((t.name or "").lower())

        def unwrap(node):
            while isinstance(node, (exp.Cast, exp.Lower, exp.Upper, exp.Trim, exp.Paren, exp.Abs, exp.Round)):
                node = node.this
            return node

        def column_of(node):
            node = unwrap(node)
            return node if isinstance(node, exp.Column) and node.name else None

        def dq_string(node) -> bool:
            # SQLite reads an unqualified "double-quoted" word that names no column as a
            # string, and Spider's golds are full of them ("Kyle")
            node = unwrap(node)
            return isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier) \
                and node.this.quoted

        def add_literal(col, lit, op: str | None = None, node=None) -> None:
            value = unwrap(lit).name if dq_string(lit) else _literal_value(lit)
            if value is not None:
                literals.setdefault(col.name.lower(), []).append(value)
                if op is not None:
                    predicates.append((col.name.lower(), _negated(op) if _under_not(node) else op, value))

        for cmp in of("comparison"):
            a, b = cmp.this, cmp.expression
            ca, cb = column_of(a), column_of(b)
            op = _OPS.get(type(cmp).__name__, "like")
            if ca is not None and cb is not None:
                if dq_string(b) or dq_string(a):
                    col, other = (ca, b) if dq_string(b) else (cb, a)
                    add_literal(col, other, op if col is ca else _MIRROR.get(op, op), cmp)
                elif isinstance(cmp, exp.EQ):
                    joins.add((aliases.get(ca.table.lower(), ca.table.lower()), ca.name.lower(),
                               aliases.get(cb.table.lower(), cb.table.lower()), cb.name.lower()))
                continue
            col, other = (ca, b) if ca is not None else (cb, a)
            if col is None:
                continue
            if isinstance(cmp, (exp.Like, exp.ILike, exp.Glob)):
                if isinstance(other, exp.Literal) and other.is_string:
                    pattern = ("glob:" if isinstance(cmp, exp.Glob) else "") + other.this
                    patterns.setdefault(col.name.lower(), []).append(pattern)
                    predicates.append((col.name.lower(), "not like" if _under_not(cmp) else "like", pattern))
                continue
            if isinstance(other, (exp.Literal, exp.Neg)):
                add_literal(col, other, op if col is ca else _MIRROR.get(op, op), cmp)
        for node in of("in"):
            col = column_of(node.this)
            if col is not None:
                for item in node.expressions:
                    add_literal(col, item, "=", node)
        for node in of("between"):
            col = column_of(node.this)
            if col is not None:
                add_literal(col, node.args.get("low"))
                add_literal(col, node.args.get("high"))
                low, high = _literal_value(node.args.get("low")), _literal_value(node.args.get("high"))
                if low is not None and high is not None:
                    predicates.append((col.name.lower(), "not between" if _under_not(node) else "between",
                                       (low, high)))
        for node in of("join"):
            for col_name in node.args.get("using") or []:
                name = getattr(col_name, "name", None) or str(col_name)
                joins.add(("", name.lower(), "", name.lower()))
                if named is not None:
                    named.add(name.lower())
        for order in of("ordered"):
            for col in order.find_all(exp.Column):
                ordered.add(col.name.lower())
        for group in of("group"):
            for col in group.find_all(exp.Column):
                grouped.add(col.name.lower())
        # "top N per group": the data needs partitions with more than N rows
        ranks = set()
        for window in of("window"):
            for part in window.args.get("partition_by") or []:
                for col in part.find_all(exp.Column):
                    partitioned.add(col.name.lower())
            if isinstance(window.parent, exp.Alias):
                ranks.add(window.parent.alias.lower())
        for cname, op, value in predicates:
            if cname in ranks and op in ("<", "<=", "=") and isinstance(value, int) and 0 < value < 100:
                top = max(top, value)
        for limit in of("limit"):
            value = _literal_value(limit.expression)
            if isinstance(value, int) and 0 < value < 100:
                top = max(top, value)
    return Hints({k: tuple(dict.fromkeys(v)) for k, v in literals.items()},
                 {k: tuple(dict.fromkeys(v)) for k, v in patterns.items()}, tuple(sorted(joins)), frozenset(ordered),
                 frozenset(tables), tuple(dict.fromkeys(predicates)), partitioned=frozenset(partitioned), top=top,
                 grouped=frozenset(grouped | partitioned), most_rows=_most_rows(stmts),
                 columns=None if named is None else frozenset(named))


def _kinds() -> dict[str, tuple]:
    from sqlglot import exp

    return {"table": (exp.Table,), "in": (exp.In,), "between": (exp.Between,), "join": (exp.Join,),
            "ordered": (exp.Ordered,), "group": (exp.Group,), "window": (exp.Window,), "limit": (exp.Limit,),
            "column": (exp.Column,), "star": (exp.Star,),
            "comparison": (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.Glob)}


@functools.lru_cache(maxsize=None)  # one entry per sqlglot node class
def _kinds_of(cls: type) -> tuple[str, ...]:
    return tuple(kind for kind, classes in _kinds().items() if issubclass(cls, classes))


def _by_kind(tree) -> dict[str, list]:
    """The nodes of a tree that :func:`gold_hints` reads, by kind, in breadth-first order
    (each list as ``tree.find_all`` of the kind's classes would give it)."""
    found: dict[str, list] = {}
    for node in tree.walk():
        for kind in _kinds_of(type(node)):
            found.setdefault(kind, []).append(node)
    return found


def _most_rows(stmts: list) -> int:
    """A bound on the rows one SELECT returns, 0 when none is known: 1 for an aggregate
    without GROUP BY, else the N of its own LIMIT N."""
    from sqlglot import exp

    if len(stmts) != 1 or not isinstance(stmts[0], exp.Select):
        return 0
    tree = stmts[0]
    if not tree.args.get("group") and any(_aggregates(p) for p in tree.expressions):
        return 1
    limit = tree.args.get("limit")
    n = _literal_value(limit.expression) if isinstance(limit, exp.Limit) else None
    return n if isinstance(n, int) and n > 0 else 0


def _aggregates(node) -> bool:
    """Whether an expression aggregates its query's rows (not a window's, nor a subquery's;
    SQLite's two-argument max/min are scalar)."""
    from sqlglot import exp

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (exp.Window, exp.Subquery, exp.Select)):
            continue
        if isinstance(n, exp.AggFunc) and not (isinstance(n, (exp.Max, exp.Min)) and n.expressions):
            return True
        stack.extend(n.iter_expressions())
    return False


_OPS = {"EQ": "=", "NEQ": "<>", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}
_MIRROR = {">": "<", "<": ">", ">=": "<=", "<=": ">="}  # the literal on the left
_NEGATED = {"=": "<>", "<>": "=", ">": "<=", "<=": ">", "<": ">=", ">=": "<"}


def _negated(op: str) -> str:
    return _NEGATED.get(op, op)


def _under_not(node) -> bool:
    """Whether a NOT (directly, or around its parentheses) negates the comparison."""
    from sqlglot import exp

    if node is None:
        return False
    if node.args.get("negate"):  # NOT LIKE, NOT BETWEEN in some sqlglot versions
        return True
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Not)


def _literal_value(node) -> Any:
    from sqlglot import exp

    if node is None:
        return None
    neg = False
    if isinstance(node, exp.Neg):
        neg, node = True, node.this
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return node.this if not neg else None
    try:
        value = float(node.this)
    except ValueError:
        return None
    if value.is_integer() and re.fullmatch(r"[0-9]+", node.this):
        value = int(node.this)
    return -value if neg else value


# ---- generating rows ----------------------------------------------------------------
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _kind(col: Column) -> str:
    """SQLite's affinity rules, with dates and booleans told apart by type or name."""
    t, n = col.type, col.name.lower()
    if "BOOL" in t:
        return "bool"
    if "INT" in t:
        return "int"
    if "DATE" in t or "TIME" in t:
        return "datetime" if ("TIME" in t and "DATE" in t) or "STAMP" in t else "date"
    if any(w in t for w in ("CHAR", "CLOB", "TEXT", "STRING")):
        if n.endswith("date") or n.endswith("_at") or n.endswith("_on") or n == "date":
            return "date"
        return "text"
    if "BLOB" in t:
        return "blob"
    if any(w in t for w in ("REAL", "FLOA", "DOUB", "DEC", "NUM", "MONEY")):
        return "real" if "NUM" not in t else "num"
    if not t:
        return "num"
    return "text"  # an unknown type: text is what SQLite stores it as anyway


def _expand(value: Any, kind: str) -> list[Any]:
    """A literal and its neighbours, so that strict and non-strict comparisons differ."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (int, float)):
        out = [value, value + 1, value - 1]
        if isinstance(value, float) and not value.is_integer():
            step = max(abs(value) * 0.05, 0.01)
            out += [round(value + step, 6), round(value - step, 6), round(value + 0.5, 6), round(value - 0.5, 6)]
        return out
    if isinstance(value, str):
        m = _DATE.match(value)
        if m and kind in ("date", "datetime", "text", "num"):
            try:
                d = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return [value]
            rest = value[10:]
            return [value] + [(d + _dt.timedelta(days=k)).isoformat() + rest for k in (1, -1, 366)]
        if kind in ("int", "real", "num"):
            try:
                return _expand(float(value) if "." in value else int(value), kind)
            except ValueError:
                return [value]
        return [value]
    return [value]


def _from_pattern(pattern: str) -> list[str]:
    glob = pattern.startswith("glob:")
    p = pattern[5:] if glob else pattern
    many, one = ("*", "?") if glob else ("%", "_")
    if glob and "[" in p:
        return []
    filler = ("", "x", "ab")
    out = []
    for fill in filler:
        s = "".join(fill if ch == many else ("y" if ch == one else ch) for ch in p)
        out.append(s)
    # a near miss of the pattern too: its fixed text changed
    core = p.replace(many, "").replace(one, "")
    if core:
        out.append(core[::-1] + "z")
    return list(dict.fromkeys(out))


@functools.lru_cache(maxsize=4096)
def _label(name: str) -> str:
    """A column's name as the stem of the text values made up for it."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip() or "v"


def _pool(col: Column, kind: str, rng: random.Random, size: int, hints: list[Any]) -> list[Any]:
    label = _label(col.name)
    if kind == "bool":
        return [0, 1]
    if kind in ("int", "num"):
        nums = [h for h in hints if isinstance(h, (int, float))]
        if nums:
            lo, hi = min(nums), max(nums)
            span = max(2, int(abs(hi - lo)) + 4, int(abs(hi) // 4) + 2)
            width = 2 * span + int(hi - lo) + 1
            base = [int(lo) - span + int(rng.random() * width) for _ in range(size)]
        else:
            width = 20 + size
            base = [1 + int(x * width) for x in list(_rands(rng.random, size))]
        return list(dict.fromkeys(base)) or [1]
    if kind == "real":
        nums = [h for h in hints if isinstance(h, (int, float))]
        center = (sum(nums) / len(nums)) if nums else 50.0
        spread = max(5.0, abs(center))
        return list(dict.fromkeys(round(center + rng.uniform(-spread, spread), 2) for _ in range(size)))
    if kind in ("date", "datetime"):
        years = [int(h) for h in hints if isinstance(h, int) and 1900 < h < 2200]
        dates = [h for h in hints if isinstance(h, str) and _DATE.match(h)]
        out = []
        for _ in range(size):
            if dates and rng.random() < 0.5:
                d0 = _dt.date.fromisoformat(rng.choice(dates)[:10])
                d = d0 + _dt.timedelta(days=_randint(rng, -400, 400))
            else:
                year = rng.choice(years) if years else _randint(rng, 2015, 2024)
                d = _dt.date(year, _randint(rng, 1, 12), _randint(rng, 1, 28))
            out.append(d.isoformat() + (f" {_randint(rng, 0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
                                        if kind == "datetime" else ""))
        return list(dict.fromkeys(out))
    if kind == "blob":
        return [bytes([rng.randrange(256) for _ in range(4)]) for _ in range(size)]
    # f"{label} {word} {1 + int(random() * 9)}" for each word of rng.choices(_WORDS, k=size),
    # draw for draw (choices picks _WORDS[floor(random() * 10)]), from a table of the 90
    xs = list(_rands(rng.random, 2 * size))
    texts = _texts(label)
    return list(dict.fromkeys([texts[int(xs[i] * 10) * 9 + int(xs[size + i] * 9)] for i in range(size)]))


_WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango", "zulu")


@functools.lru_cache(maxsize=1024)
def _texts(label: str) -> tuple[str, ...]:
    """The 90 text values a column labelled ``label`` is made of, word-major."""
    return tuple(f"{label} {w} {d}" for w in _WORDS for d in range(1, 10))


def _unique_values(col: Column, kind: str, rng: random.Random, n: int, hints: list[Any]) -> list[Any]:
    """n distinct values (a primary key, or a column the gold orders by)."""
    out: list[Any] = []
    seen = set()
    for h in hints:
        if len(out) < n // 2 and h not in seen:
            seen.add(h)
            out.append(h)
    start = rng.choice((1, 1, 1, 10, 100)) if kind in ("int", "num", "bool") else 1
    if kind in ("int", "num", "bool", "text"):
        # no draws: counted up, the hints' values left out (at most len(seen) of the first
        # need + len(seen) are)
        need = n - len(out)
        if need > 0:
            made = range(start, start + need + len(seen)) if kind != "text" \
                else (f"{_label(col.name)} {i}" for i in range(1, need + len(seen) + 1))
            out += [v for v in made if v not in seen][:need]
    else:  # real, date, datetime, blob: a draw per value
        i = 0
        while len(out) < n and i < 20 * n + 20:
            i += 1
            if kind == "real":
                v: Any = round(start + i * 1.25 + rng.random() / 10, 3)
            elif kind in ("date", "datetime"):
                v = (_dt.date(2020, 1, 1) + _dt.timedelta(days=7 * i + _randint(rng, 0, 6))).isoformat()
            else:
                v = bytes([i % 256, rng.randrange(256)])
            if v not in seen:
                seen.add(v)
                out.append(v)
    if kind in ("int", "num", "bool") and col.pk:
        _shuffle(out, rng)
    return out


@dataclass
class _ColumnPlan:
    col: Column
    name: str  # lower-cased
    kind: str
    lits: list[Any]  # the gold's literals for it, with their neighbours, and its LIKE patterns filled in
    link: tuple[str, str] | None  # the (table, column) it draws its values from
    unnamed: bool = False  # a column the gold never names, of no key or link (see _layout)


@dataclass
class _TablePlan:
    table: Table
    name: str  # lower-cased
    columns: list[_ColumnPlan]
    pk: list[Column]
    filtered: list[Column]  # columns the gold compares with a literal (see _layout)
    linked: bool  # a column of it references another table
    referenced: list[tuple[str, tuple[str, str]]]  # (name, link key) of its columns a column elsewhere draws from


@dataclass
class _Layout:
    """What every database of one schema and gold shares (the same for each index)."""

    tables: list[_TablePlan]
    key_parents: set[str]
    preds: dict[str, list[tuple[str, Any]]]


def _layout(tables: list[Table], hints: Hints, only_read: bool) -> _Layout:
    by_name = {t.name.lower(): t for t in tables}
    # (table, column) -> the (table, column) whose values it draws from
    links: dict[tuple[str, str], tuple[str, str]] = {}
    for t in tables:
        for fk in t.foreign_keys:
            parent = by_name.get(fk.parent.lower())
            if parent is None:
                continue
            pcols = [pc if pc is not None else (parent.pk[i] if i < len(parent.pk) else None)
                     for i, pc in enumerate(fk.parent_columns)]
            for c, pc in zip(fk.columns, pcols):
                if pc is not None:
                    links[(t.name.lower(), c.lower())] = (parent.name.lower(), pc.lower())
    for ta, ca, tb, cb in hints.joins:
        sides = []
        for tname, cname in ((ta, ca), (tb, cb)):
            cands = [by_name[tname]] if tname in by_name else [t for t in tables
                                                              if any(c.name.lower() == cname for c in t.columns)]
            for t in cands:
                if any(c.name.lower() == cname for c in t.columns):
                    sides.append((t, cname))
                    break
        if len(sides) != 2 or sides[0][0] is sides[1][0]:
            continue
        (t1, c1), (t2, c2) = sides
        key1, key2 = (t1.name.lower(), c1), (t2.name.lower(), c2)
        if key1 in links or key2 in links:
            continue
        is_key = lambda t, c: any(x.name.lower() == c and x.pk for x in t.columns)  # noqa: E731
        child, parent = (key2, key1) if is_key(t1, c1) or not is_key(t2, c2) and tables.index(t1) < tables.index(t2) \
            else (key1, key2)
        links[child] = parent
    order = _parents_first(tables, links)
    if hints.tables and only_read:
        # A table the gold never reads (nor any table it reads references) cannot change the
        # gold's result: it stays as the context left it, which keeps generation cheap.
        needed = {t.name.lower() for t in tables if t.name.lower() in hints.tables}
        grew = True
        while grew:
            parents = {p for (ct, _), (p, _) in links.items() if ct in needed} - needed
            grew = bool(parents)
            needed |= parents
        order = [t for t in order if t.name.lower() in needed]
    preds: dict[str, list[tuple[str, Any]]] = {}
    for cname, op, value in hints.predicates:
        preds.setdefault(cname, []).append((op, value))
    # A parent whose key is a read table's whole primary key bounds that table's rows, and
    # one whose key the gold groups a read table by is its number of groups: such a parent
    # gets as many rows as the tables the gold reads.
    key_parents = {links[(t.name.lower(), t.pk[0].lower())][0] for t in tables
                   if len(t.pk) == 1 and (t.name.lower(), t.pk[0].lower()) in links}
    key_parents |= {parent for (child, col), (parent, _) in links.items()
                    if col in hints.grouped and col not in hints.partitioned and child in hints.tables}
    targets = set(links.values())
    plans = []
    for t in order:
        tl = t.name.lower()
        cols = []
        for c in t.columns:
            cl = c.name.lower()
            kind = _kind(c)
            lits = [v for h in hints.literals.get(cl, ()) for v in _expand(h, kind)]
            lits += [v for p in hints.patterns.get(cl, ()) for v in _from_pattern(p)]
            # The gold never names it (nor reads it by a * or a NATURAL JOIN), so its values
            # cannot change the gold's result: they only meet an answer reading the wrong column.
            unnamed = hints.columns is not None and cl not in hints.columns and not c.pk \
                and (tl, cl) not in links and (tl, cl) not in targets
            cols.append(_ColumnPlan(c, cl, kind, lits, links.get((tl, cl)), unnamed))
        pk = [c for c in t.columns if c.pk]
        # Columns the gold compares with a literal. Each row either meets all of those
        # comparisons, or all but one (which it misses at the boundary, or by NULL), or is
        # drawn freely: so a dropped, flipped or changed condition meets a row that tells.
        filtered = [cp.col for cp in cols if cp.name in preds and not (len(pk) == 1 and cp.col.pk)
                    and cp.link is None]
        referenced = [(cp.col.name, (tl, cp.name)) for cp in cols if (tl, cp.name) in targets]
        plans.append(_TablePlan(t, tl, cols, pk, filtered, any(k[0] == tl for k in links), referenced))
    return _Layout(plans, key_parents, preds)


def plan_rows(tables: list[Table], hints: Hints, seed: int, index: int,
              existing: dict[tuple[str, str], list[Any]] | None = None, *,
              sizes: tuple[int, int] = (MIN_ROWS, MAX_ROWS),
              hint_rate: float = HINT_RATE, only_read: bool = True) -> list[tuple[Table, list[str], list[tuple]]]:
    """Rows for database number ``index``: [(table, column names, rows)], parents first.
    Pure: the same schema, hints, seed and index give the same rows. ``existing`` holds
    values already in the database by (table, column), lower-cased (keys children may
    reference)."""
    return _plan(_layout(tables, hints, only_read), hints, seed, index, existing, sizes=sizes, hint_rate=hint_rate)


def _plan(layout: _Layout, hints: Hints, seed: int, index: int,
          existing: dict[tuple[str, str], list[Any]] | None = None, *,
          sizes: tuple[int, int] = (MIN_ROWS, MAX_ROWS),
          hint_rate: float = HINT_RATE) -> list[tuple[Table, list[str], list[tuple]]]:
    rng = random.Random(f"{seed}:{index}")
    rand = rng.random
    existing = existing or {}
    values: dict[tuple[str, str], list[Any]] = {k: [v for v in vs if v is not None] for k, vs in existing.items()}
    # values of the rows that meet every predicate of their table: children draw from
    # them first in half the databases, so joined rows reach the gold's filters
    meeting: dict[tuple[str, str], list[Any]] = {}
    preds = layout.preds
    meeting_first = index % 2 == 0
    out = []
    for tp in layout.tables:
        t, tl, pk, filtered = tp.table, tp.name, tp.pk, tp.filtered
        if hints.tables and tl not in hints.tables and tl not in layout.key_parents:
            n = _randint(rng, *OTHER_ROWS)  # only referenced by a table the gold reads: a few rows
        else:
            n = _randint(rng, *sizes) + (3 if tp.linked else 0)
            if hints.top:  # more rows (and groups) than the gold's top N keeps
                n = max(n, min(TOP_ROWS, 3 * hints.top + _randint(rng, 6, 12)))
        modes: list[Any] = []
        if filtered:
            for _ in range(n):
                u = rand()
                modes.append("all" if u < MEET_ALL else rng.choice(filtered).name if u < MEET_ALL + MISS_ONE
                             else None)
        generated: dict[str, list[Any]] = {}
        for cp in tp.columns:
            c, cl, kind, lits, link = cp.col, cp.name, cp.kind, cp.lits, cp.link
            nullable = not c.notnull and not c.pk and index > 0
            parent_values = values.get(link, []) if link else []  # never NULL: see below
            if len(pk) == 1 and c.pk and parent_values:
                # a key that is also a foreign key: distinct parent keys, so fewer rows
                col_values = list(dict.fromkeys(parent_values))
                _shuffle(col_values, rng)
                n = min(n, len(col_values))
                generated = {k: v[:n] for k, v in generated.items()}
            elif len(pk) == 1 and c.pk:
                col_values = _unique_values(c, kind, rng, n, lits)
            elif cp.unnamed:
                # About half of all generated values are such columns', and their skewed draws
                # were most of the cost of a schema-only task. Its pool is made as below, but
                # its values are picked uniformly by the bits of the draws the branch below
                # would take: the random stream moves on exactly as far (a random() is two
                # 32-bit words), so every other column keeps its values.
                rng.getrandbits(64 * n)  # the NULL draws
                pool = _pool(c, kind, rng, max(3, n // 2), lits)
                m = len(pool)
                bits = rng.getrandbits(64 * (m + n)).to_bytes(8 * (m + n), "little")  # the shuffle's and the draws'
                col_values = [None if nullable and bits[j] < NULL_BYTE else pool[bits[j + 1] % m]
                              for j in range(0, 8 * n, 8)]
            elif cl in hints.ordered and cl not in hints.grouped and not parent_values and index % 2 == 0:
                # distinct, so ties do not decide which rows a LIMIT keeps (a column the gold
                # groups by keeps duplicates: groups of one cannot tell COUNT(*) from COUNT(DISTINCT))
                col_values = _unique_values(c, kind, rng, n, lits)
                _shuffle(col_values, rng)
            else:
                # favour a few values (in an order of each database's own), so group sizes
                # differ and "the most …" has one answer, and not always the first group's
                r = list(_rands(rand, n))
                if parent_values:
                    parents = list(dict.fromkeys(parent_values))
                    _shuffle(parents, rng)
                    if meeting_first and link in meeting:
                        good = set(meeting[link])
                        parents = [v for v in parents if v in good] + [v for v in parents if v not in good]
                    if cl in hints.partitioned:  # a window's partitions: few, so each outgrows its top N
                        parents = parents[:2 + index % 2]
                    draws = _draw(parents, n, rand)
                    col_values = [None if nullable and x < NULL_RATE else d for x, d in zip(r, draws)]
                else:
                    # few partitions of a window function, so each holds more than its top N
                    size = 2 + index % 2 if cl in hints.partitioned else max(3, n // 2)
                    pool = _pool(c, kind, rng, size, lits)
                    _shuffle(pool, rng)
                    draws = _draw(pool, n, rand)
                    hinted = rng.choices(lits, k=n) if lits else draws
                    cut = NULL_RATE + hint_rate
                    col_values = [None if nullable and x < NULL_RATE else h if x < cut else d
                                  for x, h, d in zip(r, hinted, draws)]
                    if modes and cl in preds:
                        col_values = _meet_predicates(col_values, modes, c.name, preds[cl], kind, nullable, rng,
                                                      [v for v in pool if v not in lits])
            generated[c.name] = col_values[:n] + [None] * (n - len(col_values))
        cols = t.columns
        rows = list(zip(*(generated[c.name] for c in cols)))
        for name, key in tp.referenced:  # only the values a child draws from are kept, NULL left out
            col = generated[name]
            values.setdefault(key, []).extend([v for v in col if v is not None])
            if modes:
                meeting[key] = [v for v, mode in zip(col, modes) if mode == "all" and v is not None]
        out.append((t, [c.name for c in cols], rows))
    return out


def _draw(items: list[Any], k: int, rand: Any) -> list[Any]:
    """k items drawn with the Zipf-like weights of :func:`_zipf`: ``rng.choices(items,
    cum_weights=_zipf(len(items)), k=k)`` draw for draw, without its per-call set-up."""
    cw = _zipf(len(items))
    total, hi = cw[-1] + 0.0, len(items) - 1
    return [items[bisect.bisect_right(cw, rand() * total, 0, hi)] for _ in range(k)]


def _rands(rand: Any, k: int) -> Iterable[float]:
    """k calls of ``rand`` in a C loop: the numbers of ``[rand() for _ in range(k)]``."""
    return itertools.starmap(rand, itertools.repeat((), k))


def _randint(rng: random.Random, a: int, b: int) -> int:
    """The number ``rng.randint(a, b)`` gives, at half its cost (it goes through three
    Python-level calls; dates take several per value)."""
    n = b - a + 1
    bits = n.bit_length()
    r = rng.getrandbits(bits)
    while r >= n:
        r = rng.getrandbits(bits)
    return a + r


def _meet_predicates(col_values: list[Any], modes: list[Any], name: str, preds: list[tuple[str, Any]], kind: str,
                     nullable: bool, rng: random.Random, others: list[Any]) -> list[Any]:
    """A column's values where the row's mode asks: one that meets one of the gold's
    comparisons on it ("all", or another column missed), or one just outside them (this
    column missed: the boundary, or NULL where allowed). A side the literal alone cannot
    make (``<> 'x'`` is met by anything else) takes one of ``others`` (the column's pool
    without the gold's literals)."""
    sides = [_sides(op, value, kind) for op, value in preds]
    out = list(col_values)
    for i, mode in enumerate(modes[:len(out)]):
        if mode is None:
            continue
        meet, miss = sides[int(rng.random() * len(sides))]
        if mode == name and nullable and rng.random() < 0.25:
            out[i] = None
            continue
        side = (meet if mode != name else miss) or others
        if side:
            out[i] = side[int(rng.random() * len(side))]
    return out


def _holds(op: str, x: Any, v: Any) -> bool:
    try:
        return {"=": x == v, "<>": x != v, ">": x > v, ">=": x >= v, "<": x < v, "<=": x <= v}[op]
    except TypeError:
        return False


def _sides(op: str, value: Any, kind: str) -> tuple[list[Any], list[Any]]:
    """(values that meet ``column op value``, values just outside it); an empty side is
    left to the column's pool."""
    if op in ("like", "not like"):
        made = _from_pattern(value)
        meet, miss = made[:-1] if len(made) > 1 else made, made[-1:] if len(made) > 1 else []
        return (meet, miss) if op == "like" else (miss, meet)
    if op in ("between", "not between"):
        low, high = value
        near = _expand(low, kind) + _expand(high, kind)
        meet = [x for x in near if _holds(">=", x, _coerce(low, x)) and _holds("<=", x, _coerce(high, x))]
        miss = [x for x in near if x not in meet]
        return (meet, miss) if op == "between" else (miss, meet)
    near = _expand(value, kind)
    if len(near) == 1 and isinstance(value, str):  # text: only equality has a boundary we can make
        near = [value, value + " x", value[:-1]] if op in ("<", "<=", ">", ">=") else [value]
    target = _coerce(value, near[0]) if near else value
    meet = [x for x in near if _holds(op, x, target)]
    miss = [x for x in near if x not in meet]
    return meet, miss


def _coerce(value: Any, like: Any) -> Any:
    """The literal as the generated values' type (a '25' compared with ints, say)."""
    if isinstance(like, (int, float)) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _shuffle(items: list[Any], rng: random.Random) -> None:
    """Shuffle in place by random sort keys: one C-level draw per item (random.shuffle
    draws bits in Python, and generation is most of a schema-only task's cost)."""
    keys = list(_rands(rng.random, len(items)))
    items[:] = [items[i] for i in sorted(range(len(items)), key=keys.__getitem__)]


_ZIPF: dict[int, list[float]] = {}


def _zipf(n: int) -> list[float]:
    """Cumulative weights 1/(i+1) for n items (Zipf-like)."""
    cw = _ZIPF.get(n)
    if cw is None:
        cw = _ZIPF[n] = list(itertools.accumulate(1.0 / (i + 1) for i in range(n)))
    return cw


def _parents_first(tables: list[Table], links: dict[tuple[str, str], tuple[str, str]]) -> list[Table]:
    deps = {t.name.lower(): {p for (ct, _), (p, _) in links.items() if ct == t.name.lower() and p != ct}
            for t in tables}
    by_name = {t.name.lower(): t for t in tables}
    done: list[Table] = []
    placed: set[str] = set()
    remaining = [t.name.lower() for t in tables]
    while remaining:
        ready = [n for n in remaining if deps[n] <= placed]
        if not ready:  # a cycle: break it at the first table still waiting
            ready = [remaining[0]]
        for n in ready:
            done.append(by_name[n])
            placed.add(n)
        remaining = [n for n in remaining if n not in placed]
    return done


# ---- building databases -----------------------------------------------------------------
def fill(conn: sqlite3.Connection, plan: Iterable[tuple[Table, list[str], list[tuple]]]) -> int:
    """Insert a plan's rows; returns how many went in. Rows that break a constraint are
    skipped (OR IGNORE); a table that refuses rows altogether stays as it was."""
    total = 0
    for table, names, rows in plan:
        sql = (f"INSERT OR IGNORE INTO {_quote(table.name)} ({', '.join(_quote(n) for n in names)}) "
               f"VALUES ({', '.join('?' for _ in names)})")
        before = conn.total_changes
        try:
            conn.execute("SAVEPOINT fill")
            conn.executemany(sql, rows)
            conn.execute("RELEASE fill")
        except (sqlite3.Error, OverflowError, ValueError):
            try:
                conn.execute("ROLLBACK TO fill")
                conn.execute("RELEASE fill")
            except sqlite3.Error:
                pass
            continue
        total += conn.total_changes - before
    return total


def _existing_values(conn: sqlite3.Connection, tables: list[Table], limit: int = 50) -> dict:
    out = {}
    for t in tables:
        for c in t.columns:
            try:
                vals = [r[0] for r in conn.execute(
                    f"SELECT DISTINCT {_quote(c.name)} FROM {_quote(t.name)} "
                    f"WHERE {_quote(c.name)} IS NOT NULL LIMIT {limit}").fetchall()]
            except sqlite3.Error:
                continue
            if vals:
                out[(t.name.lower(), c.name.lower())] = vals
    return out


def read_base(image: bytes, deadline: float | None = None,
              rows: bool | None = None) -> tuple[list[Table], dict] | None:
    """What every test database of a context starts from: its tables, and the values its
    own rows hold (keys children may reference); None when the image cannot be read.
    ``rows``: whether the image holds rows, when the caller knows (else looked up)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.deserialize(image)
        if deadline is not None:
            conn.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
        tables = read_schema(conn)
        return tables, (_existing_values(conn, tables) if (has_rows(conn) if rows is None else rows) else {})
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def build(image: bytes, hints: Hints = NO_HINTS, *, k: int = 3, seed: int = DEFAULT_SEED,
          deadline: float | None = None, first: int = 0, base: tuple[list[Table], dict] | None = None,
          **plan: Any) -> list[bytes]:
    """K database images (numbers ``first``..``first+k-1``): ``image`` (a built context) with generated rows added. Fewer
    when time runs out; none when the schema has no table to fill. ``base`` is the image's
    :func:`read_base`, when the caller keeps it (it is read here otherwise)."""
    base = base if base is not None else read_base(image, deadline)
    if base is None or not base[0]:
        return []
    tables, existing = base
    layout = _layout(tables, hints, plan.pop("only_read", True))  # what the K databases share
    out: list[bytes] = []
    for index in range(first, first + k):
        if deadline is not None and time.monotonic() > deadline:
            break
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.deserialize(image)
            if deadline is not None:
                conn.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
            fill(conn, _plan(layout, hints, seed, index, existing, **plan))
            out.append(conn.serialize())
        except sqlite3.Error:
            continue
        finally:
            conn.close()
    return out
