"""Prometheus metrics.

Gauges that describe the store (outbox backlog, link, sequences, dead letters) are read from
the database at scrape time by a collector, so they are right whichever process (API worker,
sync worker) serves the scrape. Request counters are per process; under gunicorn they use
prometheus-client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.config import Settings
from edge.store import db
from edge.system import status

HTTP_REQUESTS = Counter(
    "passerelle_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "passerelle_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

# The labelled children of the two request metrics, by (endpoint, method, status): looked up
# in a plain dict, not through ``labels()``'s validation and lock on every request.
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def count_request(endpoint: str, method: str, status: str, seconds: float | None) -> None:
    """One answered request, and how long it took (None: unknown, not observed)."""
    key = (endpoint, method, status)
    pair = _children.get(key)
    if pair is None:
        pair = _children[key] = (HTTP_REQUESTS.labels(*key), HTTP_LATENCY.labels(endpoint))
    pair[0].inc()
    if seconds is not None:
        pair[1].observe(seconds)


# Other areas add gauges read from the database by registering a function here.
EXTRA_COLLECTORS: list[Callable[[object, Settings], Iterator[Metric]]] = []


class StoreCollector(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        conn = db.connect(self.settings.db_path)
        try:
            st = status.sync_status(conn, self.settings)
            up = GaugeMetricFamily("passerelle_link_up", "1 while the MQTT link is up")
            up.add_metric([], 1.0 if st["link"]["connected"] else 0.0)
            yield up
            offline = GaugeMetricFamily(
                "passerelle_link_offline_seconds", "How long the link has been down (0 when up)"
            )
            offline.add_metric([], float(st["link"]["offline_seconds"] or 0))
            yield offline
            refused = GaugeMetricFamily(
                "passerelle_subscriptions_refused",
                "Topic filters the broker refused to the sync worker (asked for again)",
            )
            refused.add_metric([], float(len(st["link"].get("subscriptions_refused") or {})))
            yield refused
            backlog = GaugeMetricFamily("passerelle_outbox_backlog", "Up-events not yet acked")
            backlog.add_metric([], float(st["outbox"]["backlog"]))
            yield backlog
            age = GaugeMetricFamily(
                "passerelle_outbox_oldest_age_seconds", "Age of the oldest unacknowledged up-event"
            )
            age.add_metric([], float(st["outbox"]["oldest_unsent_age_seconds"] or 0))
            yield age
            seq = GaugeMetricFamily(
                "passerelle_inbox_last_sequence",
                "Last sequence applied per down-stream",
                labels=["source"],
            )
            behind = GaugeMetricFamily(
                "passerelle_inbox_behind", "Events announced but not applied", labels=["source"]
            )
            gaps = GaugeMetricFamily(
                "passerelle_inbox_gaps_fetched",
                "Events fetched from the backfill endpoint",
                labels=["source"],
            )
            for s in st["inbox"]["streams"]:
                seq.add_metric([s["source"]], float(s["last_sequence"]))
                behind.add_metric([s["source"]], float(s["behind"]))
                gaps.add_metric([s["source"]], float(s["gaps_fetched"]))
            yield seq
            yield behind
            yield gaps
            dead = GaugeMetricFamily("passerelle_dead_letters", "Down-events refused as invalid")
            dead.add_metric([], float(st["inbox"]["dead_letters"]))
            yield dead
            neg = GaugeMetricFamily(
                "passerelle_negative_balances", "Members whose merged points balance is below zero"
            )
            neg.add_metric([], float(st["loyalty"]["negative_balances"]))
            yield neg
            for extra in EXTRA_COLLECTORS:
                yield from extra(conn, self.settings)
        finally:
            conn.close()


def render(settings: Settings) -> bytes:
    registry = CollectorRegistry()
    registry.register(StoreCollector(settings))
    mp_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if mp_dir and Path(mp_dir).is_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(registry) + generate_latest(REGISTRY)
