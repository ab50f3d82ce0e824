"""Gather concurrent requests into batches for a local model that generates many
prompts at once (Transformers, vLLM). The model runs in one worker thread, so the
event loop stays free and the model is never entered twice at the same time."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

from sqlbench.providers.base import Completion, GenParams

# one Completion per request, or the exception that request alone ends with
BatchFn = Callable[[Sequence[list[dict[str, str]]], GenParams], "list[Completion | BaseException]"]


class MicroBatcher:
    def __init__(self, run_batch: BatchFn, max_batch: int, gather_s: float = 0.01):
        self._run_batch = run_batch
        self._max_batch = max(1, max_batch)
        self._gather_s = gather_s
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlbench-generate")

    async def submit(self, messages: list[dict[str, str]], params: GenParams) -> Completion:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._loop())
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((messages, params, fut))
        return await fut

    async def _loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(self._gather_s)  # let the other in-flight requests arrive
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [b for b in batch if not b[2].done()]  # cancelled while queued
            # one generate call per distinct sampling setup
            groups: dict[GenParams, list] = {}
            for item in batch:
                groups.setdefault(item[1], []).append(item)
            for params, items in groups.items():
                try:
                    outs = await loop.run_in_executor(self._executor, self._run_batch, [i[0] for i in items], params)
                except Exception as e:  # noqa: BLE001 - handed to each waiting request
                    for _, _, fut in items:
                        if not fut.done():
                            fut.set_exception(e)
                    continue
                for (_, _, fut), out in zip(items, outs):
                    if fut.done():
                        continue
                    if isinstance(out, BaseException):  # this request alone failed (e.g. too long)
                        fut.set_exception(out)
                    else:
                        fut.set_result(out)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, Exception):
                pass
            self._worker = None
        self._executor.shutdown(wait=False, cancel_futures=True)
