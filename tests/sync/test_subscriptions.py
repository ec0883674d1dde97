"""A SUBACK that refuses a filter the edge needs (issue 18, RELIABILITY.md #13), on a real
Mosquitto whose dynamic security plugin denies the subscription (MQTT 5: 0x87; 3.1.1: 0x80).

Refused: the worker reports it (the link state that /readyz and the metrics read, "not
reachable" for the offline policy) and asks again with a back-off. The operator fixes the
role while everything runs: the next SUBSCRIBE is granted, the link is judged reachable again
and down-events of that stream flow. Without the SUBACK check the refusal is never reported,
and the test fails at its first wait.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.store import db, state
from edge.system import metrics, status
from edge.web.health import sync_problems
from sync import contract
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync import dynsec
from tests.sync.conftest import EdgeSync, edge_settings, wait_applied
from tests.sync.support import PREFIX, WebSide

CHAIN_FILTER = contract.edge_down_filters(PREFIX, "S001")[1]  # passerelle/v1/chain/down/#
DENIED = ("subscribeLiteral", CHAIN_FILTER, False, 10)


def heartbeat(web: WebSide, last: int = 0) -> None:
    """The online store's retained status on the chain's status topic, fresh."""
    payload = contract.status_payload(True, last, db.now_iso())
    web.client.publish(
        contract.status_topic(PREFIX, contract.CHAIN_SOURCE), json.dumps(payload), 1, True
    ).wait_for_publish(10)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_refused_subscription_is_reported_retried_and_granted_once_fixed(
    protocol: str,
    tmp_path: Path,
    make_broker: Callable[..., Broker],
    edge_db: sqlite3.Connection,
    db_path: Path,
) -> None:
    edge_acls = [
        ("publishClientSend", f"{PREFIX}/#", True, 0),
        ("subscribePattern", f"{PREFIX}/#", True, 0),
        DENIED,  # an operator's mistake: the chain's down-stream is not the edge's to read
    ]
    conf = dynsec.config(tmp_path / "dynsec.json", {"edge": ("edge-password", edge_acls)})
    broker = make_broker(f"allow_anonymous true\n{conf}")
    control = dynsec.Control(broker.port)
    web = WebSide(broker.port)
    settings = edge_settings(
        db_path,
        broker,
        web,
        mqtt_username="edge",
        mqtt_password="edge-password",
        mqtt_protocol=protocol,
        online_status_max_age=150,
    )
    edge = EdgeSync(settings).start()
    try:
        heartbeat(web)  # the online store is there: only the refusal makes it unreachable
        wait_until(
            lambda: state.link(edge_db)["reasons"] == ["subscription_refused"],
            15,
            what="the refused subscription reported",
        )
        link = state.link(edge_db)
        assert link["connected"] and not link["reachable"]
        assert list(link["subscriptions_refused"]) == [CHAIN_FILTER]
        assert not edge.worker.subscribed.is_set()
        st = status.sync_status(edge_db, settings)
        assert "subscription_refused" in sync_problems(st)  # /readyz's warning
        assert b"passerelle_subscriptions_refused 1.0" in metrics.render(settings)
        web.publish(web.make("customer.upserted"))  # never delivered: nobody subscribed
        # Asked for again, with a back-off (2 s, then 4 s...), while the broker refuses.
        wait_until(
            lambda: edge.worker.subscriptions.refusals >= 2, 10, what="the subscription retried"
        )
        assert edge.worker.connected.is_set() and not state.link(edge_db)["reachable"]
        # The operator fixes the role while the edge runs (the plugin then disconnects the
        # role's clients: "administrative action"): the edge's next SUBSCRIBE is granted.
        control.command(
            "removeRoleACL", rolename="edge", acltype="subscribeLiteral", topic=CHAIN_FILTER
        )
        wait_until(edge.worker.subscribed.is_set, 20, what="the subscription granted on retry")
        wait_until(
            lambda: not state.link(edge_db)["subscriptions_refused"],
            10,
            what="the refusal cleared from the link state",
        )
        assert "subscription_refused" not in state.link(edge_db)["reasons"]
        web.publish(web.make("customer.upserted"))  # #2: the gap (#1) is fetched by backfill
        wait_applied(edge_db, 2)
        heartbeat(web, last=2)
        wait_until(lambda: state.link(edge_db)["reachable"], 15, what="reachable again")
    finally:
        edge.halt()
        web.close()
        control.close()
