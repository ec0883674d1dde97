"""Real e-mail: the rows of ``sent_messages`` sent over SMTP (``smtplib``).

Building a message (its subject, text, code) is the business of whoever writes the
``sent_messages`` row (coupons, orders, campaigns); sending it is this module's, after the
transaction that wrote it committed (``dispatch.py`` calls ``send``). The connection's security
and credentials come from the settings: ``smtp://`` (plain, for a local relay or the test
server), ``smtp+starttls://`` (STARTTLS, port 587) or ``smtps://`` (TLS from the first byte,
port 465), with ``user:password@`` when the server wants a login, and ``?cafile=/path/ca.pem``
when the relay's certificate comes from a private authority (else the system's CAs decide).
The server's certificate and name are always checked.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None
    password: str | None
    sender: str
    timeout: float = 10.0
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str, sender: str) -> MailSettings:
        u = urlparse(url)
        if u.scheme not in DEFAULT_PORTS or not u.hostname:
            raise ValueError(
                f"--smtp-url {url!r}: expected smtp://, smtp+starttls:// or smtps://host:port"
            )
        if "@" not in sender:
            raise ValueError(f"--mail-from {sender!r}: expected an e-mail address")
        security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[u.scheme]
        cafile = parse_qs(u.query).get("cafile", [None])[0]
        return cls(
            host=u.hostname,
            port=u.port or DEFAULT_PORTS[u.scheme],
            security=security,
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            sender=sender,
            cafile=cafile,
        )


def build(settings: MailSettings, row: Any) -> EmailMessage:
    """A ``sent_messages`` row as an e-mail (plain text; the code on its own line)."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = row["to_address"]
    msg["Subject"] = row["subject"]
    msg["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[1])
    body = row["body"]
    if row["code"] and row["code"] not in body:
        body += f"\n\n{row['code']}"
    msg.set_content(body)
    return msg


def send(settings: MailSettings, messages: list[EmailMessage]) -> list[str | None]:
    """Send some messages over one SMTP connection → per message, None (accepted) or why the
    server refused that one (a bad recipient: retrying will not help). Raises
    ``smtplib.SMTPException`` or ``OSError`` when the session itself fails (the caller keeps
    them all for a retry)."""
    context = ssl.create_default_context(cafile=settings.cafile)
    smtp: smtplib.SMTP
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        results: list[str | None] = []
        for msg in messages:
            try:
                smtp.send_message(msg)
                results.append(None)
            except smtplib.SMTPRecipientsRefused as exc:  # that address alone
                results.append(str(exc)[:300])
            except smtplib.SMTPDataError as exc:
                if exc.smtp_code < 500:
                    raise  # a temporary refusal: the whole batch again later
                results.append(str(exc)[:300])
    except BaseException:
        # No polite QUIT on a failed session: after a refused certificate the socket is
        # mid-handshake, and waiting for the answer to QUIT would only wait for the timeout.
        smtp.close()
        raise
    smtp.quit()
    return results
