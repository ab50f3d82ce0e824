"""Find and load a student model: a model folder, a train run directory, a PEFT
adapter folder, a GGUF file (or a folder or Hub repo holding one), a named student
(``tiny``, ``smollm2-135m``) or a Hub id. Used by distill (Transformers provider),
train, eval, chat, serve: this is the one resolver all of them go through. It never
builds the tiny student itself (that is training's work): callers pass ``tiny``.

Heavy imports (torch, transformers, peft) happen inside the functions.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

from sqlbench.errors import ProviderError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_HUB_GGUF = re.compile(r"^([A-Za-z0-9][\w.\-]*/[\w.\-]+)/([\w.\-]+\.gguf)$", re.IGNORECASE)
DEFAULT_CACHE = ".cache/sqlbench"
# How to get the tiny offline student: cache_dir -> its folder, built on first use. Building
# it is training's work, so callers above pass it in (sqlbench.training.tiny.default_tiny_model).
TinyStudent = Callable[[str | os.PathLike], Path]


def _is_model_folder(p: Path) -> bool:
    return (p / "config.json").is_file() or (p / "adapter_config.json").is_file()


def _last_checkpoint(p: Path) -> Path | None:
    ckpts = [c for c in (p / "checkpoints").glob("checkpoint-*") if c.name.split("-")[-1].isdigit()]
    return max(ckpts, key=lambda c: int(c.name.split("-")[-1])) if ckpts else None


def with_gguf_file(spec: str | None, gguf_file: str | None) -> str | None:
    """``--model M --gguf-file NAME`` as one spec: ``M/NAME`` (a folder's file or a Hub
    repo's). A spec is what every command passes around, so nothing else needs the flag."""
    from sqlbench.errors import ConfigError
    from sqlbench.inference.students import STUDENTS, TINY

    if not gguf_file:
        return spec
    if not spec:
        raise ConfigError("--gguf-file names a file in --model's folder or Hub repo: give --model too")
    if "/" in gguf_file or not gguf_file.lower().endswith(".gguf"):
        raise ConfigError(f"--gguf-file {gguf_file}: give the name of a .gguf file in --model's folder or Hub repo")
    spec = str(spec).rstrip("/")
    if spec.endswith("/" + gguf_file):  # already folded (a resumed run's stored model)
        return spec
    if spec in (TINY, *STUDENTS) and not Path(spec).exists():
        raise ConfigError(f"--gguf-file {gguf_file}: --model {spec} is a named student, not a folder or Hub repo "
                          "of GGUF files")
    if Path(spec).expanduser().is_file():
        raise ConfigError(f"--gguf-file {gguf_file}: --model {spec} is a file already; give its folder, "
                          "or drop --gguf-file")
    return f"{spec}/{gguf_file}"


def resolve_model_path(spec: str | os.PathLike | None, *, cache_dir: str | os.PathLike = DEFAULT_CACHE,
                       token: str | None = None, announce: Callable[[str], None] | None = None,
                       tiny: TinyStudent | None = None) -> Path | str:
    """Where ``spec`` lives: a local folder (Path) or a Hub id (str).

    ``None`` or ``tiny`` is the tiny offline student, ``tiny(cache_dir)`` (built under
    ``cache_dir`` on first use); ``smollm2-135m`` a named real student
    (sqlbench.inference.students). A run directory resolves to its ``model/`` (or, while
    training, its last checkpoint). A GGUF file, a folder holding one, or
    ``owner/repo/NAME.gguf`` on the Hub resolves to its converted safetensors folder
    under ``cache_dir`` (converted on first use).
    """
    from sqlbench.inference.gguf_convert import ensure_converted, gguf_files, is_gguf, pick_gguf
    from sqlbench.inference.students import STUDENTS, TINY, resolve_student

    if spec is None or str(spec) in ("", TINY):
        if tiny is None:
            raise ProviderError("the tiny student needs its builder: pass tiny=sqlbench.training.tiny.default_tiny_model")
        return tiny(cache_dir)
    if str(spec) in STUDENTS and not Path(spec).exists():
        return resolve_student(str(spec), cache_dir, announce=_once(announce, f"{spec}@{Path(cache_dir).resolve()}"))
    p = Path(spec).expanduser()
    if p.exists():
        if not p.is_dir():
            if is_gguf(p):
                return ensure_converted(p, cache_dir)
            raise ProviderError(f"{p}: a model must be a folder (model, adapter or run directory) or a .gguf file, "
                                "not this file")
        if _is_model_folder(p):
            return p
        if (p / "model").is_dir() and _is_model_folder(p / "model"):
            return p / "model"
        ckpt = _last_checkpoint(p)
        if ckpt is not None:
            return ckpt
        if (p / "run.json").is_file():
            raise ProviderError(f"{p}: this run directory holds no model yet (no model/ or checkpoints/)")
        if gguf_files(p):
            return ensure_converted(pick_gguf(p, None), cache_dir)
        raise ProviderError(f"{p}: not a model folder (no config.json, adapter_config.json or .gguf file)")
    s = str(spec)
    if p.suffix.lower() == ".gguf" and p.parent.is_dir():  # --model FOLDER --gguf-file NAME, NAME missing
        return ensure_converted(pick_gguf(p.parent, p.name), cache_dir)
    if s.startswith((".", "/", "~")) or not (_HUB_ID.match(s) or _HUB_GGUF.match(s)):
        raise ProviderError(f"{s}: no such model folder or file, and not an alias ({', '.join(_aliases())}) "
                            "or a Hub id")
    m = _HUB_GGUF.match(s)
    if m:
        return ensure_converted(_hub_download(m.group(1), m.group(2), token), cache_dir)
    only = _hub_gguf_only(s, token)
    if only:
        return ensure_converted(_hub_download(s, only, token), cache_dir)
    return s


def _hub_gguf_only(repo: str, token: str | None) -> str | None:
    """The GGUF file of a Hub repo that holds GGUF files and no config.json; None when
    the repo is an ordinary model, or the Hub cannot be asked (from_pretrained then
    tries, and its error says why)."""
    from huggingface_hub import constants

    if "/" not in repo or constants.HF_HUB_OFFLINE:
        return None
    try:
        from huggingface_hub import HfApi

        files = [f.rfilename for f in (HfApi().model_info(repo, timeout=10, token=token).siblings or [])]
    except Exception:  # noqa: BLE001 - offline, private, missing: from_pretrained reports it
        return None
    ggufs = sorted(f for f in files if f.lower().endswith(".gguf") and "/" not in f)
    if "config.json" in files or not ggufs:
        return None
    if len(ggufs) > 1:
        raise ProviderError(f"Hub repo {repo} holds {len(ggufs)} GGUF files ({', '.join(ggufs[:8])}"
                            f"{', ...' if len(ggufs) > 8 else ''}): choose one with --gguf-file NAME")
    return ggufs[0]


def _aliases() -> list[str]:
    from sqlbench.inference.students import aliases

    return aliases()


_announced: set[str] = set()


def _once(announce: Callable[[str], None] | None, key: str) -> Callable[[str], None]:
    """Commands resolve a spec more than once (early, to fail before a run directory
    exists, then to load): on stderr the resolution is said once per spec and process.
    A caller's own ``announce`` hears every resolution."""
    if announce is not None:
        return announce

    def say(msg: str) -> None:
        if key not in _announced:
            _announced.add(key)
            print(msg, file=sys.stderr, flush=True)
    return say


def _hub_download(repo: str, filename: str, token: str | None) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo, filename, token=token))
    except Exception as e:  # noqa: BLE001 - network and Hub errors come in many types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ProviderError(f"cannot download {filename} from Hub repo {repo}: {first}") from None


def adapter_base(path: Path) -> str | None:
    """The base model an adapter folder was trained from, or None for a full model."""
    cfg = path / "adapter_config.json"
    if not cfg.is_file():
        return None
    try:
        base = json.loads(cfg.read_text()).get("base_model_name_or_path")
    except ValueError as e:
        raise ProviderError(f"{cfg}: not valid JSON ({e})") from None
    if not base:
        raise ProviderError(f"{cfg}: no base_model_name_or_path")
    return base


def _torch_dtype(dtype: Any, device: str):
    import torch

    if dtype is None or dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_available():
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, str):
        try:
            return getattr(torch, dtype)
        except AttributeError:
            raise ProviderError(f"unknown dtype {dtype!r} (use float32, bfloat16 or float16)") from None
    return dtype


def load_model(spec: str | os.PathLike | None, *, device: str | None = "auto", dtype: Any = None,
               token: str | None = None, merge: bool = True, cache_dir: str | os.PathLike = DEFAULT_CACHE,
               tiny: TinyStudent | None = None):
    """``(model, tokenizer)`` in eval mode on ``device`` (``auto``: CUDA when present, else
    CPU; see sqlbench.devices). An adapter folder loads its base
    then the adapter (merged into the weights when ``merge``, which makes inference as
    fast as a plain model). The tokenizer pads on the left, as batched generation needs."""
    from sqlbench.devices import pick_device

    device = pick_device(device)  # an unavailable device fails before any weights load
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = resolve_model_path(spec, cache_dir=cache_dir, token=token, tiny=tiny)
    torch_dtype = _torch_dtype(dtype, device)
    base = adapter_base(where) if isinstance(where, Path) else None
    try:
        if base is not None:
            from peft import PeftModel

            base_where = resolve_model_path(base, cache_dir=cache_dir, tiny=tiny)
            model = AutoModelForCausalLM.from_pretrained(base_where, dtype=torch_dtype, token=token)
            model = PeftModel.from_pretrained(model, str(where))
            if merge:
                model = model.merge_and_unload()
            tok_src = where if (where / "tokenizer_config.json").is_file() else base_where
        else:
            model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype, token=token)
            tok_src = where
        tokenizer = AutoTokenizer.from_pretrained(tok_src, token=token)
    except ProviderError:
        raise
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(where, str):  # a Hub id: say what else it could have been
            raise ProviderError(f"cannot load model {spec}: tried a local folder or file (none), the aliases "
                                f"({', '.join(_aliases())}) and the Hub ({first})") from None
        raise ProviderError(f"cannot load model {spec}: {first}") from None
    except Exception as e:  # network errors from the Hub client come in many types
        if type(e).__module__.split(".")[0] in ("huggingface_hub", "requests", "httpx", "urllib3"):
            raise ProviderError(f"cannot download model {spec}: {type(e).__name__}") from None
        raise
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.to(device)
    model.eval()
    return model, tokenizer
