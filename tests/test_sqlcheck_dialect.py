"""Statement splitting, parsing, names and dialect rewrites."""

import sqlite3

from sqlbench.sqlcheck import parses, referenced_names, split_statements
from sqlbench.sqlcheck.dialect import auto_ids, has_top_level_order_by, order_key_columns, rewrites, unsafe_reason


def test_split_respects_strings_comments_and_trigger_bodies():
    sql = (
        "INSERT INTO t VALUES ('a;b'); -- trailing; comment\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; DELETE FROM u; END;\n"
        "/* only a comment */;\n"
        "SELECT 1"
    )
    parts = split_statements(sql)
    assert len(parts) == 3
    assert parts[0] == "INSERT INTO t VALUES ('a;b')"
    assert parts[1].startswith("-- trailing; comment\nCREATE TRIGGER") and parts[1].endswith("END")
    assert parts[2].endswith("SELECT 1")
    assert split_statements("  ;; ") == []


def test_the_fast_split_of_text_without_triggers_cuts_where_sqlites_machine_does():
    """Without the word TRIGGER every ';' outside strings, names and comments ends a
    statement: the fast split must agree with the full state machine."""
    import random

    from sqlbench.sqlcheck.dialect import _split_complete, _split_plain

    pieces = [";", ";", "'", '"', "`", "[", "]", "--", "/*", "*/", "\n", " ", "a", "x1", "create", "TEMP",
              "explain", "end", "(", ")", "'a;b'", '"c;d"', "/* ; */", "-- ;\n", "é", "$"]
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 24)))
        assert _split_plain(text) == _split_complete(text), text
    assert _split_plain("SELECT 'a;b'; SELECT 2 -- c;\n; /* open ; ") == ["SELECT 'a;b'", "SELECT 2 -- c", "/* open"]


def test_parses_accepts_sql_of_any_common_dialect_and_rejects_the_rest():
    assert parses("SELECT a FROM t WHERE b > 1")
    assert parses("SELECT `a` FROM `t`")  # MySQL
    assert parses("SELECT a FROM t WHERE b ILIKE 'x%' FETCH FIRST 3 ROWS ONLY")  # PostgreSQL
    assert parses("INSERT INTO t VALUES (1); UPDATE t SET a = 2")
    assert not parses("SELEC a FROM t")
    assert not parses("SELECT a FROM t WHERE")
    assert not parses("hello world")  # an expression, not a statement
    assert not parses("")
    assert parses("SELECT `a` FROM t", dialect="mysql")
    assert not parses("SELECT `a` FROM t", dialect="postgres")


def test_referenced_names_leaves_out_ctes_and_aliases():
    tables, columns = referenced_names(
        "WITH big AS (SELECT customer_id, SUM(amount) AS total FROM Orders GROUP BY customer_id) "
        "SELECT c.Name, b.total FROM customers c JOIN big b ON b.customer_id = c.id ORDER BY total"
    )
    assert tables == {"orders", "customers"}
    assert columns == {"customer_id", "amount", "name", "id", "total"}  # b.total is the CTE's column
    _, cols = referenced_names("SELECT price * qty AS revenue FROM sales ORDER BY revenue")
    assert cols == {"price", "qty"}  # ORDER BY revenue names the alias, not a column
    assert referenced_names("INSERT INTO t (a, b) VALUES (1, 2)") == ({"t"}, {"a", "b"})
    assert referenced_names("not sql at all (") == (set(), set())


def test_top_level_order_by_only():
    assert has_top_level_order_by("SELECT a FROM t ORDER BY a")
    assert has_top_level_order_by("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1")
    assert not has_top_level_order_by("SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)")
    assert not has_top_level_order_by("SELECT a, ROW_NUMBER() OVER (ORDER BY a) FROM t")
    assert not has_top_level_order_by("SELECT 'order by' FROM t")
    assert not has_top_level_order_by('SELECT "order by" FROM t -- order by a')
    assert not has_top_level_order_by("SELECT GROUP_CONCAT(a ORDER BY a) FROM t")
    assert has_top_level_order_by("WITH c AS (SELECT a FROM t) SELECT a FROM c ORDER BY a")
    assert has_top_level_order_by("DELETE FROM t; SELECT a FROM t\n  ORDER\n BY a DESC")
    assert not has_top_level_order_by("SELECT a FROM t ORDER BY a; DELETE FROM t")  # the last statement counts


def test_rewrites_turn_mysql_and_postgres_habits_into_sqlite():
    # Judged by what SQLite returns, not by the text sqlglot happens to write.
    db = sqlite3.connect(":memory:")
    db.executescript("CREATE TABLE t (name TEXT); INSERT INTO t VALUES ('Ada'), ('bob'), ('Cal'), ('Dan');")
    sql = "SELECT name FROM t WHERE name ILIKE '%A%' ORDER BY name FETCH FIRST 2 ROWS ONLY"
    out = rewrites(sql, "sqlite")
    assert out and db.execute(out[0][0]).fetchall() == [("Ada",), ("Cal",)]
    assert rewrites("SELEC nothing", "sqlite") == []


def _numbering(statements: list[str], connect) -> list[tuple]:
    db = connect()
    for stmt in statements:
        db.execute(stmt)
    db.execute("INSERT INTO a (x) VALUES ('p')")
    db.execute("INSERT INTO a (x) VALUES ('q')")
    return db.execute("SELECT id, x FROM a ORDER BY id").fetchall()


def test_auto_increment_and_serial_columns_keep_numbering():
    # Judged by what the engines do with the rewrite (rows numbered 1, 2), not by its text.
    import duckdb

    numbered = [(1, "p"), (2, "q")]
    for ddl in ("CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, x TEXT)",
                "CREATE TABLE a (id SERIAL PRIMARY KEY, x TEXT)",
                "create table a (id int Auto_Increment primary key, x text)",
                "CREATE TABLE a (id bigserial PRIMARY KEY, x TEXT DEFAULT 'café')"):  # not ASCII: the regex decides
        assert _numbering(auto_ids(ddl, "sqlite"), lambda: sqlite3.connect(":memory:")) == numbered, ddl
        assert _numbering(auto_ids(ddl, "duckdb"), lambda: duckdb.connect(":memory:")) == numbered, ddl
    assert auto_ids("CREATE TABLE b (x INT)", "sqlite") is None


def test_unsafe_first_keywords_and_duckdb_file_functions():
    for stmt in ("ATTACH 'x.db' AS x", "  pragma table_info(t)", "/* hi */ VACUUM INTO 'f'", "COPY t TO 'f.csv'",
                 "INSTALL httpfs", "LOAD 'ext'", "SET threads = 4"):
        assert unsafe_reason(stmt) is not None, stmt
    assert unsafe_reason("SELECT * FROM read_csv('/etc/passwd')", "duckdb")
    assert unsafe_reason("SELECT glob('a*', name) FROM t", "sqlite") is None  # SQLite's harmless GLOB
    assert unsafe_reason("UPDATE t SET a = 1") is None


def test_order_keys_map_to_output_columns_or_nothing():
    assert order_key_columns("SELECT name, price FROM p ORDER BY price DESC") == (1,)
    assert order_key_columns("SELECT name, price AS pr FROM p ORDER BY pr DESC, name") == (1, 0)
    assert order_key_columns("SELECT name, price FROM p ORDER BY 2, 1") == (1, 0)
    assert order_key_columns("SELECT c, COUNT(*) AS n FROM p GROUP BY c ORDER BY COUNT(*) DESC") == (1,)
    assert order_key_columns("SELECT p.name FROM p ORDER BY p.name") == (0,)
    # a bare name means the output column called so, even when another column selects it
    assert order_key_columns("SELECT x AS price, price AS x FROM t ORDER BY price") == (0,)
    assert order_key_columns("SELECT Name, UPPER(city) FROM p ORDER BY upper(CITY), name") == (1, 0)
    # keys that are not output columns, stars, set operations: no tie groups (strict order);
    # an unaliased expression is not known by the name of the column inside it, and
    # string literals keep their case
    for sql in ("SELECT name, CAST(price AS INTEGER) FROM p ORDER BY price",
                "SELECT price AS name FROM p ORDER BY +name", 'SELECT x AS "Ä" FROM t ORDER BY ä',
                "SELECT t2.c FROM t1 LEFT JOIN t2 USING (c) ORDER BY c", "SELECT c FROM t1 NATURAL JOIN t2 ORDER BY c",
                "SELECT instr(x, 'A') FROM t ORDER BY instr(x, 'a')",
                "SELECT name FROM p ORDER BY price", "SELECT * FROM p ORDER BY price",
                "SELECT a FROM x UNION SELECT b FROM y ORDER BY 1", "SELECT a, a FROM t ORDER BY a",
                "SELECT name FROM p ORDER BY 3", "SELECT name FROM p", "not sql at all"):
        assert order_key_columns(sql) is None, sql
