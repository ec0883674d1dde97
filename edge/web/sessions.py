"""The screens' sessions: one browser can hold a paired kiosk, the staff board and the till
at once, each in its own slot, and every slot is checked against the database on use.

The cookie (signed with the key of ``edge.web.signing``) carries only ids, an epoch and
times, never a role or a name::

    {"screens": {"kiosk": {"t": "kiosk-entrance", "v": "<epoch>", "at": 1764…},
                 "staff": {"s": "st-lucas", "v": "<epoch>", "at": 1764…, "seen": 1764…},
                 "pos":   {"s": "st-ines", …}},
     "csrf_token": …, "lang": …}

On each request the slot in use is looked up by primary key in ``api_tokens`` or ``staff``
(one indexed query, remembered for the request): a revoked token, a disabled staff member, a
changed PIN or a role change (each moves the row's epoch or ends the row) takes effect at
the next request. A kiosk slot lasts ``kiosk_session_days``; a staff slot ends after
``staff_session_idle_minutes`` without a touch and at most ``staff_session_max_hours``
after the login.

Which slot a request uses: the page's script says so in the ``X-Screen`` header (the
screens' API client sends it on every call); a page is its own screen; a caller that names
no screen gets the session's only slot, and none when there are several (it must choose).
Logging in on one screen never touches the other slots or the CSRF token, so a form loaded
in another tab before the login still posts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request, session

from edge.actor import Actor
from edge.config import Settings
from edge.staff import service as auth

KIOSK, STAFF, POS = "kiosk", "staff", "pos"
SCREENS = (KIOSK, STAFF, POS)
SCREEN_HEADER = "X-Screen"
# Requests the page sends by itself (polling): they do not count as somebody being there.
BACKGROUND_HEADER = "X-Background"
# Pages that are a screen themselves.
PAGE_SCREENS = {
    "screens.kiosk": KIOSK,
    "screens.staff": STAFF,
    "screens.staff_stock": STAFF,
    "screens.pos": POS,
}
_connection: list[Callable[[], sqlite3.Connection]] = []


def use_database(get_db: Callable[[], sqlite3.Connection]) -> None:
    """The request's connection (``edge.web.context.get_db``, which calls this at import:
    the context reads sessions, so sessions may not import the context)."""
    _connection[:] = [get_db]


def _settings() -> Settings:
    s: Settings = current_app.config["SETTINGS"]
    return s


def _slots() -> dict[str, Any]:
    data = session.get("screens")
    return data if isinstance(data, dict) else {}


def _store(slots: dict[str, Any]) -> None:
    if slots:
        session["screens"] = slots
    else:
        session.pop("screens", None)
    session.permanent = True  # the cookie lives as long as a kiosk slot may; slots end sooner
    g.pop("screen_principals", None)


def sign_in_staff(screen: str, actor: Actor, epoch: str) -> None:
    """Put a staff member who typed the right PIN into ``screen``'s slot."""
    now = time.time()
    slots = dict(_slots())
    slots[screen] = {"s": actor.staff_id, "v": epoch, "at": now, "seen": now}
    _store(slots)


def pair_kiosk(token_name: str, epoch: str) -> None:
    """Bind this browser's kiosk slot to a kiosk token (by name and epoch, never its value)."""
    slots = dict(_slots())
    slots[KIOSK] = {"t": token_name, "v": epoch, "at": time.time()}
    _store(slots)


def sign_out(screen: str) -> None:
    slots = dict(_slots())
    if slots.pop(screen, None) is not None:
        _store(slots)


def screen_of_request() -> str | None:
    """The screen this request acts for (see the module's docstring)."""
    named = request.headers.get(SCREEN_HEADER) or PAGE_SCREENS.get(request.endpoint or "")
    if named:
        return named if named in SCREENS else None
    slots = _slots()
    return next(iter(slots)) if len(slots) == 1 else None


def _check(screen: str, slot: Any) -> Actor | None:
    """The slot's principal as the database says it is now, or None when it has ended."""
    if not isinstance(slot, dict) or not isinstance(slot.get("v"), str):
        return None
    s = _settings()
    now = time.time()
    started = slot.get("at")
    if not isinstance(started, int | float):
        return None
    get_db = _connection[0]
    if screen == KIOSK:
        if now - started > s.kiosk_session_days * 86400 or not isinstance(slot.get("t"), str):
            return None
        return auth.session_token(get_db(), slot["t"], slot["v"], role=KIOSK)
    seen = slot.get("seen")
    if (
        not isinstance(seen, int | float)
        or now - seen > s.staff_session_idle_minutes * 60
        or now - started > s.staff_session_max_hours * 3600
        or not isinstance(slot.get("s"), str)
    ):
        return None
    return auth.session_staff(get_db(), slot["s"], slot["v"])


def principal(screen: str | None = None) -> Actor | None:
    """The principal of ``screen``'s slot (default: the request's screen), checked once per
    request; an ended slot is dropped from the cookie."""
    screen = screen if screen is not None else screen_of_request()
    if screen is None:
        return None
    memo: dict[str, Actor | None] = g.setdefault("screen_principals", {})
    if screen in memo:
        return memo[screen]
    slot = _slots().get(screen)
    found = _check(screen, slot) if slot is not None else None
    if slot is not None and found is None:
        sign_out(screen)
        current_app.logger.info("%s session ended (expired, revoked or idle)", screen)
    memo = g.setdefault("screen_principals", {})
    memo[screen] = found
    return found


def touch() -> None:
    """Count this request as a touch on its staff screen (page polling does not count).

    A request without any cookie (a terminal's bearer call) has no screen to touch; it
    returns before reading ``session``, since reading it marks the session accessed and then
    costs every answer a ``Vary: Cookie`` header worked out by Flask (issue 21)."""
    if "HTTP_COOKIE" not in request.environ:
        return
    if not session:  # no screen logged in (a terminal's bearer call): nothing to touch
        return
    screen = screen_of_request()
    if screen not in (STAFF, POS) or request.headers.get(BACKGROUND_HEADER) == "1":
        return
    if principal(screen) is None:
        return
    slots = dict(_slots())
    slots[screen] = dict(slots[screen], seen=time.time())
    session["screens"] = slots


def terminal_name() -> str | None:
    """The slot's name for the rate limiter's per-terminal key (no database call needed when
    the request has already been authenticated)."""
    p = principal()
    return p.name if p is not None else None
