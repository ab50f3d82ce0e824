"""The SQL validator: run candidate SQL in a sandbox and compare with the gold query.

    from sqlbench.sqlcheck import Validator, parses, referenced_names
    v = Validator(timeout=2.0, max_rows=10_000)
    v.check(task, candidate)  # -> records.Verdict

Importing this package is light: sqlglot and duckdb load on first use.
"""

from sqlbench.sqlcheck.dialect import parses, split_statements
from sqlbench.sqlcheck.names import referenced_names
from sqlbench.sqlcheck.verdict import Validator

__all__ = ["Validator", "parses", "referenced_names", "split_statements"]
