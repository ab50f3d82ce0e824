"""One loader for every dataset sqlbench reads: the bundled set, local files, a run
directory's distilled data, or a Hugging Face Hub id.

``load_rows`` gives the raw rows, ``load_tasks`` the same rows (same selection, same
order) normalised into :class:`Task` records. Local JSONL/JSON/CSV never import
``datasets`` (the bundled set loads in milliseconds); Parquet uses pyarrow and
``save_to_disk`` folders and Hub ids use ``datasets``, each imported only when needed.
"""

from __future__ import annotations

import csv
import json
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from sqlbench.data.formats import (
    BIRD,
    SPIDER,
    SpiderSchemas,
    columns_of,
    detect_format,
    task_for,
)
from sqlbench.errors import DatasetError
from sqlbench.records import Task
from sqlbench.redact import redact

DEFAULT_DATASET = Path(__file__).resolve().parent / "sample" / "tasks.jsonl"

DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
PathLike = str | os.PathLike


@dataclass
class _Source:
    name: str  # for messages
    rows: Any  # list[dict] or a datasets.Dataset (random access + select)
    path: Path | None = None  # local file or folder, to find Spider's tables.json beside it

    def __len__(self) -> int:
        return len(self.rows)

    def columns(self) -> list[str]:
        names = getattr(self.rows, "column_names", None)
        return list(names) if names is not None else columns_of(self.rows)

    def take(self, indices: Sequence[int]) -> list[dict]:
        if isinstance(self.rows, list):
            return [self.rows[i] for i in indices]
        return self.rows.select(list(indices)).to_list()


# ---- public API ----------------------------------------------------------------------


def load_rows(
    source: PathLike | None = None,
    *,
    split: str = "train",
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 42,
    token: str | None = None,
) -> list[dict]:
    """Raw rows of ``source`` (see :func:`load_tasks`), unchanged."""
    src = _open(source, split, token)
    return src.take(select_indices(len(src), limit=limit, shuffle=shuffle, seed=seed))


def load_tasks(
    source: PathLike | None = None,
    *,
    split: str = "train",
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 42,
    fmt: str | None = None,
    token: str | None = None,
    tables: PathLike | None = None,
    db_dir: PathLike | None = None,
) -> list[Task]:
    """Tasks from ``source``: None = the bundled dataset; a local path (``.jsonl``,
    ``.json``, ``.parquet``, ``.csv``, a ``save_to_disk`` folder, a folder of such files,
    a sqlbench run directory); anything else is a Hub id. ``fmt`` (gretel, spider,
    synsql, bird, distilled, sqlbench) overrides detection; ``tables`` names Spider's
    tables.json when it is not beside the questions. ``db_dir`` holds the rows' database
    files (``DB_DIR/<db_id>/<db_id>.sqlite``; a row's own ``db_path`` column wins): those
    tasks run on the real data (see data/dbschema.py). Shuffle (seeded) comes before ``limit``."""
    src = _open(source, split, token)
    kind, base = detect_format(src.columns(), fmt, source=src.name)
    has_db_path = "db_path" in src.columns()
    if base == BIRD and db_dir is None and not has_db_path:
        raise DatasetError(f"{src.name}: BIRD rows need their database files: pass --db-dir DIR "
                           "(DIR/<db_id>/<db_id>.sqlite) or give each row a db_path column")
    db_backed = db_dir is not None or has_db_path
    schemas = _spider_schemas(src, tables, required=not db_backed) if base == SPIDER else None
    indices = select_indices(len(src), limit=limit, shuffle=shuffle, seed=seed)
    rows = src.take(indices)
    tasks = [task_for(kind, base, row, i, schemas, db_backed) for i, row in zip(indices, rows)]
    if db_backed:
        from sqlbench.data.dbschema import attach_databases

        if db_dir is not None and not Path(db_dir).expanduser().is_dir():
            raise DatasetError(f"--db-dir {db_dir}: no such folder (expected DIR/<db_id>/<db_id>.sqlite)")
        base_dir = src.path if src.path is None or src.path.is_dir() else src.path.parent
        tasks = attach_databases(tasks, db_dir, base_dir)
    return tasks


def load_training_tasks(source: str | None = None, *, split: str = "train", limit: int | None = None,
                        seed: int = 42, token: str | None = None, db_dir: str | None = None) -> list[Task]:
    """The tasks ``train`` and ``eval`` read (bundled dataset when ``source`` is None); with
    ``db_dir``, backed by the database files there."""
    return load_tasks(source, split=split, limit=limit, seed=seed, token=token, db_dir=db_dir)


def task_from_row(
    row: Mapping[str, Any],
    fmt: str | None = None,
    *,
    index: int = 0,
    tables: PathLike | Sequence[Mapping[str, Any]] | None = None,
) -> Task:
    """One raw row -> Task (format detected from its own columns unless ``fmt``)."""
    kind, base = detect_format(list(row), fmt, source="row")
    schemas = None
    if base == SPIDER and tables is not None:
        if isinstance(tables, (str, os.PathLike)):
            schemas = SpiderSchemas(_read_tables(Path(tables)), str(tables))
        else:
            schemas = SpiderSchemas(tables)
    return task_for(kind, base, row, index, schemas)


def select_indices(n: int, *, limit: int | None = None, shuffle: bool = False, seed: int = 42) -> list[int]:
    """Which rows, in which order: a seeded permutation (same seed = same order on any
    machine), then the first ``limit``."""
    if limit is not None and limit < 0:
        raise DatasetError(f"--limit must be 0 or more, got {limit}")
    indices = list(range(n))
    if shuffle:
        random.Random(seed).shuffle(indices)
    return indices if limit is None else indices[:limit]


# ---- opening a source -----------------------------------------------------------------


def _open(source: PathLike | None, split: str, token: str | None) -> _Source:
    if source is None:
        if not DEFAULT_DATASET.is_file():
            raise DatasetError(f"the bundled dataset is missing ({DEFAULT_DATASET}); reinstall sqlbench")
        return _Source(str(DEFAULT_DATASET), _read_jsonl(DEFAULT_DATASET), DEFAULT_DATASET)
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.exists():
        src = _open_path(path, split)
    elif _looks_local(text):
        raise DatasetError(f"no such file or folder: {text}")
    else:
        src = _open_hub(text, split, token)
    if len(src) == 0:
        raise DatasetError(f"{src.name} holds no rows")
    return src


def _looks_local(text: str) -> bool:
    """A path the user meant as local (so a typo is not sent to the Hub)."""
    return (
        os.path.isabs(text)
        or text.startswith((".", "~"))
        or text.lower().endswith(DATA_SUFFIXES)
        or text.count("/") > 1
    )


def _open_path(path: Path, split: str) -> _Source:
    name = str(path)
    if path.is_file():
        return _Source(name, _read_file(path, split), path)
    if (path / "run.json").is_file():  # a sqlbench run directory: its distilled data
        if (path / "dataset.jsonl").is_file():
            return _Source(name, _read_jsonl(path / "dataset.jsonl"), path / "dataset.jsonl")
        if (path / "dataset").is_dir():
            return _open_path(path / "dataset", split)
        raise DatasetError(f"run directory {name} has no dataset.jsonl yet (has the run finished?)")
    if _is_saved_dataset(path):
        return _Source(name, _load_from_disk(path, split), path)
    files = _data_files(path, split)
    if not files:
        raise DatasetError(
            f"{name} holds no dataset: expected {', '.join(DATA_SUFFIXES)} files, "
            "a datasets.save_to_disk folder or a sqlbench run directory"
        )
    rows: list[dict] = []
    for f in files:
        rows.extend(_read_file(f, split))
    return _Source(name, rows, path)


def _is_saved_dataset(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def _data_files(folder: Path, split: str) -> list[Path]:
    """Data files under ``folder`` (Spider's tables.json excluded); those named for
    ``split`` when any are (``train.jsonl``, ``data/train-00000-of-00001.parquet``)."""
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not _is_tables_file(p)
    )

    def named_for_split(p: Path) -> bool:
        words = p.stem.replace("-", "_").replace(".", "_").split("_")
        return split in words or split in p.relative_to(folder).parts[:-1]

    chosen = [p for p in files if named_for_split(p)]
    return chosen or files


def _is_tables_file(path: Path) -> bool:
    return path.suffix.lower() == ".json" and "tables" in path.stem.lower()


# ---- readers ---------------------------------------------------------------------------


def _read_file(path: Path, split: str) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path)
    if suffix == ".json":
        return _read_json(path, split)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise DatasetError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(DATA_SUFFIXES)}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from e


def _read_jsonl(path: Path, text: str | None = None) -> list[dict]:
    text = _read_text(path) if text is None else text
    rows: list[dict] = []
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            if n == len(lines):  # torn last line of a file still being written: skip it
                break
            raise DatasetError(f"{path}:{n}: not a JSON line ({e})") from e
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{n}: expected a JSON object per line, got {type(row).__name__}")
        rows.append(row)
    return rows


def _read_json(path: Path, split: str) -> list[dict]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except ValueError:
        return _read_jsonl(path, text)  # Dataset.to_json writes JSON lines under a .json name
    if isinstance(data, dict):
        for key in (split, "data", "rows"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            raise DatasetError(
                f"{path}: expected a list of rows, or an object with a {split!r}/'data' list; "
                f"found keys: {', '.join(map(str, data)) or '(none)'}"
            )
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DatasetError(f"{path}: expected a JSON list of objects (rows)")
    return data


def _read_csv(path: Path) -> list[dict]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # schemas and explanations are long
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"cannot read {path} as CSV: {e}") from e


def _read_parquet(path: Path) -> list[dict]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow is a dependency
        raise DatasetError(f"reading {path} needs pyarrow: pip install pyarrow") from e
    try:
        return pq.read_table(path).to_pylist()
    except Exception as e:  # pyarrow raises several types for a bad file
        raise DatasetError(f"cannot read {path} as Parquet: {e}") from e


def _load_from_disk(path: Path, split: str):
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as e:
        raise DatasetError(f"cannot read the saved dataset {path}: {e}") from e
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DatasetError(f"{path} has no split {split!r}; splits: {', '.join(ds)}")
        ds = ds[split]
    return ds


def _open_hub(repo_id: str, split: str, token: str | None) -> _Source:
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is a dependency
        raise DatasetError(f"loading {repo_id!r} from the Hub needs `datasets`: pip install datasets") from e
    try:
        ds = datasets.load_dataset(repo_id, split=split, token=token)
    except Exception as e:
        first = redact(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
        raise DatasetError(
            f"cannot load {repo_id!r} (split {split!r}) from the Hugging Face Hub: {first}; "
            "check the id, the network and HF_TOKEN, or pass a local path (.jsonl, .json, .parquet, .csv, "
            "save_to_disk folder)"
        ) from None
    return _Source(f"{repo_id} ({split})", ds, None)


# ---- Spider schemas --------------------------------------------------------------------


def _read_tables(path: Path) -> list[dict]:
    try:
        data = json.loads(_read_text(path))
    except ValueError as e:
        raise DatasetError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, list) or not all(isinstance(t, dict) and "db_id" in t for t in data):
        raise DatasetError(f"{path}: not a Spider tables.json (a list of schemas with db_id)")
    return data


def _find_tables(path: Path | None) -> Path | None:
    if path is None:
        return None
    folder = path if path.is_dir() else path.parent
    if (folder / "tables.json").is_file():
        return folder / "tables.json"
    found = sorted(p for p in folder.glob("*.json") if _is_tables_file(p) and p != path)
    return found[0] if found else None


def _spider_schemas(src: _Source, tables: PathLike | None, required: bool = True) -> SpiderSchemas | None:
    path = Path(tables).expanduser() if tables is not None else _find_tables(src.path)
    if path is None:
        if "messages" in src.columns() or not required:
            return None  # distilled rows carry their schema in the user message
        raise DatasetError(
            f"{src.name}: Spider rows need their tables.json: put tables.json (or *tables*.json) "
            "beside the questions file, or pass its path (tables=)"
        )
    if not path.is_file():
        raise DatasetError(f"no such tables.json: {path}")
    return SpiderSchemas(_read_tables(path), str(path))
