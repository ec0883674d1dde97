"""Who is calling: API tokens (terminals, integrations) and staff PINs (the screens).

Tokens are stored as their SHA-256 only (``edge.staff.rules``). PINs are short, so they get a
salted slow hash (Werkzeug's scrypt, used here and nowhere else) and the screens rate-limit
their login. Each change opens its own write transaction and leaves an audit row.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.security import check_password_hash, generate_password_hash

from edge.actor import Actor
from edge.errors import Conflict, DomainError, Locked, NotFound
from edge.staff.rules import (
    MAX_TOKEN_LENGTH,
    check_pin_format,
    check_staff_request,
    check_token_request,
    hash_token,
    new_epoch,
    new_staff_id,
    new_token,
    pin_delay,
    pin_locked,
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
            "INSERT INTO api_tokens (name, role, token_hash, created_at, session_epoch) "
            "VALUES (?,?,?,?,?)",
            (name, role, hash_token(token), now_iso(), new_epoch()),
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
        conn.execute("DELETE FROM kiosk_pair_codes WHERE token_name = ?", (name,))
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
    check_staff_request(pin=pin, role=role, is_manager=is_manager)
    staff_id = staff_id or new_staff_id()
    with write(conn):
        if conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone():
            raise Conflict(f"staff member {staff_id!r} exists", field="staff_id")
        conn.execute(
            "INSERT INTO staff (staff_id, name, pin_hash, role, is_manager, created_at, "
            "session_epoch) VALUES (?,?,?,?,?,?,?)",
            (
                staff_id,
                name,
                generate_password_hash(pin),
                role,
                int(is_manager),
                now_iso(),
                new_epoch(),
            ),
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


class PinWait(DomainError):
    """Too many wrong PINs in a row: the next try counts only after ``retry_after`` seconds."""

    status = 429
    code = "pin_wait"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong PINs: try again in {retry_after} s", field="pin")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Login:
    """A staff member who typed the right PIN, and the epoch their screen session carries."""

    actor: Actor
    epoch: str


def _actor(row: sqlite3.Row) -> Actor:
    return Actor(
        name=row["name"],
        role=row["role"],
        staff_id=row["staff_id"],
        is_manager=bool(row["is_manager"]),
        via="pin",
    )


def check_pin(conn: sqlite3.Connection, staff_id: str, pin: str) -> Actor | None:
    """The staff member whose PIN this is, or None (see ``login_with_pin``)."""
    found = login_with_pin(conn, staff_id, pin)
    return found.actor if found is not None else None


def login_with_pin(
    conn: sqlite3.Connection, staff_id: str, pin: str, *, where: str = "screens"
) -> Login | None:
    """The staff member if ``pin`` is theirs; None if not (the failure is counted and
    audited). Raises ``Locked`` once the member is locked, ``PinWait`` while the growing
    delay after several failures runs: neither tries the PIN, so waiting gains nothing."""
    row = conn.execute(
        "SELECT * FROM staff WHERE staff_id = ? AND disabled_at IS NULL", (staff_id,)
    ).fetchone()
    if row is not None:
        if row["locked_at"] is not None or pin_locked(row["failed_pins"]):
            raise Locked(
                "this staff member is locked after too many wrong PINs; an admin must unlock "
                "them or set a new PIN",
                field="staff_id",
                code="staff_locked",
            )
        wait = _wait_seconds(row)
        if wait > 0:
            raise PinWait(wait)
    # Hash even when nobody matches, so timing does not tell which staff ids exist.
    pin_hash = row["pin_hash"] if row else generate_password_hash(secrets.token_hex(8))
    if row is None:
        check_password_hash(pin_hash, pin)
        return None
    if not check_password_hash(pin_hash, pin):
        _count_failure(conn, row, where)
        return None
    if row["failed_pins"]:
        with write(conn):
            conn.execute("UPDATE staff SET failed_pins = 0 WHERE staff_id = ?", (staff_id,))
    return Login(_actor(row), row["session_epoch"] or "")


def _wait_seconds(row: sqlite3.Row) -> int:
    delay = pin_delay(row["failed_pins"])
    if not delay or not row["last_failed_at"]:
        return 0
    last = datetime.fromisoformat(row["last_failed_at"].replace("Z", "+00:00"))
    left = delay - (datetime.now(UTC) - last).total_seconds()
    return max(0, int(left + 0.999))


def _count_failure(conn: sqlite3.Connection, row: sqlite3.Row, where: str) -> None:
    with write(conn):
        failures = conn.execute(
            "UPDATE staff SET failed_pins = failed_pins + 1, last_failed_at = ? "
            "WHERE staff_id = ? RETURNING failed_pins",
            (now_iso(), row["staff_id"]),
        ).fetchone()[0]
        audit.record(
            conn,
            actor=where,
            role=None,
            action="staff.pin_failed",
            target=row["staff_id"],
            detail={"failures": failures},
        )
        if pin_locked(failures):
            conn.execute(
                "UPDATE staff SET locked_at = ? WHERE staff_id = ?", (now_iso(), row["staff_id"])
            )
            audit.record(
                conn,
                actor=where,
                role=None,
                action="staff.locked",
                target=row["staff_id"],
                detail={"failures": failures},
            )


def session_staff(conn: sqlite3.Connection, staff_id: str, epoch: str) -> Actor | None:
    """A screen session's staff member, if still enabled, unlocked and of the same epoch."""
    row = conn.execute(
        "SELECT staff_id, name, role, is_manager, session_epoch FROM staff "
        "WHERE staff_id = ? AND disabled_at IS NULL AND locked_at IS NULL",
        (staff_id,),
    ).fetchone()
    if row is None or not row["session_epoch"] or row["session_epoch"] != epoch:
        return None
    return _actor(row)


def session_token(conn: sqlite3.Connection, name: str, epoch: str, *, role: str) -> Actor | None:
    """A paired screen's token, if not revoked, of ``role`` and of the same epoch."""
    row = conn.execute(
        "SELECT name, role, session_epoch FROM api_tokens WHERE name = ? AND revoked_at IS NULL",
        (name,),
    ).fetchone()
    if row is None or row["role"] != role or row["session_epoch"] != epoch:
        return None
    return Actor(name=row["name"], role=row["role"])


def _staff_row(conn: sqlite3.Connection, staff_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
    if row is None:
        raise NotFound(f"no staff member {staff_id!r}", field="staff_id")
    return row


def disable_staff(conn: sqlite3.Connection, staff_id: str, actor: str = "cli") -> None:
    """Disable a staff member: their PIN stops working and their open sessions end now."""
    with write(conn):
        _staff_row(conn, staff_id)
        conn.execute(
            "UPDATE staff SET disabled_at = COALESCE(disabled_at, ?), session_epoch = ? "
            "WHERE staff_id = ?",
            (now_iso(), new_epoch(), staff_id),
        )
        audit.record(conn, actor=actor, role="admin", action="staff.disable", target=staff_id)


def set_pin(conn: sqlite3.Connection, staff_id: str, pin: str, actor: str = "cli") -> None:
    """A new PIN: clears the failures and the lock, ends the member's open sessions."""
    with write(conn):
        row = _staff_row(conn, staff_id)
        check_pin_format(pin, role=row["role"], is_manager=bool(row["is_manager"]))
        conn.execute(
            "UPDATE staff SET pin_hash = ?, failed_pins = 0, last_failed_at = NULL, "
            "locked_at = NULL, session_epoch = ? WHERE staff_id = ?",
            (generate_password_hash(pin), new_epoch(), staff_id),
        )
        audit.record(conn, actor=actor, role="admin", action="staff.set_pin", target=staff_id)


def unlock_staff(conn: sqlite3.Connection, staff_id: str, actor: str = "cli") -> None:
    """Lift a PIN lockout (after checking with the person that it was them)."""
    with write(conn):
        _staff_row(conn, staff_id)
        conn.execute(
            "UPDATE staff SET failed_pins = 0, last_failed_at = NULL, locked_at = NULL "
            "WHERE staff_id = ?",
            (staff_id,),
        )
        audit.record(conn, actor=actor, role="admin", action="staff.unlock", target=staff_id)


def list_staff(conn: sqlite3.Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT staff_id, name, role, is_manager, created_at, disabled_at, failed_pins, "
        "locked_at FROM staff ORDER BY name"
    ).fetchall()
    return [dict(r) for r in rows]
