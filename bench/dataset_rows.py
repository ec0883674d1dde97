"""The rows of a chain-sized store database: members, catalogue, purchases and ledger.

They are made to look like a real chain's history where it matters to the queries measured:
members join over five years, purchases cover the last three in time order (so that every
time-ordered key is filled in ascending order, as a live box fills it), a tenth of the members
make a third of the purchases, a tenth of store sales are anonymous, and some members redeem
points. Everything comes from one seeded generator, so one set of ``Params`` always gives the
same file, which is what lets ``bench.dataset`` cache it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

STORE_ID = "S001"
OTHER_STORES = [f"S{n:03d}" for n in range(1, 41)]
BATCH = 100_000

FIRST_NAMES = [
    "Élodie",
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Sarah",
    "Jade",
    "Louise",
    "Emma",
    "Lucas",
    "Hugo",
    "Louis",
    "Nathan",
    "Gabriel",
    "Jules",
    "Arthur",
    "Adam",
    "Raphaël",
    "Paul",
    "Anna",
    "Zoé",
    "Lina",
    "Mila",
    "Noah",
    "Ethan",
    "Tom",
    "Théo",
    "Maël",
    "Sacha",
    "James",
    "Olivia",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guerin",
    "Muller",
    "Henry",
    "Roussel",
]
ADJECTIVES = [
    "Classic",
    "Organic",
    "Soft",
    "Dark",
    "Fresh",
    "Wild",
    "Golden",
    "Rustic",
    "Bright",
    "Tiny",
    "Large",
    "Smooth",
    "Spicy",
    "Sweet",
    "Crisp",
    "Warm",
    "Cool",
    "Pure",
    "Natural",
    "Royal",
]
NOUNS = [
    "Coffee",
    "Tea",
    "Chocolate",
    "Candle",
    "Mug",
    "Towel",
    "Soap",
    "Jam",
    "Honey",
    "Biscuit",
    "Scarf",
    "Basket",
    "Lamp",
    "Notebook",
    "Pencil",
    "Plate",
    "Bowl",
    "Glass",
    "Apron",
    "Cushion",
    "Blanket",
    "Vase",
    "Brush",
    "Sponge",
    "Bottle",
]
TIERS = ["standard"] * 80 + ["silver"] * 15 + ["gold"] * 5
LINES_PER_PURCHASE = [1, 1, 2, 2, 3, 3, 4, 5, 6, 8]  # 3.5 on average

# Times: members joined 2019-2023; purchases span the three years before "now" of the data set.
CUSTOMERS_FROM = datetime(2019, 1, 1, tzinfo=UTC).timestamp()
CUSTOMERS_TO = datetime(2023, 11, 1, tzinfo=UTC).timestamp()
PURCHASES_FROM = datetime(2023, 11, 24, tzinfo=UTC).timestamp()
PURCHASES_TO = datetime(2026, 11, 20, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Params:
    """The size of the chain and the seed: the whole of what decides the generated file."""

    customers: int = 1_000_000
    purchase_lines: int = 10_000_000
    products: int = 50_000
    seed: int = 20261124


# -- ids and times ----------------------------------------------------------------------------


class UUID7:
    """Time-ordered UUIDv7 strings, strictly increasing (a counter in rand_a within one ms)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.last_ms = -1
        self.counter = 0

    def __call__(self, ts: float) -> str:
        ms = int(ts * 1000)
        if ms <= self.last_ms:
            ms = self.last_ms
            self.counter += 1
            if self.counter > 0xFFF:
                ms += 1
                self.counter = 0
        else:
            self.counter = 0
        self.last_ms = ms
        r = self.rng.getrandbits(62)
        h = f"{ms:012x}"
        tail = f"{(0x8000 | (r >> 48)) & 0xBFFF:04x}{r & 0xFFFFFFFFFFFF:012x}"
        return f"{h[:8]}-{h[8:]}-7{self.counter:03x}-{tail[:4]}-{tail[4:]}"


def iso(ts: float) -> str:
    """The store's timestamp format (UTC, milliseconds, ``Z``), as the edge writes it."""
    return (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(ts % 1 * 1000):03d}Z"
    )


def card_number(i: int) -> str:
    """Card numbers as printed on the chain's cards: 29 + 10 digits."""
    return f"29{i:010d}"


def phone_number(i: int) -> str:
    """French mobile numbers, unique per member (a lookup key, like the card)."""
    return f"+336{i % 100_000_000:08d}"


# -- rows -------------------------------------------------------------------------------------


def product_rows(params: Params, rng: random.Random) -> list[tuple[object, ...]]:
    """The catalogue: ``products`` active products with barcodes and everyday prices."""
    stamp = iso(PURCHASES_FROM)
    rows: list[tuple[object, ...]] = []
    for i in range(1, params.products + 1):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i}"
        barcode = f"376{i:09d}{i % 10}"
        price = rng.choice((99, 199, 249, 399, 450, 590, 990, 1290, 1500, 2450, 4990, 9900))
        rows.append((f"SKU-{i:06d}", 1, name, barcode, price, "EUR", 1, stamp))
    return rows


def customer_rows(params: Params, rng: random.Random) -> Iterator[list[tuple[object, ...]]]:
    """The members in the order they joined, in batches of ``BATCH`` rows (one transaction
    each), so that 1 million of them never sit in memory at once."""
    ids = UUID7(rng)
    span = (CUSTOMERS_TO - CUSTOMERS_FROM) / params.customers
    batch: list[tuple[object, ...]] = []
    for i in range(params.customers):
        ts = CUSTOMERS_FROM + i * span
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        stamp = iso(ts)
        batch.append(
            (
                ids(ts),
                card_number(i),
                first,
                last,
                f"{first.lower()}.{last.lower()}{i}@example.com",
                phone_number(i),
                rng.choice(TIERS),
                "fr" if rng.random() < 0.8 else "en",
                1,
                "web",
                stamp,
                stamp,
            )
        )
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class HistoryBatch:
    """One transaction's worth of history: purchases with their lines and ledger entries."""

    purchases: list[tuple[object, ...]]
    lines: list[tuple[object, ...]]
    entries: list[tuple[object, ...]]


def history_rows(
    params: Params,
    rng: random.Random,
    customer_ids: list[str],
    products: list[tuple[object, ...]],
) -> Iterator[HistoryBatch]:
    """Web and store purchases in time order, their lines, and the ledger entries they made.

    Some members buy often (a tenth of them make a third of the purchases), some never; a tenth
    of store sales are anonymous. A fifth of the members who bought redeemed points once.
    """
    pids = UUID7(rng)
    eids = UUID7(rng)
    n_customers = len(customer_ids)
    frequent = max(1, n_customers // 10)
    catalogue = [(p[0], p[2], p[4]) for p in products]
    n_products = len(catalogue)
    avg_lines = sum(LINES_PER_PURCHASE) / len(LINES_PER_PURCHASE)
    n_purchases = max(1, round(params.purchase_lines / avg_lines))
    span = (PURCHASES_TO - PURCHASES_FROM) / n_purchases
    rnd, randrange, choice = rng.random, rng.randrange, rng.choice
    lines_left = params.purchase_lines
    earned: dict[str, int] = {}
    out = HistoryBatch([], [], [])
    i = 0
    while lines_left > 0:
        ts = PURCHASES_FROM + i * span
        i += 1
        at = iso(ts)
        pid = pids(ts)
        web = rnd() < 0.4
        if not web and rnd() < 0.1:
            cid = None
        elif rnd() < 0.33:
            cid = customer_ids[randrange(frequent)]
        else:
            cid = customer_ids[randrange(n_customers)]
        n_lines = min(choice(LINES_PER_PURCHASE), lines_left)
        lines_left -= n_lines
        total = 0
        for line_no in range(1, n_lines + 1):
            sku, name, price = catalogue[randrange(n_products)]
            qty = 1 if rnd() < 0.8 else 2
            total += qty * price  # type: ignore[operator]
            out.lines.append((pid, line_no, sku, name, qty, price))
        points = total // 100 if cid else 0
        store = None if web else (STORE_ID if rnd() < 0.5 else choice(OTHER_STORES))
        out.purchases.append(
            (pid, cid, "web" if web else "store", store, at, "EUR", total, points, "down", at)
        )
        if cid:
            channel = "web" if web else "store"
            out.entries.append(
                (eids(ts), cid, points, "purchase", pid, channel, store, at, "down", at)
            )
            have = earned.get(cid, 0) + points
            if have >= 500 and rnd() < 0.05:
                out.entries.append(
                    (eids(ts), cid, -500, "redeem", pid, channel, store, at, "down", at)
                )
                have -= 500
            earned[cid] = have
        if len(out.lines) >= BATCH * 3:
            yield out
            out = HistoryBatch([], [], [])
    if out.purchases:
        yield out
