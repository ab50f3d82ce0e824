"""A run directory that cannot be written (read-only, or full mid-run) gives one line
naming it and exit 2, and the run resumes exactly once it can be written again. Real
CLI processes; the kernel refuses the writes (permissions, RLIMIT_FSIZE)."""

from __future__ import annotations

import os
import resource
import shutil
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from sqlbench.runs import RunDir
from tests.test_distill_cli import _cmd, _env, tasks40  # noqa: F401 - the fixture


def _unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` run so that file permissions apply to it: as root, without the capability
    to override them (setpriv); as anyone else, unchanged."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and util-linux's setpriv is missing: permissions cannot be enforced")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *cmd]


def _set_writable(root: Path, writable: bool) -> None:
    for p in [root, *root.rglob("*")]:
        mode = p.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        p.chmod(mode | stat.S_IWUSR if writable else mode & ~bits)


def _one_error_line(stderr: str) -> str:
    lines = [x for x in stderr.strip().splitlines() if not x.startswith("sqlbench: ")]  # resume notices
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_a_read_only_run_dir_gives_one_line_and_resumes_once_writable(loopback_teacher, tasks40, tmp_path):
    run_dir = tmp_path / "run"
    first = subprocess.run(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "4"), cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    _set_writable(run_dir, False)
    try:
        r = subprocess.run(_unprivileged(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "8")), cwd=tmp_path,
                           env=_env(), capture_output=True, text=True, timeout=120)
    finally:
        _set_writable(run_dir, True)
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert line.startswith("sqlbench distill: error: cannot write to the run directory") and str(run_dir) in line
    assert "permission denied" in line
    assert loopback_teacher.count() == 4  # nothing asked before the directory was found unwritable

    again = subprocess.run(_cmd(loopback_teacher, tasks40, run_dir, "--limit", "8"), cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert Counter(s["task_id"] for s in RunDir(run_dir).read("samples")) == Counter(
        {f"t{i:03d}": 1 for i in range(8)})
    assert loopback_teacher.count() == 8 and RunDir(run_dir).status == "finished"


def test_a_run_dir_under_a_read_only_folder_gives_one_line(loopback_teacher, tasks40, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        r = subprocess.run(_unprivileged(_cmd(loopback_teacher, tasks40, parent / "run", "--limit", "2")),
                           cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    finally:
        parent.chmod(0o755)
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert "cannot write to the run directory" in line and str(parent / "run") in line


def _file_limit(nbytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))  # Python ignores SIGXFSZ: writes fail EFBIG
    return limit


def test_a_run_dir_that_fills_up_mid_run_gives_one_line_and_resumes_exactly(loopback_teacher, tasks40, tmp_path):
    run_dir = tmp_path / "run"
    cmd = _cmd(loopback_teacher, tasks40, run_dir, "--limit", "40", "--batch-size", "4")
    r = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
                       preexec_fn=_file_limit(24_000))  # samples.jsonl outgrows it after ~15 samples
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert line == (f"sqlbench distill: error: cannot write to the run directory {run_dir}: file size limit "
                    f"reached; fix it and rerun the same command to resume")
    before = RunDir(run_dir).read("samples")
    assert 0 < len(before) < 40
    assert RunDir(run_dir).status in ("interrupted", "failed") and not RunDir(run_dir).is_locked()

    again = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    samples = RunDir(run_dir).read("samples")
    assert Counter(s["task_id"] for s in samples) == Counter({f"t{i:03d}": 1 for i in range(40)})
    assert RunDir(run_dir).status == "finished"
