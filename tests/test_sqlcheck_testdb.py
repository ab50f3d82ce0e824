"""Test databases for schema-only contexts: the generator's guarantees, and the verdicts
they make possible (`unverified`, near misses caught, rows contexts unchanged)."""

from __future__ import annotations

import sqlite3

import pytest

from sqlbench.records import Task
from sqlbench.sqlcheck import Validator, testdb

SCHEMA = (
    "CREATE TABLE teams (team_id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, founded INTEGER);\n"
    "CREATE TABLE players (player_id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES teams(team_id), "
    "full_name VARCHAR(40) NOT NULL, goals INT, rating REAL, joined DATE);\n"
)
GOLD = "SELECT p.full_name FROM players p JOIN teams t ON t.team_id = p.team_id WHERE t.city = 'Paris' AND p.goals > 3"


def _image(context: str) -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.executescript(context)
    return conn.serialize()


def _open(image: bytes) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.deserialize(image)
    return conn


def task(gold: str, context: str = SCHEMA) -> Task:
    return Task(id="t", question="?", context=context, gold_sql=gold)


def test_generation_is_deterministic_from_the_seed():
    image, hints = _image(SCHEMA), testdb.gold_hints(GOLD)
    first = testdb.build(image, hints, k=3, seed=1)
    assert len(first) == 3
    assert [_open(i).execute("SELECT * FROM players").fetchall() for i in first] == \
        [_open(i).execute("SELECT * FROM players").fetchall() for i in testdb.build(image, hints, k=3, seed=1)]
    other = testdb.build(image, hints, k=3, seed=2)
    assert [_open(i).execute("SELECT * FROM players").fetchall() for i in first] != \
        [_open(i).execute("SELECT * FROM players").fetchall() for i in other]


def test_generated_rows_respect_keys_types_and_not_null():
    for image in testdb.build(_image(SCHEMA), testdb.gold_hints(GOLD), k=3):
        db = _open(image)
        teams = db.execute("SELECT team_id FROM teams").fetchall()
        players = db.execute("SELECT player_id, team_id, full_name, goals, rating, joined FROM players").fetchall()
        assert len(teams) >= 2 and len(players) >= 2
        assert len({t for (t,) in teams}) == len(teams)  # primary key unique
        assert len({p[0] for p in players}) == len(players)
        assert {p[1] for p in players} <= {t for (t,) in teams}  # child values drawn from parent keys
        assert all(p[2] is not None and p[1] is not None for p in players)  # NOT NULL
        assert all(isinstance(p[3], int) for p in players if p[3] is not None)  # declared types
        assert all(isinstance(p[4], float) for p in players if p[4] is not None)
        assert all(len(p[5]) == 10 and p[5][4] == "-" for p in players if p[5] is not None)
        assert db.execute("SELECT name FROM teams WHERE name IS NULL").fetchall() == []


def test_nullable_columns_get_nulls_after_the_first_database():
    """An IS NULL filter, a COUNT(col) or an outer join needs NULLs to tell answers apart:
    database 0 has none, the others put some in each nullable column (never in a key)."""
    dbs = [_open(image) for image in testdb.build(_image(SCHEMA), testdb.gold_hints(GOLD), k=3)]
    nulls = [{col: db.execute(f"SELECT COUNT(*) FROM {table} WHERE {col} IS NULL").fetchone()[0]
              for table, col in (("teams", "city"), ("teams", "founded"), ("players", "goals"),
                                 ("players", "rating"), ("players", "joined"))} for db in dbs]
    assert not any(nulls[0].values())
    assert all(any(n[col] for n in nulls[1:]) for col in nulls[0]), nulls
    for db in dbs:
        assert db.execute("SELECT COUNT(*) FROM players WHERE player_id IS NULL OR team_id IS NULL "
                          "OR full_name IS NULL").fetchone() == (0,)


def test_values_come_from_the_gold_literals():
    rows = []
    for image in testdb.build(_image(SCHEMA), testdb.gold_hints(GOLD), k=3):
        db = _open(image)
        rows += db.execute(GOLD).fetchall()
        cities = {c for (c,) in db.execute("SELECT city FROM teams")}
        goals = {g for (g,) in db.execute("SELECT goals FROM players")}
        assert "Paris" in cities and len(cities - {"Paris"}) >= 1  # rows in and out of the filter
        assert {3, 4} & goals  # the literal's neighbours, so > and >= differ
    assert rows  # the gold selects something


def test_a_schema_it_cannot_fill_gives_fewer_rows_never_an_error():
    odd = (
        "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b(id), v GEOMETRY NOT NULL);\n"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a(id), w FANCYTYPE(3));\n"
        "CREATE TABLE c (x INTEGER CHECK (x < 0) NOT NULL, y TEXT UNIQUE);\n"
    )
    images = testdb.build(_image(odd), testdb.gold_hints("SELECT v FROM a JOIN b ON b.id = a.b_id"), k=3)
    assert len(images) == 3
    assert _open(images[0]).execute("SELECT COUNT(*) FROM c").fetchone() == (0,)  # CHECK refuses every row
    v = Validator()
    for gold in ("SELECT v FROM a JOIN b ON b.id = a.b_id", "SELECT x FROM c"):
        verdict = v.check(task(gold, odd), gold)
        assert verdict.reason in ("ok", "unverified"), verdict
    assert v.check(task("SELECT x FROM c", odd), "SELECT x FROM c").reason == "unverified"


def test_near_misses_on_a_schema_only_context_are_mismatches():
    v = Validator()
    t = task(GOLD)
    assert v.check(t).reason == "ok" and "test databases" in v.check(t).detail
    for wrong in (
        GOLD.replace("p.goals > 3", "p.goals >= 3"),  # flipped comparison
        GOLD.replace(" AND p.goals > 3", ""),  # dropped conjunct
        GOLD.replace("'Paris'", "'Lyon'"),  # changed literal
        GOLD.replace("p.full_name", "t.name"),  # other column
        "SELECT 'x' WHERE 0",  # empty, with as many columns as the gold
    ):
        verdict = v.check(t, wrong)
        assert (verdict.valid, verdict.reason) == (False, "mismatch"), wrong
    for right in (
        "SELECT full_name AS who FROM players WHERE 3 < goals AND team_id IN "
        "(SELECT team_id FROM teams WHERE city = 'Paris')",
        GOLD + " ORDER BY 1",
    ):
        verdict = v.check(t, right)
        assert (verdict.valid, verdict.reason) == (True, "ok"), (right, verdict)


def test_benchmark_ex_rules_hold_on_every_test_database():
    """Spider's and BIRD's rules must hold on each database the verdict judges on: on an
    empty context alone, an answer that selects nothing passes both."""
    from sqlbench.evaluation.accuracy import format_table, judge, summarize
    from sqlbench.prompts import format_answer
    from sqlbench.sqlcheck.ex_rules import ex_bird, ex_spider

    v = Validator()
    t = task(GOLD)
    empty = "SELECT 'x' WHERE 0"
    pairs = v.result_rows(t, empty)
    assert len(pairs) == 1 + v.test_databases
    assert pairs[0] == ([], []) and ex_spider(*pairs[0], GOLD) and ex_bird(*pairs[0])  # the context alone
    for sql, expected in (
        (GOLD, (True, True, True)),
        ("SELECT full_name FROM players WHERE 3 < goals AND team_id IN (SELECT team_id FROM teams WHERE city = 'Paris')",
         (True, True, True)),
        (empty, (False, False, False)),
        (GOLD.replace(" AND p.goals > 3", ""), (False, False, False)),  # dropped conjunct
        (GOLD.replace("p.goals > 3", "p.goals >= 3"), (False, False, False)),  # flipped comparison
    ):
        rec = judge(t, format_answer("why", sql), v)
        assert (rec["valid"], rec["ex_spider"], rec["ex_bird"]) == expected, (sql, rec)
    unverified = task("SELECT full_name FROM players WHERE 1 = 0")
    rec = judge(unverified, format_answer("why", empty), v)
    assert (rec["reason"], rec["ex_spider"], rec["ex_bird"]) == ("unverified", False, False)
    table = format_table(summarize([rec, judge(t, format_answer("why", empty), v)]))
    assert table.splitlines()[-1] == "verdicts: mismatch 1, unverified 1"  # eval's table counts it apart


def test_dml_on_a_schema_only_context_is_judged_on_the_test_databases():
    v = Validator()
    t = task("UPDATE players SET rating = 0 WHERE goals > 3")
    assert v.check(t, "UPDATE players SET rating = 0 WHERE 3 < goals").reason == "ok"
    assert v.check(t, "UPDATE players SET rating = 0 WHERE goals >= 3").reason == "mismatch"
    assert v.check(t, "SELECT 1").reason == "mismatch"


def test_a_gold_that_selects_nothing_anywhere_is_unverified():
    v = Validator()
    for gold in ("SELECT full_name FROM players WHERE 1 = 0",
                 "SELECT COUNT(*) FROM players WHERE goals IS NULL AND goals IS NOT NULL"):
        t = task(gold)
        gold_verdict = v.check(t)
        assert (gold_verdict.valid, gold_verdict.reason) == (False, "unverified")
        assert "cannot tell answers apart" in gold_verdict.detail
        answer = v.check(t, gold)
        assert (answer.valid, answer.reason) == (False, "unverified")
    # a wrong answer that differs even there is still a mismatch, not unverified
    assert v.check(task("SELECT full_name FROM players WHERE 1 = 0"), "SELECT full_name FROM players").reason \
        == "mismatch"


def test_no_test_databases_means_an_empty_gold_is_unverified_not_ok():
    v = Validator(test_databases=0)
    t = task(GOLD)
    assert v.check(t, "SELECT 'x' WHERE 0").reason == "unverified"
    assert v.check(t, "SELECT 1, 2").reason == "mismatch"  # column count still tells


ROWS_CONTEXT = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER);\n"
    "INSERT INTO t VALUES (1, 2), (2, 9), (3, 12);\n"
)


def test_contexts_with_rows_keep_todays_verdicts_unless_asked():
    t = task("SELECT id FROM t WHERE x > 5", ROWS_CONTEXT)
    near_miss = "SELECT id FROM t WHERE x >= 5"  # the same rows here: no row has x = 5
    assert Validator().check(t, near_miss).reason == "ok"
    assert Validator().check(task("SELECT id FROM t WHERE x > 50", ROWS_CONTEXT), "SELECT 1 WHERE 0").reason == "ok"
    strict = Validator(test_databases_with_rows=True)
    assert strict.check(t, near_miss).reason == "mismatch"
    assert strict.check(t, "SELECT id FROM t WHERE 5 < x").reason == "ok"


def test_validator_settings_travel_to_workers():
    import pickle

    v = pickle.loads(pickle.dumps(Validator(timeout=1.5, test_databases=5, test_databases_with_rows=True)))
    assert (v.timeout, v.test_databases, v.test_databases_with_rows) == (1.5, 5, True)


def test_test_databases_are_cached_per_context_and_gold():
    v = Validator()
    t = task(GOLD)
    v.check(t, GOLD)
    gold = v._gold(t)
    assert len(gold.tests) == 3
    v.check(t, "SELECT 1")
    assert v._gold(t) is gold and len(v._test_images) == 1


@pytest.mark.parametrize("k", [1, 3])
def test_k_is_the_number_of_databases(k):
    v = Validator(test_databases=k)
    t = task(GOLD)
    v.check(t)
    assert len(v._gold(t).tests) == k


def test_hints_read_each_comparison_with_its_operator():
    h = testdb.gold_hints("SELECT * FROM t WHERE 25 < a AND b = 'x' AND c <> 'y' AND d NOT IN (1, 2) "
                          "AND e NOT LIKE 'ab%' AND f BETWEEN 3 AND 7 AND NOT (g >= 4)")
    assert set(h.predicates) == {("a", ">", 25), ("b", "=", "x"), ("c", "<>", "y"), ("d", "<>", 1), ("d", "<>", 2),
                                 ("e", "not like", "ab%"), ("f", "between", (3, 7)), ("g", "<", 4)}


FILTERED = "CREATE TABLE p (id INTEGER PRIMARY KEY, age INTEGER NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL);"
FILTERED_GOLD = "SELECT id FROM p WHERE age > 25 AND status = 'Employed' AND kind <> 'temp'"


def test_rows_meet_every_comparison_or_miss_exactly_one():
    """A dropped or changed condition needs rows that pass all the others and fail it."""
    conds = ("age > 25", "status = 'Employed'", "kind <> 'temp'")
    found = set()
    for image in testdb.build(_image(FILTERED), testdb.gold_hints(FILTERED_GOLD), k=3):
        db = _open(image)
        assert db.execute(FILTERED_GOLD).fetchall()  # rows meet all three, on every database
        for i, missed in enumerate(conds):
            others = " AND ".join(c for j, c in enumerate(conds) if j != i)
            if db.execute(f"SELECT id FROM p WHERE {others} AND NOT ({missed})").fetchall():
                found.add(missed)
        assert db.execute("SELECT 1 FROM p WHERE age = 25").fetchall()  # the boundary, so > and >= differ
    assert found == set(conds)  # each condition alone decides some row


def test_a_column_the_gold_groups_by_keeps_duplicates_even_when_ordered():
    gold = "SELECT status, COUNT(*) FROM p GROUP BY status ORDER BY status"
    for image in testdb.build(_image(FILTERED), testdb.gold_hints(gold), k=3):
        counts = [n for _, n in _open(image).execute(gold).fetchall()]
        assert max(counts) > 1  # COUNT(*) and COUNT(DISTINCT status) differ


def test_a_top_n_per_group_gold_gets_partitions_larger_than_n():
    context = "CREATE TABLE c (id INTEGER PRIMARY KEY, category TEXT NOT NULL, backers INTEGER NOT NULL, name TEXT);"
    gold = ("WITH r AS (SELECT category, name, RANK() OVER (PARTITION BY category ORDER BY backers DESC) AS rnk "
            "FROM c) SELECT category, name FROM r WHERE rnk <= 5 ORDER BY category")
    hints = testdb.gold_hints(gold)
    assert hints.top == 5 and hints.partitioned == {"category"}
    for image in testdb.build(_image(context), hints, k=3):
        sizes = [n for (n,) in _open(image).execute("SELECT COUNT(*) FROM c GROUP BY category")]
        assert max(sizes) > 6
    v = Validator()
    assert v.check(task(gold, context), gold.replace("rnk <= 5", "rnk <= 6")).reason == "mismatch"


def test_spare_databases_are_generated_only_when_the_gold_selects_nothing_on_one():
    v = Validator()
    v.check(task(GOLD), GOLD)
    assert [key[2:] for key in v._test_images] == [(0, 3)]  # the K alone
    rare = "SELECT full_name FROM players WHERE rating IS NULL"  # none on database 0 (no NULLs there)
    v.check(task(rare), rare)
    assert sorted(key[2:] for key in v._test_images if key[1] == testdb.gold_hints(rare).key()) == [(0, 3), (3, 2)]


@pytest.mark.parametrize("gold, bound", [
    ("SELECT count(*) FROM t", 1),
    ("WITH c AS (SELECT a FROM t) SELECT avg(a) FROM c", 1),
    ("SELECT count(*) FILTER (WHERE a > 1) FROM t", 1),
    ("SELECT a FROM t ORDER BY a LIMIT 3", 3),
    ("SELECT max(a, b) FROM t", 0),  # SQLite's two-argument max is scalar
    ("SELECT count(*) OVER () FROM t", 0),  # a window's, one per row
    ("SELECT a, (SELECT count(*) FROM u) FROM t", 0),  # a subquery's
    ("SELECT count(*) FROM t GROUP BY a", 0),
    ("SELECT count(*) FROM t UNION SELECT 1", 0),
])
def test_hints_bound_the_rows_a_gold_can_return(gold, bound):
    assert testdb.gold_hints(gold).most_rows == bound


def test_no_spares_for_a_gold_that_cannot_return_more_rows():
    """A single-row aggregate, non-trivial on each of the K: spares could not outrank them."""
    v = Validator()
    single = "SELECT COUNT(*), MAX(goals) FROM players WHERE goals > 3"
    assert v.check(task(single), single).valid
    assert [key[2:] for key in v._test_images] == [(0, 3)]
    assert all(len(g.result.rows) == 1 and g.result.rows[0][0] > 0 for g in v._gold(task(single)).tests)


def test_a_table_keyed_by_its_parent_is_not_capped_by_a_parent_the_gold_does_not_read():
    context = ("CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT);\n"
               "CREATE TABLE countrylanguage (countrycode TEXT PRIMARY KEY REFERENCES country(code), language TEXT);\n")
    gold = "SELECT language FROM countrylanguage GROUP BY language ORDER BY COUNT(*) DESC LIMIT 1"
    for image in testdb.build(_image(context), testdb.gold_hints(gold), k=3):
        assert _open(image).execute("SELECT COUNT(*) FROM countrylanguage").fetchone()[0] >= testdb.MIN_ROWS // 2
    assert Validator().check(task(gold, context), gold.replace("COUNT(*)", "COUNT(DISTINCT language)")).reason \
        == "mismatch"


def test_groups_by_a_foreign_key_come_in_many_sizes():
    """HAVING COUNT(*) >= 2 and >= 3 differ only where some group has exactly 2 rows:
    the parent the gold groups by is not left at a few rows."""
    context = ("CREATE TABLE documents (document_id INTEGER PRIMARY KEY, name TEXT);\n"
               "CREATE TABLE paragraphs (paragraph_id INTEGER PRIMARY KEY, "
               "document_id INTEGER NOT NULL REFERENCES documents(document_id), text TEXT);\n")
    gold = "SELECT document_id FROM paragraphs GROUP BY document_id HAVING COUNT(*) >= 2"
    sizes = set()
    for image in testdb.build(_image(context), testdb.gold_hints(gold), k=3):
        db = _open(image)
        assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] >= testdb.MIN_ROWS
        sizes |= {n for (n,) in db.execute("SELECT COUNT(*) FROM paragraphs GROUP BY document_id")}
    assert {1, 2, 3} <= sizes
    assert Validator().check(task(gold, context), gold.replace(">= 2", ">= 3")).reason == "mismatch"


def test_the_columns_a_gold_names_and_when_it_may_read_others():
    assert testdb.gold_hints(GOLD).columns == {"full_name", "team_id", "city", "goals"}
    assert testdb.gold_hints("SELECT COUNT(*) FROM a JOIN b USING (k) WHERE z > 3").columns == {"k", "z"}
    for reads_unnamed in ("SELECT * FROM players", "SELECT p.* FROM players p",
                          "SELECT full_name FROM players NATURAL JOIN teams", "not sql at all"):
        assert testdb.gold_hints(reads_unnamed).columns is None, reads_unnamed


def _columns(image: bytes, table: str) -> dict[str, list]:
    db = _open(image)
    cur = db.execute(f"SELECT * FROM {table} ORDER BY rowid")
    rows = cur.fetchall()
    return {d[0]: [r[i] for r in rows] for i, d in enumerate(cur.description)}


def test_unnamed_columns_are_drawn_cheaply_and_leave_the_named_ones_as_they_were():
    import dataclasses

    hints = testdb.gold_hints(GOLD)  # names full_name, team_id, city, goals: not rating, joined, name, founded
    cheap = testdb.build(_image(SCHEMA), hints, k=3)
    full = testdb.build(_image(SCHEMA), dataclasses.replace(hints, columns=None), k=3)
    unnamed = {"players": ("rating", "joined"), "teams": ("name", "founded")}
    differ = False
    for index, (a, b) in enumerate(zip(cheap, full)):
        for table, names in unnamed.items():
            got, was = _columns(a, table), _columns(b, table)
            for name in got:  # the random stream is where it was: every named column is unchanged
                if name not in names:
                    assert got[name] == was[name], (index, table, name)
            for name in names:
                differ |= got[name] != was[name]
                values = [v for v in got[name] if v is not None]
                assert len(set(values)) >= 2  # still varied
                if index == 0:
                    assert None not in got[name]  # database 0 has no NULL
        players = _columns(a, "players")
        assert all(isinstance(v, float) for v in players["rating"] if v is not None)
        assert all(len(v) == 10 and v[4] == "-" for v in players["joined"] if v is not None)
    assert differ  # the cheap draw is in use (the full one gives other values)
    # a NOT NULL column the gold never names never gets NULL
    schema = SCHEMA.replace("joined DATE", "joined DATE NOT NULL")
    for image in testdb.build(_image(schema), testdb.gold_hints(GOLD), k=3):
        assert None not in _columns(image, "players")["joined"]
