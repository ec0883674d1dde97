"""The print worker (part of ``passerelle run``): sends queued jobs, in order, per printer.

Guarantees, and the one place where a duplicate is preferred over a loss:

- A job is in the database before any byte is sent (``enqueue`` runs in the sale's
  transaction). It leaves the open states (queued, waiting, printing) only as ``done``, when
  the printer took the bytes, or ``failed``, when it can never be drawn (bad data); a staff
  member can retry either.
- Jobs of one printer go out one at a time in job order: a job that waits (printer
  unreachable, offline, out of paper) holds the ones behind it, so receipts never come out
  shuffled. Each printer has its own thread, so a printer that hangs delays only itself.
- The job is marked ``printing`` in its own commit right before the bytes go out, and
  ``done`` right after the printer confirmed them (a real-time status request sent behind
  the job is answered only once the printer read everything before it). If the process dies
  between the two (fault point ``print_after_send_before_done``), nothing can tell whether
  the paper came out: at the next start such a job is printed again, headed "reprinted after
  an interruption" and without the cash-drawer kick. A lost receipt (a customer without
  proof of purchase, a pickup slip never seen) costs more than a marked duplicate; the
  window is one SQLite commit wide.
- A job whose role no configured printer takes waits visibly (status ``waiting`` and
  ``last_error``) until a printer for it is configured.
- One worker per database: an advisory lock (``<db>.print.lock``) keeps a second worker
  (a split deployment started twice) from printing the same jobs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from edge.config import Settings
from edge.store import db, faults
from hardware.config import PrinterConfig
from hardware.printers import Link, PrinterError, PrinterStatus, probe
from hardware.render import Renderer, RenderError

log = logging.getLogger("passerelle.print")

BACKOFF_FIRST = 0.5  # seconds; doubled per attempt, capped by print_retry_max_seconds
IDLE_POLL = 0.2  # seconds between looks at the queue when nothing is due


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def backoff(attempts: int, cap: float) -> float:
    return float(min(cap, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def role_owners(settings: Settings) -> dict[str, str]:
    """Role → the printer that takes its jobs: the first one listed with that role."""
    owners: dict[str, str] = {}
    for p in settings.printers:
        for role in p.roles:
            owners.setdefault(role, p.name)
    return owners


def recover(conn: sqlite3.Connection) -> int:
    """At start: jobs left ``printing`` by a dead worker go back to the queue, marked."""
    with db.write(conn):
        cur = conn.execute(
            "UPDATE print_jobs SET status = 'queued', interrupted = 1, next_try_at = NULL, "
            "last_error = 'the worker stopped while sending; printed again, marked as such' "
            "WHERE status = 'printing'"
        )
    if cur.rowcount:
        log.warning("%d print job(s) interrupted while sending will be printed again", cur.rowcount)
    return cur.rowcount


def hold_orphans(conn: sqlite3.Connection, settings: Settings) -> int:
    """Jobs for a role no printer takes: waiting, with the reason, never silently dropped."""
    roles = list(role_owners(settings))
    marks = ",".join("?" * len(roles)) or "''"
    found = conn.execute(
        f"SELECT 1 FROM print_jobs WHERE status = 'queued' AND printer_role NOT IN ({marks}) "
        f"LIMIT 1",
        roles,
    ).fetchone()
    if found is None:  # the usual case: no write transaction every second for nothing
        return 0
    with db.write(conn):
        cur = conn.execute(
            f"UPDATE print_jobs SET status = 'waiting', next_try_at = NULL, "
            f"last_error = 'no printer is configured for role ' || printer_role "
            f"WHERE status = 'queued' AND printer_role NOT IN ({marks})",
            roles,
        )
    return cur.rowcount


def record_state(
    conn: sqlite3.Connection,
    name: str,
    status: PrinterStatus | None,
    error: PrinterError | None,
) -> None:
    now = _iso(_now())
    ok = error is None
    with db.write(conn):
        conn.execute(
            "INSERT INTO printer_state (name, ok, online, paper, last_error, checked_at, "
            "last_ok_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET "
            "ok = excluded.ok, online = excluded.online, paper = excluded.paper, "
            "last_error = excluded.last_error, checked_at = excluded.checked_at, "
            "last_ok_at = COALESCE(excluded.last_ok_at, printer_state.last_ok_at)",
            (
                name,
                int(ok),
                None if status is None or status.online is None else int(status.online),
                status.paper if status else None,
                error.message if error else None,
                now,
                now if ok else None,
            ),
        )


class PrinterLoop:
    """One printer's queue: the oldest open job of its roles, sent when due."""

    def __init__(self, settings: Settings, cfg: PrinterConfig, roles: list[str]) -> None:
        self.settings = settings
        self.cfg = cfg
        self.roles = roles
        self.renderer_by_locale: dict[str, Renderer] = {}
        self.last_probe = 0.0
        self.last_logged: str | None = None

    def renderer(self, locale: str) -> Renderer:
        if locale not in self.renderer_by_locale:
            self.renderer_by_locale[locale] = Renderer(
                locale=locale,
                width=self.cfg.width,
                profile=self.cfg.profile,
                codepage=self.cfg.codepage,
                currency=self.settings.currency,
                timezone=self.settings.timezone,
            )
        return self.renderer_by_locale[locale]

    def head(self, conn: sqlite3.Connection) -> sqlite3.Row | None:
        if not self.roles:
            return None
        marks = ",".join("?" * len(self.roles))
        row: sqlite3.Row | None = conn.execute(
            f"SELECT * FROM print_jobs WHERE status IN ('queued', 'waiting', 'printing') "
            f"AND printer_role IN ({marks}) ORDER BY job_id LIMIT 1",
            self.roles,
        ).fetchone()
        return row

    def step(self, conn: sqlite3.Connection) -> bool:
        """Send the head job if it is due. True when something was tried."""
        job = self.head(conn)
        if job is None:
            self.probe_if_idle(conn)
            return False
        if job["next_try_at"] and job["next_try_at"] > _iso(_now()):
            return False
        self.send(conn, job)
        return True

    def probe_if_idle(self, conn: sqlite3.Connection) -> None:
        now = _now().timestamp()
        if now - self.last_probe < self.settings.print_status_interval:
            return
        self.last_probe = now
        status, error = probe(self.cfg)
        record_state(conn, self.cfg.name, status, error)

    def job_bytes(self, job: sqlite3.Row) -> bytes:
        data: dict[str, Any] = json.loads(job["data"])
        if not data.get("store_name"):
            data["store_name"] = self.settings.store_name
        if job["reprint_of"] is not None:
            data["reprint_of"] = job["reprint_of"]
        # Still 'printing' here means an earlier try in this process broke after the send.
        interrupted = bool(job["interrupted"]) or job["status"] == "printing"
        if interrupted:
            data["interrupted"] = True
        locale = job["locale"] or self.settings.locale
        kick = bool(job["open_drawer"]) and self.cfg.cash_drawer and not interrupted
        return self.renderer(locale).render(
            job["document"], data, open_drawer=kick, drawer_pin=self.cfg.drawer_pin
        )

    def send(self, conn: sqlite3.Connection, job: sqlite3.Row) -> None:
        job_id = job["job_id"]
        try:
            payload = self.job_bytes(job)
        except (RenderError, ValueError) as exc:
            self.finish(conn, job_id, "failed", f"cannot draw this document: {exc}")
            return
        status: PrinterStatus | None = None
        try:
            with Link(self.cfg) as link:
                status = link.status()
                problem = status.problem()
                if problem is not None:
                    raise problem
                self.mark_printing(conn, job_id)
                link.send(payload)
                link.confirm()
                faults.point("print_after_send_before_done")
                self.finish(conn, job_id, "done", None)
        except PrinterError as exc:
            record_state(conn, self.cfg.name, status, exc)
            if exc.transient:
                self.wait(conn, job, exc)
            else:
                self.finish(conn, job_id, "failed", exc.message)
            return
        except sqlite3.Error:
            raise
        except Exception as unexpected:  # a bug must fail the job visibly, not kill the loop
            log.exception("print job %s: unexpected error", job_id)
            err = PrinterError("unexpected", f"{type(unexpected).__name__}: {unexpected}")
            record_state(conn, self.cfg.name, status, err)
            self.finish(conn, job_id, "failed", err.message)
            return
        record_state(conn, self.cfg.name, status, None)
        self.last_probe = _now().timestamp()
        if self.last_logged is not None:
            log.info("printer %s is back", self.cfg.name)
            self.last_logged = None

    def mark_printing(self, conn: sqlite3.Connection, job_id: int) -> None:
        with db.write(conn):
            conn.execute(
                "UPDATE print_jobs SET status = 'printing', printer = ?, attempts = attempts + 1, "
                "interrupted = interrupted OR status = 'printing' WHERE job_id = ?",
                (self.cfg.name, job_id),
            )

    def finish(self, conn: sqlite3.Connection, job_id: int, status: str, error: str | None) -> None:
        with db.write(conn):
            conn.execute(
                "UPDATE print_jobs SET status = ?, printer = ?, last_error = ?, "
                "next_try_at = NULL, done_at = CASE WHEN ? = 'done' THEN ? END WHERE job_id = ?",
                (status, self.cfg.name, error, status, _iso(_now()), job_id),
            )
        if status == "failed":
            log.error("print job %s failed: %s", job_id, error)

    def wait(self, conn: sqlite3.Connection, job: sqlite3.Row, exc: PrinterError) -> None:
        current = conn.execute(
            "SELECT status, attempts FROM print_jobs WHERE job_id = ?", (job["job_id"],)
        ).fetchone()
        # A job that reached 'printing' may be on paper in part: if the bytes may have gone
        # out, its retry is marked like one found after a crash (and kicks no drawer).
        sent = current is not None and current["status"] == "printing"
        attempts = (current["attempts"] if current is not None else job["attempts"]) + (
            0 if sent else 1
        )
        delay = backoff(attempts, self.settings.print_retry_max_seconds)
        with db.write(conn):
            conn.execute(
                "UPDATE print_jobs SET status = 'waiting', printer = ?, attempts = ?, "
                "last_error = ?, next_try_at = ?, interrupted = interrupted OR ? "
                "WHERE job_id = ?",
                (
                    self.cfg.name,
                    attempts,
                    exc.message,
                    _iso(_now() + timedelta(seconds=delay)),
                    int(sent and exc.kind in ("send_failed", "unconfirmed")),
                    job["job_id"],
                ),
            )
            # The jobs behind it wait for the same printer: they say so too.
            marks = ",".join("?" * len(self.roles))
            conn.execute(
                f"UPDATE print_jobs SET status = 'waiting', printer = ?, last_error = ?, "
                f"next_try_at = ? WHERE status IN ('queued', 'waiting') AND job_id > ? "
                f"AND printer_role IN ({marks})",
                (
                    self.cfg.name,
                    f"waiting behind job {job['job_id']}: {exc.message}",
                    _iso(_now() + timedelta(seconds=delay)),
                    job["job_id"],
                    *self.roles,
                ),
            )
        level = logging.WARNING if exc.message != self.last_logged else logging.DEBUG
        self.last_logged = exc.message
        log.log(
            level,
            "print job %s on %s waits %.1f s: %s",
            job["job_id"],
            self.cfg.name,
            delay,
            exc.message,
        )

    def run(self, stop: threading.Event) -> None:
        conn = db.connect(self.settings.db_path)
        try:
            while not stop.is_set():
                try:
                    busy = self.step(conn)
                except Exception:  # the database busy past its timeout, a full disk, a bug
                    log.exception("print loop of %s: error; trying again in 1 s", self.cfg.name)
                    stop.wait(1.0)
                    continue
                if not busy:
                    stop.wait(IDLE_POLL)
        finally:
            conn.close()


def _lock(db_path: Path, stop: threading.Event) -> IO[bytes] | None:
    """The advisory lock of the one print worker of this database (None if stopped first)."""
    fh = open(str(db_path) + ".print.lock", "ab")  # noqa: SIM115 - held for the worker's life
    warned = False
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if not warned:
                log.warning("another print worker holds %s.print.lock; waiting", db_path)
                warned = True
            if stop.wait(1.0):
                fh.close()
                return None


def run(settings: Settings, stop: threading.Event) -> None:
    """Entry point for ``edge.runner``: one thread per printer, until ``stop`` is set."""
    lock = _lock(Path(settings.db_path), stop)
    if lock is None:
        return
    try:
        conn = db.open_database(settings.db_path)
        try:
            recover(conn)
            names = [p.name for p in settings.printers]
            with db.write(conn):
                marks = ",".join("?" * len(names)) or "''"
                conn.execute(f"DELETE FROM printer_state WHERE name NOT IN ({marks})", names)
            owners = role_owners(settings)
            loops = [
                PrinterLoop(settings, p, [r for r, n in owners.items() if n == p.name])
                for p in settings.printers
            ]
            threads = [
                threading.Thread(target=lp.run, args=(stop,), name=f"print-{lp.cfg.name}")
                for lp in loops
            ]
            for t in threads:
                t.start()
            if not settings.printers:
                log.warning("no printer configured: print jobs will wait")
            while not stop.is_set():
                hold_orphans(conn, settings)
                stop.wait(1.0)
            for t in threads:
                t.join(timeout=max(5.0, max((p.timeout for p in settings.printers), default=0) * 3))
        finally:
            conn.close()
    finally:
        lock.close()
