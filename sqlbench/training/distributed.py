"""Training across processes: launching ``sqlbench train`` data-parallel, and deciding which
process writes the run directory.

``sqlbench train --num-processes N`` re-runs the same command under ``torchrun`` (or
``accelerate launch --config_file FILE`` for DeepSpeed/FSDP); every process trains on its
shard of each batch and the gradients are all-reduced (gloo on CPU, NCCL on CUDA). Only rank 0
writes ``run.json``, the streams, checkpoints' weights, ``model/`` and ``summary.json``: the
other ranks' rewards and completions reach it through TRL's own gathers, so nothing is lost
and nothing is written twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlbench.errors import ConfigError

# Set by torchrun / accelerate launch in every process they start.
_RANK_VARS = ("RANK", "WORLD_SIZE")
# A diagnostic for tests and benchmarks: each rank writes what it trained to DIR/rank-N.json.
RANK_REPORT_ENV = "SQLBENCH_RANK_REPORT"


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Ranks":
        env = os.environ if environ is None else environ
        try:
            return cls(int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")))
        except ValueError:
            return cls()


def launched(environ: dict[str, str] | None = None) -> bool:
    """True inside a process torchrun/accelerate started (it must train, not launch again)."""
    env = os.environ if environ is None else environ
    return all(v in env for v in _RANK_VARS)


def _cuda_devices() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - no torch, or a broken driver: count no GPU
        return 0


def check_launch(num_processes: int, accelerate_config: str | None = None, *, cores: int | None = None,
                 gpus: int | None = None) -> dict[str, Any] | None:
    """One line (ConfigError) for a launch that cannot work, before anything starts; returns the
    accelerate config it read, if any."""
    cores = (os.cpu_count() or 1) if cores is None else cores
    gpus = _cuda_devices() if gpus is None else gpus
    if num_processes < 1:
        raise ConfigError(f"--num-processes must be >= 1 (got {num_processes})")
    config = read_accelerate_config(accelerate_config) if accelerate_config else None
    if config is not None and num_processes == 1:  # not given: the file's count
        num_processes = int(config.get("num_processes") or 1)
    if gpus and num_processes > gpus:
        raise ConfigError(f"--num-processes {num_processes}: this machine has {gpus} GPU(s); use at most {gpus} "
                          "per node (several nodes: see README, Scale-out)")
    if not gpus and num_processes > cores:
        raise ConfigError(f"--num-processes {num_processes}: this machine has no GPU and {cores} CPU core(s); "
                          f"use at most {cores}")
    return config


def read_accelerate_config(path: str | os.PathLike) -> dict[str, Any]:
    """An accelerate config file, read by accelerate's own parser; one line when it is missing,
    unreadable, or needs a package that is not installed."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--accelerate-config {p}: no such file (ready-made ones: configs/accelerate/)")
    from accelerate.commands.config.config_args import load_config_from_file

    try:
        cfg = load_config_from_file(str(p)).to_dict()
    except Exception as e:  # noqa: BLE001 - accelerate raises whatever its parser raises
        raise ConfigError(f"--accelerate-config {p}: accelerate cannot read it: {e}") from None
    kind = str(cfg.get("distributed_type", "")).upper()
    if "DEEPSPEED" in kind and not _installed("deepspeed"):
        raise ConfigError(f"--accelerate-config {p} uses DeepSpeed, which is not installed: "
                          "pip install -e '.[deepspeed]' (CUDA machines)")
    return cfg


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(argv: list[str], num_processes: int, run_dir: str | os.PathLike, *,
                   accelerate_config: str | None = None, port: int | None = None) -> list[str]:
    """The command that runs ``sqlbench <argv>`` in ``num_processes`` processes, all writing
    (through rank 0) to ``run_dir``, which the launcher fixes so every rank agrees on it."""
    args = _without(argv, "--run-dir") + ["--run-dir", str(run_dir)]
    port = port or free_port()
    if accelerate_config:
        count = ["--num_processes", str(num_processes)] if num_processes > 1 else []  # else the file's
        head = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config),
                *count, "--main_process_port", str(port), "-m", "sqlbench"]
    else:
        head = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(num_processes),
                "--master_addr", "127.0.0.1", "--master_port", str(port), "-m", "sqlbench"]
    return head + args


def _without(argv: list[str], flag: str) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + "="):
            out.append(a)
    return out


LAUNCHED_BY_SQLBENCH = "SQLBENCH_LAUNCHER"


def launch(cmd: list[str]) -> int:
    """Run the launcher; a Ctrl-C / SIGTERM goes straight to every rank (each stops after the
    step they agree on, rank 0 saves the checkpoint and marks the run interrupted), not to
    torchrun, which would tear the ranks down with a traceback of its own."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")  # N processes share the cores instead of each taking all
    env[LAUNCHED_BY_SQLBENCH] = "1"  # a stopped rank exits 0: the launcher reports the interruption
    proc = subprocess.Popen(cmd, env=env)

    def relay(signum, frame):
        targets = _children(proc.pid) or [proc.pid]
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    old = {s: signal.signal(s, relay) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (torchrun's ranks), from /proc; [] where it cannot tell."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def any_rank_stops(local: bool) -> bool:
    """True on every rank when any rank was asked to stop. A SIGTERM reaches the ranks at
    slightly different steps; without agreeing they would leave the step's collectives
    unmatched (a hang) and save different checkpoints. One tiny all-reduce per step."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError:
        return local
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return local
    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    flag = torch.tensor([1 if local else 0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def wait_for_everyone(ranks: Ranks) -> None:
    """A barrier between stages: rank 0 saves the SFT model the others then load for GRPO."""
    if ranks.world > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()


class QuietRun:
    """The run directory as a rank other than 0 sees it: it reads, never writes."""

    def __init__(self, run):
        self._run = run
        self.path = run.path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    def event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def append(self, *args: Any, **kwargs: Any) -> None:
        pass

    def finish(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update_info(self, **fields: Any) -> dict[str, Any]:
        return self._run.info()

    @contextlib.contextmanager
    def recording_failure(self) -> Iterator["QuietRun"]:
        yield self


def report_rank(ranks: Ranks, stage: str, step: int, model) -> None:
    """With $SQLBENCH_RANK_REPORT set, each rank records its steps and a checksum of its trainable
    weights: after an all-reduced step every rank holds the same weights."""
    folder = os.environ.get(RANK_REPORT_ENV)
    if not folder:
        return
    import torch

    with torch.no_grad():
        params = [p.detach().double() for p in model.parameters() if p.requires_grad]
        checksum = float(sum(p.sum() for p in params)) if params else 0.0
        norm = float(sum((p * p).sum() for p in params)) if params else 0.0
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rec = {"rank": ranks.rank, "world": ranks.world, "stage": stage, "step": step, "checksum": checksum,
           "sq_norm": norm}
    with open(out / f"rank-{ranks.rank}.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
