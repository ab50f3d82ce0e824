#!/usr/bin/env python3
"""Build sqlbench's embedded sample text-to-SQL dataset (``tasks.jsonl``).

The dataset follows the column layout of gretel ``synthetic_text_to_sql``:
``id, domain, domain_description, sql_complexity, sql_complexity_description,
sql_task_type, sql_task_type_description, sql_prompt, sql_context, sql,
sql_explanation``.

All content (schemas, seed rows, questions, gold SQL, explanations) is written
by hand below, one function per domain.  Each task's ``sql_context`` is built
from only the tables its gold SQL mentions, so it is small and self-contained.

Running this file (stdlib only)::

    python3 tools/build_sample_tasks.py            # build + self-check
    python3 tools/build_sample_tasks.py --check    # self-check only
    python3 tools/build_sample_tasks.py --show ID  # print a task + result

writes ``sqlbench/data/sample/tasks.jsonl`` deterministically (same bytes every
run) after executing every task's ``sql_context`` then ``sql`` in a fresh
in-memory SQLite database.  Any error aborts with a non-zero exit status.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections import Counter
from pathlib import Path

OUT_PATH = Path(__file__).resolve().parent.parent / "sqlbench" / "data" / "sample" / "tasks.jsonl"

# Column order of every JSON line (gretel synthetic_text_to_sql layout).
FIELDS = (
    "id",
    "domain",
    "domain_description",
    "sql_complexity",
    "sql_complexity_description",
    "sql_task_type",
    "sql_task_type_description",
    "sql_prompt",
    "sql_context",
    "sql",
    "sql_explanation",
)

COMPLEXITY = {
    "basic": ("basic SQL", "basic SQL with a simple select statement"),
    "agg": (
        "aggregation",
        "aggregation functions (COUNT, SUM, AVG, MIN, MAX, etc.), and HAVING clause",
    ),
    "join": ("single join", "only one join (specify inner, outer, cross)"),
    "joins": ("multiple_joins", "two or more joins (specify inner and/or outer)"),
    "sub": ("subqueries", "subqueries, including correlated and nested subqueries"),
    "win": (
        "window functions",
        "window functions (e.g., ROW_NUMBER, LEAD, LAG, RANK, NTILE, PERCENT_RANK, etc.) "
        "with partitioning and ordering",
    ),
    "set": ("set operations", "set operations such as UNION, INTERSECT, and EXCEPT"),
    "cte": ("CTEs", "common table expressions"),
    "date": (
        "date functions",
        "date and time functions (date, strftime, julianday) on ISO-8601 text dates",
    ),
}

TASK_TYPES = {
    "ar": ("analytics and reporting", "generating reports, dashboards, and analytical insights"),
    "dr": ("data retrieval", "basic data fetching queries"),
    "dm": ("data manipulation", "inserting, updating, or deleting records"),
    "dd": ("data definition", "creating, altering, or dropping tables and other database objects"),
}


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


def sql_literal(value) -> str:
    """Render a Python value as a SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported literal {value!r}")


def one_line(text: str) -> str:
    """Collapse whitespace so SQL and prose are stored on a single line."""
    return " ".join(text.split())


class Table:
    """A table: column definitions (one per line), seed rows and foreign keys."""

    def __init__(self, name: str, columns: str, rows, fks=()):
        self.name = name
        self.columns = [c.strip().rstrip(",") for c in columns.strip().splitlines() if c.strip()]
        self.col_names = [c.split()[0] for c in self.columns]
        self.rows = [tuple(r) for r in rows]
        self.fks = list(fks)  # (column, referenced table, referenced column)
        for row in self.rows:
            if len(row) != len(self.col_names):
                raise ValueError(f"{name}: row {row!r} does not match columns {self.col_names}")

    def create_sql(self, present) -> str:
        parts = list(self.columns)
        for col, ref_table, ref_col in self.fks:
            # Only keep foreign keys whose parent table is part of the context,
            # so every context is self-contained.
            if ref_table in present:
                parts.append(f"FOREIGN KEY ({col}) REFERENCES {ref_table}({ref_col})")
        return f"CREATE TABLE {self.name} ({', '.join(parts)});"

    def insert_sql(self) -> str:
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in self.rows)
        return f"INSERT INTO {self.name} ({', '.join(self.col_names)}) VALUES {values};"


class Task:
    def __init__(self, domain, cx, tt, prompt, sql, explanation, tables=None):
        if cx not in COMPLEXITY:
            raise ValueError(f"unknown complexity {cx!r}")
        if tt not in TASK_TYPES:
            raise ValueError(f"unknown task type {tt!r}")
        self.domain = domain
        self.cx = cx
        self.tt = tt
        self.prompt = one_line(prompt)
        sql = one_line(sql)
        self.sql = sql if sql.endswith(";") else sql + ";"
        self.explanation = one_line(explanation)
        self.tables = domain.tables_for(self.sql, tables)

    def context(self) -> str:
        present = {t.name for t in self.tables}
        stmts = []
        for t in self.tables:
            stmts.append(t.create_sql(present))
            stmts.append(t.insert_sql())
        return "\n".join(stmts)

    def record(self, task_id: int) -> dict:
        cx_name, cx_desc = COMPLEXITY[self.cx]
        tt_name, tt_desc = TASK_TYPES[self.tt]
        values = {
            "id": task_id,
            "domain": self.domain.name,
            "domain_description": self.domain.description,
            "sql_complexity": cx_name,
            "sql_complexity_description": cx_desc,
            "sql_task_type": tt_name,
            "sql_task_type_description": tt_desc,
            "sql_prompt": self.prompt,
            "sql_context": self.context(),
            "sql": self.sql,
            "sql_explanation": self.explanation,
        }
        return {k: values[k] for k in FIELDS}


class Domain:
    def __init__(self, name: str, description: str):
        self.name = name
        self.description = one_line(description)
        self.tables: list[Table] = []
        self.tasks: list[Task] = []

    def table(self, name, columns, rows, fks=()):
        self.tables.append(Table(name, columns, rows, fks))

    def tables_for(self, sql, explicit=None):
        """Tables a query needs: those named in it (in definition order)."""
        if explicit is not None:
            names = set(explicit)
        else:
            names = {t.name for t in self.tables if re.search(rf"\b{t.name}\b", sql, re.IGNORECASE)}
        chosen = [t for t in self.tables if t.name in names]
        if not chosen:
            raise ValueError(f"{self.name}: no known table in {sql!r}")
        return chosen

    def q(self, cx, tt, prompt, sql, explanation, tables=None):
        """Add one hand-written task."""
        self.tasks.append(Task(self, cx, tt, prompt, sql, explanation, tables))


DOMAIN_BUILDERS = []


def domain(fn):
    DOMAIN_BUILDERS.append(fn)
    return fn


# --------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------

# === DOMAINS START ===

@domain
def retail():
    d = Domain(
        "retail",
        "Outdoor-gear retailer: customers with loyalty tiers, a product catalogue with prices and stock, "
        "and single-product orders with dates and fulfilment status.",
    )
    d.table(
        "customers",
        """
        customer_id INTEGER PRIMARY KEY
        first_name TEXT NOT NULL
        last_name TEXT NOT NULL
        email TEXT
        city TEXT
        state TEXT
        signup_date TEXT
        loyalty_tier TEXT
        """,
        [
            (1, "Alice", "Martin", "alice.martin@example.com", "Seattle", "WA", "2022-01-15", "gold"),
            (2, "Brian", "Chen", "brian.chen@mailbox.org", "Portland", "OR", "2022-03-02", "silver"),
            (3, "Carla", "Gomez", "carla.gomez@example.com", "Seattle", "WA", "2022-06-20", None),
            (4, "David", "Okafor", "d.okafor@example.com", "Austin", "TX", "2023-01-08", "gold"),
            (5, "Emma", "Schultz", "emma.s@mailbox.org", "Denver", "CO", "2023-02-14", "bronze"),
            (6, "Farah", "Khan", "farah.khan@example.com", "Austin", "TX", "2023-05-30", "silver"),
            (7, "George", "Ivanov", None, "Chicago", "IL", "2023-07-11", None),
            (8, "Hannah", "Lee", "hannah.lee@example.com", "Portland", "OR", "2023-09-03", "bronze"),
            (9, "Ivan", "Petrov", "ivan.p@mailbox.org", "Chicago", "IL", "2024-01-19", "silver"),
            (10, "Julia", "Rossi", "julia.rossi@example.com", "Denver", "CO", "2024-02-25", None),
        ],
    )
    d.table(
        "products",
        """
        product_id INTEGER PRIMARY KEY
        product_name TEXT NOT NULL
        category TEXT NOT NULL
        unit_price REAL NOT NULL
        stock_qty INTEGER NOT NULL
        """,
        [
            (1, "Trail Running Shoes", "footwear", 89.99, 42),
            (2, "Leather Hiking Boots", "footwear", 149.5, 15),
            (3, "Waterproof Jacket", "apparel", 120.0, 8),
            (4, "Merino Wool Socks", "apparel", 14.99, 200),
            (5, "Insulated Water Bottle", "accessories", 24.95, 75),
            (6, "Trekking Poles", "equipment", 59.0, 0),
            (7, "Camping Tent 2P", "equipment", 219.0, 5),
            (8, "Headlamp", "accessories", 34.5, 60),
            (9, "Down Sleeping Bag", "equipment", 189.99, 12),
            (10, "Sun Hat", "apparel", 19.99, 0),
        ],
    )
    d.table(
        "orders",
        """
        order_id INTEGER PRIMARY KEY
        customer_id INTEGER NOT NULL
        product_id INTEGER NOT NULL
        quantity INTEGER NOT NULL
        order_date TEXT NOT NULL
        status TEXT NOT NULL
        """,
        [
            (101, 1, 1, 1, "2024-01-05", "delivered"),
            (102, 1, 4, 3, "2024-01-05", "delivered"),
            (103, 2, 3, 1, "2024-01-18", "delivered"),
            (104, 4, 7, 1, "2024-02-02", "delivered"),
            (105, 3, 5, 2, "2024-02-10", "cancelled"),
            (106, 5, 2, 1, "2024-02-21", "delivered"),
            (107, 4, 8, 2, "2024-03-03", "shipped"),
            (108, 6, 9, 1, "2024-03-15", "delivered"),
            (109, 7, 1, 2, "2024-03-22", "shipped"),
            (110, 2, 6, 1, "2024-04-01", "pending"),
            (111, 8, 4, 5, "2024-04-09", "pending"),
            (112, 9, 3, 1, "2024-04-12", "cancelled"),
            (113, 1, 9, 1, "2024-04-20", "pending"),
        ],
        fks=[("customer_id", "customers", "customer_id"), ("product_id", "products", "product_id")],
    )

    # --- basic retrieval -------------------------------------------------
    d.q("basic", "dr",
        "Which products are out of stock right now? Give me their names and categories, alphabetically by name.",
        "SELECT product_name, category FROM products WHERE stock_qty = 0 ORDER BY product_name",
        "Filters products to rows whose stock_qty is 0 and returns name and category, sorted by product name.")
    d.q("basic", "dr",
        "Show the first name, last name and email of customers based in Seattle or Portland, sorted by last name then first name.",
        "SELECT first_name, last_name, email FROM customers WHERE city IN ('Seattle', 'Portland') ORDER BY last_name, first_name",
        "Uses IN to keep customers whose city is Seattle or Portland and sorts them by last and first name.")
    d.q("basic", "dr",
        "List the products that cost between $20 and $100 (inclusive), cheapest first.",
        "SELECT product_name, unit_price FROM products WHERE unit_price BETWEEN 20 AND 100 ORDER BY unit_price, product_id",
        "Applies BETWEEN 20 AND 100 on unit_price (inclusive on both ends) and orders the matches by ascending price.")
    d.q("basic", "dr",
        "Which customers haven't been given a loyalty tier yet? Return their ids and full names.",
        "SELECT customer_id, first_name, last_name FROM customers WHERE loyalty_tier IS NULL ORDER BY customer_id",
        "A missing tier is stored as NULL, so the query filters with loyalty_tier IS NULL and lists the matching customers by id.")
    d.q("basic", "dr",
        "Find customers whose email address is hosted at mailbox.org.",
        "SELECT customer_id, first_name, last_name, email FROM customers WHERE email LIKE '%@mailbox.org' ORDER BY customer_id",
        "Matches email against the LIKE pattern '%@mailbox.org', which keeps addresses ending in that domain.")
    d.q("basic", "dr",
        "What are the three most expensive products we sell? Show name and price.",
        "SELECT product_name, unit_price FROM products ORDER BY unit_price DESC, product_id LIMIT 3",
        "Sorts products by unit_price descending (product_id breaks ties) and keeps the first three rows with LIMIT 3.")
    d.q("basic", "dr",
        "Show each product's name, price and a price band: 'budget' under $30, 'mid-range' from $30 up to $150, and 'premium' above that.",
        "SELECT product_name, unit_price, CASE WHEN unit_price < 30 THEN 'budget' WHEN unit_price <= 150 THEN 'mid-range' "
        "ELSE 'premium' END AS price_band FROM products ORDER BY product_id",
        "A CASE expression maps unit_price into three bands, checking the cheapest band first so each product gets exactly one label.")

    # --- aggregation -----------------------------------------------------
    d.q("agg", "ar",
        "How many orders are there in each status?",
        "SELECT status, COUNT(*) AS order_count FROM orders GROUP BY status ORDER BY status",
        "Groups the orders table by status and counts the rows in each group.")
    d.q("agg", "ar",
        "What is the average product price in each category, rounded to two decimals?",
        "SELECT category, ROUND(AVG(unit_price), 2) AS avg_price FROM products GROUP BY category ORDER BY category",
        "Groups products by category and averages unit_price in each group, rounding the result to 2 decimal places.")
    d.q("agg", "ar",
        "Which customers have placed more than one order? Give the customer id and how many orders they placed.",
        "SELECT customer_id, COUNT(*) AS order_count FROM orders GROUP BY customer_id HAVING COUNT(*) > 1 ORDER BY customer_id",
        "Counts orders per customer_id and keeps only groups with more than one order using HAVING.")
    d.q("agg", "ar",
        "How many units of each product have been delivered? Only count delivered orders.",
        "SELECT product_id, SUM(quantity) AS units_delivered FROM orders WHERE status = 'delivered' GROUP BY product_id ORDER BY product_id",
        "Filters orders to status 'delivered' before grouping by product_id and summing quantity.")
    d.q("agg", "ar",
        "Give me a stock summary: total units in stock, the lowest price and the highest price across the whole catalogue.",
        "SELECT SUM(stock_qty) AS total_units, MIN(unit_price) AS lowest_price, MAX(unit_price) AS highest_price FROM products",
        "Aggregates the whole products table at once: SUM of stock_qty plus MIN and MAX of unit_price.")
    d.q("agg", "ar",
        "Which product categories have at least 50 units in stock in total?",
        "SELECT category, SUM(stock_qty) AS units_in_stock FROM products GROUP BY category HAVING SUM(stock_qty) >= 50 ORDER BY category",
        "Sums stock_qty per category and uses HAVING to keep categories whose total is 50 or more.")

    # --- joins -----------------------------------------------------------
    d.q("join", "dr",
        "List the cancelled orders with the full name of the customer who placed each one.",
        "SELECT o.order_id, c.first_name, c.last_name, o.order_date FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
        "WHERE o.status = 'cancelled' ORDER BY o.order_id",
        "Joins orders to customers on customer_id to get names, then filters to cancelled orders.")
    d.q("join", "ar",
        "For every customer, including those who have never ordered, show how many orders they have placed. Put the busiest customers first.",
        "SELECT c.customer_id, c.first_name, c.last_name, COUNT(o.order_id) AS order_count FROM customers c "
        "LEFT JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.first_name, c.last_name "
        "ORDER BY order_count DESC, c.customer_id",
        "A LEFT JOIN keeps customers without orders; COUNT(o.order_id) counts only matched orders, so those customers get 0.")
    d.q("join", "ar",
        "What is the revenue per product category from delivered orders, rounded to cents? Highest revenue first.",
        "SELECT p.category, ROUND(SUM(o.quantity * p.unit_price), 2) AS revenue FROM orders o JOIN products p ON p.product_id = o.product_id "
        "WHERE o.status = 'delivered' GROUP BY p.category ORDER BY revenue DESC, p.category",
        "Joins orders to products to get unit prices, keeps delivered orders, and sums quantity * unit_price per category.")
    d.q("join", "dr",
        "Which products have never been ordered?",
        "SELECT p.product_id, p.product_name FROM products p LEFT JOIN orders o ON o.product_id = p.product_id "
        "WHERE o.order_id IS NULL ORDER BY p.product_id",
        "LEFT JOIN products to orders and keep rows where no order matched (o.order_id IS NULL), i.e. products never ordered.")
    d.q("joins", "dr",
        "For every order that is still pending or shipped, show the customer's name, the product name and the quantity.",
        "SELECT o.order_id, c.first_name, c.last_name, p.product_name, o.quantity FROM orders o "
        "JOIN customers c ON c.customer_id = o.customer_id JOIN products p ON p.product_id = o.product_id "
        "WHERE o.status IN ('pending', 'shipped') ORDER BY o.order_id",
        "Joins orders to customers and to products, then keeps orders whose status is pending or shipped.")
    d.q("joins", "ar",
        "How much has each state spent on non-cancelled orders? Round to cents and sort from highest to lowest.",
        "SELECT c.state, ROUND(SUM(o.quantity * p.unit_price), 2) AS total_spent FROM orders o "
        "JOIN customers c ON c.customer_id = o.customer_id JOIN products p ON p.product_id = o.product_id "
        "WHERE o.status <> 'cancelled' GROUP BY c.state ORDER BY total_spent DESC, c.state",
        "Joins orders with customers (for state) and products (for price), excludes cancelled orders and sums order value per state.")
    d.q("joins", "dr",
        "Which Texas customers bought equipment? Show the customer name and the product they bought.",
        "SELECT c.first_name, c.last_name, p.product_name FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
        "JOIN products p ON p.product_id = o.product_id WHERE c.state = 'TX' AND p.category = 'equipment' "
        "ORDER BY c.last_name, p.product_name",
        "Links customers to their orders and the ordered products, then filters on state 'TX' and category 'equipment'.")

    # --- subqueries ------------------------------------------------------
    d.q("sub", "dr",
        "Which products are priced above the average price of all products?",
        "SELECT product_name, unit_price FROM products WHERE unit_price > (SELECT AVG(unit_price) FROM products) ORDER BY unit_price DESC, product_id",
        "A scalar subquery computes the overall average unit_price; the outer query keeps products priced above it.")
    d.q("sub", "dr",
        "Find the customers who have never placed an order.",
        "SELECT c.customer_id, c.first_name, c.last_name FROM customers c "
        "WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id) ORDER BY c.customer_id",
        "NOT EXISTS with a correlated subquery keeps customers for whom no row in orders has their customer_id.")
    d.q("sub", "dr",
        "Which products have been ordered by gold-tier customers?",
        "SELECT product_id, product_name FROM products WHERE product_id IN (SELECT o.product_id FROM orders o "
        "WHERE o.customer_id IN (SELECT customer_id FROM customers WHERE loyalty_tier = 'gold')) ORDER BY product_id",
        "Nested IN subqueries: first find gold customers, then the product ids they ordered, then the matching products.")
    d.q("sub", "dr",
        "What is the most expensive product in each category?",
        "SELECT category, product_name, unit_price FROM products p WHERE unit_price = "
        "(SELECT MAX(p2.unit_price) FROM products p2 WHERE p2.category = p.category) ORDER BY category",
        "A correlated subquery finds the maximum price within the outer row's category; rows matching that maximum are returned.")

    # --- window functions ------------------------------------------------
    d.q("win", "ar",
        "Rank products by price within each category, most expensive first.",
        "SELECT category, product_name, unit_price, RANK() OVER (PARTITION BY category ORDER BY unit_price DESC) AS price_rank "
        "FROM products ORDER BY category, price_rank, product_id",
        "RANK() partitioned by category and ordered by unit_price descending numbers products within their own category.")
    d.q("win", "ar",
        "Show a running total of units ordered over time, in order date sequence.",
        "SELECT order_id, order_date, quantity, SUM(quantity) OVER (ORDER BY order_date, order_id) AS running_units "
        "FROM orders ORDER BY order_date, order_id",
        "SUM(quantity) as a window ordered by order_date (order_id as tiebreaker) accumulates units row by row.")
    d.q("win", "ar",
        "For each order, show the date of the same customer's previous order, if any.",
        "SELECT customer_id, order_id, order_date, LAG(order_date) OVER (PARTITION BY customer_id ORDER BY order_date, order_id) "
        "AS previous_order_date FROM orders ORDER BY customer_id, order_date, order_id",
        "LAG over a window partitioned by customer and ordered by date returns the prior order date, or NULL for a first order.")

    # --- set operations --------------------------------------------------
    d.q("set", "dr",
        "Which products have been ordered but have never had a delivered order? Just the product ids.",
        "SELECT product_id FROM orders EXCEPT SELECT product_id FROM orders WHERE status = 'delivered' ORDER BY product_id",
        "EXCEPT removes the product ids that appear in delivered orders from the set of all ordered product ids.")
    d.q("set", "dr",
        "Give me the ids of customers who are either gold tier or have placed a single order of 3 or more units.",
        "SELECT customer_id FROM customers WHERE loyalty_tier = 'gold' UNION SELECT customer_id FROM orders WHERE quantity >= 3 "
        "ORDER BY customer_id",
        "UNION merges gold-tier customer ids with ids from large orders and removes duplicates.")

    # --- CTEs --------------------------------------------------------------
    d.q("cte", "ar",
        "Which customers have spent more than $200 on orders that weren't cancelled? Show their name and total, rounded to cents.",
        "WITH spend AS (SELECT o.customer_id, SUM(o.quantity * p.unit_price) AS total FROM orders o "
        "JOIN products p ON p.product_id = o.product_id WHERE o.status <> 'cancelled' GROUP BY o.customer_id) "
        "SELECT c.first_name, c.last_name, ROUND(s.total, 2) AS total_spent FROM spend s JOIN customers c ON c.customer_id = s.customer_id "
        "WHERE s.total > 200 ORDER BY total_spent DESC, c.customer_id",
        "The CTE totals non-cancelled order value per customer; the main query joins it to customers and keeps totals above 200.")
    d.q("cte", "ar",
        "What percentage of delivered revenue does each category account for? Round to two decimals.",
        "WITH cat AS (SELECT p.category, SUM(o.quantity * p.unit_price) AS revenue FROM orders o JOIN products p ON p.product_id = o.product_id "
        "WHERE o.status = 'delivered' GROUP BY p.category) SELECT category, ROUND(100.0 * revenue / (SELECT SUM(revenue) FROM cat), 2) "
        "AS pct_of_revenue FROM cat ORDER BY pct_of_revenue DESC, category",
        "The CTE computes delivered revenue per category; the outer query divides each by the CTE's grand total to get a percentage.")

    # --- dates -------------------------------------------------------------
    d.q("date", "ar",
        "How many orders were placed in each month of 2024?",
        "SELECT strftime('%Y-%m', order_date) AS order_month, COUNT(*) AS order_count FROM orders "
        "WHERE strftime('%Y', order_date) = '2024' GROUP BY order_month ORDER BY order_month",
        "strftime('%Y-%m', order_date) turns each date into a year-month key; orders from 2024 are counted per month.")
    d.q("date", "ar",
        "How many days passed between each customer's signup and their first order?",
        "SELECT c.customer_id, c.first_name, CAST(julianday(MIN(o.order_date)) - julianday(c.signup_date) AS INTEGER) AS days_to_first_order "
        "FROM customers c JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.first_name, c.signup_date ORDER BY c.customer_id",
        "For each customer with orders, julianday differences between the earliest order_date and signup_date give the elapsed days.")
    d.q("date", "dr",
        "As of 15 April 2024, which orders were placed in the previous 14 days?",
        "SELECT order_id, order_date, status FROM orders WHERE order_date BETWEEN date('2024-04-15', '-14 days') AND '2024-04-15' "
        "ORDER BY order_date, order_id",
        "date('2024-04-15', '-14 days') gives the window start (2024-04-01); ISO dates compare correctly as text with BETWEEN.")

    # --- DML / DDL -------------------------------------------------------
    d.q("basic", "dm",
        "Add a new product: id 11, 'Trail Gaiters' in the apparel category, priced at $29.99 with 40 units in stock.",
        "INSERT INTO products (product_id, product_name, category, unit_price, stock_qty) VALUES (11, 'Trail Gaiters', 'apparel', 29.99, 40)",
        "Inserts one row into products, listing the columns explicitly so each value lands in the right field.")
    d.q("basic", "dm",
        "Raise the price of every equipment product by 10%, rounded to cents.",
        "UPDATE products SET unit_price = ROUND(unit_price * 1.10, 2) WHERE category = 'equipment'",
        "Updates only rows in the equipment category, multiplying unit_price by 1.10 and rounding to 2 decimals.")
    d.q("sub", "dm",
        "Mark every pending order from Portland customers as shipped.",
        "UPDATE orders SET status = 'shipped' WHERE status = 'pending' AND customer_id IN (SELECT customer_id FROM customers WHERE city = 'Portland')",
        "The IN subquery finds Portland customer ids; the UPDATE changes status only on their orders that are still pending.")
    d.q("basic", "dm",
        "Delete all cancelled orders.",
        "DELETE FROM orders WHERE status = 'cancelled'",
        "Removes the rows in orders whose status is 'cancelled'; all other orders are kept.")
    d.q("join", "dd",
        "Create a view named customer_order_counts that shows each customer's id, first and last name, and how many orders they have (0 if none).",
        "CREATE VIEW customer_order_counts AS SELECT c.customer_id, c.first_name, c.last_name, COUNT(o.order_id) AS order_count "
        "FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.first_name, c.last_name",
        "Defines a view over a LEFT JOIN of customers and orders, counting matched orders per customer so customers with no orders show 0.")
    d.q("basic", "dd",
        "Add a discontinued flag to the products table that defaults to 0.",
        "ALTER TABLE products ADD COLUMN discontinued INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE ... ADD COLUMN appends the new column; the DEFAULT fills existing rows with 0.")
    d.q("sub", "dm",
        "Drop products that have never been ordered from the catalogue.",
        "DELETE FROM products WHERE product_id NOT IN (SELECT product_id FROM orders)",
        "The subquery lists every ordered product id; NOT IN deletes the products missing from that list.")
    d.q("basic", "dd",
        "Create a table restock_list with the id, name and stock level of every product that has fewer than 10 units left.",
        "CREATE TABLE restock_list AS SELECT product_id, product_name, stock_qty FROM products WHERE stock_qty < 10",
        "CREATE TABLE AS SELECT stores the low-stock products (stock_qty below 10) in a new table.")
    d.q("basic", "dr",
        "Which products have 'Water' somewhere in their name?",
        "SELECT product_id, product_name FROM products WHERE product_name LIKE '%Water%' ORDER BY product_id",
        "The LIKE pattern '%Water%' matches the word anywhere in product_name, e.g. 'Waterproof' and 'Water Bottle'.")
    return d


@domain
def healthcare():
    d = Domain(
        "healthcare",
        "Outpatient clinic records: patients with insurance details, doctors with specialties and fees, "
        "and appointments with status, diagnosis and billed amount.",
    )
    d.table(
        "patients",
        """
        patient_id INTEGER PRIMARY KEY
        first_name TEXT NOT NULL
        last_name TEXT NOT NULL
        birth_date TEXT NOT NULL
        sex TEXT
        city TEXT
        insurance_provider TEXT
        """,
        [
            (1, "Maria", "Lopez", "1985-03-12", "F", "Boston", "BlueShield"),
            (2, "James", "Wilson", "1958-07-30", "M", "Boston", "Medicare"),
            (3, "Priya", "Sharma", "1992-11-05", "F", "Cambridge", "Aetna"),
            (4, "Robert", "King", "1974-01-22", "M", "Somerville", None),
            (5, "Linda", "Park", "1949-05-17", "F", "Boston", "Medicare"),
            (6, "Omar", "Haddad", "2012-08-09", "M", "Cambridge", "BlueShield"),
            (7, "Chloe", "Dubois", "2016-02-28", "F", "Quincy", "Aetna"),
            (8, "Samuel", "Adeyemi", "1967-10-03", "M", "Quincy", None),
            (9, "Nina", "Kowalski", "1990-06-14", "F", "Somerville", "BlueShield"),
            (10, "Ethan", "Brooks", "1981-12-01", "M", "Boston", "Aetna"),
        ],
    )
    d.table(
        "doctors",
        """
        doctor_id INTEGER PRIMARY KEY
        full_name TEXT NOT NULL
        specialty TEXT NOT NULL
        hire_date TEXT NOT NULL
        consultation_fee REAL NOT NULL
        """,
        [
            (1, "Dr. Sarah Nguyen", "cardiology", "2015-04-01", 250.0),
            (2, "Dr. Michael Brown", "pediatrics", "2018-09-15", 150.0),
            (3, "Dr. Aisha Patel", "dermatology", "2020-01-10", 180.0),
            (4, "Dr. Tom Fischer", "cardiology", "2012-06-20", 275.0),
            (5, "Dr. Laura Santos", "general practice", "2019-03-05", 120.0),
            (6, "Dr. Kenji Watanabe", "orthopedics", "2021-11-01", 220.0),
        ],
    )
    d.table(
        "appointments",
        """
        appointment_id INTEGER PRIMARY KEY
        patient_id INTEGER NOT NULL
        doctor_id INTEGER NOT NULL
        appt_date TEXT NOT NULL
        status TEXT NOT NULL
        diagnosis TEXT
        billed_amount REAL
        """,
        [
            (1, 1, 5, "2024-01-08", "completed", "Seasonal flu", 120.0),
            (2, 2, 1, "2024-01-10", "completed", "Atrial fibrillation", 250.0),
            (3, 5, 4, "2024-01-15", "completed", "Hypertension", 275.0),
            (4, 6, 2, "2024-01-22", "completed", "Ear infection", 150.0),
            (5, 3, 3, "2024-02-02", "cancelled", None, None),
            (6, 2, 1, "2024-02-12", "completed", "Atrial fibrillation", 250.0),
            (7, 7, 2, "2024-02-17", "no-show", None, None),
            (8, 8, 5, "2024-03-01", "completed", "Type 2 diabetes", 120.0),
            (9, 9, 3, "2024-03-07", "completed", "Eczema", 180.0),
            (10, 5, 1, "2024-03-14", "completed", "Hypertension", 250.0),
            (11, 4, 5, "2024-03-20", "no-show", None, None),
            (12, 1, 3, "2024-04-03", "scheduled", None, None),
            (13, 8, 4, "2024-04-13", "scheduled", None, None),
            (14, 3, 5, "2024-04-11", "completed", "Migraine", 120.0),
        ],
        fks=[("patient_id", "patients", "patient_id"), ("doctor_id", "doctors", "doctor_id")],
    )

    d.q("basic", "dr",
        "List patients born before 1960, oldest first, with their birth dates.",
        "SELECT first_name, last_name, birth_date FROM patients WHERE birth_date < '1960-01-01' ORDER BY birth_date",
        "ISO-8601 dates compare correctly as text, so birth_date < '1960-01-01' keeps patients born before 1960; results are sorted oldest first.")
    d.q("basic", "dr",
        "Which patients have no insurance provider on record?",
        "SELECT patient_id, first_name, last_name FROM patients WHERE insurance_provider IS NULL ORDER BY patient_id",
        "Patients without insurance have a NULL insurance_provider, so the filter uses IS NULL rather than = NULL.")
    d.q("basic", "dr",
        "Show all cardiologists and their consultation fees, highest fee first.",
        "SELECT full_name, consultation_fee FROM doctors WHERE specialty = 'cardiology' ORDER BY consultation_fee DESC, doctor_id",
        "Filters doctors on specialty = 'cardiology' and sorts by consultation_fee from highest to lowest.")
    d.q("basic", "dr",
        "Find patients whose last name starts with K.",
        "SELECT patient_id, first_name, last_name FROM patients WHERE last_name LIKE 'K%' ORDER BY last_name, patient_id",
        "The LIKE pattern 'K%' matches last names beginning with K.")
    d.q("basic", "dr",
        "Which appointments were missed, meaning they were either cancelled or a no-show? Show id, date and status.",
        "SELECT appointment_id, appt_date, status FROM appointments WHERE status IN ('cancelled', 'no-show') ORDER BY appt_date, appointment_id",
        "IN ('cancelled', 'no-show') keeps both kinds of missed appointment; rows are listed by date.")

    d.q("agg", "ar",
        "How many patients does each insurance provider cover? Show patients without insurance as 'uninsured'.",
        "SELECT COALESCE(insurance_provider, 'uninsured') AS provider, COUNT(*) AS patient_count FROM patients "
        "GROUP BY COALESCE(insurance_provider, 'uninsured') ORDER BY provider",
        "COALESCE replaces NULL providers with 'uninsured' so they form their own group; COUNT(*) counts patients per provider.")
    d.q("agg", "ar",
        "What is the total billed amount across completed appointments, and the average bill per completed visit?",
        "SELECT SUM(billed_amount) AS total_billed, ROUND(AVG(billed_amount), 2) AS avg_bill FROM appointments WHERE status = 'completed'",
        "Restricts to completed appointments, then SUM and AVG (rounded to 2 places) summarise billed_amount.")
    d.q("agg", "ar",
        "Which doctors have more than two appointments booked in total (any status)? Give the doctor id and count.",
        "SELECT doctor_id, COUNT(*) AS appointment_count FROM appointments GROUP BY doctor_id HAVING COUNT(*) > 2 ORDER BY doctor_id",
        "Groups appointments by doctor_id and keeps groups with more than two rows via HAVING.")
    d.q("agg", "ar",
        "Which diagnoses have been recorded more than once, and how many times each?",
        "SELECT diagnosis, COUNT(*) AS times_recorded FROM appointments WHERE diagnosis IS NOT NULL GROUP BY diagnosis "
        "HAVING COUNT(*) > 1 ORDER BY diagnosis",
        "Ignores appointments without a diagnosis, counts each diagnosis and keeps those appearing more than once.")
    d.q("agg", "ar",
        "What is the average consultation fee in each specialty, rounded to two decimals?",
        "SELECT specialty, ROUND(AVG(consultation_fee), 2) AS avg_fee FROM doctors GROUP BY specialty ORDER BY specialty",
        "Groups doctors by specialty and averages consultation_fee within each group.")

    d.q("join", "dr",
        "Show every completed appointment with the patient's full name, the date and the diagnosis.",
        "SELECT a.appointment_id, p.first_name, p.last_name, a.appt_date, a.diagnosis FROM appointments a "
        "JOIN patients p ON p.patient_id = a.patient_id WHERE a.status = 'completed' ORDER BY a.appt_date, a.appointment_id",
        "Joins appointments to patients on patient_id to get names and keeps only completed appointments.")
    d.q("join", "ar",
        "How many appointments does each doctor have? Include doctors with none.",
        "SELECT d.full_name, COUNT(a.appointment_id) AS appointment_count FROM doctors d LEFT JOIN appointments a ON a.doctor_id = d.doctor_id "
        "GROUP BY d.doctor_id, d.full_name ORDER BY appointment_count DESC, d.doctor_id",
        "LEFT JOIN from doctors keeps doctors without appointments; counting a.appointment_id gives 0 for them.")
    d.q("join", "ar",
        "How much has been billed per specialty?",
        "SELECT d.specialty, SUM(a.billed_amount) AS total_billed FROM appointments a JOIN doctors d ON d.doctor_id = a.doctor_id "
        "WHERE a.billed_amount IS NOT NULL GROUP BY d.specialty ORDER BY total_billed DESC, d.specialty",
        "Joins appointments to doctors for the specialty, keeps billed visits and sums billed_amount per specialty.")
    d.q("joins", "dr",
        "List every appointment in March 2024 with the patient name and the doctor's name.",
        "SELECT a.appt_date, p.first_name, p.last_name, d.full_name, a.status FROM appointments a "
        "JOIN patients p ON p.patient_id = a.patient_id JOIN doctors d ON d.doctor_id = a.doctor_id "
        "WHERE a.appt_date BETWEEN '2024-03-01' AND '2024-03-31' ORDER BY a.appt_date, a.appointment_id",
        "Joins appointments to both patients and doctors and filters appt_date to March 2024 with BETWEEN.")
    d.q("joins", "dr",
        "Which Medicare patients have seen a cardiologist? Show the patient, the doctor and the visit date.",
        "SELECT p.first_name, p.last_name, d.full_name, a.appt_date FROM patients p JOIN appointments a ON a.patient_id = p.patient_id "
        "JOIN doctors d ON d.doctor_id = a.doctor_id WHERE p.insurance_provider = 'Medicare' AND d.specialty = 'cardiology' "
        "ORDER BY a.appt_date, a.appointment_id",
        "Chains patients -> appointments -> doctors and filters on the patient's insurer and the doctor's specialty.")
    d.q("joins", "ar",
        "For each city, how many distinct doctors have treated patients living there (completed visits only)?",
        "SELECT p.city, COUNT(DISTINCT d.doctor_id) AS doctors_seen FROM patients p JOIN appointments a ON a.patient_id = p.patient_id "
        "JOIN doctors d ON d.doctor_id = a.doctor_id WHERE a.status = 'completed' GROUP BY p.city ORDER BY p.city",
        "Joins patients through appointments to doctors, keeps completed visits, and counts distinct doctors per patient city.")

    d.q("sub", "dr",
        "Which doctors charge more than the average consultation fee?",
        "SELECT full_name, consultation_fee FROM doctors WHERE consultation_fee > (SELECT AVG(consultation_fee) FROM doctors) "
        "ORDER BY consultation_fee DESC, doctor_id",
        "A scalar subquery returns the average fee; the outer query keeps doctors whose fee exceeds it.")
    d.q("sub", "dr",
        "Which patients have never had an appointment?",
        "SELECT patient_id, first_name, last_name FROM patients WHERE patient_id NOT IN (SELECT patient_id FROM appointments) ORDER BY patient_id",
        "NOT IN against the list of patient ids in appointments leaves patients with no appointment at all.")
    d.q("sub", "dr",
        "For each patient, show their most recent appointment date and its status.",
        "SELECT a.patient_id, a.appt_date, a.status FROM appointments a WHERE a.appt_date = "
        "(SELECT MAX(a2.appt_date) FROM appointments a2 WHERE a2.patient_id = a.patient_id) ORDER BY a.patient_id",
        "A correlated subquery finds each patient's latest appt_date; only the appointment on that date is kept per patient.")
    d.q("sub", "dr",
        "Which doctors have had at least one patient not show up?",
        "SELECT d.doctor_id, d.full_name FROM doctors d WHERE EXISTS (SELECT 1 FROM appointments a WHERE a.doctor_id = d.doctor_id "
        "AND a.status = 'no-show') ORDER BY d.doctor_id",
        "EXISTS checks, per doctor, whether any of their appointments has status 'no-show'.")

    d.q("win", "ar",
        "Number each patient's appointments in chronological order.",
        "SELECT patient_id, appointment_id, appt_date, ROW_NUMBER() OVER (PARTITION BY patient_id ORDER BY appt_date, appointment_id) "
        "AS visit_number FROM appointments ORDER BY patient_id, visit_number",
        "ROW_NUMBER() restarts at 1 for each patient (PARTITION BY patient_id) and counts visits in date order.")
    d.q("win", "ar",
        "For each doctor, show their billed appointments in date order with a running total of the amount billed.",
        "SELECT doctor_id, appt_date, billed_amount, SUM(billed_amount) OVER (PARTITION BY doctor_id ORDER BY appt_date, appointment_id) "
        "AS running_billed FROM appointments WHERE billed_amount IS NOT NULL ORDER BY doctor_id, appt_date, appointment_id",
        "A windowed SUM partitioned by doctor and ordered by date accumulates each doctor's billing visit by visit.")

    d.q("set", "dr",
        "Which patients have both a completed appointment and a missed (cancelled or no-show) one? Patient ids only.",
        "SELECT patient_id FROM appointments WHERE status = 'completed' INTERSECT "
        "SELECT patient_id FROM appointments WHERE status IN ('cancelled', 'no-show') ORDER BY patient_id",
        "INTERSECT keeps patient ids present in both the completed set and the missed set.")
    d.q("set", "dr",
        "Give me the ids of patients who either live in Boston or have seen doctor 1.",
        "SELECT patient_id FROM patients WHERE city = 'Boston' UNION SELECT patient_id FROM appointments WHERE doctor_id = 1 ORDER BY patient_id",
        "UNION combines Boston residents with doctor 1's patients and removes duplicate ids.")

    d.q("cte", "ar",
        "For each doctor with appointments, what percentage of their appointments were completed? Round to two decimals.",
        "WITH counts AS (SELECT doctor_id, COUNT(*) AS total, SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed "
        "FROM appointments GROUP BY doctor_id) SELECT d.full_name, ROUND(100.0 * c.completed / c.total, 2) AS completion_pct "
        "FROM counts c JOIN doctors d ON d.doctor_id = c.doctor_id ORDER BY completion_pct DESC, d.doctor_id",
        "The CTE counts all and completed appointments per doctor (CASE inside SUM); the main query turns them into a percentage.")
    d.q("cte", "ar",
        "Which patients have been billed more in total than the average patient total?",
        "WITH totals AS (SELECT patient_id, SUM(billed_amount) AS total_billed FROM appointments WHERE billed_amount IS NOT NULL "
        "GROUP BY patient_id) SELECT patient_id, total_billed FROM totals WHERE total_billed > (SELECT AVG(total_billed) FROM totals) "
        "ORDER BY total_billed DESC, patient_id",
        "The CTE sums billing per patient; the outer query compares each total with the average of those totals.")

    d.q("date", "dr",
        "How old was each patient, in whole years, on 30 June 2024?",
        "SELECT patient_id, first_name, last_name, (CAST(strftime('%Y', '2024-06-30') AS INTEGER) - CAST(strftime('%Y', birth_date) AS INTEGER)) "
        "- (strftime('%m-%d', '2024-06-30') < strftime('%m-%d', birth_date)) AS age FROM patients ORDER BY patient_id",
        "Subtracts birth year from 2024 with strftime('%Y'), then subtracts 1 more when the birthday (month-day) falls after 30 June.")
    d.q("date", "dr",
        "Which appointments fall on a weekend?",
        "SELECT appointment_id, appt_date, status FROM appointments WHERE strftime('%w', appt_date) IN ('0', '6') ORDER BY appt_date, appointment_id",
        "strftime('%w') returns the weekday as '0' (Sunday) to '6' (Saturday); keeping '0' and '6' selects weekend dates.")
    d.q("date", "dr",
        "How many full years had each doctor been on staff as of 31 December 2024?",
        "SELECT full_name, hire_date, CAST((julianday('2024-12-31') - julianday(hire_date)) / 365.25 AS INTEGER) AS years_of_service "
        "FROM doctors ORDER BY years_of_service DESC, doctor_id",
        "julianday gives the day difference between the hire date and 2024-12-31; dividing by 365.25 and truncating yields whole years.")

    d.q("basic", "dm",
        "Book appointment 15 for patient 10 with doctor 6 on 2 May 2024, with status scheduled.",
        "INSERT INTO appointments (appointment_id, patient_id, doctor_id, appt_date, status, diagnosis, billed_amount) "
        "VALUES (15, 10, 6, '2024-05-02', 'scheduled', NULL, NULL)",
        "Inserts one appointment row; diagnosis and billed amount stay NULL because the visit has not happened yet.")
    d.q("sub", "dm",
        "Appointment 12 has now taken place: mark it completed with the diagnosis 'Contact dermatitis' and bill the doctor's consultation fee.",
        "UPDATE appointments SET status = 'completed', diagnosis = 'Contact dermatitis', billed_amount = "
        "(SELECT d.consultation_fee FROM doctors d WHERE d.doctor_id = appointments.doctor_id) WHERE appointment_id = 12",
        "Updates a single appointment; the billed amount is looked up from the treating doctor's consultation_fee via a correlated subquery.")
    d.q("basic", "dm",
        "Increase the consultation fee of every cardiologist by $25.",
        "UPDATE doctors SET consultation_fee = consultation_fee + 25 WHERE specialty = 'cardiology'",
        "Adds 25 to consultation_fee only for rows whose specialty is cardiology.")
    d.q("basic", "dm",
        "Delete the no-show appointments that happened before March 2024.",
        "DELETE FROM appointments WHERE status = 'no-show' AND appt_date < '2024-03-01'",
        "Both conditions must hold: the appointment was a no-show and its date is earlier than 2024-03-01.")
    d.q("joins", "dd",
        "Create a view called upcoming_appointments listing scheduled appointments with the appointment id, date, patient's full name and doctor's name.",
        "CREATE VIEW upcoming_appointments AS SELECT a.appointment_id, a.appt_date, p.first_name || ' ' || p.last_name AS patient_name, "
        "d.full_name AS doctor_name FROM appointments a JOIN patients p ON p.patient_id = a.patient_id "
        "JOIN doctors d ON d.doctor_id = a.doctor_id WHERE a.status = 'scheduled'",
        "The view joins appointments to patients and doctors, concatenates the patient's names with ||, and keeps scheduled visits.")
    d.q("basic", "dd",
        "Add an index on appointments by doctor and date to speed up schedule lookups.",
        "CREATE INDEX idx_appointments_doctor_date ON appointments (doctor_id, appt_date)",
        "Creates a composite index on (doctor_id, appt_date), matching lookups of one doctor's appointments by date.")
    d.q("join", "dd",
        "Create a table patient_visit_counts with each patient's id, full name and number of completed visits (0 if none).",
        "CREATE TABLE patient_visit_counts AS SELECT p.patient_id, p.first_name || ' ' || p.last_name AS patient_name, "
        "COUNT(a.appointment_id) AS completed_visits FROM patients p LEFT JOIN appointments a ON a.patient_id = p.patient_id "
        "AND a.status = 'completed' GROUP BY p.patient_id, p.first_name, p.last_name",
        "The status filter sits in the LEFT JOIN condition so patients without completed visits are kept with a count of 0.")
    d.q("basic", "dd",
        "Add a phone number column to the patients table.",
        "ALTER TABLE patients ADD COLUMN phone TEXT",
        "ALTER TABLE ADD COLUMN adds a nullable TEXT column; existing patients get NULL.")
    d.q("basic", "dr",
        "Show the three most recent completed appointments.",
        "SELECT appointment_id, patient_id, appt_date, diagnosis FROM appointments WHERE status = 'completed' "
        "ORDER BY appt_date DESC, appointment_id DESC LIMIT 3",
        "Keeps completed appointments, sorts them newest first and returns only the first three rows.")
    return d


@domain
def education():
    d = Domain(
        "education",
        "University registrar data: students with majors and enrollment years, courses with departments, "
        "credits and seat limits, and per-term enrollments with numeric scores.",
    )
    d.table(
        "students",
        """
        student_id INTEGER PRIMARY KEY
        first_name TEXT NOT NULL
        last_name TEXT NOT NULL
        major TEXT
        enrollment_year INTEGER NOT NULL
        email TEXT UNIQUE
        """,
        [
            (1, "Ava", "Thompson", "Computer Science", 2021, "ava.thompson@uni.edu"),
            (2, "Liam", "Garcia", "Mathematics", 2022, "liam.garcia@uni.edu"),
            (3, "Sofia", "Rossi", "Computer Science", 2022, "sofia.rossi@uni.edu"),
            (4, "Noah", "Kim", "Physics", 2021, "noah.kim@uni.edu"),
            (5, "Mia", "Johnson", None, 2023, "mia.johnson@uni.edu"),
            (6, "Lucas", "Silva", "Mathematics", 2023, "lucas.silva@uni.edu"),
            (7, "Zoe", "Williams", "Biology", 2022, "zoe.williams@uni.edu"),
            (8, "Ethan", "Clarke", "Computer Science", 2023, "ethan.clarke@uni.edu"),
            (9, "Isla", "Murphy", "Physics", 2024, "isla.murphy@uni.edu"),
            (10, "Leo", "Novak", None, 2024, "leo.novak@uni.edu"),
        ],
    )
    d.table(
        "courses",
        """
        course_id TEXT PRIMARY KEY
        title TEXT NOT NULL
        department TEXT NOT NULL
        credits INTEGER NOT NULL
        max_seats INTEGER NOT NULL
        """,
        [
            ("BI120", "Cell Biology", "Biology", 3, 25),
            ("CS101", "Intro to Programming", "Computer Science", 4, 30),
            ("CS201", "Data Structures", "Computer Science", 4, 25),
            ("CS305", "Databases", "Computer Science", 3, 20),
            ("HI150", "World History", "History", 3, 50),
            ("MA101", "Calculus I", "Mathematics", 4, 40),
            ("MA210", "Linear Algebra", "Mathematics", 3, 35),
            ("PH110", "Classical Mechanics", "Physics", 4, 30),
        ],
    )
    d.table(
        "enrollments",
        """
        enrollment_id INTEGER PRIMARY KEY
        student_id INTEGER NOT NULL
        course_id TEXT NOT NULL
        term TEXT NOT NULL
        enrolled_on TEXT NOT NULL
        score INTEGER
        """,
        [
            (1, 1, "CS101", "2023-FA", "2023-08-21", 92),
            (2, 1, "MA101", "2023-FA", "2023-08-21", 85),
            (3, 1, "CS201", "2024-SP", "2024-01-08", 88),
            (4, 1, "CS305", "2024-FA", "2024-08-19", None),
            (5, 2, "MA101", "2023-FA", "2023-08-22", 95),
            (6, 2, "MA210", "2024-SP", "2024-01-09", 91),
            (7, 3, "CS101", "2023-FA", "2023-08-23", 78),
            (8, 3, "CS201", "2024-SP", "2024-01-10", 81),
            (9, 3, "MA210", "2024-FA", "2024-08-20", None),
            (10, 4, "PH110", "2023-FA", "2023-08-21", 74),
            (11, 4, "MA101", "2023-FA", "2023-08-21", 68),
            (12, 5, "BI120", "2024-SP", "2024-01-12", 88),
            (13, 5, "CS101", "2024-FA", "2024-08-22", None),
            (14, 6, "MA101", "2024-SP", "2024-01-08", 59),
            (15, 7, "BI120", "2023-FA", "2023-08-24", 93),
            (16, 7, "CS101", "2024-SP", "2024-01-11", 84),
            (17, 8, "CS101", "2024-SP", "2024-01-09", 97),
            (18, 8, "CS201", "2024-FA", "2024-08-19", None),
            (19, 9, "PH110", "2024-FA", "2024-08-21", None),
            (20, 6, "MA210", "2024-FA", "2024-08-20", None),
        ],
        fks=[("student_id", "students", "student_id"), ("course_id", "courses", "course_id")],
    )

    d.q("basic", "dr",
        "Which students haven't declared a major yet?",
        "SELECT student_id, first_name, last_name FROM students WHERE major IS NULL ORDER BY student_id",
        "An undeclared major is stored as NULL, so the query filters with major IS NULL.")
    d.q("basic", "dr",
        "List the four-credit courses with their titles and departments.",
        "SELECT course_id, title, department FROM courses WHERE credits = 4 ORDER BY course_id",
        "Keeps courses whose credits equal 4 and lists them by course code.")
    d.q("basic", "dr",
        "Which Computer Science majors started in 2022 or 2023?",
        "SELECT student_id, first_name, last_name, enrollment_year FROM students WHERE major = 'Computer Science' "
        "AND enrollment_year BETWEEN 2022 AND 2023 ORDER BY student_id",
        "Combines an equality filter on major with BETWEEN 2022 AND 2023 on enrollment_year.")
    d.q("basic", "dr",
        "Find courses with 'Data' in the title.",
        "SELECT course_id, title FROM courses WHERE title LIKE '%Data%' ORDER BY course_id",
        "The LIKE pattern '%Data%' matches titles containing 'Data' anywhere.")
    d.q("basic", "dr",
        "Flag the at-risk results: which graded enrollments have a score below 70?",
        "SELECT enrollment_id, student_id, course_id, score FROM enrollments WHERE score < 70 ORDER BY score, enrollment_id",
        "score < 70 keeps low results; ungraded rows have NULL scores and are excluded automatically by the comparison.")
    d.q("basic", "dr",
        "Convert every graded score into a letter grade: A for 90+, B for 80-89, C for 70-79, D for 60-69 and F below 60.",
        "SELECT enrollment_id, score, CASE WHEN score >= 90 THEN 'A' WHEN score >= 80 THEN 'B' WHEN score >= 70 THEN 'C' "
        "WHEN score >= 60 THEN 'D' ELSE 'F' END AS letter_grade FROM enrollments WHERE score IS NOT NULL ORDER BY enrollment_id",
        "A CASE expression tests thresholds from highest to lowest; ungraded enrollments are excluded with score IS NOT NULL.")

    d.q("agg", "ar",
        "How many students are in each major? Count undeclared students under 'Undeclared'.",
        "SELECT COALESCE(major, 'Undeclared') AS major, COUNT(*) AS student_count FROM students "
        "GROUP BY COALESCE(major, 'Undeclared') ORDER BY student_count DESC, major",
        "COALESCE maps NULL majors to 'Undeclared' before grouping; COUNT(*) counts students per group.")
    d.q("agg", "ar",
        "What is the average graded score in each course, rounded to one decimal?",
        "SELECT course_id, ROUND(AVG(score), 1) AS avg_score FROM enrollments WHERE score IS NOT NULL GROUP BY course_id ORDER BY course_id",
        "Excludes ungraded rows, groups by course_id and averages score, rounding to 1 decimal place.")
    d.q("agg", "ar",
        "Which courses have had at least three enrollments across all terms?",
        "SELECT course_id, COUNT(*) AS enrollment_count FROM enrollments GROUP BY course_id HAVING COUNT(*) >= 3 ORDER BY course_id",
        "Counts enrollments per course and keeps courses with three or more using HAVING.")
    d.q("agg", "ar",
        "How many credits does each department offer in total across its courses?",
        "SELECT department, SUM(credits) AS total_credits, COUNT(*) AS course_count FROM courses GROUP BY department ORDER BY department",
        "Groups courses by department, summing credits and counting courses in each.")
    d.q("agg", "ar",
        "What were the highest and lowest scores recorded in the 2023-FA term?",
        "SELECT MAX(score) AS highest_score, MIN(score) AS lowest_score FROM enrollments WHERE term = '2023-FA'",
        "Filters to the 2023-FA term and takes MAX and MIN of score (NULLs are ignored by both).")

    d.q("join", "dr",
        "Show each enrollment in the 2024-SP term with the course title.",
        "SELECT e.enrollment_id, e.student_id, c.title, e.score FROM enrollments e JOIN courses c ON c.course_id = e.course_id "
        "WHERE e.term = '2024-SP' ORDER BY e.enrollment_id",
        "Joins enrollments to courses on course_id for the title and filters to term '2024-SP'.")
    d.q("join", "ar",
        "How many credits has each student earned? A course counts as passed when it has a score of 60 or more.",
        "SELECT e.student_id, SUM(c.credits) AS credits_earned FROM enrollments e JOIN courses c ON c.course_id = e.course_id "
        "WHERE e.score >= 60 GROUP BY e.student_id ORDER BY e.student_id",
        "Joins enrollments to courses to get credits, keeps passed enrollments (score >= 60) and sums credits per student.")
    d.q("join", "ar",
        "How many enrollments does each course have? Include courses nobody has taken.",
        "SELECT c.course_id, c.title, COUNT(e.enrollment_id) AS enrollment_count FROM courses c "
        "LEFT JOIN enrollments e ON e.course_id = c.course_id GROUP BY c.course_id, c.title ORDER BY enrollment_count DESC, c.course_id",
        "The LEFT JOIN keeps every course; COUNT(e.enrollment_id) is 0 for courses with no enrollments.")
    d.q("joins", "dr",
        "Show Ava Thompson's transcript: course title, term and score, in term order.",
        "SELECT c.title, e.term, e.score FROM students s JOIN enrollments e ON e.student_id = s.student_id "
        "JOIN courses c ON c.course_id = e.course_id WHERE s.first_name = 'Ava' AND s.last_name = 'Thompson' "
        "ORDER BY e.enrolled_on, c.course_id",
        "Joins students to enrollments and courses, filters to the student named Ava Thompson, and orders by enrollment date.")
    d.q("joins", "dr",
        "Which students with a declared major have taken a course outside their major's department? List student and course.",
        "SELECT s.first_name, s.last_name, s.major, c.course_id, c.department FROM students s JOIN enrollments e ON e.student_id = s.student_id "
        "JOIN courses c ON c.course_id = e.course_id WHERE s.major IS NOT NULL AND c.department <> s.major ORDER BY s.student_id, c.course_id",
        "Joins students to their courses through enrollments and keeps rows where the course department differs from the student's major.")

    d.q("sub", "dr",
        "Who scored above the CS101 average in CS101?",
        "SELECT student_id, score FROM enrollments WHERE course_id = 'CS101' AND score > "
        "(SELECT AVG(score) FROM enrollments WHERE course_id = 'CS101') ORDER BY score DESC, student_id",
        "A scalar subquery computes the CS101 average (ignoring NULLs); the outer query returns CS101 scores above it.")
    d.q("sub", "dr",
        "Which students have never enrolled in any course?",
        "SELECT student_id, first_name, last_name FROM students s WHERE NOT EXISTS "
        "(SELECT 1 FROM enrollments e WHERE e.student_id = s.student_id) ORDER BY student_id",
        "NOT EXISTS with a correlated subquery keeps students without any enrollment row.")
    d.q("sub", "dr",
        "Who got the top score in each course? Show course, student id and score.",
        "SELECT e.course_id, e.student_id, e.score FROM enrollments e WHERE e.score = "
        "(SELECT MAX(e2.score) FROM enrollments e2 WHERE e2.course_id = e.course_id) ORDER BY e.course_id, e.student_id",
        "For each enrollment, a correlated subquery returns the best score in the same course; matching rows are the top scorers.")
    d.q("sub", "dr",
        "Which courses have been taken by at least one Mathematics major?",
        "SELECT course_id, title FROM courses WHERE course_id IN (SELECT e.course_id FROM enrollments e WHERE e.student_id IN "
        "(SELECT student_id FROM students WHERE major = 'Mathematics')) ORDER BY course_id",
        "The inner subquery finds Mathematics majors, the middle one their course ids, and the outer query lists those courses.")

    d.q("win", "ar",
        "Rank students within each course by score, using dense ranking, for graded enrollments only.",
        "SELECT course_id, student_id, score, DENSE_RANK() OVER (PARTITION BY course_id ORDER BY score DESC) AS course_rank "
        "FROM enrollments WHERE score IS NOT NULL ORDER BY course_id, course_rank, student_id",
        "DENSE_RANK() partitioned by course_id orders scores descending, so tied scores share a rank without gaps.")
    d.q("win", "ar",
        "For each student, show each graded score and how much it changed from their previous graded course.",
        "SELECT student_id, course_id, enrolled_on, score, score - LAG(score) OVER (PARTITION BY student_id ORDER BY enrolled_on, enrollment_id) "
        "AS change_from_previous FROM enrollments WHERE score IS NOT NULL ORDER BY student_id, enrolled_on, enrollment_id",
        "LAG(score) fetches the same student's previous graded score in enrollment order; the difference is NULL for a first course.")
    d.q("win", "ar",
        "Split all graded enrollments into four quartiles by score, best scores in quartile 1.",
        "SELECT enrollment_id, score, NTILE(4) OVER (ORDER BY score DESC, enrollment_id) AS quartile FROM enrollments "
        "WHERE score IS NOT NULL ORDER BY quartile, score DESC, enrollment_id",
        "NTILE(4) over scores sorted descending (enrollment_id breaks ties) divides the graded rows into four near-equal buckets.")

    d.q("set", "dr",
        "Which students have taken both CS101 and MA101?",
        "SELECT student_id FROM enrollments WHERE course_id = 'CS101' INTERSECT SELECT student_id FROM enrollments WHERE course_id = 'MA101' "
        "ORDER BY student_id",
        "INTERSECT returns student ids that appear in both the CS101 and the MA101 enrollment lists.")
    d.q("set", "dr",
        "Which courses ran in the 2023 fall term but have no enrollments in the 2024 fall term?",
        "SELECT course_id FROM enrollments WHERE term = '2023-FA' EXCEPT SELECT course_id FROM enrollments WHERE term = '2024-FA' "
        "ORDER BY course_id",
        "EXCEPT subtracts the set of 2024-FA course ids from the set of 2023-FA course ids.")

    d.q("cte", "ar",
        "For students with at least two graded courses, show their average score (rounded to 2 decimals) and how many graded courses they have.",
        "WITH graded AS (SELECT student_id, COUNT(*) AS graded_courses, AVG(score) AS avg_score FROM enrollments "
        "WHERE score IS NOT NULL GROUP BY student_id) SELECT s.first_name, s.last_name, g.graded_courses, ROUND(g.avg_score, 2) AS avg_score "
        "FROM graded g JOIN students s ON s.student_id = g.student_id WHERE g.graded_courses >= 2 ORDER BY avg_score DESC, s.student_id",
        "The CTE aggregates graded enrollments per student; the main query joins to students for names and keeps those with 2+ graded courses.")
    d.q("cte", "ar",
        "Compare each term's average score with the overall average: show the term average and the difference, both rounded to 2 decimals.",
        "WITH term_avg AS (SELECT term, AVG(score) AS avg_score FROM enrollments WHERE score IS NOT NULL GROUP BY term), "
        "overall AS (SELECT AVG(score) AS avg_score FROM enrollments WHERE score IS NOT NULL) "
        "SELECT t.term, ROUND(t.avg_score, 2) AS term_avg, ROUND(t.avg_score - o.avg_score, 2) AS diff_from_overall "
        "FROM term_avg t CROSS JOIN overall o ORDER BY t.term",
        "Two CTEs compute per-term and overall averages; a CROSS JOIN pairs every term with the single overall row to compute the difference.")

    d.q("date", "ar",
        "How many enrollments were made in each calendar year?",
        "SELECT strftime('%Y', enrolled_on) AS enroll_year, COUNT(*) AS enrollment_count FROM enrollments "
        "GROUP BY enroll_year ORDER BY enroll_year",
        "strftime('%Y', enrolled_on) extracts the year from each enrollment date; rows are counted per year.")
    d.q("date", "dr",
        "The 2024 fall term started on 19 August 2024. Which enrollments were made within two days of that start date?",
        "SELECT enrollment_id, student_id, course_id, enrolled_on FROM enrollments WHERE julianday(enrolled_on) - julianday('2024-08-19') "
        "BETWEEN 0 AND 2 ORDER BY enrolled_on, enrollment_id",
        "julianday differences measure days since 2024-08-19; keeping differences from 0 to 2 selects the first three days of term.")

    d.q("basic", "dm",
        "Enroll student 10 in HI150 for the 2024-FA term as enrollment 21, dated 23 August 2024, with no score yet.",
        "INSERT INTO enrollments (enrollment_id, student_id, course_id, term, enrolled_on, score) VALUES (21, 10, 'HI150', '2024-FA', '2024-08-23', NULL)",
        "Adds one enrollment row; the score is NULL because the course has not been graded.")
    d.q("basic", "dm",
        "Record a final score of 86 for enrollment 4.",
        "UPDATE enrollments SET score = 86 WHERE enrollment_id = 4",
        "Sets score on exactly one row, identified by its primary key.")
    d.q("sub", "dm",
        "Give every graded 2024-SP enrollment in a Mathematics course a 5-point curve, without letting any score go above 100.",
        "UPDATE enrollments SET score = CASE WHEN score + 5 > 100 THEN 100 ELSE score + 5 END WHERE term = '2024-SP' "
        "AND score IS NOT NULL AND course_id IN (SELECT course_id FROM courses WHERE department = 'Mathematics')",
        "The IN subquery finds Mathematics courses; a CASE caps the curved score at 100 for the matching 2024-SP graded rows.")
    d.q("sub", "dm",
        "The Physics department is withdrawing its courses: delete all enrollments in Physics courses.",
        "DELETE FROM enrollments WHERE course_id IN (SELECT course_id FROM courses WHERE department = 'Physics')",
        "A subquery lists Physics course ids and the DELETE removes enrollments in those courses.")
    d.q("join", "dd",
        "Create a view student_averages with each student's id, first and last name and their average graded score rounded to 2 decimals.",
        "CREATE VIEW student_averages AS SELECT s.student_id, s.first_name, s.last_name, ROUND(AVG(e.score), 2) AS avg_score "
        "FROM students s JOIN enrollments e ON e.student_id = s.student_id WHERE e.score IS NOT NULL "
        "GROUP BY s.student_id, s.first_name, s.last_name",
        "The view joins students to their graded enrollments and averages score per student.")
    d.q("sub", "dd",
        "Create a table honor_roll holding the id, first and last name of every student who has at least one graded course and no graded score below 85.",
        "CREATE TABLE honor_roll AS SELECT s.student_id, s.first_name, s.last_name FROM students s WHERE EXISTS "
        "(SELECT 1 FROM enrollments e WHERE e.student_id = s.student_id AND e.score IS NOT NULL) AND NOT EXISTS "
        "(SELECT 1 FROM enrollments e WHERE e.student_id = s.student_id AND e.score < 85)",
        "CREATE TABLE ... AS SELECT materialises the result: EXISTS requires a graded course and NOT EXISTS rules out any score under 85.")
    d.q("sub", "dm",
        "Add 5 seats to every course that has had at least four enrollments.",
        "UPDATE courses SET max_seats = max_seats + 5 WHERE course_id IN "
        "(SELECT course_id FROM enrollments GROUP BY course_id HAVING COUNT(*) >= 4)",
        "The grouped subquery finds courses with four or more enrollments; only their max_seats is increased by 5.")
    d.q("basic", "dr",
        "What are the three highest scores ever recorded, and who earned them in which course?",
        "SELECT student_id, course_id, score FROM enrollments WHERE score IS NOT NULL ORDER BY score DESC, enrollment_id LIMIT 3",
        "Sorts graded enrollments by score descending and keeps the top three with LIMIT 3.")
    d.q("basic", "dr",
        "Which students have an email address starting with the letter l?",
        "SELECT student_id, first_name, last_name, email FROM students WHERE email LIKE 'l%' ORDER BY student_id",
        "LIKE 'l%' matches email addresses whose first character is l.")
    return d


@domain
def finance():
    d = Domain(
        "finance",
        "Retail banking: branches, customer accounts with types, balances and status, and dated account "
        "transactions (positive amounts are money in, negative amounts are money out).",
    )
    d.table(
        "branches",
        """
        branch_id INTEGER PRIMARY KEY
        branch_name TEXT NOT NULL
        city TEXT NOT NULL
        opened_year INTEGER
        """,
        [
            (1, "Downtown", "Chicago", 1998),
            (2, "Lakeside", "Chicago", 2005),
            (3, "Riverside", "Milwaukee", 2010),
            (4, "Northgate", "Minneapolis", 2015),
            (5, "Airport Plaza", "Milwaukee", 2022),
        ],
    )
    d.table(
        "accounts",
        """
        account_id INTEGER PRIMARY KEY
        branch_id INTEGER NOT NULL
        holder_name TEXT NOT NULL
        account_type TEXT NOT NULL
        opened_on TEXT NOT NULL
        balance REAL NOT NULL
        status TEXT NOT NULL
        """,
        [
            (1001, 1, "Olivia Bennett", "checking", "2019-04-12", 2540.75, "active"),
            (1002, 1, "Olivia Bennett", "savings", "2019-04-12", 15200.0, "active"),
            (1003, 2, "Marcus Reed", "checking", "2020-09-01", 830.2, "active"),
            (1004, 2, "Hana Sato", "savings", "2021-02-17", 40210.5, "active"),
            (1005, 3, "Diego Alvarez", "checking", "2021-06-30", -120.45, "frozen"),
            (1006, 3, "Grace Obi", "credit", "2022-01-05", -1850.0, "active"),
            (1007, 4, "Tomasz Nowak", "checking", "2022-08-22", 3105.0, "active"),
            (1008, 4, "Tomasz Nowak", "savings", "2022-08-22", 9000.0, "closed"),
            (1009, 1, "Priya Raman", "credit", "2023-03-14", -420.1, "active"),
            (1010, 2, "Marcus Reed", "savings", "2023-11-20", 5000.0, "active"),
        ],
        fks=[("branch_id", "branches", "branch_id")],
    )
    d.table(
        "transactions",
        """
        txn_id INTEGER PRIMARY KEY
        account_id INTEGER NOT NULL
        txn_date TEXT NOT NULL
        amount REAL NOT NULL
        txn_type TEXT NOT NULL
        merchant TEXT
        """,
        [
            (1, 1001, "2024-01-02", 2500.0, "deposit", "Payroll ACME Corp"),
            (2, 1001, "2024-01-05", -86.4, "withdrawal", "FreshMart"),
            (3, 1001, "2024-01-19", -1200.0, "transfer", None),
            (4, 1002, "2024-01-19", 1200.0, "transfer", None),
            (5, 1003, "2024-01-07", -45.99, "withdrawal", "StreamFlix"),
            (6, 1003, "2024-02-01", 1800.0, "deposit", "Payroll Lakeview Inc"),
            (7, 1005, "2024-02-03", -350.0, "withdrawal", "QuickCash ATM"),
            (8, 1005, "2024-02-04", -35.0, "fee", None),
            (9, 1006, "2024-02-10", -612.3, "withdrawal", "SkyHigh Airlines"),
            (10, 1006, "2024-02-28", 500.0, "deposit", None),
            (11, 1007, "2024-03-01", 3200.0, "deposit", "Payroll Nordic Tech"),
            (12, 1007, "2024-03-03", -95.0, "withdrawal", "FreshMart"),
            (13, 1009, "2024-03-09", -220.1, "withdrawal", "GadgetHub"),
            (14, 1004, "2024-03-31", 150.75, "deposit", "Interest"),
            (15, 1003, "2024-03-15", -12.5, "fee", None),
            (16, 1007, "2024-03-28", -1500.0, "withdrawal", "Lakeside Property Mgmt"),
        ],
        fks=[("account_id", "accounts", "account_id")],
    )

    d.q("basic", "dr",
        "Which accounts currently have a negative balance?",
        "SELECT account_id, holder_name, account_type, balance FROM accounts WHERE balance < 0 ORDER BY balance, account_id",
        "Filters accounts to balance < 0 and sorts from the most negative balance upwards.")
    d.q("basic", "dr",
        "List all accounts that are frozen or closed.",
        "SELECT account_id, holder_name, status FROM accounts WHERE status IN ('frozen', 'closed') ORDER BY account_id",
        "Uses IN to match either of the two inactive statuses.")
    d.q("basic", "dr",
        "Which transactions have no merchant recorded?",
        "SELECT txn_id, account_id, txn_date, amount, txn_type FROM transactions WHERE merchant IS NULL ORDER BY txn_id",
        "A missing merchant is NULL, so the query filters with merchant IS NULL.")
    d.q("basic", "dr",
        "Find all payroll deposits, i.e. transactions whose merchant starts with 'Payroll'.",
        "SELECT txn_id, account_id, txn_date, amount, merchant FROM transactions WHERE merchant LIKE 'Payroll%' ORDER BY txn_date, txn_id",
        "The LIKE pattern 'Payroll%' matches merchant names beginning with 'Payroll'.")
    d.q("basic", "dr",
        "Show the five largest outgoing transactions (negative amounts), biggest outflow first.",
        "SELECT txn_id, account_id, txn_date, amount FROM transactions WHERE amount < 0 ORDER BY amount, txn_id LIMIT 5",
        "Outflows are negative, so sorting ascending puts the largest outflow first; LIMIT 5 keeps the top five.")

    d.q("agg", "ar",
        "What is the total balance held in each account type, rounded to cents?",
        "SELECT account_type, ROUND(SUM(balance), 2) AS total_balance FROM accounts GROUP BY account_type ORDER BY account_type",
        "Groups accounts by account_type and sums balance, rounding to 2 decimals.")
    d.q("agg", "ar",
        "Which branches hold at least three accounts? Show branch id and account count.",
        "SELECT branch_id, COUNT(*) AS account_count FROM accounts GROUP BY branch_id HAVING COUNT(*) >= 3 ORDER BY branch_id",
        "Counts accounts per branch_id and keeps groups with three or more via HAVING.")
    d.q("agg", "ar",
        "What is the net flow of money for each account across all its transactions?",
        "SELECT account_id, ROUND(SUM(amount), 2) AS net_flow FROM transactions GROUP BY account_id ORDER BY account_id",
        "Sums signed amounts per account, so deposits and withdrawals offset each other; the result is rounded to cents.")
    d.q("agg", "ar",
        "How many deposits have been made and what is the average deposit amount?",
        "SELECT COUNT(*) AS deposit_count, ROUND(AVG(amount), 2) AS avg_deposit FROM transactions WHERE txn_type = 'deposit'",
        "Filters to deposit transactions and computes COUNT and a rounded AVG of amount.")

    d.q("join", "dr",
        "List the accounts held at Chicago branches, with the branch name.",
        "SELECT a.account_id, a.holder_name, a.account_type, b.branch_name FROM accounts a JOIN branches b ON b.branch_id = a.branch_id "
        "WHERE b.city = 'Chicago' ORDER BY a.account_id",
        "Joins accounts to branches on branch_id and filters on the branch city.")
    d.q("join", "dr",
        "Which branches don't have any accounts yet?",
        "SELECT b.branch_id, b.branch_name FROM branches b LEFT JOIN accounts a ON a.branch_id = b.branch_id WHERE a.account_id IS NULL "
        "ORDER BY b.branch_id",
        "A LEFT JOIN keeps every branch; rows where no account matched have a NULL account_id.")
    d.q("join", "ar",
        "What is the total transaction volume (sum of absolute amounts) for each account holder?",
        "SELECT a.holder_name, ROUND(SUM(ABS(t.amount)), 2) AS volume FROM transactions t JOIN accounts a ON a.account_id = t.account_id "
        "GROUP BY a.holder_name ORDER BY volume DESC, a.holder_name",
        "Joins transactions to accounts for the holder, then sums ABS(amount) so money in and out both count toward volume.")
    d.q("joins", "dr",
        "Show every fee charged, with the account holder and the branch the account belongs to.",
        "SELECT t.txn_id, t.txn_date, t.amount, a.holder_name, b.branch_name FROM transactions t JOIN accounts a ON a.account_id = t.account_id "
        "JOIN branches b ON b.branch_id = a.branch_id WHERE t.txn_type = 'fee' ORDER BY t.txn_date, t.txn_id",
        "Joins transactions to accounts and accounts to branches, keeping rows with txn_type 'fee'.")
    d.q("joins", "ar",
        "How much money was deposited through branches in each city?",
        "SELECT b.city, SUM(t.amount) AS total_deposits FROM transactions t JOIN accounts a ON a.account_id = t.account_id "
        "JOIN branches b ON b.branch_id = a.branch_id WHERE t.txn_type = 'deposit' GROUP BY b.city ORDER BY total_deposits DESC, b.city",
        "Follows transactions -> accounts -> branches, keeps deposits and sums amount per branch city.")

    d.q("sub", "dr",
        "Which accounts have a balance higher than the average savings-account balance?",
        "SELECT account_id, holder_name, balance FROM accounts WHERE balance > (SELECT AVG(balance) FROM accounts WHERE account_type = 'savings') "
        "ORDER BY balance DESC, account_id",
        "The scalar subquery averages balances of savings accounts only; every account above that value is returned.")
    d.q("sub", "dr",
        "Which accounts have no transactions at all?",
        "SELECT account_id, holder_name, status FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.account_id = a.account_id) "
        "ORDER BY account_id",
        "NOT EXISTS with a correlated subquery keeps accounts with no matching transaction rows.")
    d.q("sub", "dr",
        "For each account that has received deposits, show its single biggest deposit.",
        "SELECT t.account_id, t.txn_id, t.txn_date, t.amount FROM transactions t WHERE t.txn_type = 'deposit' AND t.amount = "
        "(SELECT MAX(t2.amount) FROM transactions t2 WHERE t2.account_id = t.account_id AND t2.txn_type = 'deposit') ORDER BY t.account_id",
        "A correlated subquery computes the maximum deposit for the same account; only deposits equal to that maximum are kept.")
    d.q("sub", "dr",
        "Which branches have at least one frozen account?",
        "SELECT branch_id, branch_name FROM branches b WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.branch_id = b.branch_id AND a.status = 'frozen') "
        "ORDER BY branch_id",
        "EXISTS tests each branch for any account with status 'frozen'.")

    d.q("win", "ar",
        "Show each account's transactions in date order with a running net total for that account.",
        "SELECT account_id, txn_date, amount, ROUND(SUM(amount) OVER (PARTITION BY account_id ORDER BY txn_date, txn_id), 2) AS running_total "
        "FROM transactions ORDER BY account_id, txn_date, txn_id",
        "A windowed SUM partitioned by account and ordered by date accumulates the signed amounts; ROUND keeps cents clean.")
    d.q("win", "ar",
        "Rank accounts by balance within each branch, highest balance first.",
        "SELECT branch_id, account_id, balance, RANK() OVER (PARTITION BY branch_id ORDER BY balance DESC) AS balance_rank FROM accounts "
        "ORDER BY branch_id, balance_rank, account_id",
        "RANK() over a per-branch window sorted by balance descending numbers accounts within their branch.")
    d.q("win", "ar",
        "For each transaction, how many days have passed since the previous transaction on the same account?",
        "SELECT account_id, txn_id, txn_date, CAST(julianday(txn_date) - julianday(LAG(txn_date) OVER (PARTITION BY account_id "
        "ORDER BY txn_date, txn_id)) AS INTEGER) AS days_since_previous FROM transactions ORDER BY account_id, txn_date, txn_id",
        "LAG fetches the previous transaction date within the account; julianday subtraction turns the gap into days (NULL for the first one).")

    d.q("set", "dr",
        "Which accounts had both money coming in and money going out during February 2024?",
        "SELECT account_id FROM transactions WHERE amount > 0 AND txn_date BETWEEN '2024-02-01' AND '2024-02-29' INTERSECT "
        "SELECT account_id FROM transactions WHERE amount < 0 AND txn_date BETWEEN '2024-02-01' AND '2024-02-29' ORDER BY account_id",
        "INTERSECT keeps account ids that appear among February inflows and also among February outflows.")
    d.q("set", "dr",
        "Which customers hold a savings account but no checking account?",
        "SELECT holder_name FROM accounts WHERE account_type = 'savings' EXCEPT SELECT holder_name FROM accounts WHERE account_type = 'checking' "
        "ORDER BY holder_name",
        "EXCEPT removes checking-account holders from the set of savings-account holders.")

    d.q("cte", "ar",
        "Which customers have a combined balance above $10,000 across all their accounts?",
        "WITH holder_totals AS (SELECT holder_name, SUM(balance) AS total_balance, COUNT(*) AS accounts FROM accounts GROUP BY holder_name) "
        "SELECT holder_name, ROUND(total_balance, 2) AS total_balance, accounts FROM holder_totals WHERE total_balance > 10000 "
        "ORDER BY total_balance DESC, holder_name",
        "The CTE totals balances per holder; the outer query keeps holders whose combined balance exceeds 10,000.")
    d.q("cte", "ar",
        "Which accounts have had more money going out than coming in? Show total in and total out.",
        "WITH flows AS (SELECT account_id, SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS money_in, "
        "SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS money_out FROM transactions GROUP BY account_id) "
        "SELECT account_id, ROUND(money_in, 2) AS money_in, ROUND(money_out, 2) AS money_out FROM flows WHERE money_out > money_in "
        "ORDER BY account_id",
        "The CTE splits each account's amounts into inflow and outflow totals with CASE; the main query keeps accounts where outflow is larger.")

    d.q("date", "ar",
        "Give me a monthly summary of money in and money out for 2024.",
        "SELECT strftime('%Y-%m', txn_date) AS month, ROUND(SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), 2) AS money_in, "
        "ROUND(SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END), 2) AS money_out FROM transactions "
        "WHERE txn_date >= '2024-01-01' AND txn_date < '2025-01-01' GROUP BY month ORDER BY month",
        "strftime('%Y-%m') buckets transactions by month; conditional sums separate positive and negative amounts.")
    d.q("date", "dr",
        "Which accounts were opened more than three years before 30 June 2024?",
        "SELECT account_id, holder_name, opened_on FROM accounts WHERE opened_on < date('2024-06-30', '-3 years') ORDER BY opened_on, account_id",
        "date('2024-06-30', '-3 years') yields 2021-06-30; accounts opened before that date are returned.")

    d.q("basic", "dm",
        "Record transaction 17: a $250 deposit into account 1010 on 2 April 2024 from 'Mobile Check Deposit'.",
        "INSERT INTO transactions (txn_id, account_id, txn_date, amount, txn_type, merchant) VALUES (17, 1010, '2024-04-02', 250.0, 'deposit', 'Mobile Check Deposit')",
        "Inserts one transaction row with a positive amount because it is a deposit.")
    d.q("basic", "dm",
        "Freeze every credit account whose balance is below -1000.",
        "UPDATE accounts SET status = 'frozen' WHERE account_type = 'credit' AND balance < -1000",
        "Sets status to 'frozen' only on credit accounts with a balance below -1000.")
    d.q("basic", "dm",
        "Charge a $15 maintenance fee to every active checking account with a balance under $1,000 by reducing its balance.",
        "UPDATE accounts SET balance = ROUND(balance - 15, 2) WHERE account_type = 'checking' AND status = 'active' AND balance < 1000",
        "Subtracts 15 from the balance of active checking accounts whose balance is below 1000.")
    d.q("sub", "dm",
        "Remove the fee transactions that were charged to frozen accounts.",
        "DELETE FROM transactions WHERE txn_type = 'fee' AND account_id IN (SELECT account_id FROM accounts WHERE status = 'frozen')",
        "The subquery lists frozen account ids; the DELETE removes only fee rows on those accounts.")
    d.q("join", "dd",
        "Create a view account_activity showing each account's id, holder, number of transactions and net amount (0 when there are none).",
        "CREATE VIEW account_activity AS SELECT a.account_id, a.holder_name, COUNT(t.txn_id) AS txn_count, "
        "ROUND(COALESCE(SUM(t.amount), 0), 2) AS net_amount FROM accounts a LEFT JOIN transactions t ON t.account_id = a.account_id "
        "GROUP BY a.account_id, a.holder_name",
        "The view LEFT JOINs accounts to transactions so idle accounts appear; COALESCE turns their NULL sum into 0.")
    d.q("basic", "dd",
        "Add an overdraft_limit column to accounts, defaulting to 0.",
        "ALTER TABLE accounts ADD COLUMN overdraft_limit REAL NOT NULL DEFAULT 0",
        "ALTER TABLE ADD COLUMN adds the column to every existing account with the default value 0.")
    d.q("basic", "dd",
        "Create a table large_transactions containing every transaction whose amount is at least $1,000 in either direction.",
        "CREATE TABLE large_transactions AS SELECT txn_id, account_id, txn_date, amount, txn_type FROM transactions WHERE ABS(amount) >= 1000",
        "CREATE TABLE ... AS SELECT copies the matching rows; ABS(amount) >= 1000 catches both large deposits and large withdrawals.")
    d.q("basic", "dm",
        "Credit 1% interest on 31 March 2024 to every active savings account by adding a deposit transaction from 'Interest', "
        "letting the database assign the transaction ids in account order.",
        "INSERT INTO transactions (account_id, txn_date, amount, txn_type, merchant) SELECT account_id, '2024-03-31', ROUND(balance * 0.01, 2), "
        "'deposit', 'Interest' FROM accounts WHERE account_type = 'savings' AND status = 'active' ORDER BY account_id",
        "INSERT ... SELECT creates one deposit per active savings account worth 1% of its balance; omitting txn_id lets SQLite assign the next ids.")
    return d


@domain
def logistics():
    d = Domain(
        "logistics",
        "Freight logistics: warehouses with capacities and managers, carriers by transport mode with "
        "on-time ratings, and outbound shipments with weights, costs, ship and delivery dates.",
    )
    d.table(
        "warehouses",
        """
        warehouse_id INTEGER PRIMARY KEY
        warehouse_name TEXT NOT NULL
        city TEXT NOT NULL
        capacity_pallets INTEGER NOT NULL
        manager TEXT
        """,
        [
            (1, "Central DC", "Dallas", 5000, "Rosa Mendes"),
            (2, "North Hub", "Chicago", 3500, "Kevin Osei"),
            (3, "West Hub", "Phoenix", 2800, None),
            (4, "East Hub", "Atlanta", 4200, "Mei Lin"),
            (5, "Overflow Yard", "Dallas", 1200, None),
        ],
    )
    d.table(
        "carriers",
        """
        carrier_id INTEGER PRIMARY KEY
        carrier_name TEXT NOT NULL
        mode TEXT NOT NULL
        on_time_rating REAL
        """,
        [
            (1, "SwiftFreight", "truck", 4.5),
            (2, "RailOne", "rail", 3.9),
            (3, "AeroCargo", "air", 4.8),
            (4, "BudgetHaul", "truck", 3.2),
            (5, "BlueWave Shipping", "sea", 4.1),
        ],
    )
    d.table(
        "shipments",
        """
        shipment_id INTEGER PRIMARY KEY
        warehouse_id INTEGER NOT NULL
        carrier_id INTEGER NOT NULL
        destination_city TEXT NOT NULL
        weight_kg REAL NOT NULL
        ship_date TEXT NOT NULL
        delivered_date TEXT
        status TEXT NOT NULL
        cost REAL NOT NULL
        """,
        [
            (1, 1, 1, "Houston", 820.0, "2024-05-01", "2024-05-02", "delivered", 410.0),
            (2, 1, 4, "Denver", 1500.0, "2024-05-02", "2024-05-07", "delivered", 980.0),
            (3, 2, 2, "Detroit", 12000.0, "2024-05-03", "2024-05-06", "delivered", 2650.0),
            (4, 2, 3, "Seattle", 95.5, "2024-05-03", "2024-05-04", "delivered", 760.0),
            (5, 3, 1, "Las Vegas", 640.0, "2024-05-06", None, "in_transit", 355.0),
            (6, 4, 4, "Miami", 2100.0, "2024-05-06", "2024-05-13", "delivered", 1120.0),
            (7, 4, 2, "Charlotte", 9800.0, "2024-05-08", None, "delayed", 1980.0),
            (8, 1, 3, "Chicago", 45.0, "2024-05-09", "2024-05-10", "delivered", 520.0),
            (9, 3, 4, "San Diego", 1320.0, "2024-05-10", None, "lost", 690.0),
            (10, 2, 1, "Milwaukee", 300.0, "2024-05-13", "2024-05-13", "delivered", 140.0),
            (11, 4, 1, "Nashville", 760.0, "2024-05-14", "2024-05-16", "delivered", 395.0),
            (12, 1, 2, "Kansas City", 15000.0, "2024-05-15", None, "in_transit", 3100.0),
            (13, 3, 3, "Portland", 60.0, "2024-05-16", "2024-05-17", "delivered", 610.0),
            (14, 2, 4, "Indianapolis", 1100.0, "2024-05-20", None, "delayed", 540.0),
            (15, 4, 1, "Dallas", 900.0, "2024-05-21", "2024-05-23", "delivered", 470.0),
        ],
        fks=[("warehouse_id", "warehouses", "warehouse_id"), ("carrier_id", "carriers", "carrier_id")],
    )

    d.q("basic", "dr",
        "Which shipments are still in transit or delayed?",
        "SELECT shipment_id, destination_city, ship_date, status FROM shipments WHERE status IN ('in_transit', 'delayed') ORDER BY ship_date, shipment_id",
        "IN ('in_transit', 'delayed') keeps shipments that have not arrived yet; results are sorted by ship date.")
    d.q("basic", "dr",
        "Which warehouses have no manager assigned?",
        "SELECT warehouse_id, warehouse_name, city FROM warehouses WHERE manager IS NULL ORDER BY warehouse_id",
        "An unassigned manager is NULL, so the filter is manager IS NULL.")
    d.q("basic", "dr",
        "List shipments heavier than five tonnes, heaviest first.",
        "SELECT shipment_id, destination_city, weight_kg FROM shipments WHERE weight_kg > 5000 ORDER BY weight_kg DESC, shipment_id",
        "Five tonnes is 5000 kg, so the query keeps weight_kg > 5000 and sorts by weight descending.")
    d.q("basic", "dr",
        "Which shipments left between 6 and 10 May 2024?",
        "SELECT shipment_id, ship_date, destination_city FROM shipments WHERE ship_date BETWEEN '2024-05-06' AND '2024-05-10' ORDER BY ship_date, shipment_id",
        "BETWEEN on ISO date strings selects ship dates from 2024-05-06 to 2024-05-10 inclusive.")
    d.q("basic", "dr",
        "Classify each shipment by weight: 'parcel' under 100 kg, 'light freight' under 1,000 kg, 'freight' under 5,000 kg and 'heavy freight' otherwise.",
        "SELECT shipment_id, weight_kg, CASE WHEN weight_kg < 100 THEN 'parcel' WHEN weight_kg < 1000 THEN 'light freight' "
        "WHEN weight_kg < 5000 THEN 'freight' ELSE 'heavy freight' END AS weight_class FROM shipments ORDER BY shipment_id",
        "The CASE expression checks weight thresholds from smallest to largest and assigns the first matching class.")

    d.q("agg", "ar",
        "What is the total shipping cost and total weight shipped from each warehouse?",
        "SELECT warehouse_id, SUM(cost) AS total_cost, SUM(weight_kg) AS total_weight_kg FROM shipments GROUP BY warehouse_id ORDER BY warehouse_id",
        "Groups shipments by warehouse_id and sums cost and weight_kg for each.")
    d.q("agg", "ar",
        "What is each carrier's average cost per kilogram, rounded to two decimals?",
        "SELECT carrier_id, ROUND(SUM(cost) / SUM(weight_kg), 2) AS cost_per_kg FROM shipments GROUP BY carrier_id ORDER BY carrier_id",
        "Divides total cost by total weight per carrier, which weights the average by shipment size.")
    d.q("agg", "ar",
        "Which carriers have handled at least four shipments?",
        "SELECT carrier_id, COUNT(*) AS shipment_count FROM shipments GROUP BY carrier_id HAVING COUNT(*) >= 4 ORDER BY carrier_id",
        "Counts shipments per carrier and filters the groups with HAVING COUNT(*) >= 4.")

    d.q("join", "dr",
        "List the delivered shipments with the name of the carrier that moved them.",
        "SELECT s.shipment_id, s.destination_city, c.carrier_name FROM shipments s JOIN carriers c ON c.carrier_id = s.carrier_id "
        "WHERE s.status = 'delivered' ORDER BY s.shipment_id",
        "Joins shipments to carriers on carrier_id for the name and keeps delivered shipments.")
    d.q("join", "ar",
        "How many shipments has each warehouse sent? Include warehouses that haven't shipped anything.",
        "SELECT w.warehouse_name, COUNT(s.shipment_id) AS shipment_count FROM warehouses w LEFT JOIN shipments s ON s.warehouse_id = w.warehouse_id "
        "GROUP BY w.warehouse_id, w.warehouse_name ORDER BY shipment_count DESC, w.warehouse_id",
        "LEFT JOIN keeps all warehouses; COUNT(s.shipment_id) is 0 where no shipment matched.")
    d.q("join", "ar",
        "What is the total freight spend per transport mode?",
        "SELECT c.mode, SUM(s.cost) AS total_cost FROM shipments s JOIN carriers c ON c.carrier_id = s.carrier_id GROUP BY c.mode "
        "ORDER BY total_cost DESC, c.mode",
        "Joins shipments to carriers to get each shipment's mode, then sums cost per mode.")
    d.q("joins", "dr",
        "Which shipments left Dallas warehouses on a truck carrier? Show warehouse name, carrier name and destination.",
        "SELECT s.shipment_id, w.warehouse_name, c.carrier_name, s.destination_city FROM shipments s "
        "JOIN warehouses w ON w.warehouse_id = s.warehouse_id JOIN carriers c ON c.carrier_id = s.carrier_id "
        "WHERE w.city = 'Dallas' AND c.mode = 'truck' ORDER BY s.shipment_id",
        "Joins shipments to warehouses (for city) and carriers (for mode) and filters on both.")
    d.q("joins", "ar",
        "For each warehouse and carrier pair, how many shipments were sent and at what total cost?",
        "SELECT w.warehouse_name, c.carrier_name, COUNT(*) AS shipments, SUM(s.cost) AS total_cost FROM shipments s "
        "JOIN warehouses w ON w.warehouse_id = s.warehouse_id JOIN carriers c ON c.carrier_id = s.carrier_id "
        "GROUP BY w.warehouse_name, c.carrier_name ORDER BY w.warehouse_name, c.carrier_name",
        "Two joins bring in warehouse and carrier names; grouping by both gives per-pair counts and cost totals.")

    d.q("sub", "dr",
        "Which shipments cost more than the average shipment?",
        "SELECT shipment_id, destination_city, cost FROM shipments WHERE cost > (SELECT AVG(cost) FROM shipments) ORDER BY cost DESC, shipment_id",
        "A scalar subquery returns the average cost; shipments above it are listed from most to least expensive.")
    d.q("sub", "dr",
        "Which carriers have never been used for a shipment?",
        "SELECT carrier_id, carrier_name FROM carriers c WHERE NOT EXISTS (SELECT 1 FROM shipments s WHERE s.carrier_id = c.carrier_id) ORDER BY carrier_id",
        "NOT EXISTS keeps carriers with no matching shipment row.")
    d.q("sub", "dr",
        "What is the heaviest shipment sent from each warehouse?",
        "SELECT s.warehouse_id, s.shipment_id, s.weight_kg FROM shipments s WHERE s.weight_kg = "
        "(SELECT MAX(s2.weight_kg) FROM shipments s2 WHERE s2.warehouse_id = s.warehouse_id) ORDER BY s.warehouse_id",
        "The correlated subquery finds the maximum weight for the outer row's warehouse; matching shipments are the heaviest ones.")
    d.q("sub", "dr",
        "List shipments handled by carriers with an on-time rating of 4.5 or better.",
        "SELECT shipment_id, carrier_id, destination_city FROM shipments WHERE carrier_id IN "
        "(SELECT carrier_id FROM carriers WHERE on_time_rating >= 4.5) ORDER BY shipment_id",
        "The IN subquery selects well-rated carrier ids, and the outer query keeps their shipments.")

    d.q("win", "ar",
        "Rank each carrier's shipments from most to least expensive.",
        "SELECT carrier_id, shipment_id, cost, ROW_NUMBER() OVER (PARTITION BY carrier_id ORDER BY cost DESC, shipment_id) AS cost_rank "
        "FROM shipments ORDER BY carrier_id, cost_rank",
        "ROW_NUMBER() partitioned by carrier and ordered by cost descending gives each carrier's shipments a position.")
    d.q("win", "ar",
        "Show the cumulative shipping cost for each warehouse as shipments go out over time.",
        "SELECT warehouse_id, ship_date, shipment_id, cost, SUM(cost) OVER (PARTITION BY warehouse_id ORDER BY ship_date, shipment_id) "
        "AS cumulative_cost FROM shipments ORDER BY warehouse_id, ship_date, shipment_id",
        "SUM(cost) as a window per warehouse ordered by ship date accumulates spend shipment by shipment.")
    d.q("win", "ar",
        "For each warehouse, show every shipment alongside the ship date of that warehouse's next shipment.",
        "SELECT warehouse_id, shipment_id, ship_date, LEAD(ship_date) OVER (PARTITION BY warehouse_id ORDER BY ship_date, shipment_id) "
        "AS next_ship_date FROM shipments ORDER BY warehouse_id, ship_date, shipment_id",
        "LEAD looks one row ahead within the warehouse's date-ordered shipments; the last shipment gets NULL.")

    d.q("set", "dr",
        "Which cities both host one of our warehouses and receive shipments?",
        "SELECT city FROM warehouses INTERSECT SELECT destination_city FROM shipments ORDER BY city",
        "INTERSECT returns the city names present both among warehouse locations and among shipment destinations.")
    d.q("set", "dr",
        "Which destinations has SwiftFreight (carrier 1) served that BudgetHaul (carrier 4) never has?",
        "SELECT destination_city FROM shipments WHERE carrier_id = 1 EXCEPT SELECT destination_city FROM shipments WHERE carrier_id = 4 "
        "ORDER BY destination_city",
        "EXCEPT subtracts carrier 4's destinations from carrier 1's destinations.")

    d.q("cte", "ar",
        "What share of total shipping spend does each warehouse account for? Show shipment count, spend and percentage (2 decimals).",
        "WITH per_wh AS (SELECT warehouse_id, COUNT(*) AS shipments, SUM(cost) AS spend FROM shipments GROUP BY warehouse_id) "
        "SELECT warehouse_id, shipments, spend, ROUND(100.0 * spend / (SELECT SUM(spend) FROM per_wh), 2) AS pct_of_spend FROM per_wh "
        "ORDER BY pct_of_spend DESC, warehouse_id",
        "The CTE totals shipments and spend per warehouse; the main query divides each spend by the CTE's grand total.")
    d.q("cte", "ar",
        "Which carriers deliver in under two days on average? Only consider delivered shipments.",
        "WITH transit AS (SELECT carrier_id, julianday(delivered_date) - julianday(ship_date) AS days FROM shipments WHERE status = 'delivered') "
        "SELECT c.carrier_name, ROUND(AVG(t.days), 2) AS avg_transit_days FROM transit t JOIN carriers c ON c.carrier_id = t.carrier_id "
        "GROUP BY c.carrier_id, c.carrier_name HAVING AVG(t.days) < 2 ORDER BY avg_transit_days, c.carrier_name",
        "The CTE computes each delivered shipment's transit days with julianday; the outer query averages per carrier and keeps averages under 2.")

    d.q("date", "dr",
        "How many days did each delivered shipment take to arrive?",
        "SELECT shipment_id, ship_date, delivered_date, CAST(julianday(delivered_date) - julianday(ship_date) AS INTEGER) AS transit_days "
        "FROM shipments WHERE delivered_date IS NOT NULL ORDER BY shipment_id",
        "Subtracting julianday values of the two dates gives the transit time in days for shipments that have a delivery date.")
    d.q("date", "dr",
        "As of 25 May 2024, which shipments that are still in transit or delayed have been on the road for more than a week?",
        "SELECT shipment_id, ship_date, status, CAST(julianday('2024-05-25') - julianday(ship_date) AS INTEGER) AS days_out FROM shipments "
        "WHERE status IN ('in_transit', 'delayed') AND julianday('2024-05-25') - julianday(ship_date) > 7 ORDER BY days_out DESC, shipment_id",
        "For open shipments, julianday('2024-05-25') - julianday(ship_date) gives the days outstanding; more than 7 qualifies.")

    d.q("basic", "dm",
        "Add a new carrier: id 6, 'PolarExpress', a truck carrier with an on-time rating of 4.0.",
        "INSERT INTO carriers (carrier_id, carrier_name, mode, on_time_rating) VALUES (6, 'PolarExpress', 'truck', 4.0)",
        "Inserts a single carrier row with explicit column names.")
    d.q("basic", "dm",
        "Shipment 5 arrived on 24 May 2024. Update it accordingly.",
        "UPDATE shipments SET status = 'delivered', delivered_date = '2024-05-24' WHERE shipment_id = 5",
        "Sets both status and delivered_date on the single shipment identified by its primary key.")
    d.q("sub", "dm",
        "Apply a 5% fuel surcharge to the cost of every shipment moved by a truck carrier.",
        "UPDATE shipments SET cost = ROUND(cost * 1.05, 2) WHERE carrier_id IN (SELECT carrier_id FROM carriers WHERE mode = 'truck')",
        "The subquery returns the ids of truck carriers; their shipments have cost multiplied by 1.05 and rounded to cents.")
    d.q("basic", "dm",
        "Write off the lost shipments by deleting them.",
        "DELETE FROM shipments WHERE status = 'lost'",
        "Deletes only rows whose status is 'lost'.")
    d.q("join", "dd",
        "Create a view open_shipments listing every shipment not yet delivered, with its id, warehouse name, destination, ship date and status.",
        "CREATE VIEW open_shipments AS SELECT s.shipment_id, w.warehouse_name, s.destination_city, s.ship_date, s.status "
        "FROM shipments s JOIN warehouses w ON w.warehouse_id = s.warehouse_id WHERE s.delivered_date IS NULL",
        "The view joins shipments to warehouses for the name and keeps rows without a delivered_date.")
    d.q("join", "dd",
        "Create a table carrier_scorecard with each carrier's id, name, number of shipments and number delivered (carriers with no shipments show 0).",
        "CREATE TABLE carrier_scorecard AS SELECT c.carrier_id, c.carrier_name, COUNT(s.shipment_id) AS shipments, "
        "SUM(CASE WHEN s.status = 'delivered' THEN 1 ELSE 0 END) AS delivered FROM carriers c LEFT JOIN shipments s ON s.carrier_id = c.carrier_id "
        "GROUP BY c.carrier_id, c.carrier_name",
        "CREATE TABLE AS materialises a LEFT JOIN aggregate; the CASE sum counts delivered shipments and is 0 for unused carriers.")
    d.q("basic", "dd",
        "Create an index on the shipment status column.",
        "CREATE INDEX idx_shipments_status ON shipments (status)",
        "CREATE INDEX builds an index named idx_shipments_status over shipments.status for faster status filters.")
    d.q("basic", "dd",
        "Add a tracking_number column to the shipments table.",
        "ALTER TABLE shipments ADD COLUMN tracking_number TEXT",
        "ALTER TABLE ADD COLUMN adds a nullable TEXT column to every shipment.")
    d.q("basic", "dr",
        "What were the three cheapest shipments?",
        "SELECT shipment_id, destination_city, cost FROM shipments ORDER BY cost, shipment_id LIMIT 3",
        "Orders shipments by cost ascending and keeps the first three rows.")
    d.q("basic", "dr",
        "Which shipments went to a destination whose name begins with 'San' or 'Las'?",
        "SELECT shipment_id, destination_city FROM shipments WHERE destination_city LIKE 'San %' OR destination_city LIKE 'Las %' ORDER BY shipment_id",
        "Two LIKE patterns with a trailing space and wildcard match city names starting with the words San or Las.")
    return d


@domain
def hr():
    d = Domain(
        "hr",
        "Human resources: departments with locations and budgets, employees with titles, salaries, hire dates "
        "and reporting lines, and annual performance reviews with 1-5 ratings.",
    )
    d.table(
        "departments",
        """
        dept_id INTEGER PRIMARY KEY
        dept_name TEXT NOT NULL
        location TEXT NOT NULL
        budget REAL NOT NULL
        """,
        [
            (10, "Engineering", "Berlin", 1200000.0),
            (20, "Marketing", "London", 400000.0),
            (30, "Finance", "London", 350000.0),
            (40, "Human Resources", "Berlin", 200000.0),
            (50, "Legal", "Paris", 250000.0),
        ],
    )
    d.table(
        "employees",
        """
        emp_id INTEGER PRIMARY KEY
        first_name TEXT NOT NULL
        last_name TEXT NOT NULL
        dept_id INTEGER NOT NULL
        job_title TEXT NOT NULL
        salary REAL NOT NULL
        hire_date TEXT NOT NULL
        manager_id INTEGER
        """,
        [
            (1, "Sabine", "Wolf", 10, "VP Engineering", 145000.0, "2015-03-01", None),
            (2, "Arjun", "Mehta", 10, "Senior Engineer", 98000.0, "2018-07-16", 1),
            (3, "Lena", "Fischer", 10, "Software Engineer", 76000.0, "2021-01-11", 2),
            (4, "Tom", "Baker", 10, "Software Engineer", 72000.0, "2022-09-05", 2),
            (5, "Chloe", "Martin", 20, "Marketing Director", 110000.0, "2016-05-23", None),
            (6, "Daniel", "Evans", 20, "Content Strategist", 58000.0, "2020-02-17", 5),
            (7, "Yuki", "Tanaka", 20, "SEO Specialist", 54000.0, "2023-04-03", 5),
            (8, "Grace", "Osei", 30, "Finance Manager", 102000.0, "2017-11-06", None),
            (9, "Pavel", "Novak", 30, "Accountant", 61000.0, "2019-08-19", 8),
            (10, "Ines", "Duarte", 30, "Accountant", 63500.0, "2022-03-14", 8),
            (11, "Hugo", "Laurent", 40, "HR Partner", 67000.0, "2020-10-01", None),
            (12, "Maya", "Cohen", 10, "Data Engineer", 99500.0, "2023-06-26", 2),
        ],
        fks=[("dept_id", "departments", "dept_id"), ("manager_id", "employees", "emp_id")],
    )
    d.table(
        "reviews",
        """
        review_id INTEGER PRIMARY KEY
        emp_id INTEGER NOT NULL
        review_date TEXT NOT NULL
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5)
        """,
        [
            (1, 2, "2023-12-10", 5),
            (2, 3, "2023-12-11", 4),
            (3, 4, "2023-12-11", 3),
            (4, 6, "2023-12-12", 4),
            (5, 9, "2023-12-14", 2),
            (6, 10, "2023-12-14", 4),
            (7, 2, "2024-12-09", 4),
            (8, 3, "2024-12-09", 5),
            (9, 4, "2024-12-10", 3),
            (10, 7, "2024-12-11", 5),
            (11, 9, "2024-12-12", 3),
            (12, 12, "2024-12-13", 4),
        ],
        fks=[("emp_id", "employees", "emp_id")],
    )

    d.q("basic", "dr",
        "Who earns more than 100,000? Show name, title and salary, highest paid first.",
        "SELECT first_name, last_name, job_title, salary FROM employees WHERE salary > 100000 ORDER BY salary DESC, emp_id",
        "Filters employees on salary > 100000 and sorts by salary descending.")
    d.q("basic", "dr",
        "Which employees don't report to anyone?",
        "SELECT emp_id, first_name, last_name, job_title FROM employees WHERE manager_id IS NULL ORDER BY emp_id",
        "Employees at the top of a reporting line have a NULL manager_id, so the query filters with IS NULL.")
    d.q("basic", "dr",
        "List everyone working as a Software Engineer or an Accountant.",
        "SELECT emp_id, first_name, last_name, job_title FROM employees WHERE job_title IN ('Software Engineer', 'Accountant') ORDER BY job_title, emp_id",
        "IN matches either job title exactly; results are grouped visually by title.")
    d.q("basic", "dr",
        "Who was hired between the start of 2020 and the end of 2022?",
        "SELECT first_name, last_name, hire_date FROM employees WHERE hire_date BETWEEN '2020-01-01' AND '2022-12-31' ORDER BY hire_date, emp_id",
        "BETWEEN on ISO date strings selects hire dates from 2020-01-01 through 2022-12-31.")
    d.q("basic", "dr",
        "Find all employees whose job title mentions 'Engineer'.",
        "SELECT emp_id, first_name, last_name, job_title FROM employees WHERE job_title LIKE '%Engineer%' ORDER BY emp_id",
        "LIKE '%Engineer%' matches the word anywhere in the title, including 'VP Engineering' and 'Data Engineer'.")
    d.q("basic", "dr",
        "Put each employee into a salary band: 'band 1' below 60,000, 'band 2' up to 90,000, 'band 3' above that.",
        "SELECT emp_id, first_name, last_name, salary, CASE WHEN salary < 60000 THEN 'band 1' WHEN salary <= 90000 THEN 'band 2' "
        "ELSE 'band 3' END AS salary_band FROM employees ORDER BY emp_id",
        "A CASE expression checks the salary thresholds in ascending order and returns the first matching band.")

    d.q("agg", "ar",
        "What is the headcount and average salary (rounded to 2 decimals) in each department?",
        "SELECT dept_id, COUNT(*) AS headcount, ROUND(AVG(salary), 2) AS avg_salary FROM employees GROUP BY dept_id ORDER BY dept_id",
        "Groups employees by dept_id, counting rows and averaging salary per department.")
    d.q("agg", "ar",
        "Which departments have a total payroll above 200,000?",
        "SELECT dept_id, SUM(salary) AS payroll FROM employees GROUP BY dept_id HAVING SUM(salary) > 200000 ORDER BY payroll DESC, dept_id",
        "Sums salary per department and keeps groups whose total exceeds 200,000 using HAVING.")
    d.q("agg", "ar",
        "How many reviews have been given at each rating level?",
        "SELECT rating, COUNT(*) AS review_count FROM reviews GROUP BY rating ORDER BY rating DESC",
        "Groups reviews by rating and counts each group, listing the best rating first.")
    d.q("agg", "ar",
        "For job titles held by more than one person, show the lowest and highest salary.",
        "SELECT job_title, COUNT(*) AS people, MIN(salary) AS min_salary, MAX(salary) AS max_salary FROM employees GROUP BY job_title "
        "HAVING COUNT(*) > 1 ORDER BY job_title",
        "Groups by job_title, keeps titles with more than one holder, and reports MIN and MAX salary.")

    d.q("join", "dr",
        "List the employees based in London offices along with their department name.",
        "SELECT e.first_name, e.last_name, d.dept_name FROM employees e JOIN departments d ON d.dept_id = e.dept_id "
        "WHERE d.location = 'London' ORDER BY d.dept_name, e.emp_id",
        "Joins employees to departments on dept_id and filters on the department's location.")
    d.q("join", "dr",
        "Show every employee next to their manager's name (leave it empty for people without a manager).",
        "SELECT e.emp_id, e.first_name, e.last_name, m.first_name AS manager_first_name, m.last_name AS manager_last_name "
        "FROM employees e LEFT JOIN employees m ON m.emp_id = e.manager_id ORDER BY e.emp_id",
        "A self LEFT JOIN matches each employee's manager_id to another employee row; top-level staff get NULL manager names.")
    d.q("join", "ar",
        "How many people work in each department? Include departments with nobody in them.",
        "SELECT d.dept_name, COUNT(e.emp_id) AS headcount FROM departments d LEFT JOIN employees e ON e.dept_id = d.dept_id "
        "GROUP BY d.dept_id, d.dept_name ORDER BY headcount DESC, d.dept_name",
        "LEFT JOIN keeps all departments; COUNT(e.emp_id) returns 0 for a department without employees.")
    d.q("join", "ar",
        "What percentage of each department's budget goes to salaries? Round to two decimals.",
        "SELECT d.dept_name, ROUND(100.0 * SUM(e.salary) / d.budget, 2) AS payroll_pct_of_budget FROM departments d "
        "JOIN employees e ON e.dept_id = d.dept_id GROUP BY d.dept_id, d.dept_name, d.budget ORDER BY payroll_pct_of_budget DESC, d.dept_name",
        "Joins departments to employees, sums salaries per department and divides by that department's budget.")
    d.q("join", "dr",
        "Which employees earn more than their own manager?",
        "SELECT e.first_name, e.last_name, e.salary, m.first_name AS manager_first_name, m.salary AS manager_salary FROM employees e "
        "JOIN employees m ON m.emp_id = e.manager_id WHERE e.salary > m.salary ORDER BY e.emp_id",
        "A self-join pairs each employee with their manager row; the WHERE clause compares the two salaries.")
    d.q("joins", "dr",
        "Show the 2024 review ratings with the employee's name and department name.",
        "SELECT e.first_name, e.last_name, d.dept_name, r.rating FROM reviews r JOIN employees e ON e.emp_id = r.emp_id "
        "JOIN departments d ON d.dept_id = e.dept_id WHERE r.review_date BETWEEN '2024-01-01' AND '2024-12-31' ORDER BY r.rating DESC, e.emp_id",
        "Joins reviews to employees and employees to departments, keeping reviews dated in 2024.")
    d.q("joins", "dr",
        "List each employee with their department name and their manager's full name, where they have a manager.",
        "SELECT e.first_name, e.last_name, d.dept_name, m.first_name || ' ' || m.last_name AS manager_name FROM employees e "
        "JOIN departments d ON d.dept_id = e.dept_id JOIN employees m ON m.emp_id = e.manager_id ORDER BY e.emp_id",
        "Joins employees to departments and, through a self-join, to their manager; the inner join drops staff without a manager.")

    d.q("sub", "dr",
        "Who is paid more than the average salary of their own department?",
        "SELECT e.first_name, e.last_name, e.dept_id, e.salary FROM employees e WHERE e.salary > "
        "(SELECT AVG(e2.salary) FROM employees e2 WHERE e2.dept_id = e.dept_id) ORDER BY e.dept_id, e.salary DESC",
        "A correlated subquery computes the average salary of the outer employee's department for comparison.")
    d.q("sub", "dr",
        "Which employees have never received a performance review?",
        "SELECT emp_id, first_name, last_name FROM employees WHERE emp_id NOT IN (SELECT emp_id FROM reviews) ORDER BY emp_id",
        "NOT IN against the reviewed employee ids leaves employees without any review.")
    d.q("sub", "dr",
        "List the employees who work in departments located in Berlin.",
        "SELECT emp_id, first_name, last_name FROM employees WHERE dept_id IN (SELECT dept_id FROM departments WHERE location = 'Berlin') ORDER BY emp_id",
        "The IN subquery returns Berlin department ids; employees in those departments are listed.")
    d.q("sub", "dr",
        "Who is the highest-paid employee in the company?",
        "SELECT first_name, last_name, salary FROM employees WHERE salary = (SELECT MAX(salary) FROM employees)",
        "A scalar subquery finds the maximum salary and the outer query returns the employee earning it.")

    d.q("win", "ar",
        "Rank employees by salary within their department.",
        "SELECT dept_id, first_name, last_name, salary, RANK() OVER (PARTITION BY dept_id ORDER BY salary DESC) AS salary_rank "
        "FROM employees ORDER BY dept_id, salary_rank, emp_id",
        "RANK() over a window partitioned by dept_id and ordered by salary descending ranks people within each department.")
    d.q("win", "ar",
        "For each review, show the employee's previous rating and whether the rating went up, down or stayed the same.",
        "SELECT emp_id, review_date, rating, LAG(rating) OVER (PARTITION BY emp_id ORDER BY review_date) AS previous_rating, "
        "CASE WHEN LAG(rating) OVER (PARTITION BY emp_id ORDER BY review_date) IS NULL THEN 'first review' "
        "WHEN rating > LAG(rating) OVER (PARTITION BY emp_id ORDER BY review_date) THEN 'up' "
        "WHEN rating < LAG(rating) OVER (PARTITION BY emp_id ORDER BY review_date) THEN 'down' ELSE 'same' END AS trend "
        "FROM reviews ORDER BY emp_id, review_date",
        "LAG(rating) over each employee's reviews in date order gives the prior rating; a CASE compares it with the current one.")
    d.q("win", "ar",
        "What share of their department's total payroll does each employee's salary represent? Show a percentage with 2 decimals.",
        "SELECT dept_id, first_name, last_name, salary, ROUND(100.0 * salary / SUM(salary) OVER (PARTITION BY dept_id), 2) AS pct_of_dept_payroll "
        "FROM employees ORDER BY dept_id, salary DESC, emp_id",
        "SUM(salary) OVER (PARTITION BY dept_id) attaches the department total to each row without collapsing rows.")

    d.q("set", "dr",
        "Which employees were reviewed in both 2023 and 2024?",
        "SELECT emp_id FROM reviews WHERE review_date BETWEEN '2023-01-01' AND '2023-12-31' INTERSECT "
        "SELECT emp_id FROM reviews WHERE review_date BETWEEN '2024-01-01' AND '2024-12-31' ORDER BY emp_id",
        "INTERSECT keeps employee ids found among both the 2023 and the 2024 reviews.")
    d.q("set", "dr",
        "Give me the ids of everyone who either manages someone or has received a top rating of 5.",
        "SELECT manager_id AS emp_id FROM employees WHERE manager_id IS NOT NULL UNION SELECT emp_id FROM reviews WHERE rating = 5 ORDER BY emp_id",
        "UNION merges the distinct manager ids with the ids of employees rated 5, removing duplicates.")

    d.q("cte", "ar",
        "Using each employee's most recent review only, what is the average rating per department?",
        "WITH latest AS (SELECT emp_id, rating, ROW_NUMBER() OVER (PARTITION BY emp_id ORDER BY review_date DESC) AS rn FROM reviews) "
        "SELECT e.dept_id, ROUND(AVG(l.rating), 2) AS avg_latest_rating, COUNT(*) AS reviewed_employees FROM latest l "
        "JOIN employees e ON e.emp_id = l.emp_id WHERE l.rn = 1 GROUP BY e.dept_id ORDER BY e.dept_id",
        "The CTE numbers each employee's reviews newest first; keeping rn = 1 leaves the latest review, which is averaged per department.")
    d.q("cte", "dr",
        "List everyone who reports to Sabine Wolf, directly or indirectly, with their level below her.",
        "WITH RECURSIVE reports AS (SELECT emp_id, first_name, last_name, 1 AS level FROM employees WHERE manager_id = "
        "(SELECT emp_id FROM employees WHERE first_name = 'Sabine' AND last_name = 'Wolf') UNION ALL "
        "SELECT e.emp_id, e.first_name, e.last_name, r.level + 1 FROM employees e JOIN reports r ON e.manager_id = r.emp_id) "
        "SELECT emp_id, first_name, last_name, level FROM reports ORDER BY level, emp_id",
        "A recursive CTE starts from Sabine's direct reports and repeatedly joins employees whose manager is already in the result.")

    d.q("date", "dr",
        "How many full years of service will each employee have on 31 December 2024?",
        "SELECT emp_id, first_name, last_name, hire_date, (CAST(strftime('%Y', '2024-12-31') AS INTEGER) - CAST(strftime('%Y', hire_date) AS INTEGER)) "
        "- (strftime('%m-%d', '2024-12-31') < strftime('%m-%d', hire_date)) AS years_of_service FROM employees ORDER BY years_of_service DESC, emp_id",
        "The year difference from strftime('%Y') is reduced by one when the hire anniversary (month-day) has not yet been reached.")
    d.q("date", "ar",
        "How many people were hired in each year?",
        "SELECT strftime('%Y', hire_date) AS hire_year, COUNT(*) AS hires FROM employees GROUP BY hire_year ORDER BY hire_year",
        "strftime('%Y', hire_date) extracts the hire year; employees are counted per year.")
    d.q("date", "dr",
        "Whose five-year work anniversary falls in 2025?",
        "SELECT first_name, last_name, hire_date, date(hire_date, '+5 years') AS anniversary FROM employees "
        "WHERE date(hire_date, '+5 years') BETWEEN '2025-01-01' AND '2025-12-31' ORDER BY anniversary, emp_id",
        "date(hire_date, '+5 years') computes each five-year anniversary; the filter keeps those landing in 2025.")

    d.q("basic", "dm",
        "Hire Nora Lind as employee 13: Legal Counsel in the Legal department (50), salary 95,000, starting 6 January 2025, with no manager.",
        "INSERT INTO employees (emp_id, first_name, last_name, dept_id, job_title, salary, hire_date, manager_id) "
        "VALUES (13, 'Nora', 'Lind', 50, 'Legal Counsel', 95000.0, '2025-01-06', NULL)",
        "Inserts one employee row with every column listed explicitly; manager_id is NULL.")
    d.q("basic", "dm",
        "Give every Accountant a 4% raise, rounded to the nearest cent.",
        "UPDATE employees SET salary = ROUND(salary * 1.04, 2) WHERE job_title = 'Accountant'",
        "Multiplies salary by 1.04 for rows whose job_title is 'Accountant'.")
    d.q("sub", "dm",
        "Give a 5% raise to everyone who received a rating of 5 in their 2024 review.",
        "UPDATE employees SET salary = ROUND(salary * 1.05, 2) WHERE emp_id IN "
        "(SELECT emp_id FROM reviews WHERE rating = 5 AND review_date BETWEEN '2024-01-01' AND '2024-12-31')",
        "The subquery finds employees rated 5 in 2024; only their salaries are increased by 5%.")
    d.q("date", "dm",
        "Purge all performance reviews from 2023.",
        "DELETE FROM reviews WHERE strftime('%Y', review_date) = '2023'",
        "strftime('%Y', review_date) extracts the review year, and rows from 2023 are deleted.")
    d.q("join", "dd",
        "Create a view department_payroll with each department's name, headcount and total salary (0 for empty departments).",
        "CREATE VIEW department_payroll AS SELECT d.dept_name, COUNT(e.emp_id) AS headcount, COALESCE(SUM(e.salary), 0) AS total_salary "
        "FROM departments d LEFT JOIN employees e ON e.dept_id = d.dept_id GROUP BY d.dept_id, d.dept_name",
        "The view aggregates a LEFT JOIN of departments and employees; COALESCE turns the empty department's NULL sum into 0.")
    d.q("basic", "dd",
        "Add a remote_eligible flag to the employees table, defaulting to 0.",
        "ALTER TABLE employees ADD COLUMN remote_eligible INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE ADD COLUMN appends the flag; existing employees get the default 0.")
    d.q("join", "dd",
        "Create a table top_performers with the employee id, first and last name and review date of every review rated 5.",
        "CREATE TABLE top_performers AS SELECT e.emp_id, e.first_name, e.last_name, r.review_date FROM reviews r "
        "JOIN employees e ON e.emp_id = r.emp_id WHERE r.rating = 5",
        "CREATE TABLE AS SELECT stores the join of 5-star reviews with employee names as a new table.")
    d.q("basic", "dr",
        "Who are the two most recently hired employees?",
        "SELECT first_name, last_name, hire_date FROM employees ORDER BY hire_date DESC, emp_id LIMIT 2",
        "Sorts employees by hire_date newest first and returns the first two rows.")
    return d


@domain
def music_streaming():
    d = Domain(
        "music_streaming",
        "Music streaming service: artists with country and genre, tracks with album, duration and release "
        "date, and individual listening events with timestamps, seconds played and device.",
    )
    d.table(
        "artists",
        """
        artist_id INTEGER PRIMARY KEY
        artist_name TEXT NOT NULL
        country TEXT NOT NULL
        genre TEXT NOT NULL
        formed_year INTEGER
        """,
        [
            (1, "The Velvet Echoes", "UK", "indie rock", 2009),
            (2, "Luna Park", "US", "synthpop", 2015),
            (3, "DJ Koala", "Australia", "electronic", 2012),
            (4, "Mariana Costa", "Brazil", "bossa nova", 2018),
            (5, "Northern Static", "Canada", "indie rock", 2020),
            (6, "Kaito", "Japan", "hip hop", 2016),
            (7, "Elsa Berg", "Sweden", "pop", 2021),
        ],
    )
    d.table(
        "tracks",
        """
        track_id INTEGER PRIMARY KEY
        artist_id INTEGER NOT NULL
        title TEXT NOT NULL
        album TEXT
        duration_sec INTEGER NOT NULL
        release_date TEXT NOT NULL
        explicit INTEGER NOT NULL DEFAULT 0
        """,
        [
            (1, 1, "Glass Harbour", "Tidal Lines", 242, "2019-05-10", 0),
            (2, 1, "Paper Lanterns", "Tidal Lines", 198, "2019-05-10", 0),
            (3, 1, "Slow Burn City", "Neon Rivers", 275, "2023-09-22", 1),
            (4, 2, "Midnight Arcade", "Pixel Hearts", 215, "2021-03-05", 0),
            (5, 2, "Satellite Love", "Pixel Hearts", 187, "2021-03-05", 0),
            (6, 3, "Eucalyptus", "Outback Beats", 331, "2020-11-13", 0),
            (7, 3, "Desert Rain", "Outback Beats", 289, "2020-11-13", 0),
            (8, 4, "Saudade do Mar", "Maré Alta", 224, "2022-06-17", 0),
            (9, 5, "Frostbite", "Cold Signals", 205, "2024-01-26", 1),
            (10, 6, "Tokyo Drift Lines", "Concrete Bloom", 176, "2023-02-14", 1),
            (11, 6, "Cherry Smoke", "Concrete Bloom", 163, "2023-02-14", 1),
            (12, 7, "Northern Lights", None, 201, "2024-03-08", 0),
        ],
        fks=[("artist_id", "artists", "artist_id")],
    )
    d.table(
        "listens",
        """
        listen_id INTEGER PRIMARY KEY
        track_id INTEGER NOT NULL
        user_name TEXT NOT NULL
        listened_at TEXT NOT NULL
        seconds_played INTEGER NOT NULL
        device TEXT NOT NULL
        """,
        [
            (1, 1, "anna_k", "2024-03-01 08:15:00", 242, "mobile"),
            (2, 4, "anna_k", "2024-03-01 08:20:00", 215, "mobile"),
            (3, 4, "ben92", "2024-03-01 21:05:00", 60, "desktop"),
            (4, 6, "carlos_m", "2024-03-02 23:40:00", 331, "smart_speaker"),
            (5, 10, "ben92", "2024-03-02 18:30:00", 176, "mobile"),
            (6, 3, "dana.r", "2024-03-03 07:55:00", 120, "mobile"),
            (7, 8, "carlos_m", "2024-03-03 12:10:00", 224, "desktop"),
            (8, 4, "dana.r", "2024-03-04 19:45:00", 215, "smart_speaker"),
            (9, 9, "anna_k", "2024-03-05 22:10:00", 205, "mobile"),
            (10, 1, "ben92", "2024-03-06 09:00:00", 242, "desktop"),
            (11, 11, "eli_s", "2024-03-06 16:20:00", 40, "mobile"),
            (12, 5, "anna_k", "2024-03-08 08:05:00", 187, "mobile"),
            (13, 7, "carlos_m", "2024-03-09 00:30:00", 289, "smart_speaker"),
            (14, 10, "eli_s", "2024-03-09 17:45:00", 176, "mobile"),
            (15, 4, "eli_s", "2024-03-10 20:00:00", 215, "desktop"),
            (16, 2, "dana.r", "2024-03-10 13:25:00", 25, "mobile"),
        ],
        fks=[("track_id", "tracks", "track_id")],
    )

    d.q("basic", "dr",
        "Which tracks are marked as explicit?",
        "SELECT track_id, title, album FROM tracks WHERE explicit = 1 ORDER BY track_id",
        "explicit is a 0/1 flag, so the query filters on explicit = 1.")
    d.q("basic", "dr",
        "List the tracks that run longer than four minutes, longest first.",
        "SELECT title, duration_sec FROM tracks WHERE duration_sec > 240 ORDER BY duration_sec DESC, track_id",
        "Durations are stored in seconds, so four minutes is 240; matches are sorted by duration descending.")
    d.q("basic", "dr",
        "Which artists come from the UK, Canada or Sweden?",
        "SELECT artist_name, country, genre FROM artists WHERE country IN ('UK', 'Canada', 'Sweden') ORDER BY artist_name",
        "IN matches any of the three countries.")
    d.q("basic", "dr",
        "Which tracks were released as singles, i.e. without an album?",
        "SELECT track_id, title, release_date FROM tracks WHERE album IS NULL ORDER BY track_id",
        "Singles have no album, stored as NULL, so the filter is album IS NULL.")
    d.q("basic", "dr",
        "Find tracks whose title starts with the letter S.",
        "SELECT track_id, title FROM tracks WHERE title LIKE 'S%' ORDER BY title",
        "LIKE 'S%' matches titles beginning with S.")

    d.q("agg", "ar",
        "How many listens came from each type of device?",
        "SELECT device, COUNT(*) AS listen_count FROM listens GROUP BY device ORDER BY listen_count DESC, device",
        "Groups listening events by device and counts them.")
    d.q("agg", "ar",
        "How many minutes has each user spent listening? Round to two decimals.",
        "SELECT user_name, ROUND(SUM(seconds_played) / 60.0, 2) AS minutes_listened FROM listens GROUP BY user_name ORDER BY minutes_listened DESC, user_name",
        "Sums seconds_played per user and divides by 60.0 (a real number, to avoid integer division) to get minutes.")
    d.q("agg", "ar",
        "For artists with at least two tracks, what is their average track length in seconds, rounded to one decimal?",
        "SELECT artist_id, COUNT(*) AS track_count, ROUND(AVG(duration_sec), 1) AS avg_duration_sec FROM tracks GROUP BY artist_id "
        "HAVING COUNT(*) >= 2 ORDER BY artist_id",
        "Groups tracks by artist, keeps artists with two or more tracks, and averages duration_sec.")
    d.q("agg", "ar",
        "How many different listeners has each track had?",
        "SELECT track_id, COUNT(DISTINCT user_name) AS unique_listeners FROM listens GROUP BY track_id ORDER BY unique_listeners DESC, track_id",
        "COUNT(DISTINCT user_name) counts each listener once per track, even if they played it repeatedly.")

    d.q("join", "ar",
        "How many times has each track been played? Include tracks that nobody has played.",
        "SELECT t.title, COUNT(l.listen_id) AS plays FROM tracks t LEFT JOIN listens l ON l.track_id = t.track_id "
        "GROUP BY t.track_id, t.title ORDER BY plays DESC, t.track_id",
        "A LEFT JOIN from tracks keeps unplayed tracks; COUNT(l.listen_id) counts only real listens.")
    d.q("join", "dr",
        "Show the listens that happened on smart speakers with the track title.",
        "SELECT l.listen_id, l.user_name, t.title, l.listened_at FROM listens l JOIN tracks t ON t.track_id = l.track_id "
        "WHERE l.device = 'smart_speaker' ORDER BY l.listened_at",
        "Joins listens to tracks for the title and keeps rows whose device is 'smart_speaker'.")
    d.q("join", "dr",
        "Which plays were skips, meaning under 30 seconds? Show user, track title and seconds played.",
        "SELECT l.user_name, t.title, l.seconds_played FROM listens l JOIN tracks t ON t.track_id = l.track_id "
        "WHERE l.seconds_played < 30 ORDER BY l.listen_id",
        "Joins listens to tracks and keeps listening events shorter than 30 seconds.")
    d.q("joins", "ar",
        "How many plays has each genre received?",
        "SELECT a.genre, COUNT(*) AS plays FROM listens l JOIN tracks t ON t.track_id = l.track_id JOIN artists a ON a.artist_id = t.artist_id "
        "GROUP BY a.genre ORDER BY plays DESC, a.genre",
        "Two joins connect each listen to its track and the track's artist; plays are counted per artist genre.")
    d.q("joins", "dr",
        "Which artists has anna_k listened to?",
        "SELECT DISTINCT a.artist_name FROM listens l JOIN tracks t ON t.track_id = l.track_id JOIN artists a ON a.artist_id = t.artist_id "
        "WHERE l.user_name = 'anna_k' ORDER BY a.artist_name",
        "Follows anna_k's listens to tracks and artists; DISTINCT lists each artist once.")

    d.q("sub", "dr",
        "Which tracks are longer than the average track?",
        "SELECT title, duration_sec FROM tracks WHERE duration_sec > (SELECT AVG(duration_sec) FROM tracks) ORDER BY duration_sec DESC, track_id",
        "A scalar subquery computes the average duration; the outer query keeps longer tracks.")
    d.q("sub", "dr",
        "Which artists have not been listened to at all?",
        "SELECT artist_id, artist_name FROM artists a WHERE NOT EXISTS (SELECT 1 FROM tracks t JOIN listens l ON l.track_id = t.track_id "
        "WHERE t.artist_id = a.artist_id) ORDER BY artist_id",
        "The correlated NOT EXISTS subquery looks for any listen of any of the artist's tracks; artists with none are returned.")
    d.q("sub", "dr",
        "What is the longest track by each artist?",
        "SELECT t.artist_id, t.title, t.duration_sec FROM tracks t WHERE t.duration_sec = "
        "(SELECT MAX(t2.duration_sec) FROM tracks t2 WHERE t2.artist_id = t.artist_id) ORDER BY t.artist_id",
        "For every track, a correlated subquery finds its artist's maximum duration; only tracks matching it remain.")
    d.q("sub", "dr",
        "Show all listens of tracks released in 2023 or later.",
        "SELECT listen_id, track_id, user_name, listened_at FROM listens WHERE track_id IN (SELECT track_id FROM tracks WHERE release_date >= '2023-01-01') "
        "ORDER BY listened_at",
        "The IN subquery returns tracks released on or after 2023-01-01 and the outer query keeps listens of those tracks.")

    d.q("win", "ar",
        "Number each user's listens in the order they happened.",
        "SELECT user_name, listened_at, track_id, ROW_NUMBER() OVER (PARTITION BY user_name ORDER BY listened_at) AS listen_seq "
        "FROM listens ORDER BY user_name, listen_seq",
        "ROW_NUMBER() restarts for every user and counts their listens in timestamp order.")
    d.q("win", "ar",
        "Rank tracks by their total number of plays, with ties sharing a rank.",
        "SELECT track_id, COUNT(*) AS plays, RANK() OVER (ORDER BY COUNT(*) DESC) AS play_rank FROM listens GROUP BY track_id "
        "ORDER BY play_rank, track_id",
        "The query groups listens per track first, then RANK() orders the grouped play counts, giving tied tracks the same rank.")
    d.q("win", "ar",
        "For each user, how many minutes passed between consecutive listens? Round to the nearest minute.",
        "SELECT user_name, listened_at, ROUND((julianday(listened_at) - julianday(LAG(listened_at) OVER (PARTITION BY user_name "
        "ORDER BY listened_at))) * 1440) AS minutes_since_previous FROM listens ORDER BY user_name, listened_at",
        "LAG gives the previous listen time per user; the julianday difference is in days, so multiplying by 1440 converts it to minutes.")

    d.q("set", "dr",
        "Which users have listened on both mobile and desktop?",
        "SELECT user_name FROM listens WHERE device = 'mobile' INTERSECT SELECT user_name FROM listens WHERE device = 'desktop' ORDER BY user_name",
        "INTERSECT keeps user names that appear among mobile listens and among desktop listens.")
    d.q("set", "dr",
        "Which tracks have been played but never on a mobile device?",
        "SELECT track_id FROM listens EXCEPT SELECT track_id FROM listens WHERE device = 'mobile' ORDER BY track_id",
        "EXCEPT removes track ids with at least one mobile listen from the set of all played track ids.")

    d.q("cte", "ar",
        "For each played track, what share of its listens were complete plays (seconds played at least the track length)? Show a percentage.",
        "WITH plays AS (SELECT l.track_id, CASE WHEN l.seconds_played >= t.duration_sec THEN 1 ELSE 0 END AS completed FROM listens l "
        "JOIN tracks t ON t.track_id = l.track_id) SELECT track_id, COUNT(*) AS listens, ROUND(100.0 * SUM(completed) / COUNT(*), 2) AS completion_pct "
        "FROM plays GROUP BY track_id ORDER BY completion_pct DESC, track_id",
        "The CTE flags each listen as complete when seconds_played reaches duration_sec; the main query turns the flags into a percentage per track.")
    d.q("cte", "ar",
        "What is each user's favourite artist by total seconds listened? Break ties by artist name.",
        "WITH per_artist AS (SELECT l.user_name, a.artist_name, SUM(l.seconds_played) AS seconds FROM listens l "
        "JOIN tracks t ON t.track_id = l.track_id JOIN artists a ON a.artist_id = t.artist_id GROUP BY l.user_name, a.artist_name), "
        "ranked AS (SELECT user_name, artist_name, seconds, ROW_NUMBER() OVER (PARTITION BY user_name ORDER BY seconds DESC, artist_name) AS rn "
        "FROM per_artist) SELECT user_name, artist_name, seconds FROM ranked WHERE rn = 1 ORDER BY user_name",
        "The first CTE totals seconds per user and artist; the second numbers artists per user by seconds, and rn = 1 picks the favourite.")

    d.q("date", "ar",
        "Break listens down by time of day: night (0-4h), morning (5-11h), afternoon (12-17h) and evening (18-23h).",
        "SELECT CASE WHEN CAST(strftime('%H', listened_at) AS INTEGER) < 5 THEN 'night' WHEN CAST(strftime('%H', listened_at) AS INTEGER) < 12 "
        "THEN 'morning' WHEN CAST(strftime('%H', listened_at) AS INTEGER) < 18 THEN 'afternoon' ELSE 'evening' END AS part_of_day, "
        "COUNT(*) AS listens FROM listens GROUP BY part_of_day ORDER BY listens DESC, part_of_day",
        "strftime('%H') extracts the hour; a CASE maps it to a part of the day and listens are counted per bucket.")
    d.q("date", "ar",
        "How many listens happened on each calendar day?",
        "SELECT date(listened_at) AS listen_day, COUNT(*) AS listens FROM listens GROUP BY listen_day ORDER BY listen_day",
        "date(listened_at) strips the time part of each timestamp so listens can be counted per day.")
    d.q("date", "dr",
        "Which tracks were released within the 18 months before 31 March 2024?",
        "SELECT title, release_date FROM tracks WHERE release_date > date('2024-03-31', '-18 months') AND release_date <= '2024-03-31' "
        "ORDER BY release_date, track_id",
        "date('2024-03-31', '-18 months') gives the window start; releases after it and up to 31 March 2024 are listed.")

    d.q("basic", "dm",
        "Log a new listen: id 17, user ben92 played track 12 for its full 201 seconds on mobile at 2024-03-11 07:30:00.",
        "INSERT INTO listens (listen_id, track_id, user_name, listened_at, seconds_played, device) VALUES (17, 12, 'ben92', '2024-03-11 07:30:00', 201, 'mobile')",
        "Inserts one listening event with every column given explicitly.")
    d.q("basic", "dm",
        "The duration of 'Frostbite' was entered wrong; it should be 212 seconds.",
        "UPDATE tracks SET duration_sec = 212 WHERE title = 'Frostbite'",
        "Updates duration_sec on the track whose title is 'Frostbite'.")
    d.q("basic", "dm",
        "Remove accidental plays that lasted less than 30 seconds.",
        "DELETE FROM listens WHERE seconds_played < 30",
        "Deletes listening events whose seconds_played is below 30.")
    d.q("sub", "dm",
        "User eli_s turned on a clean-content filter: delete their listens of explicit tracks.",
        "DELETE FROM listens WHERE user_name = 'eli_s' AND track_id IN (SELECT track_id FROM tracks WHERE explicit = 1)",
        "The subquery lists explicit tracks; the DELETE removes eli_s's listens of those tracks only.")
    d.q("joins", "dd",
        "Create a view artist_play_counts showing each artist's name and total number of plays across their tracks, including artists with no plays.",
        "CREATE VIEW artist_play_counts AS SELECT a.artist_name, COUNT(l.listen_id) AS plays FROM artists a "
        "LEFT JOIN tracks t ON t.artist_id = a.artist_id LEFT JOIN listens l ON l.track_id = t.track_id GROUP BY a.artist_id, a.artist_name",
        "Two LEFT JOINs carry every artist through to their tracks and listens, so unplayed artists still appear with 0 plays.")
    d.q("agg", "dd",
        "Create a table user_stats with each user's name, number of listens and total seconds played.",
        "CREATE TABLE user_stats AS SELECT user_name, COUNT(*) AS listens, SUM(seconds_played) AS total_seconds FROM listens GROUP BY user_name",
        "CREATE TABLE AS stores the per-user aggregate of listens as a new table.")
    d.q("basic", "dd",
        "Add an index on listens by user and time to speed up listening-history lookups.",
        "CREATE INDEX idx_listens_user_time ON listens (user_name, listened_at)",
        "A composite index on (user_name, listened_at) supports fetching a user's listens in time order.")
    d.q("basic", "dr",
        "Show the five longest individual listening sessions by seconds played.",
        "SELECT listen_id, user_name, track_id, seconds_played FROM listens ORDER BY seconds_played DESC, listen_id LIMIT 5",
        "Sorts listens by seconds_played descending (listen_id breaks ties) and keeps the top five.")
    return d


@domain
def sports():
    d = Domain(
        "sports",
        "Football (soccer) league: teams with cities and coaches, player rosters with positions, goals and "
        "salaries, and 2024 season fixtures with scores and attendance (unplayed fixtures have NULL scores).",
    )
    d.table(
        "teams",
        """
        team_id INTEGER PRIMARY KEY
        team_name TEXT NOT NULL
        city TEXT NOT NULL
        founded_year INTEGER
        coach TEXT
        """,
        [
            (1, "Harbor City FC", "Harbor City", 1921, "Marta Ruiz"),
            (2, "Northfield United", "Northfield", 1934, "Ian Doyle"),
            (3, "Redwood Rangers", "Redwood", 1952, "Kofi Mensah"),
            (4, "Lakeside Athletic", "Lakeside", 1908, "Petra Novak"),
            (5, "Summit Wanderers", "Summit", 1977, None),
            (6, "Valley Rovers", "Valley Springs", 2001, "Sam Ortiz"),
        ],
    )
    d.table(
        "players",
        """
        player_id INTEGER PRIMARY KEY
        team_id INTEGER NOT NULL
        full_name TEXT NOT NULL
        position TEXT NOT NULL
        birth_date TEXT NOT NULL
        jersey_number INTEGER
        goals INTEGER NOT NULL DEFAULT 0
        salary INTEGER NOT NULL
        """,
        [
            (1, 1, "Diego Herrera", "forward", "1996-04-12", 9, 14, 2400000),
            (2, 1, "Tomas Berg", "goalkeeper", "1991-11-30", 1, 0, 1100000),
            (3, 1, "Kwame Asante", "midfielder", "1999-07-08", 8, 6, 1600000),
            (4, 2, "Luca Romano", "forward", "1998-01-25", 11, 11, 1900000),
            (5, 2, "Ethan Moore", "defender", "2000-09-14", 4, 1, 900000),
            (6, 3, "Rafael Costa", "forward", "1994-06-03", 10, 9, 1750000),
            (7, 3, "Jonas Weber", "midfielder", "2002-02-19", 6, 3, 650000),
            (8, 4, "Aiden Clarke", "forward", "2003-12-01", 19, 7, 800000),
            (9, 4, "Mateo Silva", "defender", "1997-05-22", 5, 2, 1200000),
            (10, 5, "Noah Fischer", "goalkeeper", "1993-08-17", 12, 0, 700000),
            (11, 5, "Samuel Okoro", "midfielder", "2001-03-09", 14, 4, 850000),
            (12, 6, "Leo Marchetti", "forward", "2004-10-05", 23, 0, 400000),
        ],
        fks=[("team_id", "teams", "team_id")],
    )
    d.table(
        "matches",
        """
        match_id INTEGER PRIMARY KEY
        home_team_id INTEGER NOT NULL
        away_team_id INTEGER NOT NULL
        match_date TEXT NOT NULL
        home_goals INTEGER
        away_goals INTEGER
        attendance INTEGER
        """,
        [
            (1, 1, 2, "2024-08-10", 2, 1, 31200),
            (2, 3, 4, "2024-08-10", 0, 0, 18500),
            (3, 5, 1, "2024-08-17", 1, 3, 12800),
            (4, 2, 3, "2024-08-17", 2, 2, 24100),
            (5, 4, 5, "2024-08-24", 3, 0, 20300),
            (6, 1, 3, "2024-08-31", 1, 0, 33000),
            (7, 2, 4, "2024-08-31", 0, 1, 22750),
            (8, 3, 5, "2024-09-07", 2, 1, 17900),
            (9, 4, 1, "2024-09-14", 2, 2, 26400),
            (10, 5, 2, "2024-09-14", 0, 2, 11600),
            (11, 1, 5, "2024-09-21", 4, 1, 32100),
            (12, 3, 2, "2024-09-28", None, None, None),
        ],
        fks=[("home_team_id", "teams", "team_id"), ("away_team_id", "teams", "team_id")],
    )

    d.q("basic", "dr",
        "Which forwards have scored at least 10 goals?",
        "SELECT full_name, goals FROM players WHERE position = 'forward' AND goals >= 10 ORDER BY goals DESC, player_id",
        "Combines position = 'forward' with goals >= 10 and lists the top scorers first.")
    d.q("basic", "dr",
        "Which teams currently have no head coach?",
        "SELECT team_id, team_name FROM teams WHERE coach IS NULL ORDER BY team_id",
        "A vacant coaching position is stored as NULL, so the filter is coach IS NULL.")
    d.q("basic", "dr",
        "Which fixtures haven't been played yet?",
        "SELECT match_id, home_team_id, away_team_id, match_date FROM matches WHERE home_goals IS NULL ORDER BY match_date, match_id",
        "Unplayed fixtures have no score, so home_goals IS NULL identifies them.")
    d.q("basic", "dr",
        "Find the teams whose name ends in 'FC' or 'United'.",
        "SELECT team_id, team_name FROM teams WHERE team_name LIKE '%FC' OR team_name LIKE '%United' ORDER BY team_id",
        "Two LIKE patterns anchored at the end of the name are combined with OR.")
    d.q("basic", "dr",
        "For every played match, say whether it was a home win, an away win or a draw.",
        "SELECT match_id, home_goals, away_goals, CASE WHEN home_goals > away_goals THEN 'home win' WHEN home_goals < away_goals "
        "THEN 'away win' ELSE 'draw' END AS result FROM matches WHERE home_goals IS NOT NULL ORDER BY match_id",
        "A CASE expression compares home and away goals; unplayed fixtures are excluded first.")

    d.q("agg", "ar",
        "How many goals have players in each position scored in total?",
        "SELECT position, SUM(goals) AS total_goals, COUNT(*) AS players FROM players GROUP BY position ORDER BY total_goals DESC, position",
        "Groups players by position, summing goals and counting players per group.")
    d.q("agg", "ar",
        "What is the average home attendance for each home team, rounded to the nearest whole number?",
        "SELECT home_team_id, ROUND(AVG(attendance)) AS avg_attendance FROM matches WHERE attendance IS NOT NULL GROUP BY home_team_id ORDER BY home_team_id",
        "Averages attendance per home_team_id over played matches (NULL attendance excluded) and rounds it.")
    d.q("agg", "ar",
        "Which teams spend more than 2 million in total on player salaries?",
        "SELECT team_id, SUM(salary) AS wage_bill FROM players GROUP BY team_id HAVING SUM(salary) > 2000000 ORDER BY wage_bill DESC, team_id",
        "Sums salary per team and keeps teams whose wage bill exceeds 2,000,000 using HAVING.")
    d.q("agg", "ar",
        "How many matches have been played so far and how many goals were scored in them in total?",
        "SELECT COUNT(*) AS matches_played, SUM(home_goals + away_goals) AS total_goals FROM matches WHERE home_goals IS NOT NULL",
        "Counts played matches and sums home plus away goals across them.")

    d.q("join", "dr",
        "List all forwards with their team name and coach.",
        "SELECT p.full_name, t.team_name, t.coach FROM players p JOIN teams t ON t.team_id = p.team_id WHERE p.position = 'forward' ORDER BY t.team_name, p.full_name",
        "Joins players to teams on team_id and keeps players whose position is 'forward'.")
    d.q("join", "ar",
        "How many home matches is each team scheduled for? Include teams with none.",
        "SELECT t.team_name, COUNT(m.match_id) AS home_matches FROM teams t LEFT JOIN matches m ON m.home_team_id = t.team_id "
        "GROUP BY t.team_id, t.team_name ORDER BY home_matches DESC, t.team_name",
        "LEFT JOIN from teams on home_team_id keeps teams that never host; COUNT(m.match_id) is 0 for them.")
    d.q("joins", "dr",
        "Show the results of all played matches with the home and away team names.",
        "SELECT m.match_date, h.team_name AS home_team, m.home_goals, m.away_goals, a.team_name AS away_team FROM matches m "
        "JOIN teams h ON h.team_id = m.home_team_id JOIN teams a ON a.team_id = m.away_team_id WHERE m.home_goals IS NOT NULL "
        "ORDER BY m.match_date, m.match_id",
        "The teams table is joined twice under different aliases, once for the home side and once for the away side.")
    d.q("joins", "dr",
        "For every match with a crowd over 25,000, show both coaches.",
        "SELECT m.match_id, m.attendance, h.coach AS home_coach, a.coach AS away_coach FROM matches m JOIN teams h ON h.team_id = m.home_team_id "
        "JOIN teams a ON a.team_id = m.away_team_id WHERE m.attendance > 25000 ORDER BY m.attendance DESC, m.match_id",
        "Joins matches to teams twice to fetch each side's coach and keeps matches with attendance above 25,000.")

    d.q("sub", "dr",
        "Which players earn more than the league-wide average salary?",
        "SELECT full_name, salary FROM players WHERE salary > (SELECT AVG(salary) FROM players) ORDER BY salary DESC, player_id",
        "A scalar subquery computes the average salary; players paid more are listed.")
    d.q("sub", "dr",
        "Which teams have not won a single home match?",
        "SELECT team_id, team_name FROM teams t WHERE NOT EXISTS (SELECT 1 FROM matches m WHERE m.home_team_id = t.team_id "
        "AND m.home_goals > m.away_goals) ORDER BY team_id",
        "NOT EXISTS keeps teams for which no match exists where they were at home and outscored the visitors.")
    d.q("sub", "dr",
        "Who is the top scorer on each team?",
        "SELECT p.team_id, p.full_name, p.goals FROM players p WHERE p.goals = (SELECT MAX(p2.goals) FROM players p2 WHERE p2.team_id = p.team_id) "
        "ORDER BY p.team_id, p.full_name",
        "A correlated subquery returns each team's maximum goals; players matching it are the top scorers.")
    d.q("sub", "dr",
        "List the players on clubs founded before 1940.",
        "SELECT full_name, team_id FROM players WHERE team_id IN (SELECT team_id FROM teams WHERE founded_year < 1940) ORDER BY team_id, full_name",
        "The IN subquery selects teams founded before 1940 and the outer query lists their players.")

    d.q("win", "ar",
        "Rank all players by goals scored, with tied players sharing a rank and no gaps.",
        "SELECT full_name, goals, DENSE_RANK() OVER (ORDER BY goals DESC) AS goal_rank FROM players ORDER BY goal_rank, full_name",
        "DENSE_RANK() over goals descending gives tied players the same rank and the next rank follows without a gap.")
    d.q("win", "ar",
        "Show a running total of spectators over the season in match order.",
        "SELECT match_id, match_date, attendance, SUM(attendance) OVER (ORDER BY match_date, match_id) AS cumulative_attendance FROM matches "
        "WHERE attendance IS NOT NULL ORDER BY match_date, match_id",
        "A windowed SUM ordered by date and match id accumulates attendance across played matches.")

    d.q("set", "dr",
        "Which teams hosted a match in August 2024 and also played away in September 2024?",
        "SELECT home_team_id AS team_id FROM matches WHERE match_date BETWEEN '2024-08-01' AND '2024-08-31' INTERSECT "
        "SELECT away_team_id FROM matches WHERE match_date BETWEEN '2024-09-01' AND '2024-09-30' ORDER BY team_id",
        "INTERSECT keeps team ids appearing as August hosts and as September visitors.")
    d.q("set", "dr",
        "Which teams are not involved in any fixture, home or away?",
        "SELECT team_id FROM teams EXCEPT SELECT home_team_id FROM matches EXCEPT SELECT away_team_id FROM matches ORDER BY team_id",
        "Starting from all team ids, EXCEPT removes ids that appear as home teams and then those that appear as away teams.")

    d.q("cte", "ar",
        "Build the league table: matches played, points (3 for a win, 1 for a draw) and goal difference for each team that has played.",
        "WITH results AS (SELECT home_team_id AS team_id, home_goals AS gf, away_goals AS ga FROM matches WHERE home_goals IS NOT NULL "
        "UNION ALL SELECT away_team_id, away_goals, home_goals FROM matches WHERE home_goals IS NOT NULL) "
        "SELECT t.team_name, COUNT(*) AS played, SUM(CASE WHEN r.gf > r.ga THEN 3 WHEN r.gf = r.ga THEN 1 ELSE 0 END) AS points, "
        "SUM(r.gf - r.ga) AS goal_difference FROM results r JOIN teams t ON t.team_id = r.team_id GROUP BY t.team_id, t.team_name "
        "ORDER BY points DESC, goal_difference DESC, t.team_name",
        "The CTE stacks each played match twice (home and away perspective) with UNION ALL; the main query scores points and goal difference per team.")
    d.q("cte", "ar",
        "Which teams score more goals per home match than the league average for home sides? Round to two decimals.",
        "WITH home AS (SELECT home_team_id, AVG(home_goals) AS avg_goals FROM matches WHERE home_goals IS NOT NULL GROUP BY home_team_id) "
        "SELECT home_team_id, ROUND(avg_goals, 2) AS avg_home_goals FROM home WHERE avg_goals > "
        "(SELECT AVG(home_goals) FROM matches WHERE home_goals IS NOT NULL) ORDER BY avg_home_goals DESC, home_team_id",
        "The CTE averages each team's home goals; the outer query keeps teams above the overall home-goals average.")

    d.q("date", "dr",
        "How old was each player, in whole years, on 1 August 2024?",
        "SELECT full_name, birth_date, (CAST(strftime('%Y', '2024-08-01') AS INTEGER) - CAST(strftime('%Y', birth_date) AS INTEGER)) "
        "- (strftime('%m-%d', '2024-08-01') < strftime('%m-%d', birth_date)) AS age FROM players ORDER BY age DESC, full_name",
        "Year difference via strftime('%Y'), minus one when the player's birthday falls after 1 August.")
    d.q("date", "ar",
        "How many matches are scheduled in each month of the season?",
        "SELECT strftime('%Y-%m', match_date) AS month, COUNT(*) AS matches FROM matches GROUP BY month ORDER BY month",
        "strftime('%Y-%m', match_date) groups fixtures by month before counting.")

    d.q("basic", "dm",
        "Sign a new player: id 13, 'Ravi Patel', a defender for team 6, born 2002-07-30, jersey number 3, no goals yet, salary 550,000.",
        "INSERT INTO players (player_id, team_id, full_name, position, birth_date, jersey_number, goals, salary) "
        "VALUES (13, 6, 'Ravi Patel', 'defender', '2002-07-30', 3, 0, 550000)",
        "Inserts a single player row listing every column explicitly.")
    d.q("basic", "dm",
        "Match 12 has been played: Redwood Rangers beat Northfield United 2-1 in front of 19,400 people. Record the result.",
        "UPDATE matches SET home_goals = 2, away_goals = 1, attendance = 19400 WHERE match_id = 12",
        "Fills in the score and attendance for the one fixture identified by match_id 12.")
    d.q("basic", "dm",
        "Appoint Helen Park as coach of every team that currently has no coach.",
        "UPDATE teams SET coach = 'Helen Park' WHERE coach IS NULL",
        "Sets coach only where it is currently NULL.")
    d.q("sub", "dm",
        "Give a 10% raise to every player on a team that has won at least one away match.",
        "UPDATE players SET salary = CAST(ROUND(salary * 1.10) AS INTEGER) WHERE team_id IN "
        "(SELECT away_team_id FROM matches WHERE away_goals > home_goals)",
        "The subquery collects teams that won away; their players' salaries are increased by 10% and kept as whole numbers.")
    d.q("joins", "dd",
        "Create a view match_results showing the date, home team name, score and away team name of every played match.",
        "CREATE VIEW match_results AS SELECT m.match_date, h.team_name AS home_team, m.home_goals, m.away_goals, a.team_name AS away_team "
        "FROM matches m JOIN teams h ON h.team_id = m.home_team_id JOIN teams a ON a.team_id = m.away_team_id WHERE m.home_goals IS NOT NULL",
        "The view joins teams twice to resolve both team names and excludes unplayed fixtures.")
    d.q("basic", "dd",
        "Add an assists column to the players table, starting at 0 for everyone.",
        "ALTER TABLE players ADD COLUMN assists INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE ADD COLUMN with DEFAULT 0 gives every existing player an assists value of 0.")
    d.q("basic", "dm",
        "Remove the fixtures that have not been played yet.",
        "DELETE FROM matches WHERE home_goals IS NULL",
        "Unplayed fixtures have a NULL score, so the DELETE targets rows where home_goals IS NULL.")
    d.q("basic", "dr",
        "Which three matches drew the biggest crowds?",
        "SELECT match_id, match_date, attendance FROM matches WHERE attendance IS NOT NULL ORDER BY attendance DESC, match_id LIMIT 3",
        "Excludes unplayed fixtures, sorts by attendance descending and keeps the first three.")
    return d


@domain
def real_estate():
    d = Domain(
        "real_estate",
        "Residential real estate brokerage: agents and their agencies, property listings with type, size, "
        "list price, listing date and status, and closed sales with price, buyer and financing.",
    )
    d.table(
        "agents",
        """
        agent_id INTEGER PRIMARY KEY
        agent_name TEXT NOT NULL
        agency TEXT NOT NULL
        licensed_since TEXT NOT NULL
        """,
        [
            (1, "Olivia Grant", "Keystone Realty", "2012-05-01"),
            (2, "Marcus Lee", "Keystone Realty", "2018-03-15"),
            (3, "Priya Desai", "Harbor Homes", "2015-09-20"),
            (4, "Carlos Mendez", "Harbor Homes", "2021-01-10"),
            (5, "Sophie Turner", "Summit Estates", "2023-06-01"),
        ],
    )
    d.table(
        "properties",
        """
        property_id INTEGER PRIMARY KEY
        agent_id INTEGER NOT NULL
        address TEXT NOT NULL
        city TEXT NOT NULL
        property_type TEXT NOT NULL
        bedrooms INTEGER
        sqft INTEGER
        list_price INTEGER NOT NULL
        listed_date TEXT NOT NULL
        status TEXT NOT NULL
        """,
        [
            (1, 1, "14 Maple Ave", "Springfield", "house", 3, 1850, 425000, "2024-01-15", "sold"),
            (2, 1, "220 Ocean Blvd #5", "Bayview", "condo", 2, 1100, 389000, "2024-02-01", "sold"),
            (3, 2, "8 Birch Ct", "Springfield", "house", 4, 2400, 560000, "2024-02-10", "pending"),
            (4, 3, "77 Harbor St", "Bayview", "townhouse", 3, 1600, 472500, "2024-01-20", "sold"),
            (5, 3, "31 Cedar Ln", "Riverton", "house", 5, 3200, 715000, "2024-03-05", "for_sale"),
            (6, 4, "5 Mill Rd", "Riverton", "land", None, None, 150000, "2024-03-18", "for_sale"),
            (7, 2, "902 Skyline Tower #12", "Bayview", "condo", 1, 780, 299000, "2024-03-22", "sold"),
            (8, 4, "63 Elm St", "Springfield", "house", 3, 1700, 398000, "2024-04-02", "sold"),
            (9, 3, "18 Quay Walk", "Bayview", "townhouse", 2, 1250, 415000, "2024-04-10", "for_sale"),
            (10, 1, "400 Prairie Dr", "Riverton", "house", 4, 2600, 489000, "2024-04-18", "pending"),
            (11, 2, "12 Willow Way", "Springfield", "condo", 2, 980, 265000, "2024-05-01", "for_sale"),
            (12, 4, "3 Orchard Hill", "Riverton", "house", 3, 2000, 455000, "2024-05-06", "sold"),
        ],
        fks=[("agent_id", "agents", "agent_id")],
    )
    d.table(
        "sales",
        """
        sale_id INTEGER PRIMARY KEY
        property_id INTEGER NOT NULL UNIQUE
        sale_date TEXT NOT NULL
        sale_price INTEGER NOT NULL
        buyer_name TEXT NOT NULL
        financing TEXT NOT NULL
        """,
        [
            (1, 1, "2024-02-20", 431000, "The Nguyen family", "mortgage"),
            (2, 2, "2024-03-02", 380000, "Daniel Wright", "cash"),
            (3, 4, "2024-03-15", 465000, "Amelia Brooks", "mortgage"),
            (4, 7, "2024-04-05", 305500, "Kenji Sato", "mortgage"),
            (5, 8, "2024-05-10", 392000, "Laura Chen", "cash"),
            (6, 12, "2024-05-28", 470000, "Omar Farouk", "mortgage"),
        ],
        fks=[("property_id", "properties", "property_id")],
    )

    d.q("basic", "dr",
        "Show me the condos in Bayview with their prices.",
        "SELECT address, bedrooms, list_price FROM properties WHERE city = 'Bayview' AND property_type = 'condo' ORDER BY list_price, property_id",
        "Filters properties on both city and property_type and sorts by list price.")
    d.q("basic", "dr",
        "Which listings have no bedroom count recorded?",
        "SELECT property_id, address, property_type FROM properties WHERE bedrooms IS NULL ORDER BY property_id",
        "Missing bedroom counts are NULL, so the query uses bedrooms IS NULL.")
    d.q("basic", "dr",
        "Find houses with at least 3 bedrooms listed between $400,000 and $500,000.",
        "SELECT address, city, bedrooms, list_price FROM properties WHERE property_type = 'house' AND bedrooms >= 3 "
        "AND list_price BETWEEN 400000 AND 500000 ORDER BY list_price, property_id",
        "Three conditions are combined with AND: the type, a minimum bedroom count and an inclusive price range.")
    d.q("basic", "dr",
        "Which listings are on a street whose address ends in 'St'?",
        "SELECT property_id, address, city FROM properties WHERE address LIKE '% St' ORDER BY property_id",
        "The LIKE pattern '% St' matches addresses whose last word is 'St'.")
    d.q("basic", "dr",
        "Show the three most expensive listings that are still for sale.",
        "SELECT address, city, list_price FROM properties WHERE status = 'for_sale' ORDER BY list_price DESC, property_id LIMIT 3",
        "Filters to status 'for_sale', sorts by list_price descending and keeps the first three.")

    d.q("agg", "ar",
        "What is the average list price in each city, rounded to the nearest dollar?",
        "SELECT city, ROUND(AVG(list_price)) AS avg_list_price, COUNT(*) AS listings FROM properties GROUP BY city ORDER BY city",
        "Groups listings by city and averages list_price in each group.")
    d.q("agg", "ar",
        "How many listings are there in each status?",
        "SELECT status, COUNT(*) AS listings FROM properties GROUP BY status ORDER BY listings DESC, status",
        "Counts listings per status value.")
    d.q("agg", "ar",
        "Which property types have an average list price above $400,000?",
        "SELECT property_type, ROUND(AVG(list_price)) AS avg_price FROM properties GROUP BY property_type HAVING AVG(list_price) > 400000 "
        "ORDER BY avg_price DESC, property_type",
        "Averages list price per property type and filters the groups with HAVING.")
    d.q("agg", "ar",
        "What is our total sales volume, and what were the highest and lowest sale prices?",
        "SELECT COUNT(*) AS sales, SUM(sale_price) AS total_volume, MAX(sale_price) AS highest_sale, MIN(sale_price) AS lowest_sale FROM sales",
        "Aggregates the whole sales table with COUNT, SUM, MAX and MIN.")

    d.q("join", "dr",
        "List every sale with the property's address and city.",
        "SELECT s.sale_date, p.address, p.city, s.sale_price, s.buyer_name FROM sales s JOIN properties p ON p.property_id = s.property_id "
        "ORDER BY s.sale_date, s.sale_id",
        "Joins sales to properties on property_id to add the address and city of each sold home.")
    d.q("join", "ar",
        "How many listings does each agent have? Include agents with none.",
        "SELECT a.agent_name, COUNT(p.property_id) AS listings FROM agents a LEFT JOIN properties p ON p.agent_id = a.agent_id "
        "GROUP BY a.agent_id, a.agent_name ORDER BY listings DESC, a.agent_name",
        "A LEFT JOIN keeps agents without listings; COUNT(p.property_id) gives them 0.")
    d.q("join", "dr",
        "For each sold property, how far above or below the asking price did it sell?",
        "SELECT p.address, p.list_price, s.sale_price, s.sale_price - p.list_price AS difference FROM sales s "
        "JOIN properties p ON p.property_id = s.property_id ORDER BY difference DESC, p.property_id",
        "Joins each sale to its listing and subtracts list_price from sale_price; positive values sold above asking.")
    d.q("joins", "ar",
        "What is the total sales volume per agent?",
        "SELECT a.agent_name, COUNT(*) AS sales, SUM(s.sale_price) AS volume FROM sales s JOIN properties p ON p.property_id = s.property_id "
        "JOIN agents a ON a.agent_id = p.agent_id GROUP BY a.agent_id, a.agent_name ORDER BY volume DESC, a.agent_name",
        "Sales link to agents through properties; grouping by agent counts the sales and sums their prices.")
    d.q("joins", "ar",
        "How much has each agency sold, split by cash and mortgage purchases?",
        "SELECT a.agency, s.financing, SUM(s.sale_price) AS volume FROM sales s JOIN properties p ON p.property_id = s.property_id "
        "JOIN agents a ON a.agent_id = p.agent_id GROUP BY a.agency, s.financing ORDER BY a.agency, s.financing",
        "Joins sales through properties to agents and groups by agency and financing type.")

    d.q("sub", "dr",
        "Which listings are priced above the average list price?",
        "SELECT address, city, list_price FROM properties WHERE list_price > (SELECT AVG(list_price) FROM properties) ORDER BY list_price DESC, property_id",
        "A scalar subquery computes the average list price for comparison.")
    d.q("sub", "dr",
        "Which agents have not closed any sale yet?",
        "SELECT agent_id, agent_name FROM agents a WHERE NOT EXISTS (SELECT 1 FROM properties p JOIN sales s ON s.property_id = p.property_id "
        "WHERE p.agent_id = a.agent_id) ORDER BY agent_id",
        "The correlated NOT EXISTS subquery checks for any sale on the agent's listings.")
    d.q("sub", "dr",
        "What is the most expensive listing in each city?",
        "SELECT city, address, list_price FROM properties p WHERE list_price = (SELECT MAX(p2.list_price) FROM properties p2 WHERE p2.city = p.city) "
        "ORDER BY city",
        "The correlated subquery returns the top list price in the outer row's city.")
    d.q("sub", "dr",
        "Which properties were bought with cash?",
        "SELECT property_id, address, city FROM properties WHERE property_id IN (SELECT property_id FROM sales WHERE financing = 'cash') ORDER BY property_id",
        "The IN subquery returns property ids of cash sales.")

    d.q("win", "ar",
        "Rank listings by price within each city, most expensive first.",
        "SELECT city, address, list_price, RANK() OVER (PARTITION BY city ORDER BY list_price DESC) AS price_rank FROM properties "
        "ORDER BY city, price_rank, property_id",
        "RANK() partitioned by city orders listings by list_price descending inside each city.")
    d.q("win", "ar",
        "Show each sale in date order with the running total of sales volume.",
        "SELECT sale_date, sale_price, SUM(sale_price) OVER (ORDER BY sale_date, sale_id) AS running_volume FROM sales ORDER BY sale_date, sale_id",
        "A windowed SUM ordered by sale_date accumulates volume from the first sale onward.")

    d.q("set", "dr",
        "Which cities have both houses and condos listed?",
        "SELECT city FROM properties WHERE property_type = 'house' INTERSECT SELECT city FROM properties WHERE property_type = 'condo' ORDER BY city",
        "INTERSECT keeps cities present in both the house listings and the condo listings.")
    d.q("set", "dr",
        "Which listed properties have not been sold? Property ids only.",
        "SELECT property_id FROM properties EXCEPT SELECT property_id FROM sales ORDER BY property_id",
        "EXCEPT removes ids found in sales from the full set of listed property ids.")

    d.q("cte", "ar",
        "For each agent with sales, what is the average sale-to-list price ratio as a percentage (2 decimals)?",
        "WITH ratios AS (SELECT p.agent_id, 100.0 * s.sale_price / p.list_price AS pct FROM sales s JOIN properties p ON p.property_id = s.property_id) "
        "SELECT a.agent_name, COUNT(*) AS sales, ROUND(AVG(r.pct), 2) AS avg_sale_to_list_pct FROM ratios r JOIN agents a ON a.agent_id = r.agent_id "
        "GROUP BY a.agent_id, a.agent_name ORDER BY avg_sale_to_list_pct DESC, a.agent_name",
        "The CTE computes each sale's price as a percentage of its list price; the main query averages it per agent.")
    d.q("cte", "ar",
        "What is the average list price per square foot in each city, ignoring listings without a size?",
        "WITH per_sqft AS (SELECT city, 1.0 * list_price / sqft AS price_per_sqft FROM properties WHERE sqft IS NOT NULL) "
        "SELECT city, ROUND(AVG(price_per_sqft), 2) AS avg_price_per_sqft FROM per_sqft GROUP BY city ORDER BY avg_price_per_sqft DESC, city",
        "The CTE derives price per square foot for listings with a known sqft; the outer query averages it by city.")

    d.q("date", "dr",
        "How many days was each sold property on the market before it sold?",
        "SELECT p.address, p.listed_date, s.sale_date, CAST(julianday(s.sale_date) - julianday(p.listed_date) AS INTEGER) AS days_on_market "
        "FROM sales s JOIN properties p ON p.property_id = s.property_id ORDER BY days_on_market, p.property_id",
        "julianday differences between the sale date and the listing date give the days on market.")
    d.q("date", "ar",
        "How many new listings came on the market each month?",
        "SELECT strftime('%Y-%m', listed_date) AS month, COUNT(*) AS new_listings FROM properties GROUP BY month ORDER BY month",
        "strftime('%Y-%m', listed_date) groups listings by the month they were listed.")
    d.q("date", "dr",
        "As of 1 June 2024, which properties still for sale have been listed for more than 60 days?",
        "SELECT address, listed_date FROM properties WHERE status = 'for_sale' AND listed_date < date('2024-06-01', '-60 days') ORDER BY listed_date, property_id",
        "date('2024-06-01', '-60 days') is the cut-off; for-sale listings dated before it are stale.")

    d.q("basic", "dm",
        "Add a new listing: property 13, agent 5, '9 Lakeview Terrace' in Bayview, a 2-bedroom 1,050 sqft condo at $349,000, listed 3 June 2024 and for sale.",
        "INSERT INTO properties (property_id, agent_id, address, city, property_type, bedrooms, sqft, list_price, listed_date, status) "
        "VALUES (13, 5, '9 Lakeview Terrace', 'Bayview', 'condo', 2, 1050, 349000, '2024-06-03', 'for_sale')",
        "Inserts a single listing with every column given explicitly.")
    d.q("basic", "dm",
        "An offer was accepted on 18 Quay Walk; set its status to pending.",
        "UPDATE properties SET status = 'pending' WHERE address = '18 Quay Walk'",
        "Updates status on the property identified by its address.")
    d.q("date", "dm",
        "Cut the price by 5% on every listing that is still for sale and was listed more than 60 days before 1 June 2024.",
        "UPDATE properties SET list_price = CAST(ROUND(list_price * 0.95) AS INTEGER) WHERE status = 'for_sale' AND listed_date < date('2024-06-01', '-60 days')",
        "date('2024-06-01', '-60 days') sets the staleness cut-off; matching for-sale listings get a 5% reduction, rounded to whole dollars.")
    d.q("sub", "dm",
        "Withdraw the unsold land listings handled by Harbor Homes agents by deleting them.",
        "DELETE FROM properties WHERE property_type = 'land' AND status <> 'sold' AND agent_id IN (SELECT agent_id FROM agents WHERE agency = 'Harbor Homes')",
        "The subquery finds Harbor Homes agents; the DELETE removes their land listings that have not been sold.")
    d.q("join", "dd",
        "Create a view active_listings with the address, city, list price and agent name of every property still for sale.",
        "CREATE VIEW active_listings AS SELECT p.address, p.city, p.list_price, a.agent_name FROM properties p "
        "JOIN agents a ON a.agent_id = p.agent_id WHERE p.status = 'for_sale'",
        "The view joins properties to agents and keeps only listings with status 'for_sale'.")
    d.q("basic", "dd",
        "Add an hoa_fee column to properties for monthly homeowners-association fees; leave it empty for now.",
        "ALTER TABLE properties ADD COLUMN hoa_fee REAL",
        "ALTER TABLE ADD COLUMN without a default adds the column with NULL in every existing row.")
    d.q("basic", "dr",
        "Which sales were made to buyers recorded as a family?",
        "SELECT sale_id, buyer_name, sale_price FROM sales WHERE buyer_name LIKE '%family%' ORDER BY sale_id",
        "LIKE '%family%' finds buyer names containing the word family.")
    return d


@domain
def energy():
    d = Domain(
        "energy",
        "Power generation fleet: plants by fuel type, region and capacity, daily energy output readings with "
        "downtime, and maintenance jobs with start/end dates and costs.",
    )
    d.table(
        "plants",
        """
        plant_id INTEGER PRIMARY KEY
        plant_name TEXT NOT NULL
        fuel_type TEXT NOT NULL
        region TEXT NOT NULL
        capacity_mw REAL NOT NULL
        commissioned_date TEXT NOT NULL
        """,
        [
            (1, "Sunridge Solar", "solar", "north", 120.0, "2018-06-01"),
            (2, "Gale Point Wind", "wind", "coastal", 200.0, "2016-04-15"),
            (3, "Blue River Hydro", "hydro", "north", 350.0, "1987-09-30"),
            (4, "Ironvale Gas", "gas", "central", 480.0, "2005-11-20"),
            (5, "Copper Flats Solar", "solar", "south", 80.0, "2022-03-10"),
            (6, "Highmoor Wind", "wind", "north", 150.0, "2020-08-25"),
            (7, "Old Quarry Coal", "coal", "central", 600.0, "1979-02-01"),
        ],
    )
    d.table(
        "daily_output",
        """
        output_id INTEGER PRIMARY KEY
        plant_id INTEGER NOT NULL
        output_date TEXT NOT NULL
        mwh REAL NOT NULL
        downtime_hours REAL NOT NULL DEFAULT 0
        """,
        [
            (1, 1, "2024-07-01", 610.5, 0.0),
            (2, 1, "2024-07-02", 585.0, 0.0),
            (3, 1, "2024-07-03", 402.25, 2.5),
            (4, 2, "2024-07-01", 2150.0, 0.0),
            (5, 2, "2024-07-02", 1320.75, 6.0),
            (6, 2, "2024-07-03", 2410.0, 0.0),
            (7, 3, "2024-07-01", 6900.0, 0.0),
            (8, 3, "2024-07-02", 7020.0, 0.0),
            (9, 3, "2024-07-03", 3450.0, 12.0),
            (10, 4, "2024-07-01", 9800.0, 0.0),
            (11, 4, "2024-07-02", 10150.0, 0.0),
            (12, 5, "2024-07-01", 395.0, 0.0),
            (13, 5, "2024-07-02", 410.25, 0.0),
            (14, 6, "2024-07-01", 1880.0, 1.5),
            (15, 6, "2024-07-03", 1725.5, 0.0),
        ],
        fks=[("plant_id", "plants", "plant_id")],
    )
    d.table(
        "maintenance",
        """
        maintenance_id INTEGER PRIMARY KEY
        plant_id INTEGER NOT NULL
        start_date TEXT NOT NULL
        end_date TEXT
        cost REAL NOT NULL
        description TEXT NOT NULL
        """,
        [
            (1, 3, "2024-07-03", "2024-07-05", 48000.0, "Turbine inspection"),
            (2, 2, "2024-07-02", "2024-07-02", 12500.0, "Blade repair"),
            (3, 4, "2024-05-10", "2024-05-24", 310000.0, "Boiler overhaul"),
            (4, 1, "2024-07-03", "2024-07-03", 3200.0, "Inverter replacement"),
            (5, 7, "2024-01-15", None, 95000.0, "Decommissioning assessment"),
            (6, 6, "2024-06-20", "2024-06-22", 18750.0, "Gearbox service"),
        ],
        fks=[("plant_id", "plants", "plant_id")],
    )

    d.q("basic", "dr",
        "List our solar plants with their capacity.",
        "SELECT plant_name, region, capacity_mw FROM plants WHERE fuel_type = 'solar' ORDER BY capacity_mw DESC, plant_id",
        "Filters plants on fuel_type = 'solar' and sorts by capacity.")
    d.q("basic", "dr",
        "Which plants have a capacity between 100 and 400 MW?",
        "SELECT plant_name, fuel_type, capacity_mw FROM plants WHERE capacity_mw BETWEEN 100 AND 400 ORDER BY capacity_mw, plant_id",
        "BETWEEN 100 AND 400 keeps capacities in that inclusive range.")
    d.q("basic", "dr",
        "Which maintenance jobs are still open (no end date yet)?",
        "SELECT maintenance_id, plant_id, start_date, description FROM maintenance WHERE end_date IS NULL ORDER BY maintenance_id",
        "Open jobs have a NULL end_date, so the query filters with IS NULL.")
    d.q("basic", "dr",
        "Find maintenance jobs described as an inspection or a service.",
        "SELECT maintenance_id, plant_id, description FROM maintenance WHERE description LIKE '%inspection%' OR description LIKE '%service%' "
        "ORDER BY maintenance_id",
        "Two LIKE patterns look for the words anywhere in the description (LIKE is case-insensitive for ASCII in SQLite).")
    d.q("basic", "dr",
        "Label each plant as renewable or fossil: solar, wind and hydro are renewable, everything else is fossil.",
        "SELECT plant_name, fuel_type, CASE WHEN fuel_type IN ('solar', 'wind', 'hydro') THEN 'renewable' ELSE 'fossil' END AS category "
        "FROM plants ORDER BY plant_id",
        "A CASE expression with IN assigns 'renewable' to the three clean fuel types and 'fossil' otherwise.")

    d.q("agg", "ar",
        "What is the total installed capacity for each fuel type?",
        "SELECT fuel_type, SUM(capacity_mw) AS total_capacity_mw, COUNT(*) AS plants FROM plants GROUP BY fuel_type ORDER BY total_capacity_mw DESC, fuel_type",
        "Groups plants by fuel_type and sums capacity_mw in each group.")
    d.q("agg", "ar",
        "What is each plant's average daily output in MWh, rounded to two decimals?",
        "SELECT plant_id, ROUND(AVG(mwh), 2) AS avg_daily_mwh, COUNT(*) AS days_reported FROM daily_output GROUP BY plant_id ORDER BY plant_id",
        "Averages mwh over each plant's daily readings.")
    d.q("agg", "ar",
        "Which plants logged more than 2 hours of downtime in total?",
        "SELECT plant_id, SUM(downtime_hours) AS total_downtime FROM daily_output GROUP BY plant_id HAVING SUM(downtime_hours) > 2 "
        "ORDER BY total_downtime DESC, plant_id",
        "Sums downtime_hours per plant and keeps plants above 2 hours with HAVING.")
    d.q("agg", "ar",
        "How much have we spent on maintenance in total, and what was the most expensive single job?",
        "SELECT COUNT(*) AS jobs, SUM(cost) AS total_cost, MAX(cost) AS max_job_cost FROM maintenance",
        "COUNT, SUM and MAX summarise the whole maintenance table.")

    d.q("join", "dr",
        "Show the output of every plant on 2 July 2024 with the plant name.",
        "SELECT p.plant_name, o.mwh, o.downtime_hours FROM daily_output o JOIN plants p ON p.plant_id = o.plant_id "
        "WHERE o.output_date = '2024-07-02' ORDER BY o.mwh DESC, p.plant_id",
        "Joins readings to plants for names and keeps the rows dated 2024-07-02.")
    d.q("join", "ar",
        "How much energy did each region generate over the reporting period, rounded to two decimals?",
        "SELECT p.region, ROUND(SUM(o.mwh), 2) AS total_mwh FROM daily_output o JOIN plants p ON p.plant_id = o.plant_id GROUP BY p.region "
        "ORDER BY total_mwh DESC, p.region",
        "Joins readings to plants to get each plant's region, then sums mwh per region.")
    d.q("join", "dr",
        "Which plants have no output readings at all?",
        "SELECT p.plant_id, p.plant_name FROM plants p LEFT JOIN daily_output o ON o.plant_id = p.plant_id WHERE o.output_id IS NULL ORDER BY p.plant_id",
        "A LEFT JOIN keeps all plants; those with no matching reading have a NULL output_id.")
    d.q("joins", "dr",
        "For each maintenance job that started in July 2024, show the plant name and that plant's output on the job's start day.",
        "SELECT m.maintenance_id, p.plant_name, m.description, o.mwh, o.downtime_hours FROM maintenance m JOIN plants p ON p.plant_id = m.plant_id "
        "JOIN daily_output o ON o.plant_id = m.plant_id AND o.output_date = m.start_date WHERE m.start_date BETWEEN '2024-07-01' AND '2024-07-31' "
        "ORDER BY m.maintenance_id",
        "Joins maintenance to plants for the name and to daily_output on both plant and date to find the reading on the start day.")

    d.q("sub", "dr",
        "Which plants have more capacity than the fleet average?",
        "SELECT plant_name, capacity_mw FROM plants WHERE capacity_mw > (SELECT AVG(capacity_mw) FROM plants) ORDER BY capacity_mw DESC, plant_id",
        "A scalar subquery supplies the average capacity for the comparison.")
    d.q("sub", "dr",
        "Which plants have never had any maintenance?",
        "SELECT plant_id, plant_name FROM plants p WHERE NOT EXISTS (SELECT 1 FROM maintenance m WHERE m.plant_id = p.plant_id) ORDER BY plant_id",
        "NOT EXISTS keeps plants with no maintenance rows.")
    d.q("sub", "dr",
        "What was each plant's best day of output?",
        "SELECT o.plant_id, o.output_date, o.mwh FROM daily_output o WHERE o.mwh = (SELECT MAX(o2.mwh) FROM daily_output o2 WHERE o2.plant_id = o.plant_id) "
        "ORDER BY o.plant_id",
        "A correlated subquery finds the maximum mwh for the outer row's plant; that day's reading is returned.")
    d.q("sub", "dr",
        "Show all output readings from plants in the north region.",
        "SELECT output_id, plant_id, output_date, mwh FROM daily_output WHERE plant_id IN (SELECT plant_id FROM plants WHERE region = 'north') "
        "ORDER BY plant_id, output_date",
        "The IN subquery lists the north-region plants; their readings are returned.")

    d.q("win", "ar",
        "Rank the plants by total energy produced over the period.",
        "SELECT plant_id, ROUND(SUM(mwh), 2) AS total_mwh, RANK() OVER (ORDER BY SUM(mwh) DESC) AS output_rank FROM daily_output GROUP BY plant_id "
        "ORDER BY output_rank, plant_id",
        "The rows are grouped by plant first; RANK() then orders the grouped totals from highest to lowest.")
    d.q("win", "ar",
        "Show the day-over-day change in output for each plant.",
        "SELECT plant_id, output_date, mwh, ROUND(mwh - LAG(mwh) OVER (PARTITION BY plant_id ORDER BY output_date), 2) AS change_mwh "
        "FROM daily_output ORDER BY plant_id, output_date",
        "LAG(mwh) returns the plant's previous reading; subtracting it gives the change, NULL on the first day.")

    d.q("set", "dr",
        "Which plants have both output readings and maintenance records?",
        "SELECT plant_id FROM daily_output INTERSECT SELECT plant_id FROM maintenance ORDER BY plant_id",
        "INTERSECT returns plant ids present in both tables.")
    d.q("set", "dr",
        "Which reporting plants never had any downtime?",
        "SELECT plant_id FROM daily_output EXCEPT SELECT plant_id FROM daily_output WHERE downtime_hours > 0 ORDER BY plant_id",
        "EXCEPT removes plants with at least one downtime reading from all plants that report output.")

    d.q("cte", "ar",
        "What capacity factor did each reporting plant achieve (output divided by capacity x 24 h x days reported), as a percentage with 2 decimals?",
        "WITH totals AS (SELECT plant_id, SUM(mwh) AS mwh, COUNT(*) AS days FROM daily_output GROUP BY plant_id) "
        "SELECT p.plant_name, ROUND(100.0 * t.mwh / (p.capacity_mw * 24 * t.days), 2) AS capacity_factor_pct FROM totals t "
        "JOIN plants p ON p.plant_id = t.plant_id ORDER BY capacity_factor_pct DESC, p.plant_name",
        "The CTE totals output and counts days per plant; the main query divides by the maximum possible output (capacity x 24 x days).")
    d.q("cte", "ar",
        "What percentage of total generation came from renewable sources (solar, wind, hydro)?",
        "WITH gen AS (SELECT p.fuel_type, o.mwh FROM daily_output o JOIN plants p ON p.plant_id = o.plant_id) "
        "SELECT ROUND(100.0 * SUM(CASE WHEN fuel_type IN ('solar', 'wind', 'hydro') THEN mwh ELSE 0 END) / SUM(mwh), 2) AS renewable_pct FROM gen",
        "The CTE tags every reading with its fuel type; a conditional SUM over renewables is divided by the total.")

    d.q("date", "dr",
        "How many days did each completed maintenance job last, counting both the start and end day?",
        "SELECT maintenance_id, description, CAST(julianday(end_date) - julianday(start_date) AS INTEGER) + 1 AS duration_days "
        "FROM maintenance WHERE end_date IS NOT NULL ORDER BY duration_days DESC, maintenance_id",
        "julianday(end_date) - julianday(start_date) gives the gap in days; adding 1 counts both ends. Open jobs are excluded.")
    d.q("date", "dr",
        "How old is each plant in whole years as of 31 December 2024?",
        "SELECT plant_name, commissioned_date, CAST((julianday('2024-12-31') - julianday(commissioned_date)) / 365.25 AS INTEGER) AS age_years "
        "FROM plants ORDER BY age_years DESC, plant_id",
        "The julianday difference to 2024-12-31 divided by 365.25 and truncated gives completed years.")
    d.q("date", "ar",
        "How much was spent on maintenance jobs starting in each month?",
        "SELECT strftime('%Y-%m', start_date) AS month, COUNT(*) AS jobs, SUM(cost) AS total_cost FROM maintenance GROUP BY month ORDER BY month",
        "strftime('%Y-%m', start_date) buckets jobs by start month; jobs and costs are aggregated per bucket.")

    d.q("basic", "dm",
        "Record Copper Flats Solar's (plant 5) output for 3 July 2024: 388.5 MWh with no downtime, as reading 16.",
        "INSERT INTO daily_output (output_id, plant_id, output_date, mwh, downtime_hours) VALUES (16, 5, '2024-07-03', 388.5, 0.0)",
        "Inserts one daily reading with explicit column names.")
    d.q("basic", "dm",
        "Highmoor Wind has been repowered; its capacity is now 180 MW.",
        "UPDATE plants SET capacity_mw = 180.0 WHERE plant_name = 'Highmoor Wind'",
        "Updates capacity_mw on the single plant matched by name.")
    d.q("basic", "dm",
        "Close the open maintenance job 5 with an end date of 10 July 2024.",
        "UPDATE maintenance SET end_date = '2024-07-10' WHERE maintenance_id = 5 AND end_date IS NULL",
        "Sets end_date on job 5, guarded by end_date IS NULL so a completed job is never overwritten.")
    d.q("basic", "dm",
        "Delete readings with more than 10 hours of downtime; they are considered unreliable.",
        "DELETE FROM daily_output WHERE downtime_hours > 10",
        "Removes daily_output rows whose downtime_hours exceed 10.")
    d.q("sub", "dm",
        "Delete the maintenance records of all coal plants.",
        "DELETE FROM maintenance WHERE plant_id IN (SELECT plant_id FROM plants WHERE fuel_type = 'coal')",
        "The subquery finds coal plants and the DELETE removes their maintenance rows.")
    d.q("join", "dd",
        "Create a view plant_output_summary with each plant's name, fuel type, number of readings and total MWh (0 if none).",
        "CREATE VIEW plant_output_summary AS SELECT p.plant_name, p.fuel_type, COUNT(o.output_id) AS readings, COALESCE(SUM(o.mwh), 0) AS total_mwh "
        "FROM plants p LEFT JOIN daily_output o ON o.plant_id = p.plant_id GROUP BY p.plant_id, p.plant_name, p.fuel_type",
        "The view aggregates a LEFT JOIN so plants without readings appear with 0 readings and 0 MWh.")
    d.q("basic", "dd",
        "Add a contractor column to the maintenance table.",
        "ALTER TABLE maintenance ADD COLUMN contractor TEXT",
        "ALTER TABLE ADD COLUMN adds a nullable TEXT column; existing jobs get NULL.")
    d.q("basic", "dr",
        "What were the three highest single-day outputs recorded, and by which plants?",
        "SELECT plant_id, output_date, mwh FROM daily_output ORDER BY mwh DESC, output_id LIMIT 3",
        "Orders all daily readings by mwh descending and keeps the top three.")
    return d


@domain
def aviation():
    d = Domain(
        "aviation",
        "Airline operations: airports identified by IATA code, the aircraft fleet with seat counts, and "
        "flights with scheduled and actual departure timestamps, passengers, distance and status.",
    )
    d.table(
        "airports",
        """
        airport_code TEXT PRIMARY KEY
        airport_name TEXT NOT NULL
        city TEXT NOT NULL
        country TEXT NOT NULL
        """,
        [
            ("JFK", "John F. Kennedy International", "New York", "USA"),
            ("LHR", "London Heathrow", "London", "UK"),
            ("NRT", "Narita International", "Tokyo", "Japan"),
            ("SEA", "Seattle-Tacoma International", "Seattle", "USA"),
            ("SFO", "San Francisco International", "San Francisco", "USA"),
            ("YVR", "Vancouver International", "Vancouver", "Canada"),
        ],
    )
    d.table(
        "aircraft",
        """
        aircraft_id INTEGER PRIMARY KEY
        tail_number TEXT NOT NULL UNIQUE
        model TEXT NOT NULL
        manufacturer TEXT NOT NULL
        seats INTEGER NOT NULL
        year_built INTEGER NOT NULL
        """,
        [
            (1, "N101AK", "737-800", "Boeing", 160, 2012),
            (2, "N202AK", "A320neo", "Airbus", 180, 2019),
            (3, "N303AK", "787-9", "Boeing", 290, 2017),
            (4, "N404AK", "E175", "Embraer", 76, 2015),
            (5, "N505AK", "A350-900", "Airbus", 315, 2021),
        ],
    )
    d.table(
        "flights",
        """
        flight_id INTEGER PRIMARY KEY
        flight_number TEXT NOT NULL
        origin TEXT NOT NULL
        destination TEXT NOT NULL
        aircraft_id INTEGER NOT NULL
        scheduled_departure TEXT NOT NULL
        actual_departure TEXT
        passengers INTEGER
        distance_km INTEGER NOT NULL
        status TEXT NOT NULL
        """,
        [
            (1, "AK100", "SEA", "SFO", 1, "2024-06-01 07:00:00", "2024-06-01 07:05:00", 152, 1093, "landed"),
            (2, "AK101", "SFO", "SEA", 1, "2024-06-01 11:30:00", "2024-06-01 12:20:00", 148, 1093, "landed"),
            (3, "AK200", "SEA", "JFK", 2, "2024-06-01 08:15:00", "2024-06-01 08:15:00", 171, 3870, "landed"),
            (4, "AK300", "SEA", "NRT", 3, "2024-06-01 13:00:00", "2024-06-01 14:45:00", 265, 7690, "landed"),
            (5, "AK400", "SEA", "YVR", 4, "2024-06-01 09:40:00", None, None, 204, "cancelled"),
            (6, "AK401", "YVR", "SEA", 4, "2024-06-01 12:10:00", "2024-06-01 12:25:00", 70, 204, "landed"),
            (7, "AK201", "JFK", "SEA", 2, "2024-06-02 09:00:00", "2024-06-02 09:40:00", 176, 3870, "landed"),
            (8, "AK500", "SEA", "LHR", 3, "2024-06-02 18:30:00", "2024-06-02 18:35:00", 281, 7700, "landed"),
            (9, "AK100", "SEA", "SFO", 1, "2024-06-02 07:00:00", "2024-06-02 06:58:00", 160, 1093, "landed"),
            (10, "AK102", "SFO", "JFK", 2, "2024-06-02 16:00:00", None, None, 4150, "cancelled"),
            (11, "AK400", "SEA", "YVR", 4, "2024-06-02 09:40:00", "2024-06-02 10:30:00", 74, 204, "landed"),
            (12, "AK301", "NRT", "SEA", 3, "2024-06-03 17:00:00", "2024-06-03 17:20:00", 240, 7690, "landed"),
            (13, "AK501", "LHR", "SEA", 3, "2024-06-04 11:00:00", None, None, 7700, "scheduled"),
            (14, "AK100", "SEA", "SFO", 1, "2024-06-03 07:00:00", "2024-06-03 08:10:00", 158, 1093, "landed"),
        ],
        fks=[
            ("origin", "airports", "airport_code"),
            ("destination", "airports", "airport_code"),
            ("aircraft_id", "aircraft", "aircraft_id"),
        ],
    )

    d.q("basic", "dr",
        "Which flights were cancelled?",
        "SELECT flight_id, flight_number, origin, destination, scheduled_departure FROM flights WHERE status = 'cancelled' ORDER BY scheduled_departure, flight_id",
        "Filters flights on status = 'cancelled' and lists them by scheduled time.")
    d.q("basic", "dr",
        "List the long-haul flights covering more than 5,000 km.",
        "SELECT flight_id, flight_number, origin, destination, distance_km FROM flights WHERE distance_km > 5000 ORDER BY flight_id",
        "Keeps flights whose distance_km exceeds 5000.")
    d.q("basic", "dr",
        "Which airports are in the USA or Canada?",
        "SELECT airport_code, airport_name, country FROM airports WHERE country IN ('USA', 'Canada') ORDER BY airport_code",
        "IN matches either country.")
    d.q("basic", "dr",
        "Which flights have not departed (no actual departure time recorded)?",
        "SELECT flight_id, flight_number, status FROM flights WHERE actual_departure IS NULL ORDER BY flight_id",
        "Flights that never left have a NULL actual_departure, found with IS NULL.")
    d.q("basic", "dr",
        "Find flights whose flight number starts with AK1.",
        "SELECT flight_id, flight_number, origin, destination FROM flights WHERE flight_number LIKE 'AK1%' ORDER BY flight_id",
        "The LIKE pattern 'AK1%' matches flight numbers beginning with AK1.")
    d.q("basic", "dr",
        "Classify each flight as short-haul (under 1,500 km), medium-haul (under 5,000 km) or long-haul.",
        "SELECT flight_id, flight_number, distance_km, CASE WHEN distance_km < 1500 THEN 'short-haul' WHEN distance_km < 5000 THEN 'medium-haul' "
        "ELSE 'long-haul' END AS haul FROM flights ORDER BY flight_id",
        "A CASE expression checks distance thresholds in ascending order and labels each flight.")

    d.q("agg", "ar",
        "How many flights are scheduled out of each origin airport?",
        "SELECT origin, COUNT(*) AS flights FROM flights GROUP BY origin ORDER BY flights DESC, origin",
        "Groups flights by origin and counts them.")
    d.q("agg", "ar",
        "Which routes (origin and destination pair) have been scheduled more than once?",
        "SELECT origin, destination, COUNT(*) AS flights FROM flights GROUP BY origin, destination HAVING COUNT(*) > 1 ORDER BY flights DESC, origin, destination",
        "Groups by the origin-destination pair and keeps pairs with more than one flight.")
    d.q("agg", "ar",
        "How many passengers did we carry in total, and what was the average per flight that operated? Round the average to 1 decimal.",
        "SELECT SUM(passengers) AS total_passengers, ROUND(AVG(passengers), 1) AS avg_per_flight FROM flights WHERE status = 'landed'",
        "Restricts to flights that landed and takes SUM and AVG of passengers.")
    d.q("agg", "ar",
        "What is the average seat count per aircraft manufacturer?",
        "SELECT manufacturer, ROUND(AVG(seats), 1) AS avg_seats, COUNT(*) AS aircraft FROM aircraft GROUP BY manufacturer ORDER BY manufacturer",
        "Groups the fleet by manufacturer and averages seats in each group.")

    d.q("join", "dr",
        "Show each flight that landed with the aircraft model and tail number.",
        "SELECT f.flight_id, f.flight_number, a.model, a.tail_number FROM flights f JOIN aircraft a ON a.aircraft_id = f.aircraft_id "
        "WHERE f.status = 'landed' ORDER BY f.flight_id",
        "Joins flights to aircraft on aircraft_id and keeps landed flights.")
    d.q("join", "ar",
        "What was the load factor (passengers as a percentage of seats) on each flight that operated? Round to one decimal.",
        "SELECT f.flight_id, f.flight_number, f.passengers, a.seats, ROUND(100.0 * f.passengers / a.seats, 1) AS load_factor_pct FROM flights f "
        "JOIN aircraft a ON a.aircraft_id = f.aircraft_id WHERE f.passengers IS NOT NULL ORDER BY load_factor_pct DESC, f.flight_id",
        "Joins flights to aircraft for the seat count and divides passengers by seats, multiplying by 100.0 to avoid integer division.")
    d.q("join", "ar",
        "How many flights has each aircraft been assigned? Include aircraft with none.",
        "SELECT a.tail_number, a.model, COUNT(f.flight_id) AS flights FROM aircraft a LEFT JOIN flights f ON f.aircraft_id = a.aircraft_id "
        "GROUP BY a.aircraft_id, a.tail_number, a.model ORDER BY flights DESC, a.tail_number",
        "LEFT JOIN keeps every aircraft; COUNT(f.flight_id) is 0 for aircraft never assigned.")
    d.q("joins", "dr",
        "List every flight with the origin and destination city names.",
        "SELECT f.flight_id, f.flight_number, o.city AS origin_city, d.city AS destination_city FROM flights f "
        "JOIN airports o ON o.airport_code = f.origin JOIN airports d ON d.airport_code = f.destination ORDER BY f.flight_id",
        "The airports table is joined twice: once for the origin code and once for the destination code.")
    d.q("joins", "dr",
        "Which flights are international, i.e. the origin and destination are in different countries?",
        "SELECT f.flight_id, f.flight_number, o.country AS origin_country, d.country AS destination_country FROM flights f "
        "JOIN airports o ON o.airport_code = f.origin JOIN airports d ON d.airport_code = f.destination WHERE o.country <> d.country ORDER BY f.flight_id",
        "Joins both airport ends and keeps flights whose origin and destination countries differ.")

    d.q("sub", "dr",
        "Which flights are longer than the average flight distance?",
        "SELECT flight_id, flight_number, distance_km FROM flights WHERE distance_km > (SELECT AVG(distance_km) FROM flights) ORDER BY distance_km DESC, flight_id",
        "A scalar subquery computes the average distance; longer flights are returned.")
    d.q("sub", "dr",
        "Which aircraft have never been assigned to a flight?",
        "SELECT aircraft_id, tail_number, model FROM aircraft a WHERE NOT EXISTS (SELECT 1 FROM flights f WHERE f.aircraft_id = a.aircraft_id) ORDER BY aircraft_id",
        "NOT EXISTS keeps aircraft with no flights.")
    d.q("sub", "dr",
        "What was the busiest flight (most passengers) for each aircraft?",
        "SELECT f.aircraft_id, f.flight_id, f.flight_number, f.passengers FROM flights f WHERE f.passengers = "
        "(SELECT MAX(f2.passengers) FROM flights f2 WHERE f2.aircraft_id = f.aircraft_id) ORDER BY f.aircraft_id",
        "A correlated subquery returns each aircraft's maximum passenger count; the matching flight is shown.")
    d.q("sub", "dr",
        "Show all flights departing from airports in the USA.",
        "SELECT flight_id, flight_number, origin, destination FROM flights WHERE origin IN (SELECT airport_code FROM airports WHERE country = 'USA') ORDER BY flight_id",
        "The IN subquery lists US airport codes and the outer query keeps flights whose origin is one of them.")

    d.q("win", "ar",
        "Rank the aircraft by total distance flown on flights that landed.",
        "SELECT aircraft_id, SUM(distance_km) AS total_km, RANK() OVER (ORDER BY SUM(distance_km) DESC) AS distance_rank FROM flights "
        "WHERE status = 'landed' GROUP BY aircraft_id ORDER BY distance_rank, aircraft_id",
        "Distances of landed flights are summed per aircraft; RANK() then orders those totals from highest to lowest.")
    d.q("win", "ar",
        "For each aircraft, list its flights in scheduled order and number them.",
        "SELECT aircraft_id, flight_id, scheduled_departure, ROW_NUMBER() OVER (PARTITION BY aircraft_id ORDER BY scheduled_departure) AS leg_number "
        "FROM flights ORDER BY aircraft_id, leg_number",
        "ROW_NUMBER() restarts per aircraft and counts its flights in order of scheduled departure.")

    d.q("set", "dr",
        "Which airports had departures on 1 June 2024 but none on 2 June 2024?",
        "SELECT origin FROM flights WHERE date(scheduled_departure) = '2024-06-01' EXCEPT SELECT origin FROM flights "
        "WHERE date(scheduled_departure) = '2024-06-02' ORDER BY origin",
        "EXCEPT subtracts the set of 2 June origins from the set of 1 June origins.")
    d.q("set", "dr",
        "Which airports appear both as an origin and as a destination in the schedule?",
        "SELECT origin AS airport_code FROM flights INTERSECT SELECT destination FROM flights ORDER BY airport_code",
        "INTERSECT keeps airport codes found in both the origin and destination columns.")

    d.q("cte", "ar",
        "For each origin airport, what share of departed flights left more than 15 minutes late? Show a percentage with 1 decimal.",
        "WITH delays AS (SELECT origin, ROUND((julianday(actual_departure) - julianday(scheduled_departure)) * 1440) AS delay_min FROM flights "
        "WHERE actual_departure IS NOT NULL) SELECT origin, COUNT(*) AS departed, ROUND(100.0 * SUM(CASE WHEN delay_min > 15 THEN 1 ELSE 0 END) "
        "/ COUNT(*), 1) AS late_pct FROM delays GROUP BY origin ORDER BY late_pct DESC, origin",
        "The CTE computes each departed flight's delay in minutes via julianday; the main query counts late flights per origin as a percentage.")
    d.q("cte", "ar",
        "What is the average departure delay in minutes for each aircraft model? Round to one decimal.",
        "WITH delays AS (SELECT aircraft_id, ROUND((julianday(actual_departure) - julianday(scheduled_departure)) * 1440) AS delay_min FROM flights "
        "WHERE actual_departure IS NOT NULL) SELECT a.model, ROUND(AVG(d.delay_min), 1) AS avg_delay_min FROM delays d "
        "JOIN aircraft a ON a.aircraft_id = d.aircraft_id GROUP BY a.model ORDER BY avg_delay_min DESC, a.model",
        "The CTE turns timestamps into delay minutes; the outer query joins to aircraft and averages the delay per model.")

    d.q("date", "dr",
        "How many minutes late did each departed flight leave? Early departures should show as negative.",
        "SELECT flight_id, flight_number, CAST(ROUND((julianday(actual_departure) - julianday(scheduled_departure)) * 1440) AS INTEGER) AS delay_minutes "
        "FROM flights WHERE actual_departure IS NOT NULL ORDER BY delay_minutes DESC, flight_id",
        "The julianday difference is in days; multiplying by 1440 converts it to minutes, rounded to a whole number.")
    d.q("date", "ar",
        "How many flights are scheduled on each day?",
        "SELECT date(scheduled_departure) AS flight_day, COUNT(*) AS flights FROM flights GROUP BY flight_day ORDER BY flight_day",
        "date() strips the time from the scheduled timestamp so flights can be counted per day.")
    d.q("date", "dr",
        "Which flights are scheduled to depart before 10 in the morning?",
        "SELECT flight_id, flight_number, scheduled_departure FROM flights WHERE CAST(strftime('%H', scheduled_departure) AS INTEGER) < 10 "
        "ORDER BY scheduled_departure, flight_id",
        "strftime('%H') extracts the hour of the scheduled departure; hours below 10 are morning departures.")

    d.q("basic", "dm",
        "Schedule a new flight: id 15, AK600 from SFO to YVR on aircraft 5, departing 2024-06-05 10:00:00, 1,280 km, status scheduled.",
        "INSERT INTO flights (flight_id, flight_number, origin, destination, aircraft_id, scheduled_departure, actual_departure, passengers, distance_km, status) "
        "VALUES (15, 'AK600', 'SFO', 'YVR', 5, '2024-06-05 10:00:00', NULL, NULL, 1280, 'scheduled')",
        "Inserts a scheduled flight; actual departure and passengers remain NULL until it operates.")
    d.q("basic", "dm",
        "Flight 13 has been cancelled; update its status.",
        "UPDATE flights SET status = 'cancelled' WHERE flight_id = 13",
        "Changes the status of the single flight identified by flight_id 13.")
    d.q("sub", "dm",
        "Move every flight that is still scheduled onto the A350-900 (look up its aircraft id by model).",
        "UPDATE flights SET aircraft_id = (SELECT aircraft_id FROM aircraft WHERE model = 'A350-900') WHERE status = 'scheduled'",
        "A scalar subquery looks up the A350-900's id, and the UPDATE assigns it to flights with status 'scheduled'.")
    d.q("basic", "dm",
        "Remove the cancelled flights from the schedule.",
        "DELETE FROM flights WHERE status = 'cancelled'",
        "Deletes the rows whose status is 'cancelled'.")
    d.q("joins", "dd",
        "Create a view route_board showing each flight's number, origin city, destination city, scheduled departure and status.",
        "CREATE VIEW route_board AS SELECT f.flight_number, o.city AS origin_city, d.city AS destination_city, f.scheduled_departure, f.status "
        "FROM flights f JOIN airports o ON o.airport_code = f.origin JOIN airports d ON d.airport_code = f.destination",
        "The view joins airports twice to translate both airport codes into city names.")
    d.q("basic", "dd",
        "Create a table long_haul_flights holding every flight of 5,000 km or more.",
        "CREATE TABLE long_haul_flights AS SELECT flight_id, flight_number, origin, destination, distance_km FROM flights WHERE distance_km >= 5000",
        "CREATE TABLE AS SELECT copies the matching flights into a new table.")
    d.q("basic", "dd",
        "Add a last_maintenance_date column to the aircraft table.",
        "ALTER TABLE aircraft ADD COLUMN last_maintenance_date TEXT",
        "ALTER TABLE ADD COLUMN adds a nullable date column (stored as ISO-8601 TEXT) to every aircraft.")
    d.q("basic", "dr",
        "Which airports have 'International' in their name?",
        "SELECT airport_code, airport_name FROM airports WHERE airport_name LIKE '%International%' ORDER BY airport_code",
        "The LIKE pattern '%International%' matches the word anywhere in airport_name.")
    return d


# === DOMAINS END ===


# --------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------

AGG_RE = re.compile(r"\b(COUNT|SUM|AVG|MIN|MAX|TOTAL|GROUP_CONCAT)\s*\(|\bGROUP BY\b", re.I)
JOIN_RE = re.compile(r"\bJOIN\b", re.I)
WINDOW_RE = re.compile(r"\bOVER\s*\(", re.I)
CTE_RE = re.compile(r"^(CREATE\s+(VIEW|TABLE)\s+\w+\s+AS\s+)?WITH\b", re.I)
SET_RE = re.compile(r"\b(UNION|INTERSECT|EXCEPT)\b", re.I)
SUBQ_RE = re.compile(r"\(\s*SELECT\b", re.I)
DATE_RE = re.compile(r"\b(date|time|datetime|strftime|julianday)\s*\(", re.I)


def strip_parens(sql: str) -> str:
    """Remove parenthesised content (repeatedly) and string literals."""
    sql = re.sub(r"'(?:[^']|'')*'", "''", sql)
    prev = None
    while prev != sql:
        prev = sql
        sql = re.sub(r"\([^()]*\)", "()", sql)
    return sql


def feature_problems(task: Task) -> list[str]:
    """Check the complexity label against what the SQL actually uses."""
    sql = re.sub(r"'(?:[^']|'')*'", "''", task.sql)
    joins = len(JOIN_RE.findall(sql))
    has = {
        "agg": bool(AGG_RE.search(sql)),
        "join": joins == 1,
        "joins": joins >= 2,
        "win": bool(WINDOW_RE.search(sql)),
        "cte": bool(CTE_RE.search(sql)),
        "set": bool(SET_RE.search(sql)),
        "sub": bool(SUBQ_RE.search(sql)),
        "date": bool(DATE_RE.search(sql)),
    }
    problems = []
    if task.cx == "basic":
        extra = [k for k in ("agg", "join", "joins", "win", "cte", "set", "sub") if has[k]]
        if extra and task.tt in ("ar", "dr"):
            problems.append(f"labelled basic SQL but uses {extra}")
        if has["join"] or has["joins"] or has["win"] or has["cte"] or has["set"]:
            if task.tt in ("dm", "dd"):
                problems.append("labelled basic SQL but uses advanced features")
    elif task.cx == "agg":
        extra = [k for k in ("join", "joins", "win", "cte", "set", "sub") if has[k]]
        if extra:
            problems.append(f"labelled aggregation but uses {extra}")
        if not has["agg"]:
            problems.append("labelled aggregation but has no aggregate")
    elif not has[task.cx]:
        problems.append(f"labelled {COMPLEXITY[task.cx][0]} but the SQL does not use it")
    verb = sql.lstrip().split()[0].upper()
    expected = {
        "SELECT": ("ar", "dr"),
        "WITH": ("ar", "dr"),
        "INSERT": ("dm",),
        "UPDATE": ("dm",),
        "DELETE": ("dm",),
        "CREATE": ("dd",),
        "ALTER": ("dd",),
        "DROP": ("dd",),
    }.get(verb)
    if expected is None or task.tt not in expected:
        problems.append(f"statement {verb} does not fit task type {TASK_TYPES[task.tt][0]}")
    if re.search(r"'now'|\b(random|changes|last_insert_rowid)\s*\(", task.sql, re.I):
        problems.append("non-deterministic function")
    if re.search(r"\bLIMIT\b", strip_parens(task.sql), re.I) and not re.search(
        r"\bORDER BY\b", strip_parens(task.sql), re.I
    ):
        problems.append("LIMIT without a top-level ORDER BY")
    return problems


def _sort_key(row):
    return tuple((0, 0) if v is None else (1, v) if isinstance(v, (int, float)) else (2, str(v)) for v in row)


def connect(context: str, reverse: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    if reverse:
        # Scans without ORDER BY come back in reverse order: exposes queries
        # whose result order (or ties in ORDER BY) depends on storage order.
        conn.execute("PRAGMA reverse_unordered_selects = ON")
    conn.executescript(context)
    return conn


def snapshot(conn: sqlite3.Connection) -> dict:
    """Final state of every table, view and index (rows as sorted multisets)."""
    state = {}
    objs = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    for typ, name, sql in objs:
        if typ in ("table", "view"):
            cols = tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{name}")'))
            rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
            state[(typ, name)] = (cols, sorted(rows, key=_sort_key))
        else:
            state[(typ, name)] = sql
    return state


def float_fragile(rows) -> bool:
    for row in rows:
        for v in row:
            if isinstance(v, float) and abs(v - round(v, 2)) > 1e-9:
                return True
    return False


def check_task(task_id: int, task: Task) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) for one task."""
    errors, warnings = [], []
    errors.extend(feature_problems(task))
    context = task.context()
    try:
        conn = connect(context)
    except sqlite3.Error as exc:
        return errors + [f"context failed: {exc}"], warnings
    if task.tt in ("ar", "dr"):
        try:
            cur = conn.execute(task.sql)
            rows = cur.fetchall()
        except sqlite3.Error as exc:
            return errors + [f"sql failed: {exc}"], warnings
        if not rows:
            errors.append("query returns no rows")
        elif all(v is None for row in rows for v in row):
            errors.append("query returns only NULLs")
        if float_fragile(rows):
            errors.append("result has floats that are not rounded to 2 places")
        ordered = bool(re.search(r"\bORDER BY\b", strip_parens(task.sql), re.I))
        if len(rows) > 1 and not ordered:
            errors.append("multi-row result without a top-level ORDER BY")
        rev_rows = connect(context, reverse=True).execute(task.sql).fetchall()
        if ordered and rows != rev_rows:
            errors.append("row order is not total (ORDER BY has ties)")
        if sorted(rows, key=_sort_key) != sorted(rev_rows, key=_sort_key):
            errors.append("result depends on storage order")
    else:
        before = snapshot(conn)
        try:
            conn.executescript(task.sql)
        except sqlite3.Error as exc:
            return errors + [f"sql failed: {exc}"], warnings
        after = snapshot(conn)
        if before == after:
            errors.append("statement did not change any table or view")
        if task.tt == "dm" and not any(
            k[0] == "table" and before.get(k) != after[k] for k in after
        ):
            errors.append("DML changed no rows")
        rev = connect(context, reverse=True)
        rev.executescript(task.sql)
        if snapshot(rev) != after:
            errors.append("final state depends on storage order")
        if task.tt == "dd" and not any(
            k[0] in ("table", "view") and (k not in before or after[k][0] != before[k][0]) for k in after
        ):
            warnings.append("DDL changes no table or view (index only)")
    return errors, warnings


def build_tasks() -> list[Task]:
    tasks = []
    for builder in DOMAIN_BUILDERS:
        d = builder()
        tasks.extend(d.tasks)
    return tasks


def report(records) -> None:
    def show(title, counter):
        print(f"\n{title}:")
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key:<28} {n:>4}")

    print(f"total tasks: {len(records)}")
    show("by domain", Counter(r["domain"] for r in records))
    show("by sql_complexity", Counter(r["sql_complexity"] for r in records))
    show("by sql_task_type", Counter(r["sql_task_type"] for r in records))
    n_mod = sum(r["sql_task_type"] in ("data manipulation", "data definition") for r in records)
    print(f"\nDML/DDL share: {n_mod}/{len(records)} = {100.0 * n_mod / len(records):.1f}%")


def main(argv) -> int:
    tasks = build_tasks()
    records = [t.record(i) for i, t in enumerate(tasks, start=1)]

    if "--show" in argv:
        ids = {int(a) for a in argv[argv.index("--show") + 1 :]}
        for rec, task in zip(records, tasks):
            if ids and rec["id"] not in ids:
                continue
            print(f"#{rec['id']} [{rec['domain']} | {rec['sql_complexity']} | {rec['sql_task_type']}]")
            print("Q:", rec["sql_prompt"])
            print("SQL:", rec["sql"])
            print("EXPL:", rec["sql_explanation"])
            conn = connect(rec["sql_context"])
            if task.tt in ("ar", "dr"):
                cur = conn.execute(rec["sql"])
                print("  cols:", [c[0] for c in cur.description])
                for row in cur.fetchall():
                    print("  ", row)
            else:
                before = snapshot(conn)
                conn.executescript(rec["sql"])
                after = snapshot(conn)
                for k in after:
                    if before.get(k) != after[k]:
                        print("  changed:", k, after[k] if k[0] != "index" else after[k])
            print()
        return 0

    errors = 0
    seen_prompts = {}
    for rec, task in zip(records, tasks):
        errs, warns = check_task(rec["id"], task)
        key = rec["sql_prompt"].lower()
        if key in seen_prompts:
            errs.append(f"duplicate prompt (also task {seen_prompts[key]})")
        seen_prompts[key] = rec["id"]
        for w in warns:
            print(f"WARNING task {rec['id']} ({rec['domain']}): {w}")
        for e in errs:
            print(f"ERROR task {rec['id']} ({rec['domain']}): {e}\n    SQL: {rec['sql']}")
        errors += len(errs)

    report(records)
    print(f"\nself-check: {errors} error(s)")
    if errors:
        return 1
    if "--check" not in argv:
        with open(OUT_PATH, "w", encoding="utf-8", newline="\n") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} tasks to {OUT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
