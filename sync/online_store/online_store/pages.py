"""What every page of the online store shares for a person reading it: times in the store's
time zone (named), QR codes, and the site's icon.

``init_app(app)`` registers them: the template filters ``local_time`` and ``local_date``, the
template globals ``qr_svg`` and ``pickup_payload``, and ``/favicon.ico`` (a browser asks for
it on every page; without it, each page logs a 404).
"""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from flask import Flask, Response
from markupsafe import Markup

from online_store import letters

# The shop's mark (a bridge, the edge's logo's shape) as the site's icon.
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="14" fill="#0b6e69"/>'
    '<path d="M8 42h48M14 42c6-14 30-14 36 0M20 42v-8M32 42V28M44 42v-8" '
    'stroke="#fff" stroke-width="5" fill="none" stroke-linecap="round"/></svg>'
)
PAGES_LOCALE = "en"  # the reference store's pages are in English; its letters are not


def qr_svg(text: str) -> Markup:
    """An inline SVG QR code (an e-mail's code, to scan at the kiosk or the till)."""
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = img.to_string(encoding="unicode")
    return Markup(svg)  # noqa: S704 - made here from our own codes, never user HTML


def init_app(app: Flask) -> None:
    tz = app.config.setdefault("TIMEZONE", letters.TIMEZONE)

    def local_time(iso: str | None) -> str:
        return letters.local_datetime(iso, PAGES_LOCALE, tz) if iso else ""

    def local_date(iso: str | None) -> str:
        return letters.local_date(iso, PAGES_LOCALE, tz) if iso else ""

    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
    app.add_template_global(qr_svg, "qr_svg")
    app.add_template_global(letters.pickup_payload, "pickup_payload")

    def favicon() -> Any:
        resp = Response(FAVICON_SVG, mimetype="image/svg+xml")
        resp.cache_control.max_age = 86400
        return resp

    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.add_url_rule("/favicon.svg", "favicon_svg", favicon)
