"""ChatSession with the tiny model: live streaming equals model.generate, cancel from
another thread, the conversation, and SQL run read-only on real databases."""

from __future__ import annotations

import threading

import pytest

from sqlbench.inference.chat import ChatSession, Engine, load_engine
from sqlbench.config import Settings
from sqlbench.inference.streaming import Delta

QUESTION = "Which riders won the omnium at the Olympic Games?"


@pytest.fixture(scope="module")
def engine(tiny_model_dir) -> Engine:
    return load_engine(str(tiny_model_dir))


def settings(temperature: float = 0.0, max_new_tokens: int = 40) -> Settings:
    s = Settings()
    s.temperature = temperature
    s.chat.max_new_tokens = max_new_tokens
    return s


def test_stream_is_live_and_equals_bare_generate(engine):
    """Greedy: the deltas join to exactly what a bare model.generate decodes."""
    import torch

    s = ChatSession(engine, settings=settings(max_new_tokens=30))
    msgs = s.messages_for(QUESTION)
    deltas = list(s.stream(QUESTION))
    assert len(deltas) >= 2 and all(isinstance(d, Delta) for d in deltas)
    ours = "".join(d.text for d in deltas)

    tok, model = engine.tokenizer, engine.model
    enc = tok(engine.render(msgs), return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=30, do_sample=False, pad_token_id=tok.pad_token_id)
    bare = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    # ours stops at </sql>; tags are not part of the deltas
    for tag in ("<think>", "</think>", "<sql>", "</sql>"):
        bare = bare.replace(tag, "")
    assert bare.startswith(ours) and ours
    assert s.last_result.completion_tokens <= 30
    assert s.history[-2] == {"role": "user", "content": QUESTION}
    assert s.history[-1]["role"] == "assistant"


def test_first_delta_arrives_before_generation_ends(engine):
    import torch

    torch.manual_seed(0)  # sampling: a fixed draw, so the run cannot end at once by chance
    s = ChatSession(engine, settings=settings(temperature=1.0, max_new_tokens=200))
    gen = s.stream(QUESTION)
    next(gen)
    alive = [t for t in threading.enumerate() if t.name == "sqlbench-chat-generate"]
    assert alive, "the first delta came only after generation finished"
    gen.close()  # leaving early stops the generation
    assert not [t for t in threading.enumerate() if t.name == "sqlbench-chat-generate" and t.is_alive()]


def test_cancel_from_another_thread(engine):
    import torch

    torch.manual_seed(0)
    s = ChatSession(engine, settings=settings(temperature=1.0, max_new_tokens=3000))
    seen = []
    for d in s.stream(QUESTION):
        seen.append(d)
        if len(seen) == 1:  # the first text goes out at once; later ones every 50 ms
            threading.Thread(target=s.cancel).start()
    assert s.last_result.finish_reason == "cancelled"
    assert s.last_result.completion_tokens < 3000
    assert len(s.history) == 2  # what was said stays in the conversation
    # the session answers again after a cancel
    s.settings.chat.max_new_tokens = 5
    s.ask("And in 2021?")
    assert s.last_result.finish_reason in ("length", "stop") and len(s.history) == 4


def test_conversation_and_reset(engine):
    s = ChatSession(engine, settings=settings(max_new_tokens=8), system_prompt="Answer in SQL.")
    s.ask("first question")
    s.ask("second question")
    msgs = s.messages_for("third")
    assert msgs[0] == {"role": "system", "content": "Answer in SQL."}
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[1]["content"] == "first question"
    s.reset()
    assert s.history == [] and s.last_answer is None
    assert len(s.messages_for("again")) == 2


def test_schema_goes_into_the_question(engine, cycling_sqlite):
    s = ChatSession(engine, settings=settings(max_new_tokens=8), db=str(cycling_sqlite))
    assert "CREATE TABLE riders" in s.schema_text and "track_results" in s.schema_text
    msgs = s.messages_for(QUESTION)
    assert msgs[-1]["content"] == f"{QUESTION}\n\nDatabase schema:\n{s.schema_text}"  # as in training
    s.ask(QUESTION)
    assert s.history[0]["content"] == QUESTION  # history keeps the bare question
    s.close()


def test_oldest_turns_dropped_to_fit(engine):
    s = ChatSession(engine, settings=settings(max_new_tokens=16))
    long = "omnium " * 600
    s.history = [{"role": "user", "content": long}, {"role": "assistant", "content": long}] * 4
    msgs = s.messages_for("latest question")
    assert engine.count_tokens(msgs) <= engine.max_positions - 16
    assert msgs[-1]["content"] == "latest question" and len(msgs) < 10


def test_run_sql_without_database(engine):
    s = ChatSession(engine, settings=settings())
    r = s.run_sql("SELECT 1")
    assert not r.ok and "--db" in r.error


@pytest.mark.parametrize("backend", ["sqlite", "duckdb", "postgresql"])
def test_write_through_chat_refused_database_unchanged(engine, request, backend):
    from tests.test_dbconn_readonly import fingerprint

    fixture = {"sqlite": "cycling_sqlite", "duckdb": "cycling_duckdb", "postgresql": "cycling_postgres"}[backend]
    target = str(request.getfixturevalue(fixture))
    before = fingerprint(backend, target)
    s = ChatSession(engine, settings=settings(), db=target)
    for sql in ("DELETE FROM track_results", "DROP TABLE riders", "INSERT INTO riders VALUES (9, 'X', 'YYY')",
                "UPDATE riders SET name = 'x'"):
        r = s.run_sql(sql)
        assert r.refused and r.error.startswith("refused:") and "not changed" in r.error
    r = s.run_sql("SELECT count(*) FROM track_results WHERE event = 'omnium'")
    assert r.ok and r.rows == [(5,)]
    s.close()
    assert fingerprint(backend, target) == before


def test_warm_model_answer_runs_on_the_database(warm_tiny_model_dir, tmp_path):
    """A model that learnt the format, on bundled tasks turned into real SQLite files:
    think and sql arrive as separate live parts, and the SQL it wrote runs read-only."""
    import hashlib
    import sqlite3

    from sqlbench.data.loader import load_tasks

    engine = load_engine(str(warm_tiny_model_dir))
    formed = 0
    for task in load_tasks(None, limit=8):
        path = tmp_path / f"{task.id}.sqlite"
        conn = sqlite3.connect(path)
        conn.executescript(task.context)
        conn.close()
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        s = ChatSession(engine, settings=settings(max_new_tokens=200), db=str(path))
        parts = [d.part for d in s.stream(task.question)]
        if s.last_answer.well_formed:
            formed += 1
            assert "think" in parts and "sql" in parts
            assert parts.index("think") < parts.index("sql")
            r = s.run_sql()
            assert r.ok or r.error  # ran, or says why; never raises
        s.close()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert formed >= 1, "the warm model answered no bundled task in the <think>/<sql> format"


def test_text_is_coalesced_but_identical(engine):
    """Deltas leave the generator at most every ``emit_every_s`` (the first at once),
    yet join to the same text; with stop strings every token is decoded at once."""
    from sqlbench.inference.chat import GenParams

    msgs = [{"role": "user", "content": QUESTION}]

    def run(**kw) -> list[str]:
        pieces: list[str] = []
        engine.generate(msgs, GenParams(max_new_tokens=60, temperature=0.0, **kw), pieces.append)
        return pieces

    every_token = run(emit_every_s=0.0)
    coalesced = run(emit_every_s=60.0)
    assert "".join(coalesced) == "".join(every_token)
    assert len(every_token) > 10 and len(coalesced) == 2  # the first piece, then the rest at the end
    with_stop = run(emit_every_s=60.0, stop=["never-in-the-output"])
    assert "".join(with_stop) == "".join(every_token) and len(with_stop) == len(every_token)
