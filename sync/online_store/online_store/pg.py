"""PostgreSQL for the online store when several instances on several machines share its data.

SQLite stays the demo's and the tests' default; ``--db postgresql://…`` gives this thin
adapter instead, so that the SQL in the other modules stays as it is. It looks like the
``sqlite3.Connection`` they use (``execute``, ``executemany``, rows by name and by index,
``in_transaction``, ``BEGIN``/``COMMIT``/``SAVEPOINT`` as statements) and translates the few
SQLite spellings the modules use:

- ``?`` and ``:name`` placeholders → ``%s`` and ``%(name)s``; ``True`` → 1, as SQLite stores it;
- ``INSERT OR IGNORE INTO …`` → ``INSERT INTO … ON CONFLICT DO NOTHING``;
- ``BEGIN IMMEDIATE`` → ``BEGIN`` then a transaction-level advisory lock: writers take turns
  as SQLite's single writer makes them, which is what keeps each stream's sequence and the
  per-store hold logic right when two instances apply events of one store;
- the schema: ``INTEGER PRIMARY KEY`` → ``BIGSERIAL PRIMARY KEY``, ``REAL`` → ``DOUBLE
  PRECISION``, and a ``rowid BIGSERIAL`` column on ``events`` (the publisher sends rows in
  ``rowid`` order and marks them by it, as SQLite's implicit rowid).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

WRITE_LOCK = 0x70617373  # "pass": the advisory lock every write transaction takes

_QMARK = re.compile(r"\?")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO", re.IGNORECASE)


def is_url(path: object) -> bool:
    return str(path).startswith(("postgresql://", "postgres://"))


def translate(sql: str, params: Any = None) -> str:
    """One statement in SQLite's spelling → PostgreSQL's."""
    stripped = sql.strip().rstrip(";")
    if re.fullmatch(r"BEGIN\s+IMMEDIATE", stripped, re.IGNORECASE):
        return "BEGIN"
    ignore = bool(_OR_IGNORE.match(stripped))
    if ignore:
        stripped = _OR_IGNORE.sub("INSERT INTO", stripped, count=1)
    if not params:
        return stripped + (" ON CONFLICT DO NOTHING" if ignore else "")
    stripped = stripped.replace("%", "%%")
    if isinstance(params, dict):
        stripped = _NAMED.sub(r"%(\1)s", stripped)
    else:
        stripped = _QMARK.sub("%s", stripped)
    if ignore:
        stripped += " ON CONFLICT DO NOTHING"
    return stripped


def translate_schema(schema: str) -> str:
    """The CREATE statements of ``db.SCHEMA`` for PostgreSQL."""
    out = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGSERIAL PRIMARY KEY", schema)
    out = re.sub(r"\bREAL\b", "DOUBLE PRECISION", out)
    return out.replace(
        "CREATE TABLE IF NOT EXISTS events (\n",
        "CREATE TABLE IF NOT EXISTS events (\n    rowid BIGSERIAL,\n",
    )


def _params(params: Any) -> Any:
    """SQLite stores True as 1; the schema's flags are INTEGER columns: do the same."""
    if isinstance(params, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    if params:
        return [int(v) if isinstance(v, bool) else v for v in params]
    return None


class Row(tuple):
    """A row by index and by column name, and ``dict(row)``, as ``sqlite3.Row``."""

    _names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names.index(key))
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    return lambda values: Row(names, values)


class Cursor:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class Connection:
    """What the online store's modules use of ``sqlite3.Connection``, on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
        self.row_factory: Any = None  # accepted and ignored: rows are always Row

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        text = translate(sql, params)
        cur = self._conn.cursor()
        cur.execute(text, _params(params))
        if text == "BEGIN" and sql.strip().upper().startswith("BEGIN IMMEDIATE"):
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        return Cursor(cur)

    def executemany(self, sql: str, seq: Sequence[Any]) -> Cursor:
        items = list(seq)
        cur = self._conn.cursor()
        if items:
            cur.executemany(translate(sql, items[0]), [_params(p) for p in items])
        return Cursor(cur)

    def close(self) -> None:
        self._conn.close()


def create_schema(conn: Connection, schema: str) -> None:
    """The tables, in one transaction (several instances may start at once: the lock)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in translate_schema(schema).split(";"):
            if statement.strip():
                conn._conn.execute(statement)  # noqa: SLF001 - DDL, no placeholders
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
