"""The sale receipt shows each coupon, its offer's title and its discount."""

from __future__ import annotations

import json

from hardware.render import Renderer
from tests.printing.decode import decode


def test_receipt_data_and_paper_show_each_coupon(client, headers, shop, conn):
    body = {
        "terminal_id": "pos-1",
        "currency": "EUR",
        "customer_id": "c-0001",
        "lines": [{"sku": "SKU-MUG", "qty": 2}],
        "coupon_codes": ["MUG20", "ELODIE10"],
    }
    r = client.post("/api/v1/sales", json=body, headers=headers("pos", Idempotency_Key="k-1"))
    assert r.status_code == 201, r.json
    job = conn.execute("SELECT data, locale FROM print_jobs WHERE ref = ?", (r.json["sale_id"],))
    row = job.fetchone()
    data = json.loads(row["data"])
    assert data["coupons"] == [
        {"code": "MUG20", "title": "20 % sur les mugs", "discount": 516},
        {"code": "ELODIE10", "title": "10 % sur tout", "discount": 206},
    ]
    assert data["discount"] == 722 and data["total"] == 2580 - 722
    paper = decode(Renderer(locale=row["locale"], width=48).render("sale_receipt", data)).text
    assert "Bon MUG20" in paper and "-5,16 €" in paper and "20 % sur les mugs" in paper
    assert "Bon ELODIE10" in paper and "-2,06 €" in paper and "10 % sur tout" in paper
    assert "18,58 €" in paper
