"""The first frame of `sqlbench` comes up without torch & co., and `sqlbench` with no
command opens the workbench."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "vllm", "ray", "accelerate")

PROBE = r"""
import asyncio, json, sys
from sqlbench.cli import build_parser
from screens.app import SqlbenchApp

args = build_parser().parse_args([])   # what `sqlbench` alone parses to
async def main():
    app = SqlbenchApp(config_path=args.config, env_file=args.env_file, runs_dir=sys.argv[1], live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = app.query_one("#tabs").active, app.query_one("#runs-table").row_count
        while not app.views_mounted:  # leave once the other tabs are built (teardown mid-mount raises)
            await pilot.pause(0.05)
    return shown
tab, rows = asyncio.run(main())
print(json.dumps({"tab": tab, "heavy": sorted(m for m in %r if m in sys.modules)}))
"""


def test_first_frame_imports_no_heavy_library(tui_runs, tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), str(tui_runs)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"tab": "runs", "heavy": []}


def test_sqlbench_without_a_command_opens_the_workbench_in_a_terminal(tui_runs, tmp_path):
    """The real console command on a pseudo-terminal: the tabs draw, ctrl+q quits cleanly."""
    import os
    import pty
    import re
    import select
    import time
    from pathlib import Path

    exe = Path(sys.executable).with_name("sqlbench")
    (tmp_path / "config.yaml").write_text(f"runs_dir: {tui_runs}\n")
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen([str(exe)], cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 60
        plain = ""
        while time.monotonic() < deadline and "20260101-130000-train" not in plain:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
                plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", "replace"))
        assert "Quickstart" in plain and "Rejected" in plain, plain[-2000:]
        assert "20260101-130000-train" in plain  # the runs folder from config.yaml, listed
        os.write(master, b"\x11")  # ctrl+q
        # keep reading: a terminal nobody reads fills up and blocks the app's last writes
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_the_app_finds_its_runs_folder_without_validating_settings(tmp_path):
    """Validation (pydantic) waits until after the first frame; runs_dir is peeked from config.yaml."""
    (tmp_path / "config.yaml").write_text("runs_dir: elsewhere\n")
    code = ("import sys; from sqlbench.cli import build_parser; from screens.app import SqlbenchApp\n"
            "a = build_parser().parse_args([])\n"
            "app = SqlbenchApp(config_path=a.config, env_file=a.env_file)\n"
            "print(app.runs_root, 'pydantic' in sys.modules)\n"
            "app.settings\n"
            "print('pydantic' in sys.modules)\n")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SQLBENCH_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["elsewhere", "False", "True"]


READY_PROBE = r"""
import asyncio, json, sys
from sqlbench.cli import build_parser
from screens.app import SqlbenchApp

seen = {}
class Probe(SqlbenchApp):
    def on_ready(self):
        seen["at_ready"] = sorted(m for m in ("yaml", "pydantic", "sqlbench.runs.jobs", "sqlbench.runs.follow") if m in sys.modules)
        seen["rows_at_ready"] = self.query_one("#runs-table").row_count

args = build_parser().parse_args([])
async def main():
    app = Probe(config_path=args.config, env_file=args.env_file, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.query_one("#runs-table").row_count and app.query("#runs-stop"):
                break
        seen["rows"] = app.query_one("#runs-table").row_count
        seen["buttons"] = [b.id for b in app.query("#runs-buttons Button")]
asyncio.run(main())
print(json.dumps(seen))
"""


def test_first_frame_waits_for_nothing_the_runs_list_fills_in_after(tui_runs, tmp_path):
    """What bench/tui.py's ratio rests on: at the first frame neither yaml (config.yaml's
    runs_dir) nor pydantic (settings) nor the job machinery is loaded; right after it the
    runs folder named in config.yaml is listed and the action buttons are there."""
    (tmp_path / "config.yaml").write_text(f"runs_dir: {tui_runs}\n")
    out = subprocess.run([sys.executable, "-c", READY_PROBE], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["at_ready"] == [] and seen["rows_at_ready"] == 0
    assert seen["rows"] == len([p for p in tui_runs.iterdir() if (p / "run.json").is_file()]) > 0
    assert seen["buttons"] == ["runs-open", "runs-new-distill", "runs-new-train", "runs-resume", "runs-stop"]


GC_PROBE = r"""
import asyncio, gc, json, sys
from screens.app import SqlbenchApp

seen = {}
class Probe(SqlbenchApp):
    def on_ready(self):
        seen["collecting_at_first_frame"] = gc.isenabled()

async def main():
    app = Probe(runs_dir=sys.argv[1], live=False, freeze_gc=True)   # as the `sqlbench` command runs it
    async with app.run_test(size=(120, 40)) as pilot:
        while not app._views_ready.is_set():  # set once the tabs are built, after collection resumes
            await pilot.pause(0.05)
        seen["collecting_after"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
asyncio.run(main())
print(json.dumps(seen))
"""


def test_the_command_pauses_garbage_collection_only_until_the_tabs_are_built(tui_runs, tmp_path):
    out = subprocess.run([sys.executable, "-c", GC_PROBE, str(tui_runs)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["collecting_at_first_frame"] is False
    assert seen["collecting_after"] is True and seen["frozen"] > 10_000  # start-up objects kept out of collections
