"""Per-request access to the database, the settings and the caller, for the API and the
screens.

A request borrows its thread's connection (flaskr's ``get_db`` on ``g``, kept open between
the requests of one server thread): opening a connection and setting its six pragmas cost
about a third of a millisecond, a fifth of a loyalty lookup. The connection is handed back
outside any transaction, so the next request starts clean.
"""

from __future__ import annotations

import sqlite3
import threading

from flask import current_app, g, request

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Unauthorized
from edge.staff.service import principal_for_token
from edge.store import db
from edge.web import sessions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_threads = threading.local()
API_CACHE_KIB = 512


def get_db() -> sqlite3.Connection:
    """The request's connection (``g`` read once through its proxy: this runs several times
    a request)."""
    ctx_g = g._get_current_object()
    conn: sqlite3.Connection | None = getattr(ctx_g, "db", None)
    if conn is not None:
        return conn
    path = current_app.config["DB_PATH"]
    cached: tuple[str, sqlite3.Connection] | None = getattr(_threads, "conn", None)
    if cached is not None and cached[0] == path:
        conn = cached[1]
    else:
        if cached is not None:
            cached[1].close()  # another app's database (tests): at most one per thread
        conn = db.connect(path)
        # A 512 KiB page cache rather than the house 4 MiB: eight API threads keep a
        # connection each, and after a run of lookups over a million members each cache
        # was full (32 MB of the box's memory). The OS page cache holds the file anyway:
        # on the 1 M-member set a lookup + history costs the same CPU with 512 KiB as
        # with SQLite's default 2 MiB (which the bare app keeps), since the pages a
        # random member needs are rarely those of the member before.
        conn.execute(f"PRAGMA cache_size=-{API_CACHE_KIB}")
        _threads.conn = (path, conn)
    ctx_g.db = conn
    return conn


sessions.use_database(get_db)


def close_db(_exc: BaseException | None = None) -> None:
    conn: sqlite3.Connection | None = g.pop("db", None)
    if conn is not None and conn.in_transaction:
        conn.rollback()  # never hand a transaction to the next request


def token_principal(token: str) -> Actor | None:
    """The token's principal, looked up once per request (the rate limiter asks too)."""
    memo: dict[str, Actor | None] = g.setdefault("token_principals", {})
    if token not in memo:
        memo[token] = principal_for_token(get_db(), token)
    return memo[token]


def settings() -> Settings:
    s: Settings = current_app.config["SETTINGS"]
    return s


def session_principal() -> Actor | None:
    """The staff member or kiosk device logged in on the screen this request is for, if any.

    Screens call the same /api/v1 with their session cookie instead of a bearer token; a
    state-changing call then needs the CSRF token too (checked here, since Flask-WTF's
    CSRFProtect exempts the API blueprint for bearer-token terminals). The session holds
    ids only, checked against the database (``edge.web.sessions``).
    """
    principal = sessions.principal()
    if principal is None:
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
    return principal


def authenticate() -> Actor:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use Authorization: Bearer <token>", field="Authorization")
        principal = token_principal(token.strip())
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


def current_principal() -> Actor:
    p: Actor = g.principal
    return p
