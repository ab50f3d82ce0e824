"""The Config screen: engine-worded errors, comment-preserving saves, secrets kept in .env."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.widgets import Input, Select, Static

from tests.fixtures.tui import wait_until

SIZE = (130, 42)
TEMPLATE = Path(__file__).resolve().parents[1] / "template.config.yaml"


def status(app) -> str:
    return str(app.query_one("#config-status", Static).content)


async def test_bad_values_show_the_engines_message_and_save_nothing(tui_app, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("distill:\n  limit: 10   # tasks\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("2")
        app.query_one("#cfg-distill-limit", Input).value = "lots"
        await pilot.press("ctrl+s")
        await pilot.pause()
        # exactly what `sqlbench` prints for that file
        from sqlbench.config import load_settings
        from sqlbench.errors import ConfigError

        bad = tmp_path / "bad" / "config.yaml"
        bad.parent.mkdir()
        bad.write_text("distill:\n  limit: lots\n")
        try:
            load_settings(bad)
        except ConfigError as e:
            expected = str(e).replace(str(bad), str(cfg))
        assert status(app) == expected
        assert "'distill.limit' must be an integer" in expected
        assert app.query_one("#config-status").has_class("error")
        assert cfg.read_text() == "distill:\n  limit: 10   # tasks\n"  # untouched
        app.query_one("#cfg-distill-limit", Input).value = "0"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "distill.limit" in status(app) and "greater than or equal to 1" in status(app)
        app.query_one("#cfg-train-reward_weights", Input).value = "[1, 2]"
        app.query_one("#cfg-distill-limit", Input).value = "5"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "'train.reward_weights' must be a mapping" in status(app)


async def test_save_edits_only_changed_keys_keeping_comments(tui_app, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(TEMPLATE.read_text())
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("2")
        app.query_one("#cfg-distill-limit", Input).value = "7"
        app.query_one("#cfg-distill-provider", Select).value = "OpenAI"
        app.query_one("#cfg-train-reward_weights", Input).value = "{execution: 3.0}"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert status(app).startswith("saved 3 setting(s)")
    before, after = TEMPLATE.read_text().splitlines(), cfg.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 3
    assert all(a.split(":")[0] == b.split(":")[0] for a, b in changed)
    assert any("# OpenAI | Groq" in b for _, b in changed)  # its comment survived
    data = yaml.safe_load(cfg.read_text())
    assert data["distill"]["limit"] == 7 and data["distill"]["provider"] == "OpenAI"
    assert data["train"]["reward_weights"] == {"execution": 3.0}
    assert app.settings.distill.limit == 7  # the app now uses the saved settings


async def test_secrets_are_masked_and_written_to_env_only(tui_app, tmp_path):
    env = tmp_path / ".env"
    env.write_text("API_KEY=sk-live-abcdef123456\n")
    app = tui_app(env_file=str(env))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("2")
        api = app.query_one("#secret-API_KEY", Input)
        assert api.value == "" and api.password
        assert "set" in api.placeholder and "abcdef" not in api.placeholder
        hf = app.query_one("#secret-HF_TOKEN", Input)
        assert hf.placeholder.startswith("not set")
        hf.value = "hf_secret_token_value"
        app.query_one("#cfg-distill-limit", Input).value = "3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "1 secret(s)" in status(app)
        shown = app.export_screenshot()
    cfg = (tmp_path / "config.yaml").read_text()
    assert "hf_secret" not in cfg and "sk-live" not in cfg
    assert "HF_TOKEN=hf_secret_token_value" in env.read_text()
    assert "API_KEY=sk-live-abcdef123456" in env.read_text()
    assert "hf_secret" not in shown and "sk-live" not in shown
    assert env.stat().st_mode & 0o077 == 0


async def test_broken_config_opens_with_the_error_shown(tui_app, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("distill:\n  limt: 3\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        assert await wait_until(pilot, lambda: "did you mean 'distill.limit'" in status(app))
        assert any("did you mean" in str(n.message) for n in app._notifications)
