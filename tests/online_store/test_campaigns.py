"""Campaigns on the reference online store, without a broker: the SMS keyword and STOP, the
landing page's sign-up (bad fields save nothing, consent is explicit), coupons only where the
member consented, the audience rules over the one history, the merge of a store's
``customer.updated``, and the report counting each step once."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from online_store import OnlineStore, campaign_demo, campaigns, db, demo, landing, profiles, shop
from online_store.landing_texts import TEXTS
from online_store.web import create_app

from sync import contract

SLUG = campaign_demo.SLUG


@pytest.fixture
def store(online_db: str) -> Iterator[OnlineStore]:
    """The demo's online store, never connected (nothing here needs the broker)."""
    s = OnlineStore(online_db, "mqtt://127.0.0.1:1", demo_data=True)
    with db.write(s._conn):
        shop.publish_catalogue(s._conn)
        demo.seed(s._conn)
        campaign_demo.seed(s._conn)
    yield s
    s._conn.close()


@pytest.fixture
def web(store: OnlineStore) -> FlaskClient:
    return create_app(store, {"WTF_CSRF_ENABLED": False}).test_client()


def events(store: OnlineStore, type_: str) -> list[dict[str, Any]]:
    found = [e for e in store.events("chain") if e["type"] == type_]
    for e in found:
        contract.validate(e)  # every event the campaign publishes keeps the contract
    return [e["data"] for e in found]


def count(store: OnlineStore, table: str) -> int:
    with store.connection() as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608


def campaign(store: OnlineStore) -> dict[str, Any]:
    return store.campaigns.by_keyword(campaign_demo.KEYWORD)


FORM = {
    "first_name": "Zoé",
    "last_name": "Martin",
    "email": "zoe@example.fr",
    "phone": "06 11 22 33 44",
    "answer": "2",
    "consent_email": "on",
    "send_email": "on",
}


def test_keyword_gets_the_link_stop_withdraws_and_silences(store: OnlineStore) -> None:
    got = store.campaigns.sms_inbound("+33611223344", " the ", "https://shop.example")
    assert got["outcome"] == "keyword"
    (out,) = store.campaigns.outbox()["sms_out"]
    assert out["to_number"] == "+33611223344"
    assert f"https://shop.example/c/{SLUG}?lang=fr&sms={got['sms_id']}" in out["body"]
    english = store.campaigns.sms_inbound("+447911123456", "THE", "https://shop.example")
    assert "sign up here" in english["reply"]

    # Élodie (c-0001) texts STOP: her SMS consent goes, in a new version of her record.
    assert store.campaigns.sms_inbound("+33612345678", "Stop")["outcome"] == "stop"
    (upserted,) = events(store, "customer.upserted")
    assert upserted["customer_id"] == "c-0001" and upserted["consents"]["sms"] is False
    assert upserted["consents"]["email"] is True and upserted["version"] == 2
    # From now on that number gets nothing, keyword or not.
    before = count(store, "sms_out")
    assert store.campaigns.sms_inbound("+33612345678", "THE")["outcome"] == "stopped"
    assert store.campaigns.sms_inbound("+33612345678", "STOP")["outcome"] == "stop"
    assert count(store, "sms_out") == before
    assert store.campaigns.sms_inbound("not a number", "THE")["outcome"] == "invalid"
    assert store.campaigns.sms_inbound("+33611223344", "HELLO")["outcome"] == "unknown"
    assert count(store, "sms_out") == before
    # Even with SMS consent set again on her web account, a stopped number gets no coupon
    # text (only a ticked box on a landing page lifts a STOP).
    store.campaigns.set_consents("c-0001", sms=True)
    with store.connection() as conn, db.write(conn):
        c = campaigns.get(conn, campaign(store)["campaign_id"])
        _, sent = campaigns.issue(conn, c, "c-0001", deliver=["sms"])
    assert sent == [] and count(store, "sms_out") == before


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fr", "Indiquez votre prénom."), ("en", "Enter your first name.")],
)
def test_bad_fields_are_named_in_the_shoppers_language_and_nothing_is_saved(
    web: FlaskClient, store: OnlineStore, lang: str, expected: str
) -> None:
    tables = ("customers", "campaign_signups", "coupons", "sent_messages", "sms_out")
    before = {t: count(store, t) for t in tables}
    bad = {**FORM, "first_name": " ", "phone": "12", "send_sms": "on", "answer": "9"}
    resp = web.post(f"/c/{SLUG}?lang={lang}", data=bad)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and expected in page
    errors = dict(re.findall(r'<p class="err" id="([a-z_]+)-err">([^<]*)</p>', page))
    assert set(errors) == {"first_name", "phone", "answer", "send_sms"}
    assert html.unescape(errors["phone"]) == TEXTS[lang]["err_phone"]
    assert 'value="zoe@example.fr"' in page  # what was typed stays in the form
    assert {t: count(store, t) for t in tables} == before


def test_sign_up_enrols_with_explicit_consent_and_sends_the_coupon(
    web: FlaskClient, store: OnlineStore
) -> None:
    sms = store.campaigns.sms_inbound("+33611223344", "THE")
    first = web.get(f"/c/{SLUG}?sms={sms['sms_id']}")
    assert first.status_code == 200
    # Small and fast on a phone: one page, no script, nothing fetched from elsewhere.
    assert len(first.data) < 6_000 and b"<script" not in first.data and b"src=" not in first.data
    web.get(f"/c/{SLUG}?lang=en")  # the same visitor (cookie) reloads in English
    resp = web.post(f"/c/{SLUG}", data={**FORM, "lang": "fr"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Merci Zoé" in page
    code = re.search(r'id="code">([A-Z0-9]+)<', page)
    assert code is not None
    (member,) = [c for c in events(store, "customer.upserted") if c["email"] == "zoe@example.fr"]
    assert member["phone"] == "+33611223344"  # E.164 from "06 11 22 33 44"
    assert member["consents"]["email"] is True and member["consents"]["sms"] is False
    (coupon,) = events(store, "coupon.issued")
    assert coupon["code"] == code.group(1) and coupon["channel"] == "email"
    assert coupon["customer_id"] == member["customer_id"]
    (mail,) = [m for m in store.campaigns.outbox()["mail"] if m["code"] == code.group(1)]
    assert mail["to_address"] == "zoe@example.fr" and code.group(1) in mail["body"]
    assert "Bonjour Zoé" in mail["body"]
    assert len(store.campaigns.outbox()["sms_out"]) == 1  # the link only: no SMS consent

    # Signing up again (another phone, same e-mail) enriches, never issues a second coupon.
    again = web.post(f"/c/{SLUG}", data={**FORM, "phone": "", "lang": "fr"})
    assert "déjà inscrit" in again.get_data(as_text=True)
    assert len(events(store, "coupon.issued")) == 1

    r = store.campaigns.report(campaign(store)["campaign_id"])
    counts = {s["key"]: s["count"] for s in r["funnel"]}
    assert counts == {
        "sms_received": 1,
        "landing_visits": 1,
        "signups": 1,
        "coupons_issued": 1,
        "coupons_redeemed": 0,
    }
    assert r["visits_by_sms"] == 1 and r["new_members"] == 1


def test_a_known_member_is_enriched_not_overwritten(store: OnlineStore) -> None:
    # François (c-0003) has an e-mail; an anonymous form with his phone cannot change it.
    done = store.campaigns.sign_up(
        SLUG,
        {**FORM, "phone": "06 98 76 54 32", "email": "someone.else@example.com",
         "consent_sms": "on", "send_sms": "on", "send_email": ""},
        "fr",
    )  # fmt: skip
    assert done["customer_id"] == "c-0003" and done["sent"] == ["sms"]
    with store.connection() as conn:
        francois = shop.customer(conn, "c-0003")
    assert francois["email"] == "f.lefevre@example.fr"
    (text,) = [s for s in store.campaigns.outbox()["sms_out"] if s["kind"] == "coupon"]
    assert text["to_number"] == "+33698765432" and done["coupon"]["code"] in text["body"]


def test_no_message_to_a_channel_without_consent(store: OnlineStore) -> None:
    with pytest.raises(landing.LandingInvalid) as bad:
        store.campaigns.sign_up(SLUG, {**FORM, "consent_email": ""}, "fr")
    assert set(bad.value.errors) == {"send_email"}
    # François (c-0003) consented to nothing: the audience rule gives him a coupon that the
    # kiosk and the web show, and sends him nothing.
    run = store.campaigns.run_audience(
        campaign(store)["campaign_id"],
        {"bought": {"skus": ["SKU-CHOCO-NOIR"], "category": None, "days": 30}},
    )
    assert [(i["customer_id"], i["sent"]) for i in run["issued"]] == [("c-0003", [])]
    (coupon,) = events(store, "coupon.issued")
    assert coupon["channel"] == "web"
    assert store.campaigns.outbox()["mail"] == [] and store.campaigns.outbox()["sms_out"] == []


def test_audience_rules_over_the_one_history(web: FlaskClient, store: OnlineStore) -> None:
    cid = campaign(store)["campaign_id"]
    # Bought from the category in 30 days, web or store: all three demo members.
    run = store.campaigns.run_audience(cid)
    assert run["matched"] == 3
    why = {e["customer_id"]: e["reason"] for e in events(store, "coupon.issued")}
    assert why["c-0002"]["en"].startswith("because you bought Thé vert bio in ")
    assert why["c-0003"]["fr"].startswith("parce que vous avez acheté Chocolat noir 70 % en ")
    # James consented to e-mail: his says why, in his language (François gets nothing).
    (mail,) = [
        m for m in store.campaigns.outbox()["mail"] if m["to_address"] == "james@example.com"
    ]
    assert "Because you bought Thé vert bio in " in mail["body"] and "Hello James" in mail["body"]
    assert "f.lefevre@example.fr" not in {m["to_address"] for m in store.campaigns.outbox()["mail"]}
    # Run again: the same members match, nobody gets a second coupon.
    assert store.campaigns.run_audience(cid)["issued"] == []
    # Gold and not seen in a store for 5 days: Élodie (store visit 10 days ago) alone.
    run = store.campaigns.run_audience(cid, {"tier": "gold", "not_visited_days": 5})
    assert run["matched"] == 1
    # A rule that matches no one issues nothing and says so.
    before = count(store, "coupons")
    resp = web.post(
        f"/campaigns/{cid}/audience",
        data={"skus": "SKU-MUG", "bought_days": "30", "tier": "silver"},
    )
    assert "This rule matches no one: no coupon was issued." in resp.get_data(as_text=True)
    assert count(store, "coupons") == before
    bad = web.post(f"/campaigns/{cid}/audience", data={"bought_days": "0", "skus": "SKU-MUG"})
    assert bad.status_code == 400 and "bought days" in bad.get_data(as_text=True)


def test_a_store_change_never_overrides_a_newer_web_change(store: OnlineStore) -> None:
    # Version 1 at the store; the web then changes Élodie's e-mail (version 2).
    store.upsert_customer("c-0001", first_name="Élodie", last_name="Durand", tier="gold",
                          email="elodie@web.example", phone="+33612345678")  # fmt: skip
    change = {
        "customer_id": "c-0001",
        "base_version": 1,  # made at the till, offline, before it heard of version 2
        "changes": {
            "email": "elodie@till.example",
            "consents": {"sms": False, "updated_at": "2026-12-01T10:00:00Z"},
        },
    }
    with store.connection() as conn, db.write(conn):
        assert profiles.apply_updated(conn, "S001", change) is True
    latest = events(store, "customer.upserted")[-1]
    assert latest["version"] == 3
    assert latest["email"] == "elodie@web.example"  # the web's newer e-mail stays
    assert latest["consents"]["sms"] is False  # the till's consent change is kept
    # The same change again, or one that only touches what the web changed since: nothing.
    with store.connection() as conn, db.write(conn):
        assert profiles.apply_updated(conn, "S001", change) is False
        assert (
            profiles.apply_updated(
                conn, "S001", {**change, "changes": {"email": "elodie@till.example"}}
            )
            is False
        )
    assert len(events(store, "customer.upserted")) == 2


def test_report_page_chart_and_csv(web: FlaskClient, store: OnlineStore) -> None:
    cid = campaign(store)["campaign_id"]
    store.campaigns.sms_inbound("+33611223344", "THE")
    store.campaigns.sms_inbound("+33611223344", "THE")  # one person, texting twice
    page = web.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert '<svg id="funnel"' in page
    assert re.search(r'data-key="sms_received"><td>SMS received</td><td class="count">1<', page)
    csv_text = web.get(f"/campaigns/{cid}/report.csv").get_data(as_text=True)
    assert "funnel,sms_received,1," in csv_text and "funnel,landing_visits,0,0.0" in csv_text


def test_both_languages_have_every_text() -> None:
    assert set(TEXTS["fr"]) == set(TEXTS["en"])


def test_a_campaign_is_created_on_the_pages(web: FlaskClient, store: OnlineStore) -> None:
    form = {
        "name": "Bébé gourmand",
        "keyword": "bebe",
        "slug": "bebe-gourmand",
        "channels": ["tv", "sms", "email"],
        "title_fr": "−2 € sur les petits pots",
        "title_en": "€2 off baby food",
        "kind": "amount",
        "value": "200",
        "question_fr": "Quel âge a votre enfant ?",
        "question_en": "How old is your child?",
        "options_fr": "0–6 mois, 6–12 mois, 1–3 ans",
        "options_en": "0–6 months, 6–12 months, 1–3 years",
    }
    resp = web.post("/campaigns", data=form, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Bébé gourmand" in page and "BEBE" in page
    landing_page = web.get("/c/bebe-gourmand?lang=en").get_data(as_text=True)
    assert "How old is your child?" in landing_page and "6–12 months" in landing_page
    offers = events(store, "offer.upserted")
    assert offers[-1]["title"] == {"fr": "−2 € sur les petits pots", "en": "€2 off baby food"}
    for bad, field in (
        ({"keyword": "THE"}, "another campaign uses this keyword"),
        ({"keyword": "STOP", "slug": "x"}, "keyword"),
        ({"keyword": "NEW", "slug": "Bad Slug"}, "slug"),
        ({"keyword": "NEW", "slug": "new", "options_en": "one"}, "the same number of answers"),
    ):
        before = count(store, "campaigns")
        resp = web.post("/campaigns", data={**form, **bad})
        assert resp.status_code == 400 and field in resp.get_data(as_text=True), bad
        assert count(store, "campaigns") == before
