"""The broker URL list: the edge moves to the next broker of its cluster when one dies.

Two real Mosquittos stand for two nodes; the edge's own client (``sync.mqtt``) connects to
the first, which is killed; it must come back on the second, without anything in the edge
knowing which broker it talks to beyond the URLs.
"""

from __future__ import annotations

import random
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


class _Waits:
    """Stands for paho's client where only the reconnection wait matters: what paho would
    wait before its next attempt (``reconnect_delay_set`` with min = max, as Failover sets)."""

    def __init__(self) -> None:
        self.wait: float | None = None

    def reconnect_delay_set(self, min_delay: float, max_delay: float) -> None:
        assert min_delay == max_delay  # paho then waits exactly this, without doubling
        self.wait = min_delay


def _waits_after_failures(failover: link.Failover, failures: int) -> float:
    client = _Waits()
    failover.connected(client)  # type: ignore[arg-type]
    for _ in range(failures):
        failover(client, None)  # type: ignore[arg-type]
    assert client.wait is not None
    return client.wait


def test_stores_cut_off_together_spread_their_reconnections() -> None:
    """A broker node's death disconnects its stores in the same second: with paho's plain
    doubling they would all try again 1 s later, then 2 s, then 4 s, in waves. Each edge
    draws its wait at random under a bound that doubles per failed attempt, up to 30 s."""
    for failures, bound in [(0, 1.0), (1, 2.0), (3, 8.0), (10, 30.0)]:
        waits = [_waits_after_failures(link.Failover([("a", 1)]), failures) for _ in range(400)]
        assert all(0.0 <= w <= bound for w in waits), failures
        # spread over the whole bound, not bunched at one value
        assert min(waits) < 0.1 * bound and max(waits) > 0.9 * bound, failures
        assert len({round(w, 3) for w in waits}) > 300, failures


def test_an_accepted_connection_starts_the_back_off_over() -> None:
    failover = link.Failover([("a", 1)], rng=random.Random(7))
    client = _Waits()
    for _ in range(6):
        failover(client, None)  # type: ignore[arg-type]
    link.Failover.connected(failover, client)  # type: ignore[arg-type]
    assert client.wait is not None and client.wait <= 1.0
    assert failover.failures == 0


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
