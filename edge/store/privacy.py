"""Erasure (GDPR) beyond the customers row: every other trace of a person in the store
database goes in the same transaction as the erasure itself.

A person's data can sit in places nobody thinks of: the ``customer.enrolled`` outbox row
(names, e-mail, phone, card), a stored idempotent response, a print job's layout data, an
order's ``customer_name``, a dead-lettered ``customer.upserted``. Rather than a list that a
new table would silently escape, ``erase_traces`` looks at every text column of every table
and scrubs what identifies the person: their card number, e-mail, phone and full name
anywhere in a value, and their first or last name as a whole JSON string inside an object
about them. JSON values are scrubbed inside, so their shape stays valid. What belongs to
someone else (a row or a JSON object with another ``customer_id``) is left whole: a family
may share a phone number or an e-mail address.

Left alone on purpose: primary keys (ids are not personal data, and rows must stay
addressable), the append-only audit log (``edge.store.audit.record`` keeps personal fields out of
it at write time), the migrations table and SQLite's own tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

ERASED = "[erased]"
ERASED_WORD = "erased"
NULLABLE_KEYS = frozenset({"email", "phone"})
SKIP_TABLES = frozenset(
    {
        "audit_log",
        "_migrations",
        "customers",
        # Events not applied yet stay exactly as the online store sent them: the stream must not
        # change under the consumer (a late customer.upserted of an erased person is refused by
        # the tombstone when its turn comes, and its payload is then deleted).
        "inbox_pending",
        # The history and the ledger hold ids, amounts and product names, never a person's data;
        # scanning their millions of rows would hold the write lock for seconds.
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
    for value in who.anywhere:
        text = text.replace(value, ERASED)
    return text


def scrub_json(value: Any, who: Identity, mine: bool = False, key: str | None = None) -> Any:
    """The same JSON with the person's values replaced, keeping its shape: a value that was
    wholly the person's becomes null where the contract allows null (e-mail, phone) and the
    word ``erased`` elsewhere (a card or a name must stay a non-empty string, so an unsent
    ``customer.enrolled`` still passes the contract's schema); a value inside a longer
    string becomes ``[erased]``. A first or last name alone counts only inside an object
    about this person (its ``customer_id`` is theirs): another member may share a name."""
    if isinstance(value, dict):
        owner = value.get("customer_id")
        if owner is not None and owner != who.customer_id:
            return value  # another member's object: they may share a phone or a name
        mine = mine or owner == who.customer_id
        return {k: scrub_json(v, who, mine, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, who, mine, key) for v in value]
    if isinstance(value, str):
        if value in who.anywhere or (mine and value in who.whole):
            return None if key in NULLABLE_KEYS else ERASED_WORD
        return _scrub_text(value, who)
    return value


def scrub_value(value: str, who: Identity) -> str | None:
    if value.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(value)
        except ValueError:
            pass
        else:
            return json.dumps(scrub_json(data, who), ensure_ascii=False)
    if value in who.anywhere:
        return None
    return _scrub_text(value, who)


def _columns(db: sqlite_utils.Database, table: str) -> tuple[list[str], list[tuple[str, bool]]]:
    """The table's key columns (rowid when it has none), and (column, nullable) of its other
    text columns, as sqlite-utils reads them from the schema."""
    t = db.table(table)
    key = ["rowid"] if t.use_rowid else t.pks
    cols = [
        (c.name, not c.notnull)
        for c in t.columns
        if c.name not in key
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


def erase_traces(conn: sqlite3.Connection, who: Identity) -> int:
    """Scrub every trace of ``who`` outside the customers row; the caller holds the write
    transaction. Returns the number of values changed."""
    needles = who.anywhere + [who.customer_id]
    if not needles:
        return 0
    changed = 0
    db = sqlite_utils.Database(conn)
    for table in _tables(db):
        key, columns = _columns(db, table)
        match = " AND ".join(f'"{k}" IS ?' for k in key)
        # rows that belong to another person (a family may share a phone) are not touched
        owned = any(c == "customer_id" for c, _ in columns)
        for column, nullable in columns:
            where = "(" + " OR ".join(f'instr("{column}", ?) > 0' for _ in needles) + ")"
            params = list(needles)
            if owned:
                where += ' AND ("customer_id" IS NULL OR "customer_id" = ?)'
                params.append(who.customer_id)
            rows = conn.execute(
                "SELECT "
                + ", ".join(f'"{k}"' for k in key)
                + f', "{column}" AS v FROM "{table}" WHERE {where}',
                params,
            ).fetchall()
            for row in rows:
                if not isinstance(row["v"], str):
                    continue
                new = scrub_value(row["v"], who)
                if new is None and not nullable:
                    new = ERASED
                if new != row["v"]:
                    conn.execute(
                        f'UPDATE "{table}" SET "{column}" = ? WHERE {match}',
                        (new, *[row[i] for i in range(len(key))]),
                    )
                    changed += 1
    return changed
