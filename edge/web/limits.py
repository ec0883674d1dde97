"""Rate limits on what a stranger at a kiosk could abuse: member lookups (guessing card
numbers) and pickup check-in codes (guessing 6 digits). Each limited operation is counted
twice, per terminal (the token's name, or the screen's logged-in device) and per client
address, so neither a stolen token used from many machines nor many tokens from one machine
gets around it. Over the limit: 429 ``rate_limited`` with ``Retry-After``.

Counters live in each gunicorn worker's memory (Flask-Limiter's memory storage): nothing
to install on a store box, and a restart forgets them. With ``http_workers = N`` a client
may therefore reach at most N times the configured rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter

from edge.config import Settings
from edge.web.context import token_principal

# operation name → the setting that holds its limit ("30/minute"). Operations that are not
# registered in this build (another area's) are simply not there to limit.
LIMITED: dict[str, str] = {
    "customers.lookup": "rate_limit_lookup",
    "customers.masked": "rate_limit_lookup",  # the kiosk's phone lookup (guessing numbers)
    "pickups.checkin": "rate_limit_pin",
    "coupons.check": "rate_limit_lookup",  # guessing coupon codes at the kiosk
}


def terminal_key() -> str:
    """Who is calling, from the bearer token or the screen's session; never the token itself."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        principal = token_principal(token.strip())
        return f"terminal:{principal.name}" if principal else "terminal:invalid"
    from edge.web import sessions

    name = sessions.terminal_name()
    return f"terminal:{name}" if name else "terminal:anonymous"


def address_key() -> str:
    return f"address:{request.remote_addr or 'unknown'}"


def init_app(app: Flask, settings: Settings) -> Limiter:
    """One limiter per app; wraps the limited operations' views once they are registered."""
    limiter = Limiter(
        key_func=address_key,
        app=app,
        storage_uri="memory://",
        headers_enabled=True,
        strategy="moving-window",
    )
    for name, setting in LIMITED.items():
        # each area's blueprint is nested under "api": the endpoint is api.<area>.<name>
        suffix = "." + name.replace(".", "_")
        endpoint = next((e for e in app.view_functions if e.endswith(suffix)), None)
        view: Callable[..., Any] | None = app.view_functions.get(endpoint) if endpoint else None
        if endpoint is None or view is None:
            continue
        value = str(getattr(settings, setting))
        view = limiter.limit(value, key_func=terminal_key, scope=f"{name}:terminal")(view)
        view = limiter.limit(value, key_func=address_key, scope=f"{name}:address")(view)
        app.view_functions[endpoint] = view
    return limiter
