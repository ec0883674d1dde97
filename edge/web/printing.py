"""Printers and the print queue: state, jobs, retry, receipt reprint.

The API never talks to a printer: it reads what the print worker recorded and writes jobs.
Registers the queue's readiness detail and metrics at import (the app imports the API).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from flask import Blueprint
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import ConfigDict, Field

from edge.config import Settings
from edge.errors import NotFound
from edge.printing import queue
from edge.sales import service as sales
from edge.store import audit, db
from edge.system import metrics
from edge.web import health
from edge.web.context import current_principal, get_db, settings
from edge.web.models import In, Out
from edge.web.routing import operation

bp = Blueprint("printing", __name__)


class PrinterOut(Out):
    name: str
    connection: str
    target: str = Field(description="host:port, usb ids, serial device or file")
    roles: list[str] = Field(description="the roles whose jobs this printer takes")
    width: int
    profile: str
    cash_drawer: bool
    ok: bool | None = Field(description="null until the worker has talked to it")
    online: bool | None
    paper: str | None
    last_error: str | None
    checked_at: str | None
    last_ok_at: str | None
    open_jobs: int


class PrinterList(Out):
    items: list[PrinterOut]
    unassigned_roles: list[str] = Field(description="roles no configured printer takes")


class PrintJob(Out):
    job_id: int
    document: str
    printer_role: str
    printer: str | None
    ref: str | None
    locale: str | None
    status: str
    attempts: int
    last_error: str | None
    next_try_at: str | None
    open_drawer: bool
    reprint_of: int | None
    requested_by: str | None
    interrupted: bool
    created_at: str
    done_at: str | None


class PrintJobList(Out):
    items: list[PrintJob]


class PrintJobQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    status: Literal["queued", "printing", "waiting", "done", "failed"] | None = None
    limit: int = Field(default=100, ge=1, le=500)


def printers_view(conn: Any, s: Settings) -> PrinterList:
    # Imported here: they bring python-escpos and its capability profiles (14 MB and half a
    # second of start-up), which only the print worker needs, into every API worker.
    from edge.printing.worker import role_owners
    from hardware.printers import describe

    states = queue.printer_states(conn)
    owners = role_owners(s)
    counts = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT printer_role, COUNT(*) FROM print_jobs "
            "WHERE status IN ('queued', 'printing', 'waiting') GROUP BY printer_role"
        )
    }
    items = []
    for p in s.printers:
        st = states.get(p.name, {})
        taken = [r for r, n in owners.items() if n == p.name]
        items.append(
            PrinterOut(
                name=p.name,
                connection=p.connection,
                target=describe(p),
                roles=taken,
                width=p.width,
                profile=p.profile,
                cash_drawer=p.cash_drawer,
                ok=None if not st else bool(st["ok"]),
                online=None if st.get("online") is None else bool(st["online"]),
                paper=st.get("paper"),
                last_error=st.get("last_error"),
                checked_at=st.get("checked_at"),
                last_ok_at=st.get("last_ok_at"),
                open_jobs=sum(counts.get(r, 0) for r in taken),
            )
        )
    return PrinterList(items=items, unassigned_roles=[r for r in queue.ROLES if r not in owners])


def _job_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFound(f"no print job {raw!r}", field="job_id")
    return int(raw)


@operation(
    bp,
    "/printers",
    name="printers.list",
    tags=["printing"],
    summary="Each configured printer with its last known state",
    responses={200: PrinterList},
)
def printers_list() -> PrinterList:
    return printers_view(get_db(), settings())


@operation(
    bp,
    "/print-jobs",
    name="print_jobs.list",
    tags=["printing"],
    summary="Print jobs, newest first, optionally of one status",
    query=PrintJobQuery,
    responses={200: PrintJobList},
)
def print_jobs_list(query: PrintJobQuery) -> PrintJobList:
    rows = queue.list_jobs(get_db(), status=query.status, limit=query.limit)
    return PrintJobList(items=[PrintJob(**r) for r in rows])


@operation(
    bp,
    "/print-jobs/<job_id>/retry",
    "POST",
    name="print_jobs.retry",
    tags=["printing"],
    summary="Send a waiting or failed job now (a printed one needs a reprint)",
    responses={200: PrintJob},
)
def print_jobs_retry(job_id: str) -> PrintJob:
    conn = get_db()
    who = current_principal()
    jid = _job_id(job_id)
    with db.write(conn):
        out = queue.retry(conn, jid)
        audit.record(conn, actor=who.name, role=who.role, action="print_job.retry", target=str(jid))
    return PrintJob(**out)


@operation(
    bp,
    "/sales/<sale_id>/receipt",
    "POST",
    name="sales.receipt",
    tags=["printing", "sales"],
    summary="Print a sale's receipt again (a new job marked as a copy; no drawer kick)",
    responses={201: PrintJob},
)
def sales_receipt(sale_id: str) -> tuple[PrintJob, int]:
    who = current_principal()
    out = sales.reprint_receipt(get_db(), sale_id, store_name=settings().store_name, actor=who)
    return PrintJob(**out), 201


# -- /readyz and /metrics -------------------------------------------------------------------


def readiness(conn: Any, _status: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    st = queue.queue_status(conn)
    detail = {
        "jobs_waiting": st["jobs"]["waiting"],
        "jobs_open": st["open"],
        "jobs_failed": st["jobs"]["failed"],
        "oldest_open_age_seconds": st["oldest_open_age_seconds"],
        "printers_failing": st["printers_failing"],
    }
    problem = None
    if st["printers_failing"]:
        problem = "printers_failing"
    elif st["jobs"]["waiting"] or st["jobs"]["failed"]:
        problem = "print_jobs_waiting"
    return "printing", detail, problem


def collect(conn: object, _settings: Settings) -> Iterator[Metric]:
    st = queue.queue_status(conn)  # type: ignore[arg-type]
    jobs = GaugeMetricFamily("passerelle_print_jobs", "Print jobs per status", labels=["status"])
    for name, count in st["jobs"].items():
        jobs.add_metric([name], float(count))
    yield jobs
    age = GaugeMetricFamily(
        "passerelle_print_oldest_open_age_seconds", "Age of the oldest job not yet printed"
    )
    age.add_metric([], float(st["oldest_open_age_seconds"] or 0))
    yield age
    up = GaugeMetricFamily(
        "passerelle_printer_up",
        "1 when the printer's last check or job succeeded",
        labels=["printer"],
    )
    for name, state in queue.printer_states(conn).items():  # type: ignore[arg-type]
        up.add_metric([name], float(state["ok"]))
    yield up


health.READINESS_EXTRAS.append(readiness)
metrics.EXTRA_COLLECTORS.append(collect)
