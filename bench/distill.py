"""Distillation throughput against the loopback teacher.

The teacher (a separate process, so its HTTP threads do not share our GIL) answers
every request after 200 ms; sqlbench distills with --batch-size 64 and validation on.
Ideal throughput is 64 / 0.2 s = 320 samples/s; the ratio achieved/ideal is the score
(goal >= 0.9). Last line: {"bench": "distill", "ratio": ..., "samples_per_s": ...}.

    python bench/distill.py [--quick] [--tasks N] [--latency S] [--batch-size N] [--use-ray]

--use-ray runs the same distillation a second time through Ray actors (local Ray, one actor
per CPU) and reports Ray against the in-process run (ray_vs_in_process, goal >= 0.9 at 64 in
flight) and against the ideal (ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_teacher(tasks_file: Path, latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fixtures.teacher", "--port", "0", "--latency", str(latency),
                             "--dataset", str(tasks_file)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "loopback teacher on " not in line:
        proc.kill()
        raise SystemExit(f"teacher did not start: {line!r}")
    return proc, line.split("loopback teacher on ", 1)[1].split()[0]


def reference_rate(base_url: str, n: int, concurrency: int) -> float:
    """Requests/s of the bare openai SDK (no pipeline, no validation, no run directory)
    against the same teacher: what this machine allows right now, to read the ratio
    against when it is busy."""
    import asyncio

    import openai

    body = {"model": "loopback-teacher", "messages": [{"role": "user", "content": "reference " * 200}]}

    async def go() -> float:
        client = openai.AsyncOpenAI(api_key="EMPTY", base_url=base_url, max_retries=0, timeout=30)
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                await client.post("/chat/completions", body=body, cast_to=object)

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        rate = n / (time.perf_counter() - t0)
        await client.close()
        return rate

    return asyncio.run(go())


def _distill(settings, tmp: Path, name: str) -> tuple[float, int, int]:
    """(samples per second of generation, samples, valid) of one run."""
    from sqlbench.config import Secrets
    from sqlbench.distill import run_distill
    from sqlbench.runs import RunDir

    path = run_distill(settings, Secrets(), run_dir=tmp / name, argv=["bench"], progress=False)
    run = RunDir(path)
    events = run.read("events")
    started = next(e["t"] for e in events if e["type"] == "started")
    last = max(e["t"] for e in events if e["type"] in ("sample", "failed"))
    samples = run.read("samples")
    valid = sum(1 for s in samples if s.get("valid") is True)
    return len(samples) / max(last - started, 1e-9), len(samples), valid


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer tasks (well under 45 s)")
    p.add_argument("--tasks", type=int, default=None)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--use-ray", action="store_true",
                   help="also run through Ray actors (local Ray) and report Ray against the in-process run")
    a = p.parse_args(argv)
    n = a.tasks or (3200 if a.quick else 8000)  # 50 / 125 rounds of 64: start-up is a small share
    if a.use_ray:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            print("bench/distill.py --use-ray needs ray: pip install -e '.[ray]'", file=sys.stderr)
            return 2

    from sqlbench.config import Settings
    from tests.fixtures.teacher import write_shop_tasks

    with tempfile.TemporaryDirectory(prefix="sqlbench-bench-") as tmp:
        tasks_file = write_shop_tasks(Path(tmp) / "tasks.jsonl", n)
        teacher, base_url = start_teacher(tasks_file, a.latency)

        def settings(use_ray: bool) -> Settings:
            return Settings.model_validate({
                "base_url": base_url, "runs_dir": str(Path(tmp) / "runs"), "temperature": 0.0,
                "distill": {"provider": "OpenAI", "model": "loopback-teacher", "dataset_repo_id": str(tasks_file),
                            "limit": n, "batch_size": a.batch_size, "validate": True, "retries": 0,
                            "use_ray": use_ray}})

        try:
            t0 = time.time()
            rate, count, valid = _distill(settings(False), Path(tmp), "run")
            wall = time.time() - t0
            ray_rate = None
            if a.use_ray:  # same teacher, same tasks, measured in the same run: the ratio is what counts
                ray_rate, ray_count, ray_valid = _distill(settings(True), Path(tmp), "ray")
            ref = reference_rate(base_url, min(n, 640), a.batch_size)
        finally:
            teacher.terminate()
            teacher.wait(10)
    ideal = a.batch_size / a.latency
    print(f"{count} samples ({valid} valid) at {rate:.1f} samples/s ({wall:.2f}s total), ideal {ideal:.0f}/s; "
          f"the bare SDK gets {ref:.1f}/s here now", file=sys.stderr)
    out = {"bench": "distill", "ratio": round(rate / ideal, 4), "samples_per_s": round(rate, 2),
           "ideal_samples_per_s": ideal, "bare_sdk_ratio": round(ref / ideal, 4), "tasks": n, "valid": valid,
           "batch_size": a.batch_size, "latency_s": a.latency, "cpus": os.cpu_count()}
    if ray_rate is not None:
        print(f"Ray: {ray_count} samples ({ray_valid} valid) at {ray_rate:.1f} samples/s: "
              f"{ray_rate / rate:.3f} of in-process, {ray_rate / ideal:.3f} of ideal", file=sys.stderr)
        # Ray's last line: ratio is Ray against ideal; ray_vs_in_process the cost of Ray (goal >= 0.9)
        out.update(ratio=round(ray_rate / ideal, 4), samples_per_s=round(ray_rate, 2), use_ray=True,
                   ray_vs_in_process=round(ray_rate / rate, 4), in_process_ratio=round(rate / ideal, 4),
                   in_process_samples_per_s=round(rate, 2), ray_valid=ray_valid)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
