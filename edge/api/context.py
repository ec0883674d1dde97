"""Per-request access to the database, the settings and the caller, for the API and the
screens. The connection lives for one request (flaskr's ``get_db`` on ``g``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import current_app, g, request, session

from edge import db
from edge.auth import Principal, principal_for_token
from edge.config import Settings
from edge.errors import Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = db.connect(current_app.config["DB_PATH"])
    conn: sqlite3.Connection = g.db
    return conn


def close_db(_exc: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def settings() -> Settings:
    s: Settings = current_app.config["SETTINGS"]
    return s


def session_principal() -> Principal | None:
    """The staff member or kiosk device logged in on a screen, if any.

    Screens call the same /api/v1 with their session cookie instead of a bearer token; a
    state-changing call then needs the CSRF token too (checked here, since Flask-WTF's
    CSRFProtect exempts the API blueprint for bearer-token terminals).
    """
    data: Any = session.get("principal")
    if not isinstance(data, dict):
        return None
    if request.method not in SAFE_METHODS:
        from flask_wtf.csrf import validate_csrf
        from wtforms import ValidationError

        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError as exc:
            raise Unauthorized(
                "missing or stale CSRF token; reload the page", code="csrf_failed"
            ) from exc
    try:
        return Principal(**data)
    except TypeError:
        return None


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use Authorization: Bearer <token>", field="Authorization")
        principal = principal_for_token(get_db(), token.strip())
        if principal is None:
            raise Unauthorized(
                "unknown or revoked token", field="Authorization", code="invalid_token"
            )
        return principal
    principal = session_principal()
    if principal is None:
        raise Unauthorized(
            "this call needs Authorization: Bearer <token>",
            field="Authorization",
            code="missing_token",
        )
    return principal


def current_principal() -> Principal:
    p: Principal = g.principal
    return p
