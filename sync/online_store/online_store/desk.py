"""The campaign side of ``OnlineStore`` for programs and tests (``store.campaigns``): each
call is one write transaction, after which the publisher and the dispatcher are woken. The
web pages (``campaign_web.py``) call the same modules."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Any, Protocol

from online_store import audience, campaigns, landing, profiles, report
from online_store.dispatch import Dispatcher, Outreach


class Store(Protocol):
    """What the campaign side needs of ``OnlineStore`` (named here, not imported: the
    service builds the desk)."""

    outreach: Outreach
    dispatcher: Dispatcher

    def connection(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _change(self, fn: Any, *args: Any, **kwargs: Any) -> Any: ...


class CampaignDesk:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _change(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = self.store._change(fn, *args, **kwargs)
        self.store.dispatcher.wake()
        return result

    def create(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._change(lambda conn: campaigns.create(conn, **fields))
        return result

    def get(self, campaign_id: str) -> dict[str, Any]:
        with self.store.connection() as conn:
            return campaigns.get(conn, campaign_id)

    def by_keyword(self, keyword: str) -> dict[str, Any]:
        with self.store.connection() as conn:
            row = conn.execute(
                "SELECT campaign_id FROM campaigns WHERE keyword = ?", (keyword.upper(),)
            ).fetchone()
            return campaigns.get(conn, row[0] if row else "")

    def sms_inbound(self, from_number: str, body: str, public_url: str = "") -> dict[str, Any]:
        url = public_url or self.store.outreach.public_url or "http://localhost"
        result: dict[str, Any] = self._change(campaigns.inbound, from_number, body, url)
        return result

    def sign_up(self, slug: str, form: dict[str, Any], lang: str = "fr") -> dict[str, Any]:
        """The landing page's form, without the page (LandingInvalid for bad fields)."""
        with self.store.connection() as conn:
            c = campaigns.by_slug(conn, slug)
        s = landing.validate(form, lang, len(c["options"]))
        result: dict[str, Any] = self._change(landing.sign_up, c, s, lang, None)
        return result

    def run_audience(self, campaign_id: str, rule: dict[str, Any] | None = None) -> dict[str, Any]:
        def apply(conn: Any) -> dict[str, Any]:
            if rule is not None:
                campaigns.set_audience(conn, campaign_id, rule)
            return audience.run(conn, campaign_id)

        result: dict[str, Any] = self._change(apply)
        return result

    def set_consents(self, customer_id: str, **wanted: bool) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._change(profiles.set_consents, customer_id, wanted)
        return result

    def report(self, campaign_id: str) -> dict[str, Any]:
        with self.store.connection() as conn:
            return report.build(conn, campaign_id)

    def outbox(self) -> dict[str, list[dict[str, Any]]]:
        """What was received and sent: SMS in and out, e-mails with their SMTP state."""
        with self.store.connection() as conn:
            return {
                "sms_in": [dict(r) for r in conn.execute("SELECT * FROM sms_in")],
                "sms_out": [dict(r) for r in conn.execute("SELECT * FROM sms_out")],
                "mail": [
                    dict(r)
                    for r in conn.execute(
                        "SELECT m.*, d.status FROM sent_messages m "
                        "LEFT JOIN mail_deliveries d ON d.message_id = m.id ORDER BY m.id"
                    )
                ],
            }
