"""A store sale as the till sends it, shared by the tests that post one."""

from __future__ import annotations

from typing import Any

SALE = {
    "terminal_id": "pos-1",
    "customer_id": "c-0001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-MUG", "qty": 2}],
}


def post_sale(client: Any, headers: Any, body: dict[str, Any], key: str = "k-1") -> Any:
    return client.post("/api/v1/sales", json=body, headers=headers("pos", Idempotency_Key=key))
