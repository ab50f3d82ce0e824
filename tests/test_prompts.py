"""Answer format: building messages and parsing <think>/<sql> answers."""

from sqlbench.prompts import SYSTEM_PROMPT, build_messages, extract_sql, format_answer, parse_answer
from sqlbench.records import Task

TASK = Task(id="1", question="How many users?", context="CREATE TABLE users (id INT);", gold_sql="SELECT COUNT(*) FROM users")


def test_seed_system_prompt_and_no_gold_leak():
    msgs = build_messages(TASK)
    assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert SYSTEM_PROMPT.startswith("You are an expert in writing optimized SQL queries.\n")
    assert "How many users?" in msgs[1]["content"] and "CREATE TABLE users" in msgs[1]["content"]
    assert "SELECT COUNT" not in msgs[1]["content"]
    assert "SELECT COUNT(*) FROM users" in build_messages(TASK, hint_gold=True)[1]["content"]


def test_parse_well_formed_and_roundtrip():
    a = parse_answer(format_answer("count rows", "SELECT COUNT(*) FROM users"))
    assert a.well_formed and a.think == "count rows" and a.sql == "SELECT COUNT(*) FROM users"


def test_code_fence_inside_sql_is_tolerated():
    a = parse_answer("<think>x</think>\n<sql>\n```sql\nSELECT 1;\n```\n</sql>")
    assert a.well_formed and a.sql == "SELECT 1;"


def test_malformed_answers():
    assert not parse_answer("<sql>SELECT 1</sql>").well_formed  # no reasoning
    assert not parse_answer("<think>   </think><sql>SELECT 1</sql>").well_formed  # empty reasoning
    assert not parse_answer("<think>x</think><sql> </sql>").well_formed  # empty sql
    assert not parse_answer("<sql>SELECT 1</sql><think>x</think>").well_formed  # wrong order
    assert not parse_answer("<think>x</think> SELECT 1").well_formed


def test_extract_sql_from_answer_fence_or_bare():
    assert extract_sql("<think>a</think><sql>SELECT 2</sql>") == "SELECT 2"
    assert extract_sql("```sql\nSELECT 3\n```") == "SELECT 3"
    assert extract_sql("SELECT 4") == "SELECT 4"
    assert extract_sql("<think>a</think><sql>SELECT 5") == "SELECT 5"  # truncated generation
