"""Keep secrets out of every byte sqlbench shows or writes: the one redaction point.

Secrets are registered once when they are loaded (``config.load_secrets``, and the
userinfo of a base URL when options are resolved). Everything user-visible or written
goes through here, on the raw values, before any encoding:

* run-directory records, run.json, config.yaml, the dataset and published cards call
  ``redact_obj`` on the value *before* JSON/YAML encoding, so a key holding ``"`` or
  ``\\`` is masked whatever its encoded spelling would have been;
* the CLI's stdout and stderr are wrapped in ``RedactingStream`` (``sqlbench.cli``), so
  error lines, progress, tracebacks and a workbench job's ``stdout.log`` are masked too.

A registered value is masked as itself and in the spellings it takes inside other text:
JSON-escaped (a server echoing a header inside a JSON string) and URL-encoded. The
userinfo of any URL (``scheme://user:token@host``) is masked whether registered or not.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
_MIN_LEN = 6  # shorter values would mask ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s@?#\"'<>]+)@")
_UNCHANGED = re.compile(r"[A-Za-z0-9._~-]+")  # characters no spelling below changes


@dataclass(frozen=True)
class _Secret:
    core: str  # a run of the value found in every spelling: one cheap scan rules the secret out
    forms: tuple[str, ...]  # the spellings to mask in raw text, longest first
    in_json: tuple[str, ...]  # the same, as they look inside JSON text


_registry: tuple[_Secret, ...] = ()


def _spellings(value: str) -> set[str]:
    out = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
           quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    return {s for s in out if len(s) >= _MIN_LEN}


def register_secret(value: str | None) -> None:
    global _registry
    if not value or len(value) < _MIN_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        forms = _spellings(value)
        in_json = {j for f in forms for j in (json.dumps(f)[1:-1], json.dumps(f, ensure_ascii=False)[1:-1])}
        core = max(_UNCHANGED.findall(value), key=len, default="")
        _registry = (*_registry, _Secret(core, tuple(sorted(forms, key=len, reverse=True)),
                                         tuple(sorted(in_json, key=len, reverse=True))))


def register_url(url: str | None) -> None:
    """Register the user and password of ``url``'s userinfo (raw and decoded) as secrets."""
    if not url or "@" not in url:
        return
    m = _USERINFO.search(url)
    if not m:
        return
    parts = m.group("userinfo").split(":", 1)
    for part in parts:
        register_secret(part)
        register_secret(unquote(part))
    # the HTTP client sends it as Basic auth: a server echoing that header shows this
    register_secret(base64.b64encode(":".join(unquote(p) for p in parts).encode()).decode())


def redact(text: str) -> str:
    if not isinstance(text, str):
        return text
    for secret in _registry:
        if secret.core in text:
            for s in secret.forms:
                if s in text:
                    text = text.replace(s, MASK)
    if "@" in text and "://" in text:
        text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    return text


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure (keys included), on raw values."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k) if isinstance(k, str) else k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of the redacted value: what every JSON writer of sqlbench uses.

    JSON escapes character by character, so a secret inside any string shows in the
    encoded text as its escaped spelling: when no such spelling (and no URL userinfo)
    is in the text, nothing needs masking and the text is returned as is. Otherwise the
    values are redacted raw and encoded again; this keeps the common case (no secret in
    the record) at the cost of one scan."""
    text = json.dumps(obj, **kwargs)
    if not _suspect(text):
        return text
    text = json.dumps(redact_obj(obj), **kwargs)
    if _suspect(text):  # a value JSON could only encode through ``default`` (str(obj))
        for secret in _registry:
            for j in secret.in_json:
                text = text.replace(j, MASK)
    return text


def _suspect(text: str) -> bool:
    for secret in _registry:
        if secret.core in text and any(j in text for j in secret.in_json):
            return True
    return "@" in text and "://" in text and bool(_USERINFO.search(text))


class RedactingStream(io.TextIOBase):
    """A text stream that masks secrets in everything written to it.

    Lines are held until their newline, so a secret split across two ``write`` calls
    (``print`` writes the text and its end separately; rich writes segments) is still
    seen whole; ``flush`` writes out what is held."""

    def __init__(self, inner: TextIO):
        self._inner = inner
        self._held = ""
        self._wlock = threading.Lock()

    def write(self, s: str) -> int:
        with self._wlock:
            text = self._held + s
            cut = text.rfind("\n") + 1
            self._held = text[cut:]
            if len(self._held) > 65536:  # a very long line with no end: do not hold it forever
                cut, self._held = len(text), ""
            if cut:
                self._inner.write(redact(text[:cut]))
        return len(s)

    def flush(self) -> None:
        with self._wlock:
            if self._held:
                self._inner.write(redact(self._held))
                self._held = ""
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
