"""What distill noticed about its input tasks, so no task is dropped without a word.

* **Duplicate ids.** Samples are keyed by task id (resume skips recorded ids), so two
  tasks sharing an id would be asked once. Every task is kept instead: the first keeps
  its id, the k-th repeat becomes ``<id>#k`` (``#2``, ``#3``, …; the numbering follows
  input order, so a resume renames the same way).
* **A torn last line** of a JSON-lines input (a file still being written, or cut) is
  skipped by the loader; it is named here with its line number.

Both are reported as one ``input_warning`` event (``RUN/events.jsonl``) and one line
each on stderr.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlbench.records import Task

DUPLICATE_SEP = "#"
EVENT_LIST_MAX = 1000
_TAIL_BYTES = 1 << 20  # a torn line longer than this is still found: we read back to its start


@dataclass
class InputReport:
    duplicate_ids: dict[str, int] = field(default_factory=dict)  # id -> how many tasks had it
    renamed: dict[str, str] = field(default_factory=dict)  # new id -> original id
    torn_last_line: dict[str, Any] | None = None  # {"path", "line"}

    def __bool__(self) -> bool:
        return bool(self.duplicate_ids or self.torn_last_line)

    def messages(self) -> list[str]:
        out = []
        if self.duplicate_ids:
            shown = ", ".join(f"{k!r} x{v}" for k, v in list(self.duplicate_ids.items())[:10])
            more = f" and {len(self.duplicate_ids) - 10} more" if len(self.duplicate_ids) > 10 else ""
            extra = sum(v - 1 for v in self.duplicate_ids.values())
            out.append(f"{len(self.duplicate_ids)} task id(s) repeat in the input ({shown}{more}); every task is "
                       f"asked: the {extra} repeat(s) are keyed <id>{DUPLICATE_SEP}2, <id>{DUPLICATE_SEP}3, ...")
        if self.torn_last_line:
            t = self.torn_last_line
            out.append(f"{t['path']}:{t['line']}: the last line is incomplete (not JSON) and was skipped")
        return out

    def event(self) -> dict[str, Any]:
        """The fields of the ``input_warning`` event. ``duplicate_ids`` and ``renamed``
        list at most EVENT_LIST_MAX entries each (one event line stays small);
        ``duplicate_id_count`` and ``duplicates`` always count them all."""
        return {"duplicate_ids": dict(list(self.duplicate_ids.items())[:EVENT_LIST_MAX]),
                "duplicate_id_count": len(self.duplicate_ids),
                "duplicates": sum(v - 1 for v in self.duplicate_ids.values()),
                "renamed": dict(list(self.renamed.items())[:EVENT_LIST_MAX]),
                "torn_last_line": self.torn_last_line, "messages": self.messages()}


def key_duplicates(tasks: list[Task], report: InputReport) -> list[Task]:
    """Every task, with repeated ids made distinct (see the module doc)."""
    counts = Counter(t.id for t in tasks)
    if all(n == 1 for n in counts.values()):
        return tasks
    taken = set(counts)
    seen: Counter[str] = Counter()
    out = []
    for t in tasks:
        seen[t.id] += 1
        if seen[t.id] == 1:
            out.append(t)
            continue
        k = seen[t.id]
        new = f"{t.id}{DUPLICATE_SEP}{k}"
        while new in taken:  # the input already holds that spelling
            k += 1
            new = f"{t.id}{DUPLICATE_SEP}{k}"
        taken.add(new)
        report.renamed[new] = t.id
        out.append(dataclasses.replace(t, id=new))
    report.duplicate_ids = {k: v for k, v in counts.items() if v > 1}
    return out


def jsonl_file(source: str | os.PathLike | None) -> Path | None:
    """The JSON-lines file the loader reads for ``source``, when it is one local file
    (a ``.jsonl``/``.json`` file, or a run directory's ``dataset.jsonl``)."""
    if source is None:
        return None
    p = Path(source)
    try:
        if p.is_file() and p.suffix.lower() in (".jsonl", ".json"):
            return p
        if p.is_dir() and (p / "dataset.jsonl").is_file():
            return p / "dataset.jsonl"
    except OSError:
        return None
    return None


def torn_last_line(path: Path) -> int | None:
    """The line number of ``path``'s last line when it is incomplete: no newline after
    it and not a JSON value (what the loader skips); None otherwise."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return None
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return None
            start = max(0, size - _TAIL_BYTES)
            while True:
                fh.seek(start)
                tail = fh.read(size - start)
                cut = tail.rfind(b"\n")
                if cut >= 0 or start == 0:
                    break
                start = max(0, start - _TAIL_BYTES)
            last = tail[cut + 1:]
            if not last.strip():
                return None
            try:
                json.loads(last)
                return None
            except ValueError:
                pass
            if start == 0 and cut < 0 and path.suffix.lower() == ".json":
                return None  # a whole-file JSON document, not JSON lines: the loader says what is wrong
            fh.seek(0)
            newlines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
            return newlines + 1
    except OSError:
        return None


def check_inputs(tasks: list[Task], source: str | os.PathLike | None) -> tuple[list[Task], InputReport]:
    report = InputReport()
    tasks = key_duplicates(tasks, report)
    f = jsonl_file(source)
    if f is not None:
        line = torn_last_line(f)
        if line is not None:
            report.torn_last_line = {"path": str(f), "line": line}
    return tasks, report
