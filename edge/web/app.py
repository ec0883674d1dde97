"""The Flask application factory."""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, g, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from edge.config import Settings, load_settings
from edge.errors import DomainError
from edge.store import db
from edge.system import logs, metrics
from edge.web import hardening
from edge.web.context import close_db

MAX_BODY = 1024 * 1024  # 1 MiB

log = logging.getLogger("passerelle.http")


class EdgeFlask(Flask):
    """Flask, for an app with no ``async`` view or hook.

    Flask asks of every view and hook it calls whether it is a coroutine function (through
    ``inspect``, nine times a request here: 3 % of a lookup's CPU) so it can run it in an event
    loop. The edge has none (``tests/web/test_access_log.py`` checks it, since an ``async``
    function would then be called without being awaited).
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return func


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Build the app for one store database.

    ``config`` is a Settings object, or a dict of overrides on top of the file and the
    environment (what the tests pass, as in flaskr's ``test_config``).
    """
    if isinstance(config, Settings):
        settings = config
    else:
        overrides = {k.lower(): v for k, v in (config or {}).items() if k.upper() != "TESTING"}
        settings = load_settings(**overrides)
    app = EdgeFlask("passerelle", static_folder=None)
    app.config.update(
        SETTINGS=settings,
        DB_PATH=str(settings.db_path),
        MAX_CONTENT_LENGTH=MAX_BODY,
        TESTING=bool(isinstance(config, dict) and config.get("TESTING")),
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    hardening.init_app(app, settings)  # cookie names and Secure, HSTS, ProxyFix
    app.json.sort_keys = False  # type: ignore[attr-defined]
    from edge.web.cookies import CookieSessions

    app.session_interface = CookieSessions()  # its signer made once, not per request

    conn = db.open_database(settings.db_path)  # migrations at start
    conn.close()
    from edge.web.signing import secret_key

    app.config["SECRET_KEY"] = secret_key(settings)  # a credential file, never the database

    from edge.web.api import bp as api_bp
    from edge.web.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    from edge.web import limits

    limits.init_app(app, settings)  # kiosk lookups and check-in codes, per terminal and address
    _register_errors(app)
    _register_metrics(app, settings)  # also hands the thread's connection back (close_db)

    import kiosk_ui

    init_screens = getattr(kiosk_ui, "init_app", None)  # the screens (kiosk, staff, POS)
    if init_screens is not None:
        init_screens(app)
    return app


def error_response(code: str, message: str, field: str | None, status: int) -> Any:
    return jsonify({"error": {"code": code, "message": message, "field": field}}), status


def _field_of(loc: tuple[Any, ...]) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


VALIDATION_CODES = {"missing": "missing_field", "extra_forbidden": "unknown_field"}


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        return error_response(exc.code, exc.message, exc.field, exc.status)

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError) -> Any:
        err = exc.errors()[0]
        field = _field_of(tuple(err.get("loc", ())))
        kind = err.get("type", "")
        code = VALIDATION_CODES.get(kind) or (
            "wrong_type" if kind.endswith("_type") else "invalid_value"
        )
        msg = err.get("msg", "invalid")
        if kind == "extra_forbidden":
            msg = "is not a field of this request"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        return error_response(code, f"{field or 'body'}: {msg}{more}", field, 422)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
            429: "rate_limited",
        }.get(exc.code or 500, "http_error")
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"the body is larger than {MAX_BODY} bytes"
        if exc.code == 404 and not request.path.startswith("/api/"):
            return exc
        resp = error_response(code, message, None, exc.code or 500)
        retry_after = getattr(exc, "retry_after", None)  # a 429 says when to come back
        if retry_after is not None:
            resp[0].headers["Retry-After"] = str(retry_after)
        return resp

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal", "internal error; it has been logged", None, 500)


REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_request_ids = itertools.count()
_id_prefix: list[tuple[int, str]] = []


def new_request_id() -> str:
    """A random prefix per process and a counter: unique across the workers and restarts
    (the prefix is drawn again in a forked worker), without a system call per request."""
    pid = os.getpid()
    if not _id_prefix or _id_prefix[0][0] != pid:
        _id_prefix[:] = [(pid, secrets.token_hex(12))]
    return f"{_id_prefix[0][1]}{next(_request_ids) & 0xFFFFFFFF:08x}"  # 32 hex digits


def _register_metrics(app: Flask, settings: Settings) -> None:
    """One hook on each side of a request: its id and start time before; after, its metrics,
    its id and the headers every answer carries (``nosniff``, and HSTS over HTTPS). One hook
    each, rather than one per concern, and the request and ``g`` fetched once through their
    proxies: each proxy access costs about a microsecond, and the hooks made a fifth of a
    lookup's Python work (issue 21)."""
    hsts = hardening.hsts_header(settings)

    @app.before_request
    def _start() -> None:
        ctx_g = g._get_current_object()
        ctx_g.t0 = time.perf_counter()
        # One id per request, on every log line it causes and on the answer: a proxy's
        # X-Request-ID is kept when it looks like an id, else we make one.
        given = request.environ.get("HTTP_X_REQUEST_ID", "")
        ctx_g.request_id = rid = given if REQUEST_ID_RE.match(given) else new_request_id()
        logs.request_id.set(rid)

    @app.after_request
    def _count(resp: Any) -> Any:
        req = request._get_current_object()  # type: ignore[attr-defined]
        ctx_g = g._get_current_object()
        t0 = getattr(ctx_g, "t0", None)
        metrics.count_request(
            req.endpoint or "unknown",
            req.method,
            str(resp.status_code),
            time.perf_counter() - t0 if t0 is not None else None,
        )
        headers = resp.headers
        # the names the view set, read in one pass (each ``in`` on werkzeug's Headers is a
        # pass of its own, lower-casing every name: 1.2 µs each); not headers.setdefault,
        # which raises and catches a KeyError when the header is absent
        present = {name.lower() for name, _value in headers}
        if "x-content-type-options" not in present:
            headers.add("X-Content-Type-Options", "nosniff")
        # A member's card, history and balance must not stay in any cache: the kiosk's
        # browser is shared by every shopper (static files set their own Cache-Control).
        if "cache-control" not in present:
            headers.add("Cache-Control", "no-store")
        rid = getattr(ctx_g, "request_id", None)
        if rid is not None:
            headers.add("X-Request-ID", rid)  # set once, here (a view never sets it)
        if hsts is not None and req.is_secure and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", hsts)
        return resp

    @app.teardown_appcontext
    def _end(exc: BaseException | None) -> None:
        logs.request_id.set(None)
        close_db(exc)
