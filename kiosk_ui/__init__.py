"""The screens: the shopper kiosk (/kiosk), the staff pickup board (/staff) and the cashier
POS screen (/pos).

They are thin pages over the same /api/v1 as any third-party terminal: the browser holds a
session cookie instead of a bearer token (one slot per screen, ids and an epoch checked on
every request: ``edge.web.sessions``), and sends the CSRF token in ``X-CSRFToken`` on
state-changing calls. This package adds only what a browser needs around that: login by PIN
or kiosk pairing, CSRF, rate limits, the Content-Security-Policy, idle sessions and the two
languages. Every asset is in the package: a store box needs no internet to show its screens.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, request

HERE = Path(__file__).resolve().parent
TRANSLATIONS = HERE / "translations"


def init_app(app: Flask) -> None:
    """Wire the screens into the edge's app (called by ``edge.web.app.create_app``)."""
    from flask_babel import Babel
    from flask_wtf.csrf import CSRFProtect

    from edge.web.api import AREAS
    from kiosk_ui import security, views
    from kiosk_ui.i18n import select_locale

    settings = app.config["SETTINGS"]
    app.config.update(
        # The kiosk page stays open for days: its CSRF token lives as long as the session
        # (it is bound to the session cookie), not one hour.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        # the cookie lives as long as a kiosk pairing may (issue 19); each slot ends sooner
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.kiosk_session_days),
        BABEL_DEFAULT_LOCALE=settings.locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )
    csrf = CSRFProtect(app)
    for area in AREAS:  # the API checks X-CSRFToken itself for session callers
        csrf.exempt(area.bp)
    _csrf_hook_for_checked_methods(app)
    app.register_blueprint(views.bp)
    security.init_app(app)


def _csrf_hook_for_checked_methods(app: Flask) -> None:
    """Flask-WTF's hook runs before every request of the app; for a GET (every kiosk lookup)
    it reads the endpoint, the blueprint and the view through their proxies before it finds
    that it checks only ``WTF_CSRF_METHODS`` (POST, PUT, PATCH, DELETE): 3-4 µs a request.
    Its hook is kept, called only for those methods (read from the config at each request,
    as it reads them). If a Flask-WTF release names its hook otherwise, it stays as it is."""
    hooks = app.before_request_funcs.setdefault(None, [])
    at = next((i for i, f in enumerate(hooks) if f.__name__ == "csrf_protect"), None)
    if at is None:
        return
    protect = hooks[at]
    config = app.config

    def csrf_protect() -> None:
        if request.method in config["WTF_CSRF_METHODS"]:
            protect()

    hooks[at] = csrf_protect
