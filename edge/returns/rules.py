"""The returns area's pure rules: what each bought line was really paid, what a return of
some of its units refunds, which points go back, and when a manager must approve.

No database, no web. The service loads a purchase of the one history (a store sale with its
coupon shares and tenders, another store's sale, or a web order) into a ``Bought``, asks
``plan`` what the requested return is worth, and records it.

Shares are cumulative, so that returning a line unit by unit refunds, over all the returns,
exactly what returning it at once would: the k-th..n-th units of a line paid ``p`` for ``q``
units are worth ``p*n//q - p*(k-1)//q``. Every cent and every point is given back once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge.errors import Forbidden, InvalidInput

REFUND_METHODS = ("card", "cash", "voucher", "store_credit", "other")
KINDS = ("sale", "order")


@dataclass(frozen=True)
class BoughtLine:
    """One line of the original purchase; ``coupon_share`` is what its coupons took off."""

    sku: str
    name: str
    qty: int
    unit_price: int
    coupon_share: int = 0


@dataclass(frozen=True)
class Bought:
    """A purchase of the one history, as a return sees it."""

    purchase_id: str
    kind: str
    original_id: str
    customer_id: str | None
    occurred_at: str
    currency: str
    lines: Sequence[BoughtLine]
    total: int
    points_earned: int = 0
    points_redeemed: int = 0
    payments: Sequence[tuple[str, int]] = field(default_factory=tuple)
    ours: bool = False


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    qty: int


@dataclass(frozen=True)
class Refund:
    """One way the money goes back. ``spent``: store credit used at once by the new sale of
    an exchange, so no voucher is made for it."""

    method: str
    amount: int
    spent: bool = False


@dataclass(frozen=True)
class NewReturn:
    """A return as the till asks for it; no ``lines``: everything still returnable."""

    terminal_id: str
    original_kind: str
    original_id: str
    reason: str
    lines: Sequence[ReturnLine] = field(default_factory=tuple)
    refunds: Sequence[Refund] = field(default_factory=tuple)
    refund_method: str | None = None
    receipt: bool = True
    manager_id: str | None = None
    manager_pin: str | None = None
    restock: bool = True
    """saleable goods go back on the shelf; damaged ones (False) do not"""

    def as_dict(self) -> dict[str, object]:
        """For the idempotency hash: the request without the PIN."""
        return {
            "terminal_id": self.terminal_id,
            "original": [self.original_kind, self.original_id],
            "reason": self.reason,
            "lines": [[ln.sku, ln.qty] for ln in self.lines],
            "refunds": [[r.method, r.amount] for r in self.refunds],
            "refund_method": self.refund_method,
            "receipt": self.receipt,
            "manager_id": self.manager_id,
            "restock": self.restock,
        }


@dataclass(frozen=True)
class Planned:
    """One returned SKU: units, the money refunded, the points taken back and given back."""

    sku: str
    name: str
    qty: int
    refund: int
    points_reversed: int
    points_restored: int

    def as_dict(self) -> dict[str, object]:
        return {"sku": self.sku, "name": self.name, "qty": self.qty, "refund": self.refund}


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split over ``weights`` by the largest remainder (parts sum to ``total``)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    rest = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


@dataclass(frozen=True)
class _Sku:
    name: str
    qty: int
    paid: int
    earned: int
    redeemed: int


def per_sku(bought: Bought) -> dict[str, _Sku]:
    """What each SKU of the purchase was paid (after coupons and points), earned and spent.

    Known coupon shares come off first; whatever else the purchase total is below the lines
    (points redeemed, a discount whose split is unknown, a web coupon) is spread over what
    is left, so the SKUs' ``paid`` sum to the purchase total exactly."""
    gross = [ln.qty * ln.unit_price for ln in bought.lines]
    net = [max(0, g - ln.coupon_share) for g, ln in zip(gross, bought.lines, strict=True)]
    rest = sum(net) - bought.total
    taken = spread(rest, net) if rest > 0 else [0] * len(net)
    paid = [n - t for n, t in zip(net, taken, strict=True)]
    earned = spread(bought.points_earned, paid)
    redeemed = spread(bought.points_redeemed, net)
    out: dict[str, _Sku] = {}
    for i, ln in enumerate(bought.lines):
        prev = out.get(ln.sku)
        out[ln.sku] = _Sku(
            ln.name,
            ln.qty + (prev.qty if prev else 0),
            paid[i] + (prev.paid if prev else 0),
            earned[i] + (prev.earned if prev else 0),
            redeemed[i] + (prev.redeemed if prev else 0),
        )
    return out


def share(amount: int, qty: int, already: int, units: int) -> int:
    """The part of ``amount`` (for ``qty`` units) that units already+1 … already+units hold."""
    return amount * (already + units) // qty - amount * already // qty


def plan(
    bought: Bought, requested: Sequence[ReturnLine], returned: Mapping[str, int]
) -> list[Planned]:
    """What a return of ``requested`` (none: all that is left) refunds, never more than was
    bought minus what ``returned`` (every channel's returns so far) already took back."""
    skus = per_sku(bought)
    if not requested:
        requested = [
            ReturnLine(sku, s.qty - returned.get(sku, 0))
            for sku, s in skus.items()
            if s.qty > returned.get(sku, 0)
        ]
        if not requested:
            raise InvalidInput(
                "everything bought was already returned", field="lines", code="nothing_to_return"
            )
    seen: set[str] = set()
    out = []
    for i, ln in enumerate(requested):
        if ln.qty <= 0:
            raise InvalidInput("a quantity must be 1 or more", field=f"lines[{i}].qty")
        s = skus.get(ln.sku)
        if s is None:
            raise InvalidInput(
                f"{ln.sku!r} is not in this purchase",
                field=f"lines[{i}].sku",
                code="not_in_purchase",
            )
        if ln.sku in seen:
            raise InvalidInput(f"{ln.sku!r} is listed twice", field=f"lines[{i}].sku")
        seen.add(ln.sku)
        already = returned.get(ln.sku, 0)
        if ln.qty > s.qty - already:
            raise InvalidInput(
                f"{ln.qty} x {ln.sku} cannot come back: {s.qty} bought, {already} already returned",
                field=f"lines[{i}].qty",
                code="more_than_bought",
            )
        out.append(
            Planned(
                ln.sku,
                s.name,
                ln.qty,
                share(s.paid, s.qty, already, ln.qty),
                share(s.earned, s.qty, already, ln.qty),
                share(s.redeemed, s.qty, already, ln.qty),
            )
        )
    return out


def check_window(occurred_at: str, now: datetime, days: int) -> None:
    """Refuse a return after the window printed on every receipt."""
    bought = datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    closed = bought + timedelta(days=days)
    if now > closed:
        raise InvalidInput(
            f"the return window of {days} days closed on {closed:%Y-%m-%d}",
            field="original.id",
            code="return_window_expired",
        )


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not 1 <= len(text) <= 200:
        raise InvalidInput("say why the goods come back (1 to 200 characters)", field="reason")
    return text


def needs_manager(total: int, *, above: int, receipt: bool) -> bool:
    """A manager's PIN is needed above the configured amount, or without a receipt."""
    return total > above or not receipt


def manager_required(why: str) -> Forbidden:
    return Forbidden(
        f"{why}: a manager must approve with their PIN",
        field="manager_pin",
        code="manager_required",
    )


def refunds(
    requested: Sequence[Refund], total: int, default: Sequence[tuple[str, int]]
) -> list[Refund]:
    """How the money goes back: as asked (summing to ``total``), else by the original tenders
    (the largest first, none over what it paid), the rest by card."""
    if requested:
        for i, r in enumerate(requested):
            if r.method not in REFUND_METHODS:
                raise InvalidInput(
                    f"method must be one of {', '.join(REFUND_METHODS)}",
                    field=f"refunds[{i}].method",
                )
            if r.amount <= 0:
                raise InvalidInput("a refund must be positive", field=f"refunds[{i}].amount")
        if sum(r.amount for r in requested) != total:
            raise InvalidInput(
                f"the refunds sum to {sum(r.amount for r in requested)} but {total} is due",
                field="refunds",
                code="refunds_mismatch",
            )
        return list(requested)
    out: list[Refund] = []
    left = total
    for method, amount in sorted(default, key=lambda p: -p[1]):
        if left <= 0:
            break
        part = min(amount, left)
        out.append(Refund(method, part))
        left -= part
    if left > 0:
        out.append(Refund("card", left))
    merged: dict[str, int] = {}
    for r in out:
        merged[r.method] = merged.get(r.method, 0) + r.amount
    return [Refund(m, a) for m, a in merged.items()]


# -- store-credit vouchers ------------------------------------------------------------------

VOUCHER_PREFIX = "AV-"
VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 signs, no 0/O or 1/I: typed too
VOUCHER_LENGTH = 10  # 50 random bits: not guessable, short enough to type


@dataclass(frozen=True)
class Voucher:
    """A store-credit voucher: a coupon code of the contract (an ``amount`` offer of its own,
    one use) whose ids follow from the return, so that the online store, which alone
    publishes ``coupon.issued``, makes the very same coupon and never a second one."""

    code: str
    coupon_id: str
    offer_id: str
    amount: int
    valid_until: str

    def as_dict(self) -> dict[str, str]:
        """What ``return.recorded`` carries in its store-credit refund."""
        return {
            "code": self.code,
            "coupon_id": self.coupon_id,
            "offer_id": self.offer_id,
            "valid_until": self.valid_until,
        }


def voucher_id(return_id: str) -> str:
    """The coupon's and the offer's id: one per return, the same on every side."""
    return f"sc-{return_id}"


def voucher_code() -> str:
    """A random, unguessable code (``secrets``): the code is the bearer's money."""
    return VOUCHER_PREFIX + "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))


def voucher_amount(paid_back: Sequence[Refund]) -> int:
    """What the voucher is worth: the store credit given back and not spent at once."""
    return sum(r.amount for r in paid_back if r.method == "store_credit" and not r.spent)


def merge_credit(paid_back: Sequence[Refund]) -> list[Refund]:
    """One store-credit entry (one voucher) for all the credit not spent at once, where the
    first such entry was; every other refund as it was."""
    credit = voucher_amount(paid_back)
    out: list[Refund] = []
    for r in paid_back:
        if r.method == "store_credit" and not r.spent:
            if credit:
                out.append(Refund("store_credit", credit))
                credit = 0
            continue
        out.append(r)
    return out
