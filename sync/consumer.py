"""The inbox: down-events applied once each, in sequence order per source.

Everything here runs inside the caller's ``db.write(conn)`` transaction, on the one writer
thread of the sync worker; the MQTT acknowledgement is sent only after that transaction
commits (RELIABILITY.md #2), so a crash before the commit makes the broker deliver again.

Per source (``/web/chain``, ``/web/stores/{store_id}``), ``inbox_streams.last_sequence`` is the
last sequence applied in order:

- ``sequence <= last``: an old number, a duplicate: nothing happens;
- ``sequence == last + 1``: applied (or dead-lettered), then the events parked right after it;
- ``sequence > last + 1``: parked durably in ``inbox_pending`` until the gap closes, by a late
  delivery or by the backfill endpoint.

``(source, id)`` in ``inbox`` is the dedupe key on top: an id already seen never applies again.
An invalid message goes to ``dead_letters`` with the reason; when it carries a usable sequence
of one of our streams it still uses that number up, so it never stalls the stream.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from edge import handlers
from edge.pickups.redaction import seal, unseal
from edge.store import inbox
from edge.store.db import now_iso
from sync import contract

log = logging.getLogger("passerelle.sync.inbox")

MAX_DEAD_PAYLOAD = 64 * 1024

# Down-event types applied as soon as they arrive, even behind a hole in their stream: their
# effect does not depend on what is missing (a new order, an entry of an append-only ledger, a
# purchase, a versioned upsert applied only if newer, a replay request where the lowest wins).
# The others (a cancellation of an order we may not have yet, a redemption of a coupon we may
# not know, an erasure whose tombstone would keep an older version) wait for the hole.
EARLY_TYPES = frozenset(
    {
        "order.placed",
        "replay.requested",
        "purchase.recorded",
        "loyalty.entry",
        "customer.upserted",
        "product.upserted",
        "offer.upserted",
        "coupon.issued",
    }
)


@dataclass
class Outcome:
    """What one call did, for the worker's counters."""

    applied: int = 0
    ignored: int = 0
    duplicates: int = 0
    parked: int = 0
    dead: int = 0

    def add(self, other: Outcome) -> None:
        self.applied += other.applied
        self.ignored += other.ignored
        self.duplicates += other.duplicates
        self.parked += other.parked
        self.dead += other.dead


class HandlerFailed(Exception):
    """A handler raised outside careful mode: run the batch again carefully."""


@dataclass
class _StreamState:
    last: int
    pending: bool
    dirty: bool = False


class Inbox:
    """The rules of one edge's inbox: which streams it reads and how it applies them."""

    def __init__(self, store_id: str, prefix: str) -> None:
        self.store_id = store_id
        self.prefix = prefix
        self.up_source = contract.up_source(store_id)
        self.sources = (contract.CHAIN_SOURCE, contract.store_down_source(store_id))
        # Inside batch(): each stream's last sequence and whether events are parked, read
        # once and written back once per transaction instead of once per event.
        self._cache: dict[str, _StreamState] | None = None
        self.careful = True  # a savepoint per event; see batch()

    @contextmanager
    def batch(self, conn: sqlite3.Connection, *, careful: bool = False) -> Iterator[None]:
        """Receive many events in the caller's transaction with less work per event.

        Not careful: no savepoint per event, and a failing handler raises HandlerFailed
        (the caller rolls the transaction back and runs the batch again carefully, where the
        failing event is dead-lettered alone). Nothing is written back if the block raises.
        """
        self._cache = {}
        self.careful = careful
        try:
            yield
            for source, st in self._cache.items():
                if st.dirty:
                    conn.execute(
                        "UPDATE inbox_streams SET last_sequence = ?, last_applied_at = ? "
                        "WHERE source = ?",
                        (st.last, now_iso(), source),
                    )
        finally:
            self._cache = None
            self.careful = True

    def _state(self, conn: sqlite3.Connection, stream: str) -> _StreamState:
        cache = self._cache
        st = cache.get(stream) if cache is not None else None
        if st is None:
            st = _StreamState(
                last=self.last_sequence(conn, stream),
                pending=self._has_pending(conn, stream),
            )
            if cache is not None:
                cache[stream] = st
        return st

    def _advance(self, conn: sqlite3.Connection, stream: str, seq: int, stamp: str) -> None:
        if self._cache is not None:
            st = self._state(conn, stream)
            st.last, st.dirty = seq, True
            return
        conn.execute(
            "UPDATE inbox_streams SET last_sequence = ?, last_applied_at = ? WHERE source = ?",
            (seq, stamp, stream),
        )

    # -- streams --------------------------------------------------------------------------

    def ensure_streams(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO inbox_streams (source) VALUES (?)", [(s,) for s in self.sources]
        )

    def last_sequence(self, conn: sqlite3.Connection, source: str) -> int:
        row = conn.execute(
            "SELECT last_sequence FROM inbox_streams WHERE source = ?", (source,)
        ).fetchone()
        return int(row[0]) if row else 0

    def streams(self, conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
        rows = conn.execute("SELECT * FROM inbox_streams").fetchall()
        out = {r["source"]: dict(r) for r in rows if r["source"] in self.sources}
        for r in out.values():
            r["pending"] = conn.execute(
                "SELECT COUNT(*) FROM inbox_pending WHERE source = ?", (r["source"],)
            ).fetchone()[0]
        return out

    def record_remote(self, conn: sqlite3.Connection, source: str, sequence: int) -> None:
        """The online store announced ``sequence`` as its last on ``source`` (tail gaps)."""
        conn.execute(
            "UPDATE inbox_streams SET remote_sequence = MAX(remote_sequence, ?) WHERE source = ?",
            (sequence, source),
        )

    def count_fetched(self, conn: sqlite3.Connection, source: str, n: int) -> None:
        if n:
            conn.execute(
                "UPDATE inbox_streams SET gaps_fetched = gaps_fetched + ? WHERE source = ?",
                (n, source),
            )

    # -- receiving ------------------------------------------------------------------------

    def receive(
        self,
        conn: sqlite3.Connection,
        topic: str | None,
        payload: bytes | bytearray | dict[str, Any],
        expected: str | None = None,
        *,
        checked: bool = False,
    ) -> Outcome:
        """One message off the wire (``topic`` set) or one backfilled event (``topic`` None,
        ``expected`` the source of the stream that was asked for). ``checked``: the sender
        already found it valid and on its right topic (``contract.conforms``)."""
        if isinstance(payload, dict):
            event: dict[str, Any] = payload
            raw_text = ""  # made only if needed (parked or dead)
        else:
            raw_text = bytes(payload).decode("utf-8", errors="replace")
            try:
                event = contract.parse(payload)
            except contract.ContractError as exc:
                return self._dead(conn, topic, None, None, None, str(exc), raw_text)
        source = event.get("source")
        event_id = event.get("id") if isinstance(event.get("id"), str) else None
        seq = contract.sequence_of(event)
        stream = self._stream_of(topic, source)
        if expected is not None and stream != expected:
            stream = None
        if stream is None:
            reason = (
                f"source {source!r} is not one of this store's down-streams "
                f"({', '.join(self.sources)})"
            )
            try:  # name the first thing wrong: the envelope, then the topic
                contract.validate(event, tolerant=True)
                if topic is not None:
                    contract.check_topic(self.prefix, topic, event)
            except contract.ContractError as exc:
                reason = str(exc)
            raw_text = raw_text or _text(event)
            return self._dead(conn, topic, _str(source), event_id, seq, reason, raw_text)
        if seq is None:
            return self._dead(
                conn,
                topic,
                stream,
                event_id,
                None,
                "sequence: missing or not a decimal string from '1'",
                raw_text or _text(event),
            )
        st = self._state(conn, stream)
        if seq <= st.last:
            other = self._conflict(conn, stream, seq, event_id)
            if other is None:
                return Outcome(duplicates=1)
            return self._conflicting(conn, topic, stream, event_id, seq, other, event, raw_text)
        if seq > st.last + 1:
            cur = conn.execute(
                "INSERT OR IGNORE INTO inbox_pending (source, sequence, id, payload, received_at) "
                "VALUES (?,?,?,?,?)",
                # the pickup code sealed with the box key (issue 19), unsealed in _drain
                (stream, seq, event_id or "", seal(conn, raw_text or _text(event)), now_iso()),
            )
            st.pending = True
            if not cur.rowcount:
                parked = conn.execute(
                    "SELECT id FROM inbox_pending WHERE source = ? AND sequence = ?", (stream, seq)
                ).fetchone()
                if parked is None or not event_id or parked[0] in ("", event_id):
                    return Outcome(duplicates=1)
                other = str(parked[0])
                return self._conflicting(conn, topic, stream, event_id, seq, other, event, raw_text)
            out = Outcome(parked=1)
            if event.get("type") in EARLY_TYPES:
                out.add(self._early(conn, stream, seq, topic, event, raw_text, checked))
            return out
        out = self._take(conn, stream, seq, topic, event, raw_text, checked)
        if st.pending:
            out.add(self._drain(conn, stream))
            st.pending = self._has_pending(conn, stream)
        return out

    def _conflicting(
        self,
        conn: sqlite3.Connection,
        topic: str | None,
        stream: str,
        event_id: str | None,
        seq: int,
        other: str,
        event: dict[str, Any],
        raw_text: str,
    ) -> Outcome:
        """A number already used by ``other`` (applied or parked): kept as a dead letter and
        reported, never dropped as a duplicate (contract 1.1)."""
        reason = f"conflict: sequence {seq} is already {other}"
        return self._dead(conn, topic, stream, event_id, seq, reason, raw_text or _text(event))

    def _conflict(
        self, conn: sqlite3.Connection, stream: str, seq: int, event_id: str | None
    ) -> str | None:
        """The id already applied at ``seq`` when it is not ``event_id`` (contract 1.1: a
        number used twice with different ids is a conflict, kept and reported, never a
        duplicate). The id is looked up first (its key): a plain redelivery costs one
        lookup; only an id not on record looks for the number (rare: a conflict, or a
        redelivery older than the inbox's retention, which counts as a duplicate)."""
        if not event_id:
            return None
        if conn.execute(
            "SELECT 1 FROM inbox WHERE source = ? AND id = ?", (stream, event_id)
        ).fetchone():
            return None
        row = conn.execute(
            "SELECT id FROM inbox WHERE source = ? AND sequence = ? AND id <> ?",
            (stream, seq, event_id),
        ).fetchone()
        return str(row[0]) if row else None

    def receive_many(
        self,
        conn: sqlite3.Connection,
        items: Iterable[tuple[str | None, bytes | dict[str, Any]]],
        expected: str | None = None,
    ) -> Outcome:
        total = Outcome()
        for topic, payload in items:
            total.add(self.receive(conn, topic, payload, expected))
        return total

    def _stream_of(self, topic: str | None, source: Any) -> str | None:
        """The stream the event belongs to: its source, if that is ours and fits the topic."""
        if source not in self.sources:
            return None
        if topic is not None:
            try:
                if contract.parse_topic(self.prefix, topic).source != source:
                    return None
            except contract.ContractError:
                return None
        return str(source)

    def _take(
        self,
        conn: sqlite3.Connection,
        stream: str,
        seq: int,
        topic: str | None,
        event: dict[str, Any],
        raw_text: str,
        checked: bool = False,
    ) -> Outcome:
        """The next event of ``stream``: validate, apply once, and advance the sequence."""
        stamp = now_iso()
        self._advance(conn, stream, seq, stamp)
        out = Outcome()
        event_id = event.get("id") if isinstance(event.get("id"), str) else None
        try:
            event = self._valid(topic, event, checked)
        except contract.ContractError as exc:
            raw_text = raw_text or _text(event)
            dead = self._dead(conn, topic, stream, event_id, seq, str(exc), raw_text, seen=True)
            out.add(dead)
            return out
        assert event_id is not None  # the schema requires it
        return self._apply(conn, stream, seq, topic, event, raw_text, out)

    def _valid(self, topic: str | None, event: dict[str, Any], checked: bool) -> dict[str, Any]:
        """The event as this version reads it (a tolerant reader: unknown fields dropped),
        or ContractError. ``checked``: the receiver already found it valid on its topic."""
        if checked:
            return event
        contract.validate(event, tolerant=True)
        if topic is not None:
            contract.check_topic(self.prefix, topic, event)
        return contract.known(event)

    def _early(
        self,
        conn: sqlite3.Connection,
        stream: str,
        seq: int,
        topic: str | None,
        event: dict[str, Any],
        raw_text: str,
        checked: bool,
    ) -> Outcome:
        """Apply a parked event now, ahead of the hole, when its effect cannot depend on the
        missing ones (``EARLY_TYPES``): a web order reaches the pickup board even while the
        backfill endpoint is down. Its ``(source, id)`` record makes the in-order pass, once
        the hole is filled, count it as a duplicate; an event that does not validate waits
        for that pass, which dead-letters it in order."""
        try:
            event = self._valid(topic, event, checked)
        except contract.ContractError:
            return Outcome()
        out = self._apply(conn, stream, seq, topic, event, raw_text, Outcome())
        out.parked = 0
        return out

    def _apply(
        self,
        conn: sqlite3.Connection,
        stream: str,
        seq: int,
        topic: str | None,
        event: dict[str, Any],
        raw_text: str,
        out: Outcome,
    ) -> Outcome:
        """Record ``(source, id)`` and run the type's handler, once."""
        stamp = now_iso()
        event_id: str = event["id"]
        type_ = event["type"]
        handler = handlers.HANDLERS.get(type_)
        careful = self.careful
        if careful:
            conn.execute("SAVEPOINT apply_event")
        # The (source, id) record first: if it is already there, this is a duplicate.
        cur = conn.execute(
            "INSERT OR IGNORE INTO inbox (source, id, sequence, type, outcome, applied_at) "
            "VALUES (?,?,?,?,?,?)",
            (stream, event_id, seq, type_, "applied" if handler else "ignored", stamp),
        )
        if cur.rowcount == 0 or handler is None:
            if careful:
                conn.execute("RELEASE apply_event")
            if cur.rowcount == 0:
                out.duplicates += 1
            else:
                out.ignored += 1
            return out
        ctx = inbox.ApplyContext(
            store_id=self.store_id,
            source=self.up_source,
            event_id=event_id,
            event_time=event.get("time"),
        )
        try:
            handler(conn, event["data"], ctx)
        except sqlite3.OperationalError:
            raise  # the database's trouble (locked, disk), not this event's: retried whole
        except Exception as exc:  # a handler's failure is this event's, not the stream's
            if not careful:
                raise HandlerFailed(f"{type_} {event_id}") from exc
            conn.execute("ROLLBACK TO apply_event")
            conn.execute("RELEASE apply_event")
            log.warning("handler of %s %s failed: %s", type_, event_id, exc)
            reason = f"handler of {type_} failed: {type(exc).__name__}: {exc}"
            raw_text = raw_text or _text(event)
            out.add(self._dead(conn, topic, stream, event_id, seq, reason, raw_text, True))
            return out
        if careful:
            conn.execute("RELEASE apply_event")
        out.applied += 1
        return out

    def _has_pending(self, conn: sqlite3.Connection, stream: str) -> bool:
        return (
            conn.execute(
                "SELECT 1 FROM inbox_pending WHERE source = ? LIMIT 1", (stream,)
            ).fetchone()
            is not None
        )

    def _drain(self, conn: sqlite3.Connection, stream: str) -> Outcome:
        """Apply the parked events that now follow the last applied one."""
        out = Outcome()
        while True:
            last = self._state(conn, stream).last
            conn.execute(
                "DELETE FROM inbox_pending WHERE source = ? AND sequence <= ?", (stream, last)
            )
            row = conn.execute(
                "SELECT payload FROM inbox_pending WHERE source = ? AND sequence = ?",
                (stream, last + 1),
            ).fetchone()
            if row is None:
                return out
            conn.execute(
                "DELETE FROM inbox_pending WHERE source = ? AND sequence = ?", (stream, last + 1)
            )
            try:
                event = contract.parse(unseal(conn, row["payload"]))
            except contract.ContractError as exc:  # parked events were parsed once already
                self._advance(conn, stream, last + 1, now_iso())
                out.add(self._dead(conn, None, stream, None, last + 1, str(exc), row["payload"]))
                continue
            out.add(self._take(conn, stream, last + 1, None, event, row["payload"]))

    def pending_min(self, conn: sqlite3.Connection, stream: str) -> int | None:
        row = conn.execute(
            "SELECT MIN(sequence) FROM inbox_pending WHERE source = ?", (stream,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def _dead(
        self,
        conn: sqlite3.Connection,
        topic: str | None,
        source: str | None,
        event_id: str | None,
        seq: int | None,
        reason: str,
        raw_text: str,
        seen: bool = False,
    ) -> Outcome:
        """Record a refused message. ``seen``: it used up ``seq`` of ``source`` (our stream)."""
        log.warning("dead letter (%s %s #%s): %s", source, event_id, seq, reason)
        conn.execute(
            "INSERT INTO dead_letters (received_at, topic, source, event_id, sequence, reason, "
            "payload) VALUES (?,?,?,?,?,?,?)",
            # never a pickup code in clear (issue 19): sealed with the box key, as a parked
            # event's, so that `passerelle sync dead-letters retry` can still apply it
            (
                now_iso(),
                topic,
                source,
                event_id,
                seq,
                reason[:1000],
                seal(conn, raw_text)[:MAX_DEAD_PAYLOAD],
            ),
        )
        if seen and source and event_id:
            conn.execute(
                "INSERT OR IGNORE INTO inbox (source, id, sequence, type, outcome, applied_at) "
                "VALUES (?,?,?,NULL,'dead',?)",
                (source, event_id[:128], seq, now_iso()),
            )
        return Outcome(dead=1)


def _text(payload: bytes | bytearray | dict[str, Any]) -> str:
    if isinstance(payload, dict):
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return bytes(payload).decode("utf-8", errors="replace")


def _str(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) else None
