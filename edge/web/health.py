"""Liveness, readiness and metrics: what systemd, the load balancer and Prometheus ask."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from edge.store import db
from edge.system import metrics, retention, status
from edge.web.context import settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Any:
    """503 only when the database is unusable: a down link is a degraded store, not a dead
    one (the store keeps selling), so it is reported, not failed."""
    try:
        conn = db.connect(current_app.config["DB_PATH"])
        try:
            pending = db.pending_migrations(conn)
            st = status.sync_status(conn, settings())
            st["storage"] = retention.storage(conn, settings(), rows=False)
            extras = [extra(conn, st) for extra in READINESS_EXTRAS]
        finally:
            conn.close()
    except Exception as exc:  # any failure here means the database is not usable
        current_app.logger.warning("readyz: database unusable: %s", exc)
        return jsonify({"status": "unavailable", "database": {"ok": False, "error": str(exc)}}), 503
    if pending:
        return jsonify(
            {
                "status": "unavailable",
                "database": {"ok": False, "error": f"migrations not applied: {', '.join(pending)}"},
            }
        ), 503
    degraded = []
    if not st["link"]["connected"]:
        degraded.append("link_down")
    if not st["link"].get("reachable", st["link"]["connected"]):
        degraded.append("online_store_unreachable")  # the one judgement (CONTRACT.md 1.1)
    degraded += sync_problems(st)
    if st["storage"]["disk_low"]:
        degraded.append("disk_space_low")  # long before SQLite fails and sales are refused
    if st["loyalty"]["negative_balances"]:
        degraded.append("negative_balances")
    if any(s["behind"] for s in st["inbox"]["streams"]):
        degraded.append("inbox_behind")
    for name, detail, problem in extras:
        st[name] = counts_only(detail)  # unauthenticated: never a code or a name (issue 19)
        if problem:
            degraded.append(problem)
    body: dict[str, Any] = {
        "status": "degraded" if degraded else "ok",
        "degraded": degraded,
        "database": {"ok": True},
        "last_sync_at": st["link"].get("last_sync_at"),
        **st,
    }
    return jsonify(body)


def counts_only(detail: Any) -> Any:
    """An area's readiness detail as counts: each list becomes its length, so /readyz,
    which anybody on the network may read, never shows a coupon code or an order."""
    if isinstance(detail, dict):
        return {k: counts_only(v) for k, v in detail.items()}
    if isinstance(detail, list | tuple):
        return len(detail)
    return detail


def sync_problems(st: dict[str, Any]) -> list[str]:
    """Warnings of the sync beyond the link: dead letters to look at, an up-event held for
    breaking the contract or refused by the broker, a restored box not yet recovered."""
    out = []
    if st["inbox"]["dead_letters"]:
        out.append("dead_letters")
    alerts = st.get("publish_alerts") or {}
    if "held" in alerts:
        out.append("up_event_held")
    if "refused" in alerts:
        out.append("up_event_refused")
    if st["link"].get("subscriptions_refused"):
        out.append("subscription_refused")  # issue 18: a SUBACK refused a needed filter
    if st.get("recovery_pending"):
        out.append("recovery_pending")
    return out


# Other areas (printing, pickups, offers) add readiness details by registering a function
# that takes (conn, status dict) and returns (name, detail, problem-or-None).
READINESS_EXTRAS: list[Any] = []


@bp.get("/metrics")
def metrics_view() -> Response:
    from edge.web.hardening import check_metrics_caller

    check_metrics_caller(settings())  # loopback, or the metrics token (issue 19)
    return Response(metrics.render(settings()), mimetype="text/plain; version=0.0.4")


if retention.collect not in metrics.EXTRA_COLLECTORS:
    metrics.EXTRA_COLLECTORS.append(retention.collect)  # table sizes, disk, retention limits
