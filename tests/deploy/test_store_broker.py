"""The example store-local Mosquitto (systemd/mosquitto-store.conf), run as written except
for ports, paths and host names: it bridges to a central broker over TLS with a password,
queues more than Mosquitto's default 1000 up-events while the central broker is away, and
brings down-events queued centrally for the store once its link is back."""

from __future__ import annotations

import getpass
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.deploy.tls import Pki, TlsBroker, make_pki
from tests.support import proc
from tests.support.broker import free_port, mosquitto_binary, wait_port
from tests.support.waiting import wait_until

EXAMPLE = proc.ROOT / "systemd" / "mosquitto-store.conf"
BRIDGE = proc.ROOT / "systemd" / "mosquitto-store-bridge.conf"
UP = "passerelle/v1/stores/S001/up/sale.recorded"
DOWN = "passerelle/v1/stores/S001/down/order.placed"
N_UP = 1500  # more than Mosquitto's default max_queued_messages (1000)


class StoreBroker:
    def __init__(
        self, workdir: Path, pki: Pki, central_port: int, max_queued: int | None = None
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        passwd = workdir / "passwd"
        passwd.write_text("passerelle-S001:edge-pw\n")
        subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, timeout=30)
        # the bridge (with its password) in its own file, not world-readable (issue 19)
        bridge_dir = workdir / "bridge.d"
        bridge_dir.mkdir(exist_ok=True)
        texts = {"main": EXAMPLE.read_text(), "bridge": BRIDGE.read_text()}
        for old, new in (
            (r"(?m)^listener 1883 ", f"listener {self.port} "),
            (r"(?m)^password_file .*$", f"password_file {passwd}"),
            (r"(?m)^persistence_location .*$", f"persistence_location {workdir}/"),
            (r"(?m)^log_dest syslog$", f"log_dest file {workdir}/mosquitto.log"),
            (r"(?m)^address central\.example\.net:8883$", f"address 127.0.0.1:{central_port}"),
            (r"(?m)^bridge_cafile .*$", f"bridge_cafile {pki.ca}"),
            # test speed only: retry the bridge every second instead of backing off to 60 s
            (r"(?m)^restart_timeout .*$", "restart_timeout 1 1"),
            (r"(?m)^max_queued_messages .*$", f"max_queued_messages {max_queued or 100000}"),
            (r"(?m)^acl_file .*$", f"acl_file {EXAMPLE.with_suffix('.acl')}"),
            (r"(?m)^include_dir .*$", f"include_dir {bridge_dir}"),
            (r"(?m)^remote_password @BRIDGE_PASSWORD@$", "remote_password change-me"),
        ):
            found = 0
            for key, text in texts.items():
                texts[key], n = re.subn(old, new, text)
                found += n
            assert found == 1, old
        (bridge_dir / "bridge.conf").write_text(texts["bridge"])
        (bridge_dir / "bridge.conf").chmod(0o640)
        text = texts["main"]
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text(f"user {getpass.getuser()}\n" + text)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> StoreBroker:
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Counter:
    """A plain MQTT client of the test (not the edge): counts what arrives on a topic."""

    def __init__(self, port: int, topic: str, user: str, password: str, **tls: Path) -> None:
        self.seen: set[bytes] = set()
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"counter-{user}",
            clean_session=False,
        )
        self.client.username_pw_set(user, password)
        if tls:
            self.client.tls_set(ca_certs=str(tls["ca"]))
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.seen.add(msg.payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(
    port: int, topic: str, n: int, user: str, password: str, label: str = "event", **tls: Path
) -> None:
    """``n`` messages ``{label}-0``, ``{label}-1``, … at QoS 1, each acknowledged."""
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"pub-{user}")
    c.username_pw_set(user, password)
    if tls:
        c.tls_set(ca_certs=str(tls["ca"]))
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        infos = [c.publish(topic, f"{label}-{i}".encode(), qos=1) for i in range(n)]
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published()
    finally:
        c.disconnect()
        c.loop_stop()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def central(tmp_path: Path, pki: Pki) -> Iterator[TlsBroker]:
    broker = TlsBroker(
        tmp_path / "central",
        pki,
        users={"passerelle-S001": "change-me", "online": "online-pw"},
        max_queued=100_000,  # the chain's broker, too, must not drop for a slow consumer
    )
    yield broker
    broker.kill()


def test_store_broker_queues_while_offline_and_bridges_over_tls(
    tmp_path: Path, pki: Pki, central: TlsBroker
) -> None:
    store = StoreBroker(tmp_path / "store", pki, central.port).start()
    try:
        # the store's link is down (central not running): the edge keeps publishing locally
        publish(store.port, UP, N_UP, "passerelle-S001", "edge-pw")
        central.start()
        online = Counter(central.port, "passerelle/v1/stores/+/up/#", "online", "online-pw",
                         ca=pki.ca)  # fmt: skip
        try:
            wait_until(lambda: len(online.seen) >= N_UP, timeout=60, what="bridged up-events")
            assert len(online.seen) == N_UP  # none dropped by a queue limit
            assert "being dropped" not in store.log.read_text()
        finally:
            online.close()

        # down-events for the store, queued centrally while the store box is off
        edge = Counter(store.port, "passerelle/v1/stores/S001/down/#", "passerelle-S001",
                       "edge-pw")  # fmt: skip
        wait_until(lambda: _bridge_connected(store), timeout=30, what="the bridge")
        # The bridge's subscription at the central broker and the edge's at the store broker
        # both in place (a connected bridge may not have subscribed yet, and then nothing is
        # queued for it): a probe from the central broker reaches the edge.
        wait_until(edge.subscribed.is_set, timeout=30, what="the edge's subscription")
        for _ in range(30):
            publish(central.port, DOWN, 1, "online", "online-pw", label="probe", ca=pki.ca)
            try:
                wait_until(lambda: b"probe-0" in edge.seen, timeout=1, what="the probe")
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("no probe crossed the bridge in 30 tries")
        edge.close()
        store.stop()
        publish(central.port, DOWN, 50, "online", "online-pw", ca=pki.ca)
        store.start()
        edge = Counter(store.port, "passerelle/v1/stores/S001/down/#", "passerelle-S001",
                       "edge-pw")  # fmt: skip
        try:
            expected = {f"event-{i}".encode() for i in range(50)}
            wait_until(lambda: expected <= edge.seen, timeout=60, what="down-events")
        finally:
            edge.close()
    finally:
        store.stop()


def _bridge_connected(store: StoreBroker) -> bool:
    log = store.conf.parent / "mosquitto.log"
    return log.exists() and "Connecting bridge" in log.read_text()


def test_with_mosquittos_default_queue_limit_the_store_broker_drops_events(
    tmp_path: Path, pki: Pki
) -> None:
    """Why the example raises max_queued_messages: with the default (1000) the same outage
    makes the store broker drop up-events, silently for the edge (only its log says so)."""
    store = StoreBroker(tmp_path / "store", pki, free_port(), max_queued=1000).start()
    try:
        publish(store.port, UP, N_UP, "passerelle-S001", "edge-pw")  # every PUBACK received
        wait_until(
            lambda: store.log.exists() and "being dropped" in store.log.read_text(),
            timeout=30,
            what="the broker's drop notice",
        )
    finally:
        store.stop()
