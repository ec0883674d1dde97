"""The /api/v1 blueprint: the same API for third-party terminals and for our own screens."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Importing the modules registers their operations on ``bp``.
from edge.api import customers, meta, offers, pickups, printing, products, sales  # noqa: E402,F401
