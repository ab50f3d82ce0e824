"""Jobs as detached CLI subprocesses, and followers that tail their run directories.

The workbench never runs a long job inside its own process: it starts
``python -m sqlbench <kind> --run-dir R …`` in a new session (so closing the UI, or a
ctrl+c in its terminal, never reaches the job) and then follows ``R`` exactly as it
would follow a run started by someone else from a shell. Stop is SIGTERM to the pid
recorded in ``run.json``; pause is the file ``R/pause``.

Nothing here touches a widget: the screens call these from timers or thread workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlbench.runs import FAILED, FINISHED, INTERRUPTED, RUNNING, RunDir, TailCursor, default_run_path

PAUSE_FILE = "pause"
STDOUT_LOG = "stdout.log"


# ---- starting / stopping -------------------------------------------------------------
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
        return self._spawn(Job(kind, run_path, argv), run_path / STDOUT_LOG)

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


def stop(run_path: Path) -> bool:
    """SIGTERM the job owning ``run_path``; the job finishes as ``interrupted``."""
    info = RunDir(run_path).info()
    pid = info.get("pid")
    if not pid or RunDir(run_path).status != RUNNING:
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def set_paused(run_path: Path, paused: bool) -> None:
    p = Path(run_path) / PAUSE_FILE
    if paused:
        p.touch()
    else:
        p.unlink(missing_ok=True)


def is_paused(run_path: Path) -> bool:
    return (Path(run_path) / PAUSE_FILE).exists()


# ---- what a sample is, at a glance -----------------------------------------------------
def sample_outcome(rec: dict[str, Any]) -> str:
    """``valid``, ``failed`` (the teacher never answered) or the invalid verdict's reason."""
    if rec.get("status") == "failed" or (rec.get("error") and not rec.get("verdict")):
        return "failed"
    verdict = rec.get("verdict") or {}
    valid = rec.get("valid", verdict.get("valid"))
    if valid:
        return "valid"
    return rec.get("reason") or verdict.get("reason") or "invalid"


# ---- following a run directory ---------------------------------------------------------
@dataclass
class RunUpdate:
    """What changed in a run since the last poll (a batch for the UI to apply)."""

    info: dict[str, Any]
    status: str
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (seq, record)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    completions: list[dict[str, Any]] = field(default_factory=list)
    dropped_samples: int = 0  # older samples not sent (outside the window); still counted

    def __bool__(self) -> bool:
        return bool(self.events or self.samples or self.metrics or self.completions or self.dropped_samples)


class RunFollower:
    """Tails one run directory's streams incrementally (byte cursors, complete lines only).

    Counters are kept over the whole run while only the newest ``window`` samples are
    handed to the UI, so attaching to a run with a million samples costs one pass over
    the file and a bounded table.
    """

    def __init__(self, path: str | os.PathLike, window: int = 1000, batch: int = 5000) -> None:
        self.run = RunDir(path)
        self.window = window
        self.batch = batch
        self.cursors = {s: TailCursor() for s in ("events", "samples", "metrics", "completions")}
        self.seq = 0
        self.outcomes: Counter[str] = Counter()
        self.progress: dict[str, Any] = {}
        self.step: dict[str, Any] = {}
        self.latency_sum = 0.0

    @property
    def path(self) -> Path:
        return self.run.path

    def poll(self) -> RunUpdate:
        info = self.run.info()
        upd = RunUpdate(info=info, status=self.run.status)
        upd.events = self._drain("events")
        for ev in upd.events:
            if ev.get("type") == "progress":
                self.progress = ev
            elif ev.get("type") == "step":
                self.step = ev
        recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=self.window)
        drained = self._drain("samples")
        for rec in drained:
            self.outcomes[sample_outcome(rec)] += 1
            self.latency_sum += float(rec.get("latency_s") or 0.0)
            recent.append((self.seq, rec))
            self.seq += 1
        upd.dropped_samples = len(drained) - len(recent)
        upd.samples = list(recent)
        upd.metrics = self._drain("metrics")
        upd.completions = self._drain("completions")[-50:]
        return upd

    def _drain(self, stream: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            got = self.run.tail(stream, self.cursors[stream], max_records=self.batch)
            out.extend(got)
            if len(got) < self.batch:
                return out

    def counts(self) -> dict[str, Any]:
        valid = self.outcomes.get("valid", 0)
        failed = self.outcomes.get("failed", 0)
        invalid = {k: v for k, v in self.outcomes.items() if k not in ("valid", "failed")}
        return {"done": self.seq, "valid": valid, "failed": failed,
                "invalid": sum(invalid.values()), "invalid_by_reason": invalid}


def read_sample(path: str | os.PathLike, seq: int) -> dict[str, Any] | None:
    """One sample by its line number, read from disk (rows outside the table's window)."""
    for i, rec in enumerate(RunDir(path).iter_records("samples")):
        if i == seq:
            return rec
    return None


# ---- a cheap summary for the runs list ----------------------------------------------------
def last_events(path: Path, nbytes: int = 65536) -> list[dict[str, Any]]:
    """The events in the last ``nbytes`` of events.jsonl (a runs list must not read a
    whole 100 MB stream to show one line)."""
    p = path / "events.jsonl"
    try:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - nbytes))
            data = fh.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    if size > nbytes:
        lines = lines[1:]  # the first one is cut
    out = []
    for raw in lines:
        try:
            out.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return out


def run_brief(path: Path) -> dict[str, Any]:
    """kind, status, started and a short "counts or last metrics" string for one run."""
    run = RunDir(path)
    try:
        info = run.info()
        status = run.status
    except Exception as e:  # a half-written run.json from another process: show, don't crash
        return {"id": path.name, "path": path, "kind": "?", "status": "?", "started": None, "brief": str(e)[:60]}
    events = last_events(path)
    brief = ""
    last = next((e for e in reversed(events) if e.get("type") in ("progress", "step")), None)
    if last and last.get("type") == "progress":
        brief = f"{last.get('done', 0)}/{last.get('total', '?')} done · {last.get('valid', 0)} valid"
        if last.get("failed"):
            brief += f" · {last['failed']} failed"
    elif last and last.get("type") == "step":
        brief = f"{last.get('stage', '')} step {last.get('step', '?')}/{last.get('max_steps', '?')}"
        metrics = last_metrics(path)
        if "reward" in metrics:
            brief += f" · reward {float(metrics['reward']):.3f}"
    return {"id": path.name, "path": path, "kind": info.get("kind", "?"), "status": status,
            "started": info.get("started"), "brief": brief, "error": info.get("error")}


def last_metrics(path: Path) -> dict[str, Any]:
    p = path / "metrics.jsonl"
    try:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            lines = fh.read().split(b"\n")
    except FileNotFoundError:
        return {}
    for raw in reversed(lines):
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(rec, dict) and "reward" in rec:
            return rec
    return {}


def fmt_time(t: float | None) -> str:
    """Run times in UTC, so screenshots and tests do not depend on the machine's zone."""
    if not t:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(t)))


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(max(0, float(seconds)))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


__all__ = [
    "FAILED", "FINISHED", "INTERRUPTED", "RUNNING", "Job", "JobManager", "RunFollower", "RunUpdate",
    "cli_argv", "fmt_eta", "fmt_time", "is_paused", "last_events", "read_sample", "resume_argv",
    "run_brief", "sample_outcome", "set_paused", "stop",
]
