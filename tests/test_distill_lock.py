"""One job per run directory: two real `sqlbench distill` processes started together on
one --run-dir; the OS lock lets exactly one run, the other exits 2 with one line."""

from __future__ import annotations

import subprocess
from collections import Counter

from sqlbench.runs import RunDir
from tests.test_distill_cli import _cmd, _env, tasks40  # noqa: F401 - the fixture
from tests.fixtures.waiting import wait_for as _wait




def test_two_distills_on_one_run_dir_one_runs_the_other_exits_2(loopback_teacher, tasks40, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "pause").touch()  # whoever wins waits, paused, while the other one tries
    cmd = _cmd(loopback_teacher, tasks40, run_dir, "--limit", "12", "--batch-size", "4")
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    try:
        loser = _wait(lambda: next((p for p in procs if p.poll() is not None), None), "one of the two to exit")
        winner = next(p for p in procs if p is not loser)
        out, err = loser.communicate(timeout=30)
        assert loser.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(run_dir) in lines[0] and "in use by another job" in lines[0], err
        assert "(pid " in lines[0]  # the holder's pid, once it has written it (microseconds after locking)

        run = RunDir(run_dir)
        _wait(lambda: any(e["type"] == "paused" for e in run.read("events")), "the winner to pause")
        assert winner.poll() is None and run.is_locked() and run.info()["pid"] == winner.pid
        third = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
        assert third.returncode == 2 and "in use by another job" in third.stderr

        (run_dir / "pause").unlink()
        out, err = winner.communicate(timeout=120)
        assert winner.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    samples = RunDir(run_dir).read("samples")
    assert Counter(s["task_id"] for s in samples) == Counter({f"t{i:03d}": 1 for i in range(12)})
    assert loopback_teacher.count() == 12  # nobody asked twice
    assert RunDir(run_dir).status == "finished" and not RunDir(run_dir).is_locked()
    assert sum(e["type"] == "started" for e in RunDir(run_dir).read("events")) == 1
