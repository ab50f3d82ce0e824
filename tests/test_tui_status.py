"""Status you can trust: `stopping…` between a confirmed Stop and the job's end (buttons
off meanwhile), an ETA that stands still while paused, a failed train run's reason in
Train's header and a toast, and Train's form refusing what the CLI would refuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Label

from sqlbench.runs import RunDir
from screens.modals import ConfirmScreen
from tests.fixtures.tui import wait_until
from tests.fixtures.waiting import wait_for

SIZE = (130, 42)

# A stand-in job: SIGTERM is noted (a flag file) but the job keeps going until released,
# as a real one finishing its batch or its step does.
SLOW_TO_STOP = r"""
import os, signal, sys, time
flag, release = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *a: open(flag, "w").close())
open(flag + ".ready", "w").close()
while not os.path.exists(release):
    time.sleep(0.02)
"""


def plain(app, sel) -> str:
    c = app.query_one(sel).content
    return getattr(c, "plain", str(c))


@pytest.mark.timeout(120)
async def test_stop_says_stopping_until_the_job_ends_then_interrupted(tui_app, tui_runs, tmp_path):
    flag, release = tmp_path / "sigterm", tmp_path / "release"
    job = subprocess.Popen([sys.executable, "-c", SLOW_TO_STOP, str(flag), str(release)])
    try:
        run = RunDir.create(tui_runs / "20260104-000000-distill", "distill", {})
        run.update_info(pid=job.pid)  # the run is "running" exactly as long as the stand-in lives
        wait_for(Path(str(flag) + ".ready").exists, "the stand-in job to be ready", 30, proc=job)
        app = tui_app(live=True)
        async with app.run_test(size=SIZE) as pilot:
            assert await wait_until(pilot, lambda: app.views_mounted)
            app.open_run(run.path)
            view = app.view("distill")
            assert await wait_until(pilot, lambda: view.status == "running")
            stop_button = app.query_one("#distill-stop", Button)
            assert not stop_button.disabled
            app.query_one("#distill-table").focus()
            await pilot.press("s")
            assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            # the job has the signal but has not ended: the header says so at once
            assert await wait_until(pilot, lambda: "stopping…" in plain(app, "#distill-run")), plain(app, "#distill-run")
            assert flag.exists() and job.poll() is None
            assert stop_button.disabled and app.query_one("#distill-pause", Button).disabled
            release.touch()
            job.wait(timeout=30)
            assert await wait_until(pilot, lambda: "interrupted" in plain(app, "#distill-run"), timeout=15)
            assert "stopping" not in plain(app, "#distill-run")
            assert any("resume it from Runs" in n.message for n in app._notifications)
    finally:
        release.touch()
        job.wait(timeout=30)



def progress(done: int, total: int, eta: float) -> dict:
    return {"done": done, "total": total, "valid": done, "invalid_by_reason": {}, "failed": 0,
            "samples_per_s": 1.0, "eta_s": eta}


async def test_the_eta_stands_still_while_paused(tui_app, tui_runs):
    run = RunDir.create(tui_runs / "20260105-000000-distill", "distill", {})
    run.update_info(pid=os.getpid())  # this process stands in for the job
    for i in range(3):
        run.append("samples", {"task_id": f"t{i}", "question": "q?", "valid": True,
                               "verdict": {"valid": True, "reason": "ok"}})
    run.event("progress", **progress(3, 12, 18.0))
    app = tui_app(live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(run.path)
        assert await wait_until(pilot, lambda: plain(app, "#distill-eta") == "3/12  ETA 18s"), plain(app, "#distill-eta")
        app.query_one("#distill-table").focus()
        await pilot.press("p")
        assert (run.path / "pause").exists()
        # a paused job's rate decays with every progress event: the screen does not follow it
        run.event("progress", **progress(3, 12, 60.0))
        assert await wait_until(pilot, lambda: plain(app, "#distill-eta") == "3/12  ETA 18s  (paused)"), \
            plain(app, "#distill-eta")
        run.event("progress", **progress(3, 12, 90.0))
        assert not await wait_until(pilot, lambda: "90" in plain(app, "#distill-eta") or
                                    "1m" in plain(app, "#distill-eta"), timeout=1.0)
        assert "ETA" not in plain(app, "#distill-counters")  # nor does the counters line
        await pilot.press("p")
        run.event("progress", **progress(4, 12, 8.0))
        assert await wait_until(pilot, lambda: plain(app, "#distill-eta") == "3/12  ETA 8s"), plain(app, "#distill-eta")
    run.finish()


async def test_a_failed_train_run_says_why_in_its_header_and_a_toast(tui_app, tui_runs):
    run = RunDir.create(tui_runs / "20260106-000000-train", "train", {})
    run.finish("failed", error="Traceback (most recent call last):\n  ...\n"
                               "sqlbench.errors.DatasetError: runs/x: need at least 2 tasks, got 0")
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(run.path)
        assert await wait_until(pilot, lambda: "failed" in plain(app, "#train-run"))
        assert "need at least 2 tasks, got 0" in plain(app, "#train-run")
        assert "Traceback" not in plain(app, "#train-run")  # the last line says the most
        assert await wait_until(pilot, lambda: any("need at least 2 tasks" in n.message and n.severity == "error"
                                                   for n in app._notifications))
        assert app.query_one("#train-stop", Button).disabled


async def test_train_form_refuses_what_the_cli_would_and_outlines_the_field(tui_app, tmp_path):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("train")
        await pilot.pause()
        before = set(app.runs_root.iterdir())
        steps = app.query_one("#train-max-steps", Input)
        assert steps.border_title == "max steps"  # labelled
        steps.value = "-3"
        await pilot.click("#train-start")
        assert steps.has_class("field-error")
        assert await wait_until(pilot, lambda: any("max-steps" in n.message or "max_steps" in n.message
                                                   for n in app._notifications))
        steps.value = "4"
        dataset = app.query_one("#train-dataset-repo-id", Input)
        dataset.value = "1"  # a stray digit is not a Hub dataset
        await pilot.click("#train-start")
        assert dataset.has_class("field-error") and not steps.has_class("field-error")
        dataset.value = ""
        accum = app.query_one("#train-gradient-accumulation-steps", Input)
        accum.value = "zero"
        await pilot.click("#train-start")
        assert accum.has_class("field-error")
        accum.value = "1"
        dropout = app.query_one("#train-lora-dropout", Input)
        dropout.value = "1.5"
        await pilot.click("#train-start")
        assert dropout.has_class("field-error")
        model = app.query_one("#train-model", Input)
        dropout.value = "0.05"
        model.value = str(tmp_path / "no-such-model")
        await pilot.click("#train-start")
        assert model.has_class("field-error") and not dropout.has_class("field-error")
        assert set(app.runs_root.iterdir()) == before  # nothing was started
        assert str(app.query_one("#train-run", Label).content).startswith("No run attached")


async def test_a_long_start_question_wraps_instead_of_being_cut(tui_app, tmp_path):
    app = tui_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.action_show("distill")
        await pilot.pause()
        app.query_one("#distill-base-url", Input).value = "http://127.0.0.1:8000/" + "a-rather-long-path/" * 4 + "v1"
        app.query_one("#distill-limit", Input).value = "7"
        app.query_one("#distill-table").focus()
        await pilot.press("ctrl+s")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.query_one("#confirm-question", Label)
        await pilot.pause()
        assert question.region.height >= 2  # wrapped
        assert question.region.width <= app.screen.query_one("#confirm").region.width
        assert "limit=7" in str(question.content)
        assert "base_url=http://127.0.0.1:8000/a-rather-long-path/" in str(question.content)  # a per-run teacher URL
        await pilot.press("n")


async def test_runs_buttons_follow_the_selected_run_and_each_status_has_its_colour(tui_app, tui_runs):
    from textual.widgets import DataTable

    from screens.widgets.badge import RUN_STYLES
    from tests.fixtures.tui import FINISHED_DISTILL, INTERRUPTED_DISTILL

    styles = [RUN_STYLES[s] for s in ("running", "finished", "failed", "interrupted", "stopping…")]
    assert len(set(styles)) == len(styles)  # a failed run never looks finished
    failed = RunDir.create(tui_runs / "20260109-000000-train", "train", {})
    failed.finish("failed", error="ValueError: --max-steps must be at least 1")
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        view = app.view("runs")
        table = app.query_one("#runs-table", DataTable)
        assert await wait_until(pilot, lambda: table.row_count == 4 and app.query("#runs-resume"))

        def select(run_id: str) -> None:
            table.move_cursor(row=list(view.rows).index(run_id))

        def buttons() -> tuple[bool, bool]:
            return (not app.query_one("#runs-resume", Button).disabled, not app.query_one("#runs-stop", Button).disabled)

        select(INTERRUPTED_DISTILL)
        assert await wait_until(pilot, lambda: buttons() == (True, False))
        select(FINISHED_DISTILL)
        assert await wait_until(pilot, lambda: buttons() == (False, False))
        select(failed.id)
        assert await wait_until(pilot, lambda: buttons() == (False, False))
        row = table.get_row(failed.id)
        assert str(row[2].style) == RUN_STYLES["failed"] and "--max-steps must be at least 1" in row[4].plain
        assert str(table.get_row(INTERRUPTED_DISTILL)[2].style) == RUN_STYLES["interrupted"]
