"""Keys that cannot misfire: tabs switch whatever has the focus and however the terminal
encodes alt+digit (tmux/xterm send ESC+digit), digits typed into a field stay in it, no
key starts a job without a confirmation, one registry feeds bindings, help and palette,
and config.yaml's keys: remaps an action by its id."""

from __future__ import annotations

from textual._xterm_parser import XTermParser
from textual.widgets import Input

from screens.actions import ACTIONS, title
from screens.modals import ConfirmScreen
from tests.fixtures.tui import wait_until

SIZE = (100, 30)


async def feed(pilot, raw: str) -> None:
    """What the terminal driver does with raw bytes: parse them, post the events."""
    for event in XTermParser().feed(raw):
        pilot.app.post_message(event)
    await pilot.pause()
    await pilot.pause()


def active(app) -> str:
    return app.query_one("#tabs").active


async def test_esc_digit_from_tmux_switches_tabs_and_types_nothing(tui_app):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("chat")
        await pilot.pause()
        box = app.query_one("#chat-input", Input)
        box.focus()
        await pilot.press("h", "i")
        for raw, tab in (("\x1b5", "train"), ("\x1b7", "quickstart"), ("\x1b1", "runs"), ("\x1b6", "chat")):
            box.focus()
            await feed(pilot, raw)
            assert active(app) == tab, raw
        assert box.value == "hi"  # no ¶, no ∞: nothing typed
        # F-keys, as the terminal sends them, while the field has the focus
        box.focus()
        await feed(pilot, "\x1b[17~")  # F6 -> Train
        assert active(app) == "train" and box.value == "hi"


async def test_digits_go_to_the_field_that_has_focus(tui_app):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("train")
        await pilot.pause()
        field = app.query_one("#train-dataset-repo-id", Input)
        field.focus()
        field.value = ""
        await pilot.press("1", "2")
        assert field.value == "12" and active(app) == "train"
        app.query_one("#train-completions").focus()  # no text field: digits switch tabs
        await pilot.press("3")
        assert active(app) == "distill"


async def test_no_key_starts_a_job_without_a_confirmation(tui_app):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        before = sorted(p.name for p in app.runs_root.iterdir())
        for tab in ("distill", "train", "quickstart"):
            app.action_show(tab)
            await pilot.pause()
            await pilot.press("ctrl+r" if tab == "quickstart" else "ctrl+s")
            assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen)), tab
            assert app.screen.yes in ("Start",)
            await pilot.press("n")
            assert await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        # the palette's "Distill: start" asks too
        await app.run_registered("distill.start")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await pilot.pause()
        assert sorted(p.name for p in app.runs_root.iterdir()) == before
        assert not app.jobs.started and not app.view("quickstart").running


async def test_one_registry_feeds_palette_help_and_footer(tui_app):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        ours = [title(a) for a in ACTIONS if a.id != "app.quit"]
        assert [t for t in titles if t in ours] == ours  # each action once, none by hand
        assert len(set(a.id for a in ACTIONS)) == len(ACTIONS)
        for view_id in ("runs", "distill", "train", "chat"):
            view = app.view(view_id)
            ids = {b.id for b in view.BINDINGS}
            assert ids == {a.id for a in ACTIONS if a.scope == view_id}
            md = view.help_markdown()
            assert all(f"`{a.id}`" in md for a in ACTIONS if a.scope == view_id)


async def test_keys_in_config_remap_by_id_and_unknown_ids_are_named(tui_app, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("keys:\n  tab.chat: ctrl+g\n  distill.pause: f12\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted and app.keymap)
        await pilot.press("ctrl+g")
        assert active(app) == "chat"
        app.action_show("distill")
        assert await wait_until(pilot, lambda: active(app) == "distill")
        assert "`f12` | Pause/resume" in app.view("distill").help_markdown()
    cfg.write_text("keys:\n  distil.pause: f12\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: any("keys.distil.pause" in n.message for n in app._notifications))
        note = next(n.message for n in app._notifications if "keys.distil.pause" in n.message)
        assert "did you mean 'keys.distill.pause'" in note and not app.keymap


async def test_load_in_chat_moves_the_cursor_to_the_question(tui_app, tmp_path):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("chat")
        await pilot.pause()
        model = app.query_one("#chat-model", Input)
        model.focus()
        model.value = str(tmp_path / "no-such-model")
        await pilot.click("#chat-load")
        assert app.query_one("#chat-input", Input).has_focus
        await pilot.press("a")
        assert model.value == str(tmp_path / "no-such-model")
