"""The reference online store's web pages (server-rendered forms, with CSRF protection) and
its command line, as the demo starts it."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from online_store import OnlineStore
from online_store.web import create_app

from sync import contract
from tests.online_store.test_online_store import FakeEdge
from tests.support import proc
from tests.support.broker import Broker, free_port, wait_port
from tests.support.waiting import wait_until

TOKEN = "backfill-secret"


@pytest.fixture
def store(online_db: str, mosquitto: Broker) -> Iterator[OnlineStore]:
    s = OnlineStore(online_db, mosquitto.url, "passerelle/v1", ["S001", "S002"], TOKEN).start()
    yield s
    s.stop()


@pytest.fixture
def web(store: OnlineStore) -> FlaskClient:
    return create_app(store).test_client()


def csrf(web: FlaskClient, path: str = "/") -> str:
    page = web.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def post(web: FlaskClient, path: str, data: dict[str, str], follow: bool = True) -> tuple[int, str]:
    resp = web.post(path, data={**data, "csrf_token": csrf(web)}, follow_redirects=follow)
    return resp.status_code, resp.get_data(as_text=True)


def test_customer_order_purchase_and_account_pages(web: FlaskClient, store: OnlineStore) -> None:
    status, page = post(
        web, "/customers", {"first_name": "Élise", "last_name": "Blanc", "locale": "fr"}
    )
    assert status == 200 and "Élise Blanc" in page and "Points balance" in page
    (customer,) = [e["data"] for e in store.events("chain") if e["type"] == "customer.upserted"]
    cid = customer["customer_id"]

    status, page = post(
        web,
        f"/customers/{cid}",
        {"first_name": "Élise", "last_name": "Blanc-Roy", "tier": "silver", "phone": "06 11"},
    )
    assert status == 400 and "E.164" in page  # refused, and nothing written
    status, page = post(
        web,
        f"/customers/{cid}",
        {"first_name": "Élise", "last_name": "Blanc-Roy", "tier": "silver"},
    )
    assert status == 200 and "Blanc-Roy" in page
    assert store.account(cid)["customer"]["version"] == 2

    status, page = post(
        web, f"/customers/{cid}/orders", {"store_id": "S001", "qty_SKU-MUG": "2", "paid": "on"}
    )
    assert status == 200
    code = re.search(r'class="code">(\d{6})<', page)
    assert code and "W-100001" in page
    status, page = post(web, f"/customers/{cid}/purchases", {"qty_SKU-TORCHON": "1"})
    assert status == 200 and "Torchon lin écru" in page

    account = store.account(cid)
    # the paid click-and-collect order earns at once (issue 16), the web purchase too
    assert account["balance"] == int(25 * 1.25) + int(15 * 1.25)
    assert account["orders"][0]["pickup_code"] == code.group(1)
    order_id = account["orders"][0]["order_id"]
    status, page = post(
        web, f"/orders/{order_id}/cancel", {"reason": "too late", "next": f"/customers/{cid}"}
    )
    assert status == 200 and "cancelled: too late" in page
    assert store.balance(cid) == int(15 * 1.25)  # the cancelled order's points taken back
    status, _ = post(web, f"/orders/{order_id}/cancel", {"reason": "again"})
    assert status == 409

    for bad in ({"store_id": "S999", "qty_SKU-MUG": "1"}, {"store_id": "S001"}):
        assert post(web, f"/customers/{cid}/orders", bad)[0] == 400
    assert post(web, f"/customers/{cid}/orders", {"store_id": "S001", "qty_NOPE": "1"})[0] == 400
    assert post(web, f"/customers/{cid}/orders", {"store_id": "S001", "qty_SKU-MUG": "x"})[0] == 400
    assert web.get("/customers/nobody").status_code == 404
    for e in store.events("chain") + store.events("stores/S001"):
        contract.validate(e)


def test_forms_need_the_csrf_token(web: FlaskClient, store: OnlineStore) -> None:
    resp = web.post("/customers", data={"first_name": "A", "last_name": "B"})
    assert resp.status_code == 400
    assert not [e for e in store.events("chain") if e["type"] == "customer.upserted"]


def test_offer_coupon_sent_message_and_redemption(web: FlaskClient, store: OnlineStore) -> None:
    # Jo agreed to offers by e-mail (issue 22: no coupon e-mail without consent).
    cid = store.upsert_customer(
        first_name="Jo", last_name="Lee", email="jo@example.com", consent_email=True
    )["customer_id"]
    # No offer yet: the account says where to make one instead of hiding the coupon form.
    page = web.get(f"/customers/{cid}").get_data(as_text=True)
    assert 'id="no-offer"' in page and 'href="/offers"' in page
    assert "Issue a coupon" not in page
    status, page = post(
        web,
        "/offers",
        {
            "title_fr": "5 € offerts",
            "title_en": "5 EUR off",
            "kind": "amount",
            "value": "500",
            "min_total": "1000",
        },
    )
    assert status == 200 and "5 € offerts" in page
    (offer,) = [e["data"] for e in store.events("chain") if e["type"] == "offer.upserted"]
    assert offer["title"] == {"fr": "5 € offerts", "en": "5 EUR off"}

    page = web.get(f"/customers/{cid}").get_data(as_text=True)
    assert "Issue a coupon" in page and 'id="no-offer"' not in page
    status, page = post(web, f"/customers/{cid}/coupons", {"offer_id": offer["offer_id"]})
    assert status == 200 and "jo@example.com" in page and "<svg" in page
    (coupon,) = [e["data"] for e in store.events("chain") if e["type"] == "coupon.issued"]
    assert coupon["code"] in page and coupon["customer_id"] == cid

    # Below the minimum: refused, and the code stays unused.
    status, page = post(
        web,
        f"/customers/{cid}/orders",
        {"store_id": "S002", "qty_SKU-CHOCO-NOIR": "1", "coupon_code": coupon["code"]},
    )
    assert status == 409 and "minimum" in page
    status, page = post(
        web,
        f"/customers/{cid}/orders",
        {"store_id": "S002", "qty_SKU-MUG": "1", "coupon_code": coupon["code"]},
    )
    assert status == 200 and "7.90 EUR" in page
    (redeemed,) = [e["data"] for e in store.events("chain") if e["type"] == "coupon.redeemed"]
    assert (redeemed["channel"], redeemed["discount"]) == ("web", 500)
    placed = store.events("stores/S002")[0]["data"]
    assert placed["total"] == 790 and redeemed["ref"] == placed["order_id"]

    status, page = post(
        web, f"/customers/{cid}/purchases", {"qty_SKU-MUG": "1", "coupon_code": coupon["code"]}
    )
    assert status == 409 and "already used" in page
    other = store.upsert_customer(first_name="Al", last_name="Ng")["customer_id"]
    fresh = store.issue_coupon(offer["offer_id"], cid)
    status, page = post(
        web, f"/customers/{other}/purchases", {"qty_SKU-MUG": "1", "coupon_code": fresh["code"]}
    )
    assert status == 409 and "another customer" in page
    assert "spent" in web.get(f"/customers/{cid}").get_data(as_text=True)
    assert post(web, "/offers", {"title_fr": "x", "kind": "percent", "value": "101"})[0] == 400


def test_the_command_line_runs_it(tmp_path: Path, online_db: str, mosquitto: Broker) -> None:
    port = free_port()
    log = tmp_path / "online.log"
    args = [sys.executable, "-m", "online_store", "--db", online_db]
    args += ["--port", str(port), "--mqtt-url", mosquitto.url, "--token", TOKEN]
    args += ["--stores", "S001,S002", "--topic-prefix", "passerelle/v1"]
    child = proc.start(args, proc.env(), log)
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        health = wait_until(
            lambda: requests.get(f"{base}/healthz", timeout=5).json()["mqtt_connected"],
            what="the online store connected to the broker",
        )
        assert health
        r = requests.get(
            f"{base}/passerelle/v1/streams/chain/events",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        # the catalogue, then the demo campaign's offer (issue 22)
        assert [e["type"] for e in r.json()] == ["product.upserted"] * 10 + ["offer.upserted"]
        assert "Élodie" in requests.get(base, timeout=5).text
        # The demo members and their history: the same balance as the store's demo shows.
        account = requests.get(f"{base}/customers/c-0001", timeout=5).text
        assert 'id="balance">1574<' in account and "store S001" in account
    finally:
        # Ctrl-C reaches the whole process group, then the demo script sends SIGTERM: a burst
        # of both must stop it (a handler calling Event.set() could deadlock in set()).
        for n in range(100):
            child.send_signal(signal.SIGINT if n % 2 else signal.SIGTERM)
        assert child.wait(timeout=15) == 0, log.read_text()
    bad = proc.start([*args[:-4], "--stores", "bad id!"], proc.env(), log)
    assert bad.wait(timeout=15) == 2
    assert "store id" in log.read_text()


def test_its_last_will_marks_it_offline_when_killed(
    tmp_path: Path, online_db: str, mosquitto: Broker
) -> None:
    edge = FakeEdge(mosquitto)
    args = [sys.executable, "-m", "online_store", "--db", online_db]
    args += ["--port", str(free_port()), "--mqtt-url", mosquitto.url, "--token", TOKEN]
    child = proc.start([*args, "--stores", "S001"], proc.env(), tmp_path / "online.log")
    topic = "passerelle/v1/status/web/chain"
    try:
        wait_until(lambda: edge.statuses().get(topic, {}).get("online"), what="online status")
        assert edge.statuses()[topic]["last_sequence"] == "11"  # catalogue + demo campaign offer
        child.kill()  # no goodbye: the broker publishes the will
        child.wait(timeout=10)
        wait_until(lambda: edge.statuses()[topic]["online"] is False, what="the last will")
        contract.validate_status(edge.statuses()[topic])
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        edge.close()
