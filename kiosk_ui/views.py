"""The screens' pages and their logins. Thin: who is there, which page, in which language.

The data on the pages comes from /api/v1 (called by the page's script with the session
cookie), so the screens hold no second copy of any business rule.

- A kiosk device is paired once by POSTing a one-time pairing code (``passerelle kiosk
  pair-code``) or the kiosk token itself to ``/kiosk/pair``; ``/kiosk/pair?code=…`` only
  fills the form in. The session then holds the token's name and epoch for at most
  ``kiosk_session_days``; revoking the token ends it at the next request.
- Staff log in with their PIN (``passerelle staff add``); the board needs the staff or
  admin role, the till the pos or admin role (the API's own role table).
- One browser holds the kiosk, the board and the till side by side (``edge.web.sessions``):
  a login on one screen leaves the others, and the CSRF token, as they were.
"""

from __future__ import annotations

import json
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

from edge.errors import DomainError, Locked
from edge.staff import pairing
from edge.staff import service as auth
from edge.web import access, sessions
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


# -- kiosk ---------------------------------------------------------------------------------


@bp.get("/kiosk")
def kiosk() -> Any:
    who = sessions.principal(sessions.KIOSK)
    if who is None or who.role != access.KIOSK:
        return redirect(url_for("screens.pair"))
    return _page("kiosk.html", "kiosk")


@bp.route("/kiosk/pair", methods=["GET", "POST"])
def pair() -> Any:
    """Pair this browser as a kiosk, by POST only: a one-time pairing code or the kiosk
    token. A code in the URL (the demo's link) only fills the form in."""
    error = None
    if request.method == "POST":
        given = request.form.get("code", "").strip()
        found = pairing.redeem(get_db(), given) if given else None
        if found is not None:
            sessions.pair_kiosk(found.token_name, found.epoch)
            return redirect(url_for("screens.kiosk"))
        error = "pair_failed"
    status = 401 if error else 200
    code = request.args.get("code", "") if request.method == "GET" else ""
    return _page("pair.html", "pair", error=error, code=code[:64]), status


@bp.post("/kiosk/unpair")
def unpair() -> Any:
    sessions.sign_out(sessions.KIOSK)
    return redirect(url_for("screens.pair"))


# -- staff and POS ---------------------------------------------------------------------------


def _staff_screen(screen: str, template: str) -> Any:
    who = sessions.principal(screen)
    if who is None or who.via != "pin":
        return redirect(url_for("screens.login", screen=screen))
    if who.role not in SCREENS[screen]:
        return redirect(url_for("screens.login", screen=screen, denied=1))
    return _page(template, screen, staff_name=who.name, config={"staff": who.name})


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
    """Who may be chosen on this screen's login: names only, of the screen's own role, never
    an admin (an admin logs in by choosing nobody and typing their id: see login.html)."""
    role = access.STAFF if screen == "staff" else access.POS
    return [
        {"staff_id": s["staff_id"], "name": s["name"]}
        for s in auth.list_staff(get_db())
        if s["disabled_at"] is None and s["role"] == role
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
        staff_id = (request.form.get("staff_other") or request.form.get("staff_id", "")).strip()
        pin = request.form.get("pin", "")
        try:
            found = auth.login_with_pin(get_db(), staff_id, pin) if staff_id and pin else None
        except Locked:
            found, error, status = None, "staff_locked", 423
        except auth.PinWait:
            found, error, status = None, "too_many", 429
        except DomainError:
            found, error, status = None, "wrong_pin", 401
        if error:
            pass
        elif found is None:
            error, status = "wrong_pin", 401
        elif found.actor.role not in SCREENS[screen]:
            error, status = "role_denied", 403
        else:
            sessions.sign_in_staff(screen, found.actor, found.epoch)
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
    sessions.sign_out(screen if screen in SCREENS else "staff")
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
    return {"ok": sessions.principal() is not None}


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
