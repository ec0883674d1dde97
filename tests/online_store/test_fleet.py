"""The fleet view and the chain's consumers: retained statuses read into one page per fleet,
and the 3.1.1 mode where instances split the stores between them (no shared subscriptions).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from online_store import OnlineStore
from paho.mqtt.enums import CallbackAPIVersion

from sync import contract
from sync.fleet import CONTRACT_VERSION
from tests.support.broker import Broker
from tests.support.waiting import wait_until

PREFIX = "passerelle/v1"
STORES = ["S001", "S002", "S003"]


def publisher(broker: Broker, protocol: int = mqtt.MQTTv311) -> mqtt.Client:
    c = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"t-{uuid.uuid4().hex[:8]}",
        protocol=protocol,
    )
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


def status(online: bool, last: int, **extra: Any) -> bytes:
    payload = contract.status_payload(online, last, "2026-12-04T10:00:00.000Z") | extra
    contract.validate_status(payload)  # what the edge sends is what the schema allows
    return json.dumps(payload).encode()


def sale(store_id: str, seq: int) -> bytes:
    data = {
        "sale_id": f"{store_id}-{seq}",
        "terminal_id": "pos-1",
        "cashier_id": None,
        "customer_id": None,
        "occurred_at": "2026-12-04T10:00:00.000Z",
        "currency": "EUR",
        "total": 450,
        "lines": [{"sku": "SKU-TEA", "name": "Thé", "qty": 1, "unit_price": 450}],
        "discount": 0,
        "coupons": [],
        "points_earned": 0,
        "points_redeemed": 0,
    }
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/stores/{store_id}",
        "type": "sale.recorded",
        "time": "2026-12-04T10:00:00.000Z",
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }
    contract.validate(event)
    return json.dumps(event).encode()


@pytest.fixture
def online(online_db: str, mosquitto: Broker) -> Iterator[tuple[OnlineStore, str]]:
    store = OnlineStore(online_db, mosquitto.url, PREFIX, STORES, "tok", instance="fleet").start()
    url = store.serve()
    wait_until(lambda: store.connected, what="online store connected")
    yield store, url
    store.stop()


@pytest.mark.slow
def test_fleet_page_shows_each_store_from_its_retained_status(
    online: tuple[OnlineStore, str], mosquitto: Broker
) -> None:
    store, url = online
    pub = publisher(mosquitto)
    pub.publish(f"{PREFIX}/stores/S001/up/sale.recorded", sale("S001", 1), qos=1)
    wait_until(lambda: store.up_sequence("S001") == 1, what="S001's sale applied")
    extras = {
        "software_version": "0.1.0",
        "contract_version": CONTRACT_VERSION,
        "backlog_up": 0,
        "applied_chain": str(store.last_sequence("chain")),  # it has the whole catalogue
        "applied_store": "0",
        "dead_letters": 0,
        "last_sale_at": "2026-12-04T09:59:00.000Z",
    }
    pub.publish(f"{PREFIX}/status/stores/S001", status(True, 1, **extras), qos=1, retain=True)
    pub.publish(f"{PREFIX}/status/stores/S002", status(False, 0), qos=1, retain=True)

    def fleet_page() -> str:
        text = requests.get(f"{url}/fleet", timeout=5).text
        return text if "offline" in text and "0.1.0" in text else ""

    page = wait_until(fleet_page, what="both statuses shown")
    assert "0.1.0 · 1.1" in page  # software and contract version from the status extras
    assert "never heard" in page  # S003: no status at all
    assert "1 / 1" in page  # S001: up-stream applied / announced

    # filters: offline (0 minutes: every offline store), behind; a bad filter is a 400
    offline = requests.get(f"{url}/fleet", params={"show": "offline", "minutes": 0}, timeout=5)
    assert "S002" in offline.text and ">S001<" not in offline.text
    assert requests.get(f"{url}/fleet", params={"show": "nope"}, timeout=5).status_code == 400
    assert requests.get(f"{url}/fleet", params={"minutes": "x"}, timeout=5).status_code == 400
    # S002 announces 3 events the online store never got: it is behind
    pub.publish(f"{PREFIX}/status/stores/S002", status(True, 3), qos=1, retain=True)

    def behind_page() -> str:
        text = requests.get(f"{url}/fleet?show=behind&partial=1", timeout=5).text
        return text if "S002" in text else ""

    behind = wait_until(behind_page, what="S002 behind")
    assert ">S001<" not in behind and "<html" not in behind  # the live-refresh fragment
    detail = requests.get(f"{url}/fleet/S001", timeout=5)
    assert detail.ok and "sale.recorded" in detail.text
    assert requests.get(f"{url}/fleet/NOPE", timeout=5).status_code == 404
    pub.loop_stop()


@pytest.mark.slow
@pytest.mark.postgresql_too
def test_mqtt_311_instances_split_the_stores_and_dropped_duplicates_are_counted(
    online_db: str, mosquitto: Broker
) -> None:
    """NATS speaks 3.1.1 only: no shared subscription; each instance takes its share."""
    db = online_db
    first = OnlineStore(
        db,
        mosquitto.url,
        PREFIX,
        STORES,
        "tok",
        instance="p1",
        protocol="3.1.1",
        consume=["S001", "S003"],
    ).start()
    second = OnlineStore(
        db,
        mosquitto.url,
        PREFIX,
        STORES,
        "tok",
        instance="p2",
        protocol="3.1.1",
        consume=["S002"],
    ).start()
    try:
        wait_until(lambda: first.subscribed and second.subscribed, what="both subscribed")
        pub = publisher(mosquitto)
        events = {sid: sale(sid, 1) for sid in STORES}
        for sid in STORES:
            pub.publish(f"{PREFIX}/stores/{sid}/up/sale.recorded", events[sid], qos=1)
        for _ in range(2):  # delivered again: the same event (same id), twice
            pub.publish(f"{PREFIX}/stores/S002/up/sale.recorded", events["S002"], qos=1)
        wait_until(lambda: all(first.up_sequence(s) == 1 for s in STORES), what="all applied")
        wait_until(
            lambda: first.stats["duplicate"] + second.stats["duplicate"] >= 2, what="duplicates"
        )
        # each store's events went to one instance only (never both: no doubled work)
        assert first.stats["applied"] == 2 and second.stats["applied"] == 1
        with first.connection() as conn:
            dups = dict(conn.execute("SELECT store_id, duplicates FROM up_duplicates").fetchall())
        assert dups == {"S002": 2}
        pub.loop_stop()
    finally:
        first.stop()
        second.stop()


def test_an_unknown_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="protocol"):
        OnlineStore(str(tmp_path / "o.db"), "mqtt://127.0.0.1:1", PREFIX, STORES, protocol="4")
