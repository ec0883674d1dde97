"""Down-events of the offers area: versioned offers, immutable coupons, idempotent uses.

Each applier runs inside the inbox's write transaction (``edge.store.inbox``) and opens
none; a malformed message raises ValueError so that the event is refused, not half applied.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.offers.service import checked_time, flag_overuse, insert_redemption
from edge.store import audit
from edge.store.db import now_iso
from edge.store.inbox import ApplyContext, Handler

log = logging.getLogger("passerelle.offers")


def apply_offer_upserted(
    conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext | None = None
) -> bool:
    """``offer.upserted``: keep only a newer version (an old one delivered late is ignored)."""
    kind = str(d["kind"])
    value = int(d["value"])
    if kind not in ("percent", "amount") or value < 0 or (kind == "percent" and value > 100):
        raise ValueError(f"offer {d.get('offer_id')!r}: bad kind/value {kind!r}/{value!r}")
    title = d.get("title") or {}
    if not isinstance(title, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in title.items()
    ):
        raise ValueError("offer title must be an object of locale → text")
    skus = d.get("skus") or []
    if not isinstance(skus, list | tuple) or not all(isinstance(x, str) for x in skus):
        raise ValueError("offer skus must be a list of SKUs")
    valid_from, valid_until = checked_time(d.get("valid_from")), checked_time(d.get("valid_until"))
    cur = conn.execute(
        "INSERT INTO offers (offer_id, version, title, kind, value, min_total, skus, valid_from, "
        "valid_until, active, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (offer_id) DO UPDATE SET version=excluded.version, title=excluded.title, "
        "kind=excluded.kind, value=excluded.value, min_total=excluded.min_total, "
        "skus=excluded.skus, valid_from=excluded.valid_from, valid_until=excluded.valid_until, "
        "active=excluded.active, updated_at=excluded.updated_at "
        "WHERE excluded.version > offers.version",
        (
            str(d["offer_id"]),
            int(d["version"]),
            json.dumps(dict(title), ensure_ascii=False, sort_keys=True),
            kind,
            value,
            max(0, int(d.get("min_total") or 0)),
            json.dumps(sorted(set(skus))),
            valid_from,
            valid_until,
            int(bool(d.get("active", True))),
            now_iso(),
        ),
    )
    return cur.rowcount == 1


def apply_coupon_issued(
    conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext | None = None
) -> bool:
    """``coupon.issued``: a coupon is immutable, so the first delivery wins and later ones
    are no-ops. It may arrive before its offer, or after redemptions of it (out of order): the
    redemptions already here are then checked against its ``max_uses``."""
    coupon_id = str(d["coupon_id"])
    code = str(d["code"]).strip()
    holder = conn.execute("SELECT coupon_id FROM coupons WHERE code = ?", (code,)).fetchone()
    if holder is not None and holder["coupon_id"] != coupon_id:
        # Two coupons with one code: keep the first, and say so where people look.
        log.warning("coupon %s: code %r already belongs to %s", coupon_id, code, holder[0])
        audit.record(
            conn,
            actor="sync",
            role=None,
            action="coupon.code_conflict",
            target=coupon_id,
            detail={"code": code, "kept": holder["coupon_id"]},
        )
        return False
    reason = d.get("reason")  # issue 22: why this member got it, {locale: text}
    if reason is not None and not (
        isinstance(reason, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in reason.items())
    ):
        raise ValueError("coupon reason must be an object of locale → text")
    cur = conn.execute(
        "INSERT OR IGNORE INTO coupons (coupon_id, offer_id, code, customer_id, max_uses, "
        "issued_at, channel, recorded_at, reason) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            coupon_id,
            str(d["offer_id"]),
            code,
            d.get("customer_id"),
            max(1, int(d.get("max_uses") or 1)),
            checked_time(d["issued_at"], required=True),
            str(d.get("channel") or "web"),
            now_iso(),
            json.dumps(dict(reason), ensure_ascii=False) if reason else None,
        ),
    )
    if cur.rowcount != 1:
        return False
    flag_overuse(conn, coupon_id)
    return True


def apply_coupon_redeemed(
    conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext | None = None
) -> bool:
    """``coupon.redeemed``: one use from any channel, once per ``redemption_id`` (our own
    store redemptions come back with the same id and are ignored)."""
    if not insert_redemption(conn, d, origin="down"):
        return False
    flag_overuse(conn, str(d["coupon_id"]))
    return True


HANDLERS: dict[str, Handler] = {
    "offer.upserted": apply_offer_upserted,
    "coupon.issued": apply_coupon_issued,
    "coupon.redeemed": apply_coupon_redeemed,
}
