"""Per-store logins and real ACL files on real Mosquittos (issue 19 item 4): every publish
and subscribe a store must not make is tried and refused, on the store's own broker
(systemd/mosquitto-store.conf + .acl, as written) and on the chain's broker
(systemd/mosquitto-chain.acl). MQTT 5 says "not authorized" (0x87) in PUBACK and SUBACK,
so each refusal is read from the broker's own answer."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.deploy.test_store_broker import StoreBroker
from tests.deploy.tls import make_pki
from tests.support import proc
from tests.support.broker import Broker, free_port

P = "passerelle/v1"
NOT_AUTHORIZED = 0x87


class Probe:
    """One MQTT 5 login that reports the broker's reason code for each publish/subscribe."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.codes: dict[int, int] = {}
        self.done = threading.Condition()
        self.c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"probe-{user}",
            protocol=mqtt.MQTTv5,
        )
        self.c.username_pw_set(user, password)
        self.c.on_publish = self._on_publish
        self.c.on_subscribe = self._on_subscribe
        self.received: list[str] = []
        self.c.on_message = lambda _c, _u, msg: self._got(msg.topic)
        connected = threading.Event()
        self.refused: list[str] = []

        def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
            if getattr(rc, "is_failure", False):
                self.refused.append(str(rc))
            connected.set()

        self.c.on_connect = on_connect
        self.c.connect("127.0.0.1", port, properties=Properties(PacketTypes.CONNECT))
        self.c.loop_start()
        assert connected.wait(10), "no CONNACK"
        assert not self.refused, self.refused

    def _got(self, topic: str) -> None:
        with self.done:
            self.received.append(topic)
            self.done.notify_all()

    def wait_for(self, topic: str) -> None:
        with self.done:
            assert self.done.wait_for(lambda: topic in self.received, timeout=10), topic

    def _note(self, mid: int, code: int) -> None:
        with self.done:
            self.codes[mid] = code
            self.done.notify_all()

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, rc: object, _p: object) -> None:
        self._note(mid, int(getattr(rc, "value", 0)))

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, rcs: list, _p: object) -> None:
        self._note(mid, int(getattr(rcs[0], "value", rcs[0])))

    def _wait(self, mid: int) -> int:
        with self.done:
            assert self.done.wait_for(lambda: mid in self.codes, timeout=10), "no answer"
            return self.codes[mid]

    def publish(self, topic: str) -> int:
        return self._wait(self.c.publish(topic, b"{}", qos=1).mid)

    def subscribe(self, topic: str) -> int:
        return self._wait(self.c.subscribe(topic, qos=1)[1])

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def _denied(code: int) -> bool:
    return code == NOT_AUTHORIZED


STORE_MAY_PUBLISH = [f"{P}/stores/S001/up/sale.recorded", f"{P}/status/stores/S001"]
STORE_MAY_READ = [
    f"{P}/stores/S001/down/#",
    f"{P}/chain/down/#",
    f"{P}/status/web/chain",
    f"{P}/status/web/stores/S001",
]
STORE_MUST_NOT_PUBLISH = [
    f"{P}/stores/S002/up/sale.recorded",  # another store's sales
    f"{P}/stores/S001/down/order.placed",  # a forged order for itself
    f"{P}/stores/S002/down/order.placed",
    f"{P}/chain/down/offer.upserted",  # chain-wide events
    f"{P}/status/web/chain",  # the online store's status
    f"{P}/status/web/stores/S001",
    f"{P}/status/stores/S002",
]
STORE_MUST_NOT_READ = [
    f"{P}/stores/S002/down/#",  # another store's pickup codes
    f"{P}/stores/+/down/#",
    f"{P}/stores/+/up/#",  # every store's sales
    f"{P}/stores/S001/up/#",
    f"{P}/status/web/stores/S002",
    "#",
]


def _check_store_login(port: int, user: str, password: str) -> Probe:
    """Publishes refused (PUBACK 0x87), allowed subscriptions granted; the probe is returned
    subscribed to every topic it must not read."""
    probe = Probe(port, user, password)
    for topic in STORE_MAY_PUBLISH:
        assert not _denied(probe.publish(topic)), topic
    for topic in STORE_MAY_READ:
        assert not _denied(probe.subscribe(topic)), topic
    for topic in STORE_MUST_NOT_PUBLISH:
        assert _denied(probe.publish(topic)), f"publish {topic} was allowed"
    for topic in STORE_MUST_NOT_READ:
        probe.subscribe(topic)  # Mosquitto grants it, and then delivers nothing it forbids
    return probe


def test_the_store_broker_lets_the_edge_do_only_its_own(tmp_path: Path) -> None:
    broker = StoreBroker(tmp_path / "store", make_pki(tmp_path / "pki"), free_port()).start()
    try:
        _check_store_login(broker.port, "passerelle-S001", "edge-pw").close()
        with pytest.raises(AssertionError):  # and no login is no access at all
            Probe(broker.port, "intruder", "x")
    finally:
        broker.stop()
    conf = (proc.ROOT / "systemd" / "mosquitto-store.conf").read_text()
    assert "remote_password" not in conf.replace("`remote_password …`", "")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Broker]:
    users = {"passerelle-S001": "s1-pw", "passerelle-S002": "s2-pw", "online-store": "web-pw"}
    pwfile = tmp_path / "passwd"
    pwfile.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
    subprocess.run(["mosquitto_passwd", "-U", str(pwfile)], check=True, timeout=30)
    acl = proc.ROOT / "systemd" / "mosquitto-chain.acl"
    extra = f"allow_anonymous false\npassword_file {pwfile}\nacl_file {acl}"
    broker = Broker(tmp_path / "chain", extra=extra, persistence=False).start()
    yield broker
    broker.kill()


def test_the_chain_broker_keeps_each_store_to_itself(chain: Broker) -> None:
    s1 = _check_store_login(chain.port, "passerelle-S001", "s1-pw")
    s2 = Probe(chain.port, "passerelle-S002", "s2-pw")
    web = Probe(chain.port, "online-store", "web-pw")
    try:
        assert _denied(s2.publish(f"{P}/stores/S001/up/loyalty.entry"))
        assert not _denied(s2.publish(f"{P}/stores/S002/up/loyalty.entry"))  # S1 reads it?
        assert not _denied(s1.publish(f"{P}/stores/S001/up/sale.recorded"))  # its own, back?
        assert not _denied(web.publish(f"{P}/stores/S002/down/order.placed"))  # S2's codes
        assert not _denied(web.publish(f"{P}/status/web/stores/S002"))
        assert not _denied(web.subscribe(f"$share/online/{P}/stores/+/up/#"))
        assert _denied(web.publish(f"{P}/stores/S001/up/sale.recorded"))
        # Everything above reached the broker before this; one connection delivers in order,
        # so once S001 has the chain's event, anything forbidden would be there already.
        sentinel = f"{P}/chain/down/offer.upserted"
        assert not _denied(web.publish(sentinel))
        s1.wait_for(sentinel)
        assert set(s1.received) == {sentinel}, s1.received
    finally:
        for probe in (s1, s2, web):
            probe.close()
