"""What protects the screens around the API: the PIN login's rate limit, the
Content-Security-Policy and sessions that end on idle. (The API's own limits on lookups and
check-in codes are in ``edge.web.api.limits``.)

The PIN limit uses the API's moving-window counters (``edge.web.limits``, per client address)
in memory: each gunicorn worker counts for itself, so with ``http_workers = 2`` a guesser
gets at most twice the configured rate. That is still far too slow to guess a PIN, and it
needs no extra service on the store box.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from edge.web import limits

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


def init_app(app: Flask) -> limits.MovingWindows:
    settings = app.config["SETTINGS"]
    # The registered views are replaced by their limited versions (the blueprint and the API
    # are registered before this runs).
    # PIN logins and pairing codes are counted (not the pages that show their forms).
    views: dict[str, Any] = app.view_functions
    for endpoint, methods in (("screens.login", ["POST"]), ("screens.pair", ["POST"])):
        views[endpoint] = limits.limit(
            views[endpoint],
            settings.rate_limit_pin,
            scope=endpoint,
            keys=(limits.address_key,),
            methods=methods,
        )

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

    return limits.windows(app)
