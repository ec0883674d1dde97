"""Down-events of the products area: the catalogue, owned by the online store."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.products import service as products
from edge.store.inbox import ApplyContext, Handler


def product_upserted(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    return products.apply_upserted(conn, d)


HANDLERS: dict[str, Handler] = {"product.upserted": product_upserted}
