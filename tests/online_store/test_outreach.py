"""Messages that really leave: e-mails over SMTP to a real server (aiosmtpd), sent only after
their transaction and again after a failure, and texts through an HTTP gateway shaped like
a real one (checked by a small HTTP server that records what it got)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from online_store import OnlineStore, campaign_demo, db, demo, shop
from online_store.dispatch import Dispatcher, Outreach
from online_store.mailer import MailSettings
from online_store.sms import HttpSmsGateway, SmsError, e164, gateway_from_url
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.support.broker import free_port
from tests.support.smtp import Inbox, smtp_server
from tests.support.waiting import wait_until


def demo_store(path: str, outreach: Outreach) -> OnlineStore:
    s = OnlineStore(path, "mqtt://127.0.0.1:1", demo_data=True, outreach=outreach)
    with db.write(s._conn):
        shop.publish_catalogue(s._conn)
        demo.seed(s._conn)
        campaign_demo.seed(s._conn)
    return s


def test_coupon_email_over_smtp_after_a_failed_attempt(tmp_path: Path, online_db: str) -> None:
    port = free_port()  # nothing listens yet: the first attempt fails
    store = demo_store(online_db, Outreach(smtp_url=f"smtp://127.0.0.1:{port}"))
    offer = store.create_offer(title_fr="−10 %", title_en="10% off", kind="percent", value=10)
    coupon = store.issue_coupon(offer["offer_id"], "c-0001")  # Élodie consented to e-mail
    store.issue_coupon(offer["offer_id"], "c-0003")  # François did not: nothing to send
    with store.connection() as conn:
        assert store.dispatcher.send_pending(conn) == (0, 0)
        (state,) = conn.execute("SELECT status, attempts FROM mail_deliveries").fetchall()
        assert tuple(state) == ("retry", 1)
    inbox = Inbox()  # now the server comes up, on the configured port
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with store.connection() as conn:
            assert store.dispatcher.send_pending(conn) == (1, 0)
            assert store.dispatcher.send_pending(conn) == (0, 0)  # sent once, not twice
    finally:
        controller.stop()
    (mail,) = inbox.to("elodie.durand@example.fr")
    assert coupon["code"] in mail.get_content() and mail["From"] == "boutique@passerelle.example"
    assert len(inbox.messages) == 1
    store._conn.close()


def test_dispatcher_thread_sends_what_the_shop_wrote(tmp_path: Path, online_db: str) -> None:
    with smtp_server() as (inbox, url):
        store = demo_store(online_db, Outreach(smtp_url=url, mail_from="shop@x.example"))
        store.dispatcher.start()
        try:
            done = store.campaigns.sign_up(
                campaign_demo.SLUG,
                {"first_name": "Zoé", "last_name": "M", "email": "zoe@example.fr", "answer": "1",
                 "consent_email": "on", "send_email": "on"},
            )  # fmt: skip
            wait_until(lambda: inbox.to("zoe@example.fr"), 10, what="the coupon e-mail")
        finally:
            store.dispatcher.stop()
            store._conn.close()
    (mail,) = inbox.to("zoe@example.fr")
    assert done["coupon"]["code"] in mail.get_content()
    assert mail["Subject"] == "−20 % sur le thé vert bio"  # the shop's coupon letter


class Gateway:
    """A stand-in for an SMS provider's API: records each request, answers like one."""

    def __init__(self, status: int = 201) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        self.server = make_server("127.0.0.1", 0, self.app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application  # type: ignore[arg-type]
    def app(self, request: Request) -> Response:
        self.requests.append(
            {"path": request.path, "auth": request.headers.get("Authorization"),
             "form": parse_qs(request.get_data(as_text=True))}
        )  # fmt: skip
        return Response(json.dumps({"sid": "SM123"}), status=self.status)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.server.shutdown()


def test_http_gateway_speaks_the_providers_api(gateway: Gateway) -> None:
    gw = gateway_from_url(
        f"http://AC42:s3cret@127.0.0.1:{gateway.server.server_port}/?from=%2B33700000000"
    )
    assert isinstance(gw, HttpSmsGateway)
    assert gw.send("+33611223344", "Bonjour") == "SM123"
    (req,) = gateway.requests
    assert req["path"] == "/2010-04-01/Accounts/AC42/Messages.json"
    assert req["auth"] == "Basic " + base64.b64encode(b"AC42:s3cret").decode()
    assert req["form"] == {"From": ["+33700000000"], "To": ["+33611223344"], "Body": ["Bonjour"]}
    gateway.status = 400
    with pytest.raises(SmsError, match="400"):
        gw.send("+33611223344", "x")


def test_texts_leave_through_the_gateway_once(
    tmp_path: Path, online_db: str, gateway: Gateway
) -> None:
    url = f"http://AC42:t@127.0.0.1:{gateway.server.server_port}/?from=%2B33700000000"
    store = demo_store(online_db, Outreach(sms_gateway=url))
    store.campaigns.sms_inbound("+33611223344", "THE", "https://shop.example")
    with store.connection() as conn:
        assert store.dispatcher.send_pending(conn) == (0, 1)
        assert store.dispatcher.send_pending(conn) == (0, 0)
    (req,) = gateway.requests
    assert (
        req["form"]["To"] == ["+33611223344"]
        and "https://shop.example/c/" in req["form"]["Body"][0]
    )
    assert store.campaigns.outbox()["sms_out"][0]["provider_id"] == "SM123"
    store._conn.close()


def test_settings_are_checked() -> None:
    assert MailSettings.from_url("smtps://u:p%40w@mail.example", "a@b.example").port == 465
    s = MailSettings.from_url("smtp+starttls://mail.example", "a@b.example")
    assert (s.security, s.port, s.username) == ("starttls", 587, None)
    for bad in ("http://mail.example", "smtp://"):
        with pytest.raises(ValueError, match="smtp-url"):
            MailSettings.from_url(bad, "a@b.example")
    with pytest.raises(ValueError, match="sms-gateway"):
        gateway_from_url("https://host/")
    with pytest.raises(ValueError, match="mail-from"):
        Dispatcher("x.db", Outreach(smtp_url="smtp://h", mail_from="nobody"))
    assert e164("06 12 34 56 78") == "+33612345678"
    assert e164("07911 123456", "en") == "+447911123456"
    assert e164("12") is None and e164("+33 1") is None


def test_a_text_from_the_command_line(
    tmp_path: Path, online_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from online_store import sms_cli

    store = demo_store(online_db, Outreach(sms_token="s3cret"))
    url = store.serve()
    try:
        assert sms_cli.main(["--url", url, "--from", "+33611223344", "THE"]) == 1  # no token
        assert "401" in capsys.readouterr().err
        args = ["--url", url, "--token", "s3cret", "--from", "+33611223344", "the"]
        assert sms_cli.main(args) == 0
        assert capsys.readouterr().out.startswith("keyword: −20 % sur le thé vert bio")
        assert sms_cli.main([*args[:-1], "STOP"]) == 0
        assert capsys.readouterr().out == "stop: no reply\n"
    finally:
        store.stop()


def test_starttls_and_credentials_from_the_settings(tmp_path: Path, online_db: str) -> None:
    """The relay wants STARTTLS and a login: the mailer checks its certificate (a private CA
    given in the settings), logs in, sends; without the login, or with a certificate it does
    not trust, it sends nothing and leaves the e-mail for a retry."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.deploy.tls import make_pki

    pki = make_pki(tmp_path / "pki")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(pki.server_cert, pki.server_key)

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"shop", b"p@ss")
        return AuthResult(success=ok)

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
        authenticator=check, auth_require_tls=True, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        for url, expected in (
            (f"smtp+starttls://localhost:{port}?cafile={pki.ca}", (0, 0)),  # no login
            (f"smtp+starttls://shop:p%40ss@localhost:{port}?cafile={pki.other_ca}", (0, 0)),
            (f"smtp+starttls://shop:p%40ss@localhost:{port}?cafile={pki.ca}", (1, 0)),
        ):
            store = demo_store(online_db, Outreach(smtp_url=url))
            if not store.campaigns.outbox()["mail"]:
                offer = store.create_offer(title_fr="x", title_en="x", kind="percent", value=5)
                store.issue_coupon(offer["offer_id"], "c-0001")
            with store.connection() as conn:
                assert store.dispatcher.send_pending(conn) == expected, url
            store._conn.close()
    finally:
        controller.stop()
    (mail,) = inbox.messages
    assert mail["To"] == "elodie.durand@example.fr"


def test_a_refused_address_does_not_hold_back_the_others(tmp_path: Path, online_db: str) -> None:
    class Picky(Inbox):
        async def handle_RCPT(  # noqa: N802
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address.startswith("james"):
                return "550 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    inbox, port = Picky(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = demo_store(online_db, Outreach(smtp_url=f"smtp://127.0.0.1:{port}"))
        offer = store.create_offer(title_fr="x", title_en="x", kind="percent", value=5)
        for member in ("c-0002", "c-0001"):  # James first: his mailbox is refused
            store.issue_coupon(offer["offer_id"], member)
        with store.connection() as conn:
            assert store.dispatcher.send_pending(conn) == (1, 0)
            assert store.dispatcher.send_pending(conn) == (0, 0)  # neither is sent again
        states = {m["to_address"]: m["status"] for m in store.campaigns.outbox()["mail"]}
        assert states == {"james@example.com": "refused", "elodie.durand@example.fr": "sent"}
        store._conn.close()
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["elodie.durand@example.fr"]
