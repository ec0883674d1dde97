"""Returns, voids and exchanges at the till: each one write transaction of its own.

``record_return`` is the step (the caller holds the transaction): it reads what was bought
and what every channel already took back *inside* the write lock (``BEGIN IMMEDIATE``), so
two tills returning the same goods at once are serialised and the second is refused. It
writes the return, its lines and refunds, the ledger entries that take back the points
earned on the goods and give back the points spent on them, the ``return.recorded`` and
``loyalty.entry`` up-events, the audit row and the return receipt, together.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, InvalidInput, NotFound
from edge.loyalty import service as loyalty
from edge.loyalty import views as ledger
from edge.printing import queue as print_queue
from edge.returns import views, vouchers
from edge.returns.rules import (
    KINDS,
    Bought,
    NewReturn,
    Planned,
    Refund,
    Voucher,
    check_reason,
    check_window,
    manager_required,
    merge_credit,
    needs_manager,
    plan,
    refunds,
    voucher_amount,
)
from edge.sales import service as sales
from edge.sales.rules import NewSale
from edge.staff import service as staff
from edge.stock import service as stock
from edge.store import audit, idempotency, outbox
from edge.store.db import now_iso, write
from edge.store.ids import new_id


@dataclass(frozen=True)
class ReturnContext:
    """Who takes the goods back, where, under which limits."""

    settings: Settings
    actor: Actor
    manager: Actor | None = None


def approve(conn: sqlite3.Connection, cmd: NewReturn) -> Actor | None:
    """The manager whose PIN came with the request (checked before the write: the slow hash
    must not hold the lock), or None. A wrong PIN is a 403 at once."""
    if not cmd.manager_id:
        return None
    who = staff.check_pin(conn, cmd.manager_id, cmd.manager_pin or "")
    if who is None or not (who.is_manager or who.role == "admin"):
        raise manager_required("wrong manager id or PIN")
    return who


def _load(conn: sqlite3.Connection, cmd: NewReturn, currency: str) -> Bought:
    if cmd.original_kind not in KINDS:
        raise InvalidInput("original.kind must be sale or order", field="original.kind")
    b = views.bought(
        conn, views.find_purchase(conn, cmd.original_kind, cmd.original_id), cmd.original_kind
    )
    if b.currency != currency:
        raise InvalidInput(f"that purchase is in {b.currency}", field="original.id")
    return b


def record_return(
    conn: sqlite3.Connection,
    cmd: NewReturn,
    ctx: ReturnContext,
    *,
    kind: str = "return",
    exchange_of: str | None = None,
    return_id: str | None = None,
    forced_refunds: list[Refund] | None = None,
) -> dict[str, Any]:
    """Write one return; the caller holds the write transaction."""
    s = ctx.settings
    reason = check_reason(cmd.reason)
    b = _load(conn, cmd, s.currency)
    if kind != "void":
        check_window(b.occurred_at, datetime.now(UTC), s.return_days)
    planned = plan(b, cmd.lines, views.returned(conn, b))
    total = sum(p.refund for p in planned)
    if kind == "void":
        if ctx.manager is None:
            raise manager_required("a void")
    elif needs_manager(total, above=s.return_manager_above, receipt=cmd.receipt) and (
        ctx.manager is None
    ):
        raise manager_required(
            "a return without a receipt"
            if not cmd.receipt
            else f"a refund above {s.return_manager_above}"
        )
    paid_back = merge_credit(
        forced_refunds
        or refunds(
            cmd.refunds,
            total,
            [(cmd.refund_method, total)] if cmd.refund_method else list(b.payments),
        )
    )
    rid = return_id or new_id()
    stamp = now_iso()
    credit = voucher_amount(paid_back)
    voucher = (
        vouchers.issue(
            conn,
            return_id=rid,
            amount=credit,
            customer_id=b.customer_id,
            stamp=stamp,
            valid_days=s.store_credit_days,
        )
        if credit
        else None
    )
    reversed_ = sum(p.points_reversed for p in planned) if b.customer_id else 0
    restored = sum(p.points_restored for p in planned) if b.customer_id else 0
    cashier = ctx.actor.staff_id or ctx.actor.name
    approved_by = ctx.manager.staff_id if ctx.manager else None
    conn.execute(
        "INSERT INTO returns (return_id, kind, original_kind, original_id, purchase_id, "
        "store_id, terminal_id, cashier_id, customer_id, occurred_at, currency, total_refunded, "
        "points_reversed, points_restored, reason, approved_by, exchange_of, origin, recorded_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'local',?)",
        (
            rid, kind, b.kind, b.original_id, b.purchase_id, s.store_id, cmd.terminal_id,
            cashier, b.customer_id, stamp, b.currency, total, reversed_, restored, reason,
            approved_by, exchange_of, stamp,
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO return_lines (return_id, line_no, sku, name, qty, refund) "
        "VALUES (?,?,?,?,?,?)",
        [(rid, n, p.sku, p.name, p.qty, p.refund) for n, p in enumerate(planned, start=1)],
    )
    sent = [r for r in paid_back if r.amount]
    conn.executemany(
        "INSERT INTO return_refunds (return_id, n, method, amount, coupon_id) VALUES (?,?,?,?,?)",
        [(rid, n, r.method, r.amount, _voucher_of(r, voucher)) for n, r in enumerate(sent, 1)],
    )
    outbox.append(
        conn,
        s.up_source,
        "return.recorded",
        {
            "return_id": rid,
            "terminal_id": cmd.terminal_id,
            "cashier_id": cashier,
            "customer_id": b.customer_id,
            "original": {"kind": b.kind, "id": b.original_id},
            "occurred_at": stamp,
            "currency": b.currency,
            "lines": [p.as_dict() for p in planned],
            "total_refunded": total,
            "refunds": [_refund_entry(r, voucher) for r in sent],
            "points_reversed": reversed_,
            "points_restored": restored,
            "reason": reason,
            "exchange_of": exchange_of,
        },
        time=stamp,
    )
    _ledger(conn, b, rid, reversed_, restored, s, stamp)
    if cmd.restock and s.stock_on_sale:  # saleable goods back on the shelf (stock.changed)
        stock.returned(
            conn,
            [(p.sku, p.qty) for p in planned],
            return_id=rid,
            actor=cashier,
            source=s.up_source,
        )
    audit.record(
        conn,
        actor=cashier,
        role=ctx.actor.role,
        action="sale.void" if kind == "void" else "return.record",
        target=rid,
        detail={
            "original": {"kind": b.kind, "id": b.original_id},
            "terminal_id": cmd.terminal_id,
            "total_refunded": total,
            "reason": reason,
            "approved_by": approved_by,
            "receipt": cmd.receipt,
            "restock": cmd.restock,
            "exchange_of": exchange_of,
        },
    )
    body = views.get_return(conn, rid)
    body["points_balance"] = ledger.balance(conn, b.customer_id) if b.customer_id else None
    _print(conn, body, planned, ctx, kind, paid_back, voucher)
    return body


def _voucher_of(r: Refund, voucher: Voucher | None) -> str | None:
    """The voucher a refund entry is paid in: the one store credit not spent at once."""
    if voucher is None or r.method != "store_credit" or r.spent:
        return None
    return voucher.coupon_id


def _refund_entry(r: Refund, voucher: Voucher | None) -> dict[str, Any]:
    """A refund of ``return.recorded``; the store credit carries its voucher (1.1, optional:
    older online stores ignore it)."""
    entry: dict[str, Any] = {"method": r.method, "amount": r.amount}
    if voucher is not None and _voucher_of(r, voucher):
        entry["voucher"] = voucher.as_dict()
    return entry


def _ledger(
    conn: sqlite3.Connection,
    b: Bought,
    rid: str,
    reversed_: int,
    restored: int,
    s: Settings,
    stamp: str,
) -> None:
    """Points earned on what came back are taken back, points spent on it given back: two
    entries of the append-only ledger (never an edit), travelling both ways. A balance that
    goes below zero is flagged by ``insert_entry`` like an offline double spend."""
    if not b.customer_id:
        return
    for points in (-reversed_, restored):
        if not points:
            continue
        entry = {
            "entry_id": new_id(),
            "customer_id": b.customer_id,
            "points": points,
            "reason": "adjust",
            "ref": rid,
            "channel": "store",
            "store_id": s.store_id,
            "occurred_at": stamp,
        }
        loyalty.insert_entry(conn, entry, origin="local")
        outbox.append(conn, s.up_source, "loyalty.entry", entry, time=stamp)


def _print(
    conn: sqlite3.Connection,
    body: dict[str, Any],
    planned: list[Planned],
    ctx: ReturnContext,
    kind: str,
    paid_back: list[Refund],
    voucher: Voucher | None,
) -> None:
    data = {
        k: body[k]
        for k in (
            "return_id", "occurred_at", "currency", "lines", "total_refunded", "refunds",
            "points_reversed", "points_restored", "points_balance", "reason", "exchange_of",
        )
    }  # fmt: skip
    data.update(
        store_name=ctx.settings.store_name,
        original_id=body["original"]["id"],
        void=kind == "void",
        approved_by=ctx.manager.name if ctx.manager else None,
    )
    if voucher is not None:  # the code, its QR code and its end date, to keep
        data.update(
            voucher_code=voucher.code,
            voucher_amount=voucher.amount,
            voucher_valid_until=voucher.valid_until,
        )
    print_queue.enqueue(
        conn,
        document="return_receipt",
        data=data,
        ref=body["return_id"],
        open_drawer=any(r.method == "cash" for r in paid_back),
    )


# -- the operations -------------------------------------------------------------------------


def record(
    conn: sqlite3.Connection, cmd: NewReturn, ctx: ReturnContext, *, scope: str, key: str
) -> tuple[dict[str, Any], bool]:
    """A return once per idempotency key, in one write transaction of its own."""
    ctx = replace(ctx, manager=approve(conn, cmd))
    return idempotency.once(
        conn,
        scope=scope,
        key=key,
        body_hash=idempotency.request_hash(cmd.as_dict()),
        produce=lambda: record_return(conn, cmd, ctx),
    )


def void(
    conn: sqlite3.Connection, sale_id: str, cmd: NewReturn, ctx: ReturnContext
) -> dict[str, Any]:
    """Void the last sale of a terminal, within ``void_minutes``, with a manager's PIN: a full
    return of it by its own tenders. Nothing is deleted."""
    ctx = replace(ctx, manager=approve(conn, cmd))
    with write(conn):
        sale = conn.execute("SELECT * FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
        if sale is None:
            raise NotFound(f"no sale {sale_id!r} at this store", field="sale_id")
        if sale["terminal_id"] != cmd.terminal_id:
            raise Conflict(
                f"sale {sale_id} was made at till {sale['terminal_id']}: only it may void it",
                field="terminal_id",
                code="not_this_terminal",
            )
        later = conn.execute(
            "SELECT 1 FROM sales WHERE terminal_id = ? AND (occurred_at, sale_id) > (?, ?)",
            (sale["terminal_id"], sale["occurred_at"], sale_id),
        ).fetchone()
        if later is not None:
            raise Conflict(
                "only the last sale of a till may be voided: return it instead",
                field="sale_id",
                code="not_last_sale",
            )
        at = datetime.fromisoformat(sale["occurred_at"].replace("Z", "+00:00"))
        minutes = ctx.settings.void_minutes
        if datetime.now(UTC) > at + timedelta(minutes=minutes):
            raise Conflict(
                f"a sale may be voided within {minutes} minutes: return it instead",
                field="sale_id",
                code="void_too_late",
            )
        if conn.execute("SELECT 1 FROM returns WHERE purchase_id = ?", (sale_id,)).fetchone():
            raise Conflict(
                "part of this sale was returned already: return the rest instead",
                field="sale_id",
                code="already_returned",
            )
        b = _load(
            conn, replace(cmd, original_kind="sale", original_id=sale_id), ctx.settings.currency
        )
        whole = replace(cmd, original_kind="sale", original_id=sale_id, lines=(), refunds=())
        return record_return(
            conn,
            whole,
            ctx,
            kind="void",
            forced_refunds=[Refund(m, a) for m, a in b.payments],
        )


def exchange(
    conn: sqlite3.Connection,
    cmd: NewReturn,
    sale: NewSale,
    ctx: ReturnContext,
    sale_ctx: sales.SaleContext,
    *,
    scope: str | None = None,
    key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """A return and a new sale in one transaction, naming each other: what came back pays
    for the new goods as store credit; the shopper pays, or gets back, only the difference.
    With an idempotency ``key``, a retry gets the first answer (and never a second
    exchange). Returns the answer and whether it was a replay."""
    ctx = replace(ctx, manager=approve(conn, cmd))

    def step() -> dict[str, Any]:
        # Plan first (read only) to know the credit; then the sale, then the return itself.
        b = _load(conn, cmd, ctx.settings.currency)
        credit = sum(p.refund for p in plan(b, cmd.lines, views.returned(conn, b)))
        rid = new_id()
        new = sales.record_sale(conn, replace(sale, credit=credit, exchange_of=rid), sale_ctx)
        used = min(credit, new["total"])
        back = [Refund("store_credit", used, spent=True)] if used else []
        if credit > used:
            back += refunds(
                [],
                credit - used,
                [(cmd.refund_method, credit - used)] if cmd.refund_method else list(b.payments),
            )
        ret = record_return(
            conn,
            cmd,
            ctx,
            kind="exchange",
            exchange_of=new["sale_id"],
            return_id=rid,
            forced_refunds=back,
        )
        return {"return": ret, "sale": new, "difference": new["total"] - credit}

    if scope is None or key is None:
        with write(conn):
            return step(), False
    return idempotency.once(
        conn,
        scope=scope,
        key=key,
        body_hash=idempotency.request_hash({"return": cmd.as_dict(), "sale": sale.as_dict()}),
        produce=step,
        fault_prefix="exchange",
    )
