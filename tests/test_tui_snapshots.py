"""Snapshots of every screen at a fixed size over the fixed run directories
(tests/data/runs, written by tests/data/make_runs.py). Update after an intended change:

    .venv/bin/pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import shutil

import pytest

from tests.fixtures.tui import FINISHED_DISTILL, RUNS, TRAIN, wait_until

SIZE = (130, 40)


@pytest.fixture
def snap_app(tmp_path, monkeypatch):
    """The workbench in a folder holding only a copy of the fixture runs (relative paths
    on screen, built-in default settings, no secrets)."""
    shutil.copytree(RUNS, tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    for var in ("API_KEY", "HF_TOKEN", "GROQ_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    for var in list(__import__("os").environ):
        if var.startswith("SQLBENCH_"):
            monkeypatch.delenv(var)

    def make(initial="runs"):
        from screens.app import SqlbenchApp

        return SqlbenchApp(runs_dir="runs", live=False, initial=initial, env_file=".env")

    return make


async def _settle(pilot):
    """Every tab built, every reader worker done, every chart drawn, no animation left."""
    from textual.worker import WorkerState

    app = pilot.app
    await wait_until(pilot, lambda: app.views_mounted)
    await wait_until(pilot, lambda: not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                                            for w in app.workers))
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()  # one frame for what the workers posted


async def _charts_drawn(pilot):
    """Every chart on screen has drawn its data (they redraw on a timer, ≤ 2 Hz)."""
    from screens.widgets.curve import Curve

    def drawn() -> bool:
        charts = [c for c in pilot.app.query(Curve) if c.display and c.region.height]
        return bool(charts) and all(c.ys and not c._dirty and c._drawn_size == (c.content_size.width,
                                                                               c.content_size.height)
                                    for c in charts)

    assert await wait_until(pilot, drawn)
    # the completions follow their newest row: scroll there once the layout is final
    table = pilot.app.query_one("#train-completions")
    table.move_cursor(row=table.row_count - 1, animate=False)
    await pilot.pause()


def test_runs(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        await wait_until(pilot, lambda: pilot.app.query_one("#runs-table").row_count == 3)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=SIZE, run_before=before)


def test_config(snap_compare, snap_app):
    assert snap_compare(snap_app("config"), terminal_size=SIZE, run_before=_settle)


def test_distill(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        from pathlib import Path

        pilot.app.open_run(Path("runs") / FINISHED_DISTILL)
        await wait_until(pilot, lambda: pilot.app.view("distill").snapshot()["rows"] == 12)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=SIZE, run_before=before)


def test_rejected(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        from pathlib import Path

        pilot.app.open_rejected(Path("runs") / FINISHED_DISTILL)
        await wait_until(pilot, lambda: pilot.app.query_one("#rejected-table").row_count == 7)
        pilot.app.query_one("#rejected-table").move_cursor(row=0)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=SIZE, run_before=before)


def test_train(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        from pathlib import Path

        pilot.app.open_run(Path("runs") / TRAIN)
        await wait_until(pilot, lambda: pilot.app.view("train").curves().get("grpo:reward") == 30)
        await _charts_drawn(pilot)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=SIZE, run_before=before)


def test_chat(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        from types import SimpleNamespace

        from screens.chat import ChatTurn

        # a finished exchange, as the streaming worker leaves it (the model itself is
        # exercised in test_tui_chat.py; a snapshot needs fixed text)
        turn = ChatTurn("How many orders does each customer have?")
        await pilot.app.query_one("#chat-log").mount(turn)
        turn.add([("think", "Count orders grouped by customer_id, joined to customers for the name."),
                  ("sql", "SELECT c.name, COUNT(o.id) FROM customers c JOIN orders o ON o.customer_id = c.id "
                          "GROUP BY c.name")])
        turn.finish("done · 1.2s · 41 tokens (stop)")
        turn.show_result(SimpleNamespace(error=None, columns=["name", "COUNT(o.id)"],
                                         rows=[("Ada", 2), ("Bo", 1), ("Di", 1)], truncated=False, elapsed_ms=3.0))
        await _settle(pilot)

    assert snap_compare(snap_app("chat"), terminal_size=SIZE, run_before=before)


def test_quickstart(snap_compare, snap_app):
    assert snap_compare(snap_app("quickstart"), terminal_size=SIZE, run_before=_settle)


def test_help(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        await pilot.press("f1")
        from textual.widgets import Markdown

        # Markdown renders its blocks asynchronously: wait for the last one
        await wait_until(pilot, lambda: "Everywhere" in str([b._content for b in pilot.app.screen.query_one(Markdown).children]))
        await _settle(pilot)

    assert snap_compare(snap_app("distill"), terminal_size=SIZE, run_before=before)


SMALL = (80, 24)  # the size people try first: nothing may vanish


def test_train_80x24(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        from pathlib import Path

        pilot.app.open_run(Path("runs") / TRAIN)
        await wait_until(pilot, lambda: pilot.app.view("train").curves().get("grpo:reward") == 30)
        await _charts_drawn(pilot)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=SMALL, run_before=before)


def test_distill_80x24(snap_compare, snap_app):
    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.views_mounted)
        from pathlib import Path

        pilot.app.open_run(Path("runs") / FINISHED_DISTILL)
        await wait_until(pilot, lambda: pilot.app.view("distill").snapshot()["rows"] == 12)
        await _settle(pilot)

    assert snap_compare(snap_app(), terminal_size=SMALL, run_before=before)
