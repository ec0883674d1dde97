"""A campaign's audience as a rule over the one web + store history, evaluated here (the
online store holds every channel's purchases), and the personal coupons it issues.

A rule is a JSON object whose conditions all hold (absent = no condition):
``bought`` {``skus`` or ``category``, ``days``}: bought one of them in the last N days, on the
web or in any store; ``not_visited_days``: no store purchase in the last N days; ``tier``;
``answer``: the option the member chose on this campaign's landing page. Each match comes
with why, in French and English ("because you bought … in March"), which travels with the
coupon to the kiosk.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from online_store import campaigns, consents
from online_store.landing_texts import MONTHS, t
from online_store.shop import TIERS, ShopError, _when

# The demo catalogue's categories (a real chain's come from its product data).
CATEGORIES: dict[str, list[str]] = {
    "epicerie": ["SKU-CAFE-250", "SKU-THE-VERT", "SKU-CREME", "SKU-PAIN-EPI",
                 "SKU-CHOCO-NOIR", "SKU-CONFITURE"],
    "maison": ["SKU-MUG", "SKU-TORCHON", "SKU-BOUGIE", "SKU-SAVON"],
}  # fmt: skip
MAX_DAYS = 3660


def parse(form: dict[str, Any]) -> dict[str, Any]:
    """A rule from the campaign page's form; ShopError naming the bad field."""

    def days(name: str) -> int | None:
        raw = str(form.get(name) or "").strip()
        if not raw:
            return None
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            raise ShopError(f"{name.replace('_', ' ')}: 1 to {MAX_DAYS} days", field=name)
        return int(raw)

    rule: dict[str, Any] = {}
    skus = [s for s in (form.get("skus") or []) if s]
    category = str(form.get("category") or "").strip()
    bought_days = days("bought_days")
    if skus or category:
        if category and category not in CATEGORIES:
            raise ShopError(f"category: one of {', '.join(CATEGORIES)}", field="category")
        rule["bought"] = {"skus": sorted(skus), "category": category or None,
                          "days": bought_days or 90}  # fmt: skip
    lapsed = days("not_visited_days")
    if lapsed:
        rule["not_visited_days"] = lapsed
    tier = str(form.get("tier") or "").strip()
    if tier:
        if tier not in TIERS:
            raise ShopError(f"tier: one of {', '.join(TIERS)}", field="tier")
        rule["tier"] = tier
    answer = str(form.get("answer") or "").strip()
    if answer:
        if not answer.isdigit():
            raise ShopError("answer: the number of an option", field="answer")
        rule["answer"] = int(answer)
    if not rule:
        raise ShopError("choose at least one condition", field="bought_days")
    return rule


def _month(at: str, lang: str) -> str:
    return MONTHS[lang][_when(at).month - 1]


def evaluate(
    conn: sqlite3.Connection, campaign: dict[str, Any], rule: dict[str, Any], now: datetime
) -> list[tuple[str, dict[str, str]]]:
    """The members the rule matches, each with why (fr and en); pure reading."""
    matches = []
    options = campaign["options"]
    for member in conn.execute(
        "SELECT customer_id, tier FROM customers WHERE first_name IS NOT NULL ORDER BY customer_id"
    ).fetchall():
        cid = member["customer_id"]
        why: dict[str, list[str]] = {"fr": [], "en": []}
        if "tier" in rule:
            if member["tier"] != rule["tier"]:
                continue
            for lang in why:
                why[lang].append(t(lang, "why_tier", tier=rule["tier"]))
        if "bought" in rule:
            b = rule["bought"]
            wanted = set(b.get("skus") or []) | set(CATEGORIES.get(b.get("category") or "", []))
            since = (now - timedelta(days=int(b["days"]))).isoformat()
            hit = None
            for p in conn.execute(
                "SELECT occurred_at, lines FROM purchases WHERE customer_id = ? "
                "ORDER BY occurred_at DESC",
                (cid,),
            ).fetchall():
                if _when(p["occurred_at"]) < datetime.fromisoformat(since):
                    break
                line = next((ln for ln in json.loads(p["lines"]) if ln["sku"] in wanted), None)
                if line is not None:
                    hit = (line["name"], p["occurred_at"])
                    break
            if hit is None:
                continue
            for lang in why:
                why[lang].append(t(lang, "why_bought", name=hit[0], month=_month(hit[1], lang)))
        if "not_visited_days" in rule:
            n = int(rule["not_visited_days"])
            last = conn.execute(
                "SELECT MAX(occurred_at) FROM purchases "
                "WHERE customer_id = ? AND channel = 'store'",
                (cid,),
            ).fetchone()[0]
            if last is not None and _when(last) >= now - timedelta(days=n):
                continue
            for lang in why:
                why[lang].append(t(lang, "why_lapsed", days=n))
        if "answer" in rule:
            row = conn.execute(
                "SELECT answer FROM campaign_signups WHERE campaign_id = ? AND customer_id = ?",
                (campaign["campaign_id"], cid),
            ).fetchone()
            if row is None or row["answer"] != rule["answer"]:
                continue
            label = options[rule["answer"] - 1] if 0 < rule["answer"] <= len(options) else {}
            for lang in why:
                why[lang].append(t(lang, "why_answer", answer=label.get(lang, rule["answer"])))
        matches.append((cid, {lang: ", ".join(parts) for lang, parts in why.items()}))
    return matches


def run(conn: sqlite3.Connection, campaign_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Issue a personal coupon to each member the rule matches who has none of this campaign
    yet, sent by e-mail (else SMS) where they consented; says how many matched and got one."""
    now = now or datetime.now(UTC)
    campaign = campaigns.get(conn, campaign_id)
    rule = campaign["audience"]
    if not rule:
        raise ShopError("this campaign has no audience rule", field="audience", status=409)
    matched = evaluate(conn, campaign, rule, now)
    issued = []
    for cid, why in matched:
        if campaigns.existing_coupon(conn, campaign_id, cid) is None:
            # One channel each, e-mail first: a member gets the coupon once, not twice.
            deliver = ["email"] if consents.allows(conn, cid, "email") else ["sms"]
            coupon, sent = campaigns.issue(
                conn, campaign, cid, deliver=deliver, reason=why, source="audience"
            )
            issued.append({"customer_id": cid, "code": coupon["code"], "sent": sent})
    conn.execute(
        "INSERT INTO audience_runs (campaign_id, ran_at, matched, issued) VALUES (?, ?, ?, ?)",
        (campaign_id, now.isoformat(), len(matched), len(issued)),
    )
    return {"matched": len(matched), "issued": issued, "rule": rule}
