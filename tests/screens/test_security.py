"""The screens' protections, through the Flask test client (no browser): CSP, CSRF, PIN
rate limit, kiosk pairing, roles per screen, idle staff sessions, the kiosk's rate limits,
and the compiled catalogs."""

from __future__ import annotations

import gettext
import re
import time
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from edge.web.app import create_app
from tests.screens.conftest import copy_demo

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "kiosk_ui" / "translations"


@pytest.fixture
def app_config(db_path: Path, demo_db: Any) -> dict[str, Any]:
    copy_demo(demo_db, db_path)  # the demo shop, seeded once for the session
    return {
        "DB_PATH": str(db_path),
        "STORE_ID": "S001",
        "TESTING": True,
        "SECRET_KEY": "test",
        "RATE_LIMIT_PIN": "5/minute",
        "RATE_LIMIT_LOOKUP": "3/minute",
        "STAFF_SESSION_IDLE_MINUTES": 1,
    }


@pytest.fixture
def seeded(demo_db: Any) -> dict[str, Any]:
    data: dict[str, Any] = demo_db[1]
    return data


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: Any, screen: str, staff_id: str, pin: str) -> Any:
    page = client.get(f"/login?screen={screen}")
    token = csrf_of(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"csrf_token": token, "screen": screen, "staff_id": staff_id, "pin": pin},
    )


def page_csrf(client: Any, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'"csrf": "([^"]+)"', html)
    assert m
    return m.group(1)


def test_pages_have_a_strict_csp_and_no_external_asset(client, seeded):
    for path in ("/kiosk/pair", "/login?screen=staff", "/login?screen=pos"):
        r = client.get(path)
        assert r.status_code == 200
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "http" not in csp and "unsafe" not in csp
        html = r.get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', html), "an asset from elsewhere"
        assert "<script>" not in html  # no inline script: data goes in JSON blocks
    assert client.get("/screens/static/common.js").status_code == 200


def test_forms_need_the_csrf_token(client, seeded):
    r = client.post("/login", data={"screen": "pos", "staff_id": "st-ines", "pin": "3456"})
    assert r.status_code == 400
    assert "principal" not in r.get_data(as_text=True)


def test_pin_login_is_rate_limited(client, seeded):
    # per address, whoever is tried (the per-person count is tests/security/test_pins.py)
    for n in range(5):
        assert login(client, "pos", f"st-guess{n}", "0000").status_code == 401
    r = login(client, "pos", "st-ines", "3456")  # even the right PIN waits
    assert r.status_code == 429
    assert "Trop d'essais" in r.get_data(as_text=True)


def test_roles_per_screen(client, seeded):
    assert login(client, "pos", "st-lucas", "2345").status_code == 403  # staff role
    r = login(client, "staff", "st-lucas", "2345")
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff")
    assert client.get("/staff").status_code == 200
    r = client.get("/pos")  # the till has its own slot in the session: nobody is logged in
    assert r.status_code == 302 and r.headers["Location"].endswith("/login?screen=pos")
    # The till's API refuses the board's role too: one role table.
    csrf = page_csrf(client, "/staff")
    r = client.post(
        "/api/v1/sales",
        json={"terminal_id": "x", "currency": "EUR", "lines": [{"sku": "SKU-MUG", "qty": 1}]},
        headers={"X-CSRFToken": csrf, "Idempotency-Key": "k"},
    )
    assert r.status_code == 403


def test_session_calls_to_the_api_need_the_csrf_header(client, seeded):
    assert login(client, "pos", "st-ines", "3456").status_code == 302
    body = {"first_name": "Ana", "last_name": "Lima"}
    r = client.post("/api/v1/customers", json=body)
    assert r.status_code == 401 and r.json["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/customers", json=body, headers={"X-CSRFToken": "forged"})
    assert r.status_code == 401
    csrf = page_csrf(client, "/pos")
    r = client.post("/api/v1/customers", json=body, headers={"X-CSRFToken": csrf})
    assert r.status_code == 201


def _set_seen(client: Any, screen: str, seen: float) -> None:
    with client.session_transaction() as s:
        slots = s["screens"]
        slots[screen]["seen"] = seen
        s["screens"] = slots


def test_staff_session_ends_on_idle_and_polling_does_not_keep_it(client, seeded):
    assert login(client, "staff", "st-lucas", "2345").status_code == 302
    seen = time.time() - 50
    _set_seen(client, "staff", seen)
    # The board's own polling is not somebody touching the screen.
    r = client.get("/api/v1/customers/lookup?card=PC000000000001", headers={"X-Background": "1"})
    assert r.status_code == 200
    with client.session_transaction() as s:
        assert s["screens"]["staff"]["seen"] == seen
    _set_seen(client, "staff", time.time() - 61)  # staff_session_idle_minutes = 1
    r = client.get("/api/v1/customers/lookup?card=PC000000000001")
    assert r.status_code == 401
    r = client.get("/staff")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def pair(client: Any, code: str) -> Any:
    """Pair the client as the kiosk's form does: a POST with the page's CSRF token."""
    token = csrf_of(client.get("/kiosk/pair").get_data(as_text=True))
    return client.post("/kiosk/pair", data={"csrf_token": token, "code": code})


def test_kiosk_pairing_needs_a_kiosk_token(client, seeded):
    r = client.get("/kiosk")
    assert r.status_code == 302 and r.headers["Location"].endswith("/kiosk/pair")
    assert pair(client, seeded["tokens"]["pos"]).status_code == 401
    assert pair(client, "nope").status_code == 401
    r = client.get(f"/kiosk/pair?token={seeded['tokens']['kiosk']}")  # never by GET
    assert r.status_code == 200 and client.get("/kiosk").status_code == 302
    r = pair(client, seeded["tokens"]["kiosk"])
    assert r.status_code == 302 and r.headers["Location"].endswith("/kiosk")
    assert client.get("/kiosk").status_code == 200
    # A paired kiosk is a kiosk for the API too: no phone lookups, masked names.
    r = client.get("/api/v1/customers/lookup?phone=%2B33612345678")
    assert r.status_code == 403
    r = client.get("/api/v1/customers/lookup?card=PC000000000001")
    assert r.json["last_name"] == "D."
    assert client.get("/pos").status_code == 302  # and it is no till


def test_the_kiosk_cannot_look_people_up_by_phone(client, seeded):
    pair(client, seeded["tokens"]["kiosk"])
    for phone in ("%2B33612345678", "%2B33600000000"):  # a member's, and nobody's
        r = client.get(f"/api/v1/customers/masked?phone={phone}")
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden_role"
    r = client.get("/api/v1/customers/lookup?phone=%2B33612345678")
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("translations", "domain"),
    [
        (TRANSLATIONS, "messages"),
        (ROOT / "edge" / "translations", "shopper"),
        (ROOT / "hardware" / "translations", "receipts"),
    ],
)
def test_compiled_catalogs_match_their_po_files(translations: Path, domain: str) -> None:
    """The .mo files in the repository are compiled from the .po files as they are, and the
    .po files hold every msgid of their template (make translations)."""
    with open(translations / f"{domain}.pot", "rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    for lang in ("fr", "en"):
        folder = translations / lang / "LC_MESSAGES"
        with open(folder / f"{domain}.po", "rb") as fh:
            po = read_po(fh, locale=lang)
        with open(folder / f"{domain}.mo", "rb") as fh:
            mo = gettext.GNUTranslations(fh)
        assert template <= {m.id for m in po if m.id}, f"{lang}: run make translations"
        for message in po:
            if message.id:
                assert message.string, f"{lang}: {message.id!r} is not translated"
                assert mo.gettext(message.id) == message.string, f"{lang}: rebuild the .mo"


def test_the_templates_hold_every_msgid_the_code_looks_up() -> None:
    """The shopper and ticket texts are looked up by msgid: extraction (make translations)
    must have found each one, or it would print in English whatever the language."""
    from edge.offers.texts import REASONS
    from edge.pickups.texts import TEXTS as PICKUP_TEXTS
    from hardware.layouts import TEXTS as TICKET_TEXTS

    for pot, msgids in (
        (
            ROOT / "edge" / "translations" / "shopper.pot",
            [*PICKUP_TEXTS.values(), *REASONS.values()],
        ),
        (ROOT / "hardware" / "translations" / "receipts.pot", list(TICKET_TEXTS.values())),
    ):
        with open(pot, "rb") as fh:
            template = {m.id for m in read_po(fh) if m.id}
        assert set(msgids) <= template, f"{pot.name}: run make translations"


def test_money_is_formatted_per_locale_by_the_catalog_rules(app):
    """The screens format in the browser (Intl); Babel, with the same CLDR data, agrees."""
    from babel.numbers import format_currency

    assert format_currency(12.5, "EUR", locale="fr_FR") == "12,50\xa0€"
    assert format_currency(12.5, "EUR", locale="en") == "€12.50"
    assert create_app is not None


def test_the_csrf_hook_is_asked_only_for_the_methods_it_checks(app, client, seeded):
    """Flask-WTF's hook is wrapped to run for POST, PUT, PATCH and DELETE only (a GET skips
    its 3-4 µs); those still need the token (above), on a screen and on the API."""
    hooks = [f for f in app.before_request_funcs[None] if f.__name__ == "csrf_protect"]
    assert [f.__module__ for f in hooks] == ["kiosk_ui"]
    assert client.post("/login", data={"screen": "pos"}).status_code == 400
