"""The chain run's short version: 10 simulated stores on one Mosquitto killed mid-run, two
online-store instances on one shared subscription; nothing lost, nothing applied twice.

``make chain`` runs the real thing (500 stores, the 3-node NATS cluster and Mosquitto side by
side, real edges, an edge cut off); this checks that the machinery and its counting hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chain import report
from bench.chain.run import quick_options, run_chain


@pytest.mark.slow
def test_quick_chain_run_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    result = run_chain("mosquitto", tmp_path / "run", quick_options(), log=lambda _m: None)

    t = result.totals
    assert any("SIGKILL" in e["what"] for e in result.events)  # the fault happened
    behind = [r for r in result.per_store if r["applied"] != r["sent"]]
    assert any(e["what"] == "drained" for e in result.events), (result.events, behind)
    assert t["sent"] > 0 and t["orders_placed"] > 0
    assert t["lost"] == 0 and t["orders_lost"] == 0
    assert t["applied_twice"] == 0
    assert t["dead_letters"] == 0
    for row in result.per_store:  # per store: every event sent was applied, in order
        assert row["applied"] == row["sent"] == row["received"], row
    text = report.write([result], tmp_path / "out")
    assert "not applied when the run ended (up / web orders) | 0 / 0" in text
    assert (tmp_path / "out" / "chain.png").stat().st_size > 10_000


@pytest.mark.slow
def test_nats_holds_two_jetstream_consumers_per_store_and_one_per_online_instance(
    tmp_path: Path,
) -> None:
    """What a chain costs NATS: each QoS 1 filter of a persistent session is a replicated
    JetStream consumer. A store's two down filters end in ``+`` (a ``#`` filter is two
    consumers), its status filters are QoS 0 (none), and an online-store instance on 3.1.1
    takes every up-stream with one filter (not one per store). docs/chain.md has the why."""
    import paho.mqtt.client as mqtt
    from online_store import OnlineStore
    from paho.mqtt.enums import CallbackAPIVersion

    from bench.chain.brokers import NatsCluster
    from sync import contract
    from tests.support.waiting import wait_until

    stores = ["S001", "S002", "S003"]
    with NatsCluster(tmp_path / "nats", size=1).start() as nats:
        nats.wait_ready()
        online = OnlineStore(
            str(tmp_path / "o.db"), nats.urls[0], "passerelle/v1", stores, protocol="3.1.1"
        ).start()
        clients = []
        try:
            wait_until(lambda: online.subscribed, what="the online store subscribed")
            for sid in stores:  # each store's subscriptions, as the edge asks for them
                granted: list[object] = []
                c = mqtt.Client(
                    callback_api_version=CallbackAPIVersion.VERSION2,
                    client_id=f"passerelle-edge-{sid}",
                    protocol=mqtt.MQTTv311,
                    clean_session=False,
                )
                c.on_subscribe = lambda _c, _u, _m, codes, _p, g=granted: g.extend(codes)
                c.connect("127.0.0.1", nats.nodes[0].mqtt_port)
                c.loop_start()
                clients.append(c)
                down = contract.edge_down_filters("passerelle/v1", sid)
                statuses = contract.web_status_topics("passerelle/v1", sid).values()
                c.subscribe([*((f, 1) for f in down), *((t, 0) for t in statuses)])
                wait_until(lambda g=granted: len(g) == 4, what=f"{sid}'s SUBACK")
                assert not any(code.is_failure for code in granted)  # type: ignore[attr-defined]
            # (besides these, NATS keeps one internal consumer per node on $MQTT_rmsgs)
            assert nats.jetstream()["session_consumers"] == 2 * len(stores) + 1
        finally:
            for c in clients:
                c.disconnect()
                c.loop_stop()
            online.stop()
