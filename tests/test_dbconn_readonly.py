"""Read-only database connections: real SQLite and DuckDB files and a real PostgreSQL
server. Writes are refused and the database is proven unchanged (file checksums,
row counts and table digests before and after)."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from sqlbench.inference.dbconn import (
    DatabaseError,
    check_read_only,
    connect,
    describe_target,
    detect_backend,
    postgres_ddl,
)

BACKENDS = ["sqlite", "duckdb", "postgresql"]

WRITES = [
    "INSERT INTO riders VALUES (99, 'Intruder', 'XXX')",
    "UPDATE track_results SET points = 0",
    "DELETE FROM track_results WHERE event = 'omnium'",
    "DROP TABLE riders",
    "CREATE TABLE extra (a INTEGER)",
    "ALTER TABLE riders ADD COLUMN team VARCHAR(40)",
]


@pytest.fixture(params=BACKENDS)
def cycling_db(request):
    """(backend, target) for the cycling database in each backend."""
    fixture = {"sqlite": "cycling_sqlite", "duckdb": "cycling_duckdb", "postgresql": "cycling_postgres"}
    return request.param, str(request.getfixturevalue(fixture[request.param]))


def fingerprint(backend: str, target: str) -> str:
    """A digest of the whole database, taken outside the code under test."""
    if backend != "postgresql":
        return hashlib.sha256(open(target, "rb").read()).hexdigest()
    import psycopg

    with psycopg.connect(target) as conn:
        parts = []
        for (table,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall():
            cols = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            parts.append(repr((table, cols, rows)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def test_reads_rows_and_schema(cycling_db):
    backend, target = cycling_db
    with connect(target) as db:
        assert db.backend == backend
        r = db.execute(
            "SELECT r.name, t.year FROM track_results t JOIN riders r ON r.rider_id = t.rider_id "
            "WHERE t.event = 'omnium' AND t.position = 1 ORDER BY t.year"
        )
        assert r.ok and not r.refused, r.error
        assert r.columns == ["name", "year"]
        assert [tuple(x) for x in r.rows] == [
            ("Elia Viviani", 2016), ("Benjamin Thomas", 2019), ("Jennifer Valente", 2021), ("Ethan Hayter", 2022)
        ]
        schema = db.schema_text()
    assert "riders" in schema and "track_results" in schema and "championship" in schema
    import sqlglot

    dialect = {"postgresql": "postgres"}.get(backend, backend)
    created = {t.this.this.name if hasattr(t.this, "this") else "" for t in sqlglot.parse(schema, dialect=dialect)}
    assert {"riders", "track_results"} <= created


@pytest.mark.parametrize("sql", WRITES)
def test_write_refused_by_guard_and_database_unchanged(cycling_db, sql):
    backend, target = cycling_db
    before = fingerprint(backend, target)
    with connect(target) as db:
        r = db.execute(sql)
    assert r.refused and not r.ok
    assert r.error.startswith("refused:") and "read-only" in r.error
    assert fingerprint(backend, target) == before


@pytest.mark.parametrize("sql", WRITES + ["WITH gone AS (DELETE FROM riders RETURNING *) SELECT * FROM gone"])
def test_engine_alone_refuses_writes(cycling_db, sql):
    """The statement guard off: the read-only connection itself must refuse."""
    backend, target = cycling_db
    # (SQLite has no data-modifying CTEs: there the CTE case is a syntax error, still refused)
    before = fingerprint(backend, target)
    with connect(target) as db:
        r = db.execute(sql, guard=False)
        assert not r.ok, f"{backend} executed a write: {sql}"
        # still usable after the refusal
        assert db.execute("SELECT count(*) FROM riders").rows == [(5,)]
    assert fingerprint(backend, target) == before


def test_engine_refusals_are_labelled(cycling_db):
    backend, target = cycling_db
    with connect(target) as db:
        r = db.execute("DELETE FROM riders", guard=False)
    assert r.refused and r.error.startswith("refused:"), r.error


def test_file_escapes_refused(tmp_path, cycling_sqlite, cycling_duckdb):
    other = tmp_path / "other.db"
    with connect(str(cycling_sqlite)) as db:
        r = db.execute(f"ATTACH DATABASE '{other}' AS o", guard=False)
        assert not r.ok
        r = db.execute(f"VACUUM INTO '{other}'", guard=False)
        assert not r.ok
    with connect(str(cycling_duckdb)) as db:
        r = db.execute(f"COPY riders TO '{tmp_path / 'out.csv'}'", guard=False)
        assert not r.ok
        assert db.execute("SET enable_external_access = true", guard=False).error
    assert not other.exists() and not (tmp_path / "out.csv").exists()


def test_row_cap(cycling_db):
    backend, target = cycling_db
    with connect(target, max_rows=10) as db:
        r = db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c")
    assert r.ok, r.error
    assert len(r.rows) == 10 and r.truncated
    with connect(target, max_rows=50) as db:
        r = db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c")
    assert len(r.rows) == 50 and not r.truncated


SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "duckdb": "SELECT count(*) FROM range(200000) a, range(200000) b WHERE a.range + b.range = -1",
    "postgresql": "SELECT pg_sleep(30)",
}


def test_timeout_stops_query(cycling_db):
    backend, target = cycling_db
    with connect(target, timeout=0.3) as db:
        r = db.execute(SLOW[backend])
        assert not r.ok and r.error.startswith("timeout:"), r.error
        assert db.execute("SELECT count(*) FROM riders").rows == [(5,)]


def test_bad_sql_is_a_result_not_an_exception(cycling_db):
    backend, target = cycling_db
    with connect(target) as db:
        r = db.execute("SELECT nope FROM riders")
    assert not r.ok and not r.refused and r.error


def test_guard_pure():
    assert check_read_only("SELECT 1") is None
    assert check_read_only("WITH a AS (SELECT 1) SELECT * FROM a UNION SELECT 2") is None
    assert "one statement" in check_read_only("SELECT 1; SELECT 2")
    assert "DELETE" in check_read_only("WITH a AS (DELETE FROM t RETURNING *) SELECT * FROM a", "postgresql")
    assert check_read_only("PRAGMA writable_schema = 1").startswith("refused:")
    assert check_read_only("VACUUM").startswith("refused:")


def test_open_errors(tmp_path):
    with pytest.raises(DatabaseError, match="no such database file"):
        connect(str(tmp_path / "missing.sqlite"))
    junk = tmp_path / "notes.txt"
    junk.write_text("hello, not a database")
    with pytest.raises(DatabaseError, match="not a SQLite or DuckDB"):
        connect(str(junk))
    with pytest.raises(DatabaseError, match="cannot connect"):
        connect("postgresql://nobody:pw@127.0.0.1:1/none")


def test_detect_and_schemes(cycling_sqlite, cycling_duckdb):
    assert detect_backend(str(cycling_sqlite)) == "sqlite"
    assert detect_backend(str(cycling_duckdb)) == "duckdb"
    assert detect_backend("postgres://u@h/db") == "postgresql"
    with connect(f"sqlite:///{cycling_sqlite}") as db:
        assert db.execute("SELECT count(*) FROM riders").rows == [(5,)]


def test_sqlite_file_never_written(cycling_sqlite):
    """No journal, WAL or shm file appears next to the database."""
    before = sorted(p.name for p in cycling_sqlite.parent.iterdir())
    with connect(str(cycling_sqlite)) as db:
        db.execute("SELECT * FROM riders")
        db.execute("DELETE FROM riders", guard=False)
    assert sorted(p.name for p in cycling_sqlite.parent.iterdir()) == before
    assert sqlite3.connect(cycling_sqlite).execute("SELECT count(*) FROM riders").fetchone() == (5,)


def test_password_hidden():
    assert "s3cret" not in describe_target("postgresql://me:s3cret@db.example/x")
    assert describe_target("/tmp/a.sqlite") == "/tmp/a.sqlite"


def test_postgres_ddl_pure():
    ddl = postgres_ddl(
        [("public", "riders", "rider_id", "integer", "NO", "BASE TABLE"),
         ("public", "riders", "Full Name", "text", "YES", "BASE TABLE"),
         ("stats", "wins", "n", "bigint", "YES", "VIEW")],
        [("public", "riders", "rider_id")],
    )
    assert 'CREATE TABLE riders (\n  rider_id INTEGER NOT NULL,\n  "Full Name" TEXT,\n  PRIMARY KEY (rider_id)\n);' in ddl
    assert "CREATE TABLE stats.wins" in ddl


READ_ONLY_EXTRAS = {
    "sqlite": ["EXPLAIN QUERY PLAN SELECT * FROM riders", "EXPLAIN SELECT * FROM riders"],
    "duckdb": ["DESCRIBE riders", "SHOW TABLES", "EXPLAIN SELECT * FROM riders"],
    "postgresql": ["EXPLAIN SELECT * FROM riders", "SHOW statement_timeout"],
}


def test_explain_show_describe_allowed(cycling_db):
    backend, target = cycling_db
    before = fingerprint(backend, target)
    with connect(target) as db:
        for sql in READ_ONLY_EXTRAS[backend]:
            r = db.execute(sql)
            assert r.ok and r.rows, (sql, r.error)
        r = db.execute("EXPLAIN ANALYZE DELETE FROM riders")
        assert r.refused
    assert fingerprint(backend, target) == before


def test_guard_does_not_wave_through_a_second_statement():
    for sql in ("SHOW TABLES; DROP TABLE riders", "EXPLAIN SELECT 1; DELETE FROM riders",
                "DESCRIBE riders; DROP TABLE riders", "SELECT * INTO copy FROM riders"):
        assert check_read_only(sql, "duckdb").startswith("refused:"), sql
