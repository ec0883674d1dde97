"""Sales print their receipt through the emulated printer: the real bytes of python-escpos's
Network printer, decoded back and read like paper."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.printing import queue
from edge.store import db
from tests.printing.decode import decode
from tests.printing.emulator import PrinterEmulator
from tests.support.waiting import wait_until


def sell(client: Any, headers: Any, key: str, **body: Any) -> dict[str, Any]:
    sale = {
        "terminal_id": "pos-1",
        "currency": "EUR",
        "lines": [{"sku": "SKU-CREME", "qty": 2}, {"sku": "SKU-PAIN-EPI", "qty": 1}],
        "payment_method": "card",
    }
    sale.update(body)
    r = client.post("/api/v1/sales", json=sale, headers=headers("pos", Idempotency_Key=key))
    assert r.status_code == 201, r.json
    out: dict[str, Any] = r.json
    return out


def job_of(conn: sqlite3.Connection, sale_id: str) -> sqlite3.Row:
    row: sqlite3.Row = conn.execute(
        "SELECT * FROM print_jobs WHERE ref = ? AND document = 'sale_receipt'", (sale_id,)
    ).fetchone()
    return row


def printed(emulator: PrinterEmulator, n: int) -> list[bytes]:
    return wait_until(
        lambda: emulator.jobs() if len(emulator.jobs()) >= n else None,
        what=f"{n} job(s) on the emulated printer",
    )


def test_sale_is_queued_in_its_transaction_with_what_the_receipt_needs(
    client, headers, seeded, conn
):
    sale = sell(client, headers, "k1", customer_id="c-0001", payment_method="cash")
    job = job_of(conn, sale["sale_id"])
    assert job["status"] == "queued" and job["open_drawer"] == 1 and job["locale"] == "fr"
    data = queue.json.loads(job["data"])
    assert data["store_name"] == "Épicerie Passerelle"
    assert data["customer_name"] == "Élodie D."
    assert data["points_balance"] == sale["points_balance"]
    assert [ln["name"] for ln in data["lines"]] == ["Crème brûlée ×2", "Pain d'épices"]


def test_french_receipt_prints_accents_euro_qr_and_cut(
    client, headers, seeded, conn, emulator, start_worker
):
    start_worker()
    sale = sell(client, headers, "k1", customer_id="c-0001", redeem_points=100)
    paper = decode(printed(emulator, 1)[0])
    assert paper.code_pages == [16]  # ESC t 16: CP1252, once, at the top
    assert paper.inits == 1 and paper.cuts == 1
    assert paper.qr_codes == [sale["sale_id"]]
    assert paper.drawer_kicks == []  # a card sale leaves the drawer shut
    text = paper.text
    assert "Épicerie Passerelle" in paper.large_text
    assert "Ticket de caisse" in text and "Client: Élodie D." in text
    assert "2 x Crème brûlée ×2" in text and "7,98 €" in text and "3,99 € l'unité" in text
    assert "1 x Pain d'épices" in text and "3,25 €" in text
    assert "Points utilisés (100)" in text and "-1,00 €" in text
    total = f"{sale['total'] // 100},{sale['total'] % 100:02d} €"
    assert any(ln.startswith("TOTAL") and ln.endswith(total) for ln in paper.lines)
    assert f"Points gagnés{' ' * 5}" in text or "Points gagnés" in text
    assert f"+{sale['points_earned']}" in text
    assert "Nouveau solde de points" in text
    assert "Échange ou remboursement" in text and "Merci de votre visite !" in text
    assert all(len(ln) <= 42 for ln in paper.lines)
    wait_until(lambda: job_of(conn, sale["sale_id"])["status"] == "done", what="job done")


def test_english_member_gets_an_english_receipt(
    client, headers, seeded, conn, emulator, start_worker
):
    start_worker()
    sale = sell(client, headers, "k1", customer_id="c-0002")
    paper = decode(printed(emulator, 1)[0])
    assert paper.code_pages == [16] and paper.cuts == 1 and paper.qr_codes == [sale["sale_id"]]
    text = paper.text
    assert "Receipt" in text and "Customer: James" in text
    assert "2 x Crème brûlée ×2" in text and "€7.98" in text and "€3.99 each" in text
    assert "Points earned" in text and "New points balance" in text
    assert "Thank you for your visit!" in text


def test_cash_sale_kicks_the_drawer_after_the_cut(
    client, headers, seeded, conn, emulator, start_worker
):
    start_worker()
    sell(client, headers, "k1", payment_method="cash")
    raw = printed(emulator, 1)[0]
    paper = decode(raw)
    assert paper.drawer_kicks == [0]  # ESC p 0: pin 2
    assert raw.index(b"\x1bp") > raw.index(b"\x1dV")
    assert "Payé par" in paper.text and "espèces" in paper.text


def test_coupons_in_the_data_print_as_discount_lines(conn, emulator, start_worker, settings):
    from edge.store import db

    with db.write(conn):
        queue.enqueue(
            conn,
            document="sale_receipt",
            data={
                "sale_id": "s-1",
                "occurred_at": "2026-03-01T10:00:00Z",
                "lines": [{"name": "Bougie parfumée été", "qty": 1, "unit_price": 2450}],
                "subtotal": 2450,
                "discount": 500,
                "coupons": [{"code": "NOËL5", "discount": 500}],
                "total": 1950,
                "payment_method": "card",
            },
            ref="s-1",
            locale="fr",
        )
    start_worker()
    text = decode(printed(emulator, 1)[0]).text
    assert "Sous-total" in text and "24,50 €" in text
    assert "Bon NOËL5" in text and "-5,00 €" in text
    assert "19,50 €" in text


def test_reprint_is_a_new_job_marked_as_a_copy_without_drawer_kick(
    client, headers, seeded, conn, emulator, start_worker
):
    start_worker()
    sale = sell(client, headers, "k1", payment_method="cash", customer_id="c-0003")
    printed(emulator, 1)
    first = job_of(conn, sale["sale_id"])
    r = client.post(f"/api/v1/sales/{sale['sale_id']}/receipt", headers=headers("pos"))
    assert r.status_code == 201
    assert r.json["reprint_of"] == first["job_id"] and r.json["open_drawer"] is False
    copy = decode(printed(emulator, 2)[1])
    assert "*** DUPLICATA ***" in copy.text and copy.drawer_kicks == []
    assert copy.qr_codes == [sale["sale_id"]]
    audit = client.get("/api/v1/audit", headers=headers("admin")).json["items"]
    assert audit[0]["action"] == "sale.receipt_reprint"
    assert audit[0]["target"] == sale["sale_id"]
    assert client.post("/api/v1/sales/nope/receipt", headers=headers("pos")).status_code == 404
    assert (
        client.post(f"/api/v1/sales/{sale['sale_id']}/receipt", headers=headers("kiosk"))
    ).status_code == 403


def test_a_receipt_exists_if_and_only_if_the_sale_does(client, headers, seeded, conn):
    sell(client, headers, "k1")
    again = client.post(
        "/api/v1/sales",
        json={
            "terminal_id": "pos-1",
            "currency": "EUR",
            "lines": [{"sku": "SKU-CREME", "qty": 2}, {"sku": "SKU-PAIN-EPI", "qty": 1}],
            "payment_method": "card",
        },
        headers=headers("pos", Idempotency_Key="k1"),
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    refused = client.post(
        "/api/v1/sales",
        json={"terminal_id": "pos-1", "currency": "EUR", "lines": [{"sku": "NOPE", "qty": 1}]},
        headers=headers("pos", Idempotency_Key="k2"),
    )
    assert refused.status_code == 422
    assert conn.execute("SELECT COUNT(*) FROM print_jobs").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 1


def test_printing_operations_follow_the_role_table(client, headers, seeded):
    assert client.get("/api/v1/printers", headers=headers("kiosk")).status_code == 403
    assert client.get("/api/v1/print-jobs", headers=headers("kiosk")).status_code == 403
    r = client.get("/api/v1/printers", headers=headers("staff"))
    assert r.status_code == 200
    front = r.json["items"][0]
    assert front["name"] == "front" and front["target"].startswith("127.0.0.1:")
    assert front["ok"] is None  # the worker has not talked to it yet
    assert r.json["unassigned_roles"] == []
    assert client.get("/api/v1/printers").status_code == 401


def test_a_sale_with_a_coupon_prints_the_coupon_line(
    client, headers, seeded, conn, emulator, start_worker
):
    """Through the real coupon rules: the code and its discount come from the sale itself."""
    from edge import handlers
    from edge.store import inbox
    from tests.offers.conftest import coupon, offer

    ctx = inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id="e-1")
    with db.write(conn):
        handlers.HANDLERS["offer.upserted"](conn, offer("OFF-MUG", value=20, skus=["SKU-MUG"]), ctx)
    ctx = inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id="e-2")
    with db.write(conn):
        handlers.HANDLERS["coupon.issued"](conn, coupon("MUG-ETE20", "OFF-MUG"), ctx)
    sale = sell(
        client,
        headers,
        "k1",
        customer_id="c-0001",
        lines=[{"sku": "SKU-MUG", "qty": 1}],
        coupon_codes=["MUG-ETE20"],
    )
    assert sale["discount"] == 258
    start_worker()
    text = decode(printed(emulator, 1)[0]).text
    assert "Sous-total" in text and "12,90 €" in text
    assert "Bon MUG-ETE20" in text and "-2,58 €" in text
    assert "10,32 €" in text
