"""Upgrades: a database made by the first schema, with unsent outbox rows, upgraded by
``passerelle db upgrade`` or at start, keeps every row and loses no outbox event."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from edge.store import db, outbox
from edge.web.app import create_app
from tests.deploy.dbcompare import tables
from tests.support import proc

FIRST = "0001_core.sql"


def first_schema_database(path: Path) -> None:
    """What version 1 made: only the first migration, then a day of trading, partly synced.

    Written with plain SQL against the first schema (today's domain code may use tables that
    later migrations add)."""
    conn = db.connect(path)
    db.applied_migrations(conn)  # creates _migrations
    sql = dict(db.migration_files())[FIRST]
    with db.write(conn):
        for statement in db.split_sql(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations VALUES (?, ?)", (FIRST, db.now_iso()))
    t = "2026-11-20T10:00:00.000Z"
    source = "/stores/S001"
    with db.write(conn):
        conn.execute(
            "INSERT INTO products (sku, name, price, currency, updated_at) VALUES (?,?,?,?,?)",
            ("SKU-A", "Product A", 450, "EUR", t),
        )
        conn.execute(
            "INSERT INTO customers (customer_id, loyalty_card, first_name, last_name, email, "
            "origin, created_at, updated_at) VALUES ('c-1','PC1','Ines','Marchal',"
            "'ines@example.org','store',?,?)",
            (t, t),
        )
        events: list[tuple[str, dict[str, object]]] = [
            ("customer.enrolled", {"customer_id": "c-1", "loyalty_card": "PC1"})
        ]
        for i in range(1, 13):
            sale_id, qty = f"s-{i}", 1 + i % 4
            conn.execute(
                "INSERT INTO purchases (purchase_id, customer_id, channel, store_id, "
                "occurred_at, currency, total, points_earned, origin, recorded_at) "
                "VALUES (?,?,'store','S001',?,'EUR',?,?,'local',?)",
                (sale_id, "c-1", t, 450 * qty, 4 * qty, t),
            )
            conn.execute(
                "INSERT INTO purchase_lines VALUES (?,1,'SKU-A','Product A',?,450)",
                (sale_id, qty),
            )
            conn.execute(
                "INSERT INTO sales (sale_id, terminal_id, customer_id, occurred_at, currency, "
                "subtotal, total, points_earned) VALUES (?,'pos-1','c-1',?,'EUR',?,?,?)",
                (sale_id, t, 450 * qty, 450 * qty, 4 * qty),
            )
            conn.execute(
                "INSERT INTO loyalty_entries VALUES (?, 'c-1', ?, 'purchase', ?, 'store', "
                "'S001', ?, 'local', ?)",
                (f"e-{i}", 4 * qty, sale_id, t, t),
            )
            events.append(("sale.recorded", {"sale_id": sale_id, "total": 450 * qty}))
            events.append(("loyalty.entry", {"entry_id": f"e-{i}", "points": 4 * qty}))
        for seq, (kind, data) in enumerate(events, start=1):
            conn.execute(
                "INSERT INTO outbox (source, sequence, id, type, time, data, created_at, "
                "sent_at, attempts) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    source,
                    seq,
                    f"ev-{seq}",
                    kind,
                    t,
                    json.dumps(data),
                    t,
                    t if seq <= 5 else None,  # the first events were published
                    1 if seq <= 5 else 0,
                ),
            )
        conn.execute("INSERT INTO outbox_streams VALUES (?, ?)", (source, len(events)))
        conn.execute("INSERT INTO api_tokens VALUES ('pos-1', 'pos', 'abc123', ?, NULL)", (t,))
        conn.execute(
            "INSERT INTO audit_log (at, actor, role, action, target, detail) "
            "VALUES (?, 'cli', 'admin', 'token.create', 'pos-1', '{}')",
            (t,),
        )
    conn.close()


def outbox_rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT source, sequence, id, type, time, data, created_at, sent_at, attempts "
            "FROM outbox ORDER BY source, sequence"
        ).fetchall()
    finally:
        conn.close()


def check_upgraded(old: dict[str, list[tuple[object, ...]]], path: Path, rows: list) -> None:
    conn = db.connect(path)
    try:
        assert db.pending_migrations(conn) == []
        names = [n for n, _ in db.migration_files()]
        assert db.applied_migrations(conn) == names
    finally:
        conn.close()
    assert outbox_rows(path) == rows  # every event kept, unsent ones still unsent
    new = tables(path)
    for name, content in old.items():
        if name == "_migrations":
            continue
        assert name in new, f"table {name} disappeared"
        width = len(content[0]) if content else 0
        assert [r[:width] for r in new[name]] == content, name  # added columns allowed
    # the stream goes on from where it was: no sequence is handed out twice
    conn = db.connect(path)
    try:
        with db.write(conn):
            ev = outbox.append(conn, "/stores/S001", "customer.enrolled", {"customer_id": "x"})
        assert int(ev.sequence) == len(rows) + 1
    finally:
        conn.close()


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "v1.db"
    first_schema_database(path)
    return path


def test_db_upgrade_command_keeps_data_and_outbox(old_db: Path) -> None:
    before, rows = tables(old_db), outbox_rows(old_db)
    unsent = [r for r in rows if r[7] is None]
    assert len(rows) > 12 and len(unsent) == len(rows) - 5
    later = [n for n, _ in db.migration_files() if n != FIRST]
    res = subprocess.run(
        proc.passerelle("db", "upgrade"),
        env=proc.env(db_path=old_db),
        cwd=proc.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    for name in later:
        assert name in res.stdout
    check_upgraded(before, old_db, rows)
    again = subprocess.run(
        proc.passerelle("db", "upgrade"),
        env=proc.env(db_path=old_db),
        cwd=proc.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "up to date" in again.stdout


def test_start_upgrades_the_database(old_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "start.db"
    shutil.copy(old_db, copy)
    before, rows = tables(copy), outbox_rows(copy)
    create_app({"DB_PATH": str(copy), "TESTING": True, "SECRET_KEY": "t"})  # what a start does
    check_upgraded(before, copy, rows)


def test_a_database_from_a_newer_version_stops_the_start(old_db: Path) -> None:
    with db.write(conn := db.connect(old_db)):
        conn.execute("INSERT INTO _migrations VALUES ('9999_future.sql', 't')")
    conn.close()
    with pytest.raises(db.DatabaseError, match="newer Passerelle"):
        db.open_database(old_db)
