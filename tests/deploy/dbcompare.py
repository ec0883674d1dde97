"""Table contents of a store database, for comparing a backup, a restore and an upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every user table's rows, sorted, keyed by table name."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def schema(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


def restored_tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """``tables`` of a database just restored: the same rows as the backup, plus the one
    mark ``passerelle db restore`` leaves for the sync's recovery (``recovery_pending``, issue
    18), which must be there and is taken out so the rest compares with the backup."""
    rows = tables(path)
    marks = [r for r in rows.get("sync_state", []) if r[0] == "recovery_pending"]
    assert marks, "a restore leaves recovery_pending for the sync"
    rows["sync_state"] = [r for r in rows["sync_state"] if r[0] != "recovery_pending"]
    return rows
