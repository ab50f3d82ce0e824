"""Details in reach: Rejected follows a live run, its reason filter counts and resets per
run, results have headers, the sample view leads with what decides the verdict,
``unverified`` stands apart from ``mismatch``, and Chat's sampling is on screen."""

from __future__ import annotations

import json
import os

from textual.widgets import Collapsible, DataTable, Input, Select

from screens.widgets.counters import counters_text
from screens.widgets.sql_diff import SampleDetail
from sqlbench.runs import RunDir
from tests.fixtures.tui import FINISHED_DISTILL, wait_until

SIZE = (130, 42)


def plain(widget) -> str:
    from rich.console import Console

    c = widget.content
    if hasattr(c, "plain"):
        return c.plain
    console = Console(width=200, record=True, color_system=None)
    with console.capture() as cap:
        console.print(c)
    return cap.get()


def sample(i: int, reason: str | None) -> dict:
    valid = reason is None
    return {"task_id": f"live-{i}", "question": f"Question {i}?", "context": "CREATE TABLE t (a INT);",
            "gold_sql": "SELECT a FROM t", "sql": "" if reason == "format" else "SELECT a FROM t",
            "valid": valid, "verdict": {"valid": valid, "reason": reason or "ok", "detail": reason or ""}}


async def test_rejected_follows_a_live_run_and_resets_its_filter_per_run(tui_app, tui_runs):
    run = RunDir.create(tui_runs / "20260102-000000-distill", "distill", {})
    run.update_info(pid=os.getpid())  # this process stands in for the job: the run stays "running"
    for i, reason in enumerate(("mismatch", None, "format")):
        run.append("samples", sample(i, reason))
    app = tui_app(live=True)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_rejected(run.path)
        table = app.query_one("#rejected-table", DataTable)
        assert await wait_until(pilot, lambda: table.row_count == 2)
        for i, reason in enumerate(("unverified", None, "mismatch"), start=3):
            run.append("samples", sample(i, reason))
        assert await wait_until(pilot, lambda: table.row_count == 4, timeout=15)  # followed, not reloaded by hand
        reason = app.query_one("#rejected-reason", Select)
        labels = [str(p) for p, _ in reason._options if str(p)]
        assert "mismatch (2)" in labels and "unverified (1)" in labels and "format (1)" in labels
        assert labels[0] == "mismatch (2)"  # the commonest first
        reason.value = "unverified"
        assert await wait_until(pilot, lambda: table.row_count == 1)
        app.query_one("#rejected-search", Input).value = "Question"
        # another run: the filter and search start afresh
        app.open_rejected(tui_runs / FINISHED_DISTILL)
        assert await wait_until(pilot, lambda: table.row_count == 7)
        assert reason.is_blank() and app.query_one("#rejected-search", Input).value == ""
    run.finish()


async def test_sample_view_leads_with_question_sql_and_verdict(tui_app, tui_runs):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_rejected(tui_runs / FINISHED_DISTILL)
        table = app.query_one("#rejected-table", DataTable)
        assert await wait_until(pilot, lambda: table.row_count == 7)
        app.query_one("#rejected-reason", Select).value = "mismatch"
        assert await wait_until(pilot, lambda: table.row_count == 2)
        detail = app.query_one("#rejected-detail", SampleDetail)
        ids = [w.id for w in detail.query("*") if w.id and w.id.startswith("sd-")]
        assert ids.index("sd-question") < ids.index("sd-candidate") < ids.index("sd-detail") < ids.index("sd-think") \
            < ids.index("sd-schema")
        assert detail.query_one("#sd-schema-box", Collapsible).collapsed
        got = plain(detail.query_one("#sd-got"))
        assert "name" in got.splitlines()[1] or "name" in got  # a header named after the SELECT
        app.query_one("#rejected-reason", Select).value = "format"
        assert await wait_until(pilot, lambda: table.row_count == 1)
        assert "no SQL found" in plain(detail.query_one("#sd-candidate"))


def test_unverified_has_its_own_colour_and_counter():
    from screens.widgets.badge import STYLES

    assert STYLES["unverified"] not in (STYLES["mismatch"], STYLES["valid"])
    text = counters_text({"valid": 2, "unverified": 3, "invalid": 1, "invalid_by_reason": {"mismatch": 1},
                          "failed": 0}).plain
    assert "unverified 3" in text and "mismatch 1" in text


async def test_chat_sampling_fields_greedy_by_default_and_checked(tui_app):
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        chat = app.view("chat")
        temp = app.query_one("#chat-temperature", Input)
        assert temp.value == "0" and temp.border_title == "temperature"
        assert app.query_one("#chat-max-tokens", Input).value == str(app.settings.chat.max_new_tokens)
        s = chat.sampling()
        assert s.temperature == 0.0
        app.query_one("#chat-max-tokens", Input).value = "64"
        temp.value = "0.8"
        s = chat.sampling()
        assert (s.temperature, s.chat.max_new_tokens) == (0.8, 64)
        app.query_one("#chat-max-tokens", Input).value = "0"
        assert chat.sampling() is None
        assert app.query_one("#chat-max-tokens", Input).has_class("field-error")
        assert await wait_until(pilot, lambda: any("max-new-tokens" in n.message for n in app._notifications))


def test_load_of_a_process_tree_and_competing_jobs():
    import subprocess
    import sys

    from sqlbench import sysload

    code = "import time\nt = time.time()\nwhile time.time() - t < 30: pass"
    busy = subprocess.Popen([sys.executable, "-c", code])
    try:
        sampler = sysload.LoadSampler()
        first = sampler.sample(busy.pid)
        assert first is not None and first.cpu_percent is None and first.rss_bytes > 1_000_000
        import time

        deadline = time.monotonic() + 10
        load = sampler.sample(busy.pid)
        while (load.cpu_percent or 0) < 20 and time.monotonic() < deadline:  # a busy loop shows as busy
            load = sampler.sample(busy.pid)
        assert load.cpu_percent >= 20 and load.cores
        assert busy.pid in sysload.descendants(os.getppid()) or busy.pid in sysload.descendants(os.getpid())
    finally:
        busy.kill()
        busy.wait()
    assert sampler.sample(busy.pid) is None  # gone: no reading, no error
    assert sysload.fmt_bytes(1536 * 1024 * 1024) == "1.5 GB"


async def test_the_load_line_shows_a_running_jobs_cpu_and_rss(tui_app, tui_runs):
    import subprocess
    import sys

    from screens.widgets.load import LoadLine

    run = RunDir.create(tui_runs / "20260103-000000-distill", "distill", {})
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run.update_info(pid=proc.pid)
    try:
        app = tui_app(live=True)
        async with app.run_test(size=SIZE) as pilot:
            assert await wait_until(pilot, lambda: app.views_mounted)
            app.open_run(run.path)
            line = app.query_one("#distill-load", LoadLine)
            assert await wait_until(pilot, lambda: "rss" in line.last.plain and "%" in line.last.plain, timeout=15)
            assert "cpu" in line.last.plain and "core" in line.last.plain
    finally:
        proc.kill()
        proc.wait()
        run.finish()


def test_two_busy_jobs_on_the_same_core_are_named_as_competing():
    import subprocess
    import sys
    import time

    from sqlbench import sysload

    code = "import time\nt = time.time()\nwhile time.time() - t < 30: pass"
    # argv as a `sqlbench train` job shows it (the process itself just spins)
    jobs = [subprocess.Popen(["bash", "-c", f'exec -a sqlbench {sys.executable} -c "{code}" train'])
            for _ in range(2)]
    try:
        for j in jobs:
            os.sched_setaffinity(j.pid, {0})
        assert await_jobs(lambda: all(p.pid in sysload.sqlbench_jobs() for p in jobs))
        sampler = sysload.LoadSampler()
        found: list = []
        deadline = time.monotonic() + 15
        while not found and time.monotonic() < deadline:
            found = [c for c in sysload.competitors(jobs[0].pid, sampler, busy=10) if c.pid == jobs[1].pid]
        assert found and found[0].command == "train"
    finally:
        for j in jobs:
            j.kill()
            j.wait()


def await_jobs(cond, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
    return cond()


async def test_an_answer_without_think_or_sql_shows_what_the_teacher_wrote(tui_app, tui_runs):
    run = RunDir.create(tui_runs / "20260107-000000-distill", "distill", {})
    rec = sample(0, "format")
    rec.update(completion="<think>\nGroups products to rows whose FROM shipments\n</sql>", think="", sql="",
               latency_s=27.0849, attempts=1)
    run.append("samples", rec)
    run.finish()
    app = tui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_rejected(run.path)
        table = app.query_one("#rejected-table", DataTable)
        assert await wait_until(pilot, lambda: table.row_count == 1)
        detail = app.query_one("#rejected-detail", SampleDetail)
        assert await wait_until(pilot, lambda: "raw answer" in plain(detail.query_one("#sd-think")))
        assert "Groups products to rows" in plain(detail.query_one("#sd-think"))
        assert "no SQL found" in plain(detail.query_one("#sd-candidate"))
        assert "latency 27.08s" in plain(detail.query_one("#sd-head"))


FAKE_NVIDIA_SMI = """#!/bin/sh
# nvidia-smi as a machine with two GPUs answers (this one has none)
case "$1" in
  --query-gpu=*) printf '0, GPU-aaa, 87, 10240, 24576\\n1, GPU-bbb, 3, 512, 24576\\n' ;;
  --query-compute-apps=*) cat "$FAKE_GPU_APPS" ;;
esac
"""


def fake_gpu(tmp_path, monkeypatch, apps: list[tuple[str, int]]):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "nvidia-smi"
    exe.write_text(FAKE_NVIDIA_SMI)
    exe.chmod(0o755)
    listing = tmp_path / "gpu-apps.csv"
    listing.write_text("".join(f"{uuid}, {pid}\n" for uuid, pid in apps))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GPU_APPS", str(listing))


def idle_job(command: str):
    """A process whose argv reads as a `sqlbench <command>` job (it only sleeps)."""
    import subprocess
    import sys

    return subprocess.Popen(["bash", "-c", f'exec -a sqlbench {sys.executable} -c "import time; time.sleep(60)" '
                                           f'{command}'])


async def test_gpu_load_and_a_job_sharing_the_gpu_are_shown(tui_app, tui_runs, tmp_path, monkeypatch):
    from screens.widgets.load import LoadLine
    from sqlbench import sysload

    ours, rival, elsewhere = idle_job("distill"), idle_job("train"), idle_job("eval")
    try:
        fake_gpu(tmp_path, monkeypatch, [("GPU-aaa", ours.pid), ("GPU-aaa", rival.pid), ("GPU-bbb", elsewhere.pid)])
        assert await_jobs(lambda: {ours.pid, rival.pid, elsewhere.pid} <= set(sysload.sqlbench_jobs()))
        gpus = sysload.gpu_load()
        assert [(g.index, g.util_percent, g.used_mb, g.total_mb) for g in gpus] == [(0, 87, 10240, 24576),
                                                                                   (1, 3, 512, 24576)]
        assert gpus[0].pids == {ours.pid, rival.pid} and gpus[1].pids == {elsewhere.pid}
        found = sysload.gpu_competitors(ours.pid, gpus)
        assert [(i, c.pid, c.command) for i, c in found] == [(0, rival.pid, "train")]  # not the one on gpu1
        run = RunDir.create(tui_runs / "20260108-000000-distill", "distill", {})
        run.update_info(pid=ours.pid)
        app = tui_app(live=True)
        async with app.run_test(size=(200, 42)) as pilot:
            assert await wait_until(pilot, lambda: app.views_mounted)
            app.open_run(run.path)
            line = app.query_one("#distill-load", LoadLine)
            assert await wait_until(pilot, lambda: "shares the GPU" in line.last.plain, timeout=15), line.last.plain
            text = line.last.plain
            assert "gpu0 87% 10.0/24 GB" in text and "gpu1 3% 0.5/24 GB" in text
            on_gpu = text.split("shares the GPU")[1]
            assert f"train (pid {rival.pid}) on gpu0" in on_gpu and str(elsewhere.pid) not in on_gpu
            # sleeping jobs take no CPU: never named as sharing the cores (other helpers' busy jobs may be)
            assert all(str(p.pid) not in text.split("shares the GPU")[0] for p in (rival, elsewhere))
        run.finish()
    finally:
        for p in (ours, rival, elsewhere):
            p.kill()
            p.wait()


def test_without_nvidia_smi_there_is_no_gpu_reading(tmp_path, monkeypatch):
    from sqlbench import sysload

    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi anywhere
    assert sysload.gpu_load() == [] and sysload.gpu_competitors(os.getpid(), []) == []
