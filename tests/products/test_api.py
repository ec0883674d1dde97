"""The catalogue through the HTTP API: by barcode scan and by name."""

from __future__ import annotations


def test_products_by_barcode_and_name(client, headers, seeded):
    r = client.get("/api/v1/products?barcode=3760123450017", headers=headers("pos"))
    assert [p["sku"] for p in r.json["items"]] == ["SKU-MUG"]
    r = client.get("/api/v1/products?q=caf", headers=headers("pos"))
    assert r.json["items"][0]["name"] == "Café moulu 250 g"
