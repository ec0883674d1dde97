"""``passerelle db backup`` while a till keeps selling, and ``passerelle db restore``: the
backup is one consistent snapshot and restores to an identical database."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

from flask import Flask

from edge.loyalty.rules import LoyaltyRules
from edge.sales import service as sales
from edge.sales.rules import NewSale, SaleLine
from edge.store import db
from tests.deploy.dbcompare import restored_tables, schema, tables
from tests.support import proc
from tests.support.waiting import wait_until


class Till(threading.Thread):
    """Records sales in its own connection, one write transaction each, until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.count = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = db.connect(self.path)
        ctx = sales.SaleContext(
            store_id="S001",
            source="/stores/S001",
            currency="EUR",
            rules=LoyaltyRules(),
            cashier_id="st-1",
        )
        try:
            while not self.stop.is_set():
                sale = NewSale(
                    terminal_id="pos-1",
                    customer_id="c-0001",
                    currency="EUR",
                    lines=(SaleLine(sku="SKU-MUG", qty=1 + self.count % 3),),
                )
                with db.write(conn):
                    sales.record_sale(conn, sale, ctx)
                self.count += 1
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            conn.close()


def cli(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        proc.passerelle(*args),
        env=proc.env(db_path=db_path),
        cwd=proc.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_consistent(path: Path) -> int:
    """Every sale has its purchase, lines and sale.recorded row; sequences have no hole."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        n_sales = conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0]
        orphans = conn.execute(
            "SELECT COUNT(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM outbox o "
            "WHERE o.type = 'sale.recorded' AND json_extract(o.data, '$.sale_id') = s.sale_id) "
            "OR NOT EXISTS (SELECT 1 FROM purchase_lines l WHERE l.purchase_id = s.sale_id)"
        ).fetchone()[0]
        assert orphans == 0
        recorded = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE type = 'sale.recorded'"
        ).fetchone()[0]
        assert recorded == n_sales
        seqs = [r[0] for r in conn.execute("SELECT sequence FROM outbox ORDER BY sequence")]
        last = conn.execute("SELECT last_sequence FROM outbox_streams").fetchone()
        assert seqs == list(range(1, len(seqs) + 1))
        assert last is None or last[0] == len(seqs)
        return int(n_sales)
    finally:
        conn.close()


def test_backup_under_concurrent_sales_is_consistent_and_restores_identically(
    app: Flask, seeded: dict[str, Any], db_path: Path, tmp_path: Path
) -> None:
    till = Till(db_path)
    till.start()
    wait_until(lambda: till.count >= 20 or till.error, what="the till selling")
    before = till.count
    res = cli(db_path, "db", "backup", str(tmp_path / "backup.db"))
    during = till.count - before
    wait_until(lambda: till.count >= before + during + 5 or till.error, what="more sales")
    till.stop.set()
    till.join(timeout=30)
    assert till.error is None, till.error
    assert res.returncode == 0, res.stderr
    assert during > 0  # the till sold while the backup command ran
    backup = tmp_path / "backup.db"
    in_backup = check_consistent(backup)
    assert before <= in_backup < till.count
    # the backup is a snapshot of the live database: each of its rows is there unchanged
    live, snap = tables(db_path), tables(backup)
    assert set(live) == set(snap)
    for name, rows in snap.items():
        # counters: outbox_streams checked by check_consistent, stock_levels moved by each sale
        if name not in ("outbox_streams", "stock_levels"):
            assert set(rows) <= set(live[name]), name
    # restore into a fresh place: identical to the backup, schema and contents
    restored = tmp_path / "restored" / "store.db"
    restored.parent.mkdir()
    res = cli(restored, "db", "restore", str(backup), "--yes")
    assert res.returncode == 0, res.stderr
    assert restored_tables(restored) == snap
    assert schema(restored) == schema(backup)
    # and the restored database is usable by the service (no pending migration)
    conn = db.open_database(restored)
    assert db.pending_migrations(conn) == []
    conn.close()


def test_restore_replaces_a_live_database_and_refuses_garbage(
    app: Flask, seeded: dict[str, Any], db_path: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "quiet.db"
    assert cli(db_path, "db", "backup", str(backup)).returncode == 0
    original = tables(db_path)
    with db.write(conn := db.connect(db_path)):
        conn.execute("DELETE FROM purchase_lines")
    conn.close()
    assert tables(db_path) != original
    assert cli(db_path, "db", "restore", str(backup), "--yes").returncode == 0
    assert restored_tables(db_path) == original
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    res = cli(db_path, "db", "restore", str(junk), "--yes")
    assert res.returncode != 0 and "not a SQLite database" in res.stderr + res.stdout
    assert restored_tables(db_path) == original
