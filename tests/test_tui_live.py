"""The workbench driving real jobs: a distillation against the loopback teacher started
from the Distill screen (pause, stop, resume), and attaching to a run the CLI started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Label, Select

from sqlbench.runs import RunDir
from screens.modals import ConfirmScreen
from screens.widgets.counters import Counters
from screens.widgets.sample_table import SampleTable
from tests.fixtures.tui import wait_until
from tests.fixtures.waiting import wait_for

SIZE = (130, 42)
WRONG_Q = "Find customers whose email address is hosted at mailbox.org."
MALFORMED_Q = "How many orders are there in each status?"
FAILING_Q = "Which products are out of stock right now?"


def write_config(tmp_path: Path, teacher, **distill) -> Path:
    opts = {"provider": "OpenAI", "model": "loopback-teacher", "batch_size": 2, "retries": 0, "limit": 12,
            "request_timeout": 10, **distill}
    lines = [f"base_url: {teacher.base_url}", "distill:"] + [f"  {k}: {v}" for k, v in opts.items()]
    cfg = tmp_path / "config.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def label(app, sel) -> str:
    c = app.query_one(sel, Label).content
    return getattr(c, "plain", str(c))


def counters(app) -> str:
    return app.query_one(Counters).content.plain


@pytest.mark.timeout(120)
async def test_distill_started_from_the_screen_streams_verdicts(tui_app, tmp_path, loopback_teacher):
    loopback_teacher.latency = 0.05
    loopback_teacher.inject("wrong", times=None, match=WRONG_Q)
    loopback_teacher.inject("malformed", times=None, match=MALFORMED_Q)
    loopback_teacher.inject("500", times=None, match=FAILING_Q)
    cfg = write_config(tmp_path, loopback_teacher)
    app = tui_app(config_path=str(cfg), live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("3")
        view = app.view("distill")
        assert app.query_one("#distill-provider", Select).value == "OpenAI"
        assert app.query_one("#distill-limit", Input).value == "12"
        await pilot.click("#distill-start")
        table = app.query_one(SampleTable)
        assert await wait_until(pilot, lambda: view.run_path is not None and view.status == "finished"
                                and table.row_count == 12, timeout=90), (label(app, "#distill-run"),
                                                                         (view.run_path / "stdout.log").read_text())
        text = counters(app)
        assert "valid 9" in text and "invalid 2" in text and "mismatch 1" in text and "format 1" in text
        assert "failed 1" in text
        assert label(app, "#distill-eta", ) == "12/12"
        run = RunDir(view.run_path)
        assert run.status == "finished" and run.path.parent == app.runs_root
        assert "distill" in run.info()["argv"]
        # the refused ones on Rejected
        await pilot.press("x")
        assert app.query_one("#tabs").active == "rejected"
        rej = app.query_one("#rejected-table", DataTable)
        assert await wait_until(pilot, lambda: rej.row_count == 3)
        verdicts = sorted(str(rej.get_row_at(i)[2]) for i in range(3))
        assert verdicts == ["failed", "format", "mismatch"]
        # and on Runs, finished, once the list refreshes
        await pilot.press("1")
        runs = app.query_one("#runs-table", DataTable)
        assert await wait_until(pilot, lambda: run.id in app.view("runs").rows
                                and app.view("runs").rows[run.id]["status"] == "finished", timeout=10)


def _event(run: RunDir, type_: str, nth: int = 1) -> dict | None:
    found = [e for e in run.read("events") if e["type"] == type_]
    return found[nth - 1] if len(found) >= nth else None


@pytest.mark.timeout(150)
async def test_pause_stop_resume_and_jobs_outlive_the_ui(tui_app, tmp_path, loopback_teacher):
    """The teacher holds its answers whenever the job must still be busy at the next step
    (pause, stop, quit): every wait is on an event, however slow the machine."""
    loopback_teacher.latency = 0.05
    loopback_teacher.hold_completions()
    cfg = write_config(tmp_path, loopback_teacher, batch_size=1, limit=14)
    app = tui_app(config_path=str(cfg), live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("3")
        view = app.view("distill")
        table = app.query_one(SampleTable)
        await pilot.click("#distill-start")
        # the first request is in flight (held): pause now, then let it land
        assert await wait_until(pilot, lambda: loopback_teacher.count() >= 1, timeout=60)
        table.focus()
        await pilot.press("p")
        assert (view.run_path / "pause").exists()
        loopback_teacher.release_completions()
        assert await wait_until(pilot, lambda: "paused" in label(app, "#distill-run"))
        assert str(app.query_one("#distill-pause", Button).label) == "Resume"
        run = RunDir(view.run_path)
        assert await wait_until(pilot, lambda: _event(run, "paused"), timeout=30)
        # the request in flight (batch size 1) lands: every request the teacher got is a sample
        assert await wait_until(pilot, lambda: run.count("samples") == loopback_teacher.count(), timeout=30)
        held = run.count("samples")
        assert held < 14
        assert await wait_until(pilot, lambda: table.row_count == held)
        # resumed, it asks again; its next answer is held so that Stop lands while it runs
        loopback_teacher.hold_completions()
        await pilot.press("p")
        assert not (view.run_path / "pause").exists()
        assert await wait_until(pilot, lambda: _event(run, "resumed") and loopback_teacher.count() > held,
                                timeout=20)
        # nothing was asked while paused: every request came before the pause or after the resume
        paused_t, resumed_t = _event(run, "paused")["t"], _event(run, "resumed")["t"]
        assert [r for r in loopback_teacher.completions() if paused_t + 0.001 < r.t < resumed_t - 0.001] == []
        # stop asks first; "no" keeps it running
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert RunDir(view.run_path).status == "running"
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("y")
        assert await wait_until(pilot, lambda: view.run_path in app.stopping)  # SIGTERM sent
        loopback_teacher.release_completions()  # the answer in flight lands, then the job ends
        assert await wait_until(pilot, lambda: view.status == "interrupted", timeout=30), \
            (view.status, RunDir(view.run_path).info(), (view.run_path / "stdout.log").read_text()[-800:])
        assert await wait_until(pilot, lambda: table.row_count > held)
        stopped_at = table.row_count
        assert stopped_at < 14
        assert "interrupted" in label(app, "#distill-run")
        assert app.query_one("#distill-stop", Button).disabled and app.query_one("#distill-pause", Button).disabled
        # resume from Runs: same run dir, the rest of the tasks (held until the UI is gone)
        loopback_teacher.hold_completions()
        await pilot.press("1")
        runs_view = app.view("runs")
        assert await wait_until(pilot, lambda: runs_view.rows.get(view.run_path.name, {}).get("status")
                                == "interrupted", timeout=10)
        rt = app.query_one("#runs-table", DataTable)
        rt.move_cursor(row=list(runs_view.rows).index(view.run_path.name))
        await pilot.press("r")  # resuming starts a job: it asks first
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_until(pilot, lambda: app.query_one("#tabs").active == "distill")
        assert await wait_until(pilot, lambda: RunDir(view.run_path).status == "running", timeout=20)
        job = app.jobs.running_started_here()[0]
        # quitting asks, and the job keeps running after the UI is gone
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
    assert job.process.poll() is None, "closing the UI must not stop a job"
    loopback_teacher.release_completions()
    assert job.process.wait(timeout=60) == 0
    run = RunDir(job.run_path)
    assert run.status == "finished"
    ids = [r["task_id"] for r in run.read("samples")]
    assert len(ids) == len(set(ids)) == 14  # resumed: nothing lost, nothing twice


@pytest.mark.timeout(120)
async def test_attach_to_a_run_started_by_the_cli(tui_app, tmp_path, tui_runs, loopback_teacher):
    loopback_teacher.latency = 0.1
    cfg = write_config(tmp_path, loopback_teacher, batch_size=1, limit=10)
    run_dir = tui_runs / "cli-distill"
    run_dir.mkdir()
    (run_dir / "pause").touch()  # held until the UI resumes it, however slow the machine
    proc = subprocess.Popen([sys.executable, "-m", "sqlbench", "--config", str(cfg), "distill", "--run-dir",
                             str(run_dir)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (run_dir / "run.json").exists(), "the CLI job's run.json", proc=proc)
        app = tui_app(config_path=str(cfg), live=True)
        async with app.run_test(size=SIZE) as pilot:
            assert await wait_until(pilot, lambda: app.views_mounted)
            runs_view = app.view("runs")
            assert await wait_until(pilot, lambda: "cli-distill" in runs_view.rows, timeout=15)
            assert runs_view.rows["cli-distill"]["status"] == "running"
            rt = app.query_one("#runs-table", DataTable)
            rt.move_cursor(row=list(runs_view.rows).index("cli-distill"))
            await pilot.press("enter")
            view = app.view("distill")
            assert view.run_path == run_dir
            table = app.query_one(SampleTable)
            assert await wait_until(pilot, lambda: "paused" in label(app, "#distill-run"), timeout=15)
            assert table.row_count == 0
            table.focus()
            await pilot.press("p")  # resume the CLI's job from here
            assert await wait_until(pilot, lambda: view.status == "finished" and table.row_count == 10, timeout=60)
            assert "valid 10" in counters(app)
            assert not app.jobs.started  # attached, not started here: quit does not ask
            await pilot.press("ctrl+q")
            await pilot.pause()
        assert not app.is_running
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
