"""SQL text handling that does not execute anything: statement splitting, sqlglot
parsing and transpiling between the dialects gretel-style data mixes.

sqlglot parsing costs ~250 µs a statement, so the validator keeps it off the hot path:
SQL is first handed to the engine as written, and sqlglot only steps in when the engine
rejects it (to transpile, or to tell a real syntax error from a dialect difference).
"""

from __future__ import annotations

import functools
import logging
import re
import time

# Dialects that rows of gretel/Spider/SynSQL are written in, most common first.
SOURCE_DIALECTS = ("mysql", "postgres", "tsql")
PARSE_DIALECTS = ("sqlite", "mysql", "postgres", "duckdb", "tsql")

# First keywords of statements that touch files, other databases, extensions or engine
# settings: refused before they reach an engine (the SQLite authorizer and DuckDB's
# locked configuration are the real guards; this gives a clear detail on both engines).
UNSAFE_KEYWORDS = frozenset(
    "attach detach pragma vacuum install load copy export import set reset call checkpoint use force".split()
)
# Functions that read or write files, load code, run SQL from a string or expose engine
# settings (DuckDB's table functions; SQLite shell helpers; PRAGMA as a function).
_DENY_PREFIXES = ("read_", "pragma_", "parquet_", "iceberg_", "postgres_", "mysql_", "duckdb_")
_DENY_NAMES = frozenset(
    "sniff_csv query_table query load_extension readfile writefile fts3_tokenizer delta_scan sqlite_scan "
    "sqlite_attach current_setting getenv which_secret".split()
)
_DENY_TOKENS = _DENY_PREFIXES + tuple(_DENY_NAMES) + ("glob",)
# DuckDB's glob() lists files; SQLite's glob(pattern, text) is the harmless GLOB operator.
_DUCK_ONLY_NAMES = frozenset({"glob"})
_VIRTUAL = re.compile(r"^\s*create\s+virtual\b", re.I)
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.S)
_FIRST_WORD = re.compile(r"[A-Za-z_]+")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)

# First words of statements that only read (no final-state change to look for).
READ_ONLY_WORDS = frozenset({"select", "with", "values", "from", "table", "show", "describe", "explain", "summarize"})

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" chatter


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements the way SQLite's own tokenizer sees them, so
    semicolons in strings, comments and trigger bodies do not cut a statement.

    One linear pass of ``sqlite3_complete``'s state machine (``sqlite3.complete_statement``
    itself raises on a NUL byte, and calling it once per ';' is quadratic). Short text is
    split once: a gold is split for every database it runs on, in pure Python."""
    if len(sql) <= _SPLIT_CACHE_CHARS:
        return list(_split_cached(sql))
    return _split(sql)


_SPLIT_CACHE_CHARS = 4096


@functools.lru_cache(maxsize=1024)
def _split_cached(sql: str) -> tuple[str, ...]:
    return tuple(_split(sql))


def _split(sql: str) -> list[str]:
    if "trigger" not in sql.lower():
        return _split_plain(sql)
    return _split_complete(sql)


def _split_plain(sql: str) -> list[str]:
    """:func:`_split_complete` for text without the word TRIGGER: then every ';' outside a
    string, name or comment ends a statement (the machine's states before CREATE TRIGGER
    all go to START on a ';'), so only those need finding, not every word: the shared
    samples' contexts and golds split twice as fast."""
    out: list[str] = []
    start = 0
    for m in _PLAIN_TOKENS.finditer(sql):
        kind = m.lastindex
        if kind == 2:  # an unterminated string, name or comment: no later cut
            break
        if kind == 1:
            _keep(out, sql[start : m.end()])
            start = m.end()
    _keep(out, sql[start:])
    return out


def _split_complete(sql: str) -> list[str]:
    out: list[str] = []
    start = 0
    state = 0
    for m in _COMPLETE_TOKENS.finditer(sql):
        kind = m.lastindex
        if kind == _TK_OPEN:  # an unterminated string, name or comment: no later cut
            break
        if kind == _TK_SEMI:
            state = _COMPLETE_TRANS[state][0]
            if state == 1:
                _keep(out, sql[start : m.end()])
                start = m.end()
            continue
        if kind == _TK_WS:
            token = 1
        elif kind == _TK_WORD:
            token = _COMPLETE_WORDS.get(m.group(kind).lower(), 2)
        else:
            token = 2
        state = _COMPLETE_TRANS[state][token]
    _keep(out, sql[start:])
    return out


# sqlite3_complete (SQLite's complete.c): tokens SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END,
# states INVALID START NORMAL EXPLAIN CREATE TRIGGER SEMI END; a ';' reaching START ends a statement.
_COMPLETE_TRANS = (
    (1, 0, 2, 3, 4, 2, 2, 2),
    (1, 1, 2, 3, 4, 2, 2, 2),
    (1, 2, 2, 2, 2, 2, 2, 2),
    (1, 3, 3, 2, 4, 2, 2, 2),
    (1, 4, 2, 2, 2, 4, 5, 2),
    (6, 5, 5, 5, 5, 5, 5, 5),
    (6, 6, 5, 5, 5, 5, 5, 7),
    (1, 7, 5, 5, 5, 5, 5, 5),
)
_COMPLETE_WORDS = {"explain": 3, "create": 4, "temp": 5, "temporary": 5, "trigger": 6, "end": 7}
_TK_SEMI, _TK_WS, _TK_WORD, _TK_OPEN = 1, 2, 4, 5
_COMPLETE_TOKENS = re.compile(
    r"(;)"
    r"|([ \t\n\f\r]+|/\*.*?\*/|--[^\n]*(?:\n|$))"
    r"|('[^']*'|\"[^\"]*\"|`[^`]*`|\[[^\]]*\])"
    r"|([A-Za-z0-9_$\u0080-\U0010FFFF]+)"
    r"|(/\*|['\"`\[])"
    r"|(.)",
    re.S,
)


_PLAIN_TOKENS = re.compile(  # _COMPLETE_TOKENS' semicolons and open ends; its comments and strings skipped whole
    r"(;)"
    r"|/\*.*?\*/|--[^\n]*(?:\n|$)"
    r"|'[^']*'|\"[^\"]*\"|`[^`]*`|\[[^\]]*\]"
    r"|(/\*|['\"`\[])",
    re.S,
)


def _keep(out: list[str], chunk: str) -> None:
    stmt = chunk.strip()
    end = len(stmt)
    while end and (stmt[end - 1] == ";" or stmt[end - 1].isspace()):  # one pass: no copy per ';'
        end -= 1
    stmt = stmt[:end]
    # a statement whose first character starts no comment is more than comments
    if stmt and (stmt[0] not in "-/" or _COMMENTS.sub("", stmt).strip()):
        out.append(stmt)


def first_keyword(stmt: str) -> str:
    m = _FIRST_WORD.match(_LEADING_NOISE.sub("", stmt, count=1))
    return m.group(0).lower() if m else ""


def unsafe_reason(stmt: str, engine: str = "sqlite") -> str | None:
    """Why a statement is refused outright, or None."""
    kw = first_keyword(stmt)
    if kw in UNSAFE_KEYWORDS:
        return f"refused: {kw.upper()} statements are not allowed"
    if _VIRTUAL.match(_LEADING_NOISE.sub("", stmt, count=1)):
        return "refused: virtual tables are not allowed"
    low = stmt.lower()
    # Substring pre-check first: a regex over every identifier costs ~100 µs a statement.
    if not any(t in low for t in _DENY_TOKENS):
        return None
    for name in called_names(low):
        if name in _DENY_NAMES or name.startswith(_DENY_PREFIXES) or (engine == "duckdb" and name in _DUCK_ONLY_NAMES):
            return f"refused: {name}() is not allowed (files, extensions, settings or SQL in a string)"
    return None


def called_names(sql: str) -> list[str]:
    """Names written right before an opening parenthesis (function calls, mostly)."""
    out = []
    i = sql.find("(")
    while i != -1:
        j = i
        while j > 0 and sql[j - 1].isspace():
            j -= 1
        k = j
        while k > 0 and (sql[k - 1].isalnum() or sql[k - 1] == "_"):
            k -= 1
        if k < j:
            out.append(sql[k:j])
        i = sql.find("(", i + 1)
    return out


def _statement_classes() -> tuple[type, ...]:
    from sqlglot import exp

    names = ("Query", "DML", "DDL", "Command", "Transaction", "Commit", "Rollback", "Pragma",
             "Set", "Use", "Describe", "Show", "Attach", "Detach", "TruncateTable", "Values")
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


# sqlglot is pure Python: ~15 µs a character and ~20 stack frames a parenthesis. Text
# longer or deeper than this is not handed to it at all (it would not parse anyway, or
# take seconds and hundreds of MB), so one parse stays well inside a verdict's time.
PARSE_MAX_CHARS = 20_000
PARSE_MAX_DEPTH = 40
_CACHE_MAX_CHARS = 4_096  # longer texts are parsed uncached: their trees are big


def nesting_depth(sql: str) -> int:
    """Deepest parenthesis nesting, counting every '(' (strings included: an upper bound)."""
    depth = deepest = 0
    for ch in _PARENS.findall(sql):
        depth = depth + 1 if ch == "(" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


_PARENS = re.compile(r"[()]")


def parse_budget_ok(sql: str, deadline: float | None = None) -> bool:
    """Whether sqlglot may look at ``sql``: short and shallow enough, and time left."""
    if len(sql) > PARSE_MAX_CHARS or nesting_depth(sql) > PARSE_MAX_DEPTH:
        return False
    return deadline is None or time.monotonic() < deadline


# sqlglot trees are large object graphs: a few hundred recent ones serve the repeats (a
# gold, an answer on each test database); thousands kept made the cyclic GC walk them
# again and again (15 % of a cold validator's time over 2,000 schema-only tasks)
@functools.lru_cache(maxsize=256)
def _parse(sql: str, dialect: str | None):
    return _parse_uncached(sql, dialect)


def _parse_uncached(sql: str, dialect: str | None):
    import sqlglot

    return sqlglot.parse(sql, read=dialect)


def parse_statements(sql: str, dialect: str | None = None, deadline: float | None = None) -> list | None:
    """sqlglot trees of every statement, or None when the text is not SQL in that
    dialect (a bare expression such as ``hello world`` is not a statement), or is too
    long or deep to parse, or the deadline has passed."""
    if not parse_budget_ok(sql, deadline):
        return None
    try:
        parsed = _parse(sql, dialect) if len(sql) <= _CACHE_MAX_CHARS else _parse_uncached(sql, dialect)
        trees = [t for t in parsed if t is not None]
    except Exception:  # sqlglot raises ParseError, TokenError, RecursionError, the odd ValueError
        return None
    if not trees or not all(isinstance(t, _statement_classes()) for t in trees):
        return None
    return trees


def parses(sql: str, dialect: str | None = None, deadline: float | None = None) -> bool:
    """True when sqlglot parses ``sql`` as one or more SQL statements: in ``dialect`` if
    given, else in any of SQLite, MySQL, PostgreSQL, DuckDB. False for text over
    PARSE_MAX_CHARS or nested deeper than PARSE_MAX_DEPTH."""
    if not sql or not sql.strip():
        return False
    dialects = (dialect,) if dialect else PARSE_DIALECTS
    return any(parse_statements(sql, d, deadline) is not None for d in dialects)


def transpile(sql: str, read: str | None, write: str, deadline: float | None = None) -> list[str] | None:
    """``sql`` rewritten from ``read`` into ``write``, one string per statement; None
    when it does not parse in ``read`` or sqlglot cannot express it in ``write``."""
    trees = parse_statements(sql, read, deadline)
    if trees is None:
        return None
    try:
        return [t.sql(dialect=write, unsupported_level=_raise_level()) for t in trees]
    except Exception:
        return None


def _raise_level():
    from sqlglot.errors import ErrorLevel

    return ErrorLevel.RAISE


def rewrites(sql: str, write: str, reads: tuple[str | None, ...] = SOURCE_DIALECTS,
             deadline: float | None = None) -> list[list[str]]:
    """Distinct transpilations of ``sql`` into ``write`` from each source dialect, in
    order, leaving out ones identical to the input; none once ``deadline`` has passed."""
    seen = {sql.strip()}
    out: list[list[str]] = []
    for read in reads:
        stmts = transpile(sql, read, write, deadline)
        if stmts is None:
            continue
        key = ";\n".join(stmts)
        if key not in seen:
            seen.add(key)
            out.append(stmts)
    return out


_QUOTED_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/", re.S)


_ORDER_BY = re.compile(r"\border\s+by\b", re.I)


def _top_level_order_by_text(stmt: str) -> str | None:
    """What follows the last ORDER BY outside every parenthesis (window specs,
    subqueries and CTE bodies are inside one), with strings, quoted names and comments
    blanked out; None when there is no such ORDER BY."""
    depth = 0
    flat = []
    for ch in _QUOTED_OR_COMMENT.sub(" ", stmt):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            flat.append(ch)
    text = "".join(flat)
    found = list(_ORDER_BY.finditer(text))
    return text[found[-1].end():] if found else None


def has_top_level_order_by(sql: str) -> bool:
    """Whether the last statement orders its result (so row order matters). A scan, not
    a parse: it runs once per task and sqlglot would cost ~1 ms on a long query."""
    stmts = split_statements(sql)
    if not stmts or not _ORDER_BY.search(stmts[-1]):
        return False
    return _top_level_order_by_text(stmts[-1]) is not None


def order_key_columns(sql: str) -> tuple[int, ...] | None:
    """Output columns the last statement's ORDER BY sorts on, when every key is one: an
    ordinal, an output alias or name, or an expression selected exactly as written.
    None otherwise (then row order is compared strictly). Rows equal on these columns
    are ties, whose relative order the query leaves to the engine. Parsed once per gold."""
    from sqlglot import exp

    stmts = split_statements(sql)
    last = stmts[-1] if stmts else ""
    # Cases where sqlglot's tree and SQLite's name resolution can part ways are left
    # strict: non-ASCII names (SQLite folds case for ASCII only) and a '+' in the ORDER
    # BY clause (sqlglot drops a unary plus, the idiom that stops SQLite using an alias).
    if not last.isascii() or "+" in (_top_level_order_by_text(last) or ""):
        return None
    trees = parse_statements(last, "sqlite")
    tree = trees[0] if trees and len(trees) == 1 else None
    order = tree.args.get("order") if isinstance(tree, exp.Select) else None
    if order is None:
        return None
    # USING / NATURAL joins merge same-named columns: a bare name may then sort on the
    # left table's column while a qualified output column shows the right one's
    if any(j.args.get("using") or j.args.get("method") for j in tree.args.get("joins") or []):  # method: NATURAL
        return None
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    tree = normalize_identifiers(tree.copy(), dialect="sqlite")  # unquoted names are case-blind
    order = tree.args["order"]
    projections = tree.expressions
    if any(isinstance(p, exp.Star) or isinstance(p.this, exp.Star) for p in projections):
        return None

    # An output column is known by name only through an explicit alias or as an
    # unqualified column: SQLite resolves a bare ORDER BY name to an AS alias first, then to a table
    # column, never to the name sqlglot derives for an expression like CAST(price ...).
    names = [p.alias.lower() if isinstance(p, exp.Alias) else
             p.name.lower() if isinstance(p, exp.Column) and not p.table else None
             for p in projections]
    bodies = [p.this if isinstance(p, exp.Alias) else p for p in projections]
    keys = []
    for ordered in order.expressions:
        e = ordered.this
        bare = isinstance(e, exp.Column) and not e.table
        if isinstance(e, exp.Literal) and e.is_int:
            i = int(e.this) - 1
        elif bare and names.count(e.name.lower()) == 1:
            i = names.index(e.name.lower())
        elif bare and e.name.lower() in names:
            return None  # ambiguous
        elif sum(b == e for b in bodies) == 1:  # the same expression, compared as trees
            i = next(j for j, b in enumerate(bodies) if b == e)
        else:
            return None
        if not 0 <= i < len(projections):
            return None
        keys.append(i)
    return tuple(keys)


_AUTO_ID = re.compile(r"auto_increment|\b(?:big|small)?serial\b", re.I)


def auto_ids(stmt: str, engine: str) -> list[str] | None:
    """A CREATE TABLE with MySQL ``AUTO_INCREMENT`` or PostgreSQL ``SERIAL`` columns,
    rewritten so inserts that leave the id out still number rows: in SQLite as an
    ``INTEGER`` (rowid alias) key, in DuckDB with a sequence default. None when the
    statement has no such column (or does not parse)."""
    if stmt.isascii():  # lower() folds ASCII text as re.I does; the regex is 30 times dearer per DDL
        low = stmt.lower()
        if "auto_increment" not in low and "serial" not in low:
            return None
    if not _AUTO_ID.search(stmt):
        return None
    from sqlglot import exp

    for read in SOURCE_DIALECTS:
        trees = parse_statements(stmt, read)
        if trees and len(trees) == 1 and isinstance(trees[0], exp.Create):
            break
    else:
        return None
    tree = trees[0].copy()
    table = tree.find(exp.Table)
    before: list[str] = []
    touched = False
    for col in tree.find_all(exp.ColumnDef):
        kind = col.args.get("kind")
        constraints = col.args.get("constraints") or []
        autos = [c for c in constraints if isinstance(c.args.get("kind"), exp.AutoIncrementColumnConstraint)]
        serial = kind is not None and getattr(kind.this, "name", "") in {"SERIAL", "BIGSERIAL", "SMALLSERIAL"}
        if not autos and not serial:
            continue
        touched = True
        for c in autos:
            c.pop()
        if engine == "sqlite":
            col.set("kind", exp.DataType.build("INTEGER"))
        else:
            seq = f"seq_{table.name if table else 't'}_{col.name}".lower()
            before.append(f"CREATE SEQUENCE IF NOT EXISTS {seq}")
            col.set("kind", exp.DataType.build("BIGINT"))
            default = exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=exp.func("nextval", exp.Literal.string(seq))))
            col.append("constraints", default)
    if not touched:
        return None
    try:
        return before + [tree.sql(dialect=engine)]
    except Exception:
        return None
