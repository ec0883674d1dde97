"""The fleet view in real Chromium: retail IT's page of every store, refreshed live.

A dozen stores publish their retained status (the edge's 1.1 fields: software and contract
version, backlog, dead letters, last sale) on a real Mosquitto; the page lists them, refreshes
the table without a reload when a store drops, and filters the offline ones.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from online_store import OnlineStore
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import expect

from sync import contract
from tests.screens.conftest import screenshot
from tests.support.broker import Broker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser

PREFIX = "passerelle/v1"
STORES = [f"S{i:03d}" for i in range(1, 13)]


@pytest.fixture
def fleet(tmp_path: Path, mosquitto: Broker) -> Iterator[tuple[OnlineStore, str, mqtt.Client]]:
    store = OnlineStore(str(tmp_path / "o.db"), mosquitto.url, PREFIX, STORES, "t").start()
    url = store.serve()
    pub = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:6]}"
    )
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    wait_until(lambda: store.connected, what="online store connected")
    yield store, url, pub
    pub.loop_stop()
    store.stop()


def publish_status(pub: mqtt.Client, store_id: str, online: bool, **extra: Any) -> None:
    payload = contract.status_payload(online, extra.pop("last", 0), "2026-12-04T10:00:00.000Z")
    payload.update(extra)
    pub.publish(f"{PREFIX}/status/stores/{store_id}", json.dumps(payload), qos=1, retain=True)


def test_fleet_page_lists_stores_and_refreshes_live(
    fleet: tuple[OnlineStore, str, mqtt.Client], new_page: Any
) -> None:
    store, url, pub = fleet
    chain = str(store.last_sequence("chain"))
    for k, sid in enumerate(STORES[:-1]):
        publish_status(
            pub,
            sid,
            True,
            software_version="0.1.0" if k % 5 else "0.0.9",
            contract_version="1.1",
            backlog_up=3 if k == 4 else 0,
            applied_chain=chain,
            applied_store="0",
            dead_letters=1 if k == 7 else 0,
            last_sale_at=f"2026-12-04T09:{10 + k:02d}:00.000Z",
        )
    publish_status(pub, "S003", False, last=0)  # S003's link dropped (its last will)
    with store.connection() as conn:
        wait_until(
            lambda: conn.execute("SELECT COUNT(*) FROM store_status").fetchone()[0] == 11,
            what="statuses kept",
        )
    page = new_page({"width": 1280, "height": 800})
    page.goto(f"{url}/fleet")
    rows = page.locator("table.fleet tbody tr")
    expect(rows).to_have_count(len(STORES))
    expect(page.locator("tr", has_text="S012")).to_contain_text("never heard")
    expect(page.locator("tr", has_text="S003")).to_contain_text("offline")
    expect(page.locator("tr", has_text="S005")).to_have_class("behind")  # 3 events to send
    screenshot(page, "fleet")

    # live: S006 drops; the table says so without a reload
    publish_status(pub, "S006", False, last=0)
    expect(page.locator("tr", has_text="S006")).to_contain_text("offline", timeout=15_000)

    page.get_by_label("offline for more than").check()
    page.locator("input[name=minutes]").fill("0")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(3)  # S003, S006 and the never-heard S012
    page.get_by_role("link", name="S003").click()
    expect(page.locator("h1")).to_have_text("Store S003")
    assert not page.js_errors
