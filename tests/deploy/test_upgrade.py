"""Upgrades: a database made by the first schema, with unsent outbox rows, upgraded by
``passerelle db upgrade`` or at start, keeps every row and loses no outbox event."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from edge import auth, customers, db, loyalty, outbox, sales
from edge.app import create_app
from edge.models import SaleIn
from tests.deploy.dbcompare import tables
from tests.support import proc

FIRST = "0001_core.sql"


def first_schema_database(path: Path) -> None:
    """What version 1 made: only the first migration, then a day of trading, partly synced."""
    conn = db.connect(path)
    db.applied_migrations(conn)  # creates _migrations
    sql = dict(db.migration_files())[FIRST]
    with db.write(conn):
        for statement in db.split_sql(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations VALUES (?, ?)", (FIRST, db.now_iso()))
    with db.write(conn):
        for sku, price in (("SKU-A", 450), ("SKU-B", 1290)):
            conn.execute(
                "INSERT INTO products (sku, name, price, currency, updated_at) VALUES (?,?,?,?,?)",
                (sku, f"Product {sku}", price, "EUR", db.now_iso()),
            )
        member = customers.enroll(
            conn,
            {"first_name": "Ines", "last_name": "Marchal", "email": "ines@example.org"},
            source="/stores/S001",
            store_id="S001",
        )
    ctx = sales.SaleContext("S001", "/stores/S001", "EUR", loyalty.LoyaltyRules(), "st-1")
    for i in range(12):
        sale = SaleIn.model_validate(
            {
                "terminal_id": "pos-1",
                "customer_id": member["customer_id"] if i % 2 else None,
                "currency": "EUR",
                "lines": [{"sku": "SKU-A" if i % 3 else "SKU-B", "qty": 1 + i % 4}],
            }
        )
        with db.write(conn):
            sales.record_sale(conn, sale, ctx)
    auth.create_token(conn, name="pos-1", role="pos")
    # the first events were published; the rest wait for the link
    with db.write(conn):
        conn.execute("UPDATE outbox SET sent_at = ?, attempts = 1 WHERE sequence <= 5", ("t",))
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
