"""The signed session cookie itself (Flask's), with its signer made once instead of per request.

Flask's ``SecureCookieSessionInterface`` builds a new ``URLSafeTimedSerializer`` (and its
key list) on every request, even a kiosk's bearer-token call that carries no cookie at all:
profiled under load, that was one request in twenty of a lookup's CPU. The serializer holds
no per-request state, so one per secret key serves every thread; a changed key (or key
fallbacks) makes a new one. Saving an empty session that nobody changed (every bearer-token
call) also returns before the cookie's name, domain, path and flags are worked out, which it
then had no use for. And a request that sends no cookie at all gets its new empty session
before the cookie header is parsed. Signing, cookie names and flags are Flask's own, unchanged.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer kept per secret key."""

    def __init__(self) -> None:
        self._made: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:  # itsdangerous's serializer
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]

    def open_session(self, app: Flask, request: Any) -> Any:
        if "HTTP_COOKIE" not in request.environ and app.secret_key:
            return self.session_class()  # what Flask answers for a request without the cookie
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if not session and not session.modified:  # what Flask does then, without the rest
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
