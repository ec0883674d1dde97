"""The online store's programmatic API: what its web pages, the tests and the benchmarks call.

Every change runs in its own short transaction on a connection of its own (web threads come
and go; the worker keeps its own connection), then wakes the worker, which publishes what the
change appended to the streams. Reads open a connection for the one call.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from online_store import checkout, coupons, db, orders, returns, shop, streams
from sync import contract


class ShopApi:
    """Mixed into ``OnlineStore``: the shop's calls, on the store's database and wake-up queue."""

    db_path: str
    stores: list[str]
    _queue: queue.Queue[tuple[str, Any]]

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection for one call (web threads come and go)."""
        conn = db.connect(self.db_path)
        try:
            yield conn
        finally:
            conn.close()

    def _change(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one shop change in a write transaction, then wake the publisher."""
        with self.connection() as conn, db.write(conn):
            result = fn(conn, *args, **kwargs)
        self._queue.put(("wake", None))
        return result

    def upsert_customer(self, customer_id: str | None = None, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._change(shop.upsert_customer, fields, customer_id)
        return result

    def place_order(
        self,
        customer_id: str,
        store_id: str,
        lines: dict[str, int],
        *,
        paid: bool = True,
        coupon_code: str | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._change(
            checkout.place_order,
            customer_id,
            store_id,
            lines,
            stores=self.stores,
            paid=paid,
            coupon_code=coupon_code,
        )
        return result

    def cancel_order(self, order_id: str, reason: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self._change(checkout.cancel_order, order_id, reason)
        return result

    def record_web_purchase(
        self, customer_id: str, lines: dict[str, int], coupon_code: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._change(
            checkout.record_web_purchase, customer_id, lines, coupon_code
        )
        return result

    def return_order(
        self, ident: str, lines: dict[str, int], reason: str = "returned by post"
    ) -> dict[str, Any]:
        """A web return (by post) of a web order or purchase (issue 16)."""
        result: dict[str, Any] = self._change(returns.return_order, ident, lines, reason)
        return result

    def create_offer(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._change(lambda conn: coupons.create_offer(conn, **fields))
        return result

    def issue_coupon(self, offer_id: str, customer_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._change(coupons.issue_coupon, offer_id, customer_id)
        return result

    def publish(
        self, stream: str, type_: str, data: dict[str, Any], *, deliver: bool = True
    ) -> dict[str, Any]:
        """Append any event to ``chain`` or ``stores/{id}`` (checked against the contract).

        ``deliver=False`` stores it as if sent and lost by the broker: only the backfill
        endpoint (or the next status) reveals it. Fault tests use this.
        """
        return self.publish_many(stream, [(type_, data)], deliver=deliver)[0]

    def publish_many(
        self,
        stream: str,
        events: list[tuple[str, dict[str, Any]]],
        *,
        deliver: bool = True,
        check: bool = True,
    ) -> list[dict[str, Any]]:
        """Several events in one transaction (bulk loads for tests and benchmarks).

        Each event is checked against the contract (about 1 ms each); ``check=False`` skips
        that for large loads whose events the caller built from one already-checked shape.
        """
        source = streams.source_of_stream(stream)
        out = []
        with self.connection() as conn, db.write(conn):
            for type_, data in events:
                event = streams.append(conn, source, type_, data, sent=not deliver)
                if check:
                    contract.validate(event)
                out.append(event)
        self._queue.put(("wake", None))
        return out

    def events(self, stream: str, after: int = 0, limit: int = 1_000_000) -> list[dict[str, Any]]:
        """The events of one of our streams, as the backfill endpoint serves them."""
        with self.connection() as conn:
            return streams.after(conn, streams.source_of_stream(stream), after, limit)

    def last_sequence(self, stream: str) -> int:
        with self.connection() as conn:
            return streams.last_sequence(conn, streams.source_of_stream(stream))

    def all_published(self) -> bool:
        """True once the broker acknowledged every stored event."""
        with self.connection() as conn:
            return not streams.unpublished(conn, 1)

    def purchases(self, customer_id: str) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return shop.purchases(conn, customer_id)

    def balance(self, customer_id: str) -> int:
        with self.connection() as conn:
            return shop.balance(conn, customer_id)

    def account(self, customer_id: str) -> dict[str, Any]:
        """A customer's account: who, web and store purchases, points, orders, coupons."""
        with self.connection() as conn:
            return {
                "customer": dict(shop.customer(conn, customer_id)),
                "purchases": shop.purchases(conn, customer_id),
                "balance": shop.balance(conn, customer_id),
                "orders": checkout.orders(conn, customer_id),
                "coupons": coupons.coupons(conn, customer_id),
                **_orders_and_returns(conn, customer_id),
            }

    def returns(self, customer_id: str) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return returns.returns_of(conn, customer_id)

    def up_sequence(self, store_id: str) -> int:
        """The last sequence of a store's up-stream applied without a hole."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT last_sequence FROM up_streams WHERE store_id = ?", (store_id,)
            ).fetchone()
            return int(row[0]) if row else 0

    def received(self, store_id: str) -> list[dict[str, Any]]:
        """The dedupe record of a store's up-stream: what was applied, in order."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM received WHERE source = ? ORDER BY sequence",
                (f"/stores/{store_id}",),
            ).fetchall()
            return [dict(r) for r in rows]

    def dead_letters(self) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM dead_letters ORDER BY id")]


def _orders_and_returns(conn: sqlite3.Connection, customer_id: str) -> dict[str, Any]:
    """The account's click-and-collect purchases (by purchase id) and returns (issue 16)."""
    ids = [p["purchase_id"] for p in shop.purchases(conn, customer_id)]
    return {
        "purchase_orders": orders.purchases_of_orders(conn, ids),
        "returns": returns.returns_of(conn, customer_id),
    }
