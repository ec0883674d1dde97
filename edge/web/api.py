"""The /api/v1 blueprint: the same API for third-party terminals and for our own screens.

One blueprint per area (customers, offers, pickups, printing, products, sales, meta), nested
under this one, so each area's routes live beside nothing else and the prefix is said once.
"""

from __future__ import annotations

from flask import Blueprint

from edge.web import (
    customers,
    meta,
    offers,
    pickups,
    printing,
    products,
    returns,
    sales,
    stock,
)

AREAS = (customers, meta, offers, pickups, printing, products, sales, stock, returns)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
for _area in AREAS:
    bp.register_blueprint(_area.bp)
