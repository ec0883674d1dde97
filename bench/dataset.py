"""A chain-sized store database for the benchmarks, bulk-loaded into the project's own schema.

The schema comes from the edge itself (``edge.db.open_database`` applies every migration), so
the benchmarks read and write exactly the tables, indexes and constraints a store box has.
Rows are then bulk-inserted with ``executemany`` in large transactions:

- ids are time-ordered UUIDv7 strings (what the contract's example id is), generated in
  chronological order, so every primary key is filled in ascending order (no random B-tree
  splits over 10 million rows);
- every index stays in place during the load, so each is filled the way a store box fills it:
  by one insert after another. The indexes keyed by member (a member's purchases, their
  ledger) get their keys in random order and end about two thirds full, as a live B-tree does.
  Dropping them and building them again at the end (one sort, 20 s faster) packed every leaf
  full, and then the first new entry in each leaf split it: a catch-up wrote three pages per
  entry where a store box writes one (bench/, "catch-up", measured on the WAL of one batch);
- the load-only pragmas (no journal, no fsync, a large cache, no foreign-key checks) are set on
  the loading connection only; at the end the file is back in WAL mode and the connection back
  to ``synchronous=FULL``, as every process of the edge opens it.

The finished file is cached beside a small JSON description of its parameters; a run with the
same parameters (and the same migrations) reuses it instead of generating it again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.edge_api import db

GENERATOR_VERSION = 4
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
    customers: int = 1_000_000
    purchase_lines: int = 10_000_000
    products: int = 50_000
    seed: int = 20261124


def migrations_fingerprint() -> str:
    """The schema the cached file was made with: a new migration means a new data set."""
    h = hashlib.sha256()
    for name, sql in db.migration_files():
        h.update(name.encode())
        h.update(sql.encode())
    return h.hexdigest()[:16]


def description(params: Params) -> dict[str, object]:
    return {
        "generator_version": GENERATOR_VERSION,
        "schema": migrations_fingerprint(),
        **asdict(params),
    }


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
    return (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(ts % 1 * 1000):03d}Z"
    )


def card_number(i: int) -> str:
    """Card numbers as printed on the chain's cards: 29 + 10 digits."""
    return f"29{i:010d}"


def phone_number(i: int) -> str:
    return f"+336{i % 100_000_000:08d}"


# -- rows -------------------------------------------------------------------------------------


def product_rows(params: Params, rng: random.Random) -> list[tuple[object, ...]]:
    stamp = iso(PURCHASES_FROM)
    rows: list[tuple[object, ...]] = []
    for i in range(1, params.products + 1):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i}"
        barcode = f"376{i:09d}{i % 10}"
        price = rng.choice((99, 199, 249, 399, 450, 590, 990, 1290, 1500, 2450, 4990, 9900))
        rows.append((f"SKU-{i:06d}", 1, name, barcode, price, "EUR", 1, stamp))
    return rows


def customer_rows(params: Params, rng: random.Random) -> Iterator[list[tuple[object, ...]]]:
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


# -- loading ----------------------------------------------------------------------------------

LOAD_PRAGMAS = (
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA cache_size=-2000000",  # the member indexes take random inserts
    "PRAGMA temp_store=MEMORY",
    "PRAGMA locking_mode=EXCLUSIVE",
)


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"  dataset: {msg}", file=sys.stderr, flush=True)


def generate(path: Path, params: Params, *, quiet: bool = False) -> dict[str, object]:
    """Create the database at ``path`` (replacing any file there); return its figures."""
    t0 = time.monotonic()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    conn = db.open_database(path)  # the project's schema, every migration applied
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    for pragma in LOAD_PRAGMAS:
        conn.execute(pragma)

    rng = random.Random(params.seed)
    counts: dict[str, int] = {}

    def load(table: str, sql: str, rows: list[tuple[object, ...]]) -> None:
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        counts[table] = counts.get(table, 0) + len(rows)

    products = product_rows(params, rng)
    load(
        "products",
        "INSERT INTO products (sku, version, name, barcode, price, currency, active, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?)",
        products,
    )
    customer_ids: list[str] = []
    for batch in customer_rows(params, rng):
        customer_ids.extend(str(r[0]) for r in batch)
        load(
            "customers",
            "INSERT INTO customers (customer_id, loyalty_card, first_name, last_name, email, "
            "phone, tier, locale, version, origin, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            batch,
        )
    _log(f"{counts['customers']:,} customers in {time.monotonic() - t0:.0f} s", quiet)
    for hb in history_rows(params, rng, customer_ids, products):
        load(
            "purchases",
            "INSERT INTO purchases (purchase_id, customer_id, channel, store_id, occurred_at, "
            "currency, total, points_earned, origin, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            hb.purchases,
        )
        load(
            "purchase_lines",
            "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, qty, unit_price) "
            "VALUES (?,?,?,?,?,?)",
            hb.lines,
        )
        load(
            "loyalty_entries",
            "INSERT INTO loyalty_entries (entry_id, customer_id, points, reason, ref, channel, "
            "store_id, occurred_at, origin, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            hb.entries,
        )
        done = counts["purchase_lines"]
        if done % (BATCH * 30) < BATCH * 3:
            _log(f"{done:,} purchase lines in {time.monotonic() - t0:.0f} s", quiet)
    t_rows = time.monotonic() - t0
    _log(f"rows and indexes in {t_rows:.0f} s", quiet)
    conn.execute("PRAGMA locking_mode=NORMAL")
    conn.execute("PRAGMA journal_mode=WAL")
    for pragma in db.PRAGMAS:
        conn.execute(pragma)  # back to what every process of the edge uses: synchronous=FULL
    conn.execute("SELECT 1 FROM customers LIMIT 1").fetchall()  # releases the exclusive lock
    conn.close()
    figures: dict[str, object] = {
        "rows": counts,
        "seconds": round(time.monotonic() - t0, 1),
        "seconds_rows": round(t_rows, 1),
        "bytes": path.stat().st_size,
    }
    return figures


def write_sample(path: Path, sample: Path, n: int, seed: int) -> int:
    """Cards and ids of random members, for the load generators (one ``card id`` a line)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = conn.execute("SELECT MAX(rowid) FROM customers").fetchone()[0] or 0
        rng = random.Random(seed)
        picks = sorted({rng.randrange(1, total + 1) for _ in range(min(n, total))})
        rows = []
        for start in range(0, len(picks), 500):
            chunk = picks[start : start + 500]
            rows += conn.execute(
                "SELECT loyalty_card, customer_id FROM customers WHERE rowid IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
    finally:
        conn.close()
    rng.shuffle(rows)
    sample.write_text("".join(f"{card} {cid}\n" for card, cid in rows))
    return len(rows)


def cache_dir(root: Path, params: Params) -> Path:
    """One folder per size, so the smoke test's tiny set never evicts the full one."""
    return root / f"{params.customers}c-{params.purchase_lines}l-{params.products}p"


def ensure(directory: Path, params: Params, *, quiet: bool = False) -> dict[str, object]:
    """The cached data set for ``params`` in ``directory`` (generated when missing or made
    with other parameters, another generator version or another schema)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "dataset.db"
    meta_path = directory / "dataset.json"
    want = description(params)
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == want:
            meta["cached"] = True
            meta["path"] = str(path)
            return dict(meta)
    meta_path.unlink(missing_ok=True)
    _log(f"generating {params} in {path}", quiet)
    figures = generate(path, params, quiet=quiet)
    sample = directory / "sample.txt"
    figures["sample"] = write_sample(path, sample, 20_000, params.seed)
    meta = {"params": want, **figures}
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["cached"] = False
    meta["path"] = str(path)
    return dict(meta)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--dir", type=Path, default=Path("var/bench"))
    ap.add_argument("--customers", type=int, default=Params.customers)
    ap.add_argument("--lines", type=int, default=Params.purchase_lines)
    ap.add_argument("--products", type=int, default=Params.products)
    args = ap.parse_args(argv)
    params = Params(args.customers, args.lines, args.products)
    meta = ensure(cache_dir(args.dir, params), params)
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
