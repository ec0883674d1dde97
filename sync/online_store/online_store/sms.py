"""SMS in and out: E.164 numbers, the gateway interface and its two adapters.

- ``HttpSmsGateway`` speaks the HTTP API shape most SMS gateways share (Twilio's
  ``POST /2010-04-01/Accounts/{account}/Messages.json`` with ``From``, ``To``, ``Body`` as a
  form, HTTP Basic authentication, JSON answer with the message ``sid``); inbound messages
  reach the online store as the same kind of form on ``POST /sms/inbound``.
- ``DemoSmsGateway`` sends nothing: the "sent messages" page shows the ``sms_out`` rows.

Outgoing texts are an outbox (``sms_out``) written in the transaction that decided to send
them; the dispatcher (``dispatch.py``) sends them after the commit and marks each sent with the
gateway's id, so a crash never loses one and a retry never depends on the web request.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

import phonenumbers

REGIONS = {"fr": "FR", "en": "GB"}


def e164(raw: str, locale: str = "fr") -> str | None:
    """A typed number (``06 12 34 56 78``, ``+44 7700 900123``) in E.164, or None if it is not
    a valid number; a number without ``+`` is read in the shopper's country (fr → FR)."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        return None
    try:
        number = phonenumbers.parse(text, REGIONS.get(locale, "FR"))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def locale_of_number(number: str) -> str:
    """The language to answer an unknown number in: French for French numbers, else English."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return "fr"
    return "fr" if region in ("FR", "BE", "CH", "LU", "MC") else "en"


class SmsError(Exception):
    """The gateway refused or could not be reached; the text stays in the outbox."""


class SmsGateway(Protocol):
    """Send one text; returns the gateway's message id. Raises SmsError."""

    def send(self, to: str, body: str) -> str: ...


class DemoSmsGateway:
    """The demo's gateway: nothing leaves the machine, the sent-messages page shows it."""

    def send(self, to: str, body: str) -> str:
        return "demo"


@dataclass(frozen=True)
class HttpSmsGateway:
    """A real gateway's HTTP API: ``{base_url}/2010-04-01/Accounts/{account}/Messages.json``."""

    base_url: str
    account: str
    token: str
    sender: str
    timeout: float = 10.0

    def send(self, to: str, body: str) -> str:
        url = (
            f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{urllib.parse.quote(self.account)}/Messages.json"
        )
        form = urllib.parse.urlencode({"From": self.sender, "To": to, "Body": body}).encode()
        auth = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the operator's configured gateway URL
            url,
            data=form,
            method="POST",
            headers={
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                answer = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SmsError(f"gateway answered {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise SmsError(f"gateway unreachable: {exc}") from exc
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not sid:
            raise SmsError("gateway answer has no message sid")
        return sid


def gateway_from_url(url: str | None) -> SmsGateway:
    """``demo`` (or nothing) → the demo gateway; ``https://ACCOUNT:TOKEN@host/?from=+336...``
    → the HTTP gateway."""
    if not url or url == "demo":
        return DemoSmsGateway()
    u = urllib.parse.urlparse(url)
    sender = urllib.parse.parse_qs(u.query).get("from", [""])[0]
    if u.scheme not in ("http", "https") or not u.hostname or not u.username or not sender:
        raise ValueError("--sms-gateway: expected demo or https://ACCOUNT:TOKEN@host/?from=+33...")
    port = f":{u.port}" if u.port else ""
    return HttpSmsGateway(
        base_url=f"{u.scheme}://{u.hostname}{port}{u.path}",
        account=urllib.parse.unquote(u.username),
        token=urllib.parse.unquote(u.password or ""),
        sender=sender,
    )
