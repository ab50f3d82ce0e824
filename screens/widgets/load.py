"""One line of system load for the followed job: its CPU and memory, the GPU, and a
warning when other sqlbench jobs compete for its cores or its GPU. Sampled once a second in a
thread worker, only while the job runs."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.widgets import Label

SAMPLE_S = 1.0
GPU_EVERY = 3  # nvidia-smi is a process launch: every third sample
RIVALS_EVERY = 3  # reading every process's command line: every third sample


class LoadLine(Label):
    DEFAULT_CSS = "LoadLine { height: 1; width: 1fr; color: $text-muted; }"

    def __init__(self, pid_of: Callable[[], int | None], **kw) -> None:
        super().__init__("", **kw)
        self.pid_of = pid_of  # the followed job's pid, or None when nothing runs
        self.sampler = None
        self._n = 0
        self._gpu: list = []
        self._rivals: list = []
        self._gpu_rivals: list = []
        self.last: Text = Text()

    def on_mount(self) -> None:
        if getattr(self.app, "live", True):
            self.set_interval(SAMPLE_S, self.tick)

    def tick(self) -> None:
        pid = self.pid_of()
        if not pid:
            if self.last.plain:
                self.last = Text()
                self.update("")
            return
        self._sample(pid)

    @work(thread=True, exclusive=True, group="load-sample")
    def _sample(self, pid: int) -> None:
        from sqlbench import sysload

        if self.sampler is None:
            self.sampler = sysload.LoadSampler()
        table = sysload.process_table()  # one pass over /proc serves every reading below
        load = self.sampler.sample(pid, table)
        if self._n % GPU_EVERY == 0:
            self._gpu = sysload.gpu_load()
            self._gpu_rivals = sysload.gpu_competitors(pid, self._gpu, table) if load is not None else []
        if self._n % RIVALS_EVERY == 0:
            self._rivals = sysload.competitors(pid, self.sampler, table=table) if load is not None else []
        self._n += 1
        self.app.call_from_thread(self.show, load, self._gpu, self._rivals, self._gpu_rivals)

    def show(self, load, gpus, rivals, gpu_rivals=()) -> None:
        from sqlbench.sysload import fmt_bytes

        t = Text()
        if load is not None:
            t.append("cpu ", style="dim")
            t.append("…" if load.cpu_percent is None else f"{load.cpu_percent:.0f}%", style="bold")
            t.append(f" of {len(load.cores)} core(s)", style="dim")
            t.append("  rss ", style="dim")
            t.append(fmt_bytes(load.rss_bytes), style="bold")
        for g in gpus:
            t.append(f"  gpu{g.index} ", style="dim")
            t.append(f"{g.util_percent:.0f}% {g.used_mb / 1024:.1f}/{g.total_mb / 1024:.0f} GB", style="bold")
        if rivals:
            names = ", ".join(f"{r.command} (pid {r.pid})" for r in rivals[:3])
            t.append(f"  ⚠ shares its cores with {names}: both run slower", style="bold yellow")
        if gpu_rivals:
            names = ", ".join(f"{r.command} (pid {r.pid}) on gpu{i}" for i, r in list(gpu_rivals)[:3])
            t.append(f"  ⚠ shares the GPU with {names}: both run slower", style="bold yellow")
        self.last = t
        self.update(t)
