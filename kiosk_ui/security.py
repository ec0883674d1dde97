"""What protects the screens around the API: the PIN login's rate limit, the
Content-Security-Policy and sessions that end on idle. (The API's own limits on lookups and
check-in codes are in ``edge.web.api.limits``.)

The PIN limit uses the API's moving-window counters (``edge.web.limits``, per client address)
in memory: each gunicorn worker counts for itself, so with ``http_workers = 2`` a guesser
gets at most twice the configured rate. That is still far too slow to guess a PIN, and it
needs no extra service on the store box.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, request, session

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

# Requests the page sends by itself (polling): they do not count as somebody being there.
BACKGROUND_HEADER = "X-Background"


def init_app(app: Flask) -> limits.MovingWindows:
    settings = app.config["SETTINGS"]
    # The registered views are replaced by their limited versions (the blueprint and the API
    # are registered before this runs).
    # PIN logins are counted (not the login page); pairing by link is a GET, so both count.
    views: dict[str, Any] = app.view_functions
    for endpoint, methods in (("screens.login", ["POST"]), ("screens.pair", None)):
        views[endpoint] = limits.limit(
            views[endpoint],
            settings.rate_limit_pin,
            scope=endpoint,
            keys=(limits.address_key,),
            methods=methods,
        )

    @app.before_request
    def _idle_sessions() -> None:
        end_idle_session(settings.staff_session_idle_minutes * 60)

    @app.after_request
    def _headers(resp: Any) -> Any:
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", CSP)
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault("Referrer-Policy", "no-referrer")
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    return limits.windows(app)


def end_idle_session(idle_seconds: float) -> None:
    """A staff session ends after ``idle_seconds`` without a touch: the next request finds
    it logged out. The board's own polling does not keep it alive."""
    data: Any = session.get("principal")
    if not isinstance(data, dict) or data.get("via") != "pin":
        return
    now = time.time()
    seen = session.get("seen")
    if not isinstance(seen, int | float):
        # A session signed by this box without a clock (made by other code than the
        # screens' login): its idle time starts now.
        seen = now
        session["seen"] = now
    if now - seen > idle_seconds:
        session.clear()
        current_app.logger.info("staff session ended after %s s idle", int(idle_seconds))
        return
    if request.headers.get(BACKGROUND_HEADER) != "1":
        session["seen"] = now
