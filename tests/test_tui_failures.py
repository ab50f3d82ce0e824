"""Failures in sight: a job that dies before its run.json is still a run (failed, with its
error), forms refuse what the CLI would refuse before spending a process on it, and a
failed run says why on its own screen."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.widgets import DataTable, Input, Label, Select

from sqlbench.runs.jobs import JobManager, pending_status, settle
from sqlbench.runs.summary import summarize
from sqlbench.runs import RunDir
from tests.fixtures.tui import wait_until

SIZE = (130, 42)


def plain(widget) -> str:
    c = widget.content
    return getattr(c, "plain", str(c))


def test_a_job_that_dies_before_run_json_is_recorded_failed_with_its_last_line(tmp_path):
    jobs = JobManager(tmp_path / "runs")
    job = jobs.start("distill", ["--dataset-repo-id", str(tmp_path / "missing.jsonl")])
    assert job.process.wait(timeout=60) == 2
    assert not RunDir(job.run_path).exists()
    assert pending_status(job.run_path) == "failed"
    # a reader that never saw the process (another workbench, the next start) settles it
    brief = summarize(job.run_path)
    assert brief["status"] == "failed" and brief["kind"] == "distill"
    assert brief["error"] == f"sqlbench distill: error: no such file or folder: {tmp_path / 'missing.jsonl'}"
    info = RunDir(job.run_path).info()
    assert info["status"] == "failed" and "distill" in info["argv"]
    assert settle(job.run_path) is None  # once only


def test_a_starting_job_is_listed_and_a_stopped_start_is_interrupted(tmp_path):
    import subprocess

    from sqlbench.runs.jobs import record_launch

    def launch(name: str) -> tuple[Path, subprocess.Popen]:
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        (run / "stdout.log").write_text("loading torch…\nTraceback (most recent call last):\nMemoryError: boom\n")
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        record_launch(run, "train", ["sqlbench", "train", "--run-dir", str(run)], proc.pid)
        return run, proc

    run, proc = launch("stopped")
    try:
        assert pending_status(run) == "starting" and summarize(run)["status"] == "starting"
        assert settle(run) is None  # still alive: nothing to settle
    finally:
        proc.terminate()
        proc.wait()
    assert settle(run, proc.returncode) == "interrupted"
    assert RunDir(run).info()["error"] is None
    run, proc = launch("killed")
    proc.kill()
    proc.wait()
    assert settle(run, proc.returncode) == "failed"
    assert RunDir(run).info()["error"] == "MemoryError: boom"


async def test_failed_start_shows_on_distill_runs_and_as_a_toast(tui_app, tmp_path):
    app = tui_app(live=True)
    toasts: list[tuple[str, str]] = []  # every toast raised, also ones that expired already
    notify = app.notify
    app.notify = lambda message, *a, **kw: (toasts.append((str(message), kw.get("severity", ""))),
                                            notify(message, *a, **kw))[1]
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        # what a script or an older form could still send: the CLI refuses it
        job = app.start_job("distill", ["--limit", "0"])
        view = app.view("distill")
        view.attach(job.run_path)
        assert await wait_until(pilot, lambda: view.status == "failed", timeout=60)
        header = plain(app.query_one("#distill-run", Label))
        assert "failed" in header and "--limit must be greater than or equal to 1" in header
        assert any("--limit" in message and severity == "error" for message, severity in toasts), toasts
        assert app.query_one("#distill-stop").disabled and app.query_one("#distill-pause").disabled
        app.action_show("runs")
        runs = app.view("runs")
        assert await wait_until(pilot, lambda: runs.rows.get(job.run_path.name, {}).get("status") == "failed")
        table = app.query_one("#runs-table", DataTable)
        row = table.get_row(job.run_path.name)
        assert "--limit must be greater than or equal to 1" in str(getattr(row[4], "plain", row[4]))


async def test_distill_form_refuses_bad_fields_and_highlights_them(tui_app, tmp_path):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("distill")
        await pilot.pause()
        before = set(app.runs_root.iterdir())
        dataset = app.query_one("#distill-dataset-repo-id", Input)
        dataset.value = "./nowhere/tasks.jsonl"
        await pilot.click("#distill-start")
        assert dataset.has_class("field-error") and dataset.has_focus
        assert any("no such file or folder" in n.message for n in app._notifications)
        dataset.value = "1"  # a stray digit is not a Hub dataset
        await pilot.click("#distill-start")
        assert dataset.has_class("field-error")
        dataset.value = ""
        model = app.query_one("#distill-model", Input)
        model.value = str(tmp_path / "no-such-model")
        await pilot.click("#distill-start")
        assert model.has_class("field-error") and not dataset.has_class("field-error")
        assert set(app.runs_root.iterdir()) == before  # nothing was started
        assert app.query_one("#distill-model", Input).border_title == "model"


async def test_an_unknown_provider_in_config_is_shown_and_refused(tui_app, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("distill:\n  provider: Foo\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        assert app.query_one("#distill-provider", Select).value == "Foo"
        app.action_show("distill")
        await pilot.pause()
        await pilot.click("#distill-start")
        assert app.query_one("#distill-provider", Select).has_class("field-error")
        assert any("unknown provider 'Foo'" in n.message for n in app._notifications)


async def test_config_names_an_unknown_provider_instead_of_showing_another(tui_app, tmp_path):
    from textual.widgets import Static

    cfg = tmp_path / "config.yaml"
    cfg.write_text("distill:\n  provider: Foo\n  limit: 5\n")
    app = tui_app(config_path=str(cfg))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("config")
        await pilot.pause()
        provider = app.query_one("#cfg-distill-provider", Select)
        assert provider.value == "Foo" and provider.has_class("field-error")
        status = str(app.query_one("#config-status", Static).content)
        assert "unknown provider 'Foo'" in status and "distill.provider" in status
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "unknown provider 'Foo'" in str(app.query_one("#config-status", Static).content)
        provider.value = "OpenAI"
        app.query_one("#cfg-distill-limit", Input).value = "0"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not provider.has_class("field-error")
        assert app.query_one("#cfg-distill-limit", Input).has_class("field-error")
