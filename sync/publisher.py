"""The publishing side of the sync worker: the outbox, in sequence order, to the broker.

The outbox row is the truth, not paho's in-memory queue (RELIABILITY.md #1): a row is marked
sent only once the broker's PUBACK for it arrived with a success code (RELIABILITY #13), in
one write transaction per batch. Everything here runs on the worker's own thread (``run``),
the only thread that calls ``publish``: HTTP workers never touch paho (RELIABILITY #3); they
write the outbox in the sale's transaction and this side notices the commit.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from edge.config import Settings
from edge.store import db, outbox, state
from edge.store.inbox import REPLAY_KEY
from sync import contract, fleet
from sync import mqtt as link
from sync.consumer import Outcome
from sync.marks import Marks
from sync.recovery import Recovery

log = logging.getLogger("passerelle.sync")

PUBLISH_WINDOW = link.MAX_INFLIGHT  # rows in flight at most (paho's in-flight window)
PUBLISH_BATCH = 1000  # rows per batch of a replay
PUBACK_TIMEOUT = 10.0
PUBLISH_ALERTS_KEY = "publish_alerts"  # sync_state: an up-event held or refused, for /readyz
# The retained status follows the stream: once the broker acknowledged up-events past what the
# last status announced and nothing is in flight, it is published again, at most this often
# (``status_behind``). Why: an up-event the broker acknowledged can still reach no one (Mosquitto
# 2.0 restores a persistent session's queue after a restart but not its $share subscription, so
# what the edge publishes before the online store subscribes again is dropped); nothing after it
# shows the gap, and the status is the only thing that does (contract, "tail gaps").
STATUS_FOLLOW = 1.0


@dataclass
class Counters:
    """Per-process counters, for logs and tests; durable numbers live in the database."""

    published: int = 0
    republished: int = 0
    received: int = 0
    inbox: Outcome = field(default_factory=Outcome)
    backfilled: int = 0
    max_backlog: int = 0  # most messages held for the applier at once (≤ Receive Maximum)
    last_sync: str | None = None  # the last exchange that changed something, for the link


class Publisher:
    """Publishes the outbox (or a replay the online store asked for) and the retained status.

    ``connected`` and ``stop`` are the worker's: a batch stops at once when either changes.
    """

    def __init__(
        self,
        settings: Settings,
        client: mqtt.Client,
        conn: sqlite3.Connection,
        recovery: Recovery,
        connected: threading.Event,
        stop: threading.Event,
        counters: Counters,
    ) -> None:
        self.settings = settings
        self.client = client
        self.conn = conn
        self.recovery = recovery
        self.connected = connected
        self.stop = stop
        self.counters = counters
        self.source = contract.up_source(settings.store_id)
        self.topic_prefix = settings.topic_prefix
        # mid -> reason: PUBACKs that carried an MQTT 5 failure code (RELIABILITY #13). paho
        # calls on_publish before it marks the message published, so a waiter that sees
        # is_published() also sees the refusal here.
        self._refused_mids: dict[int, str] = {}
        self._retry_at = 0.0  # after a refused or held publish: do not hammer the broker
        self.more = True  # look at the outbox at the next turn, whatever its data version
        self._data_version: int | None = None
        self._refusals = 0
        self.marks = Marks(conn, self.source, counters)  # acknowledged, not yet marked sent
        # Published, PUBACK not seen yet, in sequence order: (row, paho's info, when sent).
        self._inflight: deque[tuple[outbox.OutboxEvent, mqtt.MQTTMessageInfo, float]] = deque()
        self._alerts: dict[str, Any] | None = None  # as written in publish_alerts (None: unread)
        self._held: dict[str, Any] | None = None  # the row held for breaking the contract
        self._acked_through = 0  # the highest sequence the broker acknowledged (this process)
        self._announced_through = 0  # ``_acked_through`` when the last status went out
        self._status_at = 0.0  # when the last status went out (monotonic)

    def on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason_code: Any, _p: Any) -> None:
        """paho's callback (network thread): note a refused PUBACK, nothing else."""
        if reason_code.is_failure:
            self._refused_mids[mid] = str(reason_code)

    def publish_some(self) -> int:
        """One turn of the publisher: record the PUBACKs that came, mark rows sent when the
        write lock is free, and publish what was committed since, up to PUBLISH_WINDOW in
        flight; return how many rows were acknowledged or published (0: idle).

        A pipeline, not batches that wait for their last PUBACK: a sale committed while
        earlier rows are in flight goes out at once, and each row is recorded as sent at the
        turn its own PUBACK is seen (``sent_at``: a till's sale reaches the broker in
        milliseconds, bench/, sale → broker). Rows are acknowledged in sequence order only:
        ``_harvest`` takes the acknowledged prefix of what is in flight.

        Only after the store's own past is known (``Recovery``): a database restored from a
        backup must not number new events again from an old sequence. An event that breaks
        the contract is held, with an alert, and nothing after it goes out (the online store
        would wait for its number forever); a PUBACK with a failure reason code leaves its
        row unsent, to be retried after a pause, and is reported.
        """
        done = self._harvest()
        if self.marks.due():
            self.marks.write(wait=self.marks.overdue())
        if not self.recovery.done or time.monotonic() < self._retry_at:
            return done
        if len(self._inflight) >= PUBLISH_WINDOW:
            return done
        if not self.more and not self._outbox_changed():
            return done  # nothing committed by anyone since we last looked: no query
        self.more = False
        replay = state.get(self.conn, REPLAY_KEY)
        if replay is not None:
            if self._inflight:  # what is in flight first: a replay waits for its PUBACKs
                self.more = True
                return done
            return done + self._replay_batch(int(replay))
        room = PUBLISH_WINDOW - len(self._inflight)
        events = outbox.unsent(self.conn, self.source, limit=room, after=self._sent_through())
        sent, held = self._send(events)
        if held is not None:
            self._note_problems(held, None)
        # more at once: a full window's worth, or what a hold or a lost link left
        self.more = len(events) == room or sent < len(events)
        return done + sent

    def idle(self, timeout: float) -> None:
        """Nothing to do this turn: wait for the next PUBACK in flight, or ``timeout``."""
        if self._inflight and self.connected.is_set():
            try:
                self._inflight[0][1].wait_for_publish(timeout)
                return
            except (RuntimeError, ValueError):
                pass
        self.stop.wait(timeout)

    def _sent_through(self) -> int:
        """Past the rows in flight or acknowledged and not yet marked: the next to publish."""
        through = self.marks.through
        if self._inflight:
            through = max(through, self._inflight[-1][0].sequence)
        return through

    def _send(
        self, events: list[outbox.OutboxEvent]
    ) -> tuple[int, tuple[outbox.OutboxEvent, str] | None]:
        """Publish ``events`` in order until one is held (it breaks the contract), the link
        drops or paho refuses to queue; return how many went out and the held one."""
        sent = 0
        for ev in events:
            if not self.connected.is_set() or self.stop.is_set():
                break
            envelope = ev.envelope()
            try:
                contract.validate(envelope)
            except contract.ContractError as exc:
                return sent, (ev, str(exc))
            info = self.client.publish(
                contract.up_topic(self.topic_prefix, self.settings.store_id, ev.type),
                orjson.dumps(envelope),  # compact UTF-8, as json.dumps(…) but 4× faster
                qos=1,
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            self._inflight.append((ev, info, time.monotonic()))
            sent += 1
            if self._held is not None and ev.sequence >= self._held["sequence"]:
                self._held = None  # it went out after all (a fixed row): the alert clears
        return sent, None

    def _harvest(self) -> int:
        """Take the acknowledged prefix of what is in flight, to be marked sent with the time
        its PUBACKs were seen. A refused PUBACK stops it there (the rest in flight will go out
        again after a pause); so does a link that dropped or a PUBACK overdue."""
        acked: list[int] = []
        refused: tuple[outbox.OutboxEvent, str] | None = None
        while self._inflight:
            ev, info, published_at = self._inflight[0]
            if not info.is_published():
                overdue = time.monotonic() - published_at > PUBACK_TIMEOUT
                if not self.connected.is_set() or overdue:
                    self._drop_inflight()
                break
            self._inflight.popleft()
            reason = self._refused_mids.pop(info.mid, None)
            if reason is not None:
                refused = (ev, reason)
                self._drop_inflight()
                break
            acked.append(ev.sequence)
        if acked:
            self._acked(acked, db.now_iso())
        if refused is not None or (acked and self._alerts != {}):
            self._note_problems(None, refused)
        return len(acked)

    def _acked(self, sequences: list[int], acked_at: str) -> None:
        self.marks.add(sequences, acked_at)
        self.counters.last_sync = acked_at
        self._acked_through = max(self._acked_through, sequences[-1])

    def _drop_inflight(self) -> None:
        """Forget what is in flight: those rows are unsent and go out again (the online
        store dedupes a copy that the broker did take)."""
        for _ev, info, _at in self._inflight:
            self._refused_mids.pop(info.mid, None)
        self._inflight.clear()
        self.more = True

    def _replay_batch(self, replay: int) -> int:
        """One batch of a replay the online store asked for (``replay.requested``): the rows
        after ``replay``, whatever their sent state, each batch waiting for its PUBACKs."""
        self.mark_sent(wait=True)  # a replay reads the rows whatever their state
        events = outbox.after(self.conn, self.source, replay, limit=PUBLISH_BATCH)
        if not events:
            self._replay_done(replay, None)
            return 0
        _sent, held = self._send(events)
        infos, self._inflight = list(self._inflight), deque()
        acked: list[int] = []
        refused: tuple[outbox.OutboxEvent, str] | None = None
        deadline = time.monotonic() + PUBACK_TIMEOUT
        for ev, info, _at in infos:
            if not self.wait_puback(info, deadline):
                break
            reason = self._refused_mids.pop(info.mid, None)
            if reason is not None:
                refused = (ev, reason)
                break
            acked.append(ev.sequence)
        for _ev, info, _at in infos[len(acked) :]:  # what a wait left behind: ask again later
            self._refused_mids.pop(info.mid, None)
        self._note_problems(held, refused)
        # more to replay: a full batch, or rows past the last acknowledged one (held, refused,
        # or their PUBACK not seen: a link that dropped), replayed again from there
        more = len(events) == PUBLISH_BATCH or len(acked) < len(events)
        self.more = more
        if not acked:
            return 0
        self._acked(acked, db.now_iso())
        self.mark_sent(wait=True)
        self._replay_done(replay, acked[-1] if more else None)
        return len(acked)

    def mark_sent(self, *, wait: bool) -> bool:
        """Write the acknowledged rows' marks now (``Marks.write``)."""
        return self.marks.write(wait=wait)

    def _note_problems(
        self,
        held: tuple[outbox.OutboxEvent, str] | None,
        refused: tuple[outbox.OutboxEvent, str] | None,
    ) -> None:
        """Record (for /readyz, the metrics and ``passerelle sync status``) an up-event held
        for breaking the contract or refused by the broker; clear what is no longer true. A
        hold lasts until that row goes out (``_send``); a refusal until the next PUBACK that
        is a success. Written only when that changes."""
        if held is not None:
            ev, reason = held
            self._held = {"sequence": ev.sequence, "type": ev.type, "reason": reason}
            log.error(
                "up-event %s #%d held: it breaks the contract: %s", ev.type, ev.sequence, reason
            )
        alerts: dict[str, Any] = {"held": self._held} if self._held is not None else {}
        if refused is not None:
            ev, reason = refused
            self._refusals += 1
            alerts["refused"] = {
                "sequence": ev.sequence,
                "type": ev.type,
                "reason": reason,
                "count": self._refusals,
            }
            log.error(
                "broker refused up-event %s #%d: %s; retried later", ev.type, ev.sequence, reason
            )
        else:
            self._refusals = 0
        if held is not None or refused is not None:
            self._retry_at = time.monotonic() + min(60.0, 2.0 ** min(self._refusals, 6))
        if self._alerts is None:  # at start: what an earlier run left
            self._alerts = state.get(self.conn, PUBLISH_ALERTS_KEY) or {}
            self._alerts.pop("at", None)
        if alerts == self._alerts:
            return
        with db.write(self.conn) as conn:
            if alerts:
                state.put(conn, PUBLISH_ALERTS_KEY, {**alerts, "at": db.now_iso()})
            else:
                conn.execute("DELETE FROM sync_state WHERE key = ?", (PUBLISH_ALERTS_KEY,))
        self._alerts = alerts

    def _outbox_changed(self) -> bool:
        """Did any other connection commit since the last look (``PRAGMA data_version``)?

        The API writes the outbox from other processes, which cannot wake this thread. A
        look at the data version costs microseconds and touches no table, so the idle
        publisher looks often and queries the outbox only after a commit."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        changed = version != self._data_version
        self._data_version = version
        return bool(changed)

    def wait_puback(self, info: mqtt.MQTTMessageInfo, deadline: float) -> bool:
        while not info.is_published():
            if not self.connected.is_set() or time.monotonic() > deadline:
                return False
            try:
                info.wait_for_publish(0.2)
            except (RuntimeError, ValueError):
                return False
        return True

    def _replay_done(self, requested: int, continue_after: int | None) -> None:
        """Move the replay cursor on, or clear it, unless a lower request came meanwhile."""
        with db.write(self.conn) as conn:
            current = state.get(conn, REPLAY_KEY)
            if current is None or int(current) != requested:
                return
            if continue_after is None:
                conn.execute("DELETE FROM sync_state WHERE key = ?", (REPLAY_KEY,))
                log.info("replay after %d done", requested)
            else:
                state.put(conn, REPLAY_KEY, continue_after)

    # -- the retained status --------------------------------------------------------------

    def last_published(self) -> int:
        """The sequence up to which every up-event was acknowledged by the broker (marked
        sent, or acknowledged and waiting for its mark)."""
        after = self.marks.through
        row = self.conn.execute(
            "SELECT MIN(sequence) FROM outbox WHERE source = ? AND sent_at IS NULL "
            "AND sequence > ?",
            (self.source, after),
        ).fetchone()
        if row[0] is not None:
            return int(row[0]) - 1
        return outbox.last_sequence(self.conn, self.source)

    def status_behind(self, now: float) -> bool:
        """Whether the retained status is to follow the stream now: the broker acknowledged
        up-events past what it announced, nothing is in flight (the status then tells the
        whole backlog, not its first rows), and the last one is STATUS_FOLLOW old.

        After a reconnection the status goes out at once, before the backlog written during
        the cut (it says the old last sequence); this one, a moment later, says the new one.
        A consumer that missed those events (RELIABILITY #6, #7: the broker took them and
        delivered them to no one) sees how far the stream went within a second or two, not
        at the next STATUS_INTERVAL."""
        return (
            self._acked_through > self._announced_through
            and not self._inflight
            and now - self._status_at >= STATUS_FOLLOW
        )

    def publish_status(self, online: bool, wait: float = 0.0) -> None:
        """The retained status (and the matching last will): how far our up-stream went."""
        now = db.now_iso()
        self._announced_through, self._status_at = self._acked_through, time.monotonic()
        last = self.last_published()
        link.set_will(self.client, self.settings, last, now)
        info = self.client.publish(
            contract.edge_status_topic(self.topic_prefix, self.settings.store_id),
            json.dumps(
                contract.status_payload(online, last, now)
                | fleet.status_extras(self.conn, self.settings.store_id)
            ),
            qos=1,
            retain=True,
        )
        if wait and info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.wait_puback(info, time.monotonic() + wait)
