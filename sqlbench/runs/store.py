"""Run directories: the only thing the CLI, the TUI and a running job share.

Layout (names are an interface; readers in other processes rely on them)::

    runs/<id>/
      run.json            kind, status, started/finished, pid, argv
      config.yaml         resolved options, secrets removed
      events.jsonl        {"t": ..., "type": "started|sample|failed|progress|stage|step|finished|error", ...}
      samples.jsonl       one line per sample (distill)
      metrics.jsonl       one line per logged step (train)
      completions.jsonl   sampled completions with per-reward scores (train)
      answers.jsonl       per-task answers (eval)
      lock                held (``fcntl.flock``) by the job writing the run; see ``RunDir.lock``

Streams are append-only JSON lines, flushed per record. A process killed mid-write
leaves at most one torn last line: readers skip it, and a writer reopening the stream
truncates it first, so a resumed job never loses or duplicates a complete record.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlbench.errors import RunDirError
from sqlbench.redact import dumps as redact_dumps
from sqlbench.redact import redact, redact_obj

KINDS = ("distill", "train", "eval", "validate")
RUNNING, FINISHED, FAILED, INTERRUPTED = "running", "finished", "failed", "interrupted"
UNREADABLE = "unreadable"  # a run whose run.json cannot be read: listed, never hidden
LOCK_FILE = "lock"


def write_error(path: str | os.PathLike, e: OSError) -> RunDirError:
    """One line naming the path for a run directory that cannot be written (read-only,
    full, over quota, ...)."""
    why = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the device",
           errno.EDQUOT: "disk quota exceeded", errno.EFBIG: "file size limit reached"}.get(
        e.errno, e.strerror or type(e).__name__)
    return RunDirError(f"cannot write to the run directory {path}: {why}; fix it and rerun the same "
                       f"command to resume")


def claim_new_run_path(kind: str, root: str | os.PathLike = "runs") -> Path:
    """A fresh run directory, created atomically: two jobs started in the same second
    never share one."""
    Path(root).mkdir(parents=True, exist_ok=True)
    while True:
        path = default_run_path(kind, root)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def default_run_path(kind: str, root: str | os.PathLike = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{stamp}-{kind}"
    n = 1
    while path.exists():  # two runs started in the same second
        n += 1
        path = Path(root) / f"{stamp}-{kind}-{n}"
    return path


def _pid_alive(pid: int | None, host: str | None) -> bool:
    if host and host != socket.gethostname():
        return True  # a job on another machine (shared runs folder): we cannot tell
    try:
        pid = int(pid or 0)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class TailCursor:
    """Where a follower stopped reading a stream (byte offset of the next full line)."""

    offset: int = 0


class RunDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._handles: dict[str, Any] = {}
        self._lock_fd: int | None = None

    # ---- creation / opening -------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike | None,
        kind: str,
        config: dict[str, Any] | None = None,
        *,
        root: str | os.PathLike = "runs",
        argv: list[str] | None = None,
        lock: bool = False,
    ) -> "RunDir":
        """Create a run directory, or reopen it for resuming when it already holds a
        run of the same kind (same ``--run-dir`` = resume). ``lock`` takes the run's
        exclusive lock first (see ``lock``): a second job on the same directory fails
        with one line instead of writing beside the first."""
        if kind not in KINDS:
            raise ValueError(f"unknown run kind {kind!r}")
        try:
            run = cls(path) if path else cls(claim_new_run_path(kind, root))
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise write_error(path or root, e) from None
        if lock:
            run.lock()
        try:
            if lock:
                run._refuse_unlocked_writer()
            run._open_for_job(kind, config, argv)
        except BaseException:
            run.unlock()
            raise
        return run

    def _refuse_unlocked_writer(self) -> None:
        """Holding the lock, a run still marked running by a live process is written by
        a job that takes no lock (another kind of job, an older sqlbench): refuse it too."""
        if self.exists() and self.status == RUNNING:
            pid = self.info().get("pid")
            raise RunDirError(f"{self.path} is being written by a running job (pid {pid}); wait for it or stop "
                              f"it first")

    def _open_for_job(self, kind: str, config: dict[str, Any] | None, argv: list[str] | None) -> None:
        run = self
        info = run.info() if run.exists() else {}
        if info and info.get("kind") != kind:
            raise RunDirError(
                f"{run.path} holds a {info.get('kind')} run; choose another --run-dir for a {kind} run"
            )
        resumed = bool(info)
        now = time.time()
        info.update(
            kind=kind,
            status=RUNNING,
            pid=os.getpid(),
            host=socket.gethostname(),
            argv=redact_obj(list(argv if argv is not None else sys.argv)),
            started=info.get("started", now),
            resumed_at=now if resumed else None,
            finished=None,
            error=None,
        )
        if resumed:
            info["resumes"] = int(info.get("resumes", 0)) + 1
        run.write_info(info)
        if config is not None:
            run.write_config(config)
        try:
            for stream in run.path.glob("*.jsonl"):
                run.repair(stream.stem)
        except OSError as e:
            raise write_error(run.path, e) from None

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        run = cls(path)
        if not run.exists():
            raise RunDirError(f"{run.path} is not a run directory (no run.json)")
        return run

    def exists(self) -> bool:
        return (self.path / "run.json").is_file()

    @property
    def id(self) -> str:
        return self.path.name

    # ---- run.json / config.yaml ---------------------------------------------------
    def info(self) -> dict[str, Any]:
        p = self.path / "run.json"
        try:
            info = json.loads(p.read_bytes())
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunDirError(f"{p} is not valid JSON: {e}") from None
        except OSError as e:
            raise RunDirError(f"cannot read {p}: {e.strerror or e}") from None
        if not isinstance(info, dict):
            raise RunDirError(f"{p} is not valid JSON: expected an object, got {type(info).__name__}")
        return info

    def write_info(self, info: dict[str, Any]) -> None:
        try:
            atomic_write(self.path / "run.json", redact_dumps(info, indent=2, default=str) + "\n")
        except OSError as e:
            raise write_error(self.path, e) from None

    def update_info(self, **fields: Any) -> dict[str, Any]:
        with self._lock:
            info = self.info()
            info.update(fields)
            self.write_info(info)
            return info

    def write_config(self, config: dict[str, Any]) -> None:
        import yaml  # here, not at the top: the workbench imports this module before its first frame

        text = yaml.safe_dump(redact_obj(config), sort_keys=False, allow_unicode=True)
        try:
            atomic_write(self.path / "config.yaml", text)
        except OSError as e:
            raise write_error(self.path, e) from None

    def config(self) -> dict[str, Any]:
        p = self.path / "config.yaml"
        if not p.exists():
            return {}
        import yaml

        return yaml.safe_load(p.read_text()) or {}

    @property
    def kind(self) -> str:
        return self.info().get("kind", "?")

    @property
    def status(self) -> str:
        """running / finished / failed / interrupted; a "running" run whose process is
        gone (crash, SIGKILL, reboot) reads as interrupted."""
        info = self.info()
        status = info.get("status", "?")
        if status == RUNNING and not _pid_alive(info.get("pid"), info.get("host")):
            return INTERRUPTED
        return status

    def finish(self, status: str = FINISHED, error: str | None = None, **fields: Any) -> None:
        self.event("finished" if status == FINISHED else "error" if status == FAILED else status,
                   status=status, **({"error": error} if error else {}))
        self.close()
        self.update_info(status=status, finished=time.time(), error=redact(error) if error else None, **fields)

    @contextmanager
    def recording_failure(self) -> Iterator["RunDir"]:
        """Around a job's body: Ctrl-C marks the run interrupted, an exception marks it
        failed (with the error), and both propagate. Success is the body's to record."""
        try:
            yield self
        except KeyboardInterrupt:
            self.finish(INTERRUPTED)
            raise
        except Exception as e:
            self.finish(FAILED, error=f"{type(e).__name__}: {e}")
            raise

    # ---- streams ------------------------------------------------------------------
    def stream_path(self, stream: str) -> Path:
        return self.path / f"{stream}.jsonl"

    def append(self, stream: str, record: dict[str, Any]) -> None:
        # redacted as values, before encoding: a key holding `"` or `\` is masked too
        line = redact_dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            fh = self._handles.get(stream)
            try:
                if fh is None:
                    self.repair(stream)
                    fh = self._handles[stream] = open(self.stream_path(stream), "a", encoding="utf-8")
                fh.write(line)
                fh.flush()  # a SIGKILL after this keeps the record (it is in the kernel's cache)
            except OSError as e:
                # a part of the line may be on disk: the next writer truncates it (repair)
                self._drop_handle(stream)
                raise write_error(self.path, e) from None

    def _drop_handle(self, stream: str) -> None:
        fh = self._handles.pop(stream, None)
        if fh is None:
            return
        try:
            fh.close()  # flushing what is buffered fails again; the descriptor is closed anyway
        except OSError:
            pass

    def event(self, type: str, **fields: Any) -> None:
        self.append("events", {"t": round(time.time(), 3), "type": type, **fields})

    def close(self) -> None:
        with self._lock:
            for stream in list(self._handles):
                self._drop_handle(stream)

    # ---- the job's lock -----------------------------------------------------------
    def lock(self) -> None:
        """Take the run's exclusive lock (``fcntl.flock`` on ``RUN/lock``) for this
        job's life: the kernel drops it when the process ends, however it ends, so a
        crashed job never leaves a stale lock. A second job gets one line naming the
        directory and the holder's pid."""
        import fcntl

        if self._lock_fd is not None:
            return
        p = self.path / LOCK_FILE
        try:
            fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise write_error(self.path, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._in_use() from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is a courtesy for the message above; the lock is what counts
        self._lock_fd = fd

    def _in_use(self) -> RunDirError:
        try:
            holder = (self.path / LOCK_FILE).read_text(encoding="ascii", errors="replace").strip() or "?"
        except OSError:
            holder = "?"
        return RunDirError(f"{self.path} is in use by another job (pid {holder}); wait for it to end or stop it "
                           f"first")

    def check_unlocked(self) -> None:
        """One line (RunDirError) when a live job holds this run: a cheap early look
        before loading anything; ``lock`` is what guarantees it."""
        if self.is_locked():
            raise self._in_use()

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def is_locked(self) -> bool:
        """True while a live job holds this run's lock (any process, this one included)."""
        import fcntl

        if self._lock_fd is not None:
            return True
        try:
            fd = os.open(self.path / LOCK_FILE, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also drops the shared lock just taken
        return False

    def repair(self, stream: str) -> int:
        """Truncate a torn last line left by a killed writer; returns bytes removed."""
        p = self.stream_path(stream)
        if not p.exists():
            return 0
        with open(p, "rb+") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return 0
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return 0
            # walk back to the last newline
            pos, chunk = size, 4096
            keep = 0
            while pos > 0:
                start = max(0, pos - chunk)
                fh.seek(start)
                buf = fh.read(pos - start)
                i = buf.rfind(b"\n")
                if i >= 0:
                    keep = start + i + 1
                    break
                pos = start
            fh.truncate(keep)
            return size - keep

    def iter_records(self, stream: str) -> Iterator[dict[str, Any]]:
        p = self.stream_path(stream)
        if not p.exists():
            return
        with open(p, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # torn last line: being written or left by a crash
                rec = parse_record(raw)
                if rec is not None:
                    yield rec

    def read(self, stream: str) -> list[dict[str, Any]]:
        return list(self.iter_records(stream))

    def tail(self, stream: str, cursor: TailCursor, max_records: int | None = None) -> list[dict[str, Any]]:
        """Records appended since ``cursor`` (complete lines only); advances the cursor."""
        p = self.stream_path(stream)
        out: list[dict[str, Any]] = []
        try:
            fh = open(p, "rb")
        except FileNotFoundError:
            return out
        with fh:
            fh.seek(cursor.offset)
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break
                cursor.offset += len(raw)
                rec = parse_record(raw)
                if rec is None:
                    continue
                out.append(rec)
                if max_records is not None and len(out) >= max_records:
                    break
        return out

    def count(self, stream: str) -> int:
        p = self.stream_path(stream)
        if not p.exists():
            return 0
        with open(p, "rb") as fh:
            return sum(1 for raw in fh if raw.endswith(b"\n"))


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """A small JSON side file (a launch record, the workbench's state) as a dict; {} when
    it is missing, damaged or not an object: such files are hints, never required."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parse_record(raw: bytes) -> dict[str, Any] | None:
    """One stream line as a record; None for a line that is not a JSON object (damage a
    reader skips, never a reason to stop)."""
    try:
        rec = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        return None
    return rec if isinstance(rec, dict) else None


def _started(run: RunDir) -> float:
    try:
        started = run.info().get("started")
        return float(started) if started else 0.0
    except (RunDirError, TypeError, ValueError):
        return 0.0


def list_runs(root: str | os.PathLike = "runs") -> list[RunDir]:
    """Every run under ``root``, newest first; unreadable ones too (they sort last and
    summarise as ``unreadable``)."""
    root = Path(root)
    try:
        if not root.is_dir():
            return []
        runs = [RunDir(p) for p in root.iterdir() if (p / "run.json").is_file()]
    except OSError as e:
        raise RunDirError(f"cannot list the runs folder {root}: {e.strerror or e}") from None
    return sorted(runs, key=lambda r: (_started(r), r.id), reverse=True)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
