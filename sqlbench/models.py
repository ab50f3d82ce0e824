"""Find and load a student model: a model folder, a train run directory, a PEFT
adapter folder, or a Hub id. Used by distill (Transformers provider), eval, chat, serve.

Heavy imports (torch, transformers, peft) happen inside the functions.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from sqlbench.errors import ProviderError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
DEFAULT_CACHE = ".cache/sqlbench"


def _is_model_folder(p: Path) -> bool:
    return (p / "config.json").is_file() or (p / "adapter_config.json").is_file()


def _last_checkpoint(p: Path) -> Path | None:
    ckpts = [c for c in (p / "checkpoints").glob("checkpoint-*") if c.name.split("-")[-1].isdigit()]
    return max(ckpts, key=lambda c: int(c.name.split("-")[-1])) if ckpts else None


def resolve_model_path(spec: str | os.PathLike | None, *, cache_dir: str | os.PathLike = DEFAULT_CACHE) -> Path | str:
    """Where ``spec`` lives: a local folder (Path) or a Hub id (str).

    ``None`` is the tiny offline student (built under ``cache_dir`` on first use). A run
    directory resolves to its ``model/`` (or, while training, its last checkpoint).
    """
    if spec is None or str(spec) in ("", "tiny"):
        from sqlbench.training.tiny import default_tiny_model

        return default_tiny_model(cache_dir)
    p = Path(spec).expanduser()
    if p.exists():
        if not p.is_dir():
            raise ProviderError(f"{p}: a model must be a folder (model, adapter or run directory), not a file")
        if _is_model_folder(p):
            return p
        if (p / "model").is_dir() and _is_model_folder(p / "model"):
            return p / "model"
        ckpt = _last_checkpoint(p)
        if ckpt is not None:
            return ckpt
        if (p / "run.json").is_file():
            raise ProviderError(f"{p}: this run directory holds no model yet (no model/ or checkpoints/)")
        raise ProviderError(f"{p}: not a model folder (no config.json or adapter_config.json)")
    s = str(spec)
    if s.startswith((".", "/", "~")) or not _HUB_ID.match(s):
        raise ProviderError(f"{s}: no such model folder")
    return s


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


def load_model(spec: str | os.PathLike | None, *, device: str = "cpu", dtype: Any = None,
               token: str | None = None, merge: bool = True, cache_dir: str | os.PathLike = DEFAULT_CACHE):
    """``(model, tokenizer)`` in eval mode on ``device``. An adapter folder loads its base
    then the adapter (merged into the weights when ``merge``, which makes inference as
    fast as a plain model). The tokenizer pads on the left, as batched generation needs."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = resolve_model_path(spec, cache_dir=cache_dir)
    torch_dtype = _torch_dtype(dtype, device)
    base = adapter_base(where) if isinstance(where, Path) else None
    try:
        if base is not None:
            from peft import PeftModel

            base_where = resolve_model_path(base, cache_dir=cache_dir)
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
