"""``--use-ray``: generation and validation as Ray actors (one per CPU of the cluster, or
one per GPU share when the teacher runs a model on a GPU; each async with ``--batch-size``
concurrency), results streamed back to the driver,
which alone writes the run directory (so resume and crash safety are unchanged)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from typing import Any

from sqlbench.distill.options import DistillOptions
from sqlbench.distill.producer import ProviderProducer
from sqlbench.errors import ProviderError, SqlbenchError
from sqlbench.records import Task

LOCAL_CPUS = 2


def actor_gpus(opts: DistillOptions, cluster_gpus: float) -> float:
    """GPUs one actor asks Ray for: config ``ray_num_gpus``, else what its provider needs (a
    vLLM teacher its tensor-parallel GPUs; a Transformers teacher one GPU when the cluster has
    some and the device is not the CPU; an HTTP teacher none). Ray hides the GPUs from an actor
    that asks for none."""
    if opts.ray_num_gpus is not None:
        return float(opts.ray_num_gpus)
    spec = opts.provider
    if spec.name == "vLLM":
        return float(spec.tensor_parallel_size)
    if spec.name == "Transformers" and cluster_gpus and spec.device != "cpu":
        return 1.0
    return 0.0


def actor_plan(opts: DistillOptions, resources: dict[str, float]) -> tuple[int, float]:
    """(actors, GPUs each): one model per actor, as many actors as the cluster's GPUs hold
    (or one per CPU for actors without a GPU)."""
    cpus = max(1, int(resources.get("CPU", 1)))
    have = float(resources.get("GPU", 0))
    gpus = actor_gpus(opts, have)
    if not gpus:
        return cpus, 0.0
    count = int(have // gpus)
    if count < 1:
        raise ProviderError(f"--use-ray: each {opts.provider.name} actor needs {gpus:g} GPU(s) and the Ray cluster has "
                            f"{have:g}; point ray_address at a cluster with GPUs, or set ray_num_gpus: 0")
    return min(count, cpus), gpus


class SampleWorker:
    """Runs inside a Ray worker process: its own provider and validator."""

    def __init__(self, opts: DistillOptions, seed: int):
        from sqlbench.providers import build_provider

        self.opts = opts
        self.provider = build_provider(opts.provider)
        self.judge = None
        self.rng = random.Random(seed)
        self._ready: asyncio.Future | None = None

    async def _ensure(self) -> None:
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start())
        await self._ready

    async def _start(self) -> None:
        from sqlbench.distill.sample import Judge

        await self.provider.start()
        self.judge = Judge(self.opts) if self.opts.validate else None

    async def model(self) -> str:
        await self._ensure()
        return self.provider.model

    async def sample(self, task: Task, sample_index: int) -> dict[str, Any]:
        from sqlbench.distill.sample import produce_sample

        await self._ensure()
        return await produce_sample(self.provider, task, sample_index, self.opts, self.judge, self.rng)


class RayProducer(ProviderProducer):
    def __init__(self, opts: DistillOptions):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ProviderError("--use-ray needs ray: pip install 'sqlbench[ray]'") from None
        super().__init__(opts)  # builds the provider, checking the options before Ray starts
        self.actors: list[Any] = []
        self._next = itertools.count()

    async def start(self) -> None:
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                          logging_level=logging.WARNING, ignore_reinit_error=True)
            if self.opts.ray_address:
                kwargs["address"] = self.opts.ray_address
            else:
                kwargs["num_cpus"] = LOCAL_CPUS
            try:
                ray.init(**kwargs)
            except Exception as e:  # noqa: BLE001 - ConnectionError, RuntimeError, ...
                where = f"the Ray cluster at {self.opts.ray_address}" if self.opts.ray_address else "a local Ray"
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ProviderError(f"--use-ray: cannot start {where}: {first}") from None
        count, gpus = actor_plan(self.opts, ray.cluster_resources())
        actor_cls = ray.remote(num_cpus=1, num_gpus=gpus, max_concurrency=max(2, self.opts.batch_size))(SampleWorker)
        self.actors = [actor_cls.remote(self.opts, self.opts.seed + i) for i in range(count)]
        models = await asyncio.gather(*(self._call(a.model.remote()) for a in self.actors))
        self.provider.model = models[0]

    async def _call(self, ref):
        import ray

        try:
            return await ref
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, SqlbenchError):
                raise cause from None
            raise

    async def ask(self, task: Task, sample_index: int) -> dict[str, Any]:
        """The whole sample, judged inside the worker (validation runs on the cluster)."""
        actor = self.actors[next(self._next) % len(self.actors)]
        return await self._call(actor.sample.remote(task, sample_index))

    async def judge(self, rec: dict[str, Any], task: Task) -> dict[str, Any]:
        return rec

    async def aclose(self) -> None:
        import ray

        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.actors = []
        ray.shutdown()
