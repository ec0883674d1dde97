"""Phase: what store stock costs a sale (issue 17).

The same store-sale load as ``bench.sale`` on the edge twice, side by side: as it runs by
default (each sale moves its SKUs' stock and writes their coalesced ``stock.changed`` in the
sale's transaction), then restarted with ``stock_on_sale = false`` (the sale moves no stock;
nothing else changes). The edge is restarted once more at the end, as it was. Also counted:
how many ``stock.changed`` events the measured run wrote for how many sales, which is the
coalescing at work under load.
"""

from __future__ import annotations

from typing import Any

from bench import procs
from bench.console import say
from bench.edge_api import db, outbox
from bench.http_runs import http
from bench.session import Session

SOURCE = "/stores/S001"


def _events(s: Session, after: tuple[int, int]) -> dict[str, int]:
    """Up-events by type written after ``after``, and the stock movements they announce."""
    conn = db.connect(s.work)
    try:
        rows = conn.execute(
            "SELECT type, COUNT(*) FROM outbox WHERE source = ? AND sequence > ? GROUP BY type",
            (SOURCE, after[0]),
        ).fetchall()
        out = {r[0]: int(r[1]) for r in rows}
        out["stock movements"] = conn.execute(
            "SELECT COUNT(*) FROM stock_movements WHERE movement_id > ?", (after[1],)
        ).fetchone()[0]
        return out
    finally:
        conn.close()


def _last(s: Session) -> tuple[int, int]:
    conn = db.connect(s.work)
    try:
        moved = conn.execute("SELECT COALESCE(MAX(movement_id), 0) FROM stock_movements")
        return outbox.last_sequence(conn, SOURCE), int(moved.fetchone()[0])
    finally:
        conn.close()


def _run(s: Session, tool: str, label: str) -> dict[str, Any]:
    assert s.edge is not None
    cfg = s.cfg
    say(f"store sale, {cfg.clients} clients, {cfg.seconds:.0f} s: edge {label}")
    for _ in range(10):  # a just-restarted edge's workers may answer nothing in a short warm-up
        if http(s, tool, "sale", s.edge_port, cfg.warmup)["requests"]:
            break
    before = _last(s)
    out = http(s, tool, "sale", s.edge_port, cfg.seconds, s.edge)
    out["events"] = _events(s, before)
    return out


def measure(s: Session, tool: str) -> dict[str, Any]:
    """The ``stock`` section: ``with_stock`` and ``without_stock`` runs and their ratio."""
    assert s.edge is not None
    out: dict[str, Any] = {"with_stock": _run(s, tool, "with stock")}
    s.edge.stop()
    s.edge = procs.start_edge(
        {**s.settings, "stock_on_sale": "false"}, s.logs / "edge-without-stock.log"
    )
    try:
        out["without_stock"] = _run(s, tool, "without stock")
    finally:
        s.edge.stop()
        s.edge = s.start_edge()
    w, wo = out["with_stock"], out["without_stock"]
    moves = w["events"].get("stock movements", 0)
    out["throughput_ratio"] = w["rps"] / wo["rps"] if wo["rps"] else None
    cpu_w, cpu_wo = w.get("server_cpu_ms_per_request"), wo.get("server_cpu_ms_per_request")
    out["extra_cpu_ms_per_sale"] = cpu_w - cpu_wo if cpu_w and cpu_wo else None
    out["stock_events_per_movement"] = (
        w["events"].get("stock.changed", 0) / moves if moves else None
    )
    out["how"] = (
        "the sale load of the sale phase on the edge with stock (default), then on the edge "
        "restarted with stock_on_sale = false; stock_events_per_movement: the coalesced "
        "stock.changed written during the measured run with stock, per stock movement"
    )
    return out
