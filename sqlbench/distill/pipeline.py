"""The distillation pipeline: tasks -> teacher -> verdict -> run directory."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlbench.config import Secrets, Settings
from sqlbench.distill.control import Control
from sqlbench.distill.dataset import counts, final_rows, write_dataset
from sqlbench.distill.inputs import InputReport, check_inputs
from sqlbench.distill.options import DistillOptions, resolve_options
from sqlbench.distill.producer import ProviderProducer
from sqlbench.distill.progress import Counters, ProgressView
from sqlbench.distill.sample import Judge, ask, judge_record
from sqlbench.errors import DatasetError, RunDirError
from sqlbench.records import Task
from sqlbench.runs import FAILED, FINISHED, INTERRUPTED, RunDir, write_error

if TYPE_CHECKING:
    from sqlbench.inference.models import TinyStudent

PROGRESS_EVERY_S = 1.0
STOP_GRACE_MAX_S = 30.0  # how long a stop waits for requests in flight
STOP_POLL_S = 0.1  # how often a long start-up looks for a stop


class LocalProducer(ProviderProducer):
    """Generation in this process (async client or batched local model), validation in
    a thread pool."""

    def __init__(self, opts: DistillOptions):
        super().__init__(opts)
        self.validator: Judge | None = None
        self.rng = random.Random(opts.seed)

    async def start(self) -> None:
        await self.provider.start()
        self.validator = Judge(self.opts) if self.opts.validate else None

    async def ask(self, task: Task, sample_index: int) -> dict[str, Any]:
        return await ask(self.provider, task, sample_index, self.opts, self.rng)

    async def judge(self, rec: dict[str, Any], task: Task) -> dict[str, Any]:
        return await judge_record(rec, task, self.validator)

    async def aclose(self) -> None:
        await self.provider.aclose()
        if self.validator is not None:
            self.validator.close()


def load_distill_tasks(opts: DistillOptions) -> tuple[list[Task], InputReport]:
    """The tasks to ask (every one of them: repeated ids are keyed apart) and what was
    noticed about the input (see ``sqlbench.distill.inputs``)."""
    from sqlbench.data.loader import load_tasks

    tasks = load_tasks(opts.dataset, split=opts.split, limit=opts.limit, fmt=opts.fmt, token=opts.hf_token,
                       seed=opts.seed, db_dir=opts.db_dir)
    from sqlbench.data.dbschema import database_problems

    for line in database_problems(tasks):  # those rows go on, judged bad_context
        print(f"sqlbench: {line}", file=sys.stderr)
    if not tasks:
        raise DatasetError(f"{opts.dataset or 'the bundled dataset'} ({opts.split}) holds no tasks")
    return check_inputs(tasks, opts.dataset)


def done_pairs(run: RunDir) -> set[tuple[str, int]]:
    """(task_id, sample_index) pairs with a final record: these are never asked again."""
    return {(str(r.get("task_id")), int(r.get("sample_index") or 0)) for r in run.iter_records("samples")
            if r.get("status") in ("ok", "failed")}


class Pipeline:
    def __init__(self, run: RunDir, opts: DistillOptions, tasks: list[Task], producer: Any, control: Control,
                 on_sample: Callable[[dict[str, Any]], None] | None = None, progress: bool | None = None,
                 inputs: InputReport | None = None):
        self.run = run
        self.inputs = inputs or InputReport()
        self.opts = opts
        self.tasks = tasks
        self.producer = producer
        self.control = control
        self.on_sample = on_sample
        self.progress = progress
        self.fatal: BaseException | None = None
        self.counters = Counters(total=len(tasks) * opts.num_samples)
        self.view: ProgressView | None = None

    def _todo(self) -> list[tuple[Task, int]]:
        ids = {t.id for t in self.tasks}
        done = done_pairs(self.run)
        for rec in self.run.iter_records("samples"):
            if str(rec.get("task_id")) in ids and rec.get("status") in ("ok", "failed") \
                    and int(rec.get("sample_index") or 0) < self.opts.num_samples:
                self.counters.add(rec)
        return [(t, i) for t in self.tasks for i in range(self.opts.num_samples) if (t.id, i) not in done]

    def _record(self, rec: dict[str, Any]) -> None:
        self.run.append("samples", rec)
        self.counters.add(rec)
        common = dict(task_id=rec["task_id"], sample_index=rec["sample_index"], attempts=rec["attempts"])
        if rec["status"] == "failed":
            self.run.event("failed", error=rec["error"], **common)
        else:
            self.run.event("sample", valid=rec["valid"], reason=rec["reason"], latency_s=rec["latency_s"], **common)
        if self.view is not None:
            self.view.refresh()
        if self.on_sample is not None:
            try:
                self.on_sample(rec)
            except Exception:  # noqa: BLE001 - an observer must not break the run
                pass

    async def _one(self, task: Task, idx: int, slots: asyncio.Semaphore) -> None:
        try:
            try:
                rec = await self.producer.ask(task, idx)
            finally:
                slots.release()  # the next request goes out while this answer is judged
            rec = await self.producer.judge(rec, task)
            self._record(rec)
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # noqa: BLE001 - stops the run, reported once
            if self.fatal is None:
                self.fatal = e

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            self.run.event("progress", **self.counters.snapshot())

    async def run_async(self) -> bool:
        """True when every sample is recorded; False when stopped first."""
        todo = self._todo()
        loop = asyncio.get_running_loop()
        signals = self.control.install_signals(loop)
        try:
            if not await self._start_unless_stopped():
                return False
            pending = {t.id for t, _ in todo}
            self.run.event("started", total=len(self.tasks), done=sum(1 for t in self.tasks if t.id not in pending),
                total_samples=self.counters.total, done_samples=self.counters.done,
                provider=self.producer.name, model=self.producer.model, dataset=self.opts.dataset or "bundled",
                num_samples=self.opts.num_samples, use_ray=self.opts.use_ray)
            if self.inputs:
                self.run.event("input_warning", **self.inputs.event())
            self.run.update_info(provider=self.producer.name, model=self.producer.model)
            self.view = ProgressView(self.counters, f"distill {self.producer.model}"[:40], enabled=self.progress)
            self.counters.start_clock()
            ticker = asyncio.create_task(self._ticker())
            try:
                return await self._dispatch(todo)
            finally:
                ticker.cancel()
                self.counters.stop_clock()
                self.run.event("progress", **self.counters.snapshot())
                self.view.close()
        finally:
            self.control.remove_signals(loop, signals)
            await self.producer.aclose()

    async def _start_unless_stopped(self) -> bool:
        """``producer.start()`` (clients, model loading, the server's model list), given
        up as soon as a stop arrives: a stop is effective in every phase. False if stopped."""
        start = asyncio.ensure_future(self.producer.start())
        while not start.done():
            if self.control.stopped:
                start.cancel()
                await asyncio.gather(start, return_exceptions=True)
                return False
            await asyncio.wait({start}, timeout=STOP_POLL_S)
        start.result()
        return True

    async def _dispatch(self, todo: list[tuple[Task, int]]) -> bool:
        slots = asyncio.Semaphore(self.opts.batch_size)
        inflight: set[asyncio.Task] = set()
        stopped = False
        for task, idx in todo:
            await slots.acquire()
            if self.fatal is not None or not await self.control.gate(self.run.event):
                slots.release()
                stopped = True
                break
            t = asyncio.create_task(self._one(task, idx, slots))
            inflight.add(t)
            t.add_done_callback(inflight.discard)
        cancelled = await self._drain(inflight) if inflight else 0
        if self.fatal is not None:
            raise self.fatal
        # a stop that came after the last dispatch, with every answer recorded, is a finished run
        return not stopped and cancelled == 0

    async def _drain(self, inflight: set[asyncio.Task]) -> int:
        """Wait for the requests in flight (bounded once stopped); returns how many were cancelled."""
        pending = set(inflight)
        deadline = time.monotonic() + min(self.opts.timeout * (self.opts.retries + 1), STOP_GRACE_MAX_S)
        while pending:
            done, pending = await asyncio.wait(pending, timeout=0.2)
            if self.fatal is not None or self.control.forced or \
                    (self.control.stopped and time.monotonic() > deadline):
                break
        for t in pending:  # not recorded: a resume asks again
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)


def _make_producer(opts: DistillOptions):
    if opts.use_ray:
        from sqlbench.distill.ray_backend import RayProducer

        return RayProducer(opts)
    return LocalProducer(opts)


def run_distill(settings: Settings, secrets: Secrets, *, run_dir: str | Path | None = None,
                stop: threading.Event | None = None, pause: threading.Event | None = None,
                argv: list[str] | None = None, on_sample: Callable[[dict[str, Any]], None] | None = None,
                progress: bool | None = None, tiny: TinyStudent | None = None) -> Path:
    """Run (or resume) a distillation in ``run_dir``; returns the run directory. The run's
    lock (``RunDir.lock``) is held until this returns: a second job on the same
    directory fails with one line. ``tiny`` builds the tiny student, the Transformers
    teacher's default."""
    import sys

    opts = resolve_options(settings, secrets, tiny=tiny)
    producer = _make_producer(opts)  # bad provider options fail here, before a run directory exists
    tasks, inputs = load_distill_tasks(opts)
    for line in inputs.messages():
        print(f"sqlbench distill: warning: {line}", file=sys.stderr)
    run = RunDir.create(Path(run_dir) if run_dir else None, "distill", {**settings.public_dict(), "run": opts.public()},
                        root=settings.runs_dir, argv=argv, lock=True)
    try:
        control = Control(run.path, stop=stop, pause=pause)
        pipeline = Pipeline(run, opts, tasks, producer, control, on_sample=on_sample, progress=progress,
                            inputs=inputs)
        try:
            complete = asyncio.run(pipeline.run_async())
        except BaseException as e:
            _record_end(run, e)
            raise
        return _finish(run, opts, tasks, pipeline, complete)
    finally:
        run.close()
        run.unlock()


def _record_end(run: RunDir, e: BaseException) -> None:
    """How a run that raised ended: interrupted by Ctrl-C/SIGTERM, else failed with the error."""
    if isinstance(e, KeyboardInterrupt):
        _best_effort(lambda: _mark_interrupted(run))
    else:
        _best_effort(lambda: run.finish(FAILED, error=str(e) or type(e).__name__))


def _mark_interrupted(run: RunDir) -> None:
    run.event("finished", status=INTERRUPTED, counts=counts(run.read("samples")))
    run.close()
    run.update_info(status=INTERRUPTED, finished=time.time())


def _best_effort(record: Callable[[], None]) -> None:
    """Record how a run ended when its directory still takes writes; when it does not
    (full, read-only), the original error is what the user needs to see."""
    try:
        record()
    except (RunDirError, OSError):
        pass


def _finish(run: RunDir, opts: DistillOptions, tasks: list[Task], pipeline: Pipeline, complete: bool) -> Path:
    import sys

    records = [r for r in run.read("samples") if r.get("status") in ("ok", "failed")]
    summary = counts(records)
    extra: dict[str, Any] = {}
    if complete:
        try:
            rows = final_rows(tasks, records, remove_no_valid=opts.remove_no_valid, system_prompt=opts.system_prompt)
            try:
                write_dataset(run.path, rows)
            except OSError as e:
                raise write_error(run.path, e) from None
            extra["dataset_rows"] = len(rows)
            if opts.publish:
                from sqlbench.distill.card import dataset_card
                from sqlbench.publish import push_dataset

                card = dataset_card(opts, pipeline.producer.name, pipeline.producer.model, summary, len(rows))
                extra["published"] = push_dataset(run.path, opts.publish_repo_id, token=opts.hf_token,
                                                  private=opts.private_repo, card=card)
        except BaseException as e:
            _record_end(run, e)
            raise
    status = FINISHED if complete else INTERRUPTED
    run.event("finished", status=status, counts=summary, **extra)
    run.close()
    run.update_info(status=status, finished=time.time(), counts=summary, **extra)
    print(f"distill {status}: {pipeline.counters.summary()} -> {run.path}", file=sys.stderr)
    return run.path
