"""What a running job costs the machine: its CPU and memory (with its child processes),
the GPU when ``nvidia-smi`` is there, and whether other sqlbench jobs compete for the
same cores. Read from /proc (Linux); elsewhere each reading is simply absent.

Pure reads, no dependency: the workbench samples these once a second in a worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
JOB_COMMANDS = ("distill", "train", "eval", "tiny-model", "serve", "validate")


@dataclass
class ProcLoad:
    pid: int
    cpu_percent: float | None  # 100 = one core busy; None on the first reading
    rss_bytes: int
    cores: frozenset[int]  # where the scheduler may run it


@dataclass
class GpuLoad:
    util_percent: float
    used_mb: float
    total_mb: float
    index: int = 0
    pids: frozenset[int] = frozenset()  # processes computing on it (nvidia-smi's compute apps)


@dataclass
class Competitor:
    pid: int
    command: str
    cpu_percent: float | None


@dataclass
class LoadSampler:
    """Keeps the previous CPU tick counts so each reading is a rate over the last interval."""

    _last: dict[int, tuple[float, int]] = field(default_factory=dict)

    def sample(self, pid: int, table: dict[int, tuple[int, int]] | None = None) -> ProcLoad | None:
        """``pid`` and its descendants; ``table`` (from :func:`process_table`) spares a
        second scan of /proc when several processes are sampled at once."""
        table = process_table() if table is None else table
        if pid not in table:
            return None
        tree = [pid, *descendants(pid, table)]
        ticks = sum(table[p][0] for p in tree if p in table)
        rss = sum(_rss(p) for p in tree)
        now = time.monotonic()
        cpu = None
        prev = self._last.get(pid)
        if prev is not None and now > prev[0]:
            cpu = max(0.0, (ticks - prev[1]) / _TICK / (now - prev[0]) * 100)
        self._last[pid] = (now, ticks)
        return ProcLoad(pid, cpu, rss, affinity(pid))

    def cpu_of(self, pid: int, table: dict[int, tuple[int, int]] | None = None) -> float | None:
        load = self.sample(pid, table)
        return load.cpu_percent if load else None


def _stat(pid: int) -> tuple[int, int] | None:
    """(utime + stime ticks, parent pid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            rest = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(rest[11]) + int(rest[12]), int(rest[1])


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (cpu ticks, parent pid) of every process: one pass over /proc."""
    table: dict[int, tuple[int, int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for name in entries:
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                table[int(name)] = st
    return table


def descendants(pid: int, table: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """Every process below ``pid`` (validator workers, a tokenizer's threads live inside)."""
    children: dict[int, list[int]] = {}
    for p, (_, ppid) in (process_table() if table is None else table).items():
        children.setdefault(ppid, []).append(p)
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def affinity(pid: int) -> frozenset[int]:
    try:
        return frozenset(os.sched_getaffinity(pid))
    except (AttributeError, OSError):
        return frozenset(range(os.cpu_count() or 1))


def sqlbench_jobs() -> dict[int, str]:
    """pid -> command of every running ``sqlbench <job>`` process on this machine."""
    out: dict[int, str] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        args = [a.decode("utf-8", "replace") for a in argv if a]
        if not any(a.endswith("sqlbench") or a == "sqlbench" for a in args[:3]):
            continue
        cmd = next((a for a in args if a in JOB_COMMANDS), None)
        if cmd:
            out[int(name)] = cmd
    return out


def competitors(pid: int, sampler: LoadSampler, busy: float = 50.0,
                table: dict[int, tuple[int, int]] | None = None) -> list[Competitor]:
    """Other sqlbench jobs busy (≥ ``busy`` % of a core) on cores ``pid`` may use."""
    table = process_table() if table is None else table
    mine = affinity(pid)
    own = {pid, *descendants(pid, table)}
    out = []
    for other, cmd in sqlbench_jobs().items():
        if other in own or not (affinity(other) & mine):
            continue
        cpu = sampler.cpu_of(other, table)
        if cpu is not None and cpu >= busy:  # a first reading (None) is no evidence of being busy
            out.append(Competitor(other, cmd, cpu))
    return out


def gpu_load(timeout: float = 2.0) -> list[GpuLoad]:
    """One reading per GPU from ``nvidia-smi``, with the processes computing on it;
    empty without one (or without a driver)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    gpus_csv = _nvidia_smi(exe, "--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total", timeout)
    gpus, by_uuid = [], {}
    for line in gpus_csv.splitlines():
        try:
            index, uuid, util, used, total = (x.strip() for x in line.split(","))
            gpu = GpuLoad(float(util), float(used), float(total), int(index))
        except ValueError:
            continue
        gpus.append(gpu)
        by_uuid[uuid] = gpu
    if gpus:
        on: dict[str, set[int]] = {}
        for line in _nvidia_smi(exe, "--query-compute-apps=gpu_uuid,pid", timeout).splitlines():
            try:
                uuid, pid = (x.strip() for x in line.split(","))
                on.setdefault(uuid, set()).add(int(pid))
            except ValueError:
                continue
        for uuid, pids in on.items():
            if uuid in by_uuid:
                by_uuid[uuid].pids = frozenset(pids)
    return gpus


def _nvidia_smi(exe: str, query: str, timeout: float) -> str:
    try:
        return subprocess.run([exe, query, "--format=csv,noheader,nounits"], capture_output=True, text=True,
                              timeout=timeout).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def gpu_competitors(pid: int, gpus: list[GpuLoad], table: dict[int, tuple[int, int]] | None = None
                    ) -> list[tuple[int, Competitor]]:
    """(GPU index, job) for other sqlbench jobs computing on a GPU that ``pid`` (or one
    of its children) computes on."""
    if not any(g.pids for g in gpus):
        return []  # no process list (or nothing on the GPUs): no reason to read every command line
    table = process_table() if table is None else table
    own = {pid, *descendants(pid, table)}
    mine = [g for g in gpus if g.pids & own]
    if not mine:
        return []
    out = []
    for other, cmd in sqlbench_jobs().items():
        if other in own:
            continue
        tree = {other, *descendants(other, table)}
        for g in mine:
            if g.pids & tree:
                out.append((g.index, Competitor(other, cmd, None)))
    return out


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
