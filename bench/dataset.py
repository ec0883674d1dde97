"""A chain-sized store database for the benchmarks, bulk-loaded into the project's own schema.

The rows themselves are made by ``bench.dataset_rows``; this module loads them, caches the
file and picks the sample of members the load generators use.

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
import contextlib
import fcntl
import hashlib
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from bench.dataset_rows import BATCH, Params, customer_rows, history_rows, product_rows
from bench.edge_api import db

# Part of the cache's key: a change to what the rows look like must bump it.
GENERATOR_VERSION = 4


def migrations_fingerprint() -> str:
    """The schema the cached file was made with: a new migration means a new data set."""
    h = hashlib.sha256()
    for name, sql in db.migration_files():
        h.update(name.encode())
        h.update(sql.encode())
    return h.hexdigest()[:16]


def description(params: Params) -> dict[str, object]:
    """What the cached file is made of; a cached file is reused only if this is the same."""
    return {
        "generator_version": GENERATOR_VERSION,
        "schema": migrations_fingerprint(),
        **asdict(params),
    }


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
    """Progress of a generation, which takes minutes at full size (silent in quick runs)."""
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
        """One batch in one transaction, counted per table for the results."""
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


@contextlib.contextmanager
def _alone_in(directory: Path, quiet: bool) -> Iterator[None]:
    """An exclusive lock on the data set's folder while it is checked and, if need be, made.

    Without it a second run started while the first still generates (two benchmarks at once,
    ``make bench`` beside ``python -m bench.dataset``) finds no description yet, unlinks the
    file the first is writing and starts its own: the first one's data set is lost, and its
    description then speaks of the second one's half-made file (seen on 2026-12-05). With it
    the second waits, then finds the finished set cached."""
    with open(directory / "dataset.lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _log(f"waiting for another process making the data set in {directory}", quiet)
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def ensure(directory: Path, params: Params, *, quiet: bool = False) -> dict[str, object]:
    """The cached data set for ``params`` in ``directory`` (generated when missing or made
    with other parameters, another generator version or another schema), one process at a
    time (``_alone_in``)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _alone_in(directory, quiet):
        return _ensure(directory, params, quiet)


def _ensure(directory: Path, params: Params, quiet: bool) -> dict[str, object]:
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
    """``python -m bench.dataset``: make (or find cached) a data set of any size."""
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
