"""Publish to the Hugging Face Hub with huggingface_hub: one commit of files to a repo
(created when missing, ``private`` honoured). ``push_files`` is generic (a trained model
folder goes the same way); ``push_dataset`` turns rows or a run's ``dataset.jsonl`` into
one parquet file plus a dataset card.

The endpoint is ``HF_ENDPOINT`` when set (read at call time, so a test's loopback
stand-in works in-process too). Cards and file texts pass through ``redact``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from sqlbench.errors import SqlbenchError
from sqlbench.redact import redact, redact_obj

PARQUET_PATH = "data/train-00000-of-00001.parquet"


class PublishError(SqlbenchError):
    """The Hub refused or could not be reached."""


def hub_endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT") or None


def push_files(repo_id: str, files: Mapping[str, str | os.PathLike | bytes], *, repo_type: str = "model",
               token: str | None = None, private: bool = False, message: str = "Upload with sqlbench") -> str:
    """Create ``repo_id`` if needed and commit ``files`` ({path in repo: local path or
    bytes}) in one commit; returns the repo URL."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=hub_endpoint(), token=token)
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=src if isinstance(src, bytes) else str(src))
               for p, src in files.items()]
        api.create_commit(repo_id, operations=ops, commit_message=message, repo_type=repo_type)
    except Exception as e:  # noqa: BLE001 - HTTP and network errors of many types
        first = redact(str(e).strip().splitlines()[0]) if str(e).strip() else type(e).__name__
        raise PublishError(f"publishing to {repo_id} failed: {first}") from None
    return str(url)


KEEP_NESTED = ("messages",)  # sqlbench's own nested columns, always one shape


def rows_to_dataset(rows: Sequence[Mapping[str, Any]]):
    """A ``datasets.Dataset`` of ``rows``. Source columns whose nested values Arrow cannot
    type (Spider's parsed ``sql`` mixes lists and scalars) are stored as JSON text."""
    import datasets

    datasets.disable_progress_bars()  # stderr belongs to sqlbench's own progress
    rows = [dict(r) for r in rows]
    if not rows:
        return datasets.Dataset.from_dict({"id": []})
    try:
        return datasets.Dataset.from_list(rows)
    except (ValueError, TypeError) as first:  # pyarrow's ArrowInvalid/ArrowTypeError subclass these
        import pyarrow as pa

        nested = {k for r in rows for k, v in r.items() if isinstance(v, (dict, list)) and k not in KEEP_NESTED}
        for key in sorted(nested):
            try:
                pa.array([r.get(key) for r in rows])
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                for r in rows:
                    if key in r and r[key] is not None:
                        r[key] = json.dumps(r[key], ensure_ascii=False, default=str)
        try:
            return datasets.Dataset.from_list(rows)
        except (ValueError, TypeError):
            raise first from None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def push_dataset(source: str | os.PathLike | Sequence[Mapping[str, Any]], repo_id: str, *,
                 token: str | None = None, private: bool = False, card: str | None = None,
                 message: str = "Upload dataset with sqlbench") -> str:
    """Publish rows (a list of dicts, a ``.jsonl`` file, or a run directory holding
    ``dataset.jsonl``) as ``data/train-….parquet`` with ``card`` as README.md."""
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        rows = _read_jsonl(p / "dataset.jsonl" if p.is_dir() else p)
    else:
        rows = [dict(r) for r in source]
    rows = redact_obj(rows)  # a published row never carries a registered secret
    with tempfile.TemporaryDirectory(prefix="sqlbench-publish-") as tmp:
        parquet = Path(tmp) / "train.parquet"
        rows_to_dataset(rows).to_parquet(str(parquet))
        files: dict[str, str | os.PathLike | bytes] = {PARQUET_PATH: parquet}
        if card is not None:
            files["README.md"] = redact(card).encode()
        return push_files(repo_id, files, repo_type="dataset", token=token, private=private, message=message)
