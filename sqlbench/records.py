"""The typed records that cross module boundaries.

Plain dicts only live inside JSON lines; everything passed between the loader, the
prompt builder, providers, the validator and the run store is one of these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

# Verdict reasons, exactly these strings (they are an interface: files, TUI filters, tests).
OK = "ok"
FORMAT = "format"  # answer lacks the think/sql blocks
SYNTAX = "syntax"  # the SQL does not parse
EXECUTION = "execution"  # runtime error
TIMEOUT = "timeout"
MISMATCH = "mismatch"
UNSAFE = "unsafe"  # refused: file access, ATTACH, extensions, PRAGMA, ...
BAD_CONTEXT = "bad_context"  # the task's context does not build: the row cannot be judged
GOLD_ERROR = "gold_error"  # the gold query fails
# The answer runs, but the task's data cannot tell it from a wrong one (e.g. the gold returns the
# same empty result on every test database): never valid, never counted as a mismatch.
UNVERIFIED = "unverified"
REASONS = (OK, FORMAT, SYNTAX, EXECUTION, TIMEOUT, MISMATCH, UNSAFE, BAD_CONTEXT, GOLD_ERROR, UNVERIFIED)


@dataclass(frozen=True)
class Task:
    """One text-to-SQL task, normalised from any source format.

    ``row`` keeps the source row unchanged so outputs can carry its columns through.
    """

    id: str
    question: str
    context: str  # schema (and seed rows) as SQL statements
    gold_sql: str
    explanation: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)  # domain, sql_complexity, sql_task_type, db_id, ...
    row: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # A task backed by a real database file (--db-dir, a db_path column): the validator runs
    # SQL on that file instead of building ``context``, which then only feeds the prompt.
    db_path: str = ""
    db_error: str = ""  # the file could not be found or read: the row is bad_context, with this detail


@dataclass(frozen=True)
class Answer:
    """A parsed model answer: ``<think>…</think>`` then ``<sql>…</sql>``."""

    think: str
    sql: str
    well_formed: bool  # non-empty think block followed by a non-empty sql block


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str  # one of REASONS
    detail: str = ""
    sql: str = ""  # the SQL that was judged (extracted from the answer)
    # Small previews of both result sets, filled when they differ (for the Rejected view).
    expected: list[list[Any]] | None = None
    got: list[list[Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["expected"] is None:
            del d["expected"]
        if d["got"] is None:
            del d["got"]
        return d
