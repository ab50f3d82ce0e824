"""DuckDB runs in worker processes whose address space is capped (``RLIMIT_AS``).

Why a process: DuckDB's ``memory_limit`` governs its buffer manager, not every
allocation. In one process, ``repeat('x', 2e9)`` built a 2 GB string (3.9 GB of RSS),
``range(1e8)`` a 7 GB list, and ``lpad('x', 2e9, 'y')`` ignored interrupts for 25 s. In a
worker capped at ``validate.max_memory_mb`` such an allocation fails with DuckDB's own
"Out of Memory Error" (the worker lives on), and a call still running past its deadline
plus ``GRACE`` is ended by killing its worker: nothing model-written outlives its limits.

The parent keeps a small pool of workers per memory cap (``pool(mb)``). Each database a
worker holds is a numbered handle; a request is one pickled tuple over a socket pair,
answered in ~0.1 ms. A worker runs one request at a time, so a request waits for its
worker's lock; databases opened fresh go to an idle worker. A killed worker takes its
handles with it (``Handle.alive`` turns False): callers reopen what they keep.

Run as ``python -m sqlbench.sqlcheck.duckworker FD MB``: the worker end of the pair.
"""

from __future__ import annotations

import itertools
import math
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

EXECUTION, TIMEOUT, SYNTAX, UNSAFE = "execution", "timeout", "syntax", "unsafe"
GRACE = 0.5  # seconds past a run's deadline before its worker is killed
SPAWN_TIMEOUT = 60.0  # a worker starting on a loaded machine (python + duckdb import: ~1 s idle)
OP_TIMEOUT = 30.0  # open/cursor/close/query requests without a deadline of their own
SELF_EXIT = 3.0  # a worker whose parent did not kill it ends itself this long after GRACE
LOST = "the database was lost: DuckDB's worker process was restarted"

# Statement kinds (DuckDB's parser) refused whatever their text looks like, and the ones
# that only read.
_DUCK_REFUSED = frozenset({"ATTACH", "DETACH", "COPY", "COPY_DATABASE", "EXPORT", "EXTENSION", "LOAD", "SET",
                           "VARIABLE_SET", "PRAGMA", "CALL", "VACUUM", "PREPARE", "EXECUTE"})
_DUCK_READS = frozenset({"SELECT", "EXPLAIN", "RELATION"})


class WorkerError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


# ---- the worker process -------------------------------------------------------------
class _Watchdog(threading.Thread):
    """Interrupts the running statement at its deadline; ends the process when even
    that does not stop it and the parent has not (a parent that died mid-request)."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="duckworker-watchdog")
        self.cond = threading.Condition()
        self.conn: Any = None
        self.deadline = 0.0
        self.fired = False
        self.start()

    def arm(self, conn: Any, deadline: float) -> None:
        if math.isinf(deadline):
            return
        with self.cond:
            self.conn, self.deadline, self.fired = conn, deadline, False
            self.cond.notify()

    def disarm(self) -> None:
        with self.cond:
            self.conn = None

    def run(self) -> None:
        with self.cond:
            while True:
                if self.conn is None:
                    self.cond.wait()
                    continue
                now = time.monotonic()
                if not self.fired and now >= self.deadline:
                    self.fired = True
                    self.conn.interrupt()
                if now >= self.deadline + GRACE + SELF_EXIT:
                    os._exit(70)
                wait = (self.deadline if not self.fired else self.deadline + GRACE + SELF_EXIT) - now
                self.cond.wait(max(0.001, wait))


class _Server:
    def __init__(self, max_memory_mb: int):
        import duckdb

        from sqlbench.sqlcheck.dialect import unsafe_reason

        self.duckdb = duckdb
        self.unsafe_reason = unsafe_reason
        self.max_memory_mb = max_memory_mb
        self.dbs: dict[int, Any] = {}
        threading.stack_size(256 << 10)  # the address space is the cap: no 8 MiB stack for a timer
        self.dog = _Watchdog()
        threading.stack_size(0)

    def handle(self, msg: tuple) -> Any:
        op, hid, *args = msg
        if op == "open":
            path, memory_limit_mb = args
            config = duck_config(memory_limit_mb)
            if path is None:
                self.dbs[hid] = self.duckdb.connect(":memory:", config=config)
            else:
                self.dbs[hid] = self.duckdb.connect(path, read_only=True, config=config)
            return None
        if op == "cursor":
            (parent,) = args
            cur = self.dbs[parent].cursor()  # same database and locked settings, own transaction
            cur.begin()
            self.dbs[hid] = cur
            return None
        if op == "close":
            db = self.dbs.pop(hid, None)
            if db is not None:
                db.close()  # a cursor's open transaction is rolled back
            return None
        if op == "query":  # the caller's own SQL (settings, the schema), never model-written
            (sql,) = args
            return self.dbs[hid].execute(sql).fetchall()
        if op == "run":
            return self.run(self.dbs[hid], *args)
        raise WorkerError(EXECUTION, f"unknown request {op!r}")

    def run(self, conn: Any, statements: list[str], deadline: float, shared: bool,
            max_rows: int, max_bytes: int) -> tuple:
        self.dog.arm(conn, deadline)
        wrote = False
        try:
            result: tuple = (None, 0, False, None)
            for text in statements:
                # One statement at a time, as DuckDB's parser splits them: the text a
                # caller split (SQLite's way) may hide more statements from it.
                # (not duckdb.extract_statements: its default database starts 9 threads)
                for stmt in conn.extract_statements(text):
                    self.check(stmt, shared)
                    conn.execute(stmt)
                    kind = stmt.type.name
                    if kind not in _DUCK_READS:
                        wrote = True
                    desc = conn.description
                    # DuckDB answers INSERT/UPDATE/DELETE/CREATE with a one-row "Count" result;
                    # SQLite returns no result set, and neither does a gold there: drop it.
                    counted = desc is not None and len(desc) == 1 and desc[0][0] == "Count" \
                        and kind not in _DUCK_READS
                    result = self.fetch(conn, max_rows, max_bytes) if desc is not None and not counted \
                        else (None, 0, False, None)
            return result + (wrote,)
        except self.duckdb.Error as e:
            raise self.classify(e, deadline) from None
        finally:
            self.dog.disarm()

    def check(self, stmt: Any, shared: bool) -> None:
        kind = stmt.type.name
        if kind in _DUCK_REFUSED:
            raise WorkerError(UNSAFE, f"refused: {kind.replace('_', ' ')} statements are not allowed")
        if shared and kind == "TRANSACTION":
            # COMMIT here would make the rest of the run permanent in a shared database
            raise WorkerError(UNSAFE, "refused: transaction control inside a shared database's run")
        why = self.unsafe_reason(stmt.query, "duckdb")
        if why:
            raise WorkerError(UNSAFE, why)

    @staticmethod
    def fetch(conn: Any, max_rows: int, max_bytes: int) -> tuple:
        columns = [d[0] for d in conn.description]
        rows = conn.fetchmany(max_rows + 1)
        nbytes = sum(len(v) for row in rows for v in row if isinstance(v, (str, bytes)))
        if nbytes > max_bytes:
            raise WorkerError(EXECUTION, f"result larger than {max_bytes >> 20} MiB")
        if len(rows) > max_rows:
            return rows[:max_rows], len(columns), True, columns
        return rows, len(columns), False, columns

    def classify(self, e: Exception, deadline: float) -> WorkerError:
        d = self.duckdb
        msg = str(e).split("\n")[0]
        if isinstance(e, d.InterruptException) or time.monotonic() > deadline:
            return WorkerError(TIMEOUT, "stopped at the time limit")
        if isinstance(e, d.PermissionException) or "configuration has been locked" in msg:
            return WorkerError(UNSAFE, f"refused: {msg}")
        if isinstance(e, d.ParserException):
            return WorkerError(SYNTAX, msg)
        return WorkerError(EXECUTION, msg)


def duck_config(memory_limit_mb: int) -> dict[str, Any]:
    return {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "threads": 1,
        "async_threads": 0,  # else 8 idle threads per database, each with a stack and an arena
        "max_memory": f"{int(memory_limit_mb)}MiB",
        "temp_directory": "",  # no spilling to disk
        "lock_configuration": True,  # last: the settings above cannot be changed back
    }


def database_memory_mb(max_memory_mb: int) -> int:
    """DuckDB's memory_limit per database in a worker capped at ``max_memory_mb``: half,
    so its buffer manager gives up (with a clear error) before the process cap is hit."""
    return max(32, int(max_memory_mb) // 2)


def serve(fd: int, max_memory_mb: int) -> None:
    conn = Connection(fd)
    server = _Server(max_memory_mb)
    cap = int(max_memory_mb) << 20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            seq, *msg = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        try:
            reply: tuple = (seq, "ok", server.handle(tuple(msg)))
        except WorkerError as e:
            reply = (seq, "err", e.kind, e.message)
        except MemoryError:
            reply = (seq, "err", EXECUTION, "Out of Memory Error: the DuckDB worker's memory cap was reached")
        except Exception as e:  # noqa: BLE001 - every failure is an answer, never a dead worker
            reply = (seq, "err", EXECUTION, (str(e).split("\n")[0] or type(e).__name__))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as e:  # noqa: BLE001 - a value pickle cannot carry, or no memory to pickle it
            conn.send((seq, "err", EXECUTION, f"the result cannot be returned ({type(e).__name__})"))


# ---- the parent's side --------------------------------------------------------------
class Worker:
    """One worker process and its end of the socket pair."""

    def __init__(self, max_memory_mb: int, pool: "Pool | None" = None):
        self.max_memory_mb = max_memory_mb
        self.pool = pool
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["MALLOC_ARENA_MAX"] = "1"  # glibc reserves 64 MiB of address space per arena
        root = str(Path(__file__).resolve().parents[2])  # the sqlbench this process runs
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            # its own session: a Ctrl-C in the terminal is the parent's to handle
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sqlbench.sqlcheck.duckworker", str(theirs.fileno()), str(max_memory_mb)],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.lock = threading.Lock()
        self.ready = False
        self.dead = False
        self.waiting = 0
        self.owner = os.getpid()  # a forked child must not talk on its parent's socket
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self.pid = self.proc.pid

    def new_id(self) -> int:
        return next(self._ids)

    def kill(self) -> None:
        self.dead = True
        try:
            self.proc.kill()
            self.proc.wait()
        except OSError:
            pass
        self.conn.close()

    def call(self, msg: tuple, answer_by: float, *, kill_late: bool = True) -> Any:
        """Send ``msg``; its answer, or WorkerError. A worker still busy with it at
        ``answer_by`` is killed (``kill_late``; a starting worker is not) and the request
        is a timeout; otherwise its late answer is discarded when it comes."""
        with _counted(self):
            if not self.lock.acquire(timeout=_left(answer_by, -1)):
                raise WorkerError(TIMEOUT, "stopped at the time limit (DuckDB's worker was busy)")
        try:
            if self.dead or self.owner != os.getpid():
                raise WorkerError(TIMEOUT, LOST)
            seq = next(self._seq)
            try:
                self.conn.send((seq,) + msg)
                while True:
                    if not self.conn.poll(_left(answer_by, None)):
                        if kill_late and self.ready:
                            self.kill()
                            if self.pool is not None:  # the next request finds one started
                                self.pool.prestart()
                        raise WorkerError(TIMEOUT, "stopped at the time limit"
                                          + ("" if self.ready else " (DuckDB's worker was starting)"))
                    reply = self.conn.recv()
                    if reply[0] == "ready":
                        self.ready = True
                    elif reply[0] == seq:
                        break
            except (EOFError, OSError):
                self.kill()
                raise WorkerError(EXECUTION, "Out of Memory Error: DuckDB's worker process ended "
                                             "(its memory cap was reached, or it crashed)") from None
        finally:
            self.lock.release()
        if reply[1] == "ok":
            return reply[2]
        raise WorkerError(reply[2], reply[3])


def _left(until: float, forever: Any) -> Any:
    """Seconds until ``until`` (0 when past), or ``forever`` for an infinite deadline."""
    return forever if math.isinf(until) else max(0.0, until - time.monotonic())


class _counted:
    def __init__(self, worker: Worker):
        self.worker = worker

    def __enter__(self) -> None:
        self.worker.waiting += 1

    def __exit__(self, *exc: object) -> None:
        self.worker.waiting -= 1


class Pool:
    """Workers sharing one memory cap: at most ``size``, started as they are needed."""

    def __init__(self, max_memory_mb: int, size: int | None = None):
        self.max_memory_mb = int(max_memory_mb)
        self.size = size or max(2, os.cpu_count() or 2)
        self.lock = threading.Lock()
        self.workers: list[Worker] = []

    def prestart(self, count: int = 1) -> None:
        """``count`` workers at least, starting in the background: the first DuckDB task
        waits less."""
        with self.lock:
            self._alive()
            while len(self.workers) < min(count, self.size):
                self.workers.append(Worker(self.max_memory_mb, self))

    def pick(self) -> Worker:
        """An idle worker for a new database; else the least busy (and a new one starts
        for later, up to ``size``)."""
        with self.lock:
            self._alive()
            if 0 < len(self.workers) < min(2, self.size):
                # a spare, once DuckDB is in use: a worker killed at a deadline has one
                # ready to take over
                self.workers.append(Worker(self.max_memory_mb, self))
            idle = [w for w in self.workers if w.waiting == 0 and not w.lock.locked()]
            if idle:
                return min(idle, key=lambda w: not w.ready)
            if len(self.workers) < self.size:
                self.workers.append(Worker(self.max_memory_mb, self))
                if len(self.workers) == 1:
                    return self.workers[0]
            return min(self.workers, key=lambda w: (w.waiting + w.lock.locked(), not w.ready))

    def _alive(self) -> None:
        self.workers = [w for w in self.workers if not w.dead and w.proc.poll() is None]

    def shutdown(self) -> None:
        with self.lock:
            workers, self.workers = self.workers, []
        for w in workers:
            w.kill()

    def pids(self) -> list[int]:
        with self.lock:
            self._alive()
            return [w.pid for w in self.workers]


_pools: dict[int, Pool] = {}
_pools_lock = threading.Lock()
_pools_owner = os.getpid()
MIN_MEMORY_MB = 256  # python and DuckDB take ~120 MB of address space before any query


def pool(max_memory_mb: int) -> Pool:
    """The workers capped at ``max_memory_mb`` (at least MIN_MEMORY_MB) of this process."""
    global _pools_owner
    mb = max(MIN_MEMORY_MB, int(max_memory_mb))
    with _pools_lock:
        if _pools_owner != os.getpid():  # a forked child starts its own workers
            _pools.clear()
            _pools_owner = os.getpid()
        p = _pools.get(mb)
        if p is None:
            p = _pools[mb] = Pool(mb)
        return p


def shutdown() -> None:
    """End every worker of this process (they also end by themselves when it exits)."""
    with _pools_lock:
        pools = list(_pools.values())
    for p in pools:
        p.shutdown()


class Handle:
    """A database (or a cursor's transaction on one) held by a worker."""

    def __init__(self, worker: Worker, hid: int):
        self.worker = worker
        self.hid = hid
        self.closed = False

    @property
    def alive(self) -> bool:
        return not self.closed and not self.worker.dead and self.worker.owner == os.getpid()

    @classmethod
    def open(cls, p: Pool, path: str | None, answer_by: float) -> "Handle":
        worker = p.pick()
        h = cls(worker, worker.new_id())
        worker.call(("open", h.hid, path, database_memory_mb(p.max_memory_mb)), answer_by, kill_late=False)
        return h

    def cursor(self, answer_by: float) -> "Handle":
        h = Handle(self.worker, self.worker.new_id())
        self.worker.call(("cursor", h.hid, self.hid), answer_by, kill_late=False)
        return h

    def run(self, statements: list[str], deadline: float, shared: bool, max_rows: int, max_bytes: int) -> tuple:
        return self.worker.call(("run", self.hid, statements, deadline, shared, max_rows, max_bytes),
                                deadline + GRACE)

    def query(self, sql: str) -> list[tuple]:
        """Rows of the caller's own SQL (never model-written: no guard runs)."""
        return self.worker.call(("query", self.hid, sql), time.monotonic() + OP_TIMEOUT, kill_late=False)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.worker.dead:
            try:
                self.worker.call(("close", self.hid), time.monotonic() + OP_TIMEOUT, kill_late=False)
            except WorkerError:
                pass  # a worker that died or stays busy takes the database with it


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
