"""What the screens say when the API refuses: their own translated text for each error code,
never the API's English (a 429 is Flask-Limiter's "30 per 1 minute")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from edge.offers.texts import REASONS
from edge.web.app import create_app
from kiosk_ui.i18n import LOCALES, catalog
from tests.screens.conftest import kiosk_page, scan

ROOT = Path(__file__).resolve().parents[2]
# code="..." in a raise, and code = "..." on a DomainError class
RAISED = re.compile(r'\bcode\s*=\s*"([a-z_]+)"')
# the web layer's own codes: HTTP errors, validation errors, the last resort
WEB_CODES = (
    "bad_request",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "http_error",
    "missing_field",
    "unknown_field",
    "wrong_type",
    "invalid_value",
    "internal",
)


def api_error_codes() -> set[str]:
    codes = set(WEB_CODES) | {f"coupon_{reason}" for reason in REASONS}
    for path in (ROOT / "edge").rglob("*.py"):
        codes.update(RAISED.findall(path.read_text(encoding="utf-8")))
    return codes


def test_every_api_error_code_has_a_text_in_both_languages(tmp_path: Path) -> None:
    app = create_app({"DB_PATH": str(tmp_path / "store.db"), "STORE_ID": "S001"})
    codes = api_error_codes()
    assert {"rate_limited", "checkin_failed", "wrong_pickup_code"} <= codes
    with app.app_context():
        texts = {loc: catalog(loc) for loc in LOCALES}
    for code in sorted(codes):
        fr, en = texts["fr"].get(f"error_{code}"), texts["en"].get(f"error_{code}")
        assert fr and en, f"no screen text for the API error {code!r}"
    assert (
        texts["fr"]["error_rate_limited"] == "Trop d'essais. Attendez une minute, puis réessayez."
    )
    assert texts["en"]["error_rate_limited"] == "Too many attempts. Wait a minute, then try again."


@pytest.mark.browser
def test_a_rate_limited_kiosk_says_so_in_french(new_page: Any, shop: Any) -> None:
    page = kiosk_page(new_page, shop)
    # The kiosk's card lookups are limited (rate_limit_lookup, 30 a minute): use them up.
    statuses = page.evaluate(
        """async () => {
          const out = [];
          for (let i = 0; i < 30; i++) {
            const r = await fetch("/api/v1/customers/lookup?card=PC999999999999",
              { credentials: "same-origin", headers: { Accept: "application/json" } });
            out.push(r.status);
          }
          return out;
        }"""
    )
    assert 429 not in statuses
    scan(page, "PC000000000001")
    message = page.locator("#welcome-message")
    expect(message).to_have_text("Trop d'essais. Attendez une minute, puis réessayez.")
    assert "per 1 minute" not in page.locator("main").inner_text()
    assert page.js_errors == []
