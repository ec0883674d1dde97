"""The box's own secret keys, kept in files beside the database (or given as systemd
credentials), never inside it: a backup of the database is copied off the box, the keys
are not.

``box_key(conn, name)`` is the key ``name`` of the database ``conn`` is open on: read from
``$CREDENTIALS_DIRECTORY/<name>`` when systemd gives one, else from the file ``<name>``
beside the database, made on first use with 32 random bytes and mode 0600. Every process of
the box (API workers, sync worker, CLI) finds the same file, so they agree without talking.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from pathlib import Path

_cache: dict[tuple[str, str], bytes] = {}
_lock = threading.Lock()
_memory_keys: dict[str, bytes] = {}


def _db_file(conn: sqlite3.Connection) -> str:
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2] or "")
    return ""


def key_path(db_file: str | Path, name: str) -> Path:
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / name).is_file():
        return Path(cred_dir) / name
    return Path(db_file).resolve().parent / name


def _read_or_make(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)  # another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="utf-8").strip())


def box_key(conn: sqlite3.Connection, name: str) -> bytes:
    """The key ``name`` of this box (see the module's docstring)."""
    db_file = _db_file(conn)
    if not db_file:  # an in-memory database (some tests): a key for this process
        return _memory_keys.setdefault(name, secrets.token_bytes(32))
    cache_key = (db_file, name)
    found = _cache.get(cache_key)
    if found is None:
        with _lock:
            found = _cache.get(cache_key) or _read_or_make(key_path(db_file, name))
            _cache[cache_key] = found
    return found
