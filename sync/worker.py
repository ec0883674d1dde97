"""The sync worker: the one place where the store database meets MQTT.

Three threads, each with one job (STYLE.md, "A long-running MQTT service"):

- paho's network loop (``loop_start``): reads and writes sockets, reconnects with a backoff.
  Its callbacks do no database work: ``on_message`` only hands the message to the writer.
- the inbox writer: takes received messages from a queue in batches, applies them in one
  ``db.write`` transaction with their ``(source, id)`` records and stream sequences, then
  acknowledges them (``client.ack``). It also fetches gaps from the backfill endpoint.
- the caller's thread (``run``): publishes the outbox in sequence order and marks rows sent
  only after PUBACK, answers ``replay.requested``, keeps the retained status and the link
  state in ``sync_state`` fresh. HTTP workers never touch paho (RELIABILITY.md #3).

On stop (SIGTERM through the runner): the writer finishes its batch, the offline status is
published, the client disconnects, the loop stops and the database connections close.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from edge import db, faults, outbox, state
from edge.config import Settings
from edge.inbox import REPLAY_KEY
from sync import contract
from sync import mqtt as link
from sync.backfill import Backfill, BackfillError
from sync.consumer import HandlerFailed, Inbox, Outcome

log = logging.getLogger("passerelle.sync")

PUBLISH_BATCH = 1000  # at most paho's in-flight window: one commit (fsync) per 1000 acks
PUBACK_TIMEOUT = 10.0
IDLE_POLL = 0.1  # how often an idle publisher looks at the outbox (HTTP writes it)
STATUS_INTERVAL = 30.0  # the contract asks for at least every 60 s
LINK_STATE_INTERVAL = 5.0  # heartbeat for /readyz (a silent worker counts as down after 90 s)
WRITER_BATCH = 500
GAP_WAIT = 1.0  # a gap may close by itself (a redelivery in flight) before we fetch it
BACKFILL_RETRY_MAX = 60.0
WRITER_ATTEMPTS = 3


@dataclass
class Counters:
    """Per-process counters, for logs and tests; durable numbers live in the database."""

    published: int = 0
    republished: int = 0
    received: int = 0
    inbox: Outcome = field(default_factory=Outcome)
    backfilled: int = 0


@dataclass
class _Gap:
    since: float
    last: int = 0
    next_try: float = 0.0
    failures: int = 0


class SyncWorker:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.prefix = settings.topic_prefix
        self.source = contract.up_source(settings.store_id)
        self.inbox = Inbox(settings.store_id, self.prefix)
        self.status_topics = contract.web_status_topics(self.prefix, settings.store_id)
        self.counters = Counters()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # SUBACK of this connection received
        self.failed = False  # the inbox writer gave up: run() raises after the shutdown
        self.refused: str | None = None  # the broker's last refusal (bad credentials, ...)
        self._generation = 0  # bumped at each (re)connection: acks never cross connections
        self._gen_lock = threading.Lock()
        self._announce = threading.Event()  # set by on_connect: publish status, write state
        self._queue: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        self._last_sync: str | None = None
        self._gaps: dict[str, _Gap] = {}
        self._resync: set[str] = set()
        self.pub_conn = db.open_database(settings.db_path)
        self.writer_conn = db.connect(settings.db_path)
        self.backfill: Backfill | None = None
        if settings.online_store_url:
            self.backfill = Backfill(
                settings.online_store_url,
                settings.online_store_token,
                page_size=settings.backfill_page_size,
                timeout=settings.backfill_timeout,
            )
        self.client = link.make_client(settings)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self._status_topic_set = frozenset(self.status_topics.values())
        self._writer = threading.Thread(target=self._writer_loop, name="sync-inbox", daemon=True)

    # -- paho callbacks (network thread: no database work, no blocking) ----------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason_code: Any, _p: Any
    ) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            log.warning("MQTT connection refused: %s", reason_code)
            return
        self.refused = None
        with self._gen_lock:
            self._generation += 1
        filters = contract.edge_down_filters(self.prefix, self.settings.store_id)
        client.subscribe([(f, 1) for f in [*filters, *self.status_topics.values()]])
        if not flags.session_present:
            # A new store, an expired session, or a broker that lost it (RELIABILITY #4, #7):
            # what was queued for us is gone, so fetch everything after the last applied.
            self._queue.put(("resync", self._generation, None))
        log.info(
            "MQTT connected to %s:%s (session %s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            "resumed" if flags.session_present else "new",
        )
        self.connected.set()
        self._announce.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason_code: Any, _p: Any
    ) -> None:
        if self.connected.is_set():
            log.warning("MQTT link down: %s", reason_code)
        self.connected.clear()
        self.subscribed.clear()
        self._announce.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Routed here rather than by message_callback_add: no topic matching per message on
        # the catch-up path, where this thread's time is the budget.
        kind = "status" if msg.topic in self._status_topic_set else "event"
        self._queue.put((kind, self._generation, msg))

    # -- the inbox writer --------------------------------------------------------------------

    def _writer_loop(self) -> None:
        with db.write(self.writer_conn):
            self.inbox.ensure_streams(self.writer_conn)
        while True:
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self.stop.is_set():
                    return
                self._check_gaps()
                continue
            if first[0] == "stop":
                return
            batch = [first]
            while len(batch) < WRITER_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item[0] == "stop":
                    self._queue.put(item)
                    break
                batch.append(item)
            for attempt in range(1, WRITER_ATTEMPTS + 1):
                try:
                    self._apply_batch(batch)
                    break
                except sqlite3.Error:
                    # Nothing was acknowledged; the transaction rolled back whole.
                    log.exception("inbox batch failed (attempt %d)", attempt)
                    if attempt == WRITER_ATTEMPTS:
                        # Stop the whole worker: the runner exits, systemd restarts it, and
                        # the broker delivers the unacknowledged messages again.
                        self.failed = True
                        self.stop.set()
                        return
                    time.sleep(0.5 * attempt)
            self._check_gaps()

    def _apply_batch(self, batch: list[tuple[str, int, Any]]) -> None:
        try:
            out = self._apply_once(batch, careful=False)
        except HandlerFailed:
            # Rolled back whole; again with a savepoint per event, so that the event whose
            # handler fails is dead-lettered alone.
            out = self._apply_once(batch, careful=True)
        faults.point("after_apply_before_ack")
        with self._gen_lock:
            generation = self._generation
        for kind, gen, msg in batch:
            # A mid from an earlier connection may name another message now: never ack it;
            # the broker redelivers, and the inbox sees a duplicate.
            if kind in ("event", "status") and msg.qos > 0 and gen == generation:
                self.client.ack(msg.mid, msg.qos)
        self.counters.inbox.add(out)
        if out.applied or out.ignored:
            self._last_sync = db.now_iso()

    def _apply_once(self, batch: list[tuple[str, int, Any]], careful: bool) -> Outcome:
        out = Outcome()
        with db.write(self.writer_conn) as conn, self.inbox.batch(conn, careful=careful):
            for kind, _gen, msg in batch:
                if kind == "event":
                    out.add(self.inbox.receive(conn, msg.topic, msg.payload))
                elif kind == "status":
                    self._apply_status(conn, msg)
                elif kind == "resync":
                    self._resync.update(self.inbox.sources)
        self.counters.received += sum(1 for kind, _g, _m in batch if kind == "event")
        return out

    def _apply_status(self, conn: sqlite3.Connection, msg: mqtt.MQTTMessage) -> None:
        source = next((s for s, t in self.status_topics.items() if t == msg.topic), None)
        try:
            payload = contract.parse(msg.payload)
            contract.validate_status(payload)
        except contract.ContractError as exc:
            conn.execute(
                "INSERT INTO dead_letters (received_at, topic, source, reason, payload) "
                "VALUES (?,?,?,?,?)",
                (db.now_iso(), msg.topic, source, f"status: {exc}", msg.payload[:4096].hex()),
            )
            return
        if source is not None:
            self.inbox.record_remote(conn, source, int(payload["last_sequence"]))

    def _check_gaps(self) -> None:
        """Fetch what a gap, a tail gap or a lost session left missing, after a short wait."""
        now = time.monotonic()
        streams = self.inbox.streams(self.writer_conn)
        for source in self.inbox.sources:
            s = streams.get(source)
            if s is None:
                continue
            behind = (
                s["pending"] > 0 or s["remote_sequence"] > s["last_sequence"]
            ) or source in self._resync
            if not behind:
                self._gaps.pop(source, None)
                continue
            gap = self._gaps.setdefault(source, _Gap(since=now, last=s["last_sequence"]))
            if s["last_sequence"] > gap.last:  # still moving: the gap may close by itself
                gap.since, gap.last = now, s["last_sequence"]
            urgent = source in self._resync
            if (not urgent and now - gap.since < GAP_WAIT) or now < gap.next_try:
                continue
            if self.backfill is None:
                if gap.failures == 0:
                    log.warning("%s is behind and online_store_url is not set: no backfill", source)
                gap.failures += 1
                gap.next_try = now + BACKFILL_RETRY_MAX
                self._resync.discard(source)
                continue
            try:
                self._fill(source)
            except BackfillError as exc:
                gap.failures += 1
                delay = min(BACKFILL_RETRY_MAX, 2.0**gap.failures)
                gap.next_try = now + delay
                log.warning("backfill of %s failed (%s); next try in %.0f s", source, exc, delay)
                continue
            self._resync.discard(source)
            # Still behind after a complete fill (the endpoint does not have what was
            # announced or parked yet): ask again later, less and less often.
            gap.failures += 1
            gap.next_try = now + min(BACKFILL_RETRY_MAX, 2.0**gap.failures)

    def _fill(self, source: str) -> None:
        assert self.backfill is not None
        after = self.inbox.last_sequence(self.writer_conn, source)
        fetched = 0
        for page in self.backfill.pages(source, after):
            if self.stop.is_set():  # the rest waits for the next start
                break
            items: list[tuple[str | None, bytes | dict[str, Any]]] = [(None, ev) for ev in page]
            with db.write(self.writer_conn) as conn:
                with self.inbox.batch(conn, careful=True):
                    out = self.inbox.receive_many(conn, items, source)
                n = out.applied + out.ignored + out.dead
                self.inbox.count_fetched(conn, source, n)
            fetched += n
            self.counters.inbox.add(out)
        self.counters.backfilled += fetched
        if fetched:
            self._last_sync = db.now_iso()
            log.info("backfill: %d events of %s after %d", fetched, source, after)

    # -- the publisher -----------------------------------------------------------------------

    def publish_some(self) -> int:
        """Publish one batch of the outbox (or of a replay); return how many were acked."""
        conn = self.pub_conn
        replay = state.get(conn, REPLAY_KEY)
        if replay is not None:
            events = outbox.after(conn, self.source, int(replay), limit=PUBLISH_BATCH)
        else:
            events = outbox.unsent(conn, self.source, limit=PUBLISH_BATCH)
        if not events:
            if replay is not None:
                self._replay_done(int(replay), None)
            return 0
        infos: list[tuple[outbox.OutboxEvent, mqtt.MQTTMessageInfo]] = []
        for ev in events:
            if not self.connected.is_set() or self.stop.is_set():
                break
            envelope = ev.envelope()
            try:
                contract.validate(envelope)
            except contract.ContractError as exc:
                log.error("outbox event %s #%d breaks the contract: %s", ev.type, ev.sequence, exc)
            info = self.client.publish(
                contract.up_topic(self.prefix, self.settings.store_id, ev.type),
                json.dumps(envelope, separators=(",", ":"), ensure_ascii=False),
                qos=1,
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            infos.append((ev, info))
        acked: list[int] = []
        deadline = time.monotonic() + PUBACK_TIMEOUT
        for ev, info in infos:
            if not self._wait_puback(info, deadline):
                break
            acked.append(ev.sequence)
        if not acked:
            return 0
        faults.point("after_puback_before_mark")
        with db.write(conn):
            already = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE source = ? AND sequence BETWEEN ? AND ? "
                "AND sent_at IS NOT NULL",
                (self.source, acked[0], acked[-1]),
            ).fetchone()[0]
            outbox.mark_sent(conn, self.source, acked)
        self.counters.published += len(acked) - already
        self.counters.republished += already
        self._last_sync = db.now_iso()
        if replay is not None:
            self._replay_done(int(replay), acked[-1] if len(events) == PUBLISH_BATCH else None)
        return len(acked)

    def _wait_puback(self, info: mqtt.MQTTMessageInfo, deadline: float) -> bool:
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
        with db.write(self.pub_conn) as conn:
            current = state.get(conn, REPLAY_KEY)
            if current is None or int(current) != requested:
                return
            if continue_after is None:
                conn.execute("DELETE FROM sync_state WHERE key = ?", (REPLAY_KEY,))
                log.info("replay after %d done", requested)
            else:
                state.put(conn, REPLAY_KEY, continue_after)

    # -- status and link state ----------------------------------------------------------------

    def last_published(self) -> int:
        """The sequence up to which every up-event was acknowledged by the broker."""
        row = self.pub_conn.execute(
            "SELECT MIN(sequence) FROM outbox WHERE source = ? AND sent_at IS NULL", (self.source,)
        ).fetchone()
        if row[0] is not None:
            return int(row[0]) - 1
        return outbox.last_sequence(self.pub_conn, self.source)

    def publish_status(self, online: bool, wait: float = 0.0) -> None:
        now = db.now_iso()
        last = self.last_published()
        link.set_will(self.client, self.settings, last, now)
        info = self.client.publish(
            contract.edge_status_topic(self.prefix, self.settings.store_id),
            json.dumps(contract.status_payload(online, last, now)),
            qos=1,
            retain=True,
        )
        if wait and info.rc == mqtt.MQTT_ERR_SUCCESS:
            self._wait_puback(info, time.monotonic() + wait)

    def write_link_state(self) -> None:
        with db.write(self.pub_conn) as conn:
            previous = state.get(conn, "link") or {}
            connected = self.connected.is_set()
            down_since = None
            if not connected:
                down_since = (
                    previous.get("down_since")
                    if not previous.get("connected") and previous.get("down_since")
                    else db.now_iso()
                )
            state.put(
                conn,
                "link",
                {
                    "connected": connected,
                    "down_since": down_since,
                    "heartbeat_at": db.now_iso(),
                    "last_sync_at": self._last_sync or previous.get("last_sync_at"),
                    "broker": f"{self.settings.mqtt_host}:{self.settings.mqtt_port}",
                },
            )

    # -- life cycle ---------------------------------------------------------------------------

    def run(self) -> None:
        link.set_will(self.client, self.settings, self.last_published(), db.now_iso())
        self.write_link_state()
        self._writer.start()
        link.connect(self.client, self.settings)
        self.client.loop_start()
        next_status = next_state = 0.0
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if self._announce.is_set():
                    self._announce.clear()
                    if self.connected.is_set():
                        self.publish_status(True)
                        next_status = now + STATUS_INTERVAL
                    self.write_link_state()
                    next_state = now + LINK_STATE_INTERVAL
                if self.connected.is_set() and now >= next_status:
                    self.publish_status(True)
                    next_status = now + STATUS_INTERVAL
                if now >= next_state:
                    self.write_link_state()
                    next_state = now + LINK_STATE_INTERVAL
                sent = self.publish_some() if self.connected.is_set() else 0
                if not sent:
                    self.stop.wait(IDLE_POLL)
        finally:
            self.shutdown()
        if self.failed:
            raise RuntimeError("the inbox writer could not commit; see the log above")

    def shutdown(self) -> None:
        self._queue.put(("stop", 0, None))
        if self._writer.is_alive():
            self._writer.join(timeout=15)
        if self.connected.is_set():
            self.publish_status(False, wait=2.0)
        self.connected.clear()
        self.client.disconnect()
        self.client.loop_stop()
        try:
            self.write_link_state()
        except sqlite3.Error:
            log.exception("could not record the link as down")
        if self.backfill is not None:
            self.backfill.close()
        self.pub_conn.close()
        self.writer_conn.close()
        log.info(
            "sync stopped: %d published, %d received, %d applied, %d backfilled",
            self.counters.published,
            self.counters.received,
            self.counters.inbox.applied,
            self.counters.backfilled,
        )


def run(settings: Settings, stop_event: threading.Event) -> None:
    """Entry point of the runner (``sync.worker:run``): sync until ``stop_event`` is set."""
    SyncWorker(settings, stop_event).run()
