"""Real database files (Spider/BIRD ``database/<db_id>/<db_id>.sqlite``) as a task's data.

A SELECT runs on the file itself, opened read-only and immutable (SQLite URI
``mode=ro&immutable=1``): SQLite reads only the pages a query touches, writes nothing
(no journal, no WAL, no lock) and the sandbox's authorizer, deadline and row/byte caps
apply as on an in-memory database. A database of BIRD's size (hundreds of MB) is never
read whole for a SELECT. DML/DDL needs a writable copy: :func:`copy_image` makes one in
memory through SQLite's backup API, refused above a size cap.

Every failure to open or read a file is a :class:`DbFileError` whose message is one line
naming the file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

COPY_LIMIT = 64 << 20  # bytes: the largest database copied into memory for a DML/DDL gold


class DbFileError(Exception):
    """A database file that is missing, not SQLite, corrupt or unreadable (one line)."""


def readonly_uri(path: str | os.PathLike) -> str:
    """The URI that opens ``path`` read-only and immutable: never written, never locked."""
    return "file:" + quote(str(Path(path).resolve())) + "?mode=ro&immutable=1"


def connect_readonly(path: str | os.PathLike) -> sqlite3.Connection:
    return sqlite3.connect(readonly_uri(path), uri=True, isolation_level=None, check_same_thread=False)


def file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """Identity of a database file for caches: a file replaced in place is a new database."""
    p = Path(path).resolve()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DbFileError(f"{p}: no such database file") from None
    except OSError as e:
        raise DbFileError(f"{p}: cannot read the database file ({e.strerror or e})") from None
    return str(p), st.st_mtime_ns, st.st_size


def describe_error(path: str | os.PathLike, e: BaseException) -> DbFileError:
    msg = str(e) or type(e).__name__
    if "not a database" in msg:
        return DbFileError(f"{path}: not a SQLite database ({msg})")
    if "malformed" in msg or "corrupt" in msg:
        return DbFileError(f"{path}: corrupt SQLite database ({msg})")
    if "locked" in msg or "busy" in msg:
        return DbFileError(f"{path}: the database is locked ({msg})")
    return DbFileError(f"{path}: cannot read the database ({msg})")


def probe(path: str | os.PathLike) -> tuple:
    """The file's schema rows (type, name, sql), as SqliteSandbox.schema() gives them;
    raises DbFileError when the file is not a readable SQLite database."""
    p = Path(path)
    if not p.is_file():
        raise DbFileError(f"{p}: no such database file")
    try:
        conn = connect_readonly(p)
    except sqlite3.Error as e:
        raise describe_error(p, e) from None
    try:
        return tuple(conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall())
    except sqlite3.Error as e:
        raise describe_error(p, e) from None
    finally:
        conn.close()


def database_bytes(path: str | os.PathLike) -> int:
    """Size of the database content (page count x page size), read from the file's header."""
    conn = connect_readonly(path)
    try:
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
        return int(pages) * int(size)
    except sqlite3.Error as e:
        raise describe_error(path, e) from None
    finally:
        conn.close()


def copy_image(path: str | os.PathLike, limit: int = COPY_LIMIT) -> bytes:
    """The whole database as ``serialize()`` bytes, for an in-memory writable copy.
    Above ``limit`` bytes it raises DbFileError naming the cap."""
    size = database_bytes(path)
    if size > limit:
        raise DbFileError(
            f"{path}: the database is {_mib(size)}, above the {_mib(limit)} cap for copying it into memory "
            "to run a DML/DDL gold (validate.max_copy_mb)"
        )
    src = connect_readonly(path)
    dst = sqlite3.connect(":memory:")
    try:
        src.backup(dst)
        return dst.serialize()
    except sqlite3.Error as e:
        raise describe_error(path, e) from None
    finally:
        src.close()
        dst.close()


def _mib(n: int) -> str:
    if n < 1 << 20:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1 << 20):.1f} MiB" if n < 10 << 20 else f"{n >> 20} MiB"
