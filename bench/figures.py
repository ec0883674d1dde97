"""The figures of a run: each measurement next to its baseline, the ratio and the target.

They are what the printed table, ``python -m bench.report`` and the docs' benchmarks page
show, so each one is a flat record (name, value, unit, baseline, ratio, target, met, note)
that needs no knowledge of the phases to read. A phase that was not run adds no figure; one
that ran but could not measure adds its figure with no value and a note saying why.
"""

from __future__ import annotations

from typing import Any


class Figures:
    """The list being built, in the order the table shows it."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        value: Any,
        unit: str,
        baseline: Any = None,
        target: str | None = None,
        met: bool | None = None,
        ratio: float | None = None,
        note: str | None = None,
    ) -> None:
        """One figure; the ratio to the baseline is computed when both are numbers (not for
        percentages, whose ratio would say nothing)."""
        if ratio is None and isinstance(value, int | float) and baseline and "%" not in unit:
            ratio = value / baseline
        self.rows.append(
            {
                "name": name,
                "value": value,
                "unit": unit,
                "baseline": baseline,
                "ratio": ratio,
                "target": target,
                "met": met,
                "note": note,
            }
        )


def figures(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure of the results ``res``, in the table's order."""
    f = Figures()
    ds = res["dataset"]
    gen = ds.get("seconds")
    f.add(
        "data set generation" + (" (cached this run)" if ds.get("cached") else ""),
        gen,
        "s",
        target="≤ 300 s",
        met=gen <= 300 if gen is not None else None,
    )
    for key, change in res.get("settings_changed", {}).items():
        f.add(f"setting raised for the run: {key}", change["value"], "", note=change["why"])
    lk = res.get("lookup", {})
    if lk:
        _lookup(f, lk)
    sl = res.get("sale", {})
    if sl:
        _sale(f, sl)
    st = res.get("stock", {})
    if st:
        _stock(f, st)
    for key, label in (("catchup", "catch-up"), ("drain", "outbox drain")):
        _sync(f, res.get(key, {}), label)
    _memory(f, res.get("cold_start", {}), lk.get("footprint", {}) if lk else {})
    _peaks(f, res.get("catchup", {}))
    cs = res.get("cold_start", {})
    if cs:
        f.add(
            "cold start to ready",
            cs["edge_median_s"],
            "s",
            cs["baseline_first_answer_s"],
            "≤ 1.5 s",
            cs["edge_median_s"] <= 1.5,
        )
        if cs.get("edge_cpu_s"):
            f.add("cold start CPU (all processes, to ready)", min(cs["edge_cpu_s"]), "s")
    lines = ds["rows"]["purchase_lines"]
    if lines:
        f.add(
            "database size per million purchase lines",
            round(ds["bytes"] / 1e6 / (lines / 1e6), 1),
            "MB",
        )
    return f.rows


def _lookup(f: Figures, lk: dict[str, Any]) -> None:
    """Lookup + history: throughput against 0.8× the baseline's, p99 against 5 ms; a missed
    target says what the same run measured about it."""
    e, b = lk["edge"], lk["baseline"]
    ratios = sorted(r["ratio"] for r in lk.get("rounds", []))
    f.add(
        "lookup+history throughput",
        e["rps"],
        "req/s",
        b["rps"],
        "≥ 0.8× baseline",
        e["rps"] >= 0.8 * b["rps"],
        note=_throughput_note(e, b, ratios),
    )
    f.add("lookup+history p50", e["p50_ms"], "ms", b["p50_ms"])
    f.add(
        "lookup+history p99",
        e["p99_ms"],
        "ms",
        b["p99_ms"],
        "≤ 5 ms",
        e["p99_ms"] <= 5,
        note=None if e["p99_ms"] <= 5 else _tail_note(lk),
    )
    f.add("lookup+history max", e["max_ms"], "ms", b["max_ms"])
    f.add(
        "lookup+history server CPU per request",
        e.get("server_cpu_ms_per_request"),
        "ms",
        b.get("server_cpu_ms_per_request"),
    )
    for i, r in enumerate(lk.get("rounds", []), start=1):
        p99 = (
            f"p99 {r['edge_p99_ms']:.1f} ms against {r['baseline_p99_ms']:.1f} ms"
            if "edge_p99_ms" in r
            else None
        )
        f.add(f"  lookup+history round {i}", r["edge_rps"], "req/s", r["baseline_rps"], note=p99)
    for part, ms in lk.get("breakdown", {}).get("edge", {}).get("ms_per_request", {}).items():
        base = lk["breakdown"].get("baseline", {}).get("ms_per_request", {}).get(part)
        f.add(f"  CPU per lookup request: {part}", ms, "ms", base)
    for key, label in (("1client", "1 client"), ("2client", "2 clients")):
        e1, b1 = lk.get(f"edge_{key}"), lk.get(f"baseline_{key}")
        if e1 and b1:
            f.add(f"lookup+history p50, {label}", e1["p50_ms"], "ms", b1["p50_ms"])
            f.add(
                f"lookup+history p99, {label}",
                e1["p99_ms"],
                "ms",
                b1["p99_ms"],
                "≤ 5 ms",
                e1["p99_ms"] <= 5,
            )
    e1, b1 = lk.get("edge_wrk_one_core"), lk.get("baseline_wrk_one_core")
    if e1 and b1:
        f.add("lookup+history p99, 8 clients, wrk on one core", e1["p99_ms"], "ms", b1["p99_ms"])
        f.add("lookup+history throughput, wrk on one core", e1["rps"], "req/s", b1["rps"])
    f.add(
        "other work on the box during lookup",
        round(100 * e.get("other_cpu_share", 0)),
        "% of cores",
        round(100 * b.get("other_cpu_share", 0)),
    )
    f.add("lookup+history errors", e["errors"], "", b["errors"], "0", e["errors"] == 0)


def _throughput_note(e: dict[str, Any], b: dict[str, Any], ratios: list[float]) -> str | None:
    """Why the ratio is what it is: on a box whose cores the load generator shares, the
    throughput follows the CPU each request costs (server and client together)."""
    ec, bc = e.get("server_cpu_ms_per_request"), b.get("server_cpu_ms_per_request")
    if not (ec and bc):
        return None
    rounds = ", ".join(f"{r:.2f}" for r in ratios)
    return (
        f"rounds {rounds}; server CPU per request {ec:.2f} ms against {bc:.2f} ms "
        f"({bc / ec:.2f}× of the bare app's cost)"
    )


def _tail_note(lk: dict[str, Any]) -> str:
    """What the same run says about the 8-client tail: Little's law (a closed loop of N
    clients waits N / throughput on average), the bare app's own tail, and the tails with
    fewer clients and with the load generator held to one core."""
    e, b = lk["edge"], lk["baseline"]
    clients = 8
    parts = [
        f"the bare app's p99 is {b['p99_ms']:.1f} ms in the same run",
        f"{clients} closed-loop clients wait {clients * 1000 / e['rps']:.1f} ms on average at "
        f"the edge's {e['rps']:,.0f} req/s and {clients * 1000 / b['rps']:.1f} ms at the bare "
        f"app's {b['rps']:,.0f} (Little's law); a p99 of 5 ms needs more than "
        f"{clients * 1000 / 5:,.0f} req/s with no spread at all",
    ]
    for key, label in (("2client", "2 clients"), ("1client", "1 client")):
        if lk.get(f"edge_{key}") and lk.get(f"baseline_{key}"):
            parts.append(
                f"at {label}: edge {lk[f'edge_{key}']['p99_ms']:.1f} ms, bare "
                f"{lk[f'baseline_{key}']['p99_ms']:.1f} ms"
            )
    if lk.get("edge_wrk_one_core") and lk.get("baseline_wrk_one_core"):
        parts.append(
            f"with wrk on one core: edge {lk['edge_wrk_one_core']['p99_ms']:.1f} ms, bare "
            f"{lk['baseline_wrk_one_core']['p99_ms']:.1f} ms"
        )
    return "; ".join(parts)


def _sale(f: Figures, sl: dict[str, Any]) -> None:
    """Sales at 4 tills: p99 against 20 ms, and the sale's way to the broker against 50 ms."""
    e, b = sl["edge"], sl["baseline"]
    f.add("sale throughput", e["rps"], "req/s", b["rps"])
    f.add("sale p50", e["p50_ms"], "ms", b["p50_ms"])
    f.add("sale p99", e["p99_ms"], "ms", b["p99_ms"], "≤ 20 ms", e["p99_ms"] <= 20)
    f.add(
        "sale server CPU per request",
        e.get("server_cpu_ms_per_request"),
        "ms",
        b.get("server_cpu_ms_per_request"),
    )
    f.add("sale errors", e["errors"], "", b["errors"], "0", e["errors"] == 0)
    tb = sl.get("to_broker", {})
    if tb.get("p99_ms") is not None:
        f.add("sale → broker ack p50", tb["p50_ms"], "ms")
        f.add("sale → broker ack p99", tb["p99_ms"], "ms", None, "≤ 50 ms", tb["p99_ms"] <= 50)
    else:
        f.add(
            "sale → broker ack p99",
            None,
            "ms",
            target="≤ 50 ms",
            note=tb.get("note", "not measured"),
        )


def _stock(f: Figures, st: dict[str, Any]) -> None:
    """Stock on a sale (issue 17): the edge with it against the edge without it, side by
    side (the "baseline" column is the same edge with ``stock_on_sale = false``)."""
    w, wo = st["with_stock"], st["without_stock"]
    f.add("sale throughput, with stock / without", w["rps"], "req/s", wo["rps"])
    f.add("sale p99, with stock / without", w["p99_ms"], "ms", wo["p99_ms"])
    f.add(
        "sale server CPU, with stock / without",
        w.get("server_cpu_ms_per_request"),
        "ms",
        wo.get("server_cpu_ms_per_request"),
    )
    if st.get("stock_events_per_movement") is not None:
        f.add("stock.changed per stock movement (coalesced)", st["stock_events_per_movement"], "")


def _sync(f: Figures, c: dict[str, Any], label: str) -> None:
    """Catch-up or drain: the rate against 0.5× the bare paho process's, and where the CPU
    went (each of the edge's processes, and Mosquitto)."""
    if not (c.get("edge_rate") and c.get("baseline_rate")):
        f.add(
            f"{label} rate",
            None,
            "events/s",
            target="≥ 0.5× baseline",
            note=c.get("note", "did not finish"),
        )
        return
    f.add(
        f"{label} rate ({c['events']:,} events)",
        c["edge_rate"],
        "events/s",
        c["baseline_rate"],
        "≥ 0.5× baseline",
        c["edge_rate"] >= 0.5 * c["baseline_rate"],
    )
    f.add(
        f"{label} CPU per event (with start-up)",
        c.get("edge_cpu_ms_per_event"),
        "ms",
        c.get("baseline_cpu_ms_per_event"),
    )
    runs = c.get("baseline_runs_s")
    if runs:
        f.add(
            f"{label} bare subscriber, before / after the edge",
            " / ".join(f"{c['events'] / r:,.0f}" for r in runs),
            "events/s",
        )
    for p in c.get("edge_processes", []):
        if p.get("cpu_s"):
            f.add(f"  of which {p['role']}", 1000 * p["cpu_s"] / c["events"], "ms")
    if "broker_cpu_ms_per_event" in c:
        f.add(
            f"{label} Mosquitto CPU per event",
            c["broker_cpu_ms_per_event"],
            "ms",
            c["baseline_broker_cpu_ms_per_event"],
        )


def _memory(f: Figures, cs: dict[str, Any], fp: dict[str, Any]) -> None:
    """The whole box against 200 MB of PSS, at rest (after the cold start) and after the
    lookups; each process's RSS and PSS after the lookups, to read where it goes."""
    rest = cs.get("at_rest", {})
    if rest.get("edge_pss_mb") is not None:
        f.add(
            "whole box PSS at rest",
            rest["edge_pss_mb"],
            "MB",
            rest.get("baseline_pss_mb"),
            "≤ 200 MB",
            rest["edge_pss_mb"] <= 200,
        )
    if fp.get("edge_pss_mb") is not None:
        heaviest = sorted(fp.get("edge", []), key=lambda p: -(p.get("pss_mb") or 0))[:3]
        f.add(
            "whole box PSS after the lookups",
            fp["edge_pss_mb"],
            "MB",
            fp.get("baseline_pss_mb"),
            "≤ 200 MB",
            fp["edge_pss_mb"] <= 200,
            note="heaviest: " + ", ".join(f"{p['role']} {p.get('pss_mb')} MB" for p in heaviest)
            if fp["edge_pss_mb"] > 200
            else None,
        )
        f.add("whole box RSS after the lookups", fp["edge_rss_mb"], "MB", fp["baseline_rss_mb"])
    for p in fp.get("edge", []):
        f.add(f"  RSS / PSS {p['role']}", f"{p['rss_mb']} / {p.get('pss_mb')}", "MB")


def _peaks(f: Figures, catchup: dict[str, Any]) -> None:
    """The peak resident size of each process during the catch-up (the heaviest writes)."""
    for p in catchup.get("edge_processes", []):
        f.add(f"peak RSS during catch-up, {p['role']}", p["peak_rss_mb"], "MB")
