"""What protects the screens around the API: the PIN login's rate limit, the
Content-Security-Policy and sessions that end on idle. (The API's own limits on lookups and
check-in codes are in ``edge.web.api.limits``.)

The PIN limit uses Flask-Limiter with its in-memory storage: each gunicorn worker counts for
itself, so with ``http_workers = 2`` a guesser gets at most twice the configured rate. That
is still far too slow to guess a PIN, and it needs no extra service on the store box.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# No external source at all: the screens work without internet and nothing can be injected
# from elsewhere. No inline script or style either (data for scripts is in JSON blocks).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> Limiter:
    settings = app.config["SETTINGS"]
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="memory://",
        headers_enabled=True,
        default_limits=[],
    )
    app.extensions["screens_limiter"] = limiter
    # The limiter's decorator wraps a view; the app must call the wrapper, so the
    # registered views are replaced by their limited versions (the blueprint and the API
    # are registered before this runs).
    # PIN logins and pairing codes are counted (not the pages that show their forms).
    views: dict[str, Any] = app.view_functions
    for endpoint, methods in (("screens.login", ["POST"]), ("screens.pair", ["POST"])):
        views[endpoint] = limiter.limit(settings.rate_limit_pin, methods=methods)(views[endpoint])

    @app.before_request
    def _idle_sessions() -> None:
        # A touch keeps a staff screen's slot alive; ended slots are dropped when read.
        from edge.web import sessions

        sessions.touch()

    @app.after_request
    def _headers(resp: Any) -> Any:
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", CSP)
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault("Referrer-Policy", "no-referrer")
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    return limiter
