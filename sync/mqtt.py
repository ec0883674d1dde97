"""The edge's MQTT client: persistent session, QoS 1, manual acknowledgements, TLS, last will.

paho's default cleans the session at each process start; the contract needs the broker to
keep queueing down-events while the store is offline, so the session is persistent
(MQTT 5: ``clean_start=False`` passed explicitly and a session expiry of at least 7 days;
3.1.1: ``clean_session=False``). Messages are acknowledged by hand, after the inbox commit
(``manual_ack=True``; RELIABILITY.md #2).
"""

from __future__ import annotations

import json
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import Settings
from sync import contract

MAX_INFLIGHT = 1000  # our QoS 1 publishes awaiting PUBACK (the outbox drain)
# MQTT 5's Receive Maximum: how many unacknowledged down-events the broker may send us.
# Without it, Mosquitto sends 20 at a time (its max_inflight_messages); acknowledging only
# after each commit, the edge would then commit (and fsync) every 20 events. Two applier
# batches' worth (sync/applier.py) lets the broker send the next batch during a commit.
RECEIVE_MAXIMUM = 4000
RECONNECT_MIN_DELAY = 1
RECONNECT_MAX_DELAY = 30


def client_id(store_id: str) -> str:
    return f"passerelle-edge-{store_id}"


def make_client(settings: Settings) -> mqtt.Client:
    """A configured client, not yet connected (callbacks are the caller's)."""
    v5 = settings.mqtt_protocol == "5"
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id(settings.store_id),
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else False,
        manual_ack=True,
        reconnect_on_failure=True,
    )
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.reconnect_delay_set(RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY)
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
    if settings.mqtt_tls:
        client.tls_set(
            ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
            certfile=str(settings.mqtt_cert_file) if settings.mqtt_cert_file else None,
            keyfile=str(settings.mqtt_key_file) if settings.mqtt_key_file else None,
        )
    return client


def set_will(client: mqtt.Client, settings: Settings, last_sequence: int, time: str) -> None:
    """The retained last will: the broker marks our link offline if we vanish."""
    client.will_set(
        contract.edge_status_topic(settings.topic_prefix, settings.store_id),
        json.dumps(contract.status_payload(False, last_sequence, time)),
        qos=1,
        retain=True,
    )


def connect(client: mqtt.Client, settings: Settings) -> None:
    """Start connecting in the background; paho's loop reconnects with a backoff."""
    kwargs: dict[str, Any] = {"keepalive": settings.mqtt_keepalive}
    if settings.mqtt_protocol == "5":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.mqtt_session_expiry
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        kwargs["clean_start"] = False
        kwargs["properties"] = props
    client.connect_async(settings.mqtt_host, settings.mqtt_port, **kwargs)
