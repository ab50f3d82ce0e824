"""Stop and pause for a running distillation: threading.Events from an embedding
thread (the TUI), SIGTERM/SIGINT for a detached process, and the run store's pause
file (``sqlbench.runs.pause``)."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

from sqlbench.runs.pause import pause_path

POLL_S = 0.1


class Control:
    def __init__(self, run_path: Path, stop: threading.Event | None = None, pause: threading.Event | None = None):
        self.pause_file = pause_path(run_path)
        self._stop = stop
        self._pause = pause
        self._signalled = 0
        self.paused_now = False

    @property
    def stopped(self) -> bool:
        return self._signalled > 0 or (self._stop is not None and self._stop.is_set())

    @property
    def forced(self) -> bool:
        """A second signal: do not wait for the requests in flight."""
        return self._signalled > 1

    def paused(self) -> bool:
        return (self._pause is not None and self._pause.is_set()) or self.pause_file.exists()

    def on_signal(self) -> None:
        self._signalled += 1

    async def gate(self, event) -> bool:
        """Wait while paused (emitting ``paused``/``resumed``); False once stopped."""
        while not self.stopped and self.paused():
            if not self.paused_now:
                self.paused_now = True
                event("paused")
            await asyncio.sleep(POLL_S)
        if self.paused_now:
            self.paused_now = False
            event("resumed")
        return not self.stopped

    def install_signals(self, loop: asyncio.AbstractEventLoop) -> list[tuple[int, object]]:
        """SIGTERM/SIGINT -> stop (main thread only: signals cannot be caught elsewhere).
        Returns what to hand to ``remove_signals``, which puts the previous handlers
        back (the CLI's own, which turn a signal outside the loop into an interrupt)."""
        if threading.current_thread() is not threading.main_thread():
            return []
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            try:
                loop.add_signal_handler(sig, self.on_signal)
                installed.append((sig, previous))
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return installed

    @staticmethod
    def remove_signals(loop: asyncio.AbstractEventLoop, installed: list[tuple[int, object]]) -> None:
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            if previous is not None:
                signal.signal(sig, previous)
