"""Split a model's token stream, live, into its think / sql / text parts.

Tokens arrive in arbitrary slices: a tag such as ``</think>`` may be cut across two
chunks, so a possible tag prefix at the end of a chunk is held back until the next
chunk decides it. The tags themselves are never emitted. Inside a block only its own
closing tag ends it, as in ``prompts.parse_answer``: a stray ``</think>`` inside
``<sql>…</sql>`` is part of the SQL that will be run, so it is shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Literal

Part = Literal["think", "sql", "text"]

# tag -> the part that starts after it
_TAGS: dict[str, Part] = {"<think>": "think", "</think>": "text", "<sql>": "sql", "</sql>": "text"}
# the tags that mean something in each part (outside a block, stray closers are dropped)
_ACTIVE: dict[Part, tuple[str, ...]] = {"think": ("</think>",), "sql": ("</sql>",), "text": tuple(_TAGS)}


@dataclass(frozen=True)
class Delta:
    part: Part
    text: str


class StreamSplitter:
    """Feed decoded text chunks; get deltas labelled with the part they belong to.

    ``start`` is the part before any tag (``"think"`` when the prompt already opened the
    think block, as some chat templates do).
    """

    def __init__(self, start: Part = "text") -> None:
        self.part: Part = start
        self._held = ""

    def feed(self, chunk: str) -> list[Delta]:
        buf = self._held + chunk
        self._held = ""
        out: list[Delta] = []
        pending = []  # text of the current part not yet emitted
        i = 0
        while i < len(buf):
            lt = buf.find("<", i)
            if lt < 0:
                pending.append(buf[i:])
                break
            pending.append(buf[i:lt])
            rest = buf[lt:]
            active = _ACTIVE[self.part]
            tag = next((t for t in active if rest.startswith(t)), None)
            if tag is not None:
                self._emit(out, "".join(pending))
                pending = []
                self.part = _TAGS[tag]
                i = lt + len(tag)
                continue
            if any(t.startswith(rest) for t in active):
                self._held = rest  # maybe the start of a tag: wait for more text
                break
            pending.append("<")
            i = lt + 1
        self._emit(out, "".join(pending))
        return out

    def flush(self) -> list[Delta]:
        """End of stream: whatever was held back is plain text of the current part."""
        out: list[Delta] = []
        self._emit(out, self._held)
        self._held = ""
        return out

    def _emit(self, out: list[Delta], text: str) -> None:
        if text:
            out.append(Delta(self.part, text))


def split_stream(chunks: Iterable[str], start: Part = "text") -> Iterator[Delta]:
    splitter = StreamSplitter(start)
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.flush()


def join_parts(deltas: Iterable[Delta]) -> dict[str, str]:
    """Concatenate deltas per part (for tests and non-streamed callers)."""
    out = {"think": "", "sql": "", "text": ""}
    for d in deltas:
        out[d.part] += d.text
    return out
