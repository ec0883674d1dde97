"""The whole cross-channel campaign, as the demo seeds tell it, with every real part: a text
with the keyword reaches the online store's SMS webhook and gets the landing page's link; the
shopper signs up on that page in Chromium at a phone's size, with their consent; the coupon
e-mail arrives at a real SMTP server (aiosmtpd); the edge (its sync worker a separate process,
over a real Mosquitto) learns the new member and the coupon; the kiosk shows it after a card
scan; the till redeems it; and the campaign report counts each step once."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from online_store import OnlineStore, campaign_demo
from online_store.auth import store_token
from online_store.dispatch import Outreach
from playwright.sync_api import expect
from werkzeug.serving import make_server

from edge.store import db
from edge.web.app import create_app
from tests.screens.conftest import (
    KIOSK_VIEWPORT,
    check_accessibility,
    copy_demo,
    pair_kiosk,
    scan,
)
from tests.support import proc
from tests.support.broker import Broker
from tests.support.smtp import Inbox, smtp_server
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TOKEN = "backfill-secret"
PHONE_VIEWPORT = {"width": 390, "height": 844}


@pytest.fixture
def mail() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def online(tmp_path: Path, mosquitto: Broker, mail: tuple[Inbox, str]) -> Iterator[OnlineStore]:
    store = OnlineStore(
        str(tmp_path / "online.db"),
        mosquitto.url,
        stores=["S001"],
        token=TOKEN,
        demo_data=True,
        outreach=Outreach(smtp_url=mail[1], sms_token="hook-secret"),
    ).start()
    store.web_url = store.serve()  # type: ignore[attr-defined]
    yield store
    store.stop()


@pytest.fixture
def edge(
    tmp_path: Path,
    mosquitto: Broker,
    online: OnlineStore,
    demo_db: tuple[Path, dict[str, Any]],
) -> Iterator[dict[str, Any]]:
    """The store edge (the demo shop): its API and screens in a thread, its sync worker as
    systemd runs it."""
    settings = {"store_id": "S001", "db_path": tmp_path / "store.db", "secret_key": "e2e"}
    seeded = copy_demo(demo_db, settings["db_path"])
    app = create_app({k.upper(): str(v) for k, v in settings.items()})
    conn = db.connect(settings["db_path"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    workers: list[Any] = []

    def start_worker() -> None:
        workers.append(
            proc.start(
                proc.passerelle("worker", "sync"),
                proc.env(
                    **settings,
                    mqtt_url=mosquitto.url,
                    online_store_url=online.web_url,  # type: ignore[attr-defined]
                    online_store_token=store_token(TOKEN, "S001"),  # its own (issue 19)
                ),
                tmp_path / f"worker{len(workers)}.log",
            )
        )

    def stop_worker() -> None:
        workers[-1].terminate()
        workers[-1].wait(timeout=30)

    start_worker()
    yield {
        "url": f"http://127.0.0.1:{server.server_port}",
        "conn": conn,
        "start_worker": start_worker,
        "stop_worker": stop_worker,
        **seeded,
    }
    for w in workers:
        if w.poll() is None:
            w.terminate()
            w.wait(timeout=30)
    server.shutdown()
    conn.close()


def test_the_campaign_from_the_text_to_the_till(
    online: OnlineStore, edge: dict[str, Any], mail: tuple[Inbox, str], browser: Any
) -> None:
    inbox, _ = mail
    web_url = online.web_url  # type: ignore[attr-defined]
    campaign = online.campaigns.by_keyword(campaign_demo.KEYWORD)

    # 1. The TV spot said "text THE": the gateway posts the text to the webhook.
    hook = f"{web_url}/sms/inbound"
    assert (
        requests.post(hook, data={"From": "+33611223344", "Body": "THE"}, timeout=10).status_code
        == 401
    )
    r = requests.post(
        hook,
        data={"From": "+33611223344", "Body": "the"},
        headers={"X-Passerelle-Token": "hook-secret"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["outcome"] == "keyword"
    # 2. The answer with the link leaves through the gateway (the demo's: the messages page).
    wait_until(lambda: all(s["sent_at"] for s in online.campaigns.outbox()["sms_out"]), 10,
               what="the reply sent")  # fmt: skip
    (reply,) = online.campaigns.outbox()["sms_out"]
    assert reply["to_number"] == "+33611223344"
    link = re.search(r"https?://\S+", reply["body"])
    assert link is not None

    # 3. The landing page on a phone: a bad field first (nothing saved), then the sign-up.
    ctx = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True,
                              locale="fr-FR")  # fmt: skip
    ctx.set_default_timeout(15_000)
    phone = ctx.new_page()
    phone.goto(link.group(0))
    expect(phone.locator("h1")).to_have_text("−20 % sur le thé vert bio")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    phone.fill("#first_name", "Zoé")
    phone.fill("#last_name", "Martin")
    phone.fill("#email", "zoe.martin@example.fr")
    phone.fill("#phone", "06 11 22 33 44")
    phone.select_option("#answer", "2")
    phone.check("#send_email")  # but no consent ticked: refused, in French, nothing saved
    phone.get_by_role("button", name="Recevoir mon bon").click()
    expect(phone.locator("#send_email-err")).to_contain_text("cochez l'accord e-mail")
    check_accessibility(phone)  # the form with its errors, as a screen reader meets it
    assert online.campaigns.report(campaign["campaign_id"])["funnel"][2]["count"] == 0
    phone.check("#consent_email")
    phone.get_by_role("button", name="Recevoir mon bon").click()
    expect(phone.locator("h1")).to_have_text("Merci Zoé !")
    code = phone.locator("#code").inner_text()
    card = re.search(r"PC\d{12}", phone.locator("#card").inner_text())
    assert card is not None
    ctx.close()

    # 4. The coupon e-mail, received by the SMTP server.
    wait_until(lambda: inbox.to("zoe.martin@example.fr"), 20, what="the coupon e-mail")
    (email,) = inbox.to("zoe.martin@example.fr")
    assert code in email.get_content() and "thé vert" in email["Subject"]

    # 5. The edge learns the new member and her coupon over MQTT.
    conn = edge["conn"]
    wait_until(
        lambda: conn.execute("SELECT 1 FROM coupons WHERE code = ?", (code,)).fetchone(),
        30,
        what="the coupon at the edge",
    )
    member = conn.execute(
        "SELECT * FROM customers WHERE loyalty_card = ?", (card.group(0),)
    ).fetchone()
    assert member["consent_email"] == 1 and member["consent_sms"] == 0

    # 6. The kiosk shows it after a card scan.
    kctx = browser.new_context(viewport=KIOSK_VIEWPORT, locale="fr-FR")
    kiosk = kctx.new_page()
    pair_kiosk(kiosk, SimpleNamespace(url=edge["url"], demo=edge))
    kiosk.wait_for_selector("#view-welcome:not([hidden])")
    scan(kiosk, card.group(0))
    expect(kiosk.locator("#member-hello")).to_have_text("Bonjour Zoé !")
    expect(kiosk.locator("#member-offers .offer-code")).to_have_text([code])
    # She also agrees to texts, there at the kiosk: the edge tells the online store, which
    # merges it into a new version of her record and publishes it back to every store.
    expect(kiosk.locator("#pref-email")).to_be_checked()
    expect(kiosk.locator("#pref-sms")).not_to_be_checked()
    kiosk.check("#pref-sms")
    kiosk.click("#pref-save")
    expect(kiosk.locator("#pref-message")).to_have_text("C'est enregistré. Merci !")
    kctx.close()
    wait_until(
        lambda: (
            conn.execute(
                "SELECT version FROM customers WHERE customer_id = ?", (member["customer_id"],)
            ).fetchone()[0]
            > member["version"]
        ),
        30,
        what="the online store's new version back at the edge",
    )
    with online.connection() as oconn:
        assert (
            oconn.execute(
                "SELECT sms FROM customer_consents WHERE customer_id = ?", (member["customer_id"],)
            ).fetchone()[0]
            == 1
        )

    # 7. The till redeems it (retried once with the same key: still one use).
    sale = {"terminal_id": "pos-1", "currency": "EUR", "customer_id": member["customer_id"],
            "lines": [{"sku": "SKU-THE-VERT", "qty": 2}], "coupon_codes": [code]}  # fmt: skip
    pos = {"Authorization": f"Bearer {edge['tokens']['pos']}", "Idempotency-Key": "e2e-sale"}
    for _ in range(2):
        r = requests.post(f"{edge['url']}/api/v1/sales", json=sale, headers=pos, timeout=10)
        assert r.status_code == 201, r.text
    assert r.json()["discount"] == 236  # 20 % of 2 × 5,90 €

    # 8. The report, on the online store, counts each step once.
    def report() -> dict[str, Any]:
        return online.campaigns.report(campaign["campaign_id"])

    wait_until(lambda: report()["revenue"] > 0, 30, what="the redemption and sale on the web")
    r = report()
    assert {s["key"]: s["count"] for s in r["funnel"]} == {
        "sms_received": 1,
        "landing_visits": 1,
        "signups": 1,
        "coupons_issued": 1,
        "coupons_redeemed": 1,
    }
    assert r["visits_by_sms"] == 1 and r["new_members"] == 1
    assert r["issued_by_channel"] == {"email": 1}
    assert r["redeemed_by_channel"] == {"store": 1} and r["redeemed_by_store"] == {"S001": 1}
    assert r["revenue"] == 2 * 590 - 236 and r["discount"] == 236
    page = requests.get(f"{web_url}/campaigns/{campaign['campaign_id']}", timeout=10).text
    assert '<svg id="funnel"' in page and "9.44 EUR" in page
    assert online.dead_letters() == []

    # 9. The link goes down. At the till Zoé withdraws her SMS consent and corrects her
    #    phone; meanwhile on the web she turns SMS off and on again (a newer change of that
    #    same field). When the link is back the till's phone is kept, the web's SMS consent
    #    wins, and the store ends with the online store's version.
    cid = member["customer_id"]
    edge["stop_worker"]()
    r = requests.patch(
        f"{edge['url']}/api/v1/customers/{cid}",
        json={"phone": "06 55 44 33 22", "consents": {"sms": False}},
        headers={"Authorization": f"Bearer {edge['tokens']['pos']}"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["consents"]["sms"] is False
    online.campaigns.set_consents(cid, sms=False)
    online.campaigns.set_consents(cid, sms=True)
    edge["start_worker"]()

    def settled() -> bool:
        with online.connection() as oconn:
            web = oconn.execute(
                "SELECT c.version, c.phone, k.sms FROM customers c "
                "JOIN customer_consents k ON k.customer_id = c.customer_id "
                "WHERE c.customer_id = ?",
                (cid,),
            ).fetchone()
        here = conn.execute(
            "SELECT version, phone, consent_sms FROM customers WHERE customer_id = ?", (cid,)
        ).fetchone()
        return web["phone"] == "+33655443322" and tuple(web) == tuple(here)

    wait_until(settled, 30, what="the till's change merged and the web's version back")
    row = conn.execute("SELECT consent_sms FROM customers WHERE customer_id = ?", (cid,)).fetchone()
    assert row[0] == 1  # the newer web change of the SMS consent won
    assert online.dead_letters() == []
