"""The dispatcher: sends, after their transaction committed, the e-mails (``sent_messages``
over SMTP) and the texts (``sms_out`` through the gateway) that the shop wrote.

One thread, woken by the shop after each change (and every second anyway). A message is
marked sent only once the SMTP server or the gateway accepted it; a failed session leaves
them for the next round (at most ``MAX_ATTEMPTS``); an address the server refuses is marked
``refused`` and does not hold back the others. A crash between "accepted" and "marked"
sends that one again: at least once, as every mail system is.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass
from typing import Any

from online_store import db, mailer
from online_store.sms import SmsError, SmsGateway, gateway_from_url

log = logging.getLogger("passerelle.online_store")
MAX_ATTEMPTS = 10
BATCH = 50


@dataclass(frozen=True)
class Outreach:
    """How the online store reaches shoppers (``python -m online_store`` options).

    ``smtp_url`` None: e-mails are only written to the sent-messages page. ``sms_gateway``
    ``demo``: texts only on that page. ``public_url``: the address in the SMS links (default:
    the address it serves on). ``sms_token``: the secret the gateway's inbound webhook sends.
    """

    smtp_url: str | None = None
    mail_from: str = "boutique@passerelle.example"
    sms_gateway: str | None = "demo"
    public_url: str | None = None
    sms_token: str = ""

    def mail_settings(self) -> mailer.MailSettings | None:
        return (
            mailer.MailSettings.from_url(self.smtp_url, self.mail_from) if self.smtp_url else None
        )


class Dispatcher:
    def __init__(self, db_path: str, outreach: Outreach) -> None:
        self.db_path = db_path
        self.mail = outreach.mail_settings()  # checked here: a bad URL fails at start
        self.gateway: SmsGateway = gateway_from_url(outreach.sms_gateway)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.failed = False  # the last round met a failure: the thread waits a little

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="online-dispatch", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self) -> None:
        conn = db.connect(self.db_path)
        try:
            while not self._stop.is_set():
                self._wake.wait(1.0)
                self._wake.clear()
                try:
                    self.send_pending(conn)
                except Exception:  # the thread must outlive a bad moment
                    log.exception("dispatching messages")
                    self.failed = True
                if self.failed:
                    self._stop.wait(2)
        finally:
            conn.close()

    def send_pending(self, conn: Any) -> tuple[int, int]:
        """One round: (e-mails sent, texts sent)."""
        self.failed = False
        return (self._mails(conn) if self.mail else 0), self._texts(conn)

    def _mark_mail(self, conn: Any, ids: list[int], status: str, error: str | None) -> None:
        with db.write(conn):
            for message_id in ids:
                conn.execute(
                    "INSERT INTO mail_deliveries (message_id, status, attempts, last_error, "
                    "updated_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
                    "status = excluded.status, attempts = mail_deliveries.attempts + 1, "
                    "last_error = excluded.last_error, updated_at = excluded.updated_at",
                    (message_id, status, error, db.now_iso()),
                )

    def _mails(self, conn: Any) -> int:
        assert self.mail is not None
        rows = conn.execute(
            "SELECT m.* FROM sent_messages m LEFT JOIN mail_deliveries d ON d.message_id = m.id "
            "WHERE d.message_id IS NULL OR (d.status = 'retry' AND d.attempts < ?) "
            "ORDER BY m.id LIMIT ?",
            (MAX_ATTEMPTS, BATCH),
        ).fetchall()
        if not rows:
            return 0
        sendable = [r for r in rows if "@" in (r["to_address"] or "")]
        skipped = [r["id"] for r in rows if r not in sendable]
        if skipped:
            self._mark_mail(conn, skipped, "no_address", None)
        if not sendable:
            return 0
        try:
            results = mailer.send(self.mail, [mailer.build(self.mail, r) for r in sendable])
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("SMTP: %s (will retry)", exc)
            self._mark_mail(conn, [r["id"] for r in sendable], "retry", str(exc)[:300])
            self.failed = True
            return 0
        sent = [r["id"] for r, error in zip(sendable, results, strict=True) if error is None]
        self._mark_mail(conn, sent, "sent", None)
        for r, error in zip(sendable, results, strict=True):
            if error is not None:  # that address is refused: never again, say so
                log.warning("SMTP refused message %s: %s", r["id"], error)
                self._mark_mail(conn, [r["id"]], "refused", error)
        return len(sent)

    def _texts(self, conn: Any) -> int:
        rows = conn.execute(
            "SELECT * FROM sms_out WHERE sent_at IS NULL AND attempts < ? "
            "ORDER BY created_at, sms_id LIMIT ?",
            (MAX_ATTEMPTS, BATCH),
        ).fetchall()
        sent = 0
        for r in rows:
            try:
                provider_id, error = self.gateway.send(r["to_number"], r["body"]), None
            except SmsError as exc:
                provider_id, error = None, str(exc)[:300]
            with db.write(conn):
                conn.execute(
                    "UPDATE sms_out SET attempts = attempts + 1, sent_at = ?, provider_id = ?, "
                    "last_error = ? WHERE sms_id = ?",
                    (db.now_iso() if provider_id else None, provider_id, error, r["sms_id"]),
                )
            if provider_id is None:
                log.warning("SMS gateway: %s (will retry)", error)
                self.failed = True
                break
            sent += 1
        return sent
