"""Fixtures of the coupon tests: down-events applied exactly as the sync worker applies them
(``edge.store.handlers.HANDLERS`` inside ``db.write``), and a shop with a few offers and codes."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge.store import db, state
from tests.support import seeding
from tests.sync.conftest import (  # noqa: F401 - the sync tests' broker, web side and edge
    broker,
    collector,
    edge_db,
    make_broker,
    start_edge,
    web,
)

Apply = seeding.Apply


def iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds").replace("+00:00", "Z")


def offer(offer_id: str = "OFF-10", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "offer_id": offer_id,
        "version": 1,
        "title": {"fr": "10 % sur tout", "en": "10% off everything"},
        "kind": "percent",
        "value": 10,
        "min_total": 0,
        "skus": [],
        "valid_from": iso(-timedelta(days=1)),
        "valid_until": iso(timedelta(days=30)),
        "active": True,
    }
    data.update(over)
    return data


def coupon(code: str, offer_id: str = "OFF-10", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "coupon_id": f"cp-{code.lower()}",
        "offer_id": offer_id,
        "code": code,
        "customer_id": None,
        "max_uses": 1,
        "issued_at": iso(-timedelta(hours=1)),
        "channel": "email",
    }
    data.update(over)
    return data


def redeemed(coupon_id: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "redemption_id": f"rd-{uuid.uuid4().hex[:12]}",
        "coupon_id": coupon_id,
        "channel": "web",
        "store_id": None,
        "ref": f"W-{uuid.uuid4().hex[:6]}",
        "discount": 300,
        "occurred_at": iso(),
    }
    data.update(over)
    return data


@pytest.fixture
def apply(conn: sqlite3.Connection) -> Apply:
    """Apply one down-event as the sync worker does."""
    return seeding.applier(conn)


@pytest.fixture
def shop(seeded: dict[str, Any], apply: Apply) -> dict[str, Any]:
    """The demo shop plus offers: 10 % on everything (a personal code for Élodie, c-0001),
    5.00 off from 20.00 (a code anyone may use 1000 times), 20 % on mugs only."""
    apply("offer.upserted", offer())
    apply(
        "offer.upserted",
        offer(
            "OFF-5E",
            kind="amount",
            value=500,
            min_total=2000,
            title={"fr": "5 € dès 20 €", "en": "€5 off from €20"},
        ),
    )
    apply(
        "offer.upserted",
        offer(
            "OFF-MUG",
            value=20,
            skus=["SKU-MUG"],
            title={"fr": "20 % sur les mugs", "en": "20% off mugs"},
        ),
    )
    apply("coupon.issued", coupon("ELODIE10", customer_id="c-0001"))
    apply("coupon.issued", coupon("BIENVENUE", "OFF-5E", max_uses=1000, channel="tv"))
    apply("coupon.issued", coupon("MUG20", "OFF-MUG", channel="sms"))
    return seeded


def link_up(conn: sqlite3.Connection) -> None:
    with db.write(conn):
        state.put(conn, "link", {"connected": True, "heartbeat_at": db.now_iso()})


def link_down(conn: sqlite3.Connection, seconds: float) -> None:
    since = datetime.now(UTC) - timedelta(seconds=seconds)
    with db.write(conn):
        state.put(
            conn,
            "link",
            {"connected": False, "down_since": since.isoformat().replace("+00:00", "Z")},
        )
