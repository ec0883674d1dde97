"""Offer and coupon down-events applied through ``edge.store.handlers.HANDLERS``: duplicates, any
order, the store's own redemption echoed back, and a double use across channels flagged."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge import handlers
from edge.offers import views as offer_views
from edge.store import db, inbox
from sync import contract
from tests.offers.conftest import coupon, link_down, offer, redeemed


def end_state(conn: sqlite3.Connection) -> dict[str, Any]:
    """What the events leave behind, without the local arrival times."""
    return {
        "offers": [
            tuple(r)
            for r in conn.execute(
                "SELECT offer_id, version, title, kind, value, min_total, skus, valid_from, "
                "valid_until, active FROM offers ORDER BY offer_id"
            )
        ],
        "coupons": [
            tuple(r)
            for r in conn.execute(
                "SELECT coupon_id, offer_id, code, customer_id, max_uses, issued_at, channel "
                "FROM coupons ORDER BY coupon_id"
            )
        ],
        "redemptions": [
            tuple(r)
            for r in conn.execute(
                "SELECT redemption_id, coupon_id, channel, store_id, ref, discount, occurred_at, "
                "origin FROM coupon_redemptions ORDER BY redemption_id"
            )
        ],
        "overuse": [
            tuple(r)
            for r in conn.execute("SELECT coupon_id, max_uses, uses FROM coupon_overuse ORDER BY 1")
        ],
        "audit": [
            (r["action"], r["target"])
            for r in conn.execute(
                "SELECT * FROM audit_log WHERE action LIKE 'coupon.%' ORDER BY target, action"
            )
        ],
    }


def campaign() -> list[tuple[str, dict[str, Any]]]:
    """A clean delivery: two versions of an offer, two coupons, their redemptions (the second
    coupon used twice, once too often: a double use)."""
    return [
        ("offer.upserted", offer("OFF-A", version=1, value=10)),
        ("offer.upserted", offer("OFF-A", version=2, value=15, title={"fr": "15 %", "en": "15%"})),
        ("coupon.issued", coupon("AAA1", "OFF-A", customer_id="c-0001")),
        ("coupon.issued", coupon("AAA2", "OFF-A")),
        (
            "coupon.redeemed",
            redeemed("cp-aaa1", redemption_id="r-1", occurred_at="2026-11-20T10:00:00Z"),
        ),
        (
            "coupon.redeemed",
            redeemed("cp-aaa2", redemption_id="r-2", occurred_at="2026-11-20T11:00:00Z"),
        ),
        (
            "coupon.redeemed",
            redeemed(
                "cp-aaa2",
                redemption_id="r-3",
                occurred_at="2026-11-20T12:00:00Z",
                channel="store",
                store_id="S042",
            ),
        ),
    ]


def fresh(tmp_path: Path, name: str) -> sqlite3.Connection:
    """A migrated store database of its own (copied from a template: many orders are tried,
    and only the handlers are under test here, so the copies skip the fsyncs)."""
    template = tmp_path / "template.db"
    if not template.exists():
        db.open_database(template).close()
    target = tmp_path / f"{name}.db"
    shutil.copyfile(template, target)
    conn = db.connect(target)
    conn.execute("PRAGMA synchronous=OFF")
    return conn


def deliver(conn: sqlite3.Connection, events: list[tuple[str, dict[str, Any]]]) -> None:
    for n, (type_, data) in enumerate(events):
        ctx = inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id=f"e-{n}")
        with db.write(conn):
            handlers.HANDLERS[type_](conn, data, ctx)


def test_duplicates_and_any_order_give_the_clean_end_state(tmp_path):
    events = campaign()
    clean = fresh(tmp_path, "clean")
    deliver(clean, events)
    expected = end_state(clean)
    clean.close()
    assert expected["offers"][0][1] == 2 and expected["offers"][0][4] == 15
    assert expected["overuse"] == [("cp-aaa2", 1, 2)]
    assert expected["audit"] == [("coupon.overuse", "cp-aaa2")]
    rng = random.Random(10)
    orders = [list(reversed(events))] + [rng.sample(events * 2, len(events) * 2) for _ in range(12)]
    for n, order in enumerate(orders):
        conn = fresh(tmp_path, f"shuffled-{n}")
        deliver(conn, order)
        assert end_state(conn) == expected, [t for t, _ in order]
        conn.close()


def test_every_order_of_issue_and_redemptions(tmp_path):
    """All 120 orders of offer, coupon and three redemptions of a single-use code."""
    events = [
        ("offer.upserted", offer("OFF-B")),
        ("coupon.issued", coupon("BBB", "OFF-B")),
        ("coupon.redeemed", redeemed("cp-bbb", redemption_id="r-web")),
        ("coupon.redeemed", redeemed("cp-bbb", redemption_id="r-web-2")),
        (
            "coupon.redeemed",
            redeemed("cp-bbb", redemption_id="r-store", channel="store", store_id="S001"),
        ),
    ]
    states = []
    for n, order in enumerate(itertools.permutations(events)):
        conn = fresh(tmp_path, f"p{n}")
        deliver(conn, list(order))
        states.append(end_state(conn))
        conn.close()
    assert all(s == states[0] for s in states)
    assert states[0]["overuse"] == [("cp-bbb", 1, 3)] and len(states[0]["audit"]) == 1


def test_old_offer_version_is_ignored(apply, conn, seeded):
    assert apply("offer.upserted", offer("OFF-V", version=3, value=30))
    assert not apply("offer.upserted", offer("OFF-V", version=2, value=20))
    assert not apply("offer.upserted", offer("OFF-V", version=3, value=40))
    assert conn.execute("SELECT value FROM offers WHERE offer_id='OFF-V'").fetchone()[0] == 30
    assert apply("offer.upserted", offer("OFF-V", version=4, active=False))
    assert conn.execute("SELECT active FROM offers WHERE offer_id='OFF-V'").fetchone()[0] == 0


def test_a_code_taken_by_another_coupon_is_kept_and_audited(apply, conn, seeded):
    assert apply("coupon.issued", coupon("SAME", coupon_id="cp-1"))
    assert not apply("coupon.issued", coupon("same", coupon_id="cp-2"))
    assert conn.execute("SELECT coupon_id FROM coupons WHERE code='SAME'").fetchone()[0] == "cp-1"
    row = conn.execute(
        "SELECT target FROM audit_log WHERE action='coupon.code_conflict'"
    ).fetchone()
    assert row[0] == "cp-2"


def test_own_redemption_echoed_back_is_not_counted_twice(client, headers, shop, apply, conn):
    body = {"terminal_id": "pos-1", "currency": "EUR", "lines": [{"sku": "SKU-MUG", "qty": 1}]}
    r = client.post(
        "/api/v1/sales",
        json=dict(body, coupon_codes=["BIENVENUE"]),
        headers=headers("pos", Idempotency_Key="k-1"),
    )
    assert r.status_code == 422  # 12.90 is under the 20.00 minimum
    body["lines"] = [{"sku": "SKU-MUG", "qty": 2}]
    r = client.post(
        "/api/v1/sales",
        json=dict(body, coupon_codes=["MUG20"]),
        headers=headers("pos", Idempotency_Key="k-2"),
    )
    assert r.status_code == 201
    up = json.loads(
        conn.execute("SELECT data FROM outbox WHERE type='coupon.redeemed'").fetchone()[0]
    )
    assert not apply("coupon.redeemed", up)  # the chain's echo of our own redemption
    assert not apply("coupon.redeemed", up)
    rows = conn.execute("SELECT origin FROM coupon_redemptions").fetchall()
    assert [r["origin"] for r in rows] == ["local"]
    assert conn.execute("SELECT COUNT(*) FROM coupon_overuse").fetchone()[0] == 0
    ready = client.get("/readyz").json
    assert ready["coupons"]["overused"] == 0 and "coupon_overuse" not in ready["degraded"]


def test_double_use_across_channels_during_an_outage_is_flagged(client, headers, shop, apply, conn):
    """The link is down; the store accepts MUG20 once (it cannot see the web). The web had
    used it too: after the merge the code is flagged in the audit log, /readyz and metrics."""
    link_down(conn, 3600)
    r = client.post(
        "/api/v1/sales",
        json={
            "terminal_id": "pos-1",
            "currency": "EUR",
            "lines": [{"sku": "SKU-MUG", "qty": 1}],
            "coupon_codes": ["MUG20"],
        },
        headers=headers("pos", Idempotency_Key="k-1"),
    )
    assert r.status_code == 201
    assert client.get("/readyz").json["coupons"]["overused"] == 0
    # the link is back: the web's earlier redemption and our own echo come down
    web = redeemed("cp-mug20", redemption_id="r-web-1", ref="W-100999", discount=258)
    assert apply("coupon.redeemed", web)
    up = json.loads(
        conn.execute("SELECT data FROM outbox WHERE type='coupon.redeemed'").fetchone()[0]
    )
    assert not apply("coupon.redeemed", up)
    assert not apply("coupon.redeemed", web)
    ready = client.get("/readyz").json
    assert "coupon_overuse" in ready["degraded"]
    assert ready["coupons"]["overused"] == 1
    assert ready["coupons"]["flagged"] == 1  # counts only: /readyz is unauthenticated
    flagged = offer_views.overused(conn)[0]  # the codes: the audit log and the views
    assert flagged["coupon_id"] == "cp-mug20" and flagged["code"] == "MUG20"
    assert flagged["uses"] == 2 and flagged["max_uses"] == 1
    audit = conn.execute("SELECT * FROM audit_log WHERE action='coupon.overuse'").fetchall()
    assert len(audit) == 1
    detail = json.loads(audit[0]["detail"])
    assert {r["channel"] for r in detail["redemptions"]} == {"web", "store"}
    assert {r["origin"] for r in detail["redemptions"]} == {"local", "down"}
    metrics = client.get("/metrics").text
    assert "passerelle_coupon_overuse 1.0" in metrics
    r = client.get("/api/v1/audit", headers=headers("admin"))
    assert any(e["action"] == "coupon.overuse" for e in r.json["items"])


def test_bad_events_are_refused_whole(apply, conn, seeded):
    """A handler raises on a message it cannot trust; its transaction writes nothing."""
    bad = [
        ("offer.upserted", offer("OFF-X", valid_from="2026-11-24T10:00:00")),  # no offset
        ("offer.upserted", offer("OFF-X", valid_until="tomorrow")),
        ("offer.upserted", offer("OFF-X", kind="gift")),
        ("offer.upserted", offer("OFF-X", value=101)),
        ("offer.upserted", offer("OFF-X", title="10 %")),
        ("offer.upserted", offer("OFF-X", skus="SKU-MUG")),
        ("coupon.issued", coupon("XX", issued_at=None)),
        ("coupon.redeemed", redeemed("cp-xx", discount=-5)),
        ("coupon.redeemed", redeemed("cp-xx", occurred_at="yesterday")),
    ]
    for type_, data in bad:
        with pytest.raises(ValueError):
            apply(type_, data)
    for table in ("offers", "coupons", "coupon_redemptions"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert apply("offer.upserted", offer("OFF-X", valid_from="2026-11-24T10:00:00+00:00"))


def test_the_events_of_these_tests_meet_the_contract():
    """The down-events fed to the handlers here are ones the online store may send."""
    for n, (type_, data) in enumerate(campaign(), start=1):
        contract.validate(
            {
                "specversion": "1.0",
                "id": f"e-{n}",
                "source": "/web/chain",
                "type": type_,
                "time": "2026-11-22T10:15:00Z",
                "sequence": str(n),
                "datacontenttype": "application/json",
                "data": data,
            }
        )
