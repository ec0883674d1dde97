"""The rules of store stock, without a database: what each movement does to a SKU's figures,
how held orders share what is on the shelf, and what a stock file may contain.

- ``available`` = ``on_hand`` − ``reserved``. The shelf is the truth: a sale is never refused
  because the figures say zero, so ``on_hand`` may go negative, which flags the SKU for a
  count (``needs_count``).
- Each reason moves the figures one way only (``change``): a sale takes from the shelf, a
  reservation holds without taking, a collect takes what was held, a count sets the shelf.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Reason = Literal[
    "sale", "return", "receipt", "adjustment", "count", "reservation", "release", "collect"
]
REASONS: tuple[Reason, ...] = (
    "sale",
    "return",
    "receipt",
    "adjustment",
    "count",
    "reservation",
    "release",
    "collect",
)
# Why stock was adjusted by hand, and which way each may go.
ADJUSTMENT_SIGNS: dict[str, int] = {"damaged": -1, "stolen": -1, "found": 1, "correction": 0}
MAX_QTY = 1_000_000


class StockRuleError(ValueError):
    """A movement the rules refuse; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Level:
    """A SKU's figures at this store."""

    on_hand: int = 0
    reserved: int = 0
    version: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def needs_count(self) -> bool:
        """More left the shelf than the figures had: the figures are wrong, count it."""
        return self.on_hand < 0


@dataclass(frozen=True)
class Change:
    on_hand: int
    reserved: int

    @property
    def is_nothing(self) -> bool:
        return self.on_hand == 0 and self.reserved == 0


def change(reason: Reason, qty: int, level: Level, held: int | None = None) -> Change:
    """What one movement of ``qty`` units does. ``qty`` is a count of units (> 0) for every
    reason but ``adjustment`` (signed) and ``count`` (the figure found on the shelf). A
    collect takes ``qty`` off the shelf and ends the order's hold of ``held`` units (its
    ``qty`` when not given)."""
    if reason == "count":
        if not 0 <= qty <= MAX_QTY:
            raise StockRuleError(f"a count must be 0 to {MAX_QTY}", "qty")
        return Change(qty - level.on_hand, 0)
    if reason == "adjustment":
        if qty == 0 or abs(qty) > MAX_QTY:
            raise StockRuleError(f"an adjustment moves 1 to {MAX_QTY} units, up or down", "qty")
        return Change(qty, 0)
    if not 1 <= qty <= MAX_QTY:
        raise StockRuleError(f"a {reason} moves 1 to {MAX_QTY} units", "qty")
    moves = {
        "sale": Change(-qty, 0),
        "return": Change(qty, 0),
        "receipt": Change(qty, 0),
        "reservation": Change(0, qty),
        "release": Change(0, -min(qty, level.reserved)),
        "collect": Change(-qty, -min(qty if held is None else held, level.reserved)),
    }
    return moves[reason]


def apply(level: Level, delta: Change) -> Level:
    """The figures after a change; the version grows only when a figure moved."""
    if delta.is_nothing:
        return level
    return Level(level.on_hand + delta.on_hand, level.reserved + delta.reserved, level.version + 1)


def check_adjustment(qty: int, why: str) -> None:
    """Damaged and stolen goods leave the shelf, found goods come back; a correction either."""
    if why not in ADJUSTMENT_SIGNS:
        raise StockRuleError(f"reason must be one of {', '.join(ADJUSTMENT_SIGNS)}", "reason")
    sign = ADJUSTMENT_SIGNS[why]
    if qty == 0 or abs(qty) > MAX_QTY:
        raise StockRuleError(f"an adjustment moves 1 to {MAX_QTY} units, up or down", "qty")
    if sign and (qty > 0) != (sign > 0):
        way = "a negative" if sign < 0 else "a positive"
        raise StockRuleError(f"a '{why}' adjustment takes {way} qty", "qty")


def per_sku(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Lines of one cause summed per SKU (a basket may name a SKU twice): one movement each."""
    out: dict[str, int] = {}
    for sku, qty in lines:
        out[sku] = out.get(sku, 0) + qty
    return out


def allocate(on_hand: int, holds: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Share the shelf among held orders, first reserved first served: how many units of
    each order's ``qty`` the shelf covers. An order short of units shows "short: 1 of 2"."""
    left = max(on_hand, 0)
    out: dict[str, int] = {}
    for order_id, qty in holds:
        covered = min(qty, left)
        out[order_id] = covered
        left -= covered
    return out


# -- stock files (``passerelle stock import``) ------------------------------------------------

FileKind = Literal["count", "receipt"]
# The header says what the file is: shelf counts set on hand, a delivery note adds to it.
KIND_OF_COLUMN: dict[str, FileKind] = {"on_hand": "count", "received": "receipt"}
MAX_LINES = 100_000


@dataclass(frozen=True)
class StockFile:
    kind: FileKind
    lines: dict[str, int]  # sku -> counted (count) or received (receipt)


@dataclass(frozen=True)
class LineError:
    line: int  # 1 is the header
    sku: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.sku + ': ' if self.sku else ''}{self.message}"


class StockFileError(ValueError):
    """The file is refused whole; ``errors`` names every bad line."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:5]))
        self.errors = errors


def parse_stock_file(text: str, known: Mapping[str, object] | set[str]) -> StockFile:
    """Read a stock CSV: ``sku,on_hand`` (counts) or ``sku,received`` (a delivery note).

    Every line is checked (a known SKU, a whole number, 0 or more for a count, 1 or more for a
    receipt, each SKU once) and every fault is reported, so the file is fixed in one go; any
    fault and nothing is applied (``StockFileError``)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if len(header) != 2 or header[0] != "sku" or header[1] not in KIND_OF_COLUMN:
        raise StockFileError(
            [LineError(1, "", "the header must be 'sku,on_hand' (counts) or 'sku,received' "
                       "(a delivery note)")]
        )  # fmt: skip
    kind = KIND_OF_COLUMN[header[1]]
    if len(rows) - 1 > MAX_LINES:
        raise StockFileError([LineError(1, "", f"more than {MAX_LINES} lines")])
    minimum = 0 if kind == "count" else 1
    errors: list[LineError] = []
    lines: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            errors.append(LineError(n, "", f"expected 2 columns, found {len(row)}"))
            continue
        sku, raw = row[0].strip(), row[1].strip()
        if not sku:
            errors.append(LineError(n, "", "the SKU is empty"))
            continue
        if sku not in known:
            errors.append(LineError(n, sku, "unknown SKU"))
        if sku in first_line:
            errors.append(LineError(n, sku, f"already on line {first_line[sku]}"))
        else:
            first_line[sku] = n
        try:
            qty = int(raw, 10)
        except ValueError:
            errors.append(LineError(n, sku, f"{raw!r} is not a whole number"))
            continue
        if not minimum <= qty <= MAX_QTY:
            errors.append(LineError(n, sku, f"{qty} is out of range ({minimum} to {MAX_QTY})"))
            continue
        lines[sku] = qty
    if not lines and not errors:
        errors.append(LineError(2, "", "the file has no stock lines"))
    if errors:
        raise StockFileError(errors)
    return StockFile(kind, lines)
