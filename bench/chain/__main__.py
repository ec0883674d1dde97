"""``python -m bench.chain``: the chain run against each broker, then the report.

``make chain`` runs it with the defaults (500 stores, 2 real edges, 3 minutes per broker);
``--quick`` is the short version (10 stores, Mosquitto only) that CI's test also runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.chain import report
from bench.chain.run import Options, quick_options, run_chain, save


def main(argv: list[str] | None = None) -> int:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__)
    p.add_argument("--brokers", default="nats,mosquitto", help="nats, mosquitto or both")
    p.add_argument("--stores", type=int, default=d.stores, help="simulated stores")
    p.add_argument("--real-edges", type=int, default=d.real_edges, help="real edges (0 to 5)")
    p.add_argument("--duration", type=float, default=d.duration, help="seconds of load")
    p.add_argument("--rate", type=float, default=d.rate, help="mean up-events/s per store")
    p.add_argument("--order-rate", type=float, default=d.order_rate, help="web orders/s")
    p.add_argument("--no-faults", action="store_true", help="no node killed, no edge cut")
    p.add_argument("--out", type=Path, default=Path("bench/results/chain"), help="report folder")
    p.add_argument(
        "--workdir", type=Path, default=None, help="keep the brokers' logs and databases here"
    )
    p.add_argument(
        "--screenshot", type=Path, default=None, help="save the fleet page here during the run"
    )
    p.add_argument("--quick", action="store_true", help="10 stores, 6 s, Mosquitto only")
    args = p.parse_args(argv)
    opts = Options(
        stores=args.stores,
        real_edges=args.real_edges,
        duration=args.duration,
        rate=args.rate,
        order_rate=args.order_rate,
        faults=not args.no_faults,
        screenshot=args.screenshot,
    )
    kinds = [k.strip() for k in args.brokers.split(",") if k.strip()]
    if args.quick:
        opts = quick_options()
        kinds = ["mosquitto"]
    if (
        not 0 <= opts.real_edges <= 5
        or opts.stores < 1
        or any(k not in ("nats", "mosquitto") for k in kinds)
    ):
        p.error("--real-edges 0 to 5, --stores 1 or more, --brokers among nats,mosquitto")
    results = []
    with tempfile.TemporaryDirectory(prefix="chain-") as tmp:
        for kind in kinds:
            # --workdir keeps the brokers' logs and the databases for a look afterwards
            work = (args.workdir or Path(tmp)) / kind
            shutil.rmtree(work, ignore_errors=True)
            result = run_chain(kind, work, opts)
            save(result, args.out / f"{kind}-{opts.stores}.json")
            results.append(result)
    text = report.write(results, args.out)
    print(text)
    bad = [
        r
        for r in results
        if r.totals.get("lost") or r.totals.get("applied_twice") or r.totals.get("orders_lost")
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
