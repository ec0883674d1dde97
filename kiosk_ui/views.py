"""The screens' pages and their logins. Thin: who is there, which page, in which language.

The data on the pages comes from /api/v1 (called by the page's script with the session
cookie), so the screens hold no second copy of any business rule.

- A kiosk device is paired once with a kiosk-role API token: open
  ``/kiosk/pair?token=pas_kiosk_…`` (or type the token into ``/kiosk/pair``). The session
  cookie then carries the kiosk principal for a year; revoking the token does not end it,
  so unpairing a device is ``POST /kiosk/unpair`` from it, or a new ``secret_key``.
- Staff log in with their PIN (``passerelle staff add``); the board needs the staff or
  admin role, the till the pos or admin role (the API's own role table).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from edge.actor import Actor
from edge.staff import service as auth
from edge.web import access
from edge.web.context import get_db, settings
from kiosk_ui.i18n import LANGUAGE_NAMES, LOCALES, catalog, catalogs, select_locale

bp = Blueprint(
    "screens",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/screens/static",
)

# Which roles may open which staff screen: the API's role sets, so they never disagree.
SCREENS: dict[str, frozenset[str]] = {"staff": access.BOARD, "pos": access.TILL}


def _json_block(data: Any) -> Markup:
    """Data for the page's scripts, safe inside <script type="application/json">."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for a JSON script block


def _principal() -> dict[str, Any] | None:
    data = session.get("principal")
    return data if isinstance(data, dict) else None


def _page(template: str, screen: str, **extra: Any) -> str:
    s = settings()
    locale = select_locale()
    config = {
        "screen": screen,
        "locale": locale,
        "defaultLocale": s.locale if screen == "kiosk" else s.staff_locale,
        "currency": s.currency,
        "timezone": s.timezone,
        "storeName": s.store_name,
        "kioskIdleSeconds": s.kiosk_idle_seconds,
        "staffIdleSeconds": s.staff_session_idle_minutes * 60,
        "loginUrl": url_for("screens.login", screen=screen) if screen in SCREENS else None,
        "csrf": generate_csrf(),
        **extra.pop("config", {}),
    }
    return render_template(
        template,
        screen=screen,
        t=catalog(locale),
        locale=locale,
        languages=LANGUAGE_NAMES,
        config_json=_json_block(config),
        i18n_json=_json_block(catalogs()),
        store_name=s.store_name,
        **extra,
    )


def _login(principal: Actor, *, permanent: bool) -> None:
    lang = session.get("lang")
    session.clear()  # a new login never inherits another person's session
    session["principal"] = dataclasses.asdict(principal)
    session["seen"] = time.time()
    session.permanent = permanent
    if lang in LOCALES:
        session["lang"] = lang


# -- kiosk ---------------------------------------------------------------------------------


@bp.get("/kiosk")
def kiosk() -> Any:
    who = _principal()
    if who is None or who.get("role") != access.KIOSK:
        return redirect(url_for("screens.pair"))
    return _page("kiosk.html", "kiosk")


@bp.route("/kiosk/pair", methods=["GET", "POST"])
def pair() -> Any:
    """Pair this browser as a kiosk with a kiosk-role token (once per device)."""
    token = request.form.get("token") if request.method == "POST" else request.args.get("token")
    error = None
    if token:
        principal = auth.principal_for_token(get_db(), token.strip())
        if principal is not None and principal.role == access.KIOSK:
            _login(principal, permanent=True)
            return redirect(url_for("screens.kiosk"))
        error = "pair_failed"
    status = 401 if error else 200
    return _page("pair.html", "pair", error=error), status


@bp.post("/kiosk/unpair")
def unpair() -> Any:
    session.clear()
    return redirect(url_for("screens.pair"))


# -- staff and POS ---------------------------------------------------------------------------


def _staff_screen(screen: str, template: str) -> Any:
    who = _principal()
    if who is None or who.get("via") != "pin":
        return redirect(url_for("screens.login", screen=screen))
    if who.get("role") not in SCREENS[screen]:
        return redirect(url_for("screens.login", screen=screen, denied=1))
    return _page(template, screen, staff_name=who.get("name"), config={"staff": who.get("name")})


@bp.get("/staff")
def staff() -> Any:
    return _staff_screen("staff", "staff.html")


@bp.get("/staff/stock")
def staff_stock() -> Any:
    """The stock page (issue 17): receipts, adjustments, counts, a SKU's movements."""
    return _staff_screen("staff", "stock.html")


@bp.get("/pos")
def pos() -> Any:
    return _staff_screen("pos", "pos.html")


def _staff_for(screen: str) -> list[dict[str, Any]]:
    allowed = SCREENS[screen]
    return [
        s for s in auth.list_staff(get_db()) if s["disabled_at"] is None and s["role"] in allowed
    ]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    screen = request.values.get("screen", "staff")
    if screen not in SCREENS:
        abort(404)
    error = None
    status = 200
    if request.args.get("denied"):
        error = "role_denied"
    elif request.args.get("expired"):
        error = "session_ended"
    if request.method == "POST":
        staff_id = request.form.get("staff_id", "")
        pin = request.form.get("pin", "")
        principal = auth.check_pin(get_db(), staff_id, pin) if staff_id and pin else None
        if principal is None:
            error, status = "wrong_pin", 401
        elif principal.role not in SCREENS[screen]:
            error, status = "role_denied", 403
        else:
            _login(principal, permanent=False)
            return redirect(url_for(f"screens.{screen}"))
    return _page(
        "login.html",
        "login",
        target=screen,
        staff=_staff_for(screen),
        error=error,
        selected=request.form.get("staff_id"),
    ), status


@bp.post("/logout")
def logout() -> Any:
    screen = request.form.get("screen", "staff")
    lang = session.get("lang")
    session.clear()
    if lang in LOCALES:
        session["lang"] = lang
    return redirect(url_for("screens.login", screen=screen if screen in SCREENS else "staff"))


@bp.post("/screens/lang")
def set_language() -> Any:
    """The staff screens' language switch: remembered in the session, page reloaded."""
    lang = request.form.get("lang", "")
    if lang in LOCALES:
        session["lang"] = lang
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        target = url_for("screens.staff")
    return redirect(target)


@bp.post("/screens/ping")
def ping() -> Any:
    """A touch on a staff screen that needed no API call still counts as activity."""
    return {"ok": _principal() is not None}


@bp.errorhandler(429)
def too_many(exc: Any) -> Any:
    screen = request.values.get("screen", "staff")
    if request.endpoint == "screens.pair":
        return _page("pair.html", "pair", error="too_many"), 429
    return _page(
        "login.html",
        "login",
        target=screen if screen in SCREENS else "staff",
        staff=_staff_for(screen if screen in SCREENS else "staff"),
        error="too_many",
        selected=None,
    ), 429
