"""The one private Textual hook the workbench overrides, pinned.

``SqlbenchApp._shutdown`` waits for the tabs still being mounted before Textual tears
the app down: leaving while a view is mid-mount otherwise raises inside the view's and
Textual's own widgets' mount handlers (``NoMatches``). No public hook runs early enough:
``run_test``'s teardown calls ``App._shutdown`` directly, without ``exit()``, and
``on_unmount`` runs after the widgets are gone. So these tests fail when a Textual
upgrade renames or stops calling ``_shutdown`` on either way out."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from textual.app import App

from screens.app import TABS, SqlbenchApp
from screens.base import View


def counting(cls: type[SqlbenchApp]) -> type[SqlbenchApp]:
    class Counted(cls):
        shutdowns = 0

        async def _shutdown(self) -> None:
            type(self).shutdowns += 1
            await super()._shutdown()

    return Counted


def test_textual_still_has_the_hook_we_override():
    assert inspect.iscoroutinefunction(App._shutdown)
    assert SqlbenchApp._shutdown is not App._shutdown
    assert "super()._shutdown()" in inspect.getsource(SqlbenchApp._shutdown)


async def test_a_test_teardown_goes_through_the_override(tui_app, tui_runs):
    app_cls = counting(SqlbenchApp)
    app = app_cls(runs_dir=tui_runs, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert app_cls.shutdowns == 1


async def test_quitting_goes_through_the_override(tui_app, tui_runs):
    app_cls = counting(SqlbenchApp)
    app = app_cls(runs_dir=tui_runs, live=False)

    async def quit_when_ready(pilot) -> None:
        await pilot.press("ctrl+q")  # the app's own quit: no job started here, so no question

    await asyncio.wait_for(app.run_async(headless=True, size=(120, 40), auto_pilot=quit_when_ready), 120)
    assert app_cls.shutdowns == 1


@pytest.mark.parametrize("built", range(2, len(TABS)))
async def test_leaving_while_the_next_tab_is_mounting_raises_nothing(tui_app, tui_runs, built):
    """Right after the ``built``-th view is mounted the next one is mid-mount: without
    the override each of these exits raises NoMatches from a view's on_mount."""
    app = SqlbenchApp(runs_dir=tui_runs, live=False)
    async with app.run_test(size=(120, 40)):
        for _ in range(100_000):  # every turn of the loop lets the mounting go on
            if len(app.query(View)) >= built:
                break
            await asyncio.sleep(0)
        assert len(app.query(View)) >= built
    assert app.return_code in (None, 0)
