"""The reference online store (the online-store side of the contract), on a real Mosquitto.

A small stand-in edge (a real paho client) publishes up-events and listens to the down
topics; every message the online store sends is checked against the contract's schemas.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from online_store import OnlineStore
from online_store.auth import store_token
from paho.mqtt.enums import CallbackAPIVersion

from sync import contract
from tests.support.broker import Broker
from tests.support.waiting import wait_until

PREFIX = "passerelle/v1"
TOKEN = "backfill-secret"


class FakeEdge:
    """A store's side of the link, reduced to what the tests need: publish up-events with
    the next sequence, and record every down-event and web status that arrives."""

    def __init__(self, broker: Broker, store_id: str = "S001") -> None:
        self.store_id = store_id
        self.sequence = 0
        self.received: list[tuple[str, dict[str, Any], bool]] = []
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"fake-edge-{store_id}",
            clean_session=False,  # as a real edge: the broker queues while we are away
        )

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            with self.lock:
                self.received.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

        self.client.on_message = on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.client.subscribe(
            [
                (f"{PREFIX}/stores/{store_id}/down/#", 1),
                (f"{PREFIX}/chain/down/#", 1),
                (f"{PREFIX}/status/web/#", 1),
            ]
        )
        assert subscribed.wait(10)

    def send(
        self,
        type_: str,
        data: dict[str, Any],
        *,
        sequence: int | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        event = {
            "specversion": "1.0",
            "id": event_id or str(uuid.uuid4()),
            "source": f"/stores/{self.store_id}",
            "type": type_,
            "time": "2026-11-22T10:15:00.000Z",
            "sequence": str(sequence),
            "datacontenttype": "application/json",
            "data": data,
        }
        self.send_raw(type_, json.dumps(event))
        return event

    def send_raw(self, type_: str, payload: str) -> None:
        info = self.client.publish(f"{PREFIX}/stores/{self.store_id}/up/{type_}", payload, qos=1)
        info.wait_for_publish(timeout=10)

    def status(self, last_sequence: int) -> None:
        payload = contract.status_payload(True, last_sequence, "2026-11-22T10:15:00.000Z")
        self.client.publish(
            f"{PREFIX}/status/stores/{self.store_id}", json.dumps(payload), qos=1, retain=True
        ).wait_for_publish(timeout=10)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Down-events received (not statuses), optionally of one type."""
        with self.lock:
            got = [e for t, e, _ in self.received if "/down/" in t]
        return [e for e in got if type_ is None or e["type"] == type_]

    def statuses(self) -> dict[str, dict[str, Any]]:
        """The latest status per topic."""
        with self.lock:
            return {t: e for t, e, _ in self.received if "/status/" in t}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def sale(sale_id: str, customer_id: str | None = "c-0001", total: int = 900) -> dict[str, Any]:
    return {
        "sale_id": sale_id,
        "terminal_id": "T1",
        "cashier_id": "st-ines",
        "customer_id": customer_id,
        "occurred_at": "2026-11-22T10:15:00.000Z",
        "currency": "EUR",
        "total": total,
        "lines": [{"sku": "SKU-CAFE-250", "name": "Café moulu 250 g", "qty": 2, "unit_price": 450}],
        "discount": 0,
        "coupons": [],
        "points_earned": total // 100,
        "points_redeemed": 0,
    }


def loyalty(entry_id: str, customer_id: str, points: int, ref: str) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "customer_id": customer_id,
        "points": points,
        "reason": "purchase",
        "ref": ref,
        "channel": "store",
        "store_id": "S001",
        "occurred_at": "2026-11-22T10:15:00.000Z",
    }


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A broker whose persistence works when the tests run as root: Mosquitto started as
    root drops to the ``mosquitto`` user, which cannot write into pytest's private tmp
    folders, and then silently keeps no sessions across a restart (``user`` is ignored
    when not started as root)."""
    broker = Broker(tmp_path / "broker", extra="user root").start()
    yield broker
    broker.kill()


@pytest.fixture
def make_store(online_db: str, mosquitto: Broker) -> Iterator[Callable[..., OnlineStore]]:
    started: list[OnlineStore] = []

    def make(instance: str = "1", **kwargs: Any) -> OnlineStore:
        kwargs.setdefault("gap_grace", 0.3)
        store = OnlineStore(
            online_db,
            mosquitto.url,
            PREFIX,
            ["S001", "S002"],
            TOKEN,
            instance=instance,
            **kwargs,
        )
        started.append(store.start())
        wait_until(lambda: store.subscribed, what="the online store subscribed")
        return store

    yield make
    for store in started:
        store.stop()


@pytest.fixture
def edge(mosquitto: Broker) -> Iterator[FakeEdge]:
    e = FakeEdge(mosquitto)
    yield e
    e.close()


@pytest.mark.postgresql_too
def test_everything_it_publishes_follows_the_contract(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    c = store.upsert_customer(first_name="Ada", last_name="Martin", email="ada@example.fr")
    store.upsert_customer(c["customer_id"], first_name="Ada", last_name="Martin", tier="gold")
    offer = store.create_offer(title_fr="−10 %", title_en="10% off", kind="percent", value=10)
    coupon = store.issue_coupon(offer["offer_id"], c["customer_id"])
    order = store.place_order(
        c["customer_id"], "S001", {"SKU-MUG": 2}, coupon_code=coupon["code"].lower()
    )
    store.cancel_order(order["order_id"], "changed my mind")
    store.record_web_purchase(c["customer_id"], {"SKU-BOUGIE": 1, "SKU-CREME": 2})

    wait_until(store.all_published, what="every event acknowledged by the broker")
    stored = store.events("chain") + store.events("stores/S001")
    wait_until(lambda: len(edge.events()) >= len(stored), what="the edge got every event")
    for event in edge.events():
        contract.validate(event)
    # Each source's sequence starts at 1 and has no hole; the wire carries what is stored.
    for source in ("/web/chain", "/web/stores/S001"):
        seqs = [int(e["sequence"]) for e in stored if e["source"] == source]
        assert seqs == list(range(1, len(seqs) + 1))
    assert sorted(e["id"] for e in edge.events()) == sorted(e["id"] for e in stored)
    types = [e["type"] for e in edge.events()]
    assert types.count("product.upserted") == 10
    for t in ("offer.upserted", "coupon.issued", "coupon.redeemed", "purchase.recorded"):
        assert t in types
    # The paid order's points, taken back when it was cancelled; the web purchase's.
    assert types.count("loyalty.entry") == 3

    upserts = edge.events("customer.upserted")
    assert [u["data"]["version"] for u in upserts] == [1, 2]
    placed = edge.events("order.placed")[0]["data"]
    assert placed["order_number"].startswith("W-") and len(placed["pickup_code"]) == 6
    assert placed["total"] == 2 * 1290 - 258  # 10 % off, rounded down
    assert edge.events("order.cancelled")[0]["data"]["reason"] == "changed my mind"
    paid_order, web = (e["data"] for e in edge.events("purchase.recorded"))
    assert (paid_order["order_id"], paid_order["fulfilment"]) == (order["order_id"], "pickup")
    assert edge.events("return.recorded")[0]["data"]["original"]["id"] == order["order_id"]
    assert (web["channel"], web["store_id"], web["total"]) == ("web", None, 2450 + 2 * 399)
    assert store.balance(c["customer_id"]) == web["points_earned"] == int(32 * 1.5)

    # The retained status of each stream we write says how far it goes.
    def statuses_current() -> bool:
        s = edge.statuses()
        return (
            s.get(f"{PREFIX}/status/web/chain", {}).get("last_sequence")
            == str(store.last_sequence("chain"))
            and s.get(f"{PREFIX}/status/web/stores/S001", {}).get("last_sequence") == "2"
        )

    store._status_at = 0.0  # the next tick republishes it (it does so every 30 s anyway)
    wait_until(statuses_current, what="status with the last sequence")
    for status in edge.statuses().values():
        contract.validate_status(status)
        assert status["online"] is True
    assert "S002" in " ".join(edge.statuses())  # one status per store served


def test_store_events_come_back_on_the_chain(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    order = store.place_order(
        store.upsert_customer(first_name="Bo", last_name="Li")["customer_id"],
        "S001",
        {"SKU-CAFE-250": 1},
    )
    offer = store.create_offer(title_fr="5 €", title_en="5 off", kind="amount", value=500)
    c = store.upsert_customer(first_name="Zoé", last_name="Roy")["customer_id"]
    coupon = store.issue_coupon(offer["offer_id"], c)
    edge.send(
        "customer.enrolled",
        {
            "customer_id": "s-0001",
            "loyalty_card": "PC123456789012",
            "first_name": "Inès",
            "last_name": "Haddad",
            "email": None,
            "phone": "+33611111111",
            "locale": "fr",
        },
    )
    edge.send("sale.recorded", sale("sale-1", "s-0001"))
    edge.send("loyalty.entry", loyalty("le-1", "s-0001", 9, "sale-1"))
    redemption = {
        "redemption_id": "rd-store-1",
        "coupon_id": coupon["coupon_id"],
        "channel": "store",
        "store_id": "S001",
        "ref": "sale-2",
        "discount": 500,
        "occurred_at": "2026-11-22T10:16:00.000Z",
    }
    edge.send("coupon.redeemed", redemption)
    pickup = {
        "order_id": order["order_id"],
        "status": "ready",
        "checked_in_at": None,
        "staff_id": "st-lucas",
        "occurred_at": "2026-11-22T10:17:00.000Z",
    }
    edge.send("pickup.updated", pickup)

    wait_until(lambda: store.up_sequence("S001") == 5, what="five up-events applied")
    wait_until(lambda: edge.events("coupon.redeemed"), what="the redemption echoed down")
    # The paid order is a web purchase of its own (issue 16); the store sale comes back.
    purchase = edge.events("purchase.recorded")[-1]
    assert purchase["source"] == "/web/chain"
    assert purchase["data"]["purchase_id"] == "sale-1"
    assert (purchase["data"]["channel"], purchase["data"]["store_id"]) == ("store", "S001")
    enrolled = edge.events("customer.upserted")[-1]["data"]
    assert (enrolled["customer_id"], enrolled["version"], enrolled["tier"]) == (
        "s-0001",
        1,
        "standard",
    )

    def echoed() -> list[dict[str, Any]]:
        return [e for e in edge.events("loyalty.entry") if e["data"]["entry_id"] == "le-1"]

    wait_until(echoed, what="the loyalty entry echoed down")
    assert echoed()[0]["data"] == loyalty("le-1", "s-0001", 9, "sale-1")
    assert edge.events("coupon.redeemed")[0]["data"] == redemption
    for event in edge.events():
        contract.validate(event)
    account = store.account("s-0001")
    assert [p["purchase_id"] for p in account["purchases"]] == ["sale-1"]
    assert account["balance"] == 9
    assert store.account(order["customer_id"])["orders"][0]["pickup_status"] == "ready"
    # The code is spent everywhere once the store used it.
    with pytest.raises(Exception, match="already used"):
        store.place_order(c, "S001", {"SKU-MUG": 1}, coupon_code=coupon["code"])
    assert store.dead_letters() == []


def test_duplicate_up_events_are_applied_once(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    first = edge.send("sale.recorded", sale("sale-1"))
    second = edge.send("sale.recorded", sale("sale-2"))
    for event in (first, second, first):  # redelivered, same id and sequence
        edge.send_raw("sale.recorded", json.dumps(event))
    # an old number with another id: contract 1.1 calls it a conflict, kept and reported
    edge.send("sale.recorded", sale("sale-1"), sequence=1)
    edge.send("sale.recorded", sale("sale-3"))
    wait_until(lambda: store.up_sequence("S001") == 3, what="three sales applied")
    wait_until(lambda: store.stats["duplicate"] == 3, what="three duplicates seen")
    assert store.stats["conflict"] == 1
    assert [r["sequence"] for r in store.received("S001")] == [1, 2, 3]
    assert [p["purchase_id"] for p in store.purchases("c-0001")] == ["sale-1", "sale-2", "sale-3"]
    wait_until(lambda: len(edge.events("purchase.recorded")) == 3, what="three purchases down")
    chain = [e["data"]["purchase_id"] for e in store.events("chain") if "purchase" in e["type"]]
    assert chain == ["sale-1", "sale-2", "sale-3"]


@pytest.mark.postgresql_too
def test_a_gap_in_a_store_sequence_requests_a_replay(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    edge.send("sale.recorded", sale("sale-1"))
    wait_until(lambda: store.up_sequence("S001") == 1, what="sale-1 applied")
    edge.sequence += 1  # the broker "lost" sequence 2
    edge.send("sale.recorded", sale("sale-3"))
    replay = wait_until(lambda: edge.events("replay.requested"), what="replay.requested published")[
        0
    ]
    contract.validate(replay)
    assert replay["source"] == "/web/stores/S001"
    assert replay["data"] == {"after": "1"}
    assert store.up_sequence("S001") == 1  # sale-3 waits for sale-2: applied in order
    # The edge replays what follows 1: sale-2, then sale-3 again.
    edge.send("sale.recorded", sale("sale-2"), sequence=2)
    edge.send("sale.recorded", sale("sale-3"), sequence=3)
    wait_until(lambda: store.up_sequence("S001") == 3, what="the hole filled")
    assert [p["purchase_id"] for p in store.purchases("c-0001")] == ["sale-1", "sale-2", "sale-3"]
    wait_until(lambda: len(edge.events("purchase.recorded")) == 3, what="purchases down")
    assert [e["data"]["purchase_id"] for e in edge.events("purchase.recorded")] == [
        "sale-1",
        "sale-2",
        "sale-3",
    ]
    assert len(edge.events("replay.requested")) == 1  # asked once, not once per message


def test_a_status_beyond_what_was_applied_requests_a_replay(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    edge.send("sale.recorded", sale("sale-1"))
    wait_until(lambda: store.up_sequence("S001") == 1, what="sale-1 applied")
    edge.status(4)  # sales 2 to 4 never arrived, and nothing follows them to show a gap
    replay = wait_until(lambda: edge.events("replay.requested"), what="replay requested")[0]
    assert replay["data"] == {"after": "1"}
    for n in (2, 3, 4):
        edge.send("sale.recorded", sale(f"sale-{n}"), sequence=n)
    wait_until(lambda: store.up_sequence("S001") == 4, what="tail applied")


@pytest.mark.postgresql_too
def test_a_replay_still_arriving_is_not_asked_for_again(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    # The grace is the time a replay may pause between two events before it counts as done.
    store = make_store(gap_grace=2.0)
    edge.send("sale.recorded", sale("sale-1"))
    wait_until(lambda: store.up_sequence("S001") == 1, what="sale-1 applied")
    edge.status(5)  # sales 2 to 5 went missing
    replay = wait_until(lambda: edge.events("replay.requested"), what="replay requested")[0]
    assert replay["data"] == {"after": "1"}
    # The edge replays 2 to 5: the first of them applied, the stream is still behind, and
    # the rest is on its way. It is not a new gap to ask for ("after 2": all sent again).
    edge.send("sale.recorded", sale("sale-2"), sequence=2)
    wait_until(lambda: store.up_sequence("S001") == 2, what="sale-2 applied")
    for n in (3, 4, 5):
        edge.send("sale.recorded", sale(f"sale-{n}"), sequence=n)
    wait_until(lambda: store.up_sequence("S001") == 5, what="the replay applied")
    asked = [e["data"] for e in store.events("stores/S001") if e["type"] == "replay.requested"]
    assert asked == [{"after": "1"}]


def test_a_bad_up_event_is_dead_lettered_and_does_not_stall_the_stream(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    bad = sale("sale-1")
    bad["total"] = -5
    edge.send("sale.recorded", bad)
    edge.send_raw("sale.recorded", "{not json")
    edge.send("sale.recorded", sale("sale-2"))
    wait_until(lambda: store.up_sequence("S001") == 2, what="the stream moved past the bad one")
    reasons = [d["reason"] for d in store.dead_letters()]
    assert len(reasons) == 2 and any("total" in r for r in reasons)
    assert [p["purchase_id"] for p in store.purchases("c-0001")] == ["sale-2"]
    assert edge.events("replay.requested") == []


def test_two_instances_share_the_subscription_and_handle_each_event_once(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    one, two = make_store("one"), make_store("two")
    for n in range(1, 121):
        edge.send("sale.recorded", sale(f"sale-{n}"))
    wait_until(lambda: one.up_sequence("S001") == 120, timeout=30, what="120 sales applied")
    # The broker split the stream between the two; the shared database kept it whole.
    assert one.stats["applied"] + one.stats["held"] > 0
    assert two.stats["applied"] + two.stats["held"] > 0
    handled = sum(s.stats[k] for s in (one, two) for k in ("applied", "held"))
    assert handled == 120 and one.stats["duplicate"] + two.stats["duplicate"] == 0
    assert len(one.purchases("c-0001")) == 120
    wait_until(lambda: len(edge.events("purchase.recorded")) == 120, what="120 purchases down")
    # One publisher at a time: each event went out once, in sequence.
    chain = [int(e["sequence"]) for e in edge.events() if e["source"] == "/web/chain"]
    assert chain == sorted(set(chain)) == list(range(1, len(chain) + 1))


def test_backfill_endpoint(make_store: Callable[..., OnlineStore]) -> None:
    store = make_store()
    url = store.serve() + "/passerelle/v1/streams"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for n in range(5):
        store.place_order(
            store.upsert_customer(first_name="P", last_name=str(n))["customer_id"],
            "S001",
            {"SKU-MUG": 1},
            paid=False,  # to be paid in store: no purchase on the chain yet (issue 16)
        )
    chain = store.events("chain")
    assert len(chain) == 10 + 5  # the catalogue and the five customers

    def get(path: str, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.get(
            f"{url}/{path}", headers=auth if headers is None else headers, timeout=10
        )

    pages, after = [], 0
    while True:
        r = get(f"chain/events?after={after}&limit=4")
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/cloudevents-batch+json"
        page = r.json()
        assert len(page) <= 4
        if not page:
            break
        pages.append(page)
        after = int(page[-1]["sequence"])
    assert [len(p) for p in pages] == [4, 4, 4, 3]
    got = [e for p in pages for e in p]
    assert got == chain
    for event in got:
        contract.validate(event)
    # a store's own stream needs that store's token (issue 19: online_store.auth)
    s001 = {"Authorization": f"Bearer {store_token(TOKEN, 'S001')}"}
    s002 = {"Authorization": f"Bearer {store_token(TOKEN, 'S002')}"}
    r = get("stores/S001/events", s001)  # default after=0, limit=100
    assert [e["type"] for e in r.json()] == ["order.placed"] * 5
    assert get("stores/S002/events", s002).json() == []
    assert get("stores/S001/events").status_code == 403  # the master: the chain only
    assert get("stores/S001/events", s002).status_code == 403
    assert len(get("chain/events?after=12").json()) == 3
    assert get("chain/events?limit=1000").status_code == 200

    def error(path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        r = get(path, headers)
        return r.status_code, r.json()["error"]

    status, body = error("chain/events", {})
    assert status == 401 and body["code"] == "unauthorized"
    assert error("chain/events", {"Authorization": "Bearer nope"})[0] == 401
    assert error("chain/events", {"Authorization": TOKEN})[0] == 401
    for query, field in [
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=", "limit"),
    ]:
        status, body = error(f"chain/events?{query}")
        assert (status, body["field"]) == (400, field), query
        assert body["message"]
    for stream in ("everything", "stores/S999", "stores/bad!id", "stores/S001/more"):
        status, body = error(f"{stream}/events")
        assert status == 404, stream


def test_stopping_marks_its_streams_offline(
    make_store: Callable[..., OnlineStore], edge: FakeEdge
) -> None:
    store = make_store()
    wait_until(
        lambda: edge.statuses().get(f"{PREFIX}/status/web/chain", {}).get("online"),
        what="online status",
    )
    store.stop()
    wait_until(
        lambda: edge.statuses()[f"{PREFIX}/status/web/chain"]["online"] is False,
        what="offline status",
    )
    assert edge.statuses()[f"{PREFIX}/status/web/chain"]["last_sequence"] == "10"


def test_events_written_while_the_broker_is_down_go_out_when_it_is_back(
    make_store: Callable[..., OnlineStore], edge: FakeEdge, mosquitto: Broker
) -> None:
    store = make_store()
    wait_until(store.all_published, what="the catalogue published")
    mosquitto.stop()
    wait_until(lambda: not store.connected, what="the online store saw the broker go")
    cid = store.upsert_customer(first_name="Off", last_name="Line")["customer_id"]
    store.place_order(cid, "S001", {"SKU-MUG": 1}, paid=False)
    assert not store.all_published()  # kept in its database, not lost
    mosquitto.start()
    wait_until(lambda: edge.events("order.placed"), timeout=30, what="the order delivered")
    wait_until(store.all_published, what="every event acknowledged")
    chain = [int(e["sequence"]) for e in edge.events() if e["source"] == "/web/chain"]
    # 10 products, then the customer, in order. QoS 1 is "at least once": the broker may
    # deliver again what it had in flight to the edge when it stopped; the edge dedupes.
    assert list(dict.fromkeys(chain)) == list(range(1, 12)), chain
