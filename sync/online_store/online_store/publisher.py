"""The online store's publishing side: the lease, the stored events in order, the statuses.

Several instances may share one database; a lease lets exactly one of them publish at a time.
Events are marked published only on their PUBACK (the worker does that in ``_drain``), and
both events and retained statuses go out through windows rather than floods: NATS closes a
connection whose QoS 1 publication waits more than 5 s for JetStream.
"""

from __future__ import annotations

import json
import sqlite3

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from online_store import db, streams
from sync import contract

STATUS_WINDOW = 50  # retained statuses in flight at once (see _status_step)
PUBLISH_WINDOW = 100  # events awaiting their PUBACK at once (see _publish_pending)


class Publisher:
    """Mixed into ``OnlineStore``: what the worker publishes while it holds the lease."""

    prefix: str
    stores: list[str]
    client_id: str
    client: mqtt.Client
    lease_seconds: float
    _conn: sqlite3.Connection
    _lease_until: float
    _inflight: dict[int, tuple[int, float]]  # paho mid → (event rowid, sent at)
    _inflight_rows: set[int]
    _status_backlog: list[str]  # sources whose online status is to be published
    _status_window: list[mqtt.MQTTMessageInfo]  # published, PUBACK awaited

    def _holds_lease(self, now: float) -> bool:
        """Only one instance publishes: the holder of the 'publisher' lease, renewed early."""
        if self._lease_until - now > self.lease_seconds / 2:
            return True
        row = self._conn.execute(
            "SELECT holder, expires_at FROM leases WHERE name = 'publisher'"
        ).fetchone()
        if row is not None and row["holder"] != self.client_id and row["expires_at"] > now:
            self._lease_until = 0.0
            return False
        with db.write(self._conn):
            took = self._conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES ('publisher', ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                (self.client_id, now + self.lease_seconds, now),
            ).rowcount
        self._lease_until = now + self.lease_seconds if took else 0.0
        return bool(took)

    def _publish_pending(self, now: float) -> None:
        """Send stored events in order; a PUBACK marks each published (see ``_drain``)."""
        for mid, (rowid, sent_at) in list(self._inflight.items()):
            if now - sent_at > 30:  # no PUBACK for 30 s (lost session?): send it again
                del self._inflight[mid]
                self._inflight_rows.discard(rowid)
        # A window, not a flood: NATS closes a connection whose QoS 1 publication waits more
        # than 5 s for JetStream, and a backlog of hundreds sent at once (after a reconnection)
        # did, again at every reconnection
        room = PUBLISH_WINDOW - len(self._inflight)
        if room <= 0:
            return
        for row in streams.unpublished(self._conn, room + len(self._inflight_rows)):
            if row["rowid"] in self._inflight_rows:
                continue
            topic = contract.down_topic_for(self.prefix, row["source"], row["type"])
            payload = json.dumps(streams.envelope(row), separators=(",", ":"), ensure_ascii=False)
            info = self.client.publish(topic, payload, qos=1)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                break
            self._inflight[info.mid] = (row["rowid"], now)
            self._inflight_rows.add(row["rowid"])

    def _status_step(self) -> None:
        """Publish the pending online statuses, at most STATUS_WINDOW awaiting their PUBACK.

        A chain has one retained status per store: 500 at once at every connect made NATS
        (each a replicated JetStream write) miss its 5 s deadline and close the connection,
        which reconnected and sent all 500 again, for ever. A window keeps it flowing.
        """
        self._status_window = [i for i in self._status_window if not i.is_published()]
        at = db.now_iso()
        while self._status_backlog and len(self._status_window) < STATUS_WINDOW:
            source = self._status_backlog.pop(0)
            payload = contract.status_payload(True, streams.last_sequence(self._conn, source), at)
            info = self.client.publish(
                contract.status_topic(self.prefix, source), json.dumps(payload), qos=1, retain=True
            )
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._status_backlog.insert(0, source)
                break
            self._status_window.append(info)

    def _publish_status(self, *, online: bool) -> list[mqtt.MQTTMessageInfo]:
        """The retained status of each stream we write: chain, then one per store."""
        infos = []
        at = db.now_iso()
        for source in [streams.CHAIN] + [contract.store_down_source(s) for s in self.stores]:
            payload = contract.status_payload(online, streams.last_sequence(self._conn, source), at)
            infos.append(
                self.client.publish(
                    contract.status_topic(self.prefix, source),
                    json.dumps(payload),
                    qos=1,
                    retain=True,
                )
            )
        return infos
