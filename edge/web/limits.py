"""Rate limits on what a stranger at a kiosk could abuse: member lookups (guessing card
numbers) and pickup check-in codes (guessing 6 digits). Each limited operation is counted
twice, per terminal (the token's name, or the screen's logged-in device) and per client
address, so neither a stolen token used from many machines nor many tokens from one machine
gets around it. Over the limit: 429 ``rate_limited`` with ``Retry-After``.

The window is a *moving* one, exact: a request is refused when the last ``N`` accepted
requests of its key all fall within the limit's period (``30/minute`` means never more than 30
in any 60 seconds, not 30 per clock minute, which would let 60 through around a minute's
turn). A refused request is not counted.

Counters live in each gunicorn worker's memory: nothing to install on a store box, and a
restart forgets them. With ``http_workers = N`` a client may therefore reach at most N times
the configured rate.

Why not Flask-Limiter, which did this before: profiled under load (``make flamegraphs``), it
took 0.46 ms of the 1.2 ms of server CPU a lookup cost. Its hooks run on every request of the
app, limited or not (two limiters, the API's and the screens', each with its before, after and
teardown hook), and the ``limits`` library's in-memory storage starts a new thread every 10 ms
of traffic to expire old entries. Here only the limited views pay, with a deque per key
behind one lock. The limit strings are still parsed by ``limits`` (what the configuration
checks them with).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from edge.config import Settings
from edge.web.context import token_principal

# operation name → the setting that holds its limit ("30/minute"). Operations that are not
# registered in this build (another area's) are simply not there to limit.
LIMITED: dict[str, str] = {
    "customers.lookup": "rate_limit_lookup",
    "customers.masked": "rate_limit_lookup",  # the kiosk's phone lookup (guessing numbers)
    "pickups.checkin": "rate_limit_pin",
    "coupons.check": "rate_limit_lookup",  # guessing coupon codes at the kiosk
    "customers.update": "rate_limit_lookup",  # issue 22: a card checked by changing details
}
EXTENSION = "passerelle_limits"
SWEEP_EVERY = 1024  # hits between two sweeps of the keys that went quiet


class MovingWindows:
    """The accepted requests' times per key, newest last: one app's (one worker's) counters."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.hits: dict[str, deque[float]] = {}
        self.longest = 0.0
        self.since_sweep = 0

    def hit(self, keys: Sequence[str], items: Sequence[RateLimitItem]) -> float | None:
        """Count one request against every key, unless one of them is over one of the
        limits: then nothing is counted and the answer is how many seconds until it is not
        (None: accepted)."""
        now = self.clock()
        with self.lock:
            wait = 0.0
            for key in keys:
                window = self.hits.get(key)
                if window is None:
                    continue
                for item in items:
                    period, amount = item.get_expiry(), item.amount
                    if len(window) >= amount and window[-amount] > now - period:
                        wait = max(wait, window[-amount] + period - now)
            if wait > 0:
                return wait
            keep = max(item.amount for item in items)
            self.longest = max(self.longest, *(item.get_expiry() for item in items))
            for key in keys:
                window = self.hits.setdefault(key, deque(maxlen=keep))
                if window.maxlen is not None and window.maxlen < keep:
                    window = self.hits[key] = deque(window, maxlen=keep)
                window.append(now)
            self.since_sweep += 1
            if self.since_sweep >= SWEEP_EVERY:
                self._sweep(now)
            return None

    def _sweep(self, now: float) -> None:
        """Forget the keys whose newest request is older than the longest period: many
        client addresses must not grow the worker's memory for ever."""
        self.since_sweep = 0
        quiet = [k for k, w in self.hits.items() if not w or w[-1] <= now - self.longest]
        for key in quiet:
            del self.hits[key]


def windows(app: Flask) -> MovingWindows:
    """The app's counters (one set per app: each test's app starts from zero)."""
    store: MovingWindows | None = app.extensions.get(EXTENSION)
    if store is None:
        store = app.extensions[EXTENSION] = MovingWindows()
    return store


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


def limit(
    view: Callable[..., Any],
    value: str,
    *,
    scope: str,
    keys: Sequence[Callable[[], str]],
    methods: Collection[str] | None = None,
) -> Callable[..., Any]:
    """``view`` limited to ``value`` ("30/minute", or several with ";") for each of ``keys``
    (a request counts against all of them), only for ``methods`` when given."""
    items = parse_many(value)

    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        if methods is None or request.method in methods:
            names = [f"{scope}:{key()}" for key in keys]
            wait = windows(current_app).hit(names, items)
            if wait is not None:
                raise TooManyRequests(
                    f"too many requests ({value} per terminal and per address); "
                    f"try again in {math.ceil(wait)} s",
                    retry_after=max(1, math.ceil(wait)),
                )
        return view(*args, **kwargs)

    return limited


def init_app(app: Flask, settings: Settings) -> MovingWindows:
    """Wraps the limited operations' views once they are registered."""
    for name, setting in LIMITED.items():
        # each area's blueprint is nested under "api": the endpoint is api.<area>.<name>
        suffix = "." + name.replace(".", "_")
        endpoint = next((e for e in app.view_functions if e.endswith(suffix)), None)
        view: Callable[..., Any] | None = app.view_functions.get(endpoint) if endpoint else None
        if endpoint is None or view is None:
            continue
        value = str(getattr(settings, setting))
        app.view_functions[endpoint] = limit(
            view, value, scope=name, keys=(terminal_key, address_key)
        )
    return windows(app)
