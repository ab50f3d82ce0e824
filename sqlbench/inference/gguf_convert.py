"""GGUF files as students: checked, then converted once into a safetensors folder.

transformers can load a GGUF (dequantised to fp32), but that takes tens of seconds
every time and ``save_pretrained`` refuses the result. So the first use rebuilds the
model from its config, loads the dequantised weights into it and saves an ordinary
model folder under ``cache_dir/gguf/<sha256 of the file>/``; later loads read that
folder in seconds. Everything a user can get wrong (not a GGUF, a truncated copy, an
architecture or quantisation transformers cannot read, no ``gguf`` package, not
enough memory) is found from the header, before any weight is read, and said in one
line.

Heavy imports (gguf, numpy, torch, transformers) happen inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from sqlbench.errors import ProviderError

MAGIC = b"GGUF"
MARKER = "sqlbench-gguf.json"  # written last: its presence means the conversion is complete
_HASHES = "hashes.json"  # path -> (size, mtime, sha256): a multi-GB file is hashed once
# Converting holds the GGUF-loaded model and its rebuilt copy at once, both fp32.
CONVERT_COPIES = 2


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    architecture: str
    name: str
    n_params: int
    file_bytes: int
    quant_types: tuple[str, ...]

    @property
    def fp32_bytes(self) -> int:
        return self.n_params * 4


def is_gguf(path: Path) -> bool:
    """By name or by content: the first four bytes of every GGUF file are ``GGUF``."""
    if path.suffix.lower() == ".gguf":
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == MAGIC
    except OSError:
        return False


def gguf_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.gguf") if p.is_file())


def pick_gguf(folder: Path, name: str | None) -> Path:
    """The one GGUF in ``folder``, or the one named ``name`` (``--gguf-file``)."""
    if name:
        p = folder / name
        if not p.is_file():
            have = ", ".join(f.name for f in gguf_files(folder)) or "none"
            raise ProviderError(f"{folder}: no GGUF file named {name} (GGUF files there: {have})")
        return p
    found = gguf_files(folder)
    if not found:
        raise ProviderError(f"{folder}: not a model folder (no config.json, adapter_config.json or .gguf file)")
    if len(found) > 1:
        raise ProviderError(f"{folder} holds {len(found)} GGUF files ({', '.join(f.name for f in found)}): "
                            "choose one with --gguf-file NAME")
    return found[0]


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil is optional
        return None


def check_memory(info: GgufInfo, copies: int = 1) -> None:
    need = info.fp32_bytes * copies
    have = available_memory()
    if have is not None and need > have:
        what = "convert" if copies > 1 else "load"
        raise ProviderError(
            f"{info.path.name}: too large for this machine's memory ({_human(info.file_bytes)} on disk, "
            f"{info.n_params / 1e6:.1f} M parameters; to {what} it dequantised to fp32 needs about {_human(need)}, "
            f"{_human(have)} is available): free memory or choose a smaller model")


def _need_gguf_package():
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ProviderError("reading GGUF files needs the gguf package: pip install gguf "
                            "(make setup installs it)") from None
    return gguf


def _check_magic(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as e:
        raise ProviderError(f"{path}: cannot read ({e.strerror or e})") from None
    if head != MAGIC:
        raise ProviderError(f"{path}: not a GGUF file (it does not start with the GGUF signature); "
                            "give a .gguf model file, a model folder or a Hub id")


def inspect_gguf(path: str | os.PathLike) -> GgufInfo:
    """Read and check the header of a GGUF file; every problem is a one-line ProviderError."""
    path = Path(path)
    _check_magic(path)
    gguf = _need_gguf_package()
    size = path.stat().st_size
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as e:  # noqa: BLE001 - the reader fails in many ways on a cut-off header
        raise ProviderError(f"{path}: truncated or corrupt GGUF file ({_first_line(e)}); download it again") from None
    end = max((t.data_offset + int(t.n_bytes) for t in reader.tensors), default=reader.data_offset)
    if end > size:
        raise ProviderError(f"{path}: truncated GGUF file ({size} bytes, its header describes {end}); "
                            "download it again")
    arch = _field_str(reader, "general.architecture") or "?"
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    from gguf.quants import _type_traits  # what the dequantiser implements

    supported_arches = [a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in ("general", "tokenizer", "t5", "umt5")]
    try:  # the newer loader's architectures (transformers 5.2x)
        from transformers.integrations.gguf import GGUF_ARCHS

        supported_arches += [a for a in GGUF_ARCHS if a not in supported_arches]
    except ImportError:
        pass
    if arch not in supported_arches:
        raise ProviderError(f"{path}: GGUF architecture {arch!r} cannot be loaded as a causal LM by transformers "
                            f"(supported: {', '.join(supported_arches)}); use a model of a supported architecture "
                            "or its safetensors release")
    readable = {gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, *_type_traits}
    bad = sorted({t.tensor_type.name for t in reader.tensors if t.tensor_type not in readable})
    if bad:
        raise ProviderError(f"{path}: GGUF quantisation type {', '.join(bad)} cannot be dequantised by the gguf "
                            "package; use a file quantised as Q4_K_M, Q8_0, F16 or another supported type")
    return GgufInfo(path=path, architecture=arch, name=_field_str(reader, "general.name") or path.stem,
                    n_params=sum(int(t.n_elements) for t in reader.tensors), file_bytes=size,
                    quant_types=tuple(sorted({t.tensor_type.name for t in reader.tensors})))


def _field_str(reader, key: str) -> str | None:
    f = reader.fields.get(key)
    if f is None or not f.data:
        return None
    try:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    except (UnicodeDecodeError, TypeError, IndexError):
        return None


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__


def file_sha256(path: Path, cache_root: Path) -> str:
    """sha256 of ``path``, remembered by (path, size, mtime) under ``cache_root``."""
    st = path.stat()
    key = str(path.resolve())
    memo_file = cache_root / _HASHES
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    hit = memo.get(key)
    if isinstance(hit, dict) and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns:
        return str(hit["sha256"])
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    digest = h.hexdigest()
    memo[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = memo_file.with_name(f".{_HASHES}.{os.getpid()}")
    tmp.write_text(json.dumps(memo, indent=1))
    os.replace(tmp, memo_file)
    return digest


def converted_dirs(cache_dir: str | os.PathLike) -> list[tuple[Path, dict]]:
    """Complete conversions under ``cache_dir``: (folder, marker), newest first."""
    out = []
    for marker in (Path(cache_dir) / "gguf").glob(f"*/{MARKER}"):
        try:
            out.append((marker.parent, json.loads(marker.read_text())))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda x: x[1].get("converted_at", 0), reverse=True)


def cached_fits(folder: Path, meta: dict) -> Path:
    """A converted folder, after checking it fits in memory (it loads as fp32)."""
    n = int(meta.get("n_params") or 0)
    if n:
        check_memory(GgufInfo(path=Path(meta.get("file", folder.name)), architecture=str(meta.get("architecture")),
                              name=str(meta.get("name")), n_params=n, file_bytes=int(meta.get("file_bytes") or 0),
                              quant_types=()))
    return folder


def ensure_converted(path: str | os.PathLike, cache_dir: str | os.PathLike, *,
                     log: Callable[[str], None] | None = None) -> Path:
    """The safetensors folder for the GGUF at ``path``, converting it on first use."""
    path = Path(path)
    root = Path(cache_dir) / "gguf"
    _check_magic(path)
    digest = file_sha256(path, root)
    out = root / digest[:16]
    marker = out / MARKER
    if marker.is_file():  # converted before: the header was checked then
        return cached_fits(out, json.loads(marker.read_text()))
    info = inspect_gguf(path)
    check_memory(info, CONVERT_COPIES)
    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / f".{out.name}.lock"):  # one converter per file; the others wait, then find it
        if marker.is_file():
            return out
        say = log or (lambda m: print(m, file=sys.stderr, flush=True))
        say(f"converting {path.name} ({_human(info.file_bytes)}, {info.architecture}, "
            f"{info.n_params / 1e6:.1f} M parameters) once into {out} ...")
        _convert(path, info, digest, out)
    return out


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _convert(path: Path, info: GgufInfo, digest: str, out: Path) -> None:
    from tqdm.auto import tqdm

    tmp = out.with_name(f".{out.name}.{os.getpid()}.converting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.time()
    bar = tqdm(total=4, desc=f"converting {path.name}", unit="step", file=sys.stderr, leave=True,
               bar_format="{desc}: {n_fmt}/{total_fmt} {bar} [{elapsed}] {postfix}")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        bar.set_postfix_str("tokenizer")
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        bar.update()
        bar.set_postfix_str("dequantising weights")
        loaded = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
        bar.update()
        bar.set_postfix_str("rebuilding")
        # save_pretrained refuses a GGUF-quantised model: build a plain one from its config
        cfg = loaded.config.to_dict()
        cfg.pop("quantization_config", None)
        cfg.pop("_name_or_path", None)
        config = type(loaded.config).from_dict(cfg)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        state = loaded.state_dict()
        missing, unexpected = model.load_state_dict(state, strict=False)
        tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
        if set(missing) - tied or unexpected:
            raise ProviderError(f"{path}: its tensors do not match a {type(model).__name__} "
                                f"(missing {sorted(set(missing) - tied)[:3]}, unexpected {sorted(unexpected)[:3]})")
        model.tie_weights()
        model.generation_config = loaded.generation_config
        del loaded, state
        bar.update()
        bar.set_postfix_str("saving")
        model.save_pretrained(tmp)
        tokenizer.padding_side = "left"
        tokenizer.save_pretrained(tmp)
        bar.update()
        bar.set_postfix_str(f"done in {time.time() - t0:.0f}s")
        (tmp / MARKER).write_text(json.dumps({
            "sha256": digest, "file": path.name, "source": str(path.resolve()), "name": info.name,
            "architecture": info.architecture, "n_params": info.n_params, "file_bytes": info.file_bytes,
            "quant_types": list(info.quant_types), "converted_s": round(time.time() - t0, 1),
            "converted_at": time.time()}, indent=2))
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    except ProviderError:
        raise
    except Exception as e:  # noqa: BLE001 - transformers' GGUF loader fails in many ways
        raise ProviderError(f"{path}: cannot convert this GGUF ({_first_line(e)})") from None
    finally:
        bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
