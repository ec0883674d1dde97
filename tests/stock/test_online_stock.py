"""The online store's side of stock, on its own database: never an older version over a newer
one, each applied figure re-published on the chain with its store, the topic's store trusted
over the payload's, and a click-and-collect order checked against what the store has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from online_store import db, stock
from online_store.shop import ShopError

from sync import contract


def figures(version: int, available: int, **extra: Any) -> dict[str, Any]:
    return {"sku": "SKU-MUG", "store_id": "S001", "on_hand": available + 1, "reserved": 1,
            "available": available, "version": version, "reason": "sale",
            "occurred_at": "2026-11-22T10:15:00.000Z", **extra}  # fmt: skip


def test_never_older_over_newer_and_republished_on_the_chain(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "online.db")
    db.create_schema(conn)
    with db.write(conn):
        assert stock.apply_changed(conn, "S001", figures(5, 3))
        assert not stock.apply_changed(conn, "S001", figures(4, 9))  # late, older: ignored
        assert not stock.apply_changed(conn, "S001", figures(5, 9))  # the same version again
        assert not stock.apply_changed(conn, "S002", figures(6, 9))  # claims S001 on S002's topic
        assert stock.apply_changed(
            conn, "S001", {k: v for k, v in figures(7, 1).items() if k != "store_id"}
        )
    assert stock.available(conn, "S001", "SKU-MUG") == 1
    assert stock.available(conn, "S002", "SKU-MUG") is None
    chain = [
        json.loads(r["data"])
        for r in conn.execute(
            "SELECT data FROM events WHERE type = 'stock.changed' ORDER BY sequence"
        )
    ]
    assert [(d["store_id"], d["version"]) for d in chain] == [("S001", 5), ("S001", 7)]
    for r in conn.execute("SELECT * FROM events WHERE type = 'stock.changed'"):
        contract.validate(
            {"specversion": "1.0", "id": r["id"], "source": r["source"], "type": r["type"],
             "time": r["time"], "sequence": str(r["sequence"]),
             "datacontenttype": "application/json", "data": json.loads(r["data"])}
        )  # fmt: skip
    dead = conn.execute("SELECT reason FROM dead_letters").fetchall()
    assert len(dead) == 1 and "not the topic's store" in dead[0][0]

    line = {"sku": "SKU-MUG", "name": "Mug", "qty": 2, "unit_price": 1290}
    with pytest.raises(ShopError, match="only 1 × Mug available at S001") as info:
        stock.check_order(conn, "S001", [line])
    assert info.value.code == "not_enough_stock" and info.value.status == 409
    stock.check_order(conn, "S002", [line])  # S002 never said: the store's board will tell
    conn.close()
