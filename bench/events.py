"""The contract events the MQTT phases feed the edge: down-events for the catch-up, and the
data of the up-events the drain finds waiting in the outbox.

Both are seeded, so that every run sends the same mix of the same shapes, and both follow the
contract (CloudEvents envelopes, time-ordered UUIDv7 ids, one sequence per source), since the
edge dead-letters anything else and would then be measured doing less work than a store does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.edge_api import new_id
from bench.mqtt import PREFIX, STORE


def _now(offset_s: float = 0) -> str:
    """The contract's timestamp (UTC, milliseconds, ``Z``), ``offset_s`` from now."""
    t = datetime.now(UTC) + timedelta(seconds=offset_s)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(source: str, seq: int, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvents envelope the online store wraps each down-event in."""
    return {
        "specversion": "1.0",
        "id": new_id(),
        "source": source,
        "type": type_,
        "time": _now(),
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }


def _lines(rng: random.Random, products: int) -> list[dict[str, Any]]:
    """1 to 5 purchase lines of the data set's catalogue."""
    out = []
    for _ in range(rng.randint(1, 5)):
        i = rng.randint(1, products)
        out.append(
            {
                "sku": f"SKU-{i:06d}",
                "name": f"Product {i}",
                "qty": rng.randint(1, 2),
                "unit_price": rng.choice((199, 450, 990, 1500)),
            }
        )
    return out


def down_mix(with_orders: bool) -> dict[str, float]:
    """The share of each type in a catch-up, as a day offline looks from a busy chain."""
    mix = {"purchase.recorded": 0.40, "loyalty.entry": 0.35, "customer.upserted": 0.15}
    if with_orders:
        mix["order.placed"] = 0.10
    else:
        mix["purchase.recorded"] += 0.10
    return mix


# -- the data of each down-event type: (rng, k, card, customer_id, at, products) -> data -----


def _purchase(
    rng: random.Random, k: int, card: str, cid: str, at: str, products: int
) -> dict[str, Any]:
    """A purchase made on the web (70 %) or in another store of the chain."""
    lines = _lines(rng, products)
    total = sum(ln["qty"] * ln["unit_price"] for ln in lines)
    web = rng.random() < 0.7
    return {
        "purchase_id": new_id(),
        "customer_id": cid,
        "channel": "web" if web else "store",
        "store_id": None if web else f"S{rng.randint(2, 40):03d}",
        "occurred_at": at,
        "currency": "EUR",
        "total": total,
        "lines": lines,
        "points_earned": total // 100,
    }


def _entry(
    rng: random.Random, k: int, card: str, cid: str, at: str, products: int
) -> dict[str, Any]:
    """A loyalty ledger entry made on the web."""
    return {
        "entry_id": new_id(),
        "customer_id": cid,
        "points": rng.randint(1, 300),
        "reason": rng.choice(("purchase", "bonus", "adjust")),
        "ref": None,
        "channel": "web",
        "store_id": None,
        "occurred_at": at,
    }


def _customer(
    rng: random.Random, k: int, card: str, cid: str, at: str, products: int
) -> dict[str, Any]:
    """A member enrolled on the web (half) or a new version of one the store knows."""
    new = rng.random() < 0.5
    return {
        "customer_id": new_id() if new else cid,
        "version": 1 if new else 2 + k,
        "loyalty_card": f"39{k:010d}" if new else card,
        "first_name": "Camille",
        "last_name": "Martin",
        "email": f"member{k}@example.com",
        "phone": f"+3361{k % 10_000_000:07d}",
        "tier": rng.choice(("standard", "silver", "gold")),
        "locale": "fr",
    }


def _order(
    rng: random.Random, k: int, card: str, cid: str, at: str, products: int
) -> dict[str, Any]:
    """A paid click-and-collect order to be picked up at this store within three days."""
    lines = _lines(rng, products)
    return {
        "order_id": new_id(),
        "order_number": f"W-{100000 + k}",
        "customer_id": cid,
        "customer_name": "Camille M.",
        "pickup_code": f"{rng.randint(0, 999_999):06d}",
        "currency": "EUR",
        "total": sum(ln["qty"] * ln["unit_price"] for ln in lines),
        "paid": True,
        "lines": lines,
        "placed_at": at,
        "pickup_by": _now(3 * 86_400),
    }


_DOWN_DATA: dict[str, Callable[[random.Random, int, str, str, str, int], dict[str, Any]]] = {
    "purchase.recorded": _purchase,
    "loyalty.entry": _entry,
    "customer.upserted": _customer,
    "order.placed": _order,
}


def down_events(
    n: int, members: list[tuple[str, str]], products: int, *, with_orders: bool, seed: int = 7
) -> Iterator[tuple[str, bytes, str]]:
    """``n`` contract-valid down-events: (topic, payload, type), sequences from 1 per source.

    Ids are time-ordered UUIDv7, as the reference online store makes them and as the
    contract's example id is; members are drawn at random from the data set."""
    rng = random.Random(seed)
    mix = down_mix(with_orders)
    types, weights = list(mix), list(mix.values())
    seqs = {"/web/chain": 0, f"/web/stores/{STORE}": 0}
    for k in range(n):
        type_ = rng.choices(types, weights)[0]
        card, cid = members[rng.randrange(len(members))]
        at = _now(-rng.randint(60, 86_400))
        data = _DOWN_DATA[type_](rng, k, card, cid, at, products)
        if type_ == "order.placed":
            source, topic = f"/web/stores/{STORE}", f"{PREFIX}/stores/{STORE}/down/{type_}"
        else:
            source, topic = "/web/chain", f"{PREFIX}/chain/down/{type_}"
        seqs[source] += 1
        payload = json.dumps(_envelope(source, seqs[source], type_, data), separators=(",", ":"))
        yield topic, payload.encode(), type_


# -- up-events --------------------------------------------------------------------------------

# The share of each type waiting in a store's outbox after a day offline.
UP_MIX = {
    "sale.recorded": 0.45,
    "loyalty.entry": 0.40,
    "customer.enrolled": 0.05,
    "pickup.updated": 0.10,
}


def up_data(type_: str, k: int, cid: str, now: str, rng: random.Random) -> dict[str, Any]:
    """The data of the ``k``-th up-event of ``type_`` (one of ``UP_MIX``), for member ``cid``."""
    if type_ == "sale.recorded":
        lines = [
            {
                "sku": f"SKU-{rng.randint(1, 500):06d}",
                "name": "Product",
                "qty": 1,
                "unit_price": 450,
            }
            for _ in range(rng.randint(1, 4))
        ]
        total = 450 * len(lines)
        return {
            "sale_id": new_id(),
            "terminal_id": "pos-1",
            "cashier_id": "bench",
            "customer_id": cid,
            "occurred_at": now,
            "currency": "EUR",
            "total": total,
            "lines": lines,
            "discount": 0,
            "coupons": [],
            "points_earned": total // 100,
            "points_redeemed": 0,
        }
    if type_ == "loyalty.entry":
        return {
            "entry_id": new_id(),
            "customer_id": cid,
            "points": 4,
            "reason": "purchase",
            "ref": new_id(),
            "channel": "store",
            "store_id": "S001",
            "occurred_at": now,
        }
    if type_ == "customer.enrolled":
        return {
            "customer_id": new_id(),
            "loyalty_card": f"PC{k:012d}",
            "first_name": "Camille",
            "last_name": "Martin",
            "email": None,
            "phone": None,
            "locale": "fr",
        }
    return {
        "order_id": new_id(),
        "status": "collected",
        "checked_in_at": now,
        "staff_id": "st-bench",
        "occurred_at": now,
    }
