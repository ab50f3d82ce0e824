"""Validator.check: every reason, dialect habits, DML final state, caching, threads."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from sqlbench.prompts import format_answer
from sqlbench.records import REASONS
from sqlbench.sqlcheck import Validator
from tests.fixtures.sqlcheck import SHOP_CONTEXT, make_task

GOLD = "SELECT c.name, SUM(o.amount) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name"


def test_gold_itself_is_judged_when_no_candidate(validator, shop_task):
    v = validator.check(shop_task)
    assert (v.valid, v.reason, v.sql) == (True, "ok", shop_task.gold_sql)


def test_equivalent_answers_are_ok(validator, shop_task):
    for cand in (
        GOLD,
        format_answer("Sum each customer's orders.", GOLD),
        # other column order, other names, a needless ORDER BY, integer vs real sums
        "SELECT SUM(amount) AS total, name FROM orders JOIN customers ON customers.id = orders.customer_id "
        "GROUP BY name ORDER BY total DESC",
        "<think>x</think>\n<sql>\n```sql\n" + GOLD + ";\n```\n</sql>",
    ):
        v = validator.check(shop_task, cand)
        assert (v.valid, v.reason) == (True, "ok"), (cand, v)
        assert v.expected is None and v.got is None


def test_format_reason_still_reports_the_sql(validator, shop_task):
    v = validator.check(shop_task, f"<sql>{GOLD}</sql>")
    assert (v.valid, v.reason, v.sql) == (False, "format", GOLD)
    v = validator.check(shop_task, f"<think>   </think><sql>{GOLD}</sql>")
    assert v.reason == "format"
    v = validator.check(shop_task, f"<sql>{GOLD}</sql><think>why</think>")  # sql before the reasoning
    assert v.reason == "format"


def test_syntax_execution_and_mismatch(validator, shop_task):
    v = validator.check(shop_task, "SELEC name FROM customers")
    assert v.reason == "syntax" and "syntax error" in v.detail
    v = validator.check(shop_task, "Here is the query: SELECT name FROM customers")
    assert v.reason == "syntax"
    v = validator.check(shop_task, "SELECT name FROM customers WHERE")
    assert v.reason == "syntax"
    v = validator.check(shop_task, "")
    assert (v.reason, v.detail) == ("syntax", "empty SQL")
    v = validator.check(shop_task, "SELECT nickname FROM customers")
    assert v.reason == "execution" and "no such column: nickname" in v.detail
    v = validator.check(shop_task, "SELECT c.name, SUM(o.amount) FROM customers c JOIN orders o "
                                   "ON o.customer_id = c.id WHERE o.amount > 5 GROUP BY c.name")
    assert v.reason == "mismatch" and not v.valid
    assert v.detail == "3 rows as expected, different values; first difference at row 1 (rows sorted)"
    assert sorted(v.expected) == [["Ada", 25.0], ["Bo", 7.0], ["Cy", 7.0]]
    assert sorted(v.got) == [["Ada", 20.5], ["Bo", 7.0], ["Cy", 7.0]]


def test_order_matters_only_when_the_gold_orders(validator):
    ordered = make_task("SELECT id FROM orders ORDER BY amount DESC, id")
    assert validator.check(ordered, "SELECT id FROM orders ORDER BY amount DESC, id").valid
    v = validator.check(ordered, "SELECT id FROM orders ORDER BY id")
    assert v.reason == "mismatch" and "different order" in v.detail
    unordered = make_task("SELECT id FROM orders")
    assert validator.check(unordered, "SELECT id FROM orders ORDER BY id DESC").valid
    v = validator.check(unordered, "SELECT id FROM orders LIMIT 3")
    assert v.detail.startswith("4 rows expected, 3 returned")


def test_rows_tied_under_the_gold_order_may_come_in_any_order(validator):
    """Orders 12 and 13 both have amount 7.0: ORDER BY amount leaves their order open."""
    for gold in ("SELECT id, amount FROM orders ORDER BY amount DESC",
                 "SELECT id, amount AS total FROM orders ORDER BY total DESC",
                 "SELECT id, amount FROM orders ORDER BY 2 DESC"):
        task = make_task(gold)
        for tie_break in ("id", "id DESC"):
            v = validator.check(task, f"SELECT id, amount FROM orders ORDER BY amount DESC, {tie_break}")
            assert v.valid, (gold, tie_break, v.detail)
        # across tie groups the order still matters
        v = validator.check(task, "SELECT id, amount FROM orders ORDER BY amount")
        assert v.reason == "mismatch" and "different order" in v.detail
        v = validator.check(task, "SELECT id, amount FROM orders ORDER BY amount DESC LIMIT 3")
        assert v.reason == "mismatch"
    # cases a review found accepted wrongly at first: each orders on something other than
    # the output column it seems to, so the order must still be exact
    p = "CREATE TABLE p(id INT, name TEXT, price INT); INSERT INTO p VALUES (1,'a',5),(2,'b',5),(3,'c',7);"
    joined = ("CREATE TABLE t1(id INT, c TEXT); CREATE TABLE t2(c TEXT, v INT);"
              "INSERT INTO t1 VALUES (1,'a'),(2,'b'),(3,'c'),(4,'k'); INSERT INTO t2 VALUES ('k', 9);")
    big = "CREATE TABLE b(id INTEGER, v INT); INSERT INTO b VALUES (9007199254740992, 1), (9007199254740993, 2);"
    rewritten = "CREATE TABLE p(id INT, name TEXT, price INT); INSERT INTO p VALUES (1,'a',3),(2,'b',1),(3,'c',2);"
    for context, gold, wrong in (
        (p, "SELECT price AS name, id FROM p ORDER BY +name", "SELECT price AS name, id FROM p ORDER BY price, id DESC"),
        (joined, "SELECT t2.c, t1.id FROM t1 LEFT JOIN t2 USING (c) ORDER BY c",
         "SELECT t2.c, t1.id FROM t1 LEFT JOIN t2 USING (c) ORDER BY t1.id DESC"),
        (joined, "SELECT t2.c, t1.id FROM t1 NATURAL LEFT JOIN t2 ORDER BY c",
         "SELECT t2.c, t1.id FROM t1 LEFT JOIN t2 USING (c) ORDER BY t2.c, t1.id DESC"),
        (big, "SELECT id FROM b ORDER BY id", "SELECT id FROM b ORDER BY v DESC"),
        (rewritten, 'SELECT name, "price" FROM p WHERE IF(price > 0, 1, 0) = 1 ORDER BY price',
         "SELECT name, 'price' FROM p ORDER BY name"),
    ):
        v = validator.check(make_task(gold, context=context), wrong)
        assert not v.valid and "different order" in v.detail, (gold, v.detail)
    # rounded output, ordered by the exact column: equal-looking rows are not ties
    items = ("CREATE TABLE items (name TEXT, price REAL);\n"
             "INSERT INTO items VALUES ('a', 7.8), ('b', 7.2), ('c', 3.0);")
    task = make_task("SELECT name, CAST(price AS INTEGER) FROM items ORDER BY price", context=items)
    v = validator.check(task, "SELECT name, CAST(price AS INTEGER) FROM items ORDER BY CAST(price AS INTEGER), name")
    assert v.reason == "mismatch" and "different order" in v.detail


def test_dml_compares_the_final_state(validator):
    task = make_task("UPDATE orders SET amount = amount * 2 WHERE customer_id = 1")
    assert validator.check(task, "UPDATE orders SET amount = 2 * amount WHERE customer_id IN (1)").valid
    v = validator.check(task, "UPDATE orders SET amount = amount * 2")
    assert v.reason == "mismatch" and "table orders" in v.detail
    # A SELECT does not change the state the gold changed.
    assert validator.check(task, "SELECT * FROM orders").reason == "mismatch"
    insert = make_task("INSERT INTO customers VALUES (4, 'Di', 'Rome')")
    assert validator.check(insert, "INSERT INTO customers (city, name, id) VALUES ('Rome', 'Di', 4)").valid
    view = make_task("CREATE VIEW paris AS SELECT name FROM customers WHERE city = 'Paris'")
    assert validator.check(view, "CREATE VIEW paris AS SELECT name FROM customers WHERE city LIKE 'Paris'").valid
    v = validator.check(view, "CREATE VIEW paris_view AS SELECT name FROM customers WHERE city = 'Paris'")
    assert v.reason == "mismatch" and "view paris is missing" in v.detail
    # A read-only gold: an answer that deletes rows on the way is wrong even if its rows match.
    read = make_task("SELECT COUNT(*) FROM customers WHERE city = 'Oslo'")
    v = validator.check(read, "DELETE FROM orders; SELECT COUNT(*) FROM customers WHERE city = 'Oslo'")
    assert v.reason == "mismatch" and "final state" in v.detail


def test_several_statements_compare_the_last_rows_and_the_state(validator):
    task = make_task("DELETE FROM orders WHERE amount < 5; SELECT COUNT(*) FROM orders")
    assert validator.check(task, "DELETE FROM orders WHERE amount <= 4.5; SELECT COUNT(id) FROM orders").valid
    v = validator.check(task, "SELECT COUNT(*) - 1 FROM orders")
    assert v.reason == "mismatch"  # same number, but the row was never deleted
    v = validator.check(task, "DELETE FROM orders WHERE amount < 5")
    assert v.reason == "mismatch" and "returns none" in v.detail


def test_bad_context_and_gold_error_cannot_be_judged(validator):
    broken = make_task("SELECT 1", context="CREATE TABLE t (a INT; INSERT INTO nowhere VALUES (1);")
    v = validator.check(broken, "SELECT 1")
    assert (v.valid, v.reason) == (False, "bad_context") and "does not build" in v.detail
    assert validator.check(broken).reason == "bad_context"
    gold_fails = make_task("SELECT missing_column FROM customers")
    v = validator.check(gold_fails, "SELECT name FROM customers")
    assert (v.valid, v.reason) == (False, "gold_error") and "missing_column" in v.detail
    assert validator.check(make_task("   ")).reason == "gold_error"


MYSQL_CONTEXT = (
    "CREATE TABLE `employees` (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(40), dept VARCHAR(20), "
    "salary DECIMAL(10,2), hired DATE, PRIMARY KEY (id));\n"
    "INSERT INTO `employees` (name, dept, salary, hired) VALUES ('Ann', 'IT', 5000, '2019-03-01'), "
    "('Ben', 'HR', 4200.50, '2021-07-15'), ('Cat', 'IT', 6100, '2023-01-09');"
)


def test_mysql_and_postgres_habits_execute(validator):
    task = make_task("SELECT id, name FROM employees WHERE dept = 'IT' ORDER BY id", MYSQL_CONTEXT)
    assert validator.check(task).valid  # AUTO_INCREMENT still numbers the rows
    assert validator.check(task, "SELECT `id`, `name` FROM `employees` WHERE dept = 'IT' ORDER BY 1").valid
    assert validator.check(task, "SELECT id, name FROM employees WHERE dept ILIKE 'it' ORDER BY id").valid
    assert validator.check(task, "SELECT id, name FROM employees WHERE dept = 'IT' ORDER BY id "
                                 "FETCH FIRST 10 ROWS ONLY").valid
    # DATE_SUB/INTERVAL runs, on whichever engine sqlglot's rewrites reach (that choice is theirs).
    dated = make_task("SELECT name FROM employees WHERE hired >= DATE_SUB('2024-01-01', INTERVAL 3 YEAR)",
                      MYSQL_CONTEXT)
    assert validator.check(dated).valid
    assert validator.check(dated, "SELECT name FROM employees WHERE EXTRACT(YEAR FROM hired) >= 2021").valid
    assert validator.check(dated, "SELECT name FROM employees").reason == "mismatch"
    # A gold SQLite runs, and an answer only DuckDB runs (EXTRACT): both are judged on DuckDB.
    plain = make_task("SELECT name FROM employees WHERE hired >= '2021-01-01'", MYSQL_CONTEXT)
    assert validator.check(plain).detail == "gold executes (sqlite)"
    assert validator.check(plain, "SELECT name FROM employees WHERE EXTRACT(YEAR FROM hired) >= 2021").valid
    assert validator.check(plain, "SELECT name FROM employees WHERE EXTRACT(YEAR FROM hired) >= 2023").reason \
        == "mismatch"
    v = validator.check(plain, "SELECT nope FROM employees")  # the model's mistake: SQLite's own error
    assert v.reason == "execution" and "no such column" in v.detail
    # A regular expression needs the second engine whatever sqlglot does: SQLite has no REGEXP
    # function, so no rewrite can run there. The candidate is judged on the gold's engine too.
    regex = make_task("SELECT name FROM employees WHERE regexp_matches(name, '^[AB]')", MYSQL_CONTEXT)
    assert validator.check(regex).detail == "gold executes (duckdb)"
    assert validator.check(regex, "SELECT name FROM employees WHERE name LIKE 'A%' OR name LIKE 'B%'").valid
    assert validator.check(regex, "SELECT name FROM employees").reason == "mismatch"
    v = validator.check(regex, "SELECT nope FROM employees")
    assert v.reason == "execution" and "Binder Error" in v.detail  # DuckDB's own error: same engine as the gold
    # DML on the second engine: the final state is compared there too.
    raise_old = make_task("UPDATE employees SET salary = salary * 1.1 WHERE regexp_matches(name, '^A')",
                          MYSQL_CONTEXT)
    assert validator.check(raise_old).detail == "gold executes (duckdb)"
    assert validator.check(raise_old, "UPDATE employees SET salary = salary * 1.1 WHERE hired < '2021-01-01'").valid
    v = validator.check(raise_old, "UPDATE employees SET salary = salary * 1.2 WHERE hired < '2021-01-01'")
    assert v.reason == "mismatch" and "table employees" in v.detail
    v = validator.check(raise_old, "SELECT * FROM employees")
    assert v.reason == "mismatch" and "final state" in v.detail  # DuckDB's DML "Count" row is no result
    assert validator.check(raise_old, "BEGIN; UPDATE employees SET salary = salary * 1.1 "
                                      "WHERE hired < '2021-01-01'; COMMIT").valid
    # Answers on the cached DuckDB database never see each other's changes.
    for _ in range(3):
        assert validator.check(raise_old, "DELETE FROM employees").reason == "mismatch"
        assert validator.check(raise_old, "UPDATE employees SET salary = salary * 1.1 WHERE hired < '2021-01-01'").valid
    top = make_task("SELECT TOP 2 name FROM employees ORDER BY salary DESC", MYSQL_CONTEXT)  # T-SQL
    assert validator.check(top).valid
    assert validator.check(top, "SELECT name FROM employees ORDER BY salary DESC LIMIT 2").valid
    assert validator.check(top, "SELECT name FROM employees ORDER BY salary LIMIT 2").reason == "mismatch"


def test_context_is_built_once_per_task_and_shared(validator, monkeypatch):
    from sqlbench.sqlcheck import verdict

    built = []
    original = verdict.Validator._build_sqlite
    monkeypatch.setattr(verdict.Validator, "_build_sqlite", lambda self, ctx: built.append(ctx) or original(self, ctx))
    a, b = make_task("SELECT name FROM customers"), make_task("SELECT city FROM customers")
    for _ in range(5):
        assert validator.check(a, "SELECT name FROM customers").valid
        assert validator.check(b, "SELECT city FROM customers").valid
    assert built == [SHOP_CONTEXT]


def test_threads_share_one_validator():
    v = Validator(timeout=2.0)
    tasks = [make_task(f"SELECT id FROM orders WHERE amount > {n}", id=str(n)) for n in range(6)]
    jobs = [(t, f"SELECT id FROM orders WHERE amount > {n + (k % 2) * 10}")
            for k in range(8) for n, t in enumerate(tasks)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda j: v.check(*j), jobs))
    # Thresholds 0-5 keep four or two orders; +10 keeps only the 20.5 one: a mismatch.
    for (task, cand), res in zip(jobs, results):
        assert res.valid == (cand == task.gold_sql), (task.gold_sql, cand, res)
        assert res.reason == ("ok" if res.valid else "mismatch")


def test_every_reason_is_a_known_string(validator, shop_task):
    for cand in (None, GOLD, "<sql>x</sql>", "SELEC", "SELECT x", "SELECT 1", "ATTACH 'a' AS b"):
        assert validator.check(shop_task, cand).reason in REASONS


@pytest.mark.parametrize("timeout", [0.5])
def test_verdict_to_dict_carries_previews_only_when_results_differ(timeout, shop_task):
    v = Validator(timeout=timeout)
    assert set(v.check(shop_task, GOLD).to_dict()) == {"valid", "reason", "detail", "sql"}
    d = v.check(shop_task, "SELECT name, 0 FROM customers").to_dict()
    assert d["reason"] == "mismatch" and len(d["expected"]) == 3 and len(d["got"]) == 3


def test_a_validator_pickles_as_its_settings(shop_task):
    import pickle

    v = Validator(timeout=0.7, max_rows=50)
    assert v.check(shop_task, GOLD).valid
    copy = pickle.loads(pickle.dumps(v))
    assert (copy.timeout, copy.max_rows) == (0.7, 50)
    assert copy.check(shop_task, GOLD).valid


def test_threads_on_the_second_engine():
    v = Validator(timeout=2.0)
    task = make_task("SELECT name FROM employees WHERE hired >= DATE_SUB('2024-01-01', INTERVAL 3 YEAR)",
                     MYSQL_CONTEXT)
    good = "SELECT name FROM employees WHERE hired >= '2021-01-01'"
    bad = "SELECT name FROM employees"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: v.check(task, c), [good, bad] * 6))
    assert [r.reason for r in results] == ["ok", "mismatch"] * 6
    # Writes from concurrent answers on the one cached DuckDB database stay isolated.
    dml = make_task("DELETE FROM employees WHERE hired < DATE_SUB('2022-01-01', INTERVAL 1 YEAR)", MYSQL_CONTEXT)
    answers = ["DELETE FROM employees WHERE hired < '2021-01-01'", "DELETE FROM employees",
               "UPDATE employees SET salary = 0"] * 5
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: v.check(dml, c), answers))
    assert [r.reason for r in results] == ["ok", "mismatch", "mismatch"] * 5


def test_create_index_task_is_judged_by_the_index_not_its_name():
    from sqlbench.records import Task
    from sqlbench.sqlcheck import Validator

    task = Task(id="ix", question="Index shipments by status", gold_sql="CREATE INDEX idx_s ON shipments (status);",
                context="CREATE TABLE shipments (id INTEGER PRIMARY KEY, status TEXT); INSERT INTO shipments VALUES (1, 'open');")
    v = Validator()
    assert v.check(task, "CREATE INDEX any_name ON shipments(status)").valid
    noop = v.check(task, "SELECT 1")
    assert noop.reason == "mismatch" and "index on shipments(status) is missing" in noop.detail
    assert v.check(task, "CREATE INDEX idx_s ON shipments (id)").reason == "mismatch"
    assert v.check(task, "CREATE UNIQUE INDEX idx_s ON shipments (status)").reason == "mismatch"


def test_a_wrong_update_beyond_the_row_cap_is_not_accepted():
    """The final state of a table longer than max_rows is read only in part: a wrong write
    that touches only the rows read must not compare equal (it once did)."""
    ctx = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);\n" + \
        "INSERT INTO t VALUES " + ", ".join(f"({i}, 0)" for i in range(1, 6)) + ";"
    v = Validator(max_rows=2)
    task = make_task("UPDATE t SET v = 1", ctx)
    wrong = v.check(task, "UPDATE t SET v = 1 WHERE id <= 2")  # the two rows the cap lets through
    assert (wrong.valid, wrong.reason) == (False, "mismatch")
    assert "row cap" in wrong.detail
    assert Validator().check(task, "UPDATE t SET v = 1 WHERE id <= 2").reason == "mismatch"
    assert Validator().check(task, "UPDATE t SET v = 1 WHERE id > 0").reason == "ok"


def test_compare_states_refuses_an_overflowing_table():
    from sqlbench.sqlcheck.compare import compare_states

    same = {"t": ("table", 1, [(1,), (2,)], False)}
    assert compare_states(same, same) is None
    capped = {"t": ("table", 1, [(1,), (2,)], True)}
    assert compare_states(capped, capped) is not None
    assert compare_states(same, capped) is not None


def test_ties_under_a_key_that_is_not_selected():
    """Rows equal on an ORDER BY key the answer does not show may come in any order among
    themselves, and only among themselves."""
    ctx = ("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, age INT);\n"
           "INSERT INTO p VALUES (1, 'Ann', 30), (2, 'Bob', 20), (3, 'Cat', 30), (4, 'Dan', 20), (5, 'Eve', 40);")
    v = Validator()
    task = make_task("SELECT name FROM p ORDER BY age, id", ctx)
    loose = make_task("SELECT name FROM p ORDER BY age", ctx)
    for t in (task, loose):
        assert v.check(t, "SELECT name FROM p ORDER BY age, id").reason == "ok"
    # reordering within the tied ages: right for the loose gold only
    assert v.check(loose, "SELECT name FROM p ORDER BY age, id DESC").reason == "ok"
    assert v.check(task, "SELECT name FROM p ORDER BY age, id DESC").reason == "mismatch"
    # across ages the order still matters, and the rows must be the same
    assert v.check(loose, "SELECT name FROM p ORDER BY age DESC").reason == "mismatch"
    assert v.check(loose, "SELECT name FROM p ORDER BY name").reason == "mismatch"
    limited = make_task("SELECT name FROM p ORDER BY age LIMIT 3", ctx)
    assert v.check(limited, "SELECT name FROM p ORDER BY age, id DESC LIMIT 3").reason == "mismatch"  # Ann vs Cat
    assert v.check(make_task("SELECT name FROM p ORDER BY age * 2", ctx),
                   "SELECT name FROM p ORDER BY age, id DESC").reason == "ok"


# ---- read-only answers share one open database per built context --------------------
def _count_sandboxes(monkeypatch) -> list:
    from sqlbench.sqlcheck import verdict

    opened = []
    real = verdict.Validator._sqlite

    def counting(self, *a, **kw):  # every SQLite database the validator opens comes from here
        opened.append(kw.get("read_only"))
        return real(self, *a, **kw)

    monkeypatch.setattr(verdict.Validator, "_sqlite", counting)
    return opened


def test_read_only_answers_reuse_one_open_database(monkeypatch, shop_task):
    v = Validator(timeout=5.0)
    assert v.check(shop_task).valid
    opened = _count_sandboxes(monkeypatch)
    for cand in [GOLD, "SELECT name FROM customers", "SELECT 1", GOLD] * 5:
        v.check(shop_task, cand)
    assert len(opened) <= 1, opened  # the reader the gold's run opened serves them all
    assert v.check(shop_task, GOLD).valid


def test_a_write_inside_a_read_is_judged_on_a_fresh_copy_and_changes_nothing_shared():
    task = make_task("DELETE FROM orders WHERE amount < 5")
    v = Validator(timeout=5.0)
    assert v.check(task).valid
    # starts like a read, writes: the read-only database refuses it, a fresh copy judges it
    ok = v.check(task, "WITH small AS (SELECT id FROM orders WHERE amount < 5) "
                       "DELETE FROM orders WHERE id IN (SELECT id FROM small)")
    assert (ok.valid, ok.reason) == (True, "ok"), ok
    select = make_task("SELECT count(*) FROM orders")
    wrong = v.check(select, "WITH x AS (SELECT 1) DELETE FROM orders")
    assert wrong.reason == "mismatch", wrong
    assert v.check(select, "SELECT count(*) FROM orders").valid  # the shared database still has 4 orders
    assert v.check(select, "SELECT 4").valid


def test_a_timed_out_read_leaves_the_next_answer_judged_as_before():
    """An interrupted statement keeps SQLite's interrupt in force on its connection: the
    database kept open for reads must not be handed to the next answer in that state."""
    task = make_task("SELECT name FROM customers ORDER BY name")
    v = Validator(timeout=0.3)
    v.timeout = 30.0
    assert v.check(task).valid
    v.timeout = 0.3
    endless = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
    assert v.check(task, endless).reason == "timeout"
    v.timeout = 30.0
    after = v.check(task, task.gold_sql)
    assert (after.valid, after.reason) == (True, "ok"), after


def test_rows_past_max_rows_leave_the_shared_database_usable():
    task = make_task("SELECT name FROM customers")
    v = Validator(timeout=5.0, max_rows=2)
    v.check(task, "SELECT o.id FROM orders o, orders p")  # 16 rows: cut at the cap, statement left unfinished
    v2 = Validator(timeout=5.0, max_rows=10)
    assert v2.check(task, "SELECT name FROM customers").valid
    small = make_task("SELECT name FROM customers WHERE city = 'Oslo'")
    v.check(small, "SELECT o.id FROM orders o, orders p")
    assert v.check(small, "SELECT name FROM customers WHERE city = 'Oslo'").valid


def test_threads_share_readers_without_mixing_verdicts(shop_task):
    v = Validator(timeout=10.0)
    answers = [GOLD, "SELECT name, 0 FROM customers", GOLD, "SELECT 1, 2"] * 25
    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(lambda a: v.check(shop_task, a), answers))
    assert [x.valid for x in verdicts] == [a == GOLD for a in answers]


def test_text_that_is_not_sql_is_a_syntax_error_without_a_trip_to_duckdb(monkeypatch, shop_task):
    """A misspelt first word is no dialect form: DuckDB (a worker process, and building
    the context there) is not asked, which made such answers ~10x dearer than the rest."""
    v = Validator(timeout=5.0)
    asked = []
    real = Validator._duck_gold
    monkeypatch.setattr(Validator, "_duck_gold", lambda self, task, gold: asked.append(task) or real(self, task, gold))
    for bad in ("SELEC name FROM customers", "Here is the query: SELECT name FROM customers"):
        verdict = v.check(shop_task, bad)
        assert verdict.reason == "syntax", verdict
    assert asked == []
    # a dialect form SQLite rejects still gets its DuckDB judgement
    extract = make_task("SELECT name FROM customers c JOIN orders o ON o.customer_id = c.id "
                        "WHERE strftime('%Y', o.placed) = '2024' ORDER BY name")
    verdict = v.check(extract, "SELECT name FROM customers c JOIN orders o ON o.customer_id = c.id "
                               "WHERE EXTRACT(YEAR FROM o.placed) = 2024 ORDER BY name")
    assert asked and verdict.valid, verdict


def test_open_readers_keep_to_a_small_share_of_sqlites_heap():
    """Readers' copies live in SQLite's process-wide heap, which the answers' own sorts
    and joins need: together they stay within an eighth of it, and a database too large
    for that share is judged on fresh copies as before."""
    v = Validator(timeout=20.0, test_databases=0, max_memory_mb=256)
    budget = v._reader_budget()
    assert budget == (256 << 20) // 32
    for i in range(12):  # ~1 MB each: twelve would hold three times the share
        ctx = (f"CREATE TABLE t{i}(x);\nINSERT INTO t{i} WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
               f"SELECT i + 1 FROM c WHERE i < 1000) SELECT randomblob(1000) FROM c;")
        task = make_task(f"SELECT count(*) FROM t{i}", context=ctx, id=str(i))
        assert v.check(task, f"SELECT count(x) FROM t{i}").valid
        held = sum(2 * len(r.built.sqlite_image or b"") for r in v._readers.values())
        assert held <= budget, (i, held, budget)
        assert v._reader_held == held  # the running count, kept as readers come and go
    # a run that fails while stepping retires its reader: the count follows
    readers = len(v._readers)
    assert v.check(task, "SELECT abs(-9223372036854775807 - 1) FROM t11").reason == "execution"
    assert len(v._readers) == readers - 1
    assert v._reader_held == sum(2 * len(r.built.sqlite_image or b"") for r in v._readers.values())
    big = ("CREATE TABLE b(x);\nINSERT INTO b WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
           "WHERE i < 3000) SELECT randomblob(1000) FROM c;")
    task = make_task("SELECT count(*) FROM b", context=big, id="big")
    assert v.check(task, "SELECT count(x) FROM b").valid
    assert all(r.built.sqlite_image is None or len(r.built.sqlite_image) < 3_000_000 for r in v._readers.values())


def test_a_duckdb_statement_word_sqlite_does_not_know_still_reaches_duckdb(shop_task):
    v = Validator(timeout=10.0)
    task = make_task("SELECT sum(city = 'Oslo') AS Oslo, sum(city = 'Paris') AS Paris FROM customers")
    for answer in ("PIVOT (SELECT city FROM customers) ON city USING count(*)",
                   "PIVOT_WIDER (SELECT city FROM customers) ON city USING count(*)"):
        verdict = v.check(task, answer)
        assert verdict.valid, (answer, verdict)
