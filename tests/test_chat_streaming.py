"""The live think/sql splitter: any chunking of a stream gives the same parts."""

from __future__ import annotations

import random

from sqlbench.prompts import parse_answer
from sqlbench.inference.streaming import Delta, StreamSplitter, join_parts, split_stream

ANSWER = (
    "<think>\nOmnium results live in track_results; keep position 1 and a < b.\n</think>\n"
    "<sql>\nSELECT r.name FROM riders r JOIN track_results t ON t.rider_id = r.rider_id "
    "WHERE t.event = 'omnium' AND t.points < 200\n</sql>"
)


def chunkings(text: str, rng: random.Random, n: int = 200):
    yield [text]
    yield list(text)  # one character at a time: every tag is cut
    for _ in range(n):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 30)))
        yield [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]


def test_any_chunking_gives_the_parsed_parts():
    want = parse_answer(ANSWER)
    rng = random.Random(0)
    for chunks in chunkings(ANSWER, rng):
        parts = join_parts(split_stream(chunks))
        assert parts["think"].strip() == want.think
        assert parts["sql"].strip() == want.sql
        assert parts["text"].strip() == ""


def test_tags_never_leak_and_lone_angle_brackets_survive():
    text = "<think>a <b and x<sql or <th</think>pre<sql>SELECT 1 < 2</sql> tail <"
    for chunks in chunkings(text, random.Random(1), 100):
        deltas = list(split_stream(chunks))
        joined = "".join(d.text for d in deltas)
        assert "<think>" not in joined and "</sql>" not in joined
        parts = join_parts(deltas)
        assert parts == {"think": "a <b and x<sql or <th", "sql": "SELECT 1 < 2", "text": "pre tail <"}


def test_deltas_arrive_before_the_tag_closes():
    s = StreamSplitter()
    assert s.feed("<think>Look") == [Delta("think", "Look")]
    assert s.feed(" at the </th") == [Delta("think", " at the ")]  # '</th' held back
    assert s.feed("ink><sq") == []
    assert s.feed("l>SEL") == [Delta("sql", "SEL")]
    assert s.part == "sql"
    assert s.flush() == []


def test_start_inside_think():
    """Chat templates that open <think> in the prompt: the output starts mid-think."""
    parts = join_parts(split_stream(["reasoning</think><sql>SELECT 1</sql>"], start="think"))
    assert parts == {"think": "reasoning", "sql": "SELECT 1", "text": ""}


def test_flush_releases_a_held_prefix():
    s = StreamSplitter()
    assert s.feed("x <sq") == [Delta("text", "x ")]
    assert s.flush() == [Delta("text", "<sq")]


def test_only_a_blocks_own_closing_tag_ends_it():
    """A model's stray tags inside a block stay in it, as parse_answer reads them: the
    SQL shown live is the SQL that will be run."""
    text = ("<think>plan <sql>draft</sql> more</think>\n"
            "<sql>SELECT a, b DESC,\n</think>\nSELECT c</sql> after </think>")
    want = parse_answer(text)
    for chunks in chunkings(text, random.Random(2), 100):
        parts = join_parts(split_stream(chunks))
        assert parts["think"].strip() == want.think == "plan <sql>draft</sql> more"
        assert parts["sql"].strip() == want.sql == "SELECT a, b DESC,\n</think>\nSELECT c"
        assert parts["text"].strip() == "after"
