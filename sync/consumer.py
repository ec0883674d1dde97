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

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from edge import handlers
from edge.pickups.redaction import seal, unseal
from edge.store import inbox
from edge.store.db import now_iso
from sync import contract
from sync.dead_letters import record as _dead_letter
from sync.dead_letters import short as _str
from sync.dead_letters import text as _text
from sync.streams import HandlerFailed, Outcome, Streams

__all__ = ["EARLY_TYPES", "HandlerFailed", "Inbox", "Outcome"]

log = logging.getLogger("passerelle.sync.inbox")

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


class Inbox(Streams):
    """The rules of one edge's inbox: which streams it reads and how it applies them."""

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
                return _dead_letter(conn, topic, None, None, None, str(exc), raw_text)
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
            return _dead_letter(conn, topic, _str(source), event_id, seq, reason, raw_text)
        if seq is None:
            return _dead_letter(
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
        return _dead_letter(conn, topic, stream, event_id, seq, reason, raw_text or _text(event))

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
            dead = _dead_letter(conn, topic, stream, event_id, seq, str(exc), raw_text, seen=True)
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
            out.add(_dead_letter(conn, topic, stream, event_id, seq, reason, raw_text, True))
            return out
        if careful:
            conn.execute("RELEASE apply_event")
        out.applied += 1
        return out

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
                out.add(_dead_letter(conn, None, stream, None, last + 1, str(exc), row["payload"]))
                continue
            out.add(self._take(conn, stream, last + 1, None, event, row["payload"]))
