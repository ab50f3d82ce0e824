"""The Chat screen on the real chat engine with the tiny model: streaming, the answer's
SQL run read-only on a real SQLite file, Esc cancelling a generation."""

from __future__ import annotations

import sqlite3

import pytest
from textual.widgets import DataTable, Input, Label, Static

from screens.chat import ChatTurn
from tests.fixtures.tui import wait_until

SIZE = (130, 42)


def make_db(path):
    """A SQLite file holding the first bundled task's schema and rows (the warm tiny
    model was trained on those tasks, so it answers this one in the <think>/<sql> form)."""
    from sqlbench.data.loader import load_tasks

    task = load_tasks(None, limit=1)[0]
    con = sqlite3.connect(path)
    con.executescript(task.context)
    con.commit()
    con.close()
    return path, task


@pytest.mark.slow
@pytest.mark.timeout(900)  # includes building the warm tiny model once per tree (shared with other tests)
async def test_chat_streams_an_answer_and_runs_its_sql(tui_app, tmp_path, warm_tiny_model_dir):
    db, task = make_db(tmp_path / "shop.sqlite")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("temperature: 0\nchat:\n  max_new_tokens: 256\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("6")
        view = app.view("chat")
        view.set_model(str(warm_tiny_model_dir), str(db))
        await pilot.pause()
        await pilot.press("slash")
        assert app.focused is app.query_one("#chat-input", Input)
        app.query_one("#chat-input", Input).value = task.question
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: view.session is not None, timeout=120)
        status = str(app.query_one("#chat-status", Label).content)
        assert "loaded" in status and "read-only" in status
        turn = app.query_one(ChatTurn)
        assert await wait_until(pilot, lambda: not view.generating
                                and "done" in str(turn.query_one(".chat-status", Label).content), timeout=60)
        answer = view.session.last_answer
        assert turn.parts["think"].strip() or turn.parts["sql"].strip()
        assert answer.well_formed and answer.sql.strip()
        assert turn.parts["sql"].strip() == answer.sql.strip()
        # its SQL ran on the database, read-only: rows, or the database's own error
        assert turn.query(DataTable) or turn.query(".chat-error")
        ran = view.session.run_sql(answer.sql)
        if ran.error:
            assert ran.error in str(turn.query_one(".chat-error", Static).content)
        else:
            assert turn.query_one(DataTable).row_count == min(len(ran.rows), 200)
        # a result set renders as a table under the answer (a real query on the same file)
        table_name = task.context.split("CREATE TABLE", 1)[1].split("(", 1)[0].strip()
        result = view.session.db.execute(f"SELECT * FROM {table_name}")
        assert result.ok and result.rows
        turn.show_result(result)
        await pilot.pause()
        shown = turn.query(DataTable).last()
        assert shown.row_count == len(result.rows) and len(shown.columns) == len(result.columns)
        # writes are refused by the read-only connection, not run
        refused = view.session.run_sql(f"DELETE FROM {table_name}")
        assert refused.error and view.session.db.execute(f"SELECT COUNT(*) FROM {table_name}").rows[0][0] > 0
        # a second question reuses the loaded model and lands in a new turn
        app.query_one("#chat-input", Input).value = "List the customers in Paris"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: len(app.query(ChatTurn)) == 2 and not view.generating, timeout=60)
        assert len(view.session.history) == 4


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_escape_cancels_a_generation(tui_app, tmp_path, tiny_model_dir):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("temperature: 0\nchat:\n  max_new_tokens: 3500\n")  # greedy on random weights: a long, reproducible ramble
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("6")
        view = app.view("chat")
        view.set_model(str(tiny_model_dir), "")
        await pilot.pause()
        await pilot.press("slash")
        assert app.focused is app.query_one("#chat-input", Input)
        await pilot.press(*"hello", "enter")
        assert await wait_until(pilot, lambda: view.generating and app.query(ChatTurn)
                                and any(app.query_one(ChatTurn).parts.values()), timeout=120), (
            view.generating, [t.parts for t in app.query(ChatTurn)], str(app.query_one("#chat-status").content),
            app.focused, view.session and view.session.last_result)
        app.query_one("#chat-log").focus()
        await pilot.press("escape")
        turn = app.query_one(ChatTurn)
        assert await wait_until(pilot, lambda: not view.generating, timeout=30)
        assert "cancelled" in str(turn.query_one(".chat-status", Label).content)
        assert view.session.last_result.completion_tokens < 3500


async def test_a_turn_settles_on_the_sql_that_runs():
    """An answer tagged oddly enough that the live split cannot know (an unclosed think
    holding the SQL block): once done, the turn shows the parsed SQL, the one run."""
    from textual.app import App

    from sqlbench.prompts import parse_answer
    from sqlbench.inference.streaming import split_stream

    text = "<think>plan it <sql>SELECT 1</sql>"
    answer = parse_answer(text)
    assert answer.sql == "SELECT 1" and answer.think == ""

    class One(App):
        def compose(self):
            yield ChatTurn("q")

    async with One().run_test() as pilot:
        turn = pilot.app.query_one(ChatTurn)
        turn.add([(d.part, d.text) for d in split_stream([text])])
        assert turn.parts["sql"] == ""  # live, it all looked like reasoning
        turn.settle(answer.think, answer.sql)
        await pilot.pause()
        assert turn.parts["sql"] == "SELECT 1" and turn.parts["think"] == ""
        assert turn.query_one(".chat-sql", Static).content.code == "SELECT 1"  # the Syntax block shown
