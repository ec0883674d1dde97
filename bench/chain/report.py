"""The chain run's report: one table with the brokers side by side, per-store counts, a plot."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path
from typing import Any

from bench.chain.run import RunResult


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v * 1000:,.0f} ms"


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f} s"


def broker_names(r: RunResult) -> list[str]:
    last = r.samples[-1]["rss"] if r.samples else {}
    return [n for n in last if not n.startswith("online") and n != "harness"]


def figures(r: RunResult) -> dict[str, Any]:
    """The numbers of one run, as the table shows them."""
    load = [s for s in r.samples if "missing" not in s]
    names = broker_names(r)
    cpu = [sum(v for k, v in s["cpu"].items() if k in names) for s in load]
    rss = [sum(v for k, v in s["rss"].items() if k in names) for s in r.samples]
    consumers = [
        int(s["jetstream"].get("session_consumers", s["jetstream"]["consumers"]))
        for s in r.samples
        if s.get("jetstream")
    ]
    online_cpu = [sum(v for k, v in s["cpu"].items() if k.startswith("online")) for s in load]
    harness_cpu = [s["cpu"]["harness"] for s in load if "harness" in s["cpu"]]
    duration = float(r.options["duration"])
    t = r.totals
    connections = t["stores"] + int(r.options["instances"])
    drain = next((e["t"] for e in r.events if e["what"] == "drained"), None)
    stop = next((e["t"] for e in r.events if e["what"].startswith("load stopped")), None)
    sims = t["stores"] - r.options["real_edges"]
    deliveries = (t["chain_events"] * t["stores"] + t["orders_placed"]) / duration
    peak = max((b["applied_up"] - a["applied_up"] for a, b in pairs(load)), default=0)
    drained = None if drain is None or stop is None else drain - stop
    rss_max = max(rss, default=0)
    both = "{} / {}".format
    return {
        "broker": f"{r.broker} ({r.nodes} node{'s' if r.nodes > 1 else ''}, MQTT {r.protocol}), "
        f"{t['stores']} stores",
        "stores": f"{sims} simulated + {r.options['real_edges']} real",
        "connections": connections,
        "up events sent": t["sent"],
        "up events/s (mean of the run)": f"{t['sent'] / duration:,.1f}",
        "up events/s (peak second)": peak,
        "chain events": t["chain_events"],
        "down deliveries/s (mean)": f"{deliveries:,.0f}",
        "web orders": t["orders_placed"],
        "lag up p50 / p99 (sale → applied online)": both(
            _ms(pct(r.up_lags, 0.5)), _ms(pct(r.up_lags, 0.99))
        ),
        "lag down p50 / p99 (web order → store)": both(
            _ms(pct(r.order_lags, 0.5)), _ms(pct(r.order_lags, 0.99))
        ),
        "lag chain p50 / p99 (chain event → store)": both(
            _ms(pct(r.chain_lags, 0.5)), _ms(pct(r.chain_lags, 0.99))
        ),
        "reconnections": len(r.reconnects),
        "reconnect time p50 / max": both(
            _s(pct(r.reconnects, 0.5)), _s(max(r.reconnects, default=None))
        ),
        "drain after the load": _s(drained),
        "broker CPU mean / max (% of one core, all nodes)": (
            f"{statistics.fmean(cpu):,.0f} / {max(cpu):,.0f}" if cpu else "–"
        ),
        "JetStream consumers of the sessions (max; per store)": (
            f"{max(consumers)} ({max(consumers) / max(t['stores'], 1):.1f})" if consumers else "–"
        ),
        "online store CPU mean / max (% of one core, all instances)": (
            f"{statistics.fmean(online_cpu):,.0f} / {max(online_cpu):,.0f}" if online_cpu else "–"
        ),
        "simulated stores' process CPU mean / max (% of one core)": (
            f"{statistics.fmean(harness_cpu):,.0f} / {max(harness_cpu):,.0f}"
            if harness_cpu
            else "–"
        ),
        "broker memory max (RSS, all nodes)": f"{rss_max / 2**20:,.0f} MiB",
        "broker memory per connection": f"{rss_max / max(connections, 1) / 1024:,.0f} KiB",
        "duplicates suppressed (up / down)": both(
            t["duplicates_suppressed"], t["down_duplicates_suppressed"]
        ),
        "down-events from backfill": t["down_backfilled"],
        "dead letters": t["dead_letters"],
        "lost: not applied when the run ended (up / web orders)": both(t["lost"], t["orders_lost"]),
        "applied twice": t["applied_twice"],
    }


def pairs(samples: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return list(zip(samples, samples[1:], strict=False))


def table(results: list[RunResult]) -> str:
    rows = [figures(r) for r in results]
    keys = list(rows[0])
    out = ["| | " + " | ".join(str(r["broker"]) for r in rows) + " |"]
    out.append("|---|" + "---|" * len(rows))
    for k in keys[1:]:
        out.append(f"| {k} | " + " | ".join(str(r[k]) for r in rows) + " |")
    return "\n".join(out)


def plot(results: list[RunResult], path: Path) -> None:
    """Up-events applied per second, broker CPU and memory over time, the faults marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        3, len(results), figsize=(6 * len(results), 8), squeeze=False, sharex="col"
    )
    for col, r in enumerate(results):
        names = broker_names(r)
        ts = [s["t"] for s in r.samples]
        rate = [0.0] + [
            max(0, b["applied_up"] - a["applied_up"]) / max(b["t"] - a["t"], 1e-3)
            for a, b in pairs(r.samples)
        ]
        ax = axes[0][col]
        ax.plot(ts, rate, lw=1)
        ax.set_title(f"{r.broker}, {len(r.per_store)} stores: up-events applied/s")
        ax = axes[1][col]
        for n in names:
            ax.plot(ts, [s["cpu"].get(n, 0) for s in r.samples], lw=1, label=n)
        ax.set_title("broker CPU, % of one core")
        ax.legend(fontsize=7)
        ax = axes[2][col]
        for n in names:
            ax.plot(ts, [s["rss"].get(n, 0) / 2**20 for s in r.samples], lw=1, label=n)
        ax.set_title("broker memory (RSS), MiB")
        ax.set_xlabel("seconds since start")
        for row in axes:
            for e in r.events:
                if any(w in e["what"] for w in ("SIGKILL", "restarted", "cut off", "reconnected")):
                    row[col].axvline(
                        e["t"],
                        color="red" if "SIGKILL" in e["what"] or "cut" in e["what"] else "green",
                        lw=0.8,
                        ls="--",
                    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: list[RunResult], out: Path) -> str:
    """``report.md``, ``per-store.csv`` and ``chain.png`` in ``out``; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "per-store.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        first = True
        for r in results:
            for row in r.per_store:
                if first:
                    w.writerow(["broker", *row])
                    first = False
                w.writerow([r.broker, *row.values()])
    plot(results, out / "chain.png")
    lines = ["# Chain run", "", table(results), ""]
    for r in results:
        lines += [f"## {r.broker}: what happened", ""]
        lines += [f"- {e['t']:6.1f} s: {e['what']}" for e in r.events]
        worst = [row for row in r.per_store if row["lost"] or row["applied_twice"]]
        lines += ["", f"Stores with a loss or a double: {len(worst)} of {len(r.per_store)}", ""]
    text = "\n".join(lines)
    (out / "report.md").write_text(text + "\n")
    return text


def load(path: Path) -> RunResult:
    """A run saved by ``run.save`` (``{broker}.json``)."""
    import json

    return RunResult(**json.loads(path.read_text()))


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.chain.report DIR``: the report again from the JSONs in DIR (runs made
    separately, e.g. one broker at a time, side by side in one table)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "bench/results/chain")
    order = {"nats": 0, "mosquitto": 1}
    runs = sorted(
        (load(p) for p in out.glob("*.json")),
        key=lambda r: (order.get(r.broker, 9), len(r.per_store)),
    )
    if not runs:
        print(f"no run in {out}")
        return 1
    print(write(runs, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
