"""The final dataset of a distillation: one row per task from its best sample.

Rows keep the source task's ``id`` and columns and add ``reasoning``, ``sql_answer``,
``completion``, ``messages`` (system / user / assistant, ready for SFT: the user turn is
the plain question + schema, without the ``--hint-gold`` reference even when the teacher
saw it), ``teacher_model``, ``provider``, ``valid`` and ``reason``. With
``remove_no_valid`` only valid rows stay. Tasks whose every request failed have no
answer and give no row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlbench.prompts import SYSTEM_PROMPT, build_messages, format_answer
from sqlbench.records import UNVERIFIED, Task
from sqlbench.runs.outcome import tally

DATASET_JSONL = "dataset.jsonl"
DATASET_DIR = "dataset"


def _rank(rec: dict[str, Any]) -> tuple:
    """Higher is better: valid, then unverified (not known wrong), then answered, then
    well-formed, then earliest."""
    return (rec.get("valid") is True, rec.get("reason") == UNVERIFIED, rec.get("status") == "ok", bool(rec.get("think") and rec.get("sql")),
            -int(rec.get("sample_index") or 0))


def best_samples(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for rec in records:
        tid = str(rec.get("task_id"))
        if tid not in best or _rank(rec) > _rank(best[tid]):
            best[tid] = rec
    return best


def _jsonable(value: Any) -> Any:
    """Source columns as JSON values (parquet rows can hold numpy arrays, timestamps)."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        if hasattr(value, "tolist"):
            return value.tolist()
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [_jsonable(v) for v in value]
        return str(value)


def final_rows(tasks: Sequence[Task], records: Iterable[dict[str, Any]], *, remove_no_valid: bool,
               system_prompt: str | None = None) -> list[dict[str, Any]]:
    best = best_samples(records)
    rows = []
    for task in tasks:
        rec = best.get(task.id)
        if rec is None or rec.get("status") != "ok":
            continue
        if remove_no_valid and rec.get("valid") is not True:
            continue
        think, sql = rec.get("think") or "", rec.get("sql") or ""
        assistant = format_answer(think, sql) if think and sql else (rec.get("completion") or "")
        messages = build_messages(task, system_prompt or SYSTEM_PROMPT) + [{"role": "assistant", "content": assistant}]
        row = {str(k): _jsonable(v) for k, v in dict(task.row).items()}
        row.update(
            id=task.id,
            reasoning=think,
            sql_answer=sql,
            completion=rec.get("completion") or "",
            messages=messages,
            teacher_model=rec.get("model"),
            provider=rec.get("provider"),
            valid=rec.get("valid"),
            reason=rec.get("reason"),
        )
        rows.append(row)
    return rows


def counts(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Headline counts of samples: valid, invalid by reason, failed, unjudged (the run
    store's one classification rule)."""
    counted = tally(records).as_dict()
    return {"samples": counted.pop("done"), **counted}


def write_dataset(run_path: str | os.PathLike, rows: list[dict[str, Any]]) -> Path:
    """``dataset.jsonl`` (atomic) and a ``datasets`` save_to_disk copy in ``dataset/``."""
    from sqlbench.redact import redact_obj

    run_path = Path(run_path)
    rows = redact_obj(rows)  # raw values, before either copy is encoded
    tmp = run_path / f".{DATASET_JSONL}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, run_path / DATASET_JSONL)
    to_hf_dataset(rows).save_to_disk(str(run_path / DATASET_DIR))
    return run_path / DATASET_JSONL


def to_hf_dataset(rows: list[dict[str, Any]]):
    from sqlbench.publish import rows_to_dataset

    if not rows:  # keep the schema readable even when nothing survived the filter
        import datasets

        return datasets.Dataset.from_dict({k: [] for k in ("id", "reasoning", "sql_answer", "completion",
                                                            "teacher_model", "provider", "valid", "reason")})
    return rows_to_dataset(rows)
