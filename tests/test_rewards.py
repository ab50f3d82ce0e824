"""Each reward on hand-made answers, against real SQLite through the validator."""

from __future__ import annotations

import pytest

from sqlbench.training import rewards
from sqlbench.errors import ConfigError

CTX = (
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);\n"
    "INSERT INTO customers VALUES (1, 'Ada', 'Paris'), (2, 'Bo', 'Oslo'), (3, 'Cy', 'Paris');\n"
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL);\n"
    "INSERT INTO orders VALUES (10, 1, 20.5), (11, 1, 4.5), (12, 2, 7.0);"
)
GOLD = "SELECT name FROM customers WHERE city = 'Paris' ORDER BY name"

GOOD = "<think>\nKeep customers whose city is Paris.\n</think>\n<sql>\nSELECT name FROM customers WHERE city = 'Paris' ORDER BY name;\n</sql>"
WRONG_RESULT = "<think>\nAll customers.\n</think>\n<sql>\nSELECT name FROM customers ORDER BY name\n</sql>"
BAD_COLUMN = "<think>\nUse the town.\n</think>\n<sql>\nSELECT name FROM customers WHERE town = 'Paris'\n</sql>"
NOT_SQL = "<think>\nHmm.\n</think>\n<sql>\nSELEC name FRM customers WHERE\n</sql>"
NO_TAGS = "SELECT name FROM customers WHERE city = 'Paris'"
TEXT_AROUND = "Sure! " + GOOD + " Hope that helps."
ONLY_THINK = "<think>\nthinking</think>"
DOUBLE_SQL = GOOD + "\n<sql>SELECT 1</sql>"


def kw(n: int) -> dict:
    return {"gold_sql": [GOLD] * n, "context": [CTX] * n, "task_id": ["t1"] * n}


def score(fn, *completions):
    return fn(list(completions), **kw(len(completions)))


def test_format_is_strict_layout_only():
    assert score(rewards.format_reward, GOOD, NO_TAGS, TEXT_AROUND, ONLY_THINK, DOUBLE_SQL) == [1.0, 0.0, 0.0, 0.0, 0.0]
    # whitespace around the blocks is fine; an empty block is not
    assert score(rewards.format_reward, "  \n" + GOOD + "\n") == [1.0]
    assert score(rewards.format_reward, "<think> </think><sql>SELECT 1</sql>") == [0.0]


def test_tags_give_partial_credit_per_tag():
    assert score(rewards.tags_reward, GOOD, NO_TAGS, ONLY_THINK, DOUBLE_SQL) == [1.0, 0.0, 0.5, 0.5]


def test_syntax_rewards_parseable_sql_in_the_block():
    assert score(rewards.syntax_reward, GOOD, BAD_COLUMN, NOT_SQL, NO_TAGS) == [1.0, 1.0, 0.0, 0.0]


def test_schema_is_f1_of_names_against_gold():
    got = score(rewards.schema_reward, GOOD, WRONG_RESULT, BAD_COLUMN, NOT_SQL)
    assert got[0] == pytest.approx(1.0)
    assert 0.0 < got[1] < 1.0  # right table and column, misses the city column
    assert 0.0 < got[2] < got[0]  # invents a column
    assert got[3] == 0.0


def test_execution_follows_the_arctic_scheme():
    assert score(rewards.execution_reward, GOOD, WRONG_RESULT, BAD_COLUMN, NOT_SQL, NO_TAGS) == [1.0, 0.1, 0.0, 0.0, 0.0]


def test_execution_judges_against_the_dataset_gold_not_the_answer():
    other_gold = {"gold_sql": ["SELECT name FROM customers WHERE city = 'Oslo'"], "context": [CTX], "task_id": ["t2"]}
    assert rewards.execution_reward([GOOD], **other_gold) == [0.1]


def test_execution_refuses_writes_to_files():
    attach = "<think>x</think><sql>ATTACH DATABASE '/tmp/x.db' AS x</sql>"
    assert score(rewards.execution_reward, attach) == [0.0]


def test_length_penalises_long_reasoning():
    short = "<think>" + "a" * 100 + "</think><sql>SELECT 1</sql>"
    mid = "<think>" + "a" * ((rewards.LENGTH_TARGET + rewards.LENGTH_MAX) // 2) + "</think><sql>SELECT 1</sql>"
    long = "<think>" + "a" * (rewards.LENGTH_MAX + 10) + "</think><sql>SELECT 1</sql>"
    got = score(rewards.length_reward, short, mid, long, NO_TAGS)
    assert got[0] == 1.0 and got[1] == pytest.approx(0.5, abs=0.01) and got[2] == 0.0 and got[3] == 0.0


def test_conversational_completions_are_read_from_the_last_message():
    conv = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": NO_TAGS}]]
    assert rewards.format_reward(conv, **kw(2)) == [1.0, 0.0]
    assert rewards.execution_reward(conv, **kw(2)) == [1.0, 0.0]


def test_every_reward_has_trl_signature_and_range():
    batch = [GOOD, WRONG_RESULT, BAD_COLUMN, NOT_SQL, NO_TAGS, TEXT_AROUND, ONLY_THINK, DOUBLE_SQL, ""]
    for name, fn in rewards.REWARDS.items():
        assert fn.__name__ == name  # TRL logs rewards/<__name__>/mean
        out = fn(batch, prompts=[None] * len(batch), completion_ids=None, trainer_state=None, **kw(len(batch)))
        assert len(out) == len(batch)
        assert all(0.0 <= x <= 1.0 for x in out), (name, out)
    assert set(rewards.DEFAULT_WEIGHTS) == set(rewards.REWARDS)


def test_missing_gold_column_is_a_clear_error():
    with pytest.raises(KeyError, match="gold_sql"):
        rewards.execution_reward([GOOD])


def test_weights_parse_and_override():
    assert rewards.parse_weights("execution=3, length=0") == {"execution": 3.0, "length": 0.0}
    w = rewards.resolve_weights({"execution": 3.0, "length": 0.0})
    assert w["execution"] == 3.0 and "length" not in w and w["format"] == rewards.DEFAULT_WEIGHTS["format"]
    with pytest.raises(ConfigError, match="unknown reward 'exec'"):
        rewards.parse_weights("exec=1")
    with pytest.raises(ConfigError, match="must be a number"):
        rewards.parse_weights("format=high")
    with pytest.raises(ConfigError, match="name=weight"):
        rewards.parse_weights("format")


def test_repeated_answers_reuse_verdicts():
    """A GRPO group often repeats an answer: the validator is asked once per distinct SQL,
    in one batch per step (one hand-off to its guarded thread), and a later step asks only
    for what the memo lacks."""
    batches = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def check_many(self, items):
            items = list(items)
            batches.append([candidate for _, candidate in items])
            return self.inner.check_many(items)

    from sqlbench.sqlcheck import Validator

    rewards.set_validator(Counting(Validator()))
    try:
        tid = {"task_id": ["t-repeat"] * 8}
        got = rewards.execution_reward([GOOD] * 6 + [WRONG_RESULT] * 2, gold_sql=[GOLD] * 8, context=[CTX] * 8, **tid)
        again = rewards.execution_reward([WRONG_RESULT, GOOD, "<sql>SELECT 1</sql>", "no sql here"],
                                         gold_sql=[GOLD] * 4, context=[CTX] * 4, task_id=["t-repeat"] * 4)
    finally:
        rewards.set_validator(None)
    assert got == [1.0] * 6 + [0.1] * 2
    assert again == [0.1, 1.0, 0.1, 0.0]
    assert [len(b) for b in batches] == [2, 1] and batches[1] == ["SELECT 1"]


SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "SELECT COUNT(*) FROM n")


def test_a_timeout_is_never_remembered():
    """One slow moment must not score an answer 0 for the rest of training."""
    from sqlbench.records import Task
    from sqlbench.sqlcheck import Validator

    v = Validator(timeout=30)
    task = Task(id="t-slow", question="", context=CTX, gold_sql=SLOW)
    assert v.check(task).reason == "ok"  # the gold is prepared with time to spare
    rewards.set_validator(v)
    try:
        v.timeout = 1e-4
        assert rewards.execution_score(task, SLOW + " ") == 0.0  # timed out now
        v.timeout = 30
        assert rewards.execution_score(task, SLOW + " ") == 1.0  # judged again, not read from the memo
    finally:
        rewards.set_validator(None)


def test_unverified_pays_as_runs_never_as_correct():
    schema_only = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
    gold = "SELECT name FROM customers WHERE 1 = 0"
    rewards.set_validator(None)
    got = rewards.execution_reward([GOOD.replace("city = 'Paris' ORDER BY name", "1 = 0")],
                                   gold_sql=[gold], context=[schema_only], task_id=["t-unverified"])
    assert got == [0.1]


def test_rewards_judge_with_the_validate_settings():
    from sqlbench.config import ValidateSettings

    try:
        assert score(rewards.execution_reward, GOOD) == [1.0]
        rewards.use_validate_settings(ValidateSettings(timeout=0.75, max_rows=1, test_databases=1))
        v = rewards.get_validator()
        assert (v.timeout, v.max_rows, v.test_databases) == (0.75, 1, 1)
        # max_rows now applies (and the memo was cleared): the gold's two rows exceed the cap
        assert score(rewards.execution_reward, GOOD) == [0.0]
    finally:
        rewards.set_validator(None)


def test_revalidate_takes_the_validate_settings():
    from sqlbench.config import ValidateSettings
    from sqlbench.distill.sample import revalidate

    rec = {"task_id": "r1", "question": "?", "context": CTX, "gold_sql": GOLD, "completion": GOOD}
    assert revalidate(rec).reason == "ok"
    slow = dict(rec, gold_sql=SLOW, completion=f"<think>count</think><sql>{SLOW}</sql>")
    assert revalidate(slow, ValidateSettings(timeout=1e-4)).reason in ("gold_error", "timeout")
    assert revalidate(slow, ValidateSettings(timeout=30)).reason == "ok"


def test_the_rejected_screen_revalidates_with_the_same_settings():
    # Rejected → re-validate judges as the CLI would: the workbench passes its validate.* settings.
    from sqlbench.config import ValidateSettings
    from screens.rejected import revalidate

    slow = {"task_id": "r2", "question": "?", "context": CTX, "gold_sql": SLOW,
            "completion": f"<think>count</think><sql>{SLOW}</sql>"}
    assert revalidate(slow, ValidateSettings(timeout=1e-4))["reason"] in ("gold_error", "timeout")
    assert revalidate(slow, ValidateSettings(timeout=30))["reason"] == "ok"
