"""The key that signs the screens' session cookies: read from a credential file, never kept
in the database.

A backup of the store database is copied off the box; a key inside it would let anyone who
holds a backup forge an admin session. So the key comes, in this order, from the setting
``secret_key`` (or ``secret_key_file``, or the systemd credential ``secret_key``), else from
a file ``secret_key`` beside the database, made on first start with mode 0600 (what the
demo and a developer's box use; ``passerelle backup`` copies the database only).

``passerelle secret rotate`` writes a new key to that file: every session signed with the
old key ends at the service's restart (kiosks pair again, staff log in again).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from edge.config import Settings

KEY_BYTES = 32


def key_file(settings: Settings) -> Path:
    """Where this box's key lives when no credential gives it."""
    if settings.secret_key_file is not None:
        return Path(settings.secret_key_file)
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / "secret_key").is_file():
        return Path(cred_dir) / "secret_key"
    return Path(settings.db_path).resolve().parent / "secret_key"


def _write_new(path: Path, *, replace: bool) -> str:
    """Write a fresh key with mode 0600, atomically (a crash never leaves half a key)."""
    value = secrets.token_hex(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    if replace:
        tmp.replace(path)
    else:
        try:
            os.link(tmp, path)  # fails if another worker made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        value = path.read_text(encoding="utf-8").strip()
    return value


def secret_key(settings: Settings) -> str:
    """The signing key of this box (made on first start when no credential gives one)."""
    if settings.secret_key:
        return settings.secret_key
    path = key_file(settings)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return _write_new(path, replace=False)
    if len(value) < 32:
        raise ValueError(f"{path}: the session key is too short (32 characters at least)")
    return value


def rotate(settings: Settings) -> Path:
    """Replace the key in its file; returns the file written."""
    path = key_file(settings)
    if settings.secret_key and settings.secret_key_file is None and not path.is_file():
        raise ValueError(
            "the key is given as a value (PASSERELLE_SECRET_KEY): change it where it is set"
        )
    _write_new(path, replace=True)
    return path
