"""Which torch device a model runs on: ``auto`` (CUDA when present, else CPU), ``cpu``,
``cuda``, ``cuda:N`` or ``mps``. Every model loader goes through :func:`pick_device`, so
eval, chat, serve and a local teacher use the GPU a machine has without being told, and
``--device`` (config ``device``) overrides. torch is imported only when a device is picked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlbench.errors import ConfigError

_SPEC = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
CHOICES = "auto, cpu, cuda, cuda:N or mps"


@dataclass(frozen=True)
class Devices:
    """What this machine offers (a seam for tests: the real one asks torch)."""

    cuda: int = 0
    mps: bool = False

    @classmethod
    def probe(cls) -> "Devices":
        try:
            import torch
        except ImportError:
            return cls()
        try:
            cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
        except Exception:  # noqa: BLE001 - a broken driver: no usable GPU
            cuda = 0
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        return cls(cuda=cuda, mps=mps)


def check_spec(spec: str | None) -> str:
    """The spelling alone (no torch): one line for anything that is not a device name."""
    s = (spec or "auto").strip().lower()
    if not _SPEC.match(s):
        raise ConfigError(f"--device {spec}: not a device; use {CHOICES}")
    return s


def pick_device(spec: str | None = "auto", devices: Devices | None = None) -> str:
    """The torch device string for ``spec`` on this machine; a device it does not have is
    one line naming what it has."""
    s = check_spec(spec)
    have = devices if devices is not None else Devices.probe()
    if s == "auto":
        return "cuda" if have.cuda else "cpu"
    if s.startswith("cuda"):
        index = int(s.split(":")[1]) if ":" in s else 0
        if not have.cuda:
            raise ConfigError(f"--device {s}: this machine has no CUDA GPU (torch sees none); use --device cpu or auto")
        if index >= have.cuda:
            raise ConfigError(f"--device {s}: this machine has {have.cuda} CUDA GPU(s) (cuda:0..cuda:{have.cuda - 1})")
    if s == "mps" and not have.mps:
        raise ConfigError("--device mps: Apple's Metal backend is not available here; use --device cpu or auto")
    return s
