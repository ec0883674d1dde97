"""Erasure (GDPR) beyond the customers row: every other trace of a person in the store
database goes in the same transaction as the erasure itself.

By field, never by substring across the database (issue 18): a 4-character card number
replaced wherever it appears would corrupt ids, SKUs and events of other people. So a value
is touched only where it is known to be the person's:

- a row that names them (a ``customer_id`` column equal to theirs, in any table, search
  indexes included): its text columns, plus the ``PERSONAL_COLUMNS`` of its table, lose
  the person's values (in their own row a value may be replaced inside a longer text);
- a JSON column listed in ``PERSONAL_JSON`` (an event's ``data``, a stored answer, a print
  job's layout data, a dead letter): inside the JSON objects that name them
  (``customer_id``), and their nested values, a string that is exactly one of their
  values (card, e-mail, phone, first, last or full name) is replaced, keeping the JSON's shape.

A table that holds personal data without a ``customer_id`` column must name its JSON
columns in ``PERSONAL_JSON`` (areas add theirs). ``PRAGMA secure_delete`` is on while the
erasure writes, so the old values are zeroed in the pages rewritten.

Left alone on purpose: primary keys, the append-only audit log (``edge.store.audit.record``
keeps personal fields out of it at write time), events not applied yet (``inbox_pending``:
the stream must not change under the consumer; a late upsert of an erased person is refused
by the tombstone when its turn comes), and the history and ledger (ids and amounts only).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

ERASED = "[erased]"
ERASED_WORD = "erased"
NULLABLE_KEYS = frozenset({"email", "phone"})
OWNER = "customer_id"
# Tables whose rows carry a person's data as JSON, with no customer_id column of their own.
PERSONAL_JSON: dict[str, tuple[str, ...]] = {
    "outbox": ("data",),
    "idempotency_keys": ("response",),
    "print_jobs": ("data",),
    "dead_letters": ("payload",),
}
# Text columns of a person's own rows that always go (beyond their value matching).
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "pickup_orders": ("customer_name",),
}
SKIP_TABLES = frozenset(
    {
        "audit_log",
        "_migrations",
        "customers",  # the tombstone is written by the caller
        "inbox_pending",
        "purchases",
        "purchase_lines",
        "sales",
        "loyalty_entries",
        "loyalty_negative",
        "products",
        "inbox",
        "outbox_streams",
        "inbox_streams",
    }
)


@dataclass(frozen=True)
class Identity:
    """What identifies one person, as found in their customers row before erasure."""

    customer_id: str
    card: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def anywhere(self) -> list[str]:
        """Values that identify the person wherever they appear inside a text."""
        full = f"{self.first_name} {self.last_name}" if self.first_name and self.last_name else ""
        values = [v for v in (self.card, self.email, self.phone, full) if v and len(v) >= 4]
        return sorted(set(values), key=len, reverse=True)

    @property
    def whole(self) -> set[str]:
        """A name alone: the person's only inside a JSON object that names them."""
        return {v for v in (self.first_name, self.last_name) if v}


def _scrub_text(text: str, who: Identity) -> str:
    """Only ever called on a value of the person's own row."""
    for value in who.anywhere:
        text = text.replace(value, ERASED)
    return text


def _theirs(value: str, who: Identity) -> bool:
    """Exactly one of the person's values (whatever its length: it is compared whole)."""
    full = f"{who.first_name} {who.last_name}" if who.first_name and who.last_name else None
    return value in {v for v in (who.card, who.email, who.phone, full) if v} or value in who.whole


def scrub_json(value: Any, who: Identity, mine: bool = False, key: str | None = None) -> Any:
    """The same JSON with the person's values replaced, keeping its shape, inside the objects
    that name them (and what those hold). A value that is exactly theirs becomes null where
    the contract allows null (e-mail, phone) and the word ``erased`` elsewhere (a card or a
    name must stay a non-empty string, so an unsent ``customer.enrolled`` still passes the
    contract's schema). Another member's object, or a string that merely contains one of the
    values, is left whole: a family may share a phone, and a short card may be part of an id."""
    if isinstance(value, dict):
        owner = value.get(OWNER)
        if owner is not None and owner != who.customer_id:
            return value
        mine = mine or owner == who.customer_id
        return {k: scrub_json(v, who, mine, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, who, mine, key) for v in value]
    if mine and isinstance(value, str) and _theirs(value, who):
        return None if key in NULLABLE_KEYS else ERASED_WORD
    return value


def _own_value(value: str, who: Identity, forced: bool) -> str | None:
    """A text column of the person's own row."""
    if value.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(value)
        except ValueError:
            pass
        else:
            return json.dumps(scrub_json(data, who, mine=True), ensure_ascii=False)
    if forced or _theirs(value, who):
        return None
    return _scrub_text(value, who)


def _text_columns(
    db: sqlite_utils.Database, table: str
) -> tuple[list[str], list[tuple[str, bool]]]:
    """The table's key columns (rowid when it has none), and (column, nullable) of its other
    text columns, as sqlite-utils reads them from the schema."""
    t = db.table(table)
    key = ["rowid"] if t.use_rowid else t.pks
    cols = [
        (c.name, not c.notnull)
        for c in t.columns
        if c.name not in key
        and c.name != OWNER
        and (c.type.upper() == "" or any(k in c.type.upper() for k in ("CHAR", "TEXT", "CLOB")))
    ]
    return key, cols


def _tables(db: sqlite_utils.Database) -> Iterable[str]:
    """Every table, search indexes (FTS virtual tables) included; their shadow tables are
    reached through the virtual table, never written directly."""
    names = db.table_names()
    virtual = [n for n in names if db.table(n).virtual_table_using]
    for name in names:
        if name in SKIP_TABLES or any(name.startswith(v + "_") for v in virtual):
            continue
        yield name


def _update(
    conn: sqlite3.Connection, table: str, key: list[str], column: str, row: sqlite3.Row, new: Any
) -> None:
    match = " AND ".join(f'"{k}" IS ?' for k in key)
    conn.execute(
        f'UPDATE "{table}" SET "{column}" = ? WHERE {match}',
        (new, *[row[i] for i in range(len(key))]),
    )


def erase_traces(conn: sqlite3.Connection, who: Identity) -> int:
    """Scrub every trace of ``who`` outside the customers row; the caller holds the write
    transaction. Returns the number of values changed."""
    previous = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete=ON")  # the old values are zeroed, not left in free space
    try:
        return _erase(conn, who)
    finally:
        conn.execute(f"PRAGMA secure_delete={int(previous)}")


def _erase(conn: sqlite3.Connection, who: Identity) -> int:
    # Imported here, at the first erasure: sqlite-utils brings numpy (25 MB of every process
    # that imports the customers' service: the API's, the sync worker's, its applier's).
    import sqlite_utils

    changed = 0
    db = sqlite_utils.Database(conn)
    for table in _tables(db):
        key, columns = _text_columns(db, table)
        keys = ", ".join(f'"{k}"' for k in key)
        owned = OWNER in db.table(table).columns_dict
        if owned:  # the person's own rows: every text column
            forced = PERSONAL_COLUMNS.get(table, ())
            for column, nullable in columns:
                rows = conn.execute(
                    f'SELECT {keys}, "{column}" AS v FROM "{table}" WHERE "{OWNER}" = ?',
                    (who.customer_id,),
                ).fetchall()
                for row in rows:
                    if not isinstance(row["v"], str):
                        continue
                    new = _own_value(row["v"], who, column in forced)
                    if new is None and not nullable:
                        new = ERASED
                    if new != row["v"]:
                        _update(conn, table, key, column, row, new)
                        changed += 1
            continue
        for column in PERSONAL_JSON.get(table, ()):
            # only a JSON object naming the person can hold their data: their id is in it
            rows = conn.execute(
                f'SELECT {keys}, "{column}" AS v FROM "{table}" WHERE instr("{column}", ?) > 0',
                (who.customer_id,),
            ).fetchall()
            for row in rows:
                try:
                    data = json.loads(row["v"])
                except (TypeError, ValueError):
                    continue
                new = json.dumps(scrub_json(data, who), ensure_ascii=False)
                if new != row["v"]:
                    _update(conn, table, key, column, row, new)
                    changed += 1
    return changed
