"""Store stock over the API (roles, bad input, one effect per key) and the CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient

from edge.cli import cli
from tests.stock.conftest import level


def test_kiosk_sees_availability_but_moves_nothing(
    client: FlaskClient, headers: Callable[..., dict[str, str]], catalogue: list[str]
) -> None:
    h = headers("staff", Idempotency_Key="r-1")
    body = {"ref": "BL-77", "lines": [{"sku": "SKU-MUG", "qty": 4}]}
    r = client.post("/api/v1/stock/receipts", json=body, headers=h)
    assert r.status_code == 201, r.json
    assert r.json["moved"] == [
        {"sku": "SKU-MUG", "on_hand_before": 0, "on_hand": 4, "difference": 4, "reserved": 0,
         "available": 4, "version": 1}
    ]  # fmt: skip
    again = client.post("/api/v1/stock/receipts", json=body, headers=h)  # a double tap
    assert again.status_code == 201 and again.json == r.json
    found = client.get("/api/v1/stock/lookup?barcode=3760123450017", headers=headers("kiosk"))
    assert found.status_code == 200
    item = found.json["items"][0]
    assert (item["sku"], item["price"], item["available_here"]) == ("SKU-MUG", 1290, 4)
    assert set(item) == {"sku", "name", "barcode", "price", "currency", "available_here",
                         "updated_at", "elsewhere"}  # fmt: skip
    denied = client.post(
        "/api/v1/stock/receipts", json=body, headers=headers("kiosk", Idempotency_Key="r-2")
    )
    assert denied.status_code == 403
    assert (
        client.get("/api/v1/stock/SKU-MUG/movements", headers=headers("kiosk")).status_code == 403
    )
    pos = client.get("/api/v1/stock/levels?skus=SKU-MUG,SKU-CREME", headers=headers("pos"))
    assert pos.json["items"]["SKU-MUG"]["on_hand"] == 4
    assert pos.json["items"]["SKU-CREME"]["on_hand"] == 0


def test_bad_input_names_the_field_and_changes_nothing(
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    catalogue: list[str],
    conn: sqlite3.Connection,
) -> None:
    h = headers("staff", Idempotency_Key="a-1")
    cases = [
        ("/api/v1/stock/adjustments", {"sku": "SKU-MUG", "qty": 2, "reason": "stolen"}, "qty"),
        ("/api/v1/stock/adjustments", {"sku": "SKU-MUG", "qty": -1, "reason": "lost"}, "reason"),
        ("/api/v1/stock/adjustments", {"sku": "SKU-NOPE", "qty": 1, "reason": "found"}, "sku"),
        ("/api/v1/stock/counts", {"lines": [{"sku": "SKU-MUG", "on_hand": -2}]},
         "lines[0].on_hand"),
        ("/api/v1/stock/counts", {"lines": [{"sku": "SKU-MUG", "on_hand": 1},
                                            {"sku": "SKU-MUG", "on_hand": 2}]}, "lines[1].sku"),
        ("/api/v1/stock/receipts", {"lines": []}, "lines"),
    ]  # fmt: skip
    for path, body, field in cases:
        r = client.post(path, json=body, headers=h)
        assert r.status_code == 422, (path, body, r.json)
        assert r.json["error"]["field"] == field, (body, r.json)
    assert conn.execute("SELECT COUNT(*) FROM stock_movements").fetchone()[0] == 0
    r = client.post(
        "/api/v1/stock/counts",
        json={"note": "aisle 3", "lines": [{"sku": "SKU-MUG", "on_hand": 6}]},
        headers=headers("staff"),
    )
    assert r.status_code == 201 and r.json["moved"][0]["difference"] == 6
    moves = client.get("/api/v1/stock/SKU-MUG/movements", headers=headers("staff")).json
    assert moves["level"]["on_hand"] == 6
    assert [(m["reason"], m["note"], m["actor"]) for m in moves["items"]] == [
        ("count", "aisle 3", "test-staff")
    ]
    scraped = client.get("/metrics", headers=headers("admin")).get_data(as_text=True)
    assert "passerelle_stock_needs_count 0.0" in scraped
    assert "passerelle_stock_pending_changes 0.0" in scraped


def test_cli_import_is_all_or_nothing_and_show_explains(
    catalogue: list[str], conn: sqlite3.Connection, db_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"PASSERELLE_DB_PATH": str(db_path)}
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,on_hand\nSKU-MUG,3\nSKU-NOPE,1\nSKU-SAVON,-4\n", encoding="utf-8")
    r = runner.invoke(cli, ["stock", "import", str(bad)], env=env)
    assert r.exit_code == 1
    assert "line 3: SKU-NOPE: unknown SKU" in r.output
    assert "line 4: SKU-SAVON: -4 is out of range" in r.output
    assert "nothing was applied" in r.output
    assert level(conn, "SKU-MUG") == (0, 0)
    good = tmp_path / "note.csv"
    good.write_text("sku,received\nSKU-MUG,12\nSKU-SAVON,3\n", encoding="utf-8")
    r = runner.invoke(cli, ["stock", "import", str(good), "--ref", "BL-1"], env=env)
    assert r.exit_code == 0, r.output
    assert "2 SKU(s) received (delivery note BL-1)" in r.output
    assert level(conn, "SKU-MUG") == (12, 0)
    r = runner.invoke(cli, ["stock", "show", "SKU-MUG"], env=env)
    assert r.exit_code == 0, r.output
    assert "on hand 12  reserved 0  available 12" in r.output
    assert "receipt" in r.output and "BL-1" in r.output
    r = runner.invoke(cli, ["stock", "show", "SKU-NOPE"], env=env)
    assert r.exit_code == 1 and "no product" in r.output
