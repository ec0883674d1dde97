"""A campaign's report across channels: one funnel, read from every channel together.

Each step counts people (or codes) once, however often they repeat it: SMS received = the
distinct numbers that texted the keyword; landing visits = distinct visitors (a cookie);
sign-ups = members signed up for this campaign; their coupons, and those the audience rule
issued, counted apart; coupons issued by channel; coupons redeemed, by channel and by store
(a code counts once, whatever the number of echoes of its use); the revenue of the baskets
that used them (the store sale or the web order the use names).
"""

from __future__ import annotations

import csv
import io
import sqlite3
from typing import Any

from online_store import campaigns


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def build(conn: sqlite3.Connection, campaign_id: str) -> dict[str, Any]:
    campaign = campaigns.get(conn, campaign_id)

    def one(sql: str) -> int:
        return int(conn.execute(sql, (campaign_id,)).fetchone()[0] or 0)

    sms_numbers = one(
        "SELECT COUNT(DISTINCT from_number) FROM sms_in WHERE campaign_id = ? "
        "AND outcome = 'keyword'"
    )
    visits = one("SELECT COUNT(*) FROM landing_visits WHERE campaign_id = ?")
    visits_by_sms = one(
        "SELECT COUNT(*) FROM landing_visits WHERE campaign_id = ? AND sms_id IS NOT NULL"
    )
    signups = one("SELECT COUNT(*) FROM campaign_signups WHERE campaign_id = ?")
    new_members = one(
        "SELECT COUNT(*) FROM campaign_signups WHERE campaign_id = ? AND new_member = 1"
    )
    issued = {
        r[0]: int(r[1])
        for r in conn.execute(
            "SELECT c.channel, COUNT(*) FROM campaign_coupons cc "
            "JOIN coupons c ON c.coupon_id = cc.coupon_id WHERE cc.campaign_id = ? "
            "GROUP BY c.channel ORDER BY c.channel",
            (campaign_id,),
        )
    }
    # The first use of each code (a code of max_uses 1 is used once; an overuse during an
    # outage is not a second conversion).
    uses = conn.execute(
        "SELECT r.coupon_id, r.channel, r.store_id, r.ref, r.discount, cc.source "
        "FROM redemptions r "
        "JOIN campaign_coupons cc ON cc.coupon_id = r.coupon_id WHERE cc.campaign_id = ? "
        "ORDER BY r.occurred_at, r.redemption_id",
        (campaign_id,),
    ).fetchall()
    first: dict[str, sqlite3.Row] = {}
    for u in uses:
        first.setdefault(u["coupon_id"], u)
    by_channel: dict[str, int] = {}
    by_store: dict[str, int] = {}
    revenue = discount = 0
    for u in first.values():
        by_channel[u["channel"]] = by_channel.get(u["channel"], 0) + 1
        if u["store_id"]:
            by_store[u["store_id"]] = by_store.get(u["store_id"], 0) + 1
        discount += int(u["discount"])
        row = (
            conn.execute(
                "SELECT total FROM purchases WHERE purchase_id = ?", (u["ref"],)
            ).fetchone()
            or conn.execute(
                "SELECT total FROM orders WHERE order_id = ? AND cancelled_reason IS NULL",
                (u["ref"],),
            ).fetchone()
        )
        revenue += int(row[0]) if row else 0
    by_source = {
        r[0]: int(r[1])
        for r in conn.execute(
            "SELECT source, COUNT(*) FROM campaign_coupons WHERE campaign_id = ? GROUP BY source",
            (campaign_id,),
        )
    }
    redeemed_by_source: dict[str, int] = {}
    for u in first.values():
        redeemed_by_source[u["source"]] = redeemed_by_source.get(u["source"], 0) + 1
    # The funnel follows the landing page's path; the audience rule's coupons (issued to
    # members chosen from the history, not to sign-ups) are counted beside it.
    steps = [
        ("sms_received", "SMS received", sms_numbers),
        ("landing_visits", "Landing-page visits", visits),
        ("signups", "Sign-ups", signups),
        ("coupons_issued", "Coupons issued to sign-ups", by_source.get("landing", 0)),
        ("coupons_redeemed", "Sign-up coupons redeemed", redeemed_by_source.get("landing", 0)),
    ]
    funnel = []
    for i, (key, label, n) in enumerate(steps):
        prev = steps[i - 1][2] if i else None
        funnel.append(
            {
                "key": key,
                "label": label,
                "count": n,
                "conversion": _pct(n, prev) if prev is not None else None,
            }  # fmt: skip
        )
    return {
        "campaign": campaign,
        "funnel": funnel,
        "visits_by_sms": visits_by_sms,
        "new_members": new_members,
        "issued_by_channel": issued,
        "audience_issued": by_source.get("audience", 0),
        "audience_redeemed": redeemed_by_source.get("audience", 0),
        "redeemed": len(first),
        "redeemed_by_channel": by_channel,
        "redeemed_by_store": by_store,
        "revenue": revenue,
        "discount": discount,
        "currency": "EUR",
    }


def to_csv(report: dict[str, Any]) -> str:
    """The report as CSV rows ``section,key,value,conversion_percent`` (a spreadsheet's)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "value", "conversion_percent"])
    for step in report["funnel"]:
        conv = step["conversion"]
        w.writerow(["funnel", step["key"], step["count"], "" if conv is None else conv])
    w.writerow(["landing", "visits_by_sms", report["visits_by_sms"], ""])
    w.writerow(["signups", "new_members", report["new_members"], ""])
    w.writerow(["audience", "coupons_issued", report["audience_issued"], ""])
    w.writerow(["audience", "coupons_redeemed", report["audience_redeemed"], ""])
    w.writerow(["all", "coupons_redeemed", report["redeemed"], ""])
    for section in ("issued_by_channel", "redeemed_by_channel", "redeemed_by_store"):
        for key, n in sorted(report[section].items()):
            w.writerow([section, key, n, ""])
    w.writerow(["money", "revenue_minor_units", report["revenue"], ""])
    w.writerow(["money", "discount_minor_units", report["discount"], ""])
    return out.getvalue()
