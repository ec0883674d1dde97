"""Who is calling: API tokens (terminals, integrations) and staff PINs (the screens).

Tokens are stored as their SHA-256 only (``edge.staff.rules``). PINs are short, so they get a
salted slow hash (Werkzeug's scrypt, used here and nowhere else) and the screens rate-limit
their login. Each change opens its own write transaction and leaves an audit row.
"""

from __future__ import annotations

import secrets
import sqlite3

from werkzeug.security import check_password_hash, generate_password_hash

from edge.actor import Actor
from edge.errors import Conflict, NotFound
from edge.staff.rules import (
    MAX_TOKEN_LENGTH,
    check_staff_request,
    check_token_request,
    hash_token,
    new_staff_id,
    new_token,
    same_hash,
)
from edge.store import audit
from edge.store.db import now_iso, write


def create_token(conn: sqlite3.Connection, *, name: str, role: str, actor: str = "cli") -> str:
    check_token_request(name=name, role=role)
    token = new_token(role)
    with write(conn):
        row = conn.execute("SELECT revoked_at FROM api_tokens WHERE name = ?", (name,)).fetchone()
        if row and row["revoked_at"] is None:
            raise Conflict(f"a token named {name!r} exists; revoke it first", field="name")
        conn.execute("DELETE FROM api_tokens WHERE name = ?", (name,))
        conn.execute(
            "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?,?,?,?)",
            (name, role, hash_token(token), now_iso()),
        )
        audit.record(
            conn,
            actor=actor,
            role="admin",
            action="token.create",
            target=name,
            detail={"role": role},
        )
    return token


def revoke_token(conn: sqlite3.Connection, name: str, actor: str = "cli") -> None:
    with write(conn):
        cur = conn.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (now_iso(), name),
        )
        if cur.rowcount == 0:
            raise NotFound(f"no active token named {name!r}", field="name")
        audit.record(conn, actor=actor, role="admin", action="token.revoke", target=name)


def list_tokens(conn: sqlite3.Connection) -> list[dict[str, str | None]]:
    rows = conn.execute(
        "SELECT name, role, created_at, revoked_at FROM api_tokens ORDER BY name"
    ).fetchall()
    return [dict(r) for r in rows]


def principal_for_token(conn: sqlite3.Connection, token: str) -> Actor | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = conn.execute(
        "SELECT name, role, token_hash FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        (hash_token(token),),
    ).fetchone()
    if row is None or not same_hash(row["token_hash"], token):
        return None
    return Actor(name=row["name"], role=row["role"])


# -- staff --------------------------------------------------------------------------------------


def add_staff(
    conn: sqlite3.Connection,
    *,
    name: str,
    pin: str,
    role: str = "staff",
    is_manager: bool = False,
    staff_id: str | None = None,
    actor: str = "cli",
) -> str:
    check_staff_request(pin=pin, role=role)
    staff_id = staff_id or new_staff_id()
    with write(conn):
        if conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone():
            raise Conflict(f"staff member {staff_id!r} exists", field="staff_id")
        conn.execute(
            "INSERT INTO staff (staff_id, name, pin_hash, role, is_manager, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (staff_id, name, generate_password_hash(pin), role, int(is_manager), now_iso()),
        )
        audit.record(
            conn,
            actor=actor,
            role="admin",
            action="staff.add",
            target=staff_id,
            detail={"role": role, "is_manager": is_manager},
        )
    return staff_id


def check_pin(conn: sqlite3.Connection, staff_id: str, pin: str) -> Actor | None:
    row = conn.execute(
        "SELECT * FROM staff WHERE staff_id = ? AND disabled_at IS NULL", (staff_id,)
    ).fetchone()
    # Hash even when nobody matches, so timing does not tell which staff ids exist.
    pin_hash = row["pin_hash"] if row else generate_password_hash(secrets.token_hex(8))
    if not check_password_hash(pin_hash, pin) or row is None:
        return None
    return Actor(
        name=row["name"],
        role=row["role"],
        staff_id=row["staff_id"],
        is_manager=bool(row["is_manager"]),
        via="pin",
    )


def list_staff(conn: sqlite3.Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT staff_id, name, role, is_manager, created_at, disabled_at FROM staff ORDER BY name"
    ).fetchall()
    return [dict(r) for r in rows]
