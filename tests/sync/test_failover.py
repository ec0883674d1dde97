"""The broker URL list: the edge moves to the next broker of its cluster when one dies.

Two real Mosquittos stand for two nodes; the edge's own client (``sync.mqtt``) connects to
the first, which is killed; it must come back on the second, without anything in the edge
knowing which broker it talks to beyond the URLs.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.config import ConfigError, Settings, load_settings
from sync import mqtt as link
from tests.support.broker import Broker
from tests.support.waiting import wait_until


def test_failover_urls_come_from_toml_or_a_comma_separated_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSERELLE_MQTT_FAILOVER_URLS", "mqtt://n2:1883, mqtt://n3:1884")
    s = load_settings(None, mqtt_url="mqtt://n1:1883", db_path=tmp_path / "e.db")
    assert link.broker_addresses(s) == [("n1", 1883), ("n2", 1883), ("n3", 1884)]
    monkeypatch.delenv("PASSERELLE_MQTT_FAILOVER_URLS")
    with pytest.raises(ConfigError, match="mqtt_failover_urls"):
        load_settings(None, mqtt_url="mqtt://n1", mqtt_failover_urls=["mqtts://n2"])
    with pytest.raises(ConfigError, match="mqtt_failover_urls"):
        load_settings(None, mqtt_failover_urls=["http://n2"])


def test_one_url_never_moves() -> None:
    failover = link.Failover([("a", 1)])
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    for _ in range(3):
        failover(client, None)
    assert failover.index == 0


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_the_edge_client_reconnects_on_the_next_broker(tmp_path: Path, protocol: str) -> None:
    first = Broker(tmp_path / "n1").start()
    second = Broker(tmp_path / "n2").start()
    settings = Settings(
        mqtt_url=first.url,
        mqtt_failover_urls=[second.url],
        mqtt_protocol=protocol,
        db_path=tmp_path / "edge.db",
    )
    client = link.make_client(settings)
    connected_to: list[int] = []
    up = threading.Event()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            connected_to.append(c._port)  # noqa: SLF001
            up.set()

    client.on_connect = on_connect
    client.reconnect_delay_set(0.1, 0.5)
    link.connect(client, settings)
    client.loop_start()
    try:
        wait_until(up.is_set, what="first connection")
        assert connected_to == [first.port]
        first.kill()
        wait_until(lambda: second.port in connected_to, timeout=20, what="moved to node 2")
    finally:
        client.disconnect()
        client.loop_stop()
        second.kill()
