"""Campaigns: an offer plus its channels, its SMS keyword, its landing page and its audience.

The founding example runs through five channels and ends at the till: a TV spot invites
shoppers to text a keyword, the answer carries the landing page's link, the page enrols or
enriches the member with their consent, a personal coupon goes out by e-mail or SMS, and the
coupon is spent in a store. This module keeps the campaign and does the SMS side and the
coupon issue; the landing page is ``landing.py``, the audience rules ``audience.py`` and the
report ``report.py``. Every function runs inside the caller's ``db.write(conn)`` and writes
the messages it decides to send as outbox rows (``sent_messages``, ``sms_out``), which the
dispatcher sends after the commit, and never to a channel the member did not consent to.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import replace
from typing import Any

from online_store import consents, coupons, letters, profiles, sms, streams
from online_store.db import now_iso
from online_store.landing_texts import t
from online_store.shop import CODE_ALPHABET, ShopError, customer, new_id

KEYWORD_RE = re.compile(r"^[A-Z0-9]{2,20}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
CHANNELS = ("tv", "sms", "web", "email", "store")
STOP_WORDS = frozenset({"STOP", "ARRET", "ARRÊT", "STOPALL", "UNSUBSCRIBE"})


def _options(text: str) -> list[str]:
    return [o.strip() for o in re.split(r"[\n,;]", text or "") if o.strip()]


def create(
    conn: sqlite3.Connection,
    *,
    name: str,
    keyword: str,
    slug: str,
    channels: list[str],
    title_fr: str,
    title_en: str,
    kind: str,
    value: int,
    min_total: int = 0,
    skus: list[str] | None = None,
    valid_days: int = 30,
    question_fr: str = "",
    question_en: str = "",
    options_fr: str = "",
    options_en: str = "",
    audience: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A campaign and its offer (``offer.upserted``); ShopError naming the bad field."""
    name, keyword, slug = name.strip(), keyword.strip().upper(), slug.strip().lower()
    if not 1 <= len(name) <= 120:
        raise ShopError("give the campaign a name", field="name")
    if not KEYWORD_RE.match(keyword) or keyword in STOP_WORDS:
        raise ShopError("keyword: 2 to 20 letters or digits (not STOP)", field="keyword")
    if not SLUG_RE.match(slug):
        raise ShopError("slug: lowercase letters, digits and dashes", field="slug")
    if not channels or any(c not in CHANNELS for c in channels):
        raise ShopError(f"channels: some of {', '.join(CHANNELS)}", field="channels")
    for column, value_, label in (("keyword", keyword, "keyword"), ("slug", slug, "slug")):
        if conn.execute(
            f"SELECT 1 FROM campaigns WHERE {column} = ?",  # noqa: S608 - a fixed column name
            (value_,),
        ).fetchone():
            raise ShopError(f"another campaign uses this {label}", field=label, code="taken")
    fr, en = _options(options_fr), _options(options_en)
    question = {k: v.strip() for k, v in (("fr", question_fr), ("en", question_en)) if v.strip()}
    if question and (not fr or len(fr) != len(en) or len(question) != 2):
        raise ShopError(
            "a question needs its text and the same number of answers in both languages",
            field="options_en",
        )
    offer = coupons.create_offer(
        conn,
        title_fr=title_fr,
        title_en=title_en,
        kind=kind,
        value=value,
        min_total=min_total,
        skus=skus,
        valid_days=valid_days,
    )
    row = {
        "campaign_id": new_id("cmp"),
        "name": name,
        "keyword": keyword,
        "slug": slug,
        "offer_id": offer["offer_id"],
        "channels": json.dumps(sorted(set(channels))),
        "question": json.dumps(question, ensure_ascii=False),
        "options": json.dumps([{"fr": a, "en": b} for a, b in zip(fr, en, strict=False)]),
        "audience": json.dumps(audience) if audience else None,
        "created_at": now_iso(),
    }
    conn.execute(
        "INSERT INTO campaigns (campaign_id, name, keyword, slug, offer_id, channels, question, "
        "options, audience, created_at) VALUES (:campaign_id, :name, :keyword, :slug, "
        ":offer_id, :channels, :question, :options, :audience, :created_at)",
        row,
    )
    return get(conn, row["campaign_id"])


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    c = dict(row)
    for key in ("channels", "question", "options"):
        c[key] = json.loads(c[key])
    c["audience"] = json.loads(c["audience"]) if c["audience"] else None
    return c


def get(conn: sqlite3.Connection, campaign_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
    if row is None:
        raise ShopError("no such campaign", code="not_found", status=404)
    c = _decode(row)
    offer = conn.execute("SELECT * FROM offers WHERE offer_id = ?", (c["offer_id"],)).fetchone()
    c["offer"] = {**dict(offer), "title": json.loads(offer["title"])}
    return c


def by_slug(conn: sqlite3.Connection, slug: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT campaign_id FROM campaigns WHERE slug = ? AND active = 1", (slug,)
    ).fetchone()
    if row is None:
        raise ShopError("no such campaign", code="not_found", status=404)
    return get(conn, row[0])


def all_campaigns(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    ids = conn.execute("SELECT campaign_id FROM campaigns ORDER BY created_at DESC").fetchall()
    return [get(conn, r[0]) for r in ids]


def set_audience(conn: sqlite3.Connection, campaign_id: str, rule: dict[str, Any]) -> None:
    get(conn, campaign_id)
    conn.execute(
        "UPDATE campaigns SET audience = ? WHERE campaign_id = ?", (json.dumps(rule), campaign_id)
    )


# -- SMS -----------------------------------------------------------------------------------


def stopped(conn: sqlite3.Connection, number: str) -> bool:
    return conn.execute("SELECT 1 FROM sms_stops WHERE phone = ?", (number,)).fetchone() is not None


def queue_sms(
    conn: sqlite3.Connection, to: str, body: str, kind: str, campaign_id: str | None
) -> bool:
    """Put a text in the outbox; a number that sent STOP gets nothing (False)."""
    if stopped(conn, to):
        return False
    conn.execute(
        "INSERT INTO sms_out (sms_id, to_number, body, kind, campaign_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (new_id("sms"), to, body[:640], kind, campaign_id, now_iso()),
    )
    return True


def inbound(
    conn: sqlite3.Connection, from_number: str, body: str, public_url: str
) -> dict[str, Any]:
    """One text received by the gateway: a campaign keyword gets the landing page's link;
    STOP withdraws SMS consent (every member with that number) and silences the number."""
    sms_id, at = new_id("smsin"), now_iso()
    number = sms.e164(from_number) if from_number.strip().startswith("+") else None
    words = (body or "").strip().upper().split()
    word = words[0] if words else ""
    campaign_id, reply = None, None
    if number is None:
        outcome = "invalid"
    elif word in STOP_WORDS:
        outcome = "stop"
        conn.execute(
            "INSERT INTO sms_stops (phone, stopped_at) VALUES (?, ?) "
            "ON CONFLICT (phone) DO NOTHING",
            (number, at),
        )
        for (cid,) in conn.execute(
            "SELECT customer_id FROM customers WHERE phone = ?", (number,)
        ).fetchall():
            profiles.set_consents(conn, cid, {"sms": False})
    elif stopped(conn, number):
        outcome = "stopped"
    else:
        row = conn.execute(
            "SELECT campaign_id FROM campaigns WHERE keyword = ? AND active = 1", (word,)
        ).fetchone()
        if row is None:
            outcome = "unknown"
        else:
            outcome, campaign_id = "keyword", row[0]
            c = get(conn, campaign_id)
            lang = sms.locale_of_number(number)
            url = f"{public_url.rstrip('/')}/c/{c['slug']}?lang={lang}&sms={sms_id}"
            title = c["offer"]["title"].get(lang) or next(iter(c["offer"]["title"].values()))
            reply = t(lang, "sms_link", title=title, url=url)
            queue_sms(conn, number, reply, "link", campaign_id)
    conn.execute(
        "INSERT INTO sms_in (sms_id, from_number, body, campaign_id, outcome, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (sms_id, number or from_number[:32], (body or "")[:640], campaign_id, outcome, at),
    )
    return {"sms_id": sms_id, "outcome": outcome, "campaign_id": campaign_id, "reply": reply}


# -- coupons -------------------------------------------------------------------------------


def existing_coupon(
    conn: sqlite3.Connection, campaign_id: str, customer_id: str
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT c.* FROM campaign_coupons cc JOIN coupons c ON c.coupon_id = cc.coupon_id "
        "WHERE cc.campaign_id = ? AND cc.customer_id = ?",
        (campaign_id, customer_id),
    ).fetchone()
    return dict(row) if row else None


def issue(
    conn: sqlite3.Connection,
    campaign: dict[str, Any],
    customer_id: str,
    *,
    deliver: list[str],
    reason: dict[str, str] | None = None,
    source: str = "landing",
) -> tuple[dict[str, Any], list[str]]:
    """One personal coupon of the campaign's offer for a member (once per campaign), sent on
    the ``deliver`` channels the member consented to → (coupon.issued data, channels sent)."""
    member = customer(conn, customer_id)
    allowed = [c for c in deliver if consents.allows(conn, customer_id, c) and member[c_field(c)]]
    data: dict[str, Any] = {
        "coupon_id": new_id("cp"),
        "offer_id": campaign["offer_id"],
        "code": "".join(secrets.choice(CODE_ALPHABET) for _ in range(10)),
        "customer_id": customer_id,
        "max_uses": 1,
        "issued_at": now_iso(),
        "channel": allowed[0] if allowed else "web",
    }
    if reason:
        data["reason"] = reason
    conn.execute(
        "INSERT INTO coupons (coupon_id, offer_id, code, customer_id, max_uses, issued_at, "
        "channel) VALUES (:coupon_id, :offer_id, :code, :customer_id, :max_uses, :issued_at, "
        ":channel)",
        data,
    )
    conn.execute(
        "INSERT INTO campaign_coupons (coupon_id, campaign_id, customer_id, source, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            data["coupon_id"],
            campaign["campaign_id"],
            customer_id,
            source,
            json.dumps(reason or {}),
        ),
    )
    streams.append(conn, streams.CHAIN, "coupon.issued", data)
    sent = [c for c in allowed if send_coupon(conn, campaign, member, data, c, reason)]
    return data, sent


def c_field(channel: str) -> str:
    return "email" if channel == "email" else "phone"


def send_coupon(
    conn: sqlite3.Connection,
    campaign: dict[str, Any],
    member: sqlite3.Row,
    coupon: dict[str, Any],
    channel: str,
    reason: dict[str, str] | None,
) -> bool:
    """Write the coupon's e-mail or text (the caller checked the consent)."""
    lang = member["locale"] if member["locale"] in ("fr", "en") else "fr"
    titles = campaign["offer"]["title"]
    title = titles.get(lang) or next(iter(titles.values()))
    until = letters.local_date(campaign["offer"]["valid_until"], lang)
    if channel == "sms":
        body = t(lang, "sms_coupon", title=title, code=coupon["code"], until=until)
        return queue_sms(conn, member["phone"], body, "coupon", campaign["campaign_id"])
    # The e-mail itself is the shop's coupon letter (one language, local dates: letters.py);
    # a coupon chosen by a rule says why, and how to stop such e-mails.
    letter = letters.coupon_letter(
        member, titles, coupon["code"], campaign["offer"]["valid_until"], coupon["issued_at"]
    )
    why = f"\n\n{reason[lang][:1].upper()}{reason[lang][1:]}." if reason and lang in reason else ""
    letters.record(conn, replace(letter, body=letter.body + why + "\n\n" + t(lang, "mail_stop")))
    return True
