"""Job control: start a CLI job detached, stop or pause it, and make sure every job
leaves a run record, even one that dies before it writes ``run.json``.

A job is ``python -m sqlbench <kind> --run-dir R …`` in a new session (closing the UI,
or a ctrl+c in its terminal, never reaches it). Its own ``run.json`` appears only once
its settings are checked and its libraries loaded; until then the launcher's
``launch.json`` (kind, argv, pid) is all there is. When that process is gone and no
``run.json`` ever came, :func:`settle` writes the ``run.json`` it never wrote: status
``failed`` with the last line of its output, so the failure is listed like any other.

The workbench (``screens/``) only calls these; nothing here imports Textual.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlbench.errors import RunDirError
from sqlbench.redact import redact, redact_obj
from sqlbench.runs.pause import PAUSABLE_KINDS, is_paused, set_paused
from sqlbench.runs.store import (FAILED, INTERRUPTED, RUNNING, RunDir, _pid_alive, atomic_write, default_run_path,
                                 read_json_object)

LAUNCH_FILE = "launch.json"
STDOUT_LOG = "stdout.log"
STARTING = "starting"  # launched, run.json not written yet


# ---- starting ----------------------------------------------------------------------------
@dataclass
class Job:
    kind: str
    run_path: Path
    argv: list[str]
    process: subprocess.Popen | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def cli_argv(kind: str, run_path: Path, args: list[str], *, config: str | None = None,
             env_file: str | None = None) -> list[str]:
    """The command line of a job: global flags first, as the CLI's parser expects."""
    argv = [sys.executable, "-m", "sqlbench"]
    if config:
        argv += ["--config", str(config)]
    if env_file:
        argv += ["--env-file", str(env_file)]
    return argv + [kind, "--run-dir", str(run_path), *args]


class JobManager:
    """Starts jobs and remembers which ones this session started (quit asks about those)."""

    def __init__(self, runs_root: str | os.PathLike = "runs", *, config: str | None = None,
                 env_file: str | None = None) -> None:
        self.runs_root = Path(runs_root)
        self.config = config
        self.env_file = env_file
        self.started: list[Job] = []

    def new_run_path(self, kind: str) -> Path:
        return default_run_path(kind, self.runs_root)

    def start(self, kind: str, args: list[str], run_path: Path | None = None) -> Job:
        run_path = Path(run_path or self.new_run_path(kind))
        run_path.mkdir(parents=True, exist_ok=True)
        argv = cli_argv(kind, run_path, args, config=self.config, env_file=self.env_file)
        job = self._spawn(Job(kind, run_path, argv), run_path / STDOUT_LOG)
        record_launch(run_path, kind, argv, job.process.pid if job.process else None)
        return job

    def start_command(self, kind: str, argv: list[str], log: Path) -> Job:
        """A job that is not a run (e.g. ``tiny-model``): same detaching, own log file."""
        log.parent.mkdir(parents=True, exist_ok=True)
        return self._spawn(Job(kind, log.parent, argv), log)

    def resume(self, run_path: Path) -> Job:
        """Rerun an interrupted run's own command line with the same --run-dir."""
        info = RunDir(run_path).info()
        kind = info.get("kind", "distill")
        argv = resume_argv(info.get("argv") or [], kind, run_path)
        return self._spawn(Job(kind, Path(run_path), argv), Path(run_path) / STDOUT_LOG)

    def _spawn(self, job: Job, log: Path) -> Job:
        with open(log, "ab") as out:
            job.process = subprocess.Popen(
                job.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # closing the UI (or its SIGINT/SIGHUP) never kills the job
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.started.append(job)
        return job

    def running_started_here(self) -> list[Job]:
        return [j for j in self.started if j.alive]

    def reap(self) -> list[Path]:
        """Record the jobs started here that died before writing run.json (their exit
        code is known here); returns the run folders settled."""
        out = []
        for job in self.started:
            if job.process is not None and job.process.poll() is not None:
                if settle(job.run_path, job.process.returncode):
                    out.append(job.run_path)
        return out


def resume_argv(argv: list[str], kind: str, run_path: Path) -> list[str]:
    """``[python, -m, sqlbench, …]`` from a recorded ``sys.argv``, forcing ``--run-dir``."""
    rest = list(argv)
    # sys.argv of `sqlbench …` or `python -m sqlbench …`: drop the program, keep the flags
    while rest and kind not in rest[:1]:
        if rest[0].startswith("-") and rest[0] not in ("-m",):
            break
        rest.pop(0)
    if kind not in rest:
        rest = [kind]
    if "--run-dir" in rest:
        i = rest.index("--run-dir")
        rest[i + 1:i + 2] = [str(run_path)]
    else:
        rest += ["--run-dir", str(run_path)]
    if kind == "train" and "--resume" not in rest:
        rest.append("--resume")  # train continues from its last checkpoint only when asked
    return [sys.executable, "-m", "sqlbench", *rest]


# ---- the record of a launch, and of a job that died before its own ------------------------
def record_launch(run_path: Path, kind: str, argv: list[str], pid: int | None) -> None:
    info = {"kind": kind, "argv": redact_obj(list(argv)), "pid": pid, "host": socket.gethostname(),
            "launched": time.time()}
    atomic_write(Path(run_path) / LAUNCH_FILE, redact(json.dumps(info, indent=2)) + "\n")


def launch_info(run_path: Path) -> dict[str, Any]:
    return read_json_object(Path(run_path) / LAUNCH_FILE)


def last_line(log: Path, nbytes: int = 8192) -> str:
    """The last non-blank line of a job's output (its error, when it failed), trimmed."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - nbytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return redact(lines[-1])[:500] if lines else ""


def _alive(pid: int | None, host: str | None) -> bool:
    """Like the run store's liveness check, but a zombie (a child of this very process
    that exited and was not waited for yet) counts as gone."""
    if not _pid_alive(pid, host):
        return False
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:  # type: ignore[arg-type]
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError, TypeError, ValueError):
        return True  # no /proc (or another host): trust the signal check


def pending_status(run_path: Path) -> str | None:
    """``starting`` while a launched job has not written run.json yet; None otherwise
    (no launch, or run.json is there and says for itself)."""
    run_path = Path(run_path)
    if (run_path / "run.json").is_file():
        return None
    launch = launch_info(run_path)
    if not launch:
        return None
    return STARTING if _alive(launch.get("pid"), launch.get("host")) else FAILED


def settle(run_path: Path, returncode: int | None = None) -> str | None:
    """Write the run.json of a launched job that ended before writing its own. Returns
    the status written (``failed``; ``interrupted`` when a signal ended it), or None
    when there was nothing to settle (run.json exists, or the job still runs)."""
    run_path = Path(run_path)
    if pending_status(run_path) is None:
        return None
    launch = launch_info(run_path)
    if returncode is None and _alive(launch.get("pid"), launch.get("host")):
        return None
    signalled = returncode is not None and returncode < 0 and -returncode in (signal.SIGTERM, signal.SIGINT)
    status = INTERRUPTED if signalled else FAILED
    error = last_line(run_path / STDOUT_LOG)
    if not error:
        error = f"exited with code {returncode}" if returncode is not None else "exited before it started"
    info = {"kind": launch.get("kind", "?"), "status": status, "pid": launch.get("pid"), "host": launch.get("host"),
            "argv": launch.get("argv") or [], "started": launch.get("launched"), "finished": time.time(),
            "error": error if status == FAILED else None, "returncode": returncode}
    if (run_path / "run.json").is_file():  # the job wrote its own after all
        return None
    RunDir(run_path).write_info(info)
    return status


def settle_all(root: str | os.PathLike) -> list[Path]:
    """Settle every launched-but-dead run under ``root`` (what a runs list calls first)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if (p / LAUNCH_FILE).is_file() and settle(p)]


# ---- stopping / pausing / resuming: the intents of the CLI and the workbench ---------------
def can_resume(status: str) -> bool:
    """Only an interrupted run restarts: a finished one is done, a failed one would fail
    again the same way, a running one is running."""
    return status == INTERRUPTED


def running_info(run_path: Path) -> dict[str, Any]:
    """The run.json of a run whose job runs now; one line (RunDirError) otherwise."""
    run = RunDir(run_path)
    if not run.exists():
        if pending_status(run_path) == STARTING:
            raise RunDirError(f"{run.id} is still starting (no run.json yet); try again in a moment")
        raise RunDirError(f"{run.path} is not a run directory (no run.json)")
    status = run.status
    if status != RUNNING:
        raise RunDirError(f"{run.id} is not running (it is {status})")
    return run.info()


def stop(run_path: Path) -> bool:
    """SIGTERM the job owning ``run_path``; the job finishes as ``interrupted``. A job
    still starting (no run.json yet) is reached through its launch record."""
    run = RunDir(run_path)
    if run.exists():
        info = run.info()
        if run.status != RUNNING:
            return False
    elif pending_status(run_path) == STARTING:
        info = launch_info(run_path)
    else:
        return False
    pid = info.get("pid")
    if not pid:
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def request_pause(run_path: Path, paused: bool) -> None:
    """Pause (or un-pause) a running job through the pause file; one line when the run is
    not running, cannot pause, or is already in that state."""
    info = running_info(run_path)
    name = Path(run_path).name
    if info.get("kind") not in PAUSABLE_KINDS:
        raise RunDirError(f"{name} is a {info.get('kind')} run; only {', '.join(PAUSABLE_KINDS)} runs can pause")
    if is_paused(run_path) == paused:
        raise RunDirError(f"{name} is already {'paused' if paused else 'running (not paused)'}")
    set_paused(run_path, paused)


def request_resume(run_path: Path, jobs: "JobManager") -> Job | None:
    """``resume``: a paused job goes on (None), an interrupted run's own command is
    started again, detached, with the same --run-dir (its Job)."""
    run = RunDir(run_path)
    if not run.exists():
        raise RunDirError(f"{run.path} is not a run directory (no run.json)")
    status = run.status
    if status == RUNNING:
        request_pause(run_path, False)
        return None
    if not can_resume(status):
        raise RunDirError(f"{run.id} is {status}: only a paused or an interrupted run can be resumed")
    set_paused(run_path, False)  # a pause asked before the crash must not hold the new job
    return jobs.resume(Path(run_path))
