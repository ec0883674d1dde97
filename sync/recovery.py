"""Recovery of the store's own past before anything new is published (CONTRACT.md 1.1).

A database restored from last night's backup, or a brand-new box for an existing store id,
is behind its own history: the online store already holds up-events with numbers this
database is about to hand out again, and the day's sales are gone from the store's own
history and ledger (RELIABILITY.md #11). So, once per start and before the first publish
(and before the retained status, which would announce the old, lower number):

1. it reads its own retained status (``last_sequence``) and the online store's copy of its
   up-stream (``GET …/streams/stores/{id}/up/events``) after the last event it knows was
   acknowledged;
2. each event there that it no longer has is applied again locally (``RESTORERS``: the sale
   in the history, its ledger entries, redemptions, enrolments, pickups…) and kept in the
   outbox as sent, at its number;
3. an unsent local event whose number the online store already holds with another id is
   renumbered after the highest known number (its id stays: it is the same event); a number
   is never used twice with different ids;
4. the stream's counter moves past the highest number seen anywhere.

``passerelle db restore`` sets ``recovery_pending``: such a box publishes nothing until the
up-stream was read. Without that flag, and with the retained status not ahead, an
unreachable backfill endpoint does not hold the store's sync back (a logged warning).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

from edge.config import Settings
from edge.customers import service as customers
from edge.loyalty import service as loyalty
from edge.offers import service as offers
from edge.store import db, state
from sync import contract
from sync.backfill import Backfill, BackfillError

log = logging.getLogger("passerelle.sync.recovery")

PENDING_KEY = "recovery_pending"  # set by `passerelle db restore`
DONE_KEY = "up_recovered"  # what the last recovery found, for `passerelle sync status`
RETAINED_WAIT = 0.5  # after the SUBACK of our own status topic: its retained copy comes now
RETRY_MAX = 60.0

Restorer = Callable[[sqlite3.Connection, Mapping[str, Any], str], None]


def _sale(conn: sqlite3.Connection, d: Mapping[str, Any], store_id: str) -> None:
    lines = list(d["lines"])
    # The purchase may be back already (the chain's echo of our own sale, a down-event the
    # applier may apply before this recovery runs); the till's own record is ours to restore.
    customers.insert_purchase(
        conn,
        {
            "purchase_id": d["sale_id"],
            "customer_id": d.get("customer_id"),
            "channel": "store",
            "store_id": store_id,
            "occurred_at": d["occurred_at"],
            "currency": d["currency"],
            "total": d["total"],
            "points_earned": d.get("points_earned", 0),
            "lines": lines,
        },
        origin="local",
    )
    subtotal = sum(int(ln["qty"]) * int(ln["unit_price"]) for ln in lines)
    payments = d.get("payments") or []
    conn.execute(
        "INSERT OR IGNORE INTO sales (sale_id, terminal_id, cashier_id, customer_id, occurred_at, "
        "currency, subtotal, discount, points_value, total, points_earned, points_redeemed, "
        "payment_method) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            d["sale_id"],
            d["terminal_id"],
            d.get("cashier_id"),
            d.get("customer_id"),
            d["occurred_at"],
            d["currency"],
            subtotal,
            d.get("discount", 0),
            max(0, subtotal - int(d.get("discount", 0)) - int(d["total"])),
            d["total"],
            d.get("points_earned", 0),
            d.get("points_redeemed", 0),
            payments[0]["method"] if payments else "card",
        ),
    )


def _entry(conn: sqlite3.Connection, d: Mapping[str, Any], store_id: str) -> None:
    loyalty.insert_entry(conn, {**d, "store_id": d.get("store_id") or store_id}, origin="local")


def _redeemed(conn: sqlite3.Connection, d: Mapping[str, Any], store_id: str) -> None:
    offers.insert_redemption(conn, {**d, "store_id": d.get("store_id") or store_id}, "local")


def _enrolled(conn: sqlite3.Connection, d: Mapping[str, Any], store_id: str) -> None:
    now = db.now_iso()
    conn.execute(
        "INSERT OR IGNORE INTO customers (customer_id, loyalty_card, first_name, last_name, "
        "email, phone, locale, origin, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            d["customer_id"],
            d.get("loyalty_card"),
            d.get("first_name"),
            d.get("last_name"),
            d.get("email"),
            d.get("phone"),
            d.get("locale") or "fr",
            "store",
            now,
            now,
        ),
    )


def _pickup(conn: sqlite3.Connection, d: Mapping[str, Any], store_id: str) -> None:
    conn.execute(
        "UPDATE pickup_orders SET status = ?, updated_at = ? WHERE order_id = ?",
        (d["status"], d["occurred_at"], d["order_id"]),
    )


# Up-event type -> how the store takes its own event back into its history. Areas that add
# up-events (returns, stock) add theirs here; an event without one is kept in the outbox only.
RESTORERS: dict[str, Restorer] = {
    "sale.recorded": _sale,
    "loyalty.entry": _entry,
    "coupon.redeemed": _redeemed,
    "customer.enrolled": _enrolled,
    "pickup.updated": _pickup,
}


def up_stream(store_id: str) -> str:
    """The backfill endpoint's name of a store's own up-stream (contract 1.1)."""
    return contract.stream_of(contract.up_source(store_id)) + "/up"


def acked_prefix(conn: sqlite3.Connection, source: str) -> int:
    """The last sequence up to which every up-event was acknowledged by the broker."""
    row = conn.execute(
        "SELECT MIN(sequence) FROM outbox WHERE source = ? AND sent_at IS NULL", (source,)
    ).fetchone()
    if row[0] is not None:
        return int(row[0]) - 1
    row = conn.execute(
        "SELECT last_sequence FROM outbox_streams WHERE source = ?", (source,)
    ).fetchone()
    return int(row[0]) if row else 0


def reconcile(
    conn: sqlite3.Connection,
    store_id: str,
    remote: list[dict[str, Any]],
    retained_last: int = 0,
) -> dict[str, int]:
    """Bring the outbox and the store's history in line with what the online store holds.

    ``remote``: the online store's copy of our up-stream after our acknowledged prefix;
    ``retained_last``: the ``last_sequence`` of our own retained status. The caller holds
    ``db.write(conn)``. Returns counts (restored, renumbered, confirmed) for the log.
    """
    source = contract.up_source(store_id)
    restored = renumbered = confirmed = 0
    remote = sorted(
        (e for e in remote if e.get("source") == source and contract.sequence_of(e)),
        key=lambda e: contract.sequence_of(e) or 0,
    )
    moved: list[sqlite3.Row] = []
    stamp = db.now_iso()
    for ev in remote:
        seq = contract.sequence_of(ev) or 0
        local = conn.execute(
            "SELECT * FROM outbox WHERE source = ? AND sequence = ?", (source, seq)
        ).fetchone()
        if local is not None and local["id"] == ev["id"]:
            if local["sent_at"] is None:
                conn.execute(
                    "UPDATE outbox SET sent_at = ? WHERE source = ? AND sequence = ?",
                    (stamp, source, seq),
                )
            confirmed += 1
            continue
        if local is not None:  # our number, their id: ours must move
            moved.append(local)
            conn.execute("DELETE FROM outbox WHERE source = ? AND sequence = ?", (source, seq))
        known = conn.execute("SELECT 1 FROM outbox WHERE id = ?", (ev["id"],)).fetchone()
        if known is not None:
            continue  # we have it under another number (moved earlier): nothing to restore
        restorer = RESTORERS.get(str(ev.get("type")))
        raw = ev.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if restorer is not None:
            restorer(conn, data, store_id)
        conn.execute(
            "INSERT INTO outbox (source, sequence, id, type, time, data, created_at, sent_at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (
                source,
                seq,
                ev["id"],
                ev["type"],
                ev.get("time") or stamp,
                json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                stamp,
                stamp,
            ),
        )
        restored += 1
    highest = max(
        [retained_last, *(contract.sequence_of(e) or 0 for e in remote)],
    )
    row = conn.execute("SELECT MAX(sequence) FROM outbox WHERE source = ?", (source,)).fetchone()
    counter = conn.execute(
        "SELECT last_sequence FROM outbox_streams WHERE source = ?", (source,)
    ).fetchone()
    last = max(highest, int(row[0] or 0), int(counter[0]) if counter else 0)
    if retained_last > acked_prefix(conn, source) and not remote:
        # No copy of the up-stream to compare with (no endpoint): whatever we hold unsent at a
        # number the online store announced may collide; move it past that number.
        moved += conn.execute(
            "SELECT * FROM outbox WHERE source = ? AND sequence <= ? AND sent_at IS NULL "
            "ORDER BY sequence",
            (source, retained_last),
        ).fetchall()
        conn.execute(
            "DELETE FROM outbox WHERE source = ? AND sequence <= ? AND sent_at IS NULL",
            (source, retained_last),
        )
    for row in sorted(moved, key=lambda r: r["sequence"]):
        last += 1
        conn.execute(
            "INSERT INTO outbox (source, sequence, id, type, time, data, created_at, attempts) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (
                source,
                last,
                row["id"],
                row["type"],
                row["time"],
                row["data"],
                row["created_at"],
                row["attempts"],
            ),
        )
        renumbered += 1
    conn.execute(
        "INSERT INTO outbox_streams (source, last_sequence) VALUES (?, ?) "
        "ON CONFLICT (source) DO UPDATE SET "
        "last_sequence = MAX(last_sequence, excluded.last_sequence)",
        (source, last),
    )
    return {"restored": restored, "renumbered": renumbered, "confirmed": confirmed}


class Recovery:
    """The sync worker's start-up gate: ``done`` once the store's own past is known."""

    def __init__(self, settings: Settings, conn: sqlite3.Connection) -> None:
        self.settings = settings
        self.conn = conn
        self.source = contract.up_source(settings.store_id)
        self.done = False
        self.retained_last: int | None = None  # our own retained status, once read
        self.status_answered_at: float | None = None  # SUBACK of our status topic (or refusal)
        self._next_try = 0.0
        self._failures = 0

    def note_retained(self, payload: bytes | bytearray) -> None:
        """Our own retained status arrived (network thread: no database work)."""
        try:
            status = contract.parse(payload)
            contract.validate_status(status)
        except contract.ContractError as exc:
            log.warning("our own retained status is unusable: %s", exc)
            return
        self.retained_last = max(self.retained_last or 0, int(status["last_sequence"]))

    def step(self, connected: bool) -> bool:
        """Try once (from the worker's own thread); True when done."""
        if self.done:
            return True
        now = time.monotonic()
        if not connected or now < self._next_try:
            return False
        if self.retained_last is None and (
            self.status_answered_at is None or now - self.status_answered_at < RETAINED_WAIT
        ):
            return False  # give our retained status its moment to arrive
        conn = self.conn
        pending = state.get(conn, PENDING_KEY) is not None
        after = acked_prefix(conn, self.source)
        retained = self.retained_last or 0
        remote: list[dict[str, Any]] = []
        if self.settings.online_store_url:
            try:
                remote = self._fetch(after)
            except BackfillError as exc:
                if pending or retained > after:
                    self._failures += 1
                    delay = min(RETRY_MAX, 2.0**self._failures)
                    self._next_try = now + delay
                    log.error(
                        "this box is behind its own up-stream (restored or replaced) and the "
                        "online store's copy cannot be read (%s): nothing is published until "
                        "it can; next try in %.0f s",
                        exc,
                        delay,
                    )
                    return False
                log.warning("own up-stream not checked (%s); going on", exc)
        elif pending:
            log.warning(
                "restored database and no online_store_url: the day's events after "
                "the backup cannot be taken back; numbering after %d",
                retained,
            )
        with db.write(conn):
            counts = reconcile(conn, self.settings.store_id, remote, retained)
            conn.execute("DELETE FROM sync_state WHERE key = ?", (PENDING_KEY,))
            state.put(conn, DONE_KEY, {**counts, "at": db.now_iso(), "retained": retained})
        if counts["restored"] or counts["renumbered"]:
            log.warning(
                "recovered the store's own past: %(restored)d events taken back from the online "
                "store, %(renumbered)d of ours renumbered",
                counts,
            )
        self.done = True
        return True

    def _fetch(self, after: int) -> list[dict[str, Any]]:
        assert self.settings.online_store_url
        backfill = Backfill(
            self.settings.online_store_url,
            self.settings.online_store_token,
            page_size=self.settings.backfill_page_size,
            timeout=self.settings.backfill_timeout,
            retries=1,
        )
        try:
            events: list[dict[str, Any]] = []
            for page in backfill.pages(
                self.source, after, stream=up_stream(self.settings.store_id)
            ):
                events.extend(e for e in page if isinstance(e, dict))
            return events
        finally:
            backfill.close()
