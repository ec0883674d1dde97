"""The HTTP side of the edge's security that is not about who calls: cookie names and flags,
HSTS, the trusted proxy hops, and a 400 for JSON nested too deeply to parse.

- The screens' cookie has a name of its own (``passerelle_screens``), so the reference
  online store on the same host (browsers ignore the port) keeps its own. Served over TLS it
  is ``__Host-passerelle``: ``Secure``, no ``Domain``, ``Path=/``, which a browser refuses to
  let any other site or plain-HTTP page set.
- HSTS over HTTPS, so a browser that has seen the box once never speaks plain HTTP to it.
- Behind ``proxy_hops`` reverse proxies, Werkzeug's ProxyFix takes the client's address and
  scheme from that many ``X-Forwarded-*`` entries (the per-address limits then count real
  clients, not the proxy); with 0 hops those headers are ignored, so nobody can pick their
  own address by sending them.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from edge.config import Settings
from edge.errors import Unauthorized

COOKIE = "passerelle_screens"
SECURE_COOKIE = "__Host-passerelle"


def init_app(app: Flask, settings: Settings) -> None:
    secure = settings.tls or settings.proxy_hops > 0
    app.config.update(
        SESSION_COOKIE_NAME=SECURE_COOKIE if secure else COOKIE,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        PREFERRED_URL_SCHEME="https" if secure else "http",
    )
    if settings.proxy_hops:
        n = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n
        )

    @app.errorhandler(RecursionError)
    def _too_deep(_exc: RecursionError) -> Any:
        message = "the body is nested too deeply to be read"
        return jsonify(
            {"error": {"code": "malformed_json", "message": message, "field": None}}
        ), 400


def hsts_header(settings: Settings) -> str | None:
    """The HSTS header's value, which ``edge.web.app``'s one after-request hook adds to every
    answer served over HTTPS (None: HSTS is off)."""
    return f"max-age={settings.hsts_seconds}" if settings.hsts_seconds else None


def check_metrics_caller(settings: Settings) -> None:
    """``/metrics`` answers a scraper on this box (loopback), or one that sends the metrics
    token (``Authorization: Bearer …``); anybody else on the shop's Wi-Fi gets a 401, so the
    counts of sales, orders and errors stay inside. Behind a trusted proxy the client's
    address is the forwarded one (ProxyFix), so the proxy itself is not loopback enough."""
    try:
        if ipaddress.ip_address(request.remote_addr or "").is_loopback:
            return
    except ValueError:
        pass
    expected = settings.metrics_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if (
        expected
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), expected.encode())
    ):
        return
    raise Unauthorized(
        "/metrics answers loopback, or a scraper with the metrics token",
        field="Authorization",
        code="invalid_token",
    )
